/* Unit tests: the multipart/form-data upload parser — golden bodies, every split point,
 * random chunkings, boundary look-alikes in the file, and hostile bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proxy/multipart.h"

#include <stdio.h>
#include <stdlib.h>

#define B "----berthBoundary7MA4YWxk"

/* What the parser reported, in a form that compares as one string. */
struct result {
	int feed;   /* first failing feed, or 0 */
	int finish; /* multipart_finish's result (not called after a failing feed) */
	char error[MP_ERROR_MAX];
	struct strbuf fields; /* "name=value\n" each */
	char filename[256];
	struct strbuf file;
	unsigned file_begins, file_ends;
	int fail_file_data; /* make file_data fail with this */
};

static int
on_field(void *user, const char *name, const char *value, size_t len)
{
	struct result *res = user;
	sb_printf(&res->fields, "%s=", name);
	sb_append(&res->fields, value, len);
	sb_putc(&res->fields, '\n');
	return 0;
}

static int
on_file_begin(void *user, const char *filename)
{
	struct result *res = user;
	snprintf(res->filename, sizeof(res->filename), "%s", filename);
	res->file_begins++;
	return 0;
}

static int
on_file_data(void *user, const void *data, size_t len)
{
	struct result *res = user;
	if (res->fail_file_data)
		return res->fail_file_data;
	sb_append(&res->file, data, len);
	return 0;
}

static int
on_file_end(void *user)
{
	struct result *res = user;
	res->file_ends++;
	return 0;
}

static const struct multipart_ops ops = {
	.field = on_field,
	.file_begin = on_file_begin,
	.file_data = on_file_data,
	.file_end = on_file_end,
};

/* Feed body in the pieces that cuts[] (ascending offsets) makes. */
static void
run_cuts(const char *body, size_t len, const size_t *cuts, size_t n_cuts, struct result *res)
{
	struct multipart m;
	multipart_init(&m, B, &ops, res);
	size_t off = 0;
	for (size_t i = 0; i <= n_cuts; i++) {
		size_t end = i < n_cuts ? cuts[i] : len;
		int r = multipart_feed(&m, body + off, end - off);
		off = end;
		if (r < 0) {
			res->feed = r;
			break;
		}
	}
	if (!res->feed)
		res->finish = multipart_finish(&m);
	snprintf(res->error, sizeof(res->error), "%s", m.error);
	multipart_done(&m);
}

static void
run(const char *body, size_t len, struct result *res)
{
	run_cuts(body, len, NULL, 0, res);
}

static void
result_done(struct result *res)
{
	sb_free(&res->fields);
	sb_free(&res->file);
}

/* A boundary line with other text after it: RFC 2046 forbids the boundary in the data. */
static const char text_after_boundary[] =
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"filename\"; filename=\"a.iso\"\r\n\r\n"
        "line one\r\n--" B "X is not a boundary line\r\n"
        "\r\n--" B "--\r\n";

#define B_BUT_LAST "----berthBoundary7MA4YWx"

/* Boundary look-alikes the file may hold: at the start of the part (no CRLF before it), after
 * a bare LF or a bare CR, a prefix of the delimiter, CRs before the real delimiter. */
#define SAMPLE_FILE                                                                                \
	"--" B "-- at the start\n--" B "\r\n\r--" B "\r\n--" B_BUT_LAST "K\r\n-\r\n--\r\n\r\r\r "  \
	"abc--" B "--\r\n\r"

/* What python-requests sends for proxmoxer's upload (fields first, then the file), with
 * the variations a client may use. */
static const char sample[] =
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"content\"\r\n\r\n"
        "iso\r\n"
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"checksum-algorithm\"\r\n\r\n"
        "sha256\r\n"
        "--" B "\r\n"
        "content-disposition: form-data; name=checksum\r\n\r\n"
        "  0123abcd \r\n"
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"filename\"; filename=\"debian 12.iso\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n" SAMPLE_FILE "\r\n--" B "  \r\n"
        "Content-Disposition: form-data; name=\"after\"\r\n\r\n"
        "ignored\r\n"
        "--" B "--\r\nepilogue --" B "--\r\n";

static const char sample_file[] = SAMPLE_FILE;

static void
assert_sample(const struct result *res)
{
	assert_int_equal(res->feed, 0);
	assert_int_equal(res->finish, 0);
	assert_string_equal(sb_str(&res->fields), "content=iso\nchecksum-algorithm=sha256\n"
	                                          "checksum=0123abcd\n");
	assert_string_equal(res->filename, "debian 12.iso");
	assert_int_equal(res->file.len, sizeof(sample_file) - 1);
	assert_memory_equal(res->file.buf, sample_file, sizeof(sample_file) - 1);
	assert_int_equal(res->file_begins, 1);
	assert_int_equal(res->file_ends, 1);
}

static void
test_sample_body_gives_fields_filename_and_exact_file_bytes(void **state)
{
	struct result res = { 0 };
	run(sample, sizeof(sample) - 1, &res);
	assert_sample(&res);
	result_done(&res);
}

static void
test_boundary_followed_by_other_text_in_the_file_is_refused(void **state)
{
	/* RFC 2046: the boundary must not occur in the data; a delimiter line with other text
	 * after it is malformed, not content */
	struct result res = { 0 };
	run(text_after_boundary, sizeof(text_after_boundary) - 1, &res);
	assert_int_equal(res.feed, -EBADMSG);
	assert_string_equal(res.error, "malformed multipart boundary line");
	result_done(&res);
}

static void
test_every_split_point_gives_the_same_result(void **state)
{
	size_t len = sizeof(sample) - 1;
	for (size_t i = 0; i <= len; i++) {
		struct result res = { 0 };
		run_cuts(sample, len, &i, 1, &res);
		assert_sample(&res);
		result_done(&res);
	}
}

static void
test_every_pair_of_split_points_gives_the_same_result(void **state)
{
	size_t len = sizeof(sample) - 1;
	for (size_t i = 0; i <= len; i += 3)
		for (size_t j = i; j <= len; j++) {
			size_t cuts[2] = { i, j };
			struct result res = { 0 };
			run_cuts(sample, len, cuts, 2, &res);
			assert_sample(&res);
			result_done(&res);
		}
}

static void
test_byte_by_byte_and_random_chunks_give_the_same_result(void **state)
{
	size_t len = sizeof(sample) - 1;
	size_t *cuts = calloc(len, sizeof(*cuts));
	for (size_t i = 0; i < len; i++)
		cuts[i] = i + 1;
	struct result res = { 0 };
	run_cuts(sample, len - 0, cuts, len - 1, &res);
	assert_sample(&res);
	result_done(&res);

	srand(4711);
	for (int round = 0; round < 2000; round++) {
		size_t n = 0, off = 0;
		while (true) {
			off += 1 + (size_t)rand() % (round % 2 ? 5 : 80);
			if (off >= len)
				break;
			cuts[n++] = off;
		}
		struct result r2 = { 0 };
		run_cuts(sample, len, cuts, n, &r2);
		assert_sample(&r2);
		result_done(&r2);
	}
	free(cuts);
}

/* A hostile body must fail the same way however it is split. */
static void
expect_failure(const char *body, const char *error)
{
	size_t len = strlen(body);
	struct result whole = { 0 };
	run(body, len, &whole);
	assert_true(whole.feed == -EBADMSG || whole.finish == -EBADMSG);
	assert_string_equal(whole.error, error);
	for (size_t i = 0; i <= len; i++) {
		struct result res = { 0 };
		run_cuts(body, len, &i, 1, &res);
		assert_string_equal(res.error, error);
		assert_int_equal(res.file.len, whole.file.len);
		result_done(&res);
	}
	result_done(&whole);
}

#define CD(name)    "Content-Disposition: form-data; name=\"" name "\""
#define FILEPART(f) "--" B "\r\n" CD("filename") "; filename=\"" f "\"\r\n\r\n"

static void
test_body_without_the_closing_boundary_is_unterminated(void **state)
{
	expect_failure(FILEPART("a.iso") "data", "unterminated multipart body");
	expect_failure(FILEPART("a.iso") "data\r\n--" B, "unterminated multipart body");
	expect_failure(FILEPART("a.iso") "data\r\n--" B "-", "unterminated multipart body");
	expect_failure(FILEPART("a.iso") "data\r\n--" B "\r\n", "unterminated multipart body");
	expect_failure("--" B "\r\n" CD("content"), "unterminated multipart body");
}

static void
test_body_without_the_boundary_is_refused(void **state)
{
	expect_failure("", "missing multipart boundary");
	expect_failure("hello world", "missing multipart boundary");
	expect_failure("--other\r\n" CD("content") "\r\n\r\niso\r\n--other--\r\n",
	               "missing multipart boundary");
	/* a preamble is allowed, but only a short one */
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < 1000; i++)
		sb_puts(&sb, "preamble ");
	sb_puts(&sb, "\r\n" FILEPART("a.iso") "x\r\n--" B "--");
	struct result res = { 0 };
	run(sb.buf, sb.len, &res);
	assert_int_equal(res.feed, -EBADMSG);
	assert_string_equal(res.error, "missing multipart boundary");
	result_done(&res);
	sb_free(&sb);
}

static void
test_preamble_padding_and_epilogue_are_accepted(void **state)
{
	static const char body[] = "This is the preamble.\r\n--" B " \t\r\n" CD(
	        "filename") "; filename=\"a.iso\"\r\n\r\nDATA\r\n--" B "--  trailing junk";
	struct result res = { 0 };
	run(body, sizeof(body) - 1, &res);
	assert_int_equal(res.feed, 0);
	assert_int_equal(res.finish, 0);
	assert_string_equal(res.filename, "a.iso");
	assert_string_equal(sb_str(&res.file), "DATA");
	result_done(&res);
}

static void
test_empty_file_is_a_complete_upload(void **state)
{
	static const char body[] = FILEPART("empty.iso") "\r\n--" B "--";
	struct result res = { 0 };
	run(body, sizeof(body) - 1, &res);
	assert_int_equal(res.finish, 0);
	assert_int_equal(res.file.len, 0);
	assert_int_equal(res.file_ends, 1);
	result_done(&res);
}

static void
test_crlf_variations_are_refused_not_guessed(void **state)
{
	/* bare LF after the boundary, in the headers; CR without LF */
	expect_failure("--" B "\n" CD("filename") "; filename=\"a\"\r\n\r\nx\r\n--" B "--",
	               "malformed multipart boundary line");
	expect_failure("--" B "\r\n" CD("filename") "; filename=\"a\"\n\nx\r\n--" B "--",
	               "bare LF in multipart part header");
	expect_failure("--" B "\r\n" CD("filename") "; filename=\"a\"\r\n\nx\r\n--" B "--",
	               "bare LF in multipart part header");
	expect_failure("--" B "\r\r\n" CD("content") "\r\n\r\nx\r\n--" B "--",
	               "malformed multipart boundary line");
	expect_failure("--" B "\r\n" CD("content") "\rX: y\r\n\r\nx\r\n--" B "--",
	               "invalid multipart part header");
	/* an LF-only delimiter inside the file is content: the body stays unterminated */
	expect_failure(FILEPART("a") "x\n--" B "--\n", "unterminated multipart body");
}

static void
test_part_without_content_disposition_is_refused(void **state)
{
	expect_failure("--" B "\r\nContent-Type: text/plain\r\n\r\niso\r\n--" B "--",
	               "missing Content-Disposition in multipart part");
	expect_failure("--" B "\r\n\r\niso\r\n--" B "--",
	               "missing Content-Disposition in multipart part");
	expect_failure("--" B "\r\nContent-Disposition: attachment; name=\"content\"\r\n\r\n"
	               "iso\r\n--" B "--",
	               "wrong Content-Disposition 'attachment' in multipart, expected 'form-data'");
	expect_failure("--" B "\r\n" CD("content") "\r\n" CD("content") "\r\n\r\niso\r\n--" B "--",
	               "repeated Content-Disposition in multipart part");
	expect_failure("--" B "\r\nContent-Disposition: form-data; name=\"a\"; name=\"b\"\r\n\r\n"
	               "x\r\n--" B "--",
	               "repeated 'name' in multipart Content-Disposition");
	expect_failure("--" B "\r\nContent-Disposition: form-data; name=\"unterminated\r\n\r\n"
	               "x\r\n--" B "--",
	               "invalid Content-Disposition in multipart");
	expect_failure("--" B "\r\nContent-Disposition: form-data\r\n\r\nx\r\n--" B "--",
	               "missing field name in multipart part");
	expect_failure("--" B "\r\n Content-Disposition: form-data\r\n\r\nx\r\n--" B "--",
	               "folded multipart part header");
	expect_failure("--" B "\r\nBad Header: x\r\n\r\nx\r\n--" B "--",
	               "invalid multipart part header");
}

static void
test_huge_part_header_is_refused(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, "--" B "\r\n" CD("content") "\r\nX-Pad: ");
	for (unsigned i = 0; i < MP_MAX_HEADER; i++)
		sb_putc(&sb, 'p');
	sb_puts(&sb, "\r\n\r\niso\r\n" FILEPART("a") "x\r\n--" B "--");
	expect_failure(sb.buf, "multipart part header too large");
	sb_free(&sb);

	/* exactly at the limit is fine */
	static const char line[] = CD("filename") "; filename=\"a\"\r\n";
	sb_puts(&sb, "--" B "\r\n" CD("filename") "; filename=\"a\"\r\nX-Pad: ");
	for (size_t k = 0; k < MP_MAX_HEADER - (strlen(line) + 7 + 4); k++)
		sb_putc(&sb, 'p');
	sb_puts(&sb, "\r\n\r\nx\r\n--" B "--");
	struct result res = { 0 };
	run(sb.buf, sb.len, &res);
	assert_int_equal(res.finish, 0);
	assert_string_equal(sb_str(&res.file), "x");
	result_done(&res);
	sb_free(&sb);
}

static void
test_file_part_named_otherwise_is_refused_as_pve_does(void **state)
{
	expect_failure("--" B "\r\n" CD("file") "; filename=\"a.iso\"\r\n\r\nx\r\n--" B "--",
	               "wrong field name 'file' for file upload, expected 'filename'");
	expect_failure(FILEPART("  ") "x\r\n--" B "--", "missing file name in multipart upload");
	expect_failure("--" B "\r\n" CD("filename") "\r\n\r\na.iso\r\n--" B "--",
	               "multipart field 'filename' must be a file");
	expect_failure("--" B "\r\n" CD("content") "\r\n\r\niso\r\n--" B "--",
	               "missing file part 'filename' in multipart upload");
}

static void
test_fields_after_the_file_are_ignored(void **state)
{
	static const char body[] = "--" B "\r\n" CD("content") "\r\n\r\nvztmpl\r\n" FILEPART(
	        "t.tar.zst") "FILE\r\n"
	                     "--" B
	                     "\r\n" CD("content") "\r\n\r\niso\r\n"
	                                          "--" B "\r\n" CD(
	                                                  "filename") "; "
	                                                              "filename="
	                                                              "\"second\"\r\n\r\nSECOND\r\n"
	                                                              "--" B "--";
	struct result res = { 0 };
	run(body, sizeof(body) - 1, &res);
	assert_int_equal(res.finish, 0);
	assert_string_equal(sb_str(&res.fields), "content=vztmpl\n");
	assert_string_equal(res.filename, "t.tar.zst");
	assert_string_equal(sb_str(&res.file), "FILE");
	assert_int_equal(res.file_begins, 1);
	result_done(&res);
}

static void
test_fields_are_limited_to_64_kib_in_all(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < 3; i++) {
		sb_printf(&sb, "--" B "\r\n" CD("f%d") "\r\n\r\n", i);
		for (int k = 0; k < 30000; k++)
			sb_putc(&sb, 'v');
		sb_puts(&sb, "\r\n");
	}
	sb_puts(&sb, FILEPART("a") "x\r\n--" B "--");
	struct result res = { 0 };
	run(sb.buf, sb.len, &res);
	assert_int_equal(res.feed, -EBADMSG);
	assert_string_equal(res.error, "multipart form fields too large");
	assert_int_equal(res.file_begins, 0);
	result_done(&res);
	sb_free(&sb);
}

static void
test_field_values_may_hold_any_bytes(void **state)
{
	static const char body[] = "--" B "\r\n" CD("note") "\r\n\r\n a\0b\r\nc \r\n" FILEPART(
	        "\xc3\xa4 x.iso") "x\r\n--" B "--";
	struct result res = { 0 };
	run(body, sizeof(body) - 1, &res);
	assert_int_equal(res.finish, 0);
	assert_int_equal(res.fields.len, strlen("note=") + 6 + 1);
	assert_memory_equal(res.fields.buf, "note=a\0b\r\nc\n", res.fields.len);
	assert_string_equal(res.filename, "\xc3\xa4 x.iso");
	result_done(&res);
}

static void
test_a_failing_file_callback_stops_the_parser(void **state)
{
	static const char body[] = FILEPART("a") "xyz\r\n--" B "--";
	struct result res = { .fail_file_data = -ENOSPC };
	run(body, sizeof(body) - 1, &res);
	assert_int_equal(res.feed, -ENOSPC);
	assert_string_equal(res.error, "");
	result_done(&res);
}

static void
test_boundary_is_taken_from_the_content_type(void **state)
{
	char b[MP_MAX_BOUNDARY + 1];
	assert_int_equal(multipart_boundary("multipart/form-data; boundary=abc", b), 0);
	assert_string_equal(b, "abc");
	assert_int_equal(multipart_boundary("Multipart/Form-Data;boundary=\"a b'()+_,-./:=?\"", b),
	                 0);
	assert_string_equal(b, "a b'()+_,-./:=?");
	assert_int_equal(multipart_boundary("multipart/form-data; charset=utf-8; boundary=x-1 ", b),
	                 0);
	assert_string_equal(b, "x-1");

	const char *bad[] = {
		NULL,
		"",
		"multipart/form-data",
		"multipart/form-data; boundary=",
		"multipart/form-data; boundary=\"\"",
		"multipart/form-data; boundary=a; boundary=b",
		"multipart/form-data; boundary=\"a \"",
		"multipart/form-data; boundary=\"unterminated",
		"multipart/form-data; boundary=a{b",
		"multipart/mixed; boundary=abc",
		"application/x-www-form-urlencoded; boundary=abc",
		"multipart/form-data; boundary=a b",
		"multipart/form-data; boundary=01234567890123456789012345678901234567890123456789"
		"012345678901234567890",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(multipart_boundary(bad[i], b), -EINVAL);
	/* exactly 70 is allowed */
	assert_int_equal(
	        multipart_boundary("multipart/form-data; boundary=0123456789012345678901234567890"
	                           "123456789012345678901234567890123456789",
	                           b),
	        0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_body_gives_fields_filename_and_exact_file_bytes),
		cmocka_unit_test(test_boundary_followed_by_other_text_in_the_file_is_refused),
		cmocka_unit_test(test_every_split_point_gives_the_same_result),
		cmocka_unit_test(test_every_pair_of_split_points_gives_the_same_result),
		cmocka_unit_test(test_byte_by_byte_and_random_chunks_give_the_same_result),
		cmocka_unit_test(test_body_without_the_closing_boundary_is_unterminated),
		cmocka_unit_test(test_body_without_the_boundary_is_refused),
		cmocka_unit_test(test_preamble_padding_and_epilogue_are_accepted),
		cmocka_unit_test(test_empty_file_is_a_complete_upload),
		cmocka_unit_test(test_crlf_variations_are_refused_not_guessed),
		cmocka_unit_test(test_part_without_content_disposition_is_refused),
		cmocka_unit_test(test_huge_part_header_is_refused),
		cmocka_unit_test(test_file_part_named_otherwise_is_refused_as_pve_does),
		cmocka_unit_test(test_fields_after_the_file_are_ignored),
		cmocka_unit_test(test_fields_are_limited_to_64_kib_in_all),
		cmocka_unit_test(test_field_values_may_hold_any_bytes),
		cmocka_unit_test(test_a_failing_file_callback_stops_the_parser),
		cmocka_unit_test(test_boundary_is_taken_from_the_content_type),
	};
	return cmocka_run_group_tests_name("proxy-multipart", tests, NULL, NULL);
}
