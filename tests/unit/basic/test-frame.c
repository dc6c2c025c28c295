/* Unit tests: frames over a socketpair, split reads, passed descriptors, corrupt streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/fileio.h"
#include "shared/frame.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

static void
test_frame_round_trip_with_payload_and_fd(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	json_t *hdr = json_pack("{s:s, s:i}", "type", "request", "id", 7);
	assert_int_equal(frame_send(sv[0], hdr, "body bytes", 10, &devnull, 1), 0);

	struct frame_reader r = { 0 };
	struct frame f;
	assert_int_equal(frame_recv(sv[1], &r, &f), 1);
	assert_string_equal(json_string_value(json_object_get(f.hdr, "type")), "request");
	assert_int_equal(json_integer_value(json_object_get(f.hdr, "id")), 7);
	assert_int_equal(f.payload_len, 10);
	assert_string_equal(f.payload, "body bytes");
	assert_int_equal(f.n_fds, 1);
	struct stat a, b;
	assert_int_equal(fstat(f.fds[0], &a), 0);
	assert_int_equal(fstat(devnull, &b), 0);
	assert_true(a.st_rdev == b.st_rdev);
	frame_done(&f);
	frame_reader_done(&r);
	close(devnull);
	close(sv[0]);
	close(sv[1]);
}

static void
test_frame_reader_assembles_byte_by_byte(void **state)
{
	struct frame_writer w = { 0 };
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	for (int i = 0; i < 3; i++)
		frame_writer_push(&w, json_pack("{s:s, s:i}", "type", "x", "n", i), "abc", 3, NULL,
		                  0);
	assert_int_equal(frame_writer_flush(&w, sv[0]), 1);
	frame_writer_done(&w);

	/* feed the reader one byte at a time through a pipe-like path */
	char buf[4096];
	ssize_t n = read(sv[1], buf, sizeof(buf));
	assert_true(n > 0);
	struct frame_reader r = { 0 };
	int got = 0;
	for (ssize_t i = 0; i < n; i++) {
		sb_append(&r.in, buf + i, 1);
		struct frame f;
		int k;
		while ((k = frame_reader_next(&r, &f)) == 1) {
			assert_int_equal(json_integer_value(json_object_get(f.hdr, "n")), got);
			got++;
			frame_done(&f);
		}
		assert_int_equal(k, 0);
	}
	assert_int_equal(got, 3);
	frame_reader_done(&r);
	close(sv[0]);
	close(sv[1]);
}

static void
test_frame_reader_rejects_corrupt_streams(void **state)
{
	struct frame_reader r = { 0 };
	struct frame f;
	uint32_t pre[2] = { htonl(FRAME_MAX + 1), htonl(2) };
	sb_append(&r.in, pre, sizeof(pre));
	assert_int_equal(frame_reader_next(&r, &f), -EBADMSG);
	frame_reader_done(&r);

	struct frame_reader r2 = { 0 };
	const char *bad = "[1]";
	uint32_t pre2[2] = { htonl(3), htonl(3) };
	sb_append(&r2.in, pre2, sizeof(pre2));
	sb_append(&r2.in, bad, 3);
	assert_int_equal(frame_reader_next(&r2, &f), -EBADMSG); /* not an object with "type" */
	frame_reader_done(&r2);

	struct frame_reader r3 = { 0 };
	const char *claims_fd = "{\"type\":\"x\",\"fds\":1}";
	uint32_t pre3[2] = { htonl((uint32_t)strlen(claims_fd)),
		             htonl((uint32_t)strlen(claims_fd)) };
	sb_append(&r3.in, pre3, sizeof(pre3));
	sb_append(&r3.in, claims_fd, strlen(claims_fd));
	assert_int_equal(frame_reader_next(&r3, &f), -EBADMSG); /* fd promised, none received */
	frame_reader_done(&r3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_round_trip_with_payload_and_fd),
		cmocka_unit_test(test_frame_reader_assembles_byte_by_byte),
		cmocka_unit_test(test_frame_reader_rejects_corrupt_streams),
	};
	return cmocka_run_group_tests_name("basic-frame", tests, NULL, NULL);
}
