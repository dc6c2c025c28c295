/* Helpers shared by the storage types (dir.c, btrfs.c) and the generic operations (ops.c). */
#pragma once

#include "storage/storage.h"

#include <sys/types.h>

extern const struct storage_type storage_type_dir;
extern const struct storage_type storage_type_btrfs;

/* ---- running programs (no shell; argv[0] is looked up in PATH) ---- */

/* Run argv to completion. stdout is captured into *ret_out when given (NUL-terminated,
 * caller frees; discarded otherwise), stderr is captured and, when the program fails, becomes
 * the error message ("<argv0> failed: <stderr>"). stdin is /dev/null. Returns 0 on exit 0,
 * -EIO (or -errno if it could not start) otherwise. */
int run_command(const char *const *argv, char **ret_out, struct error *err);
/* As run_command, but every line (also '\r'-terminated ones) of stdout is handed to
 * line(text, userdata) as it arrives; for progress output (qemu-img convert -p). */
int run_command_lines(const char *const *argv, void (*line)(const char *text, void *userdata),
                      void *userdata, struct error *err);

/* ---- names and directories ---- */

/* The subdirectory of a storage's path for one content type: "images", "template/iso",
 * "template/cache", "dump", "snippets", "import". Container volumes (CONTENT_ROOTDIR) live in
 * "images" too (PVE's dir puts subvol-*.subvol and CT raw images under images/<vmid>/; the
 * "private" directory is the old OpenVZ layout and is not used). NULL for other values. */
const char *storage_subdir_name(unsigned content);
/* "<path>/<subdir>" for one content type; NULL when the storage has no path or content is
 * not a single known type. Caller frees. */
char *storage_subdir(const struct storage *s, unsigned content);
/* "<path>/images/<vmid>"; caller frees. */
char *storage_image_dir(const struct storage *s, unsigned vmid);
/* A snapshot name as PVE accepts it (pve-configid: [A-Za-z][A-Za-z0-9_-]+, at most 40). */
bool storage_snapname_valid(const char *snap);
/* -EINVAL with "invalid snapshot name '...'" unless storage_snapname_valid. */
int storage_check_snapname(const char *snap, struct error *err);

/* The first free "vm-<vmid>-disk-<n>" (or "subvol-<vmid>-disk-<n>" for FORMAT_SUBVOL) in
 * images/<vmid>/ of s, with the format's extension (".raw", ".qcow2", ".vmdk", ".subvol").
 * A number counts as taken when any entry "vm-<vmid>-disk-<n>" / "base-<vmid>-disk-<n>" /
 * "subvol-<vmid>-disk-<n>" exists, with any extension or none (btrfs keeps raw volumes as a
 * subvolume without extension). -ENOSPC after 1000 tries, as Proxmox. */
int dir_find_free_diskname(const struct storage *s, unsigned vmid, enum volume_format fmt,
                           char **ret_name, struct error *err);

/* ---- the dir type's operations, for types that build on it (btrfs inherits qcow2/vmdk,
 * iso, vztmpl, backup, snippets, listing and naming from dir, as PVE's BTRFSPlugin does) ---- */

int dir_check(const struct storage *s, struct error *err);
int dir_activate(const struct storage *s, struct error *err);
int dir_status(const struct storage *s, struct storage_status *ret, struct error *err);
int dir_path(const struct storage *s, const struct volname *v, const char *snap, char **ret,
             struct error *err);
int dir_alloc(const struct storage *s, unsigned vmid, enum volume_format fmt, const char *name,
              uint64_t size_kib, char **ret_volname, struct error *err);
int dir_free(const struct storage *s, const struct volname *v, struct error *err);
int dir_list(const struct storage *s, unsigned content, unsigned vmid, struct volume_info **ret,
             size_t *ret_n, struct error *err);
int dir_info(const struct storage *s, const struct volname *v, struct volume_info *ret,
             struct error *err);
int dir_resize(const struct storage *s, const struct volname *v, uint64_t size, struct error *err);
int dir_snapshot(const struct storage *s, const struct volname *v, const char *snap,
                 struct error *err);
int dir_rollback(const struct storage *s, const struct volname *v, const char *snap,
                 struct error *err);
int dir_snapshot_delete(const struct storage *s, const struct volname *v, const char *snap,
                        struct error *err);
int dir_create_base(const struct storage *s, const struct volname *v, char **ret_volname,
                    struct error *err);
int dir_clone(const struct storage *s, const struct volname *v, unsigned new_vmid,
              char **ret_volname, struct error *err);

/* Does any volume of s have a linked clone of base `base_name` (owner base_vmid)? Scans
 * images/<vmid>/ for qcow2 files whose backing file is ../<base_vmid>/<base_name>. */
int dir_base_has_clones(const struct storage *s, unsigned base_vmid, const char *base_name,
                        bool *ret, struct error *err);

/* ---- qemu-img (image.c); the format is always named ---- */

/* qemu-img create -f fmt [-F backing_fmt -b backing] path size_bytes (size ignored with a
 * backing file when 0). For qcow2, preallocation=metadata is not used (PVE's default is
 * off for dir). */
int image_create(const char *path, enum volume_format fmt, uint64_t size_bytes, const char *backing,
                 enum volume_format backing_fmt, struct error *err);
/* qemu-img resize -f fmt path size_bytes (grow only; the caller checks). */
int image_resize(const char *path, enum volume_format fmt, uint64_t size_bytes, struct error *err);
/* qemu-img snapshot -f qcow2 -c|-a|-d snap path; op is 'c', 'a' or 'd'. */
int image_snapshot(const char *path, char op, const char *snap, struct error *err);
/* qemu-img convert -p -n --target-is-zero -f src_fmt -O dst_fmt src dst: dst is an existing,
 * freshly allocated (all zero) image at least as large as src (progress in percent to
 * progress()). */
int image_convert(const char *src, enum volume_format src_fmt, const char *dst,
                  enum volume_format dst_fmt, void (*progress)(unsigned pct, void *userdata),
                  void *userdata, struct error *err);

/* ---- container volumes (ctvol.c) ---- */

/* Mount the volume at host path `path` (a raw ext4 image: loop device; a directory: bind
 * mount) on target. fmt FORMAT_RAW or FORMAT_SUBVOL. */
int ctvol_mount_path(const char *path, enum volume_format fmt, const char *target,
                     struct error *err);
