/* The key table of a guest config: plain keys plus indexed families (net0..net31,
 * mp0..mp255, scsi0..scsi30), one schema shared by the members of a family. Both drivers
 * (guest/lxc/ctconf, guest/qemu/vmconf) describe their keys this way. */
#pragma once

#include "schema/schema.h"

#include <stdbool.h>
#include <stddef.h>

#define CONFKEY_NAME_MAX 16

struct confkey_family {
	const char *prefix; /* "net" for net0, net1, ... */
	unsigned count;     /* members are <prefix>0 .. <prefix><count-1> */
	const struct api_schema *tmpl;
	int tag; /* the driver's own mark (vmconf: the disk bus), -1 for none */
};

struct confkeys {
	const struct api_schema *plain; /* NULL-name terminated */
	const struct confkey_family *families;
	size_t n_families;
	/* room for the whole list: plain keys + every member + the terminator, and a name per
	 * member; filled on first use (API constructors ask for it in no defined order) */
	struct api_schema *all;
	char (*names)[CONFKEY_NAME_MAX];
};

/* PVE's pve-startup-order property string ("order=1,up=30,down=60"), the same for CTs
 * and VMs. */
extern const struct api_schema confkey_startup_props[];

/* "<prefix><n>" with n < count and no leading zeros; the index in *ret (may be NULL). */
bool confkey_index(const char *key, const char *prefix, unsigned count, unsigned *ret);

/* The family key belongs to, and its index; NULL for plain and unknown keys. */
const struct confkey_family *confkeys_family(const struct confkeys *k, const char *key,
                                             unsigned *ret_index);

/* Every key as one NULL-name terminated list (the API's schema for the config). */
const struct api_schema *confkeys_all(struct confkeys *k);

/* The schema of one key, plain or indexed; NULL when unknown. */
const struct api_schema *confkeys_find(const struct confkeys *k, const char *key);
