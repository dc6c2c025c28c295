/* Unit tests: growable buffer, error object, atomic file writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/error.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <stdio.h>
#include <sys/stat.h>

static void
test_strbuf_appends_formats_and_consumes(void **state)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	assert_string_equal(sb_str(&sb), "");
	for (int i = 0; i < 1000; i++)
		sb_printf(&sb, "%d,", i);
	assert_int_equal(sb.len, strlen(sb.buf));
	sb_consume(&sb, 4);
	assert_true(startswith(sb.buf, "2,3,"));
	char *s = sb_steal(&sb);
	assert_null(sb.buf);
	free(s);
}

static void
test_error_prefix_adds_context_and_keeps_code(void **state)
{
	struct error e = { 0 };
	int r = error_set(&e, EEXIST, "VM %d already exists on node '%s'", 100, "pve");
	assert_int_equal(r, -EEXIST);
	r = error_prefix(&e, "unable to create VM %d", 100);
	assert_int_equal(r, -EEXIST);
	assert_string_equal(e.msg, "unable to create VM 100 - VM 100 already exists on node 'pve'");
	assert_int_equal(e.status, 0);
	error_set_status(&e, 403, EACCES, "Permission check failed (%s, %s)", "/vms/100",
	                 "VM.Audit");
	assert_int_equal(e.status, 403);
}

static void
test_error_prefix_truncates_without_overflow(void **state)
{
	struct error e = { 0 };
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	error_set(&e, EIO, "%s", big);
	error_prefix(&e, "%s", big);
	assert_int_equal(strlen(e.msg), ERROR_MSG_MAX - 1);
}

static void
test_write_file_atomic_replaces_content_with_mode(void **state)
{
	char dir[] = "/tmp/berth-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/a/b/file", dir);
	char parent[256];
	snprintf(parent, sizeof(parent), "%s/a/b", dir);
	assert_int_equal(mkdir_p(parent, 0700), 0);
	assert_int_equal(write_file_atomic(path, "one", 3, 0600), 0);
	assert_int_equal(write_file_atomic(path, "two!", 4, 0640), 0);
	char *data;
	size_t len;
	assert_int_equal(read_file(path, 100, &data, &len), 0);
	assert_int_equal(len, 4);
	assert_string_equal(data, "two!");
	free(data);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(read_file(path, 2, &data, &len), -EFBIG);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_proc_start_time_identifies_this_process(void **state)
{
	unsigned long long a, b;
	assert_int_equal(proc_start_time(getpid(), &a), 0);
	assert_int_equal(proc_start_time(getpid(), &b), 0);
	assert_true(a == b);
	assert_true(proc_alive(getpid(), a));
	assert_false(proc_alive(getpid(), a + 1));
	assert_false(proc_alive(0, a));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strbuf_appends_formats_and_consumes),
		cmocka_unit_test(test_error_prefix_adds_context_and_keeps_code),
		cmocka_unit_test(test_error_prefix_truncates_without_overflow),
		cmocka_unit_test(test_write_file_atomic_replaces_content_with_mode),
		cmocka_unit_test(test_proc_start_time_identifies_this_process),
	};
	return cmocka_run_group_tests_name("basic-strbuf", tests, NULL, NULL);
}
