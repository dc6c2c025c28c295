/* Prometheus text rendering (see prom.h). */
#include "metrics/prom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* HELP text escapes backslash and line feed; label values also the double quote. */
static void
escape(struct strbuf *sb, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_puts(sb, "\\\\");
		else if (*s == '\n')
			sb_puts(sb, "\\n");
		else if (*s == '"' && quote)
			sb_puts(sb, "\\\"");
		else
			sb_putc(sb, *s);
	}
}

void
prom_escape_label(struct strbuf *sb, const char *value)
{
	escape(sb, value, true);
}

void
prom_format_value(struct strbuf *sb, double v)
{
	if (isnan(v)) {
		sb_puts(sb, "NaN");
	} else if (isinf(v)) {
		sb_puts(sb, v > 0 ? "+Inf" : "-Inf");
	} else if (v == floor(v) && fabs(v) < 1e15) {
		sb_printf(sb, "%.0f", v);
	} else {
		/* the shortest of %.15g and %.17g that reads back as the same number */
		char buf[40];
		snprintf(buf, sizeof(buf), "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, sizeof(buf), "%.17g", v);
		sb_puts(sb, buf);
	}
}

static void
label(struct strbuf *sb, bool *first, const char *name, const char *value)
{
	if (!value)
		return;
	sb_printf(sb, "%s%s=\"", *first ? "{" : ",", name);
	prom_escape_label(sb, value);
	sb_putc(sb, '"');
	*first = false;
}

static void
sample(struct strbuf *sb, const char *metric, const struct metrics_entry *e, double v)
{
	sb_puts(sb, metric);
	bool first = true;
	label(sb, &first, rrd_kind_def(e->kind)->id_label, e->id);
	label(sb, &first, "type", e->guest_type);
	label(sb, &first, "name", e->name);
	if (!first)
		sb_putc(sb, '}');
	sb_putc(sb, ' ');
	prom_format_value(sb, v);
	sb_putc(sb, '\n');
}

static void
family_header(struct strbuf *sb, const char *metric, const char *help, const char *type)
{
	sb_printf(sb, "# HELP %s ", metric);
	escape(sb, help, false);
	sb_printf(sb, "\n# TYPE %s %s\n", metric, type);
}

static bool
shown(const struct metrics_entry *e, prom_visible_fn visible, void *userdata)
{
	return !visible || visible(e, userdata);
}

char *
prom_render(const struct metrics_snapshot *s, prom_visible_fn visible, void *userdata)
{
	struct strbuf sb = STRBUF_INIT;
	for (enum rrd_kind k = 0; k < RRD_KINDS; k++) {
		const struct rrd_kind_def *def = rrd_kind_def(k);
		if (k == RRD_GUEST) {
			family_header(&sb, "berth_guest_up", "Whether the guest is running.",
			              "gauge");
			for (size_t i = 0; i < s->n; i++)
				if (s->entries[i].kind == k &&
				    shown(&s->entries[i], visible, userdata))
					sample(&sb, "berth_guest_up", &s->entries[i],
					       s->entries[i].running ? 1 : 0);
		}
		for (size_t d = 0; d < def->n_ds; d++) {
			const struct rrd_ds *ds = &def->ds[d];
			family_header(&sb, ds->prom, ds->help,
			              ds->type == RRD_DERIVE ? "counter" : "gauge");
			for (size_t i = 0; i < s->n; i++) {
				const struct metrics_entry *e = &s->entries[i];
				if (e->kind == k && !isnan(e->v[d]) && shown(e, visible, userdata))
					sample(&sb, ds->prom, e, e->v[d]);
			}
		}
	}
	return sb_steal(&sb);
}
