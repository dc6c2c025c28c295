/* Passwords: yescrypt hashes and shadow.cfg for the pve realm, PAM for the pam realm. */
#include "auth/password.h"
#include "auth/usercfg.h"
#include "basic/strbuf.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <security/pam_appl.h>
#include <stdio.h>

int
password_hash(const char *password, char **ret)
{
	if (!password)
		return -EINVAL;
	_cleanup_free_ char *salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (!salt)
		return negative_errno();
	void *data = NULL;
	int size = 0;
	const char *h = crypt_ra(password, salt, &data, &size);
	int r = 0;
	/* libcrypt reports failure with a hash starting with '*' (or NULL) */
	if (!h || h[0] == '*')
		r = -EINVAL;
	else
		*ret = xstrdup(h);
	if (data) {
		OPENSSL_cleanse(data, (size_t)size);
		free(data);
	}
	return r;
}

int
password_verify(const char *password, const char *hash)
{
	/* '!' and '*' mark locked accounts in shadow-style files; never a match */
	if (!password || !hash || !*hash || hash[0] == '!' || hash[0] == '*')
		return -EACCES;
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *h = crypt_rn(password, hash, cd, sizeof(*cd));
	bool ok = h && h[0] != '*' && strlen(h) == strlen(hash) &&
	          CRYPTO_memcmp(h, hash, strlen(hash)) == 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok ? 0 : -EACCES;
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct shadow_line {
	const char *userid, *hash; /* into a private copy of the line */
};

/* PVE's shadow.cfg line: "<userid>:<hash>:" without whitespace (after trimming). */
static bool
parse_shadow_line(char *line, struct shadow_line *ret)
{
	while (is_ws(*line))
		line++;
	size_t len = strlen(line);
	while (len > 0 && is_ws(line[len - 1]))
		line[--len] = '\0';
	if (len < 4 || line[len - 1] != ':')
		return false;
	for (size_t i = 0; i < len; i++)
		if (is_ws(line[i]))
			return false;
	char *c1 = strchr(line, ':');
	char *c2 = strchr(c1 + 1, ':');
	if (c1 == line || c2 == c1 + 1)
		return false;
	*c1 = *c2 = '\0';
	ret->userid = line;
	ret->hash = c1 + 1;
	return true;
}

int
shadowcfg_lookup(const char *text, const char *userid, char **ret_hash)
{
	char *found = NULL;
	const char *p = text ? text : "";
	while (*p) {
		size_t len = strcspn(p, "\n");
		_cleanup_free_ char *line = xstrndup(p, len);
		p += len + (p[len] == '\n');
		struct shadow_line sl;
		if (!userid || !parse_shadow_line(line, &sl) || !streq(sl.userid, userid))
			continue;
		/* later lines win, as when PVE loads the file into a hash */
		free(found);
		found = xstrdup(sl.hash);
	}
	if (!found)
		return -ENOENT;
	*ret_hash = found;
	return 0;
}

struct shadow_entry {
	char *userid, *hash;
};

static int
shadow_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct shadow_entry *)a)->userid,
	              ((const struct shadow_entry *)b)->userid);
}

static bool
hash_writable(const char *hash)
{
	if (!*hash)
		return false;
	for (const char *c = hash; *c; c++)
		if (*c == ':' || is_ws(*c) || (unsigned char)*c < 0x20)
			return false;
	return true;
}

char *
shadowcfg_update(const char *text, const char *userid, const char *hash)
{
	if (!userid_valid(userid) || (hash && !hash_writable(hash)))
		return NULL;
	struct shadow_entry *v = NULL;
	size_t n = 0;
	const char *p = text ? text : "";
	while (*p) {
		size_t len = strcspn(p, "\n");
		_cleanup_free_ char *line = xstrndup(p, len);
		p += len + (p[len] == '\n');
		struct shadow_line sl;
		if (!parse_shadow_line(line, &sl) || streq(sl.userid, userid))
			continue;
		struct shadow_entry *e = NULL;
		for (size_t i = 0; i < n && !e; i++)
			if (streq(v[i].userid, sl.userid))
				e = &v[i];
		if (e) {
			free(e->hash);
		} else {
			v = xrealloc(v, (n + 1) * sizeof(*v));
			e = &v[n++];
			e->userid = xstrdup(sl.userid);
		}
		e->hash = xstrdup(sl.hash);
	}
	if (hash) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].userid = xstrdup(userid);
		v[n].hash = xstrdup(hash);
		n++;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), shadow_entry_cmp);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		sb_printf(&sb, "%s:%s:\n", v[i].userid, v[i].hash);
		free(v[i].userid);
		free(v[i].hash);
	}
	free(v);
	return sb_steal(&sb);
}

struct conv_state {
	const char *password;
	char message[256]; /* the last error text a module showed, for the error object */
};

static void
free_responses(struct pam_response *r, int n)
{
	for (int i = 0; i < n; i++) {
		if (r[i].resp) {
			OPENSSL_cleanse(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
}

/* Answers hidden prompts with the password. A visible prompt asks for something we do not
 * have (an OTP, a new password) and fails the conversation rather than guessing. */
static int
conversation(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata)
{
	struct conv_state *st = appdata;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	/* PAM frees the responses with free(): they must come from malloc, not xmalloc's
	 * abort-on-failure, so a failure is reported to the module instead */
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			r[i].resp = strdup(st->password);
			if (!r[i].resp) {
				free_responses(r, n);
				return PAM_BUF_ERR;
			}
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			if (msg[i]->msg)
				snprintf(st->message, sizeof(st->message), "%s", msg[i]->msg);
			break;
		default:
			free_responses(r, n);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* Failed attempts are slowed down by the caller without holding a thread; PAM's own delay
 * would block a thread-pool worker for seconds. */
static void
no_fail_delay(int retval, unsigned usec, void *appdata)
{
}

static bool
pam_refusal(int rc)
{
	switch (rc) {
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_MAXTRIES:
	case PAM_CRED_INSUFFICIENT:
	case PAM_AUTHINFO_UNAVAIL:
	case PAM_ACCT_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_PERM_DENIED:
	case PAM_CONV_ERR:
		return true;
	default:
		return false;
	}
}

int
pam_login(const char *service, const char *user, const char *password, struct error *err)
{
	if (!service || !*service || !user || !*user || !password)
		return error_set(err, EINVAL, "PAM login needs a service, a user and a password");
	for (const unsigned char *c = (const unsigned char *)user; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return error_set(err, EINVAL, "invalid user name");

	struct conv_state st = { .password = password };
	struct pam_conv conv = { conversation, &st };
	pam_handle_t *pamh = NULL;
	int rc = pam_start(service, user, &conv, &pamh);
	if (rc != PAM_SUCCESS)
		return error_set(err, EIO, "error during PAM init: %s", pam_strerror(pamh, rc));

	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_fail_delay);

	const char *step = "authentication";
	rc = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS) {
		step = "account check";
		rc = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	}
	int r = 0;
	if (rc != PAM_SUCCESS) {
		const char *why = pam_strerror(pamh, rc);
		if (pam_refusal(rc))
			r = error_set_status(err, 401, EACCES, "PAM %s failed for '%s': %s%s%s",
			                     step, user, why, st.message[0] ? " - " : "",
			                     st.message);
		else
			r = error_set(err, EIO, "PAM %s error for '%s': %s", step, user, why);
	}
	pam_end(pamh, rc);
	return r;
}
