/* One sampling round's figures: the node, each guest, each active storage, with the values of
 * their kind's data sources (rrddef.h). Built on the daemon's loop, then shared read-only with
 * the rrd writer on the thread pool and the Prometheus answer; the reference count is touched
 * on the loop only. */
#pragma once

#include "metrics/rrddef.h"

#include <stdbool.h>

struct metrics_entry {
	enum rrd_kind kind;
	char *id;         /* the rrd file's name: node name, vmid, storage id */
	char *guest_type; /* guests: "lxc" or "qemu" */
	char *name;       /* guests: their name */
	bool running;     /* guests */
	double v[RRD_MAX_DS];
};

struct metrics_snapshot {
	time_t time;
	struct metrics_entry *entries;
	size_t n;
	unsigned refs;
};

struct metrics_snapshot *metrics_snapshot_new(time_t t);
/* A new entry, its values unknown (NaN). */
struct metrics_entry *metrics_snapshot_add(struct metrics_snapshot *s, enum rrd_kind kind,
                                           const char *id);
struct metrics_snapshot *metrics_snapshot_ref(struct metrics_snapshot *s);
/* Drop a reference (NULL is fine); always returns NULL. */
struct metrics_snapshot *metrics_snapshot_unref(struct metrics_snapshot *s);
