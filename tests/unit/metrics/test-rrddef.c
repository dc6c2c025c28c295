/* Unit tests: the rrd layout (PVE's data sources and archives), update lines, values out of
 * status objects, fetch results as rrddata rows, and a real file through librrd in a
 * temporary directory with explicit times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/strbuf.h"
#include "metrics/rrddef.h"
#include "metrics/rrdfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
ds_names(enum rrd_kind kind)
{
	const struct rrd_kind_def *k = rrd_kind_def(kind);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < k->n_ds; i++)
		sb_printf(&sb, "%s%s", i ? "," : "", k->ds[i].name);
	return sb_steal(&sb);
}

static void
test_data_sources_are_pves_in_pves_order(void **state)
{
	char *node = ds_names(RRD_NODE), *guest = ds_names(RRD_GUEST),
	     *storage = ds_names(RRD_STORAGE);
	assert_string_equal(node, "loadavg,maxcpu,cpu,iowait,memtotal,memused,swaptotal,swapused,"
	                          "roottotal,rootused,netin,netout");
	assert_string_equal(guest, "maxcpu,cpu,maxmem,mem,maxdisk,disk,netin,netout,diskread,"
	                           "diskwrite");
	assert_string_equal(storage, "total,used");
	assert_string_equal(rrd_kind_def(RRD_NODE)->dir, "pve2-node");
	assert_string_equal(rrd_kind_def(RRD_GUEST)->dir, "pve2-vm");
	assert_string_equal(rrd_kind_def(RRD_STORAGE)->dir, "pve2-storage");
	free(node);
	free(guest);
	free(storage);
	/* every data source has a Prometheus name, and counters end in _total */
	for (enum rrd_kind k = 0; k < RRD_KINDS; k++)
		for (size_t i = 0; i < rrd_kind_def(k)->n_ds; i++) {
			const struct rrd_ds *ds = &rrd_kind_def(k)->ds[i];
			assert_true(startswith(ds->prom, "berth_") && ds->help && ds->src);
			size_t n = strlen(ds->prom);
			assert_int_equal(ds->type == RRD_DERIVE,
			                 n > 6 && streq(ds->prom + n - 6, "_total"));
		}
}

static void
test_create_args_follow_pve2_layout_scaled_by_step(void **state)
{
	char **a = rrd_create_args(RRD_GUEST, 60);
	assert_string_equal(a[0], "DS:maxcpu:GAUGE:120:0:U");
	assert_string_equal(a[6], "DS:netin:DERIVE:120:0:U");
	assert_string_equal(a[9], "DS:diskwrite:DERIVE:120:0:U");
	static const char *const rras[] = {
		"RRA:AVERAGE:0.5:1:70",   "RRA:AVERAGE:0.5:30:70",    "RRA:AVERAGE:0.5:180:70",
		"RRA:AVERAGE:0.5:720:70", "RRA:AVERAGE:0.5:10080:70", "RRA:MAX:0.5:1:70",
		"RRA:MAX:0.5:30:70",      "RRA:MAX:0.5:180:70",       "RRA:MAX:0.5:720:70",
		"RRA:MAX:0.5:10080:70",
	};
	for (size_t i = 0; i < ARRAY_SIZE(rras); i++)
		assert_string_equal(a[10 + i], rras[i]);
	assert_null(a[10 + ARRAY_SIZE(rras)]);
	rrd_args_free(a);
	a = rrd_create_args(RRD_STORAGE, 2); /* a test daemon's step: the heartbeat follows */
	assert_string_equal(a[0], "DS:total:GAUGE:4:0:U");
	assert_string_equal(a[2], "RRA:AVERAGE:0.5:1:70");
	rrd_args_free(a);
}

static void
test_timeframes_are_pves(void **state)
{
	assert_int_equal(rrd_timeframe_find("hour")->steps, 1);
	assert_int_equal(rrd_timeframe_find("day")->steps, 30);
	assert_int_equal(rrd_timeframe_find("week")->steps, 180);
	assert_int_equal(rrd_timeframe_find("month")->steps, 720);
	assert_int_equal(rrd_timeframe_find("year")->steps, 10080);
	assert_int_equal(rrd_timeframe_find("year")->rows, 70);
	assert_null(rrd_timeframe_find("decade"));
	for (const char *const *n = rrd_timeframe_names; *n; n++)
		assert_non_null(rrd_timeframe_find(*n));
}

static void
test_update_line_writes_unknown_as_U_and_counters_as_integers(void **state)
{
	double v[RRD_MAX_DS] = { 4, 0.25, 1073741824, NAN, 0, 0, 12345.0, NAN, 7, 1e15 };
	char *line = rrd_update_line(RRD_GUEST, 1700000000, v);
	assert_string_equal(line, "1700000000:4:0.25:1073741824:U:0:0:12345:U:7:1000000000000000");
	free(line);
}

static void
test_values_come_from_status_paths(void **state)
{
	json_t *st = json_pack("{s:[s,s,s], s:{s:i}, s:f, s:f, s:{s:I, s:I}, s:{s:i}, s:i}",
	                       "loadavg", "0.42", "0.1", "0.0", "cpuinfo", "cpus", 8, "cpu", 0.5,
	                       "wait", 0.01, "memory", "total", (json_int_t)8 << 30, "used",
	                       (json_int_t)3 << 30, "swap", "total", 0, "netin", 99);
	double v[RRD_MAX_DS];
	rrd_values_from_json(RRD_NODE, st, v);
	assert_true(v[0] == 0.42 && v[1] == 8 && v[2] == 0.5 && v[3] == 0.01);
	assert_true(v[4] == (double)(8ull << 30) && v[5] == (double)(3ull << 30));
	assert_true(v[6] == 0 && isnan(v[7])); /* swap/used missing */
	assert_true(isnan(v[8]) && isnan(v[9]) && v[10] == 99 && isnan(v[11]));
	assert_true(isnan(v[12])); /* past the kind's sources */
	json_decref(st);

	st = json_pack("{s:s, s:s, s:i}", "maxdisk", "12x", "disk", "", "other", 1);
	rrd_values_from_json(RRD_STORAGE, st, v);
	assert_true(isnan(v[0]) && isnan(v[1])); /* strings that are no numbers */
	json_decref(st);
}

static void
test_rows_leave_unknown_values_out(void **state)
{
	char *names[] = { "cpu", "mem" };
	const double data[] = { 0.5, 100, NAN, 200, NAN, NAN };
	json_t *rows = rrd_rows_json(1000, 60, 2, names, data, 3);
	char *text = json_dumps(rows, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "[{\"cpu\":0.5,\"mem\":100.0,\"time\":1000},"
	                          "{\"mem\":200.0,\"time\":1060},{\"time\":1120}]");
	free(text);
	json_decref(rows);
}

static void
test_file_paths_refuse_names_that_leave_the_directory(void **state)
{
	char *p = rrd_file_path("/r", RRD_STORAGE, "n1", "local");
	assert_string_equal(p, "/r/rrd/pve2-storage/n1/local");
	free(p);
	p = rrd_file_path("/r", RRD_GUEST, NULL, "101");
	assert_string_equal(p, "/r/rrd/pve2-vm/101");
	free(p);
	assert_null(rrd_file_path("/r", RRD_GUEST, NULL, "../x"));
	assert_null(rrd_file_path("/r", RRD_GUEST, NULL, ".."));
	assert_null(rrd_file_path("/r", RRD_GUEST, NULL, ""));
	assert_null(rrd_file_path("/r", RRD_STORAGE, "a/b", "local"));
}

/* A file written every 10 s over 3 minutes at a 60 s step reads back as averaged rows; the
 * counter as its rate; files not kept are pruned. */
static void
test_file_round_trip_through_librrd(void **state)
{
	char dir[] = "/tmp/berth-rrd-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = rrd_file_path(dir, RRD_STORAGE, "n1", "local");
	struct error err = { 0 };
	const time_t t0 = 1700000000 - 1700000000 % 60; /* a step boundary */
	for (int i = 1; i <= 18; i++) {
		double v[RRD_MAX_DS] = { 1000, i <= 6 ? 100 : 400 };
		assert_int_equal(rrd_file_update(path, RRD_STORAGE, 60, t0 + 10 * i, v, &err), 0);
	}
	/* the same time again is dropped quietly */
	double v[RRD_MAX_DS] = { 1, 1 };
	assert_int_equal(rrd_file_update(path, RRD_STORAGE, 60, t0 + 180, v, &err), 0);

	json_t *rows = NULL;
	assert_int_equal(rrd_file_fetch(path, "AVERAGE", rrd_timeframe_find("hour"), 60, t0 + 200,
	                                &rows, &err),
	                 0);
	assert_int_equal(json_array_size(rows), 70);
	json_t *last = json_array_get(rows, 69), *first = json_array_get(rows, 0);
	assert_int_equal(json_integer_value(json_object_get(last, "time")), t0 + 120);
	assert_int_equal(json_integer_value(json_object_get(first, "time")), t0 + 120 - 69 * 60);
	assert_null(json_object_get(first, "used")); /* before the file existed: unknown */
	assert_true(json_real_value(json_object_get(last, "used")) == 400);
	assert_true(json_real_value(json_object_get(json_array_get(rows, 67), "used")) == 100);
	assert_true(json_real_value(json_object_get(last, "total")) == 1000);
	json_decref(rows);
	assert_int_equal(
	        rrd_file_fetch(path, "MAX", rrd_timeframe_find("hour"), 60, t0 + 200, &rows, &err),
	        0);
	json_decref(rows);
	/* a step the file does not have: PVE's message */
	assert_int_equal(rrd_file_fetch(path, "AVERAGE", rrd_timeframe_find("hour"), 7, t0 + 200,
	                                &rows, &err),
	                 -EIO);
	assert_true(startswith(err.msg, "got wrong time resolution"));

	char *missing = rrd_file_path(dir, RRD_GUEST, NULL, "100");
	assert_int_equal(rrd_file_fetch(missing, "AVERAGE", rrd_timeframe_find("hour"), 60,
	                                t0 + 200, &rows, &err),
	                 -ENOENT);

	char *keep[] = { "other", NULL };
	assert_int_equal(rrd_files_prune(dir, RRD_STORAGE, "n1", keep), 1);
	assert_int_equal(access(path, F_OK), -1);
	free(missing);
	free(path);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_sources_are_pves_in_pves_order),
		cmocka_unit_test(test_create_args_follow_pve2_layout_scaled_by_step),
		cmocka_unit_test(test_timeframes_are_pves),
		cmocka_unit_test(test_update_line_writes_unknown_as_U_and_counters_as_integers),
		cmocka_unit_test(test_values_come_from_status_paths),
		cmocka_unit_test(test_rows_leave_unknown_values_out),
		cmocka_unit_test(test_file_paths_refuse_names_that_leave_the_directory),
		cmocka_unit_test(test_file_round_trip_through_librrd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
