/* Unit tests: the Prometheus text format of a sampling round — escaping, values, families,
 * counters, unknown values, and entries the reader may not see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "metrics/prom.h"

#include <math.h>
#include <stdlib.h>

static void
test_label_values_are_escaped(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	prom_escape_label(&sb, "a\\b\"c\nd{e}=f");
	assert_string_equal(sb_str(&sb), "a\\\\b\\\"c\\nd{e}=f");
	sb_free(&sb);
}

static void
test_values_are_formatted_as_prometheus_reads_them(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ 1073741824, "1073741824" },
		{ 0.5, "0.5" },
		{ 0.1, "0.1" },
		{ 1e20, "1e+20" },
		{ -3, "-3" },
		{ NAN, "NaN" },
		{ INFINITY, "+Inf" },
		{ -INFINITY, "-Inf" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf sb = STRBUF_INIT;
		prom_format_value(&sb, cases[i].v);
		assert_string_equal(sb_str(&sb), cases[i].text);
		sb_free(&sb);
	}
	struct strbuf sb = STRBUF_INIT;
	prom_format_value(&sb, 1.0 / 3);
	assert_true(strtod(sb_str(&sb), NULL) == 1.0 / 3);
	sb_free(&sb);
}

static struct metrics_snapshot *
sample_round(void)
{
	struct metrics_snapshot *s = metrics_snapshot_new(1700000000);
	struct metrics_entry *n = metrics_snapshot_add(s, RRD_NODE, "node1");
	n->v[2] = 0.25;  /* cpu */
	n->v[10] = 1234; /* netin */
	struct metrics_entry *g = metrics_snapshot_add(s, RRD_GUEST, "101");
	g->guest_type = xstrdup("lxc");
	g->name = xstrdup("web \"one\"\\");
	g->running = true;
	g->v[3] = 4096; /* mem */
	g = metrics_snapshot_add(s, RRD_GUEST, "102");
	g->guest_type = xstrdup("qemu");
	g->name = xstrdup("hidden");
	g->v[3] = 1;
	struct metrics_entry *st = metrics_snapshot_add(s, RRD_STORAGE, "local");
	st->v[0] = 100;
	st->v[1] = 40;
	return s;
}

static bool
not_102(const struct metrics_entry *e, void *userdata)
{
	(*(int *)userdata)++;
	return !(e->kind == RRD_GUEST && streq(e->id, "102"));
}

static void
test_render_has_families_with_help_type_and_samples(void **state)
{
	struct metrics_snapshot *s = sample_round();
	int asked = 0;
	char *text = prom_render(s, not_102, &asked);
	assert_true(asked > 0);
	assert_non_null(strstr(text, "# HELP berth_node_cpu_ratio CPU in use"));
	assert_non_null(strstr(text, "# TYPE berth_node_cpu_ratio gauge\n"
	                             "berth_node_cpu_ratio{node=\"node1\"} 0.25\n"));
	assert_non_null(strstr(text, "# TYPE berth_node_network_receive_bytes_total counter\n"
	                             "berth_node_network_receive_bytes_total{node=\"node1\"} "
	                             "1234\n"));
	assert_non_null(strstr(text, "berth_guest_memory_bytes{vmid=\"101\",type=\"lxc\","
	                             "name=\"web \\\"one\\\"\\\\\"} 4096\n"));
	assert_non_null(strstr(text, "berth_guest_up{vmid=\"101\",type=\"lxc\","
	                             "name=\"web \\\"one\\\"\\\\\"} 1\n"));
	assert_non_null(strstr(text, "berth_storage_used_bytes{storage=\"local\"} 40\n"));
	/* what the reader may not see is not there; unknown values are left out */
	assert_null(strstr(text, "102"));
	assert_null(strstr(text, "berth_node_load1{"));
	assert_non_null(strstr(text, "# TYPE berth_node_load1 gauge\n"));
	assert_null(strstr(text, "NaN"));

	/* each family once, its samples right after its TYPE line */
	const char *last_type = NULL;
	for (char *line = text; *line;) {
		char *eol = strchr(line, '\n');
		assert_non_null(eol);
		*eol = '\0';
		if (startswith(line, "# TYPE ")) {
			last_type = line + 7;
		} else if (!startswith(line, "# HELP ")) {
			assert_non_null(last_type);
			size_t n = strcspn(line, "{ ");
			assert_true(strneq(line, last_type, n) && last_type[n] == ' ');
		}
		line = eol + 1;
	}
	free(text);
	metrics_snapshot_unref(s);
}

static void
test_render_without_filter_shows_everything(void **state)
{
	struct metrics_snapshot *s = metrics_snapshot_ref(sample_round());
	char *text = prom_render(s, NULL, NULL);
	assert_non_null(strstr(text, "berth_guest_memory_bytes{vmid=\"102\",type=\"qemu\","
	                             "name=\"hidden\"} 1\n"));
	assert_non_null(strstr(text, "berth_guest_up{vmid=\"102\",type=\"qemu\",name=\"hidden\"} "
	                             "0\n"));
	free(text);
	assert_null(metrics_snapshot_unref(s)); /* the second reference */
	metrics_snapshot_unref(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_values_are_escaped),
		cmocka_unit_test(test_values_are_formatted_as_prometheus_reads_them),
		cmocka_unit_test(test_render_has_families_with_help_type_and_samples),
		cmocka_unit_test(test_render_without_filter_shows_everything),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
