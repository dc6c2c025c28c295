/* The Prometheus text exposition format (version 0.0.4) of a sampling round: one family per
 * data source (its Prometheus name, HELP and TYPE from rrddef.c; DERIVE sources are counters
 * with their raw totals), plus berth_guest_up. Pure: unit-tested. */
#pragma once

#include "basic/strbuf.h"
#include "metrics/snapshot.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Which entries the reader may see (NULL: all). */
typedef bool (*prom_visible_fn)(const struct metrics_entry *e, void *userdata);

/* The whole exposition; entries with an unknown value leave that sample out. Caller frees. */
char *prom_render(const struct metrics_snapshot *s, prom_visible_fn visible, void *userdata);

/* A label value as the format wants it: backslash, double quote and line feed escaped. */
void prom_escape_label(struct strbuf *sb, const char *value);
/* A sample value: integers without a fraction, others round-tripping, NaN and +-Inf spelt as
 * Prometheus does. */
void prom_format_value(struct strbuf *sb, double v);
