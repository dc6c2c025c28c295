/* The metrics sampler (docs/metrics.md): each round, on the daemon's loop, the live figures of
 * the node, of every guest (running or not) and of every active storage are taken from the
 * functions GET status/current and /cluster/resources answer with, into a snapshot; the rrd
 * files under <root>/rrd get its values on the thread pool; the latest snapshot also answers
 * GET /nodes/{node}/metrics. */
#pragma once

#include "api/api.h"

struct metrics_sampler;
struct metrics_snapshot;

/* step: the rrd files' primary step in seconds (60, as PVE; tests use less). */
struct metrics_sampler *metrics_sampler_new(unsigned step);
void metrics_sampler_free(struct metrics_sampler *m);

/* One round for ctx->metrics (the daemon's timer calls it). */
void metrics_sample(struct api_ctx *ctx);

/* The primary step of the rrd files ctx's daemon writes (60 without a sampler). */
unsigned metrics_step(const struct api_ctx *ctx);
/* The latest round's figures; NULL before the first. Valid until the next round. */
const struct metrics_snapshot *metrics_latest(const struct api_ctx *ctx);
