/* The metrics sampler (see metrics.h): collect on the loop, write the rrd files on the thread
 * pool. Collecting uses the store and the status functions, which belong to the loop; what
 * reaches the pool is a snapshot nobody changes any more, and plain strings. */
#include "api/metrics.h"
#include "api/qemu-common.h"
#include "basic/log.h"
#include "metrics/rrdfile.h"
#include "metrics/snapshot.h"
#include "shared/hoststats.h"
#include "storage/storage.h"

#include <stdio.h>
#include <time.h>

struct metrics_sampler {
	unsigned step;
	struct hoststats host;      /* the node's CPU shares between rounds */
	struct guest_cpu_cache cpu; /* the guests' */
	struct metrics_snapshot *latest;
	bool writing; /* a batch is on the thread pool: the next round writes nothing */
	bool failing; /* the last batch had errors (logged once until it works again) */
};

struct metrics_sampler *
metrics_sampler_new(unsigned step)
{
	struct metrics_sampler *m = xcalloc(1, sizeof(*m));
	m->step = step;
	hoststats_sample(&m->host); /* the first round then has a CPU share */
	return m;
}

void
metrics_sampler_free(struct metrics_sampler *m)
{
	if (!m)
		return;
	/* a batch still on the pool holds its own reference to its snapshot */
	metrics_snapshot_unref(m->latest);
	free(m);
}

unsigned
metrics_step(const struct api_ctx *ctx)
{
	return ctx->metrics ? ctx->metrics->step : 60;
}

const struct metrics_snapshot *
metrics_latest(const struct api_ctx *ctx)
{
	return ctx->metrics ? ctx->metrics->latest : NULL;
}

/* ---- collecting (on the loop) ---- */

static void
collect_node(struct api_ctx *ctx, struct metrics_sampler *m, struct metrics_snapshot *s)
{
	hoststats_sample(&m->host);
	json_t *st = node_status_json(ctx, &m->host);
	struct net_totals net;
	if (read_net_totals(&net) >= 0) {
		json_object_set_new(st, "netin", json_integer((json_int_t)net.in));
		json_object_set_new(st, "netout", json_integer((json_int_t)net.out));
	}
	rrd_values_from_json(RRD_NODE, st, metrics_snapshot_add(s, RRD_NODE, ctx->node)->v);
	json_decref(st);
}

/* Every guest of kind; their vmids go into keep. */
static void
collect_guests(struct api_ctx *ctx, struct metrics_sampler *m, enum guestconf_kind kind,
               struct metrics_snapshot *s, char ***keep, size_t *n_keep)
{
	size_t n = 0;
	_cleanup_free_ unsigned *ids = guest_list_ids(ctx->store, kind, ctx->node, &n);
	for (size_t i = 0; i < n; i++) {
		_cleanup_(guestconf_freep) struct guestconf *gc = NULL;
		struct error err = { 0 };
		if (guest_conf_load(ctx->store, kind, ctx->node, ids[i], &gc, NULL, &err) < 0)
			continue;
		json_t *st = kind == GUESTCONF_LXC
		                     ? ct_status_json(&m->cpu, ids[i], gc)
		                     : vm_status_json(ctx, &m->cpu, ids[i], gc, false);
		char id[16];
		snprintf(id, sizeof(id), "%u", ids[i]);
		struct metrics_entry *e = metrics_snapshot_add(s, RRD_GUEST, id);
		e->guest_type = xstrdup(kind == GUESTCONF_LXC ? "lxc" : "qemu");
		const char *name = json_string_value(json_object_get(st, "name"));
		e->name = name ? xstrdup(name) : NULL;
		const char *status = json_string_value(json_object_get(st, "status"));
		e->running = status && streq(status, "running");
		rrd_values_from_json(RRD_GUEST, st, e->v);
		json_decref(st);
		*keep = xrealloc(*keep, (*n_keep + 2) * sizeof(char *));
		(*keep)[(*n_keep)++] = xstrdup(id);
		(*keep)[*n_keep] = NULL;
	}
}

/* Every storage active on this node (as PVE's pvestatd, inactive ones get no sample); the ids
 * of all configured ones go into keep. */
static void
collect_storages(struct api_ctx *ctx, struct metrics_snapshot *s, char ***keep)
{
	struct error err = { 0 };
	struct storage_config *cfg = api_storage_config(ctx, &err);
	*keep = xcalloc((cfg ? cfg->n : 0) + 1, sizeof(char *));
	for (size_t i = 0; cfg && i < cfg->n; i++) {
		const struct storage *st = &cfg->list[i];
		(*keep)[i] = xstrdup(st->id);
		json_t *o = storage_resource_entry(ctx, st);
		const char *status = json_string_value(json_object_get(o, "status"));
		if (status && streq(status, "available"))
			rrd_values_from_json(RRD_STORAGE, o,
			                     metrics_snapshot_add(s, RRD_STORAGE, st->id)->v);
		json_decref(o);
	}
	storage_config_free(cfg);
}

/* ---- writing (on the thread pool) ---- */

struct batch {
	struct metrics_sampler *m;
	struct metrics_snapshot *snap;
	char *root, *node;
	unsigned step;
	char **keep_guests, **keep_storages;
	unsigned failed;
	struct error first; /* the first failure */
};

static void
batch_work(void *arg)
{
	struct batch *b = arg;
	for (size_t i = 0; i < b->snap->n; i++) {
		const struct metrics_entry *e = &b->snap->entries[i];
		_cleanup_free_ char *path = rrd_file_path(b->root, e->kind, b->node, e->id);
		struct error err = { 0 };
		if (path &&
		    rrd_file_update(path, e->kind, b->step, b->snap->time, e->v, &err) < 0 &&
		    b->failed++ == 0)
			b->first = err;
	}
	/* files of guests and storages that are gone (a destroy racing a write, or a crash) */
	rrd_files_prune(b->root, RRD_GUEST, NULL, b->keep_guests);
	rrd_files_prune(b->root, RRD_STORAGE, b->node, b->keep_storages);
}

static void
batch_done(void *arg)
{
	struct batch *b = arg;
	struct metrics_sampler *m = b->m;
	if (b->failed && !m->failing)
		log_warn("metrics: %u rrd update(s) failed, the first: %s", b->failed,
		         b->first.msg);
	else if (!b->failed && m->failing)
		log_info("metrics: rrd updates work again");
	m->failing = b->failed > 0;
	m->writing = false;
	metrics_snapshot_unref(b->snap);
	strv_free(b->keep_guests);
	strv_free(b->keep_storages);
	free(b->root);
	free(b->node);
	free(b);
}

void
metrics_sample(struct api_ctx *ctx)
{
	struct metrics_sampler *m = ctx->metrics;
	if (!m)
		return;
	struct metrics_snapshot *s = metrics_snapshot_new(time(NULL));
	char **keep_guests = xcalloc(1, sizeof(char *)), **keep_storages = NULL;
	size_t n_guests = 0;
	collect_node(ctx, m, s);
	collect_guests(ctx, m, GUESTCONF_LXC, s, &keep_guests, &n_guests);
	collect_guests(ctx, m, GUESTCONF_QEMU, s, &keep_guests, &n_guests);
	collect_storages(ctx, s, &keep_storages);
	metrics_snapshot_unref(m->latest);
	m->latest = s;

	if (m->writing) { /* the disk is slower than the rounds: this one is not written */
		strv_free(keep_guests);
		strv_free(keep_storages);
		return;
	}
	struct batch *b = xcalloc(1, sizeof(*b));
	*b = (struct batch){ .m = m,
		             .snap = metrics_snapshot_ref(s),
		             .root = xstrdup(ctx->root_dir),
		             .node = xstrdup(ctx->node),
		             .step = m->step,
		             .keep_guests = keep_guests,
		             .keep_storages = keep_storages };
	m->writing = true;
	if (ctx->run_blocking(ctx, batch_work, batch_done, b) < 0)
		batch_done(b);
}
