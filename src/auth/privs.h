/* Privileges and Proxmox VE's built-in roles, as data. A set of privileges is a bit mask. */
#pragma once

#include "basic/macros.h"

#include <stdint.h>

typedef uint64_t privset_t;

/* Number of known privileges (Proxmox VE 8/9 names: VM.Allocate, Sys.Audit, ...). */
unsigned priv_count(void);
/* Name of privilege i (0 <= i < priv_count()). */
const char *priv_name(unsigned i);
/* Index of a privilege name, or -1 when unknown. */
int priv_lookup(const char *name);
/* The bit of a privilege name; 0 when unknown. */
privset_t priv_bit(const char *name);
/* Every known privilege. */
privset_t priv_all(void);

/* Parse "VM.Audit,VM.Console" (separators , ; space, as PVE's split_list). Unknown names
 * make it return -EINVAL and set *ret_bad to the first unknown name (static storage is not
 * used: it points into a buffer the caller frees with free()). */
int privset_parse(const char *list, privset_t *ret, char **ret_bad);
/* "A,B,C" in the canonical (table) order; caller frees. */
char *privset_format(privset_t set);

struct builtin_role {
	const char *id;
	privset_t privs;
	bool special; /* reported as special=1 by /access/roles (built-in) */
};

/* The built-in roles (Administrator, NoAccess, PVEAdmin, PVEAuditor, PVEVMAdmin, ...),
 * computed once from Proxmox's privilege buckets. */
const struct builtin_role *builtin_roles(unsigned *ret_count);
const struct builtin_role *builtin_role_lookup(const char *id);
