/* Name and ACL path checks with Proxmox VE's rules (verify_username, normalize_path, ...). */
#include "auth/usercfg-internal.h"
#include "basic/encoding.h"

#define USERID_MAX 64
#define REALM_MAX  32

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* [A-Za-z0-9._-] */
static bool
is_name_char(char c)
{
	return is_alnum(c) || c == '.' || c == '-' || c == '_';
}

static bool
span_all(const char *s, size_t len, bool (*ok)(char))
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!ok(s[i]))
			return false;
	return true;
}

/* PVE's realm/token-name pattern [A-Za-z][A-Za-z0-9.\-_]+ (two characters at least). */
static bool
realm_pattern(const char *s, size_t len)
{
	return len >= 2 && is_alpha(s[0]) && span_all(s + 1, len - 1, is_name_char);
}

/* The user part before '@': PVE allows anything but whitespace, ':' and '/'. Control and
 * DEL bytes are refused too: they have no business in a name and would reach logs. */
static bool
user_part_ok(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f || c == ':' || c == '/')
			return false;
	}
	return utf8_valid(s, len);
}

bool
userid_valid(const char *userid)
{
	if (!userid)
		return false;
	size_t len = strlen(userid);
	if (len < 3 || len > USERID_MAX)
		return false;
	/* the realm cannot hold '@', so the last one separates (as PVE's backtracking regex) */
	const char *at = strrchr(userid, '@');
	if (!at)
		return false;
	return user_part_ok(userid, (size_t)(at - userid)) && realm_pattern(at + 1, strlen(at + 1));
}

bool
realm_valid(const char *realm)
{
	return realm && strlen(realm) <= REALM_MAX && realm_pattern(realm, strlen(realm));
}

bool
tokenname_valid(const char *name)
{
	return name && realm_pattern(name, strlen(name));
}

bool
uc_split_tokenid(const char *id, char **ret_userid, const char **ret_name)
{
	const char *bang = id ? strrchr(id, '!') : NULL;
	if (!bang)
		return false;
	if (ret_userid)
		*ret_userid = xstrndup(id, (size_t)(bang - id));
	if (ret_name)
		*ret_name = bang + 1;
	return true;
}

bool
full_tokenid_valid(const char *id)
{
	_cleanup_free_ char *userid = NULL;
	const char *name;
	if (!uc_split_tokenid(id, &userid, &name))
		return false;
	return userid_valid(userid) && tokenname_valid(name);
}

bool
groupid_valid(const char *groupid)
{
	return groupid && span_all(groupid, strlen(groupid), is_name_char);
}

bool
roleid_valid(const char *roleid)
{
	return roleid && span_all(roleid, strlen(roleid), is_name_char);
}

bool
poolid_valid(const char *poolid)
{
	if (!poolid)
		return false;
	unsigned levels = 0;
	const char *p = poolid;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (!span_all(p, len, is_name_char) || ++levels > 3)
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

static bool
is_path_char(char c)
{
	return is_name_char(c) || c == '/';
}

char *
uc_path_normalize_loose(const char *path)
{
	/* PVE treats a false value (undef, "" and "0") as no path at all */
	if (!path || !*path || streq(path, "0"))
		return NULL;
	size_t len = strlen(path);
	char *out = xmalloc(len + 2);
	size_t o = 0;
	if (path[0] != '/')
		out[o++] = '/';
	for (size_t i = 0; i < len; i++) {
		if (path[i] == '/' && o > 0 && out[o - 1] == '/')
			continue;
		out[o++] = path[i];
	}
	if (o > 1 && out[o - 1] == '/')
		o--;
	out[o] = '\0';
	if (!span_all(out, o, is_path_char)) {
		free(out);
		return NULL;
	}
	return out;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
span_alnum(const char *s)
{
	return span_all(s, strlen(s), is_alnum);
}

static bool
is_controller_char(char c)
{
	return is_alnum(c) || c == '_' || c == '-';
}

/* [1-9][0-9]{lo-1,hi-1} */
static bool
number_without_zero(const char *s, size_t min_digits, size_t max_digits)
{
	size_t len = strlen(s);
	return len >= min_digits && len <= max_digits && s[0] >= '1' && s[0] <= '9' &&
	       span_all(s, len, is_digit);
}

/* Sub-paths of /sdn: name and what a child component may hold. */
struct sdn_branch {
	const char *name;
	bool (*child_ok)(const char *);
};

static bool
sdn_controller_ok(const char *s)
{
	return span_all(s, strlen(s), is_controller_char);
}

static bool
sdn_name_ok(const char *s)
{
	return span_all(s, strlen(s), is_name_char);
}

static const struct sdn_branch sdn_branches[] = {
	{ "controllers", sdn_controller_ok },
	{ "dns", span_alnum },
	{ "fabrics", span_alnum },
	{ "ipams", span_alnum },
	{ "prefix-lists", span_alnum },
	{ "route-maps", span_alnum },
	{ "zones", sdn_name_ok },
};

#define PATH_MAX_COMPONENTS 8

bool
uc_path_allowed(const char *path)
{
	if (!path || path[0] != '/')
		return false;
	if (streq(path, "/"))
		return true;

	/* split a copy into components; normalised paths have no empty ones */
	char buf[256];
	if (strlen(path) >= sizeof(buf))
		return false;
	strcpy(buf, path + 1);
	const char *c[PATH_MAX_COMPONENTS];
	size_t n = 0;
	for (char *save = NULL, *tok = strtok_r(buf, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		if (n == PATH_MAX_COMPONENTS)
			return false;
		c[n++] = tok;
	}
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!sdn_name_ok(c[i]))
			return false;

	const char *top = c[0];
	if (streq(top, "access")) {
		if (n == 1)
			return true;
		if (!streq(c[1], "groups") && !streq(c[1], "realm"))
			return false;
		return n <= 3;
	}
	if (streq(top, "nodes") || streq(top, "storage"))
		return n <= 2;
	if (streq(top, "pool"))
		return n <= 4; /* pool ids nest up to three levels */
	if (streq(top, "mapping"))
		return n <= 3;
	if (streq(top, "vms"))
		return n == 1 || (n == 2 && number_without_zero(c[1], 3, 64));
	if (streq(top, "sdn")) {
		if (n == 1)
			return true;
		for (size_t i = 0; i < ARRAY_SIZE(sdn_branches); i++) {
			if (!streq(c[1], sdn_branches[i].name))
				continue;
			if (n == 2)
				return true;
			if (!sdn_branches[i].child_ok(c[2]))
				return false;
			if (n == 3)
				return true;
			/* only zones go deeper: /sdn/zones/<zone>/<vnet>[/<vlan 1-9999>] */
			if (!streq(c[1], "zones"))
				return false;
			return n == 4 || (n == 5 && number_without_zero(c[4], 1, 4));
		}
		return false;
	}
	return false;
}

char *
acl_path_normalize(const char *path)
{
	char *n = uc_path_normalize_loose(path);
	if (n && !uc_path_allowed(n)) {
		free(n);
		return NULL;
	}
	return n;
}

bool
uc_text_ok(const char *s)
{
	return !s || (utf8_valid(s, strlen(s)) && !has_crlf(s));
}

bool
uc_raw_ok(const char *s)
{
	if (!s)
		return true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == ':')
			return false;
	return utf8_valid(s, strlen(s));
}

/* PVE's storage id check for pool members: [a-z][a-z0-9\-_.]*[a-z0-9], case-insensitive. */
bool
uc_pool_storage_valid(const char *s)
{
	size_t len = strlen(s);
	if (len < 2)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		bool digit = c >= '0' && c <= '9';
		if (i == 0 ? !alpha
		           : !(alpha || digit ||
		               (i < len - 1 && (c == '-' || c == '_' || c == '.'))))
			return false;
	}
	return true;
}
