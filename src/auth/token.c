/* API token secrets: generation, hashing, checks, the Authorization header, token.cfg. */
#include "auth/token.h"
#include "auth/usercfg.h"
#include "basic/encoding.h"
#include "basic/strbuf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>

#define SHA256_LEN 32

int
token_secret_generate(char out[37])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	char hex[33];
	hex_encode(b, sizeof(b), hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	OPENSSL_cleanse(b, sizeof(b));
	OPENSSL_cleanse(hex, sizeof(hex));
	return 0;
}

static void
sha256(const char *s, unsigned char md[SHA256_LEN])
{
	/* fetched once: OpenSSL 3's implicit fetch per call costs more than hashing a token
	 * (every API-token request hashes one) */
	static EVP_MD *md_sha256;
	if (!md_sha256)
		md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	unsigned int len = 0;
	/* cannot fail for SHA-256 in the default provider short of memory exhaustion */
	if (!md_sha256 || EVP_Digest(s, strlen(s), md, &len, md_sha256, NULL) != 1 ||
	    len != SHA256_LEN)
		oom();
}

void
token_secret_hash(const char *secret, char out[TOKEN_HASH_HEX + 1])
{
	unsigned char md[SHA256_LEN];
	sha256(secret, md);
	hex_encode(md, sizeof(md), out);
}

static bool
hex_decode_32(const char *hex, unsigned char out[SHA256_LEN])
{
	for (size_t i = 0; i < SHA256_LEN; i++) {
		int v = 0;
		for (size_t k = 0; k < 2; k++) {
			char c = hex[2 * i + k];
			int d = c >= '0' && c <= '9'   ? c - '0'
			        : c >= 'a' && c <= 'f' ? c - 'a' + 10
			        : c >= 'A' && c <= 'F' ? c - 'A' + 10
			                               : -1;
			if (d < 0)
				return false;
			v = v << 4 | d;
		}
		out[i] = (unsigned char)v;
	}
	return true;
}

bool
token_secret_matches(const char *secret, const char *stored_hash_hex)
{
	unsigned char want[SHA256_LEN], got[SHA256_LEN];
	if (!secret || !stored_hash_hex || strlen(stored_hash_hex) != TOKEN_HASH_HEX ||
	    !hex_decode_32(stored_hash_hex, want))
		return false;
	sha256(secret, got);
	bool ok = CRYPTO_memcmp(want, got, SHA256_LEN) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return ok;
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* uri_unescape as the PVE HTTP server applies it: valid %XX decoded, anything else kept. */
static char *
unescape_lenient(const char *s, size_t len, size_t *ret_len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			out[o++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	*ret_len = o;
	return out;
}

int
token_parse_header(const char *value, char **ret_full_tokenid, char **ret_secret)
{
	static const char key[] = "PVEAPIToken";
	if (!value)
		return -EINVAL;
	/* the key at the start or after whitespace, then '=' or ' ' (PVE's extract_auth_value) */
	const char *v = NULL;
	for (const char *p = strstr(value, key); p; p = strstr(p + 1, key)) {
		char next = p[sizeof(key) - 1];
		if ((p == value || is_ws(p[-1])) && (next == '=' || next == ' ')) {
			v = p + sizeof(key);
			break;
		}
	}
	if (!v)
		return -EINVAL;
	size_t len = strcspn(v, ";"), dlen;
	_cleanup_free_ char *decoded = unescape_lenient(v, len, &dlen);
	if (dlen != strlen(decoded))
		return -EINVAL; /* a NUL smuggled in as %00 */
	for (const unsigned char *p = (const unsigned char *)decoded; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return -EINVAL;

	char *eq = strrchr(decoded, '=');
	if (!eq || eq[1] == '\0')
		return -EINVAL;
	*eq = '\0';
	if (!full_tokenid_valid(decoded))
		return -EINVAL;
	*ret_secret = xstrdup(eq + 1);
	*ret_full_tokenid = xstrdup(decoded);
	OPENSSL_cleanse(eq + 1, strlen(eq + 1));
	return 0;
}

static bool
is_hash_hex(const char *s, size_t len)
{
	if (len != TOKEN_HASH_HEX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

struct tokencfg_entry {
	char *id;
	char hash[TOKEN_HASH_HEX + 1];
};

/* The valid lines of token.cfg ("<tokenid> <value>", one space), later lines winning. A
 * value that is not our 64-hex hash is a clear-text secret as PVE stores them; it is hashed
 * here, so a token.cfg taken over from PVE keeps working and is hashed on the next write. */
static struct tokencfg_entry *
tokencfg_read(const char *text, size_t *ret_n)
{
	struct tokencfg_entry *v = NULL;
	size_t n = 0;
	const char *p = text ? text : "";
	while (*p) {
		size_t len = strcspn(p, "\n");
		_cleanup_free_ char *line = xstrndup(p, len);
		p += len + (p[len] == '\n');

		char *sp = strchr(line, ' ');
		if (!sp || sp == line || sp[1] == '\0')
			continue;
		*sp = '\0';
		const char *val = sp + 1;
		bool bad = false;
		for (const char *c = line; *c && !bad; c++)
			bad = is_ws(*c);
		for (const char *c = val; *c && !bad; c++)
			bad = is_ws(*c);
		if (bad || !full_tokenid_valid(line))
			continue;

		struct tokencfg_entry *e = NULL;
		for (size_t i = 0; i < n && !e; i++)
			if (streq(v[i].id, line))
				e = &v[i];
		if (!e) {
			v = xrealloc(v, (n + 1) * sizeof(*v));
			e = &v[n++];
			e->id = xstrdup(line);
		}
		if (is_hash_hex(val, strlen(val)))
			memcpy(e->hash, val, TOKEN_HASH_HEX + 1);
		else
			token_secret_hash(val, e->hash);
		OPENSSL_cleanse(sp + 1, strlen(sp + 1));
	}
	*ret_n = n;
	return v;
}

static void
tokencfg_free(struct tokencfg_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].id);
	free(v);
}

int
tokencfg_lookup(const char *text, const char *full_tokenid, char out[TOKEN_HASH_HEX + 1])
{
	size_t n;
	struct tokencfg_entry *v = tokencfg_read(text, &n);
	int r = -ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (full_tokenid && streq(v[i].id, full_tokenid)) {
			memcpy(out, v[i].hash, TOKEN_HASH_HEX + 1);
			r = 0;
		}
	}
	tokencfg_free(v, n);
	return r;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tokencfg_entry *)a)->id,
	              ((const struct tokencfg_entry *)b)->id);
}

char *
tokencfg_update(const char *text, const char *full_tokenid, const char *hash)
{
	if (!full_tokenid_valid(full_tokenid) || (hash && !is_hash_hex(hash, strlen(hash))))
		return NULL;
	size_t n;
	struct tokencfg_entry *v = tokencfg_read(text, &n);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (streq(v[i].id, full_tokenid))
			free(v[i].id);
		else
			v[o++] = v[i];
	}
	n = o;
	if (hash) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].id = xstrdup(full_tokenid);
		memcpy(v[n].hash, hash, TOKEN_HASH_HEX + 1);
		n++;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), entry_cmp);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		sb_printf(&sb, "%s %s\n", v[i].id, v[i].hash);
	tokencfg_free(v, n);
	return sb_steal(&sb);
}
