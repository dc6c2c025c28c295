/* The keys of a container config (pve-container's $confdesc, $rootfs_desc, $mp_desc,
 * $netconf_desc, $features_desc) as schema data, and the typed view of a config. */
#include "guest/lxc/ctconf.h"
#include "guest/confkeys.h"
#include "schema/propstr.h"

#include <fcntl.h>
#include <stdio.h>

#define MOUNT_OPTION_RE "(discard|lazytime|noatime|nodev|noexec|nosuid)"

#define ROOTFS_KEYS                                                                                \
	{ .name = "volume",                                                                        \
	  .type = API_T_STRING,                                                                    \
	  .format = "pve-lxc-mp-string",                                                           \
	  .default_key = true,                                                                     \
	  .typetext = "<volume>",                                                                  \
	  .description = "Volume, device or directory to mount into the container." },             \
	        { .name = "size",                                                                  \
		  .type = API_T_STRING,                                                            \
		  .format = "disk-size",                                                           \
		  .optional = true,                                                                \
		  .description = "Volume size (read only value)." },                               \
	        { .name = "acl",                                                                   \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .description = "Explicitly enable or disable ACL support." },                    \
	        { .name = "mountoptions",                                                          \
		  .type = API_T_STRING,                                                            \
		  .optional = true,                                                                \
		  .pattern = MOUNT_OPTION_RE "(;" MOUNT_OPTION_RE ")*",                            \
		  .description = "Extra mount options for rootfs/mps." },                          \
	        { .name = "ro",                                                                    \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .description = "Read-only mount point" },                                        \
	        { .name = "quota",                                                                 \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .description = "Enable user quotas inside the container (not supported with "    \
		                 "zfs subvolumes)" },                                              \
	        { .name = "replicate",                                                             \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .default_text = "1",                                                             \
		  .description = "Will include this volume to a storage replica job." },           \
	{                                                                                          \
		.name = "shared", .type = API_T_BOOLEAN, .optional = true, .default_text = "0",    \
		.description = "Mark this non-volume mount point as available on all "             \
		               "nodes."                                                            \
	}

const struct api_schema ct_rootfs_props[] = {
	ROOTFS_KEYS,
	{ .name = NULL },
};

const struct api_schema ct_mp_props[] = {
	ROOTFS_KEYS,
	{ .name = "backup",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Whether to include the mount point in backups (only used for volume "
	                 "mount points)." },
	{ .name = "mp",
	  .type = API_T_STRING,
	  .format = "pve-lxc-mp-string",
	  .typetext = "<Path>",
	  .description = "Path to the mount point as seen from inside the container." },
	{ .name = NULL },
};

const struct api_schema ct_net_props[] = {
	{ .name = "type",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "veth", NULL },
	  .description = "Network interface type." },
	{ .name = "name",
	  .type = API_T_STRING,
	  .pattern = "[-_.a-zA-Z0-9]+",
	  .max_length = 15,
	  .description = "Name of the network device as seen from inside the container. "
	                 "(lxc.network.name)" },
	{ .name = "bridge",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "pve-bridge-id",
	  .description = "Bridge to attach the network device to." },
	{ .name = "hwaddr",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "mac-addr",
	  .description = "A common MAC address with the I/G (Individual/Group) bit not set." },
	{ .name = "mtu",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 64,
	  .maximum = 65535,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "Maximum transfer unit of the interface. (lxc.network.mtu)" },
	{ .name = "ip",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "pve-ipv4-config",
	  .typetext = "(IPv4/CIDR|dhcp|manual)",
	  .description = "IPv4 address in CIDR format." },
	{ .name = "gw",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "ipv4",
	  .description = "Default gateway for IPv4 traffic." },
	{ .name = "ip6",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "pve-ipv6-config",
	  .typetext = "(IPv6/CIDR|auto|dhcp|manual)",
	  .description = "IPv6 address in CIDR format." },
	{ .name = "gw6",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "ipv6",
	  .description = "Default gateway for IPv6 traffic." },
	{ .name = "firewall",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Controls whether this interface's firewall rules should be used." },
	{ .name = "tag",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 1,
	  .maximum = 4094,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "VLAN tag for this interface." },
	{ .name = "trunks",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = "[0-9]+(;[0-9]+)*",
	  .description = "VLAN ids to pass through the interface" },
	{ .name = "rate",
	  .type = API_T_NUMBER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .description = "Apply rate limiting to the interface (MB/s)" },
	{ .name = "link_down",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Whether this interface should be disconnected (like pulling the "
	                 "plug)." },
	{ .name = NULL },
};

const struct api_schema ct_features_props[] = {
	{ .name = "mount",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = "[a-zA-Z0-9_; ]+",
	  .description = "Allow mounting file systems of specific types. This should be a list "
	                 "of file system types as used with the mount command." },
	{ .name = "nesting",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Allow nesting. Best used with unprivileged containers." },
	{ .name = "keyctl",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "For unprivileged containers only: Allow the use of the keyctl() system "
	                 "call." },
	{ .name = "fuse",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Allow using 'fuse' file systems in a container." },
	{ .name = "mknod",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Allow unprivileged containers to use mknod() to add certain device "
	                 "nodes." },
	{ .name = "force_rw_sys",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Mount /sys in unprivileged containers as `rw` instead of `mixed`." },
	{ .name = NULL },
};

static const struct api_schema unused_props[] = {
	{ .name = "volume",
	  .type = API_T_STRING,
	  .default_key = true,
	  .description = "The volume that is not used currently." },
	{ .name = NULL },
};

/* The plain keys, sorted. Indexed keys (mpN, netN, unusedN) follow from the templates. */
static const struct api_schema plain_keys[] = {
	{ .name = "arch",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "amd64", "i386", "arm64", "armhf", "riscv32", "riscv64",
	                                  NULL },
	  .default_text = "amd64",
	  .description = "OS architecture type." },
	{ .name = "cmode",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "shell", "console", "tty", NULL },
	  .default_text = "tty",
	  .description = "Console mode." },
	{ .name = "console",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "1",
	  .description = "Attach a console device (/dev/console) to the container." },
	{ .name = "cores",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 1,
	  .maximum = 8192,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "The number of cores assigned to the container. A container can use all "
	                 "available cores by default." },
	{ .name = "cpulimit",
	  .type = API_T_NUMBER,
	  .optional = true,
	  .minimum = 0,
	  .maximum = 8192,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .default_text = "0",
	  .description = "Limit of CPU usage. NOTE: If the computer has 2 CPUs, it has a total of "
	                 "'2' CPU time. Value '0' indicates no CPU limit." },
	{ .name = "cpuunits",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .maximum = 500000,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .default_text = "cgroup v1: 1024, cgroup v2: 100",
	  .description = "CPU weight for a container, relative to all the other running guests." },
	{ .name = "debug",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Try to be more verbose. For now this only enables debug log-level on "
	                 "start." },
	{ .name = "description",
	  .type = API_T_STRING,
	  .optional = true,
	  .max_length = 8192,
	  .description = "Description for the Container. Shown in the web-interface CT's summary. "
	                 "This is saved as comment inside the configuration file." },
	{ .name = "entrypoint",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = "[^\001-\010\012-\037\177]+",
	  .default_text = "/sbin/init",
	  .description = "Command to run as init, optionally with arguments; may start with an "
	                 "absolute path, relative path, or a binary in $PATH." },
	{ .name = "features",
	  .type = API_T_STRING,
	  .optional = true,
	  .props = ct_features_props,
	  .description = "Allow containers access to advanced features." },
	{ .name = "hostname",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "dns-name",
	  .max_length = 255,
	  .description = "Set a host name for the container." },
	{ .name = "lock",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "backup", "create", "destroyed", "disk", "fstrim",
	                                  "migrate", "mounted", "rollback", "snapshot",
	                                  "snapshot-delete", NULL },
	  .description = "Lock/unlock the container." },
	{ .name = "memory",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 16,
	  .flags = API_F_HAS_MIN,
	  .default_text = "512",
	  .description = "Amount of RAM for the container in MB." },
	{ .name = "nameserver",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "ip-list",
	  .description = "Sets DNS server IP address for a container. Create will automatically "
	                 "use the setting from the host if you neither set searchdomain nor "
	                 "nameserver." },
	{ .name = "onboot",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Specifies whether a container will be started during system bootup." },
	{ .name = "ostype",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "debian", "devuan", "ubuntu", "centos", "fedora",
	                                  "opensuse", "archlinux", "alpine", "gentoo", "nixos",
	                                  "unmanaged", NULL },
	  .description = "OS type. This is used to setup configuration inside the container, and "
	                 "corresponds to lxc setup scripts in "
	                 "/usr/share/lxc/config/<ostype>.common.conf. Value 'unmanaged' can be "
	                 "used to skip and OS specific setup." },
	{ .name = "parent",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "pve-configid",
	  .max_length = 40,
	  .description = "Parent snapshot name. This is used internally, and should not be "
	                 "modified." },
	{ .name = "protection",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Sets the protection flag of the container. This will prevent the CT or "
	                 "CT's disk remove/update operation." },
	{ .name = "rootfs",
	  .type = API_T_STRING,
	  .optional = true,
	  .props = ct_rootfs_props,
	  .description = "Use volume as container root." },
	{ .name = "searchdomain",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "dns-name-list",
	  .description = "Sets DNS search domains for a container. Create will automatically use "
	                 "the setting from the host if you neither set searchdomain nor "
	                 "nameserver." },
	{ .name = "snaptime",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .description = "Timestamp for snapshots." },
	{ .name = "startup",
	  .type = API_T_STRING,
	  .optional = true,
	  .props = confkey_startup_props,
	  .typetext = "[[order=]\\d+] [,up=\\d+] [,down=\\d+] ",
	  .description = "Startup and shutdown behavior. Order is a non-negative number defining "
	                 "the general startup order. Shutdown in done with reverse ordering." },
	{ .name = "swap",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .default_text = "512",
	  .description = "Amount of SWAP for the container in MB." },
	{ .name = "tags",
	  .type = API_T_STRING,
	  .optional = true,
	  .format = "pve-tag-list",
	  .description = "Tags of the Container. This is only meta information." },
	{ .name = "template",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Enable/disable Template." },
	{ .name = "timezone",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = "[A-Za-z0-9_+/-]+",
	  .max_length = 64,
	  .description = "Time zone to use in the container. If option isn't set, then nothing "
	                 "will be done. Can be set to 'host' to match the host time zone, or an "
	                 "arbitrary time zone option from /usr/share/zoneinfo/zone.tab" },
	{ .name = "tty",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .maximum = 6,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .default_text = "2",
	  .description = "Specify the number of tty available to the container" },
	{ .name = "unprivileged",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Makes the container run as unprivileged user. For creation, the default "
	                 "is 1. For restore, the default is the value from the backup." },
	{ .name = NULL },
};

static const struct api_schema mp_template = {
	.type = API_T_STRING,
	.optional = true,
	.props = ct_mp_props,
	.description = "Use volume as container mount point. Use the special syntax "
	               "STORAGE_ID:SIZE_IN_GiB to allocate a new volume.",
};
static const struct api_schema net_template = {
	.type = API_T_STRING,
	.optional = true,
	.props = ct_net_props,
	.description = "Specifies network interfaces for the container.",
};
static const struct api_schema unused_template = {
	.type = API_T_STRING,
	.optional = true,
	.props = unused_props,
	.description = "Reference to unused volumes. This is used internally, and should not be "
	               "modified manually.",
};

static const struct confkey_family families[] = {
	{ "mp", CT_MAX_MPS, &mp_template, -1 },
	{ "net", CT_MAX_NETS, &net_template, -1 },
	{ "unused", CT_MAX_UNUSED, &unused_template, -1 },
};

#define N_INDEXED_KEYS (CT_MAX_MPS + CT_MAX_NETS + CT_MAX_UNUSED)
static struct api_schema all_keys[ARRAY_SIZE(plain_keys) + N_INDEXED_KEYS];
static char indexed_names[N_INDEXED_KEYS][CONFKEY_NAME_MAX];
static struct confkeys keys = { plain_keys, families, ARRAY_SIZE(families), all_keys,
	                        indexed_names };

const struct api_schema *
ct_config_schema(void)
{
	return confkeys_all(&keys);
}

const struct api_schema *
ct_key_schema(const char *key)
{
	return confkeys_find(&keys, key);
}

bool
ct_is_volume_key(const char *key)
{
	return streq(key, "rootfs") || confkey_index(key, "mp", CT_MAX_MPS, NULL);
}

bool
ct_is_net_key(const char *key, unsigned *ret_index)
{
	return confkey_index(key, "net", CT_MAX_NETS, ret_index);
}

/* ---- typed view ---- */

static char *
opt_str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? xstrdup(v) : NULL;
}

static bool
opt_bool(json_t *o, const char *key, bool def)
{
	json_t *v = json_object_get(o, key);
	return v ? json_integer_value(v) != 0 : def;
}

static int
parse_props(const struct api_schema *props, const char *key, const char *value, json_t **ret,
            struct error *err)
{
	_cleanup_(sb_freep) struct strbuf why = { 0 };
	if (propstr_parse(props, value, key, ret, &why) < 0) {
		/* one line: PVE's multi-line "format error" becomes "; "-joined */
		char *s = why.buf ? why.buf : (char *)"invalid value";
		size_t len = strlen(s);
		while (len && s[len - 1] == '\n')
			s[--len] = '\0';
		for (char *p = s; *p; p++)
			if (*p == '\n')
				*p = ' ';
		return error_set_status(err, 400, EINVAL, "%s: %s", key, s);
	}
	return 0;
}

void
ct_mount_done(struct ct_mount *m)
{
	if (!m)
		return;
	free(m->volume);
	free(m->mp);
	free(m->mountoptions);
	*m = (struct ct_mount){ 0 };
}

int
ct_mount_parse(const char *key, const char *value, struct ct_mount *ret, struct error *err)
{
	bool rootfs = streq(key, "rootfs");
	_cleanup_(json_decrefp) json_t *o = NULL;
	int r = parse_props(rootfs ? ct_rootfs_props : ct_mp_props, key, value, &o, err);
	if (r < 0)
		return r;
	struct ct_mount m = { 0 };
	snprintf(m.key, sizeof(m.key), "%s", key);
	m.volume = opt_str(o, "volume");
	m.mp = rootfs ? xstrdup("/") : opt_str(o, "mp");
	if (!m.mp) {
		ct_mount_done(&m);
		return error_set_status(err, 400, EINVAL, "%s: missing property - 'mp'", key);
	}
	if (!rootfs && m.mp[0] != '/') {
		ct_mount_done(&m);
		return error_set_status(err, 400, EINVAL,
		                        "%s: mount point '%s' is not an absolute path", key, value);
	}
	const char *size = json_string_value(json_object_get(o, "size"));
	if (size && size_parse(size, &m.size) < 0) {
		ct_mount_done(&m);
		return error_set_status(err, 400, EINVAL, "%s: invalid size '%s'", key, size);
	}
	m.ro = opt_bool(o, "ro", false);
	m.backup = opt_bool(o, "backup", false);
	m.quota = opt_bool(o, "quota", false);
	m.acl_set = json_object_get(o, "acl") != NULL;
	m.acl = opt_bool(o, "acl", false);
	m.shared = opt_bool(o, "shared", false);
	m.mountoptions = opt_str(o, "mountoptions");
	if (startswith(m.volume, "/dev/"))
		m.type = CT_MP_DEVICE;
	else if (m.volume[0] == '/')
		m.type = CT_MP_BIND;
	else
		m.type = CT_MP_VOLUME;
	if (rootfs && m.type != CT_MP_VOLUME) {
		ct_mount_done(&m);
		return error_set_status(err, 400, EINVAL,
		                        "rootfs: a root file system must be a storage volume");
	}
	*ret = m;
	return 0;
}

char *
ct_mount_print(const struct ct_mount *m)
{
	bool rootfs = streq(m->key, "rootfs");
	_cleanup_(json_decrefp) json_t *o = json_pack("{s:s}", "volume", m->volume);
	if (!rootfs)
		json_object_set_new(o, "mp", json_string(m->mp));
	if (m->size) {
		_cleanup_free_ char *s = size_format(m->size);
		json_object_set_new(o, "size", json_string(s));
	}
	if (m->ro)
		json_object_set_new(o, "ro", json_integer(1));
	if (!rootfs && m->backup)
		json_object_set_new(o, "backup", json_integer(1));
	if (m->quota)
		json_object_set_new(o, "quota", json_integer(1));
	if (m->acl_set)
		json_object_set_new(o, "acl", json_integer(m->acl));
	if (m->shared)
		json_object_set_new(o, "shared", json_integer(1));
	if (m->mountoptions)
		json_object_set_new(o, "mountoptions", json_string(m->mountoptions));
	return propstr_print(rootfs ? ct_rootfs_props : ct_mp_props, o);
}

void
ct_net_done(struct ct_net *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->bridge);
	free(n->hwaddr);
	free(n->ip);
	free(n->gw);
	free(n->ip6);
	free(n->gw6);
	free(n->trunks);
	*n = (struct ct_net){ 0 };
}

int
ct_net_parse(const char *key, const char *value, struct ct_net *ret, struct error *err)
{
	unsigned index = 0;
	if (!ct_is_net_key(key, &index))
		return error_set_status(err, 400, EINVAL, "%s: not a network key", key);
	_cleanup_(json_decrefp) json_t *o = NULL;
	int r = parse_props(ct_net_props, key, value, &o, err);
	if (r < 0)
		return r;
	struct ct_net n = { .index = index };
	n.name = opt_str(o, "name");
	n.bridge = opt_str(o, "bridge");
	n.hwaddr = opt_str(o, "hwaddr");
	n.ip = opt_str(o, "ip");
	n.gw = opt_str(o, "gw");
	n.ip6 = opt_str(o, "ip6");
	n.gw6 = opt_str(o, "gw6");
	n.trunks = opt_str(o, "trunks");
	n.mtu = (unsigned)json_integer_value(json_object_get(o, "mtu"));
	n.tag = (unsigned)json_integer_value(json_object_get(o, "tag"));
	json_t *rate = json_object_get(o, "rate");
	n.rate = rate ? json_number_value(rate) : 0;
	n.firewall = opt_bool(o, "firewall", false);
	n.link_down = opt_bool(o, "link_down", false);
	*ret = n;
	return 0;
}

char *
ct_net_print(const struct ct_net *n)
{
	_cleanup_(json_decrefp) json_t *o =
	        json_pack("{s:s, s:s}", "name", n->name, "type", "veth");
#define SET_STR(k, v)                                                                              \
	do {                                                                                       \
		if (v)                                                                             \
			json_object_set_new(o, k, json_string(v));                                 \
	} while (0)
	SET_STR("bridge", n->bridge);
	SET_STR("hwaddr", n->hwaddr);
	SET_STR("ip", n->ip);
	SET_STR("gw", n->gw);
	SET_STR("ip6", n->ip6);
	SET_STR("gw6", n->gw6);
	SET_STR("trunks", n->trunks);
#undef SET_STR
	if (n->mtu)
		json_object_set_new(o, "mtu", json_integer(n->mtu));
	if (n->tag)
		json_object_set_new(o, "tag", json_integer(n->tag));
	if (n->rate > 0)
		json_object_set_new(o, "rate", json_real(n->rate));
	if (n->firewall)
		json_object_set_new(o, "firewall", json_integer(1));
	if (n->link_down)
		json_object_set_new(o, "link_down", json_integer(1));
	return propstr_print(ct_net_props, o);
}

void
ct_config_free(struct ct_config *c)
{
	if (!c)
		return;
	free(c->hostname);
	free(c->arch);
	free(c->ostype);
	free(c->nameserver);
	free(c->searchdomain);
	free(c->lock);
	free(c->tags);
	free(c->description);
	free(c->startup);
	free(c->cmode);
	free(c->timezone);
	free(c->entrypoint);
	ct_mount_done(&c->rootfs);
	for (size_t i = 0; i < c->n_mps; i++)
		ct_mount_done(&c->mps[i]);
	free(c->mps);
	for (size_t i = 0; i < c->n_nets; i++)
		ct_net_done(&c->nets[i]);
	free(c->nets);
	free(c->features.mount);
	for (size_t i = 0; i < c->n_raw; i++) {
		free(c->raw[i].key);
		free(c->raw[i].value);
	}
	free(c->raw);
	free(c);
}

static int
cmp_mount(const void *a, const void *b)
{
	const struct ct_mount *x = a, *y = b;
	return atoi(x->key + 2) - atoi(y->key + 2);
}

static int
cmp_mount_path(const void *a, const void *b, void *mps)
{
	const struct ct_mount *m = mps;
	return strcmp(m[*(const size_t *)a].mp, m[*(const size_t *)b].mp);
}

size_t *
ct_mount_order(const struct ct_config *c)
{
	if (c->n_mps == 0)
		return NULL;
	size_t *order = xcalloc(c->n_mps, sizeof(*order));
	for (size_t i = 0; i < c->n_mps; i++)
		order[i] = i;
	qsort_r(order, c->n_mps, sizeof(*order), cmp_mount_path, c->mps);
	return order;
}

/* The length of path without trailing slashes */
static size_t
trimmed_len(const char *path)
{
	size_t n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	return n;
}

ssize_t
ct_mount_parent(const struct ct_config *c, size_t i)
{
	const char *mine = c->mps[i].mp;
	ssize_t best = -1;
	size_t best_len = 0;
	for (size_t j = 0; j < c->n_mps; j++) {
		const char *p = c->mps[j].mp;
		size_t n = trimmed_len(p);
		if (j == i || n == 0 || n <= best_len || strncmp(mine, p, n) != 0 || mine[n] != '/')
			continue;
		size_t rest = strspn(mine + n, "/");
		if (mine[n + rest] == '\0')
			continue; /* the same path spelled with more slashes */
		best = (ssize_t)j;
		best_len = n;
	}
	return best;
}

static int
cmp_net(const void *a, const void *b)
{
	const struct ct_net *x = a, *y = b;
	return (int)x->index - (int)y->index;
}

/* Check one value against its key's schema; the typed value in *ret. */
static int
check_value(const struct api_schema *s, const char *key, const char *value, json_t **ret,
            struct error *err)
{
	_cleanup_(json_decrefp) json_t *errors = json_object();
	_cleanup_(json_decrefp) json_t *v = json_string(value);
	if (schema_check_value(s, key, v, ret, errors) < 0) {
		const char *msg = json_string_value(json_object_get(errors, key));
		if (!msg) {
			const char *k;
			json_t *e;
			json_object_foreach (errors, k, e) {
				msg = json_string_value(e);
				break;
			}
		}
		return error_set_status(err, 400, EINVAL, "%s: %s", key,
		                        msg ? msg : "invalid value");
	}
	return 0;
}

int
ct_config_from_section(const struct guestconf_section *s, unsigned vmid, struct ct_config **ret,
                       struct error *err)
{
	struct ct_config *c = xcalloc(1, sizeof(*c));
	int r = 0;
	c->vmid = vmid;
	c->memory = 512;
	c->swap = 512;
	c->tty = 2;
	c->console = true;
	if (s->description)
		c->description = xstrdup(s->description);

	for (size_t i = 0; i < s->n_items; i++) {
		const char *key = s->items[i].key, *value = s->items[i].value;
		const struct api_schema *sch = ct_key_schema(key);
		if (!sch) {
			r = error_set_status(err, 400, EINVAL, "%s: unknown configuration key",
			                     key);
			goto fail;
		}
		if (streq(key, "rootfs")) {
			r = ct_mount_parse(key, value, &c->rootfs, err);
			if (r < 0)
				goto fail;
			c->has_rootfs = true;
			continue;
		}
		if (ct_is_volume_key(key)) {
			struct ct_mount m;
			r = ct_mount_parse(key, value, &m, err);
			if (r < 0)
				goto fail;
			c->mps = xrealloc(c->mps, (c->n_mps + 1) * sizeof(*c->mps));
			c->mps[c->n_mps++] = m;
			continue;
		}
		if (ct_is_net_key(key, NULL)) {
			struct ct_net n;
			r = ct_net_parse(key, value, &n, err);
			if (r < 0)
				goto fail;
			c->nets = xrealloc(c->nets, (c->n_nets + 1) * sizeof(*c->nets));
			c->nets[c->n_nets++] = n;
			continue;
		}
		if (startswith(key, "unused"))
			continue;
		if (streq(key, "features")) {
			_cleanup_(json_decrefp) json_t *o = NULL;
			r = parse_props(ct_features_props, key, value, &o, err);
			if (r < 0)
				goto fail;
			c->features.nesting = opt_bool(o, "nesting", false);
			c->features.keyctl = opt_bool(o, "keyctl", false);
			c->features.fuse = opt_bool(o, "fuse", false);
			c->features.mknod = opt_bool(o, "mknod", false);
			c->features.force_rw_sys = opt_bool(o, "force_rw_sys", false);
			c->features.mount = opt_str(o, "mount");
			continue;
		}
		_cleanup_(json_decrefp) json_t *v = NULL;
		r = check_value(sch, key, value, &v, err);
		if (r < 0)
			goto fail;
		int64_t iv = json_is_integer(v) ? json_integer_value(v) : 0;
		if (streq(key, "hostname"))
			c->hostname = xstrdup(value);
		else if (streq(key, "arch"))
			c->arch = xstrdup(value);
		else if (streq(key, "ostype"))
			c->ostype = xstrdup(value);
		else if (streq(key, "nameserver"))
			c->nameserver = xstrdup(value);
		else if (streq(key, "searchdomain"))
			c->searchdomain = xstrdup(value);
		else if (streq(key, "lock"))
			c->lock = xstrdup(value);
		else if (streq(key, "tags"))
			c->tags = xstrdup(value);
		else if (streq(key, "startup"))
			c->startup = xstrdup(value);
		else if (streq(key, "cmode"))
			c->cmode = xstrdup(value);
		else if (streq(key, "timezone"))
			c->timezone = xstrdup(value);
		else if (streq(key, "entrypoint"))
			c->entrypoint = xstrdup(value);
		else if (streq(key, "description")) {
			free(c->description);
			c->description = xstrdup(value);
		} else if (streq(key, "cores"))
			c->cores = (unsigned)iv;
		else if (streq(key, "cpulimit"))
			c->cpulimit = json_number_value(v);
		else if (streq(key, "cpuunits"))
			c->cpuunits = (unsigned)iv;
		else if (streq(key, "memory"))
			c->memory = (uint64_t)iv;
		else if (streq(key, "swap"))
			c->swap = (uint64_t)iv;
		else if (streq(key, "tty"))
			c->tty = (unsigned)iv;
		else if (streq(key, "unprivileged"))
			c->unprivileged = iv != 0;
		else if (streq(key, "onboot"))
			c->onboot = iv != 0;
		else if (streq(key, "template"))
			c->template = iv != 0;
		else if (streq(key, "console"))
			c->console = iv != 0;
		else if (streq(key, "protection"))
			c->protection = iv != 0;
		else if (streq(key, "debug"))
			c->debug = iv != 0;
		/* parent, snaptime: snapshot bookkeeping, not needed in the typed view */
	}
	if (c->n_mps)
		qsort(c->mps, c->n_mps, sizeof(*c->mps), cmp_mount);
	if (c->n_nets)
		qsort(c->nets, c->n_nets, sizeof(*c->nets), cmp_net);
	for (size_t i = 0; i < s->n_raw; i++) {
		c->raw = xrealloc(c->raw, (c->n_raw + 1) * sizeof(*c->raw));
		c->raw[c->n_raw].key = xstrdup(s->raw[i].key);
		c->raw[c->n_raw++].value = xstrdup(s->raw[i].value);
	}
	*ret = c;
	return 0;
fail:
	ct_config_free(c);
	return r;
}
