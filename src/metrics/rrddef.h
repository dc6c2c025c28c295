/* The round-robin databases Berth keeps, as data: for each kind (node, guest, storage) its
 * data sources with Proxmox VE's names and types (pve2-node, pve2-vm, pve2-storage), where each
 * value is found in the live status objects the API already answers, and its Prometheus name;
 * the timeframes rrddata serves, which are also the archives (RRAs) every file has. Pure: the
 * create arguments, update lines and rrddata rows are made here and unit-tested. */
#pragma once

#include "basic/macros.h"

#include <jansson.h>
#include <time.h>

enum rrd_kind { RRD_NODE, RRD_GUEST, RRD_STORAGE, RRD_KINDS };

/* GAUGE: the value as sampled. DERIVE: a counter; the database keeps its rate per second
 * (a counter going down, as a restarted guest's, gives one unknown step, not a spike). */
enum rrd_ds_type { RRD_GAUGE, RRD_DERIVE };

struct rrd_ds {
	const char *name; /* the data source, and the rrddata key */
	enum rrd_ds_type type;
	/* where the value is in the kind's live status object: "cpu", "memory/total",
	 * "loadavg/0" (numbers, or strings holding one) */
	const char *src;
	const char *prom; /* the Prometheus metric */
	const char *help;
};

#define RRD_MAX_DS 16

struct rrd_kind_def {
	const char *dir;      /* the files' directory under <root>/rrd, as PVE names it */
	const char *id_label; /* the Prometheus label naming the object */
	const struct rrd_ds *ds;
	size_t n_ds;
};

const struct rrd_kind_def *rrd_kind_def(enum rrd_kind kind);

/* A timeframe of rrddata, and the pair of archives (AVERAGE, MAX) behind it: rows of `steps`
 * primary steps each. */
struct rrd_timeframe {
	const char *name;
	unsigned steps;
	unsigned rows;
};

extern const char *const rrd_timeframe_names[]; /* NULL-terminated, for the schema */
extern const char *const rrd_cf_names[];        /* "AVERAGE", "MAX" */
const struct rrd_timeframe *rrd_timeframe_find(const char *name);

/* The heartbeat: a value holds for at most this long without a new one (PVE: 120 s). */
static inline unsigned
rrd_heartbeat(unsigned step)
{
	return 2 * step;
}

/* rrd_create's arguments (DS:..., RRA:...) for a file of kind with the primary step given;
 * NULL-terminated, caller frees with rrd_args_free. */
char **rrd_create_args(enum rrd_kind kind, unsigned step);
void rrd_args_free(char **args);

/* rrd_update's argument "<time>:<v1>:<v2>..." for values v (one per data source; NaN is
 * unknown, "U"); caller frees. */
char *rrd_update_line(enum rrd_kind kind, time_t t, const double *v);

/* The kind's values out of a live status object (each data source's src); NaN where absent
 * or not a number. */
void rrd_values_from_json(enum rrd_kind kind, json_t *status, double ret[RRD_MAX_DS]);

/* rrd_fetch's answer as rrddata rows, as PVE's create_rrd_data makes them: [{time, <ds>:
 * <value>, ...}] with row i at start + i * step and unknown values (NaN) left out. data holds
 * n_rows rows of n_ds values. */
json_t *rrd_rows_json(time_t start, unsigned long step, unsigned long n_ds, char *const *names,
                      const double *data, size_t n_rows);
