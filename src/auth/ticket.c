/* Tickets (RSA-SHA256 signed, PVE format), short-lived console tickets and CSRF tokens. */
#include "auth/ticket.h"
#include "basic/encoding.h"
#include "basic/strbuf.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>

#define HEXTIME_LEN        8
#define TICKET_MAX_LEN     4096
#define SHORT_MIN_AGE      (-20)
#define SHORT_MAX_AGE      40
#define CSRF_SIG_B64_LEN   43 /* 32 bytes, unpadded */
#define SIGNATURE_MAX_SIZE 1024

static bool
has_space_or_ctl(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return true;
	return false;
}

static bool
prefix_ok(const char *prefix)
{
	return prefix && *prefix && !strchr(prefix, ':') && !has_space_or_ctl(prefix);
}

/* Ticket times are 8 upper-case hex digits (PVE's "%08X"); refuse what does not fit. */
static int
format_hextime(time_t now, char out[HEXTIME_LEN + 1])
{
	if (now < 0 || (uint64_t)now > UINT32_MAX)
		return -EINVAL;
	snprintf(out, HEXTIME_LEN + 1, "%08X", (unsigned)now);
	return 0;
}

static bool
parse_hextime(const char *s, size_t len, time_t *ret)
{
	if (len != HEXTIME_LEN)
		return false;
	uint32_t v = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*ret = (time_t)v;
	return true;
}

static int
sign(EVP_PKEY *key, const char *data, char **ret_b64)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	int r = -EIO;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)data, strlen(data)) != 1)
		goto out;
	sig = xmalloc(siglen);
	if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data, strlen(data)) != 1)
		goto out;
	char *b64 = xmalloc(base64_encoded_len(siglen) + 1);
	base64_encode(sig, siglen, b64);
	*ret_b64 = b64;
	r = 0;
out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	if (r < 0)
		ERR_clear_error();
	return r;
}

static bool
verify_sig(EVP_PKEY *key, const char *data, size_t data_len, const char *b64, size_t b64_len)
{
	unsigned char sig[SIGNATURE_MAX_SIZE + 3];
	if (b64_len > base64_encoded_len(SIGNATURE_MAX_SIZE))
		return false;
	ssize_t siglen = base64_decode(b64, b64_len, sig);
	if (siglen <= 0)
		return false;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return false;
	bool ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	          EVP_DigestVerify(ctx, sig, (size_t)siglen, (const unsigned char *)data,
	                           data_len) == 1;
	EVP_MD_CTX_free(ctx);
	/* a forged ticket is an expected event: leave no stale error on this thread's queue */
	if (!ok)
		ERR_clear_error();
	return ok;
}

/* ':' would end the data field and '%' must survive the round trip unambiguously (PVE
 * escapes only ':' but decodes every %XX, so "a%3Ab@pve" could verify as "a:b@pve"). */
static char *
escape_data(const char *data)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = data; *p; p++) {
		if (*p == ':')
			sb_puts(&sb, "%3A");
		else if (*p == '%')
			sb_puts(&sb, "%25");
		else
			sb_putc(&sb, *p);
	}
	return sb_steal(&sb);
}

static int
assemble(EVP_PKEY *key, const char *prefix, const char *data, const char *secret_data, time_t now,
         char **ret)
{
	char hextime[HEXTIME_LEN + 1];
	int r = format_hextime(now, hextime);
	if (r < 0)
		return r;
	struct strbuf plain = STRBUF_INIT;
	sb_printf(&plain, "%s:", prefix);
	if (data) {
		_cleanup_free_ char *esc = escape_data(data);
		sb_printf(&plain, "%s:", esc);
	}
	sb_puts(&plain, hextime);
	_cleanup_free_ char *full =
	        secret_data ? xasprintf("%s:%s", sb_str(&plain), secret_data) : NULL;
	_cleanup_free_ char *sig = NULL;
	r = sign(key, full ? full : sb_str(&plain), &sig);
	if (r < 0) {
		sb_free(&plain);
		return r;
	}
	sb_printf(&plain, "::%s", sig);
	*ret = sb_steal(&plain);
	return 0;
}

int
ticket_create(EVP_PKEY *key, const char *prefix, const char *userid, time_t now, char **ret)
{
	/* the verifier's format has no room for whitespace in the data (as PVE's) */
	if (!key || !prefix_ok(prefix) || !userid || !*userid || has_space_or_ctl(userid))
		return -EINVAL;
	return assemble(key, prefix, userid, NULL, now, ret);
}

int
ticket_create_short(EVP_PKEY *key, const char *prefix, const char *secret_data, time_t now,
                    char **ret)
{
	if (!key || !prefix_ok(prefix) || !secret_data)
		return -EINVAL;
	return assemble(key, prefix, NULL, secret_data, now, ret);
}

struct parsed_ticket {
	size_t plain_len; /* "<prefix>:[<data>:]<HEXTIME>" */
	const char *data; /* inside the ticket, not terminated; NULL when absent */
	size_t data_len;
	time_t time;
	const char *sig;
	size_t sig_len;
};

/* PVE's shape: "<prefix>:<plain rest>::<signature without ':'>", no whitespace anywhere, the
 * plain part ending in ":<8 upper hex>". */
static int
parse_ticket(const char *prefix, const char *ticket, struct parsed_ticket *pt)
{
	size_t plen = strlen(prefix);
	if (!ticket)
		return -EBADMSG;
	size_t len = strlen(ticket);
	if (len > TICKET_MAX_LEN || has_space_or_ctl(ticket) || !strneq(ticket, prefix, plen) ||
	    ticket[plen] != ':')
		return -EBADMSG;
	const char *last = strrchr(ticket, ':');
	if (last < ticket + plen + 2 || last[-1] != ':' || last[1] == '\0')
		return -EBADMSG;
	pt->sig = last + 1;
	pt->sig_len = strlen(pt->sig);
	pt->plain_len = (size_t)(last - 1 - ticket);

	/* the time is the last field of the plain part */
	const char *body = ticket + plen + 1;
	size_t body_len = pt->plain_len - plen - 1;
	if (body_len < HEXTIME_LEN ||
	    !parse_hextime(body + body_len - HEXTIME_LEN, HEXTIME_LEN, &pt->time))
		return -EBADMSG;
	if (body_len == HEXTIME_LEN) {
		pt->data = NULL;
		pt->data_len = 0;
		return 0;
	}
	if (body_len < HEXTIME_LEN + 2 || body[body_len - HEXTIME_LEN - 1] != ':')
		return -EBADMSG;
	pt->data = body;
	pt->data_len = body_len - HEXTIME_LEN - 1;
	return 0;
}

/* PVE accepts an age strictly inside (min, max). */
static bool
age_ok(time_t now, time_t t, long min_age, long max_age, long *ret_age)
{
	long long age = (long long)now - (long long)t;
	if (ret_age)
		*ret_age = (long)age;
	return age > min_age && age < max_age;
}

int
ticket_verify(EVP_PKEY *key, const char *prefix, const char *ticket, time_t now, long min_age,
              long max_age, char **ret_userid, long *ret_age)
{
	struct parsed_ticket pt;
	if (!key || !prefix_ok(prefix))
		return -EINVAL;
	int r = parse_ticket(prefix, ticket, &pt);
	if (r < 0)
		return r;
	/* our tickets escape ':' in the data; a raw one is not ours */
	if (!pt.data || memchr(pt.data, ':', pt.data_len))
		return -EBADMSG;
	if (!verify_sig(key, ticket, pt.plain_len, pt.sig, pt.sig_len))
		return -EKEYREJECTED;
	long age;
	if (!age_ok(now, pt.time, min_age, max_age, &age))
		return -EKEYEXPIRED;

	char *userid;
	size_t ulen;
	if (percent_decode(pt.data, pt.data_len, false, &userid, &ulen) < 0)
		return -EBADMSG;
	if (ulen != strlen(userid) || ulen == 0) {
		free(userid);
		return -EBADMSG;
	}
	if (ret_userid)
		*ret_userid = userid;
	else
		free(userid);
	if (ret_age)
		*ret_age = age;
	return 0;
}

int
ticket_verify_short(EVP_PKEY *key, const char *prefix, const char *secret_data, const char *ticket,
                    time_t now)
{
	struct parsed_ticket pt;
	if (!key || !prefix_ok(prefix) || !secret_data)
		return -EINVAL;
	int r = parse_ticket(prefix, ticket, &pt);
	if (r < 0)
		return r;
	if (pt.data)
		return -EBADMSG;
	/* the signed text is the visible part plus the secret data the verifier supplies */
	_cleanup_free_ char *full = xasprintf("%.*s:%s", (int)pt.plain_len, ticket, secret_data);
	if (!verify_sig(key, full, strlen(full), pt.sig, pt.sig_len))
		return -EKEYREJECTED;
	if (!age_ok(now, pt.time, SHORT_MIN_AGE, SHORT_MAX_AGE, NULL))
		return -EKEYEXPIRED;
	return 0;
}

/* base64 of HMAC-SHA256("<hextime>:<userid>") without padding, as Digest::SHA's *_base64. */
static int
csrf_digest(const unsigned char *secret, size_t secret_len, const char *hextime, const char *userid,
            char out[CSRF_SIG_B64_LEN + 2])
{
	_cleanup_free_ char *msg = xasprintf("%s:%s", hextime, userid);
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, secret_len,
	               (const unsigned char *)msg, strlen(msg), mac, sizeof(mac), &mac_len) ||
	    mac_len != 32)
		return -EIO;
	char b64[48];
	base64_encode(mac, mac_len, b64);
	memcpy(out, b64, CSRF_SIG_B64_LEN);
	out[CSRF_SIG_B64_LEN] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

int
csrf_token_create(const unsigned char *secret, size_t secret_len, const char *userid, time_t now,
                  char **ret)
{
	if (!secret || secret_len == 0 || !userid)
		return -EINVAL;
	char hextime[HEXTIME_LEN + 1], sig[CSRF_SIG_B64_LEN + 2];
	int r = format_hextime(now, hextime);
	if (r < 0)
		return r;
	r = csrf_digest(secret, secret_len, hextime, userid, sig);
	if (r < 0)
		return r;
	*ret = xasprintf("%s:%s", hextime, sig);
	return 0;
}

int
csrf_token_verify(const unsigned char *secret, size_t secret_len, const char *userid,
                  const char *token, time_t now)
{
	if (!secret || secret_len == 0 || !userid || !token)
		return -EKEYREJECTED;
	/* "<8 upper hex>:<43 base64 chars>" and nothing else */
	if (strlen(token) != HEXTIME_LEN + 1 + CSRF_SIG_B64_LEN || token[HEXTIME_LEN] != ':')
		return -EKEYREJECTED;
	time_t t;
	if (!parse_hextime(token, HEXTIME_LEN, &t))
		return -EKEYREJECTED;
	char hextime[HEXTIME_LEN + 1], expect[CSRF_SIG_B64_LEN + 2];
	memcpy(hextime, token, HEXTIME_LEN);
	hextime[HEXTIME_LEN] = '\0';
	if (csrf_digest(secret, secret_len, hextime, userid, expect) < 0)
		return -EKEYREJECTED;
	bool match = CRYPTO_memcmp(expect, token + HEXTIME_LEN + 1, CSRF_SIG_B64_LEN) == 0;
	OPENSSL_cleanse(expect, sizeof(expect));
	if (!match || !age_ok(now, t, -TICKET_CLOCK_SKEW, TICKET_LIFETIME, NULL))
		return -EKEYREJECTED;
	return 0;
}
