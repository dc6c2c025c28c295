/* Pure name rules of the btrfs storage type (btrfs.c), exported for its unit tests. */
#pragma once

#include "storage/storage.h"

/* Is directory entry `entry` the snapshot "<subvol>@<snap>" of the subvolume named `subvol`
 * (with a valid snapshot name)? Returns the snapshot name (a pointer into entry) or NULL. */
const char *btrfs_snapshot_of(const char *entry, const char *subvol);

/* What a directory entry of images/<vmid>/ is listed as: FORMAT_RAW for a raw disk's
 * subvolume ("vm-100-disk-0", listed as "vm-100-disk-0.raw"), FORMAT_SUBVOL for
 * "<name>.subvol", FORMAT_QCOW2/FORMAT_VMDK for files; FORMAT_NONE for anything else
 * (snapshots "<name>@<snap>", rollback leftovers "<name>.tmp.<pid>", hidden files). */
enum volume_format btrfs_image_entry_format(const char *entry);

/* The subvolume directory of a raw or subvol volume name: "vm-100-disk-0.raw" ->
 * "vm-100-disk-0", "subvol-100-disk-0.subvol" unchanged. NULL for other formats or a raw name
 * without ".raw". Caller frees. */
char *btrfs_subvol_name(const char *name, enum volume_format fmt);
