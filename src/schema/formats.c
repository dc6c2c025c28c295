/* Named value formats (PVE's register_format) with Proxmox VE's error texts, as one table. */
#include "schema/schema.h"
#include "storage/storage.h"
#include "auth/privs.h"
#include "auth/usercfg.h"

#include <arpa/inet.h>
#include <regex.h>

/* Match value against an anchored ERE compiled once per call site. */
static bool
regex_check(regex_t *re, bool *compiled, const char *pattern, const char *value)
{
	if (!*compiled) {
		if (regcomp(re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
			return false;
		*compiled = true;
	}
	return regexec(re, value, 0, NULL, 0) == 0;
}

#define RE_CHECK(value, pattern)                                                                   \
	({                                                                                         \
		static regex_t re_;                                                                \
		static bool compiled_;                                                             \
		regex_check(&re_, &compiled_, pattern, value);                                     \
	})

static int
fail(struct strbuf *why, const char *msg)
{
	sb_puts(why, msg);
	return -EINVAL;
}

static int
check_node(const char *v, struct strbuf *why)
{
	if (RE_CHECK(v, "^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$"))
		return 0;
	return fail(why, "value does not look like a valid node name\n");
}

static int
check_vmid(const char *v, struct strbuf *why)
{
	if (RE_CHECK(v, "^[1-9][0-9]{2,8}$"))
		return 0;
	return fail(why, "value does not look like a valid VM ID\n");
}

static int
check_configid(const char *v, struct strbuf *why)
{
	if (RE_CHECK(v, "^[a-zA-Z][a-zA-Z0-9_-]+$"))
		return 0;
	sb_printf(why, "invalid configuration ID '%s'\n", v);
	return -EINVAL;
}

static int
check_id(const char *v, const char *type, struct strbuf *why)
{
	if (strlen(v) < 2) {
		sb_printf(why, "%s ID '%s' cannot be shorter than 2 characters\n", type, v);
		return -EINVAL;
	}
	if (!RE_CHECK(v, "^[a-zA-Z][a-zA-Z0-9_.-]*[a-zA-Z0-9]$")) {
		sb_printf(why, "%s ID '%s' contains illegal characters\n", type, v);
		return -EINVAL;
	}
	return 0;
}

static int
check_storage_id(const char *v, struct strbuf *why)
{
	return check_id(v, "storage", why);
}

static int
check_storage_content(const char *v, struct strbuf *why)
{
	if (storage_content_parse_one(v))
		return 0;
	sb_printf(why, "invalid content type '%s'\n", v);
	return -EINVAL;
}

static int
check_bridge_id(const char *v, struct strbuf *why)
{
	if (RE_CHECK(v, "^[-_.a-zA-Z0-9]+$"))
		return 0;
	sb_printf(why, "invalid bridge ID '%s'\n", v);
	return -EINVAL;
}

static int
check_userid(const char *v, struct strbuf *why)
{
	size_t len = strlen(v);
	if (len < 3) {
		sb_printf(why, "user name '%s' is too short\n", v);
		return -EINVAL;
	}
	if (len > 64) {
		sb_printf(why, "user name '%s' is too long (%zu > 64)\n", v, len);
		return -EINVAL;
	}
	if (userid_valid(v))
		return 0;
	sb_printf(why, "value '%s' does not look like a valid user name\n", v);
	return -EINVAL;
}

static int
check_realm(const char *v, struct strbuf *why)
{
	if (realm_valid(v))
		return 0;
	return fail(why, "value does not look like a valid realm\n");
}

static int
check_tokenid(const char *v, struct strbuf *why)
{
	if (full_tokenid_valid(v))
		return 0;
	sb_printf(why, "value '%s' does not look like a valid token ID\n", v);
	return -EINVAL;
}

static int
check_groupid(const char *v, struct strbuf *why)
{
	if (groupid_valid(v))
		return 0;
	sb_printf(why, "group name '%s' contains invalid characters\n", v);
	return -EINVAL;
}

static int
check_roleid(const char *v, struct strbuf *why)
{
	if (roleid_valid(v))
		return 0;
	sb_printf(why, "role name '%s' contains invalid characters\n", v);
	return -EINVAL;
}

static int
check_poolid(const char *v, struct strbuf *why)
{
	if (RE_CHECK(v, "^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+){0,2}$"))
		return 0;
	size_t slashes = 0;
	for (const char *p = v; *p; p++)
		slashes += *p == '/';
	if (slashes > 2)
		sb_printf(why, "pool name '%s' nested too deeply (max levels = 3)\n", v);
	else
		sb_printf(why, "pool name '%s' contains invalid characters\n", v);
	return -EINVAL;
}

static int
check_priv(const char *v, struct strbuf *why)
{
	if (priv_lookup(v) >= 0)
		return 0;
	sb_printf(why, "invalid privilege '%s'\n", v);
	return -EINVAL;
}

static int
check_email(const char *v, struct strbuf *why)
{
	if (RE_CHECK(v,
	             "^[A-Za-z0-9_+~-]+(\\.[A-Za-z0-9_+~-]+)*@[a-zA-Z0-9-]+(\\.[a-zA-Z0-9-]+)*$"))
		return 0;
	return fail(why, "value does not look like a valid email address\n");
}

static int
check_mac(const char *v, struct strbuf *why)
{
	/* unicast only: the I/G bit must be clear */
	if (RE_CHECK(v, "^[a-fA-F0-9][02468aceACE](:[a-fA-F0-9]{2}){5}$"))
		return 0;
	return fail(why, "value does not look like a valid unicast MAC address\n");
}

static int
check_ipv4(const char *v, struct strbuf *why)
{
	struct in_addr a;
	if (inet_pton(AF_INET, v, &a) == 1)
		return 0;
	return fail(why, "value does not look like a valid IPv4 address\n");
}

static int
check_ipv6(const char *v, struct strbuf *why)
{
	struct in6_addr a;
	if (inet_pton(AF_INET6, v, &a) == 1)
		return 0;
	return fail(why, "value does not look like a valid IPv6 address\n");
}

static int
check_ip(const char *v, struct strbuf *why)
{
	struct in6_addr a;
	if (inet_pton(AF_INET, v, &a) == 1 || inet_pton(AF_INET6, v, &a) == 1)
		return 0;
	return fail(why, "value does not look like a valid IP address\n");
}

static int
check_dns_name(const char *v, struct strbuf *why)
{
	if (RE_CHECK(v, "^(([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)\\.)*"
	                "([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)$"))
		return 0;
	return fail(why, "value does not look like a valid DNS name\n");
}

static int
check_disk_size(const char *v, struct strbuf *why)
{
	/* parse_size's grammar: ^(\d+(\.\d+)?)([KMGT](?:iB)?)?$ */
	if (RE_CHECK(v, "^[0-9]+(\\.[0-9]+)?([KMGT](iB)?)?$"))
		return 0;
	sb_printf(why, "value does not look like a valid disk size: %s\n", v);
	return -EINVAL;
}

static int
check_tag(const char *v, struct strbuf *why)
{
	if (RE_CHECK(v, "^[a-zA-Z0-9_][a-zA-Z0-9_+.-]*$"))
		return 0;
	return fail(why, "invalid characters in tag\n");
}

static int
check_urlencoded(const char *v, struct strbuf *why)
{
	if (RE_CHECK(v, "^[-%a-zA-Z0-9_.!~*'()]*$"))
		return 0;
	sb_printf(why, "invalid urlencoded string: %s\n", v);
	return -EINVAL;
}

/* "<addr>/<prefix>" with a prefix in range for the family */
static bool
is_cidr(const char *v, int family)
{
	const char *slash = strchr(v, '/');
	if (!slash || slash == v || strlen(v) > INET6_ADDRSTRLEN + 4)
		return false;
	char addr[INET6_ADDRSTRLEN + 1];
	size_t n = (size_t)(slash - v);
	if (n >= sizeof(addr))
		return false;
	memcpy(addr, v, n);
	addr[n] = '\0';
	unsigned char buf[sizeof(struct in6_addr)];
	if (inet_pton(family, addr, buf) != 1)
		return false;
	const char *p = slash + 1;
	if (!*p || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p))
		return false;
	int prefix = atoi(p);
	return prefix <= (family == AF_INET ? 32 : 128);
}

static int
check_ipv4_config(const char *v, struct strbuf *why)
{
	if (streq(v, "dhcp") || streq(v, "manual") || is_cidr(v, AF_INET))
		return 0;
	return fail(why, "value does not look like a valid ipv4 network configuration\n");
}

static int
check_ipv6_config(const char *v, struct strbuf *why)
{
	if (streq(v, "auto") || streq(v, "dhcp") || streq(v, "manual") || is_cidr(v, AF_INET6))
		return 0;
	return fail(why, "value does not look like a valid ipv6 network configuration\n");
}

/* pve-container's verify_lxc_mp_string: no "/./", "/../", trailing "/." or "/..", leading
 * "../" (a volume id or a path inside the CT) */
static int
check_lxc_mp_string(const char *v, struct strbuf *why)
{
	if (RE_CHECK(v, "/\\.\\.?/") || RE_CHECK(v, "/\\.\\.?$") || RE_CHECK(v, "^\\.\\./") ||
	    streq(v, "..") || streq(v, ".")) {
		sb_printf(why, "%s contains illegal character sequences\n", v);
		return -EINVAL;
	}
	return 0;
}

/* pve-common's pve_parse_startup_order: order=\d+, up=\d+, down=\d+, comma separated */
static int
check_startup_order(const char *v, struct strbuf *why)
{
	if (RE_CHECK(v, "^((order|up|down)=[0-9]+)(,(order|up|down)=[0-9]+)*$") ||
	    RE_CHECK(v, "^[0-9]+$"))
		return 0;
	return fail(why, "unable to parse startup options\n");
}

static const struct api_format formats[] = {
	{ "disk-size", check_disk_size, NULL },
	{ "dns-name", check_dns_name, NULL },
	{ "email", check_email, NULL },
	{ "ip", check_ip, NULL },
	{ "ipv4", check_ipv4, NULL },
	{ "ipv6", check_ipv6, NULL },
	{ "mac-addr", check_mac, NULL },
	{ "pve-bridge-id", check_bridge_id, NULL },
	{ "pve-ipv4-config", check_ipv4_config, NULL },
	{ "pve-ipv6-config", check_ipv6_config, NULL },
	{ "pve-lxc-mp-string", check_lxc_mp_string, NULL },
	{ "pve-startup-order", check_startup_order, NULL },
	{ "pve-configid", check_configid, NULL },
	{ "pve-groupid", check_groupid, NULL },
	{ "pve-node", check_node, NULL },
	{ "pve-poolid", check_poolid, NULL },
	{ "pve-priv", check_priv, NULL },
	{ "pve-realm", check_realm, NULL },
	{ "pve-roleid", check_roleid, NULL },
	{ "pve-storage-content", check_storage_content, NULL },
	{ "pve-storage-id", check_storage_id, NULL },
	{ "pve-tag", check_tag, NULL },
	{ "pve-tokenid", check_tokenid, NULL },
	{ "pve-userid", check_userid, NULL },
	{ "pve-vmid", check_vmid, NULL },
	{ "urlencoded", check_urlencoded, NULL },
};

const struct api_format *
format_lookup(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
		if (streq(formats[i].name, name))
			return &formats[i];
	return NULL;
}
