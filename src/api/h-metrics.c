/* The graphs' data: GET rrddata of the node, its guests and storages in Proxmox VE's shape
 * (read from the rrd files on the thread pool), and Berth's GET /nodes/{node}/metrics, the
 * latest sampling round in Prometheus text format (docs/metrics.md). */
#include "api/metrics.h"
#include "api/qemu-common.h"
#include "metrics/prom.h"
#include "metrics/rrdfile.h"
#include "storage/storage.h"

#include <stdio.h>
#include <time.h>

/* ---- rrddata ---- */

struct fetch_job {
	char *path;
	const char *cf;
	const struct rrd_timeframe *tf;
	unsigned step;
};

static int
fetch_work(struct api_call *c, void *arg)
{
	struct fetch_job *j = arg;
	struct error err = { 0 };
	json_t *rows = NULL;
	int r = rrd_file_fetch(j->path, j->cf, j->tf, j->step, time(NULL), &rows, &err);
	if (r == -ENOENT) { /* nothing sampled yet */
		rows = json_array();
		r = 0;
	}
	if (r < 0)
		r = api_fail(c, 500, "%s", err.msg);
	else
		c->data = rows;
	free(j->path);
	free(j);
	return r;
}

/* Answer the rows of object id of kind (already known to exist). */
static int
rrddata(struct api_call *c, enum rrd_kind kind, const char *id)
{
	const char *cf = param_str(c->params, "cf");
	struct fetch_job *j = xmalloc(sizeof(*j));
	*j = (struct fetch_job){
		.path = rrd_file_path(c->ctx->root_dir, kind, c->ctx->node, id),
		.cf = cf ? cf : "AVERAGE",
		.tf = rrd_timeframe_find(param_str(c->params, "timeframe")),
		.step = metrics_step(c->ctx),
	};
	if (!j->path || !j->tf) { /* the schema lets neither happen */
		free(j->path);
		free(j);
		return api_fail(c, 400, "invalid rrd object '%s'", id);
	}
	return api_call_blocking(c, fetch_work, j);
}

static int
node_rrddata(struct api_call *c)
{
	return rrddata(c, RRD_NODE, c->ctx->node);
}

static int
guest_rrddata(struct api_call *c, enum guestconf_kind kind)
{
	unsigned vmid = (unsigned)param_int(c->params, "vmid", 0);
	_cleanup_(guestconf_freep) struct guestconf *gc = NULL;
	if (guest_conf_load(c->ctx->store, kind, c->ctx->node, vmid, &gc, NULL, &c->err) < 0)
		return -ENOENT;
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	return rrddata(c, RRD_GUEST, id);
}

static int
lxc_rrddata(struct api_call *c)
{
	return guest_rrddata(c, GUESTCONF_LXC);
}

static int
qemu_rrddata(struct api_call *c)
{
	return guest_rrddata(c, GUESTCONF_QEMU);
}

static int
storage_rrddata(struct api_call *c)
{
	const char *sid = param_str(c->params, "storage");
	struct storage_config *cfg = api_storage_config(c->ctx, &c->err);
	if (!cfg)
		return -EIO;
	bool known = storage_config_find(cfg, sid) != NULL;
	storage_config_free(cfg);
	if (!known)
		return api_fail(c, 500, "storage '%s' does not exist", sid);
	return rrddata(c, RRD_STORAGE, sid);
}

/* ---- Prometheus ---- */

/* Guests the caller may VM.Audit, storages it may audit (as /cluster/resources lists them). */
static bool
visible(const struct metrics_entry *e, void *userdata)
{
	struct api_call *c = userdata;
	char path[128];
	switch (e->kind) {
	case RRD_GUEST:
		snprintf(path, sizeof(path), "/vms/%s", e->id);
		return api_has_privs(c, path, "VM.Audit", false);
	case RRD_STORAGE:
		snprintf(path, sizeof(path), "/storage/%s", e->id);
		return api_has_privs(c, path, "Datastore.Audit,Datastore.AllocateSpace", true);
	default:
		return true; /* the node: the route's Sys.Audit */
	}
}

static int
node_metrics(struct api_call *c)
{
	const struct metrics_snapshot *s = metrics_latest(c->ctx);
	c->raw_body = s ? prom_render(s, visible, c) : xstrdup("");
	c->raw_len = strlen(c->raw_body);
	c->raw_type = PROM_CONTENT_TYPE;
	return 0;
}

/* ---- routes ---- */

#define PARAM_TIMEFRAME                                                                            \
	{                                                                                          \
		.name = "timeframe", .type = API_T_STRING, .enums = rrd_timeframe_names,           \
		.description = "Specify the time frame you are interested in: hour, day, week, "   \
		               "month or year."                                                    \
	}
#define PARAM_CF                                                                                   \
	{                                                                                          \
		.name = "cf", .type = API_T_STRING, .enums = rrd_cf_names, .optional = true,       \
		.default_text = "AVERAGE",                                                         \
		.description = "The RRD consolidation function: AVERAGE or MAX."                   \
	}

static const struct api_schema node_params[] = { PARAM_NODE, PARAM_TIMEFRAME, PARAM_CF, PARAM_END };
static const struct api_schema guest_params[] = { PARAM_NODE, PARAM_VMID, PARAM_TIMEFRAME, PARAM_CF,
	                                          PARAM_END };
static const struct api_schema storage_params[] = { PARAM_NODE, PARAM_STORAGE, PARAM_TIMEFRAME,
	                                            PARAM_CF, PARAM_END };
static const struct api_schema metrics_params[] = { PARAM_NODE, PARAM_END };

static const struct api_schema row_props[] = {
	{ .name = "time",
	  .type = API_T_INTEGER,
	  .description = "Start of the row's interval (seconds since the epoch); the other keys "
	                 "are the data sources with a known value." },
	PARAM_END,
};
static const struct api_schema rows_schema = {
	.type = API_T_ARRAY,
	.items = &(const struct api_schema){ .type = API_T_OBJECT, .props = row_props },
};

/* containers and VMs alike, as PVE's pct and qm */
#define GUEST_RRDDATA_ROUTE(type, fn)                                                              \
	{                                                                                          \
		.method = API_GET, .path = "/nodes/{node}/" type "/{vmid}/rrddata",                \
		.params = guest_params,                                                            \
		.perm = { .kind = PERM_PRIVS, .path = "/vms/{vmid}", .privs = "VM.Audit" },        \
		.handler = fn,                                                                     \
		.description = "Read VM RRD statistics: maxcpu, cpu, maxmem, mem, maxdisk, disk, " \
		               "netin, netout, diskread, diskwrite (bytes/s).",                    \
		.returns = &rows_schema                                                            \
	}

const struct api_route api_routes_metrics[] = {
	{ .method = API_GET,
	  .path = "/nodes/{node}/rrddata",
	  .params = node_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/nodes/{node}", .privs = "Sys.Audit" },
	  .handler = node_rrddata,
	  .description = "Read node RRD statistics: loadavg, maxcpu, cpu, iowait, memtotal, "
	                 "memused, swaptotal, swapused, roottotal, rootused, netin, netout "
	                 "(bytes/s).",
	  .returns = &rows_schema },
	GUEST_RRDDATA_ROUTE("lxc", lxc_rrddata),
	GUEST_RRDDATA_ROUTE("qemu", qemu_rrddata),
	{ .method = API_GET,
	  .path = "/nodes/{node}/storage/{storage}/rrddata",
	  .params = storage_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/storage/{storage}",
	            .privs = "Datastore.Audit,Datastore.AllocateSpace",
	            .any = true },
	  .handler = storage_rrddata,
	  .description = "Read storage RRD statistics: total, used.",
	  .returns = &rows_schema },
	{ .method = API_GET,
	  .path = "/nodes/{node}/metrics",
	  .params = metrics_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/nodes/{node}",
	            .privs = "Sys.Audit",
	            .description = "Guests are listed when the user has VM.Audit on them, "
	                           "storages with Datastore.Audit or Datastore.AllocateSpace." },
	  .handler = node_metrics,
	  .description = "Berth extension: the latest sample of the node, its guests and its "
	                 "active storages in the Prometheus text format (version 0.0.4).",
	  .returns = &(const struct api_schema){ .type = API_T_STRING } },
	{ 0 },
};
