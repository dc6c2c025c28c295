/* Guest config files in Proxmox VE's text format (qemu-server/<vmid>.conf and
 * lxc/<vmid>.conf): "key: value" lines, the description as leading '#' lines, a pending
 * section, snapshot sections, and for containers raw "lxc.*" lines. Pure: text in, data out,
 * data in, text out. What the keys mean is the drivers' business (guest/lxc/, guest/qemu/).
 *
 * The rules are PVE's parse_pct_config / write_pct_config (LXC) and parse_vm_config /
 * write_vm_config (QEMU); see reference/proxmox-api.md §4.1. */
#pragma once

#include "basic/error.h"

#include <stdbool.h>
#include <stddef.h>

enum guestconf_kind {
	GUESTCONF_LXC,  /* keys ^[a-z][a-z_]*\d*$, raw lxc.* lines, pending section [pve:pending] */
	GUESTCONF_QEMU, /* keys ^[a-z][a-z_-]*\d*$, pending section [PENDING], [special:*] sections
	                 */
};

struct guestconf_item {
	char *key;
	char *value;
};

enum guestconf_section_kind {
	GUESTCONF_SECTION_MAIN,
	GUESTCONF_SECTION_PENDING,
	GUESTCONF_SECTION_SNAPSHOT,
	GUESTCONF_SECTION_SPECIAL, /* QEMU [special:<name>], kept as they are */
};

struct guestconf_section {
	enum guestconf_section_kind kind;
	char *name;        /* snapshot or special name; NULL for main and pending */
	char *description; /* decoded '#' lines joined with "\n" (or a description: line); NULL */
	/* ordinary keys in file order, each key at most once (a repeated key: the last wins) */
	struct guestconf_item *items;
	size_t n_items;
	/* LXC raw "lxc.*" lines in file order; keys may repeat (lxc.mount.entry, ...) */
	struct guestconf_item *raw;
	size_t n_raw;
};

struct guestconf {
	enum guestconf_kind kind;
	struct guestconf_section main;
	struct guestconf_section *pending;   /* NULL when there is no pending section */
	struct guestconf_section *snapshots; /* in file order */
	size_t n_snapshots;
	struct guestconf_section *specials; /* QEMU only */
	size_t n_specials;
};

/* Parse a config file. `what` names the file in messages ("nodes/pve/lxc/101.conf").
 * Errors (-EINVAL, with PVE's text where it has one): a line that is neither a key line, a
 * '#' line, a section header nor blank ("unable to parse config line"), a section header with
 * an invalid name, a duplicate snapshot section. Empty text is an empty config. */
int guestconf_parse(enum guestconf_kind kind, const char *text, const char *what,
                    struct guestconf **ret, struct error *err);

/* The canonical text: description first as '#' lines (control characters, high-bit bytes,
 * ':' and '%' percent-encoded as PVE's encode_text), then keys sorted bytewise, then raw
 * lxc.* lines in their order; then the pending section, special sections, snapshot sections
 * sorted by name, each after a blank line. Snapshot sections carry their description the same
 * way. -EINVAL (key named in err) if a key or value contains CR or LF or a key is invalid. */
int guestconf_format(const struct guestconf *c, char **ret, struct error *err);

struct guestconf *guestconf_new(enum guestconf_kind kind);
void guestconf_free(struct guestconf *c);
DEFINE_POINTER_CLEANUP(struct guestconf, guestconf_free)
/* A deep copy (for snapshot sections and for building a new version before writing). */
struct guestconf *guestconf_dup(const struct guestconf *c);

/* Items of one section. get returns NULL when absent. set replaces or adds (-EINVAL on CR/LF
 * in the value or an invalid key); unset returns 0 if removed, -ENOENT if absent. */
const char *guestconf_get(const struct guestconf_section *s, const char *key);
int guestconf_set(struct guestconf_section *s, const char *key, const char *value);
int guestconf_unset(struct guestconf_section *s, const char *key);
/* Replace the description (NULL removes it). -EINVAL on NUL bytes only; newlines are fine. */
int guestconf_set_description(struct guestconf_section *s, const char *text);
/* Append a raw lxc.* line. */
int guestconf_add_raw(struct guestconf_section *s, const char *key, const char *value);

/* The pending section, created empty when absent (never NULL unless out of memory). */
struct guestconf_section *guestconf_pending(struct guestconf *c);
/* Drop the pending section when it holds nothing (no items, no delete list). */
void guestconf_prune_pending(struct guestconf *c);

/* The pending "delete:" list ("key1,!key2": '!' = forced), PVE's parse_pending_delete. */
bool guestconf_pending_delete_has(const struct guestconf *c, const char *key, bool *ret_force);
/* Mark key for deletion at the next start; any pending value of it goes. */
int guestconf_pending_delete_add(struct guestconf *c, const char *key, bool force);
int guestconf_pending_delete_remove(struct guestconf *c, const char *key);

/* Move pending changes into the main section (PVE's vmconfig_apply_pending): values set,
 * deletions done, the pending description taken; only the keys in `only` (NULL-terminated;
 * NULL: all of them). The pending section is dropped once empty. True when anything moved. */
bool guestconf_apply_pending(struct guestconf *c, const char *const *only);
/* The keys with a pending deletion ('!' stripped) and the keys with a pending value (not
 * "delete"), NULL-terminated, in the order they are stored; caller frees with strv_free. */
char **guestconf_pending_delete_keys(const struct guestconf *c);
char **guestconf_pending_set_keys(const struct guestconf *c);

/* The MAC of a guest NIC (caller frees): the one it kept (a copy of `kept`), or when NULL a
 * new one in Proxmox's BC:24:11 prefix (PVE's default mac_prefix), from the kernel's RNG. */
char *guestconf_nic_mac(const char *kept);

/* Put volume into the first free unusedN (N below max) of s; nothing when it is there
 * already. -ENOSPC when every unusedN is taken. */
int guestconf_add_unused(struct guestconf_section *s, const char *volume, unsigned max);
/* Does guest vmid own volid ("<storage>:<vmid>/<name>": the vmid in its path, as PVE's
 * vm_is_volid_owner)? Only such volumes are ever freed by a config change. */
bool guestconf_volume_owned_by(const char *volid, unsigned vmid);

/* Snapshot sections by name (case-insensitive as PVE); NULL when absent. */
struct guestconf_section *guestconf_snapshot(struct guestconf *c, const char *name);
