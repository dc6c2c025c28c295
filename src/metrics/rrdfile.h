/* The round-robin database files under a daemon root, through Debian's librrd: where they
 * live (<root>/rrd/pve2-node/<node>, pve2-vm/<vmid>, pve2-storage/<node>/<storage>), creating
 * and updating them, reading rrddata rows, and removing those of objects that are gone. Every
 * call does file I/O: the daemon makes them on its thread pool (or in a task worker), never on
 * its loop. Calls in one process are serialised against each other by a read-write lock. */
#pragma once

#include "basic/error.h"
#include "metrics/rrddef.h"

/* The file of object id (node name, vmid, storage id) of kind; node names the storage's node.
 * NULL when id cannot be a file name (empty, '/', a leading '.'). Caller frees. */
char *rrd_file_path(const char *root, enum rrd_kind kind, const char *node, const char *id);

/* Add the values v taken at time t to the file at path, creating it (with the primary step
 * given) when it is missing. An update not newer than the file's last is refused by librrd. */
int rrd_file_update(const char *path, enum rrd_kind kind, unsigned step, time_t t, const double *v,
                    struct error *err);

/* The rows of timeframe tf and consolidation cf ("AVERAGE", "MAX") up to now, as PVE's
 * create_rrd_data answers them (rrd_rows_json). -ENOENT when the file does not exist (no
 * sample yet); errors as PVE's "RRD error: <librrd's message>". */
int rrd_file_fetch(const char *path, const char *cf, const struct rrd_timeframe *tf, unsigned step,
                   time_t now, json_t **ret, struct error *err);

/* Remove the files of kind (storage: of node) whose names are not in keep (NULL-terminated).
 * The number removed. */
int rrd_files_prune(const char *root, enum rrd_kind kind, const char *node, char *const *keep);

/* Remove guest vmid's file (its destroy); absent is fine. */
int rrd_file_remove_guest(const char *root, unsigned vmid);
