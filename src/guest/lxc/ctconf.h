/* A container's config: the keys of Proxmox VE's pct.conf as schema data (for API validation
 * and for reading config files), and the typed view the driver works with. Pure. */
#pragma once

#include "basic/error.h"
#include "guest/guestconf.h"
#include "schema/schema.h"

#include <stdbool.h>
#include <stdint.h>

#define CT_MAX_NETS   32
#define CT_MAX_MPS    256
#define CT_MAX_UNUSED 256

/* Every key a CT config may hold, as schemas (indexed keys net0..31, mp0..255, unused0..255
 * expanded), NULL-name terminated. Used for config parsing and the API's parameter lists. */
const struct api_schema *ct_config_schema(void);
/* The schema of one config key (net7 → the netN schema); NULL for unknown keys. */
const struct api_schema *ct_key_schema(const char *key);

/* Property-string key lists (for rendering and tests). */
extern const struct api_schema ct_rootfs_props[];
extern const struct api_schema ct_mp_props[];
extern const struct api_schema ct_net_props[];
extern const struct api_schema ct_features_props[];

/* Which volume keys a config can hold: "rootfs", "mp0".."mp255". */
bool ct_is_volume_key(const char *key);
bool ct_is_net_key(const char *key, unsigned *ret_index);

enum ct_mp_type {
	CT_MP_VOLUME, /* a storage volume "<storage>:<name>" */
	CT_MP_BIND,   /* an absolute host path (root only) */
	CT_MP_DEVICE, /* an absolute /dev path (root only) */
};

struct ct_mount {
	char key[8]; /* "rootfs", "mp0" */
	enum ct_mp_type type;
	char *volume;  /* volid or host path */
	char *mp;      /* path inside the CT ("/" for rootfs) */
	uint64_t size; /* bytes, 0 = unknown */
	bool ro, backup, quota, acl_set, acl, shared;
	char *mountoptions; /* "noatime;nodev" or NULL */
};

struct ct_net {
	unsigned index;
	char *name, *bridge, *hwaddr, *ip, *gw, *ip6, *gw6, *trunks;
	unsigned mtu, tag;
	double rate;
	bool firewall, link_down;
};

struct ct_features {
	bool nesting, keyctl, fuse, mknod, force_rw_sys;
	char *mount; /* "nfs;cifs" */
};

struct ct_config {
	unsigned vmid;
	char *hostname, *arch, *ostype, *nameserver, *searchdomain, *lock, *tags, *description,
	        *startup, *cmode, *timezone, *entrypoint;
	unsigned cores;    /* 0 = all */
	double cpulimit;   /* 0 = unlimited */
	unsigned cpuunits; /* 0 = default */
	uint64_t memory;   /* MiB */
	uint64_t swap;     /* MiB */
	unsigned tty;
	bool unprivileged, onboot, template, console, protection, debug;
	struct ct_mount rootfs;
	bool has_rootfs;
	struct ct_mount *mps; /* sorted by index */
	size_t n_mps;
	struct ct_net *nets; /* sorted by index */
	size_t n_nets;
	struct ct_features features;
	struct guestconf_item *raw; /* lxc.* lines, borrowed copies */
	size_t n_raw;
};

/* Read the typed view of one config section (the main one, or a snapshot). Unknown keys and
 * values that do not verify are errors naming the key (PVE refuses to load such a config).
 * vmid comes from the file name. */
int ct_config_from_section(const struct guestconf_section *s, unsigned vmid, struct ct_config **ret,
                           struct error *err);
void ct_config_free(struct ct_config *c);
DEFINE_POINTER_CLEANUP(struct ct_config, ct_config_free)

/* Parse one mount value ("local:101/vm-101-disk-0.raw,size=8G", "/srv/data,mp=/data").
 * key is "rootfs" or "mpN" (mp= is required for mpN). */
int ct_mount_parse(const char *key, const char *value, struct ct_mount *ret, struct error *err);
char *ct_mount_print(const struct ct_mount *m); /* canonical property string; caller frees */
void ct_mount_done(struct ct_mount *m);
/* The indexes of c->mps in mount order (by mount path, so /a comes before /a/b), as PVE's
 * foreach_mountpoint; caller frees. NULL when there are none. */
size_t *ct_mount_order(const struct ct_config *c);
/* The index of the mount point whose path is the closest proper parent of mps[i]'s
 * (component-wise: /a is a parent of /a/b, not of /ab), or -1 when it is the rootfs. */
ssize_t ct_mount_parent(const struct ct_config *c, size_t i);

int ct_net_parse(const char *key, const char *value, struct ct_net *ret, struct error *err);
char *ct_net_print(const struct ct_net *n);
void ct_net_done(struct ct_net *n);
