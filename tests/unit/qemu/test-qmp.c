/* The QMP client against a scripted peer on a socketpair: greeting and capabilities, answers
 * matched by id with events in between, QMP errors, timeouts, a closed socket, garbage and an
 * over-long line. (Real QEMU is driven by the integration tests.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "guest/qemu/qmp.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>

#define GREETING                                                                                   \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, "         \
	"\"capabilities\": []}}\r\n"

/* The peer: for each command line it reads, it writes the next scripted reply, in which
 * "@ID" stands for the id of the command it answers. NULL reply: read and stay silent. */
struct peer {
	int fd;
	const char *greeting;
	const char *const *replies;
	size_t n;
	bool close_after;
};

static const char *
find_id(const char *line, char *buf, size_t len)
{
	const char *p = strstr(line, "\"id\":");
	if (!p)
		return NULL;
	p += 5;
	size_t n = strspn(p, "0123456789");
	snprintf(buf, len, "%.*s", (int)n, p);
	return buf;
}

static void *
peer_main(void *arg)
{
	struct peer *pe = arg;
	if (pe->greeting)
		(void)write_all(pe->fd, pe->greeting, strlen(pe->greeting));
	char line[65536];
	size_t have = 0;
	for (size_t i = 0; i < pe->n; i++) {
		char *nl;
		while (!(nl = memchr(line, '\n', have))) {
			ssize_t k = read(pe->fd, line + have, sizeof(line) - have);
			if (k <= 0)
				return NULL;
			have += (size_t)k;
		}
		*nl = '\0';
		char id[32] = "";
		find_id(line, id, sizeof(id));
		const char *reply = pe->replies[i];
		if (reply) {
			/* substitute @ID */
			char out[65536];
			size_t o = 0;
			for (const char *r = reply; *r && o < sizeof(out) - 32; r++) {
				if (strncmp(r, "@ID", 3) == 0) {
					o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", id);
					r += 2;
				} else {
					out[o++] = *r;
				}
			}
			(void)write_all(pe->fd, out, o);
		}
		size_t used = (size_t)(nl - line) + 1;
		memmove(line, line + used, have - used);
		have -= used;
	}
	if (pe->close_after)
		shutdown(pe->fd, SHUT_RDWR);
	return NULL;
}

struct conv {
	pthread_t th;
	struct peer pe;
	int client_fd;
};

static void
conv_start(struct conv *c, const char *greeting, const char *const *replies, size_t n,
           bool close_after)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	c->pe = (struct peer){ sv[1], greeting, replies, n, close_after };
	c->client_fd = sv[0];
	assert_int_equal(pthread_create(&c->th, NULL, peer_main, &c->pe), 0);
}

static void
conv_end(struct conv *c)
{
	shutdown(c->pe.fd, SHUT_RDWR);
	pthread_join(c->th, NULL);
	close(c->pe.fd);
}

#define CAPS_OK "{\"return\": {}, \"id\": @ID}\r\n"

static void
test_commands_get_their_own_answers_and_events_are_kept(void **state)
{
	static const char *const replies[] = {
		CAPS_OK,
		/* an event first, then a stale answer to an id we never sent, then ours */
		"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\r\n"
		"{\"return\": {\"status\": \"paused\"}, \"id\": 999}\r\n"
		"{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": @ID}\r\n",
		"{\"error\": {\"class\": \"GenericError\", \"desc\": \"Device 'x' not found\"}, "
		"\"id\": @ID}\r\n",
		"{\"return\": {}, \"id\": @ID}\n", /* LF only is fine too */
	};
	struct conv c;
	conv_start(&c, GREETING, replies, ARRAY_SIZE(replies), false);
	struct qmp *q = NULL;
	struct error err = { 0 };
	assert_int_equal(qmp_open_fd(c.client_fd, 2000, &q, &err), 0);

	json_t *ret = NULL;
	assert_int_equal(qmp_command(q, "query-status", NULL, 2000, &ret, &err), 0);
	assert_string_equal(json_string_value(json_object_get(ret, "status")), "running");
	json_decref(ret);
	assert_int_equal(json_array_size(qmp_events(q)), 1);
	assert_string_equal(
	        json_string_value(json_object_get(json_array_get(qmp_events(q), 0), "event")),
	        "RESUME");

	json_t *args = json_pack("{s:s}", "id", "x");
	assert_int_equal(qmp_command(q, "device_del", args, 2000, NULL, &err), -EIO);
	json_decref(args);
	assert_string_equal(err.msg, "Device 'x' not found");

	/* an error does not break the connection */
	assert_int_equal(qmp_command(q, "cont", NULL, 2000, NULL, &err), 0);
	qmp_close(q);
	conv_end(&c);
}

static void
test_greeting_is_required(void **state)
{
	struct conv c;
	conv_start(&c, "{\"return\": {}}\r\n", NULL, 0, false);
	struct qmp *q = NULL;
	struct error err = { 0 };
	assert_int_equal(qmp_open_fd(c.client_fd, 1000, &q, &err), -EBADMSG);
	assert_null(q);
	conv_end(&c);
}

static void
test_silence_times_out_and_the_connection_is_then_unusable(void **state)
{
	static const char *const replies[] = { CAPS_OK, NULL };
	struct conv c;
	conv_start(&c, GREETING, replies, ARRAY_SIZE(replies), false);
	struct qmp *q = NULL;
	struct error err = { 0 };
	assert_int_equal(qmp_open_fd(c.client_fd, 2000, &q, &err), 0);
	assert_int_equal(qmp_command(q, "query-status", NULL, 100, NULL, &err), -ETIMEDOUT);
	assert_int_equal(qmp_command(q, "query-status", NULL, 100, NULL, &err), -EPIPE);
	qmp_close(q);
	conv_end(&c);
}

static void
test_closed_socket_and_garbage_are_errors(void **state)
{
	static const char *const closing[] = { CAPS_OK, NULL };
	struct conv c;
	conv_start(&c, GREETING, closing, ARRAY_SIZE(closing), true);
	struct qmp *q = NULL;
	struct error err = { 0 };
	assert_int_equal(qmp_open_fd(c.client_fd, 2000, &q, &err), 0);
	assert_int_equal(qmp_command(q, "quit", NULL, 2000, NULL, &err), -EPIPE);
	qmp_close(q);
	conv_end(&c);

	static const char *const garbage[] = { CAPS_OK, "[1, 2]\r\n" };
	conv_start(&c, GREETING, garbage, ARRAY_SIZE(garbage), false);
	assert_int_equal(qmp_open_fd(c.client_fd, 2000, &q, &err), 0);
	assert_int_equal(qmp_command(q, "query-status", NULL, 2000, NULL, &err), -EBADMSG);
	qmp_close(q);
	conv_end(&c);
}

struct big_writer {
	int fd;
	const char *data;
};

static void *
big_writer_main(void *arg)
{
	struct big_writer *b = arg;
	(void)write_all(b->fd, b->data, strlen(b->data)); /* fails once the client hangs up */
	return NULL;
}

static void
test_an_endless_line_is_cut_off(void **state)
{
	static const char *const replies[] = { CAPS_OK };
	char *big = xmalloc(QMP_LINE_MAX + 16);
	memset(big, ' ', QMP_LINE_MAX + 8);
	big[QMP_LINE_MAX + 8] = '\0';
	struct conv c;
	conv_start(&c, GREETING, replies, ARRAY_SIZE(replies), false);
	struct qmp *q = NULL;
	struct error err = { 0 };
	assert_int_equal(qmp_open_fd(c.client_fd, 2000, &q, &err), 0);
	pthread_join(c.th, NULL);
	/* the answer to the next command is a line that never ends */
	struct big_writer b = { c.pe.fd, big };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, big_writer_main, &b), 0);
	assert_int_equal(qmp_command(q, "query-status", NULL, 5000, NULL, &err), -EBADMSG);
	qmp_close(q);
	pthread_join(th, NULL);
	close(c.pe.fd);
	free(big);
}

static void
test_connect_to_a_missing_socket_says_which(void **state)
{
	struct qmp *q = NULL;
	struct error err = { 0 };
	assert_true(qmp_connect("/nonexistent/berth-test.qmp", 100, &q, &err) < 0);
	assert_non_null(strstr(err.msg, "/nonexistent/berth-test.qmp"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands_get_their_own_answers_and_events_are_kept),
		cmocka_unit_test(test_greeting_is_required),
		cmocka_unit_test(test_silence_times_out_and_the_connection_is_then_unusable),
		cmocka_unit_test(test_closed_socket_and_garbage_are_errors),
		cmocka_unit_test(test_an_endless_line_is_cut_off),
		cmocka_unit_test(test_connect_to_a_missing_socket_says_which),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
