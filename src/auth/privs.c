/* The privilege table and the built-in roles derived from Proxmox VE's privilege buckets. */
#include "auth/privs.h"
#include "basic/strbuf.h"

#include <pthread.h>
#include <stdio.h>

/* Sorted by strcmp: the canonical order is then also the order PVE writes role privileges in
 * user.cfg (it sorts names), and lookups can bisect. A unit test checks the order. */
static const char *const priv_names[] = {
	"Datastore.Allocate",
	"Datastore.AllocateSpace",
	"Datastore.AllocateTemplate",
	"Datastore.Audit",
	"Group.Allocate",
	"Mapping.Audit",
	"Mapping.Modify",
	"Mapping.Use",
	"Permissions.Modify",
	"Pool.Allocate",
	"Pool.Audit",
	"Realm.Allocate",
	"Realm.AllocateUser",
	"SDN.Allocate",
	"SDN.Audit",
	"SDN.Use",
	"Sys.AccessNetwork",
	"Sys.Audit",
	"Sys.Console",
	"Sys.Incoming",
	"Sys.Modify",
	"Sys.PowerMgmt",
	"Sys.Syslog",
	"User.Modify",
	"VM.Allocate",
	"VM.Audit",
	"VM.Backup",
	"VM.Clone",
	"VM.Config.CDROM",
	"VM.Config.CPU",
	"VM.Config.Cloudinit",
	"VM.Config.Disk",
	"VM.Config.HWType",
	"VM.Config.Memory",
	"VM.Config.Network",
	"VM.Config.Options",
	"VM.Console",
	"VM.GuestAgent.Audit",
	"VM.GuestAgent.FileRead",
	"VM.GuestAgent.FileSystemMgmt",
	"VM.GuestAgent.FileWrite",
	"VM.GuestAgent.Unrestricted",
	"VM.Migrate",
	"VM.PowerMgmt",
	"VM.Replicate",
	"VM.Snapshot",
	"VM.Snapshot.Rollback",
};

_Static_assert(ARRAY_SIZE(priv_names) <= 64, "privset_t has 64 bits");

/* PVE sorts every privilege of a category into one of four buckets; the built-in roles are
 * unions of buckets (see create_roles in PVE::AccessControl). Keeping the buckets as data
 * means a new privilege lands in the right roles by adding one line. */
struct priv_category {
	const char *name; /* role name infix: PVE<name>Admin, PVE<name>User */
	const char *root[8], *admin[16], *user[16], *audit[8];
};

static const struct priv_category categories[] = {
	{ "VM",
	  { NULL },
	  { "VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network",
	    "VM.Config.HWType", "VM.Config.Options", "VM.Allocate", "VM.Clone",
	    "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.Replicate", "VM.Snapshot",
	    "VM.Snapshot.Rollback" },
	  { "VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup",
	    "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite",
	    "VM.PowerMgmt" },
	  { "VM.Audit", "VM.GuestAgent.Audit" } },
	{ "Sys",
	  { "Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork" },
	  { "Sys.Console", "Sys.Syslog" },
	  { NULL },
	  { "Sys.Audit" } },
	{ "Datastore",
	  { NULL },
	  { "Datastore.Allocate", "Datastore.AllocateTemplate" },
	  { "Datastore.AllocateSpace" },
	  { "Datastore.Audit" } },
	{ "SDN", { NULL }, { "SDN.Allocate", "SDN.Audit" }, { "SDN.Use" }, { "SDN.Audit" } },
	{ "User",
	  { "Realm.Allocate" },
	  { "User.Modify", "Group.Allocate", "Realm.AllocateUser" },
	  { NULL },
	  { NULL } },
	{ "Pool", { NULL }, { "Pool.Allocate" }, { "Pool.Audit" }, { "Pool.Audit" } },
	{ "Mapping", { NULL }, { "Mapping.Modify" }, { "Mapping.Use" }, { "Mapping.Audit" } },
};

unsigned
priv_count(void)
{
	return ARRAY_SIZE(priv_names);
}

const char *
priv_name(unsigned i)
{
	return i < ARRAY_SIZE(priv_names) ? priv_names[i] : NULL;
}

int
priv_lookup(const char *name)
{
	size_t lo = 0, hi = ARRAY_SIZE(priv_names);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, priv_names[mid]);
		if (c == 0)
			return (int)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

privset_t
priv_bit(const char *name)
{
	int i = priv_lookup(name);
	return i < 0 ? 0 : (privset_t)1 << i;
}

privset_t
priv_all(void)
{
	return ARRAY_SIZE(priv_names) == 64 ? ~(privset_t)0
	                                    : ((privset_t)1 << ARRAY_SIZE(priv_names)) - 1;
}

static bool
is_list_separator(char c)
{
	return c == ',' || c == ';' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	       c == '\f' || c == '\v';
}

int
privset_parse(const char *list, privset_t *ret, char **ret_bad)
{
	privset_t set = 0;
	const char *p = list ? list : "";
	while (*p) {
		while (*p && is_list_separator(*p))
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && !is_list_separator(*p))
			p++;
		_cleanup_free_ char *name = xstrndup(start, (size_t)(p - start));
		int i = priv_lookup(name);
		if (i < 0) {
			if (ret_bad)
				*ret_bad = TAKE_PTR(name);
			return -EINVAL;
		}
		set |= (privset_t)1 << i;
	}
	*ret = set;
	return 0;
}

char *
privset_format(privset_t set)
{
	struct strbuf sb = STRBUF_INIT;
	for (unsigned i = 0; i < ARRAY_SIZE(priv_names); i++) {
		if (!(set & ((privset_t)1 << i)))
			continue;
		if (sb.len)
			sb_putc(&sb, ',');
		sb_puts(&sb, priv_names[i]);
	}
	return sb_steal(&sb);
}

#define MAX_BUILTIN_ROLES 24

static struct builtin_role roles[MAX_BUILTIN_ROLES];
static char role_names[MAX_BUILTIN_ROLES][32];
static unsigned n_roles;
static pthread_once_t roles_once = PTHREAD_ONCE_INIT;

static privset_t
bucket_set(const char *const *names, size_t n)
{
	privset_t set = 0;
	for (size_t i = 0; i < n && names[i]; i++) {
		privset_t bit = priv_bit(names[i]);
		/* a bucket naming an unknown privilege is a table bug, not bad input */
		if (!bit)
			abort();
		set |= bit;
	}
	return set;
}

#define BUCKET(c, b) bucket_set((c)->b, ARRAY_SIZE((c)->b))

static void
add_role(const char *id, privset_t privs)
{
	if (n_roles >= MAX_BUILTIN_ROLES || strlen(id) >= sizeof(role_names[0]))
		abort();
	strcpy(role_names[n_roles], id);
	roles[n_roles] = (struct builtin_role){ role_names[n_roles], privs, true };
	n_roles++;
}

static int
role_cmp(const void *a, const void *b)
{
	return strcmp(((const struct builtin_role *)a)->id, ((const struct builtin_role *)b)->id);
}

static void
compute_roles(void)
{
	privset_t pve_admin = 0, auditor = 0, every = priv_bit("Permissions.Modify");
	char id[32];

	for (size_t i = 0; i < ARRAY_SIZE(categories); i++) {
		const struct priv_category *c = &categories[i];
		privset_t admin = BUCKET(c, admin), user = BUCKET(c, user),
		          audit = BUCKET(c, audit);

		snprintf(id, sizeof(id), "PVE%sAdmin", c->name);
		add_role(id, admin | user | audit);
		pve_admin |= admin | user | audit;
		/* categories without user-level privileges get no PVE<cat>User role */
		if (user) {
			snprintf(id, sizeof(id), "PVE%sUser", c->name);
			add_role(id, user | audit);
		}
		auditor |= audit;
		every |= BUCKET(c, root) | admin | user | audit;
	}
	/* every privilege of the table must sit in a bucket (Permissions.Modify stands alone) */
	if (every != priv_all())
		abort();
	/* Mapping.Modify can widen what PCI/USB devices guests reach, so PVE keeps it out of
	 * PVEAdmin (only Administrator and PVEMappingAdmin have it). */
	add_role("PVEAdmin", pve_admin & ~priv_bit("Mapping.Modify"));
	add_role("PVEAuditor", auditor);
	add_role("PVETemplateUser", priv_bit("VM.Clone") | priv_bit("VM.Audit"));
	add_role("NoAccess", 0);
	add_role("Administrator", priv_all());

	qsort(roles, n_roles, sizeof(roles[0]), role_cmp);
}

const struct builtin_role *
builtin_roles(unsigned *ret_count)
{
	pthread_once(&roles_once, compute_roles);
	if (ret_count)
		*ret_count = n_roles;
	return roles;
}

const struct builtin_role *
builtin_role_lookup(const char *id)
{
	unsigned n;
	const struct builtin_role *r = builtin_roles(&n);
	struct builtin_role key = { .id = id };
	return bsearch(&key, r, n, sizeof(r[0]), role_cmp);
}
