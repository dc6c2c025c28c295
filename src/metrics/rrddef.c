/* The databases' layout as tables (see rrddef.h), and the pure conversions around librrd. */
#include "metrics/rrddef.h"
#include "basic/strbuf.h"

#include <math.h>
#include <stdlib.h>

/* pve2-node, in PVE's order; src: GET /nodes/{node}/status's object plus netin/netout */
static const struct rrd_ds node_ds[] = {
	{ "loadavg", RRD_GAUGE, "loadavg/0", "berth_node_load1",
	  "Load average over the last minute." },
	{ "maxcpu", RRD_GAUGE, "cpuinfo/cpus", "berth_node_cpus", "Logical CPUs of the node." },
	{ "cpu", RRD_GAUGE, "cpu", "berth_node_cpu_ratio",
	  "CPU in use, as a fraction of all CPUs (0 to 1)." },
	{ "iowait", RRD_GAUGE, "wait", "berth_node_iowait_ratio",
	  "CPU time waiting for I/O, as a fraction of all CPUs (0 to 1)." },
	{ "memtotal", RRD_GAUGE, "memory/total", "berth_node_memory_total_bytes",
	  "Memory of the node." },
	{ "memused", RRD_GAUGE, "memory/used", "berth_node_memory_used_bytes",
	  "Memory in use (total less available)." },
	{ "swaptotal", RRD_GAUGE, "swap/total", "berth_node_swap_total_bytes", "Swap space." },
	{ "swapused", RRD_GAUGE, "swap/used", "berth_node_swap_used_bytes", "Swap space in use." },
	{ "roottotal", RRD_GAUGE, "rootfs/total", "berth_node_rootfs_total_bytes",
	  "Size of the root file system." },
	{ "rootused", RRD_GAUGE, "rootfs/used", "berth_node_rootfs_used_bytes",
	  "Space used on the root file system." },
	{ "netin", RRD_DERIVE, "netin", "berth_node_network_receive_bytes_total",
	  "Bytes received by the physical network interfaces." },
	{ "netout", RRD_DERIVE, "netout", "berth_node_network_transmit_bytes_total",
	  "Bytes sent by the physical network interfaces." },
};

/* pve2-vm, containers and VMs alike; src: their status/current object */
static const struct rrd_ds guest_ds[] = {
	{ "maxcpu", RRD_GAUGE, "cpus", "berth_guest_cpus", "CPUs the guest may use." },
	{ "cpu", RRD_GAUGE, "cpu", "berth_guest_cpu_ratio",
	  "CPU in use, as a fraction of the guest's CPUs (0 to 1)." },
	{ "maxmem", RRD_GAUGE, "maxmem", "berth_guest_memory_max_bytes",
	  "Memory the guest is configured with." },
	{ "mem", RRD_GAUGE, "mem", "berth_guest_memory_bytes", "Memory the guest uses." },
	{ "maxdisk", RRD_GAUGE, "maxdisk", "berth_guest_disk_max_bytes",
	  "Size of the guest's root disk." },
	{ "disk", RRD_GAUGE, "disk", "berth_guest_disk_bytes",
	  "Space used on the guest's root disk." },
	{ "netin", RRD_DERIVE, "netin", "berth_guest_network_receive_bytes_total",
	  "Bytes the guest received on its network interfaces." },
	{ "netout", RRD_DERIVE, "netout", "berth_guest_network_transmit_bytes_total",
	  "Bytes the guest sent on its network interfaces." },
	{ "diskread", RRD_DERIVE, "diskread", "berth_guest_disk_read_bytes_total",
	  "Bytes the guest read from its disks." },
	{ "diskwrite", RRD_DERIVE, "diskwrite", "berth_guest_disk_written_bytes_total",
	  "Bytes the guest wrote to its disks." },
};

/* pve2-storage; src: the storage's /cluster/resources entry */
static const struct rrd_ds storage_ds[] = {
	{ "total", RRD_GAUGE, "maxdisk", "berth_storage_total_bytes", "Size of the storage." },
	{ "used", RRD_GAUGE, "disk", "berth_storage_used_bytes", "Space used on the storage." },
};

static const struct rrd_kind_def kinds[RRD_KINDS] = {
	[RRD_NODE] = { "pve2-node", "node", node_ds, ARRAY_SIZE(node_ds) },
	[RRD_GUEST] = { "pve2-vm", "vmid", guest_ds, ARRAY_SIZE(guest_ds) },
	[RRD_STORAGE] = { "pve2-storage", "storage", storage_ds, ARRAY_SIZE(storage_ds) },
};

_Static_assert(ARRAY_SIZE(node_ds) <= RRD_MAX_DS, "too many node data sources");
_Static_assert(ARRAY_SIZE(guest_ds) <= RRD_MAX_DS, "too many guest data sources");

const struct rrd_kind_def *
rrd_kind_def(enum rrd_kind kind)
{
	return &kinds[kind];
}

/* PVE's pve2 layout: 70 rows each of 1 (an hour at a 60 s step), 30 (a day), 180 (a week),
 * 720 (a month) and 10080 (a year) steps, kept as AVERAGE and MAX. */
static const struct rrd_timeframe timeframes[] = {
	{ "hour", 1, 70 },    { "day", 30, 70 },     { "week", 180, 70 },
	{ "month", 720, 70 }, { "year", 10080, 70 },
};

const char *const rrd_timeframe_names[] = { "hour", "day", "week", "month", "year", NULL };
const char *const rrd_cf_names[] = { "AVERAGE", "MAX", NULL };

const struct rrd_timeframe *
rrd_timeframe_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(timeframes); i++)
		if (streq(timeframes[i].name, name))
			return &timeframes[i];
	return NULL;
}

char **
rrd_create_args(enum rrd_kind kind, unsigned step)
{
	const struct rrd_kind_def *k = &kinds[kind];
	size_t n_cf = ARRAY_SIZE(rrd_cf_names) - 1;
	size_t n = k->n_ds + n_cf * ARRAY_SIZE(timeframes);
	char **args = xcalloc(n + 1, sizeof(char *));
	size_t i = 0;
	for (size_t d = 0; d < k->n_ds; d++)
		args[i++] = xasprintf("DS:%s:%s:%u:0:U", k->ds[d].name,
		                      k->ds[d].type == RRD_DERIVE ? "DERIVE" : "GAUGE",
		                      rrd_heartbeat(step));
	for (size_t c = 0; c < n_cf; c++)
		for (size_t t = 0; t < ARRAY_SIZE(timeframes); t++)
			args[i++] = xasprintf("RRA:%s:0.5:%u:%u", rrd_cf_names[c],
			                      timeframes[t].steps, timeframes[t].rows);
	return args;
}

void
rrd_args_free(char **args)
{
	for (char **a = args; a && *a; a++)
		free(*a);
	free(args);
}

char *
rrd_update_line(enum rrd_kind kind, time_t t, const double *v)
{
	const struct rrd_kind_def *k = &kinds[kind];
	struct strbuf sb = STRBUF_INIT;
	sb_printf(&sb, "%lld", (long long)t);
	for (size_t d = 0; d < k->n_ds; d++) {
		if (isnan(v[d]))
			sb_puts(&sb, ":U");
		else if (k->ds[d].type == RRD_DERIVE)
			sb_printf(&sb, ":%.0f", v[d]); /* librrd takes only integers for counters */
		else
			sb_printf(&sb, ":%.17g", v[d]);
	}
	return sb_steal(&sb);
}

/* The value at a "key/key/index" path, NaN when there is none. */
static double
json_path_number(json_t *o, const char *path)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", path);
	char *save = NULL;
	for (char *part = strtok_r(buf, "/", &save); part && o; part = strtok_r(NULL, "/", &save))
		o = json_is_array(o) ? json_array_get(o, strtoul(part, NULL, 10))
		                     : json_object_get(o, part);
	if (json_is_number(o))
		return json_number_value(o);
	if (json_is_string(o)) {
		const char *s = json_string_value(o);
		char *end;
		double v = strtod(s, &end);
		if (end != s && !*end)
			return v;
	}
	return NAN;
}

void
rrd_values_from_json(enum rrd_kind kind, json_t *status, double ret[RRD_MAX_DS])
{
	const struct rrd_kind_def *k = &kinds[kind];
	for (size_t d = 0; d < RRD_MAX_DS; d++)
		ret[d] = d < k->n_ds ? json_path_number(status, k->ds[d].src) : NAN;
}

json_t *
rrd_rows_json(time_t start, unsigned long step, unsigned long n_ds, char *const *names,
              const double *data, size_t n_rows)
{
	json_t *rows = json_array();
	for (size_t r = 0; r < n_rows; r++) {
		json_t *row = json_pack("{s:I}", "time", (json_int_t)(start + (time_t)(r * step)));
		for (size_t d = 0; d < n_ds; d++) {
			double v = data[r * n_ds + d];
			if (isfinite(v)) /* NaN is unknown; JSON has no infinities */
				json_object_set_new(row, names[d], json_real(v));
		}
		json_array_append_new(rows, row);
	}
	return rows;
}
