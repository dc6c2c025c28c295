/* Sampling rounds' figures (see snapshot.h). */
#include "metrics/snapshot.h"
#include "basic/strbuf.h"

#include <math.h>
#include <stdlib.h>

struct metrics_snapshot *
metrics_snapshot_new(time_t t)
{
	struct metrics_snapshot *s = xcalloc(1, sizeof(*s));
	s->time = t;
	s->refs = 1;
	return s;
}

struct metrics_entry *
metrics_snapshot_add(struct metrics_snapshot *s, enum rrd_kind kind, const char *id)
{
	s->entries = xrealloc(s->entries, (s->n + 1) * sizeof(*s->entries));
	struct metrics_entry *e = &s->entries[s->n++];
	*e = (struct metrics_entry){ .kind = kind, .id = xstrdup(id) };
	for (size_t d = 0; d < RRD_MAX_DS; d++)
		e->v[d] = NAN;
	return e;
}

struct metrics_snapshot *
metrics_snapshot_ref(struct metrics_snapshot *s)
{
	s->refs++;
	return s;
}

struct metrics_snapshot *
metrics_snapshot_unref(struct metrics_snapshot *s)
{
	if (!s || --s->refs > 0)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		free(s->entries[i].id);
		free(s->entries[i].guest_type);
		free(s->entries[i].name);
	}
	free(s->entries);
	free(s);
	return NULL;
}
