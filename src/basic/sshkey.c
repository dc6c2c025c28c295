/* authorized_keys lines: checked without running ssh-keygen, by the key blob's own header
 * (a length-prefixed copy of the type name, RFC 4253 section 6.6). */
#include "basic/sshkey.h"

#include "basic/encoding.h"
#include "basic/macros.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const key_types[] = {
	"ssh-ed25519",
	"ssh-rsa",
	"ssh-dss",
	"ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521",
	"sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com",
	"ssh-ed25519-cert-v01@openssh.com",
	"ssh-rsa-cert-v01@openssh.com",
	"ecdsa-sha2-nistp256-cert-v01@openssh.com",
	"ecdsa-sha2-nistp384-cert-v01@openssh.com",
	"ecdsa-sha2-nistp521-cert-v01@openssh.com",
	"sk-ssh-ed25519-cert-v01@openssh.com",
	"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
};

#define BLANKS " \t"

static bool
known_type(const char *word, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(key_types); i++)
		if (strlen(key_types[i]) == len && memcmp(key_types[i], word, len) == 0)
			return true;
	return false;
}

/* The next blank-separated word of *p (options may hold quoted blanks). */
static size_t
next_word(const char **p, const char **ret)
{
	const char *s = *p + strspn(*p, BLANKS);
	const char *e = s;
	bool quoted = false;
	for (; *e && (quoted || !strchr(BLANKS, *e)); e++)
		if (*e == '"')
			quoted = !quoted;
	*ret = s;
	*p = e;
	return (size_t)(e - s);
}

static bool
blob_names_type(const char *b64, size_t b64_len, const char *type, size_t type_len)
{
	uint8_t *blob = malloc(b64_len);
	if (!blob)
		return false;
	ssize_t n = base64_decode(b64, b64_len, blob);
	bool ok = n >= 4;
	if (ok) {
		uint32_t len = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 |
		               (uint32_t)blob[2] << 8 | blob[3];
		/* the name, then at least one more field: a key has material after its type */
		ok = len == type_len && (size_t)n > 4 + len + 4 && memcmp(blob + 4, type, len) == 0;
	}
	free(blob);
	return ok;
}

static bool
line_valid(const char *line)
{
	const char *p = line, *w;
	size_t len = next_word(&p, &w);
	if (!known_type(w, len)) {
		len = next_word(&p, &w); /* the first word was options */
		if (!known_type(w, len))
			return false;
	}
	const char *blob;
	size_t blob_len = next_word(&p, &blob);
	return blob_len > 0 && blob_names_type(blob, blob_len, w, len);
}

bool
ssh_public_keys_valid(const char *text)
{
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, "\n");
		char *line = strndup(p, n);
		if (!line)
			return false;
		if (n > 0 && line[n - 1] == '\r')
			line[n - 1] = '\0';
		bool ok = line[strspn(line, " \t\r")] == '\0' || line_valid(line);
		free(line);
		if (!ok)
			return false;
		p += n + (p[n] == '\n');
	}
	return true;
}
