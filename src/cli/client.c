/* The CLI's connection to the root daemon: request frames out, response frames in. */
#include "basic/encoding.h"
#include "cli/cli.h"
#include "shared/frame.h"

#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

void
cli_response_done(struct cli_response *r)
{
	free(r->message);
	json_decref(r->body);
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

static int
cli_connect(struct cli *c)
{
	if (c->fd >= 0)
		return 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_free_ char *path = xasprintf("%s/run/api.sock", c->root);
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "berth: socket path '%s' is too long\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = negative_errno();
		if (fd >= 0)
			close(fd);
		if (r == -EACCES)
			fprintf(stderr,
			        "berth: permission denied on %s - the CLI must run as root\n",
			        path);
		else
			fprintf(stderr,
			        "berth: cannot reach berthd at %s: %s (is it running? start it "
			        "with 'make run' or 'berthd --root %s')\n",
			        path, strerror(-r), c->root);
		return r;
	}
	c->fd = fd;
	return 0;
}

static void
append_pair(struct strbuf *sb, const char *k, const char *v)
{
	_cleanup_free_ char *ek = percent_encode(k), *ev = percent_encode(v);
	sb_printf(sb, "%s%s=%s", sb->len ? "&" : "", ek, ev);
}

static char *
urlencode_params(json_t *params)
{
	struct strbuf sb = STRBUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach (params, k, v) {
		if (json_is_array(v)) {
			size_t i;
			json_t *el;
			json_array_foreach (v, i, el)
				append_pair(&sb, k, json_string_value(el));
		} else {
			append_pair(&sb, k, json_string_value(v));
		}
	}
	return sb_steal(&sb);
}

int
cli_call(struct cli *c, const char *method, const char *path, json_t *params,
         struct cli_response *ret)
{
	int r = cli_connect(c);
	if (r < 0)
		return r;
	_cleanup_free_ char *encoded = params ? urlencode_params(params) : xstrdup("");
	/* the path goes percent-encoded per segment, as a client would send it */
	_cleanup_strbuf_ struct strbuf p = STRBUF_INIT;
	sb_puts(&p, "/api2/json");
	for (const char *s = path; *s;) {
		while (*s == '/')
			s++;
		size_t n = strcspn(s, "/");
		if (n) {
			_cleanup_free_ char *seg = xstrndup(s, n);
			_cleanup_free_ char *enc = percent_encode(seg);
			sb_printf(&p, "/%s", enc);
		}
		s += n;
	}
	bool body = streq(method, "POST") || streq(method, "PUT");
	uint64_t id = ++c->next_id;
	json_t *hdr = json_pack("{s:s, s:I, s:s, s:s}", "type", "request", "id", (json_int_t)id,
	                        "method", method, "path", sb_str(&p));
	if (body)
		json_object_set_new(hdr, "content_type",
		                    json_string("application/x-www-form-urlencoded"));
	else
		json_object_set_new(hdr, "query", json_string(encoded));
	r = frame_send(c->fd, hdr, body ? encoded : NULL, body ? strlen(encoded) : 0, NULL, 0);
	if (r < 0) {
		fprintf(stderr, "berth: sending the request failed: %s\n", strerror(-r));
		return r;
	}
	struct frame_reader rd = { 0 };
	struct frame f;
	for (;;) {
		r = frame_recv(c->fd, &rd, &f);
		if (r <= 0) {
			frame_reader_done(&rd);
			fprintf(stderr, "berth: berthd closed the connection\n");
			return r < 0 ? r : -EPIPE;
		}
		if ((uint64_t)json_integer_value(json_object_get(f.hdr, "id")) == id)
			break;
		frame_done(&f);
	}
	frame_reader_done(&rd);
	memset(ret, 0, sizeof(*ret));
	ret->status = (int)json_integer_value(json_object_get(f.hdr, "status"));
	const char *msg = json_string_value(json_object_get(f.hdr, "message"));
	ret->message = xstrdup(msg ? msg : "");
	const char *type = json_string_value(json_object_get(f.hdr, "content_type"));
	if (f.payload_len && type && !startswith(type, "application/json")) {
		ret->raw = xmalloc(f.payload_len);
		memcpy(ret->raw, f.payload, f.payload_len);
		ret->raw_len = f.payload_len;
	} else if (f.payload_len) {
		ret->body = json_loadb(f.payload, f.payload_len, 0, NULL);
	}
	frame_done(&f);
	return 0;
}

int
cli_call_ok(struct cli *c, const char *method, const char *path, json_t *params,
            struct cli_response *ret)
{
	int k = cli_call(c, method, path, params, ret);
	json_decref(params);
	if (k < 0)
		return -1;
	if (ret->status != 200) {
		cli_print_error(ret);
		cli_response_done(ret);
		return -1;
	}
	return 0;
}

void
cli_print_error(const struct cli_response *r)
{
	fprintf(stderr, "%d %s\n", r->status, r->message);
	json_t *errors = json_object_get(r->body, "errors");
	const char *k;
	json_t *v;
	json_object_foreach (errors, k, v) {
		const char *m = json_string_value(v);
		size_t n = m ? strlen(m) : 0;
		while (n && m[n - 1] == '\n')
			n--;
		fprintf(stderr, "%s: %.*s\n", k, (int)n, m ? m : "");
	}
}
