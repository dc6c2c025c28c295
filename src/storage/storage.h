/* Storage: where guest disks, ISO images, container templates and backups live.
 *
 * A storage is one section of storage.cfg (Proxmox's format): a type ("dir", "btrfs") and
 * its properties. Each type is a const table of operations with a capability table
 * (struct storage_type); code outside src/storage/<type>.c never switches on a type's name,
 * it asks the table.
 *
 * Volume ids are Proxmox's: "<storage>:<volname>" where volname is
 *     iso/<file>.iso|.img          vztmpl/<file>.tar[.gz|.xz|.zst|.bz2]
 *     backup/<file>                snippets/<file>              import/<file>
 *     <vmid>/<disk>                a guest volume: vm-100-disk-0.qcow2, base-100-disk-0.raw,
 *                                  subvol-101-disk-0.subvol (a directory)
 *     <basevmid>/<base>/<vmid>/<disk>   a linked clone of base image <base>
 *
 * The operations run in task workers and helper processes (they block, fork qemu-img, mount);
 * never inside the root daemon's event loop. Errors fill a struct error with a message a user
 * can act on ("volume 'local:100/vm-100-disk-0.qcow2' does not exist"). */
#pragma once

#include "basic/error.h"
#include "basic/macros.h"

#include <jansson.h>
#include <stdint.h>

/* ---- content types and formats ---- */

enum storage_content {
	CONTENT_IMAGES = 1u << 0,   /* VM disks */
	CONTENT_ROOTDIR = 1u << 1,  /* container volumes */
	CONTENT_ISO = 1u << 2,      /* iso/ */
	CONTENT_VZTMPL = 1u << 3,   /* vztmpl/ */
	CONTENT_BACKUP = 1u << 4,   /* backup/ */
	CONTENT_SNIPPETS = 1u << 5, /* snippets/ */
	CONTENT_IMPORT = 1u << 6,   /* import/ */
	CONTENT_NONE = 1u << 7,     /* "none": the storage holds nothing (PVE allows it) */
};
#define CONTENT_ALL 0x7fu

/* "images" -> CONTENT_IMAGES; 0 when unknown. */
unsigned storage_content_parse_one(const char *name);
/* "iso,vztmpl" -> mask; -EINVAL (err names the bad word) on an unknown type or empty list. */
int storage_content_parse(const char *list, unsigned *ret, struct error *err);
/* mask -> "backup,images,iso" (PVE lists them sorted); caller frees. */
char *storage_content_format(unsigned mask);
const char *storage_content_name(unsigned one);

enum volume_format {
	FORMAT_NONE = 0,
	FORMAT_RAW = 1u << 0,
	FORMAT_QCOW2 = 1u << 1,
	FORMAT_VMDK = 1u << 2,
	FORMAT_SUBVOL = 1u << 3, /* a directory (dir) or a btrfs subvolume (btrfs) */
};
const char *volume_format_name(enum volume_format f);  /* "raw"; "" for NONE */
enum volume_format volume_format_parse(const char *s); /* FORMAT_NONE when unknown */

/* ---- volume names (pure) ---- */

#define VOLNAME_MAX 255 /* longest file name we accept, in bytes */

struct volname {
	unsigned content;           /* exactly one CONTENT_* (images for any <vmid>/ volume) */
	char name[VOLNAME_MAX + 1]; /* last path part: vm-100-disk-0.qcow2, x.iso */
	unsigned vmid;              /* owner, 0 when none (iso, vztmpl, snippets, most backups) */
	char base_name[VOLNAME_MAX + 1]; /* linked clone: the base image's name, else "" */
	unsigned base_vmid;              /* linked clone: the base's owner, else 0 */
	bool is_base;                    /* name starts with "base-" */
	enum volume_format format;       /* images: from the extension; others: FORMAT_RAW */
};

/* Parse a volname ("100/vm-100-disk-0.qcow2", "iso/x.iso", ...) with Proxmox's rules; only
 * the characters those rules allow, no "..", no NUL/CR/LF, at most VOLNAME_MAX per part.
 * -EINVAL with "unable to parse directory volume name '...'" (the text PVE gives). */
int volname_parse(const char *volname, struct volname *ret, struct error *err);
/* Render back ("<vmid>/<name>" or "<base_vmid>/<base_name>/<vmid>/<name>" or "<dir>/<name>");
 * caller frees. */
char *volname_format(const struct volname *v);
/* Split "local:iso/x.iso" into storage id and volname (both caller-freed); -EINVAL with
 * "unable to parse volume ID '...'" when there is no ':' or either side is empty/invalid. */
int volid_split(const char *volid, char **ret_storage, char **ret_volname, struct error *err);
/* Is this a valid storage id (PVE's pve-storage-id: [a-z][a-z0-9\-_.]*[a-z0-9], <= 64)? */
bool storage_id_valid(const char *id);
/* Name checks for files that users give (upload target names, template names): PVE's
 * rules per content type (iso: .iso/.img; vztmpl: .tar, .tar.gz|xz|zst|bz2), safe
 * characters only ([A-Za-z0-9._+=-] and no leading '.'). 0, or -EINVAL with
 * "wrong file extension" / "invalid file name". */
int storage_check_filename(unsigned content, const char *name, struct error *err);

/* ---- configuration (storage.cfg) ---- */

struct storage_type;

struct storage {
	char *id;
	const struct storage_type *type;
	char *path;       /* dir, btrfs */
	unsigned content; /* CONTENT_* mask */
	bool shared;
	bool disabled;
	char *nodes;                       /* "a,b" or NULL for all */
	enum volume_format default_format; /* "format" property; 0 = the type's default */
	bool create_base_path; /* create-base-path (default 1): mkdir -p path on activate */
	bool create_subdirs;   /* create-subdirs (default 1): images/, template/iso, ... */
	json_t *props;         /* every property as stored (strings), for the config view */
};

struct storage_config {
	struct storage *list;
	size_t n;
};

/* Build a storage from its type name, id and properties (strings, as storage.cfg holds them;
 * as the API receives them), checking every property: unknown or misplaced properties,
 * bad values, CR/LF, a missing path. -EINVAL with "<property>: <what is wrong>". */
int storage_from_props(const char *type, const char *id, json_t *props, struct storage *ret,
                       struct error *err);
void storage_done(struct storage *s);

/* Parse storage.cfg text. Sections of unknown types or with invalid properties are skipped
 * with a warning (as PVE does) into *warnings (NULL-terminated, may be NULL; caller frees
 * each). */
int storage_config_parse(const char *text, struct storage_config **ret, char ***warnings,
                         struct error *err);
void storage_config_free(struct storage_config *cfg);
const struct storage *storage_config_find(const struct storage_config *cfg, const char *id);
/* Is the storage usable on node `node` (not disabled, node in `nodes` if given)? */
bool storage_enabled_on(const struct storage *s, const char *node);

/* ---- types ---- */

enum storage_feature {
	FEATURE_SNAPSHOT, /* snapshot, rollback, delete snapshot */
	FEATURE_CLONE,    /* linked clone of a base volume */
	FEATURE_TEMPLATE, /* turn a volume into a base volume */
	FEATURE_COPY,     /* full copy */
	FEATURE_SPARSEINIT,
	FEATURE_MAX,
};

struct storage_status {
	uint64_t total, used, avail; /* bytes */
	bool active;
};

/* One entry of a content listing (GET .../content). */
struct volume_info {
	char *volid;
	unsigned content; /* one CONTENT_* (rootdir for subvol volumes and CT images, see below) */
	enum volume_format format;
	uint64_t size; /* virtual size for images, file size otherwise */
	uint64_t used; /* bytes used on disk (0 when unknown) */
	unsigned vmid; /* 0 when none */
	int64_t ctime; /* seconds */
	char *parent;  /* linked clone: the backing file as PVE reports it, relative to the
	                * clone's directory ("../100/base-100-disk-0.qcow2"); NULL otherwise */
};
/* Non-image content (iso, vztmpl, backup, snippets) is listed with format FORMAT_NONE: the
 * API derives PVE's "iso"/"tgz"/"vma.zst" from the name. */
void volume_info_free_array(struct volume_info *v, size_t n);
/* Free the members of one volume_info (not the struct itself); accepts NULL. */
void volume_info_done(struct volume_info *v);

struct storage_type {
	const char *name;         /* "dir" */
	unsigned content;         /* content types it can hold */
	unsigned default_content; /* when "content" is not set */
	unsigned formats;         /* image formats it can allocate (FORMAT_* mask) */
	enum volume_format default_format;
	/* container volumes with a size are subvolumes here (btrfs), not raw ext4 images (dir) */
	bool ct_subvol;
	/* feature -> formats (of the current volume) that support it; for snapshots: the formats
	 * that can have snapshots taken */
	unsigned feature_formats[FEATURE_MAX];
	/* properties this type accepts besides the common ones (NULL-terminated) */
	const char *const *props;

	/* Check a parsed section beyond the common rules (e.g. btrfs: path on a btrfs mount). */
	int (*check)(const struct storage *s, struct error *err);
	/* Make the storage usable: check it is there (mount point, btrfs), create the base path
	 * and subdirectories as configured. */
	int (*activate)(const struct storage *s, struct error *err);
	int (*status)(const struct storage *s, struct storage_status *ret, struct error *err);

	/* The host path of a volume (or of its snapshot `snap`, NULL for current). For a btrfs raw
	 * volume it is the disk.raw file inside its subvolume. */
	int (*path)(const struct storage *s, const struct volname *v, const char *snap, char **ret,
	            struct error *err);
	/* Allocate a volume for vmid: fmt one of .formats (or FORMAT_SUBVOL); name NULL = the
	 * next free "vm-<vmid>-disk-<n>" (subvol-<vmid>-disk-<n> for subvol); size in KiB (PVE's
	 * unit for alloc_image; 0 only with FORMAT_SUBVOL). Returns the new volname. An existing
	 * name is -EEXIST "disk image '...' already exists". */
	int (*alloc)(const struct storage *s, unsigned vmid, enum volume_format fmt,
	             const char *name, uint64_t size_kib, char **ret_volname, struct error *err);
	/* Remove a volume and its snapshots. A base volume with linked clones is refused (-EBUSY).
	 */
	int (*free)(const struct storage *s, const struct volname *v, struct error *err);
	/* List volumes: filtered by content mask (0 = all) and vmid (0 = all). */
	int (*list)(const struct storage *s, unsigned content, unsigned vmid,
	            struct volume_info **ret, size_t *ret_n, struct error *err);
	/* Size information of one volume (size, used, format, parent); -ENOENT when missing. */
	int (*info)(const struct storage *s, const struct volname *v, struct volume_info *ret,
	            struct error *err);
	/* Grow to size bytes; shrinking is refused with -EINVAL "shrinking disks is not supported".
	 */
	int (*resize)(const struct storage *s, const struct volname *v, uint64_t size,
	              struct error *err);
	int (*snapshot)(const struct storage *s, const struct volname *v, const char *snap,
	                struct error *err);
	int (*rollback)(const struct storage *s, const struct volname *v, const char *snap,
	                struct error *err);
	int (*snapshot_delete)(const struct storage *s, const struct volname *v, const char *snap,
	                       struct error *err);
	/* Rename vm-X to base-X and make it read-only; returns the new volname. */
	int (*create_base)(const struct storage *s, const struct volname *v, char **ret_volname,
	                   struct error *err);
	/* Linked clone of base volume v for new_vmid (qcow2 with a backing file in the same
	 * storage; a btrfs snapshot); returns the new volname. */
	int (*clone)(const struct storage *s, const struct volname *v, unsigned new_vmid,
	             char **ret_volname, struct error *err);
	/* Give volume v to target_vmid (PVE's rename_volume): it becomes the next free
	 * vm-<target>-disk-<n> of its format; a linked clone keeps its base. NULL: the type
	 * cannot. Returns the new volname. */
	int (*rename)(const struct storage *s, const struct volname *v, unsigned target_vmid,
	              char **ret_volname, struct error *err);
};

/* All types, NULL-terminated. */
extern const struct storage_type *const storage_types[];
const struct storage_type *storage_type_find(const char *name);
/* Does volume v on s support feature f in its current state? As PVE's feature table:
 * FEATURE_CLONE only for a base volume, FEATURE_TEMPLATE only for one that is not a base yet;
 * otherwise the volume's format must be in the type's feature_formats[f]. */
bool storage_has_feature(const struct storage *s, const struct volname *v, enum storage_feature f);

/* ---- operations on volume ids (they look the storage up and dispatch to its type) ---- */

/* A request for a new volume in a disk or mount point value: "<storage>:<GiB>" or "<GiB>"
 * (on def_storage), the size as PVE's (\d+(\.\d+)?). False for anything else (an existing
 * volume, a path). *ret_sid is allocated. */
bool storage_alloc_request(const char *value, const char *def_storage, char **ret_sid,
                           double *ret_gib);

/* Resolve a volid against cfg: the storage and the parsed volname. -ENOENT "storage 'x' does
 * not exist"; -EINVAL for a volname this storage's type cannot hold. */
int storage_resolve(const struct storage_config *cfg, const char *volid,
                    const struct storage **ret_s, struct volname *ret_v, struct error *err);
/* Activate / query storage `sid` (the type's activate and status ops). */
int storage_activate(const struct storage_config *cfg, const char *sid, struct error *err);
int storage_status(const struct storage_config *cfg, const char *sid, struct storage_status *ret,
                   struct error *err);
/* The type's info op for one volume id (volid in ret is the full "<sid>:<volname>"). */
int storage_info(const struct storage_config *cfg, const char *volid, struct volume_info *ret,
                 struct error *err);
/* The type's list op on storage `sid` (content mask 0 = all, vmid 0 = all), sorted by volid. */
int storage_list(const struct storage_config *cfg, const char *sid, unsigned content, unsigned vmid,
                 struct volume_info **ret, size_t *ret_n, struct error *err);
int storage_path(const struct storage_config *cfg, const char *volid, char **ret,
                 struct error *err);
/* Allocate on storage `sid`; returns the full volid. size in KiB as for the type op. */
int storage_alloc(const struct storage_config *cfg, const char *sid, unsigned vmid,
                  enum volume_format fmt, const char *name, uint64_t size_kib, char **ret_volid,
                  struct error *err);
int storage_free(const struct storage_config *cfg, const char *volid, struct error *err);
int storage_resize(const struct storage_config *cfg, const char *volid, uint64_t size,
                   struct error *err);
int storage_snapshot(const struct storage_config *cfg, const char *volid, const char *snap,
                     struct error *err);
int storage_rollback(const struct storage_config *cfg, const char *volid, const char *snap,
                     struct error *err);
int storage_snapshot_delete(const struct storage_config *cfg, const char *volid, const char *snap,
                            struct error *err);
int storage_create_base(const struct storage_config *cfg, const char *volid, char **ret_volid,
                        struct error *err);
/* Give a VM disk to another VM (move_disk target-vmid); 400 "Storage does not support moving
 * of this disk to another VM" where the type or the volume cannot. */
int storage_rename(const struct storage_config *cfg, const char *volid, unsigned target_vmid,
                   char **ret_volid, struct error *err);
bool storage_can_rename(const struct storage_config *cfg, const char *volid);
int storage_clone(const struct storage_config *cfg, const char *volid, unsigned new_vmid,
                  char **ret_volid, struct error *err);
/* Full copy of volid to storage `target_sid` for vmid in format fmt (0 = the target's
 * default; subvol stays subvol); progress lines go to progress(pct, userdata) when given. */
int storage_copy(const struct storage_config *cfg, const char *volid, const char *target_sid,
                 unsigned vmid, enum volume_format fmt, char **ret_volid,
                 void (*progress)(unsigned pct, void *userdata), void *userdata, struct error *err);

/* The format of a new container volume of size_kib on storage sid: a subvolume/directory
 * where the type prefers them or the size is 0, else a raw image (to get an ext4 file system).
 * FORMAT_NONE (with err) when the storage does not exist or cannot hold container volumes. */
enum volume_format storage_ct_format(const struct storage_config *cfg, const char *sid,
                                     uint64_t size_kib, struct error *err);

/* Container volumes: mount a raw ext4 image (loop device) or bind-mount a subvol/directory at
 * target (an existing directory); umount undoes it (the loop device goes with it). */
int storage_mount(const struct storage_config *cfg, const char *volid, const char *target,
                  struct error *err);
int storage_umount(const char *target, struct error *err);
/* Make a fresh raw image an ext4 filesystem (mkfs.ext4 with PVE's options). */
int storage_mkfs(const char *path, struct error *err);
/* As storage_mkfs with the root directory owned by uid:gid (an unprivileged container's
 * mapped root, 100000:100000). */
int storage_mkfs_owner(const char *path, unsigned uid, unsigned gid, struct error *err);

/* ---- images: qemu-img with the format always named ---- */

struct image_info {
	enum volume_format format; /* as declared by the caller, never guessed */
	uint64_t virtual_size;
	uint64_t actual_size;
	char *backing_file; /* NULL when none */
	char *data_file;    /* qcow2 external data file, NULL when none */
};
/* `qemu-img info -f <fmt> --output=json` (never without -f). When untrusted, any backing file
 * or data file is refused (-EPERM "image has a backing file" / "... data-file"): uploads and
 * imports must not reach host files. */
int image_info(const char *path, enum volume_format fmt, bool untrusted, struct image_info *ret,
               struct error *err);
void image_info_done(struct image_info *i);
