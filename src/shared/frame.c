/* Length-prefixed JSON frames with passed descriptors (see frame.h). */
#include "frame.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

struct frame_out {
	struct frame_out *next;
	char *data;
	size_t len, off;
	int fds[FRAME_MAX_FDS];
	unsigned n_fds;
};

static void
close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

void
frame_done(struct frame *f)
{
	if (!f)
		return;
	json_decref(f->hdr);
	free(f->payload);
	close_fds(f->fds, f->n_fds);
	memset(f, 0, sizeof(*f));
}

int
frame_take_fd(struct frame *f, unsigned i)
{
	if (i >= f->n_fds)
		return -1;
	int fd = f->fds[i];
	f->fds[i] = -1;
	return fd;
}

ssize_t
frame_reader_fill(struct frame_reader *r, int fd)
{
	sb_grow(&r->in, 65536);
	struct iovec iov = { .iov_base = r->in.buf + r->in.len,
		             .iov_len = r->in.cap - r->in.len - 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} control;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	ssize_t n;
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : negative_errno();

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *in = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < k; i++) {
			if (r->n_fds < ARRAY_SIZE(r->fds))
				r->fds[r->n_fds++] = in[i];
			else
				close(in[i]); /* more than any frame may carry: drop */
		}
	}
	if (msg.msg_flags & MSG_CTRUNC)
		return -EBADMSG;
	r->in.len += (size_t)n;
	r->in.buf[r->in.len] = '\0';
	return n;
}

int
frame_reader_next(struct frame_reader *r, struct frame *ret)
{
	if (r->in.len < FRAME_PREFIX)
		return 0;
	uint32_t total, hlen;
	memcpy(&total, r->in.buf, 4);
	memcpy(&hlen, r->in.buf + 4, 4);
	total = ntohl(total);
	hlen = ntohl(hlen);
	if (total > FRAME_MAX || hlen > total || hlen < 2)
		return -EBADMSG;
	if (r->in.len < FRAME_PREFIX + (size_t)total)
		return 0;

	json_error_t jerr;
	json_t *hdr = json_loadb(r->in.buf + FRAME_PREFIX, hlen, JSON_REJECT_DUPLICATES, &jerr);
	if (!hdr || !json_is_object(hdr) || !json_is_string(json_object_get(hdr, "type"))) {
		json_decref(hdr);
		return -EBADMSG;
	}
	json_int_t nfds = json_integer_value(json_object_get(hdr, "fds"));
	if (nfds < 0 || nfds > FRAME_MAX_FDS || (unsigned)nfds > r->n_fds) {
		json_decref(hdr);
		return -EBADMSG;
	}

	memset(ret, 0, sizeof(*ret));
	ret->hdr = hdr;
	ret->payload_len = total - hlen;
	ret->payload = xmalloc(ret->payload_len + 1);
	memcpy(ret->payload, r->in.buf + FRAME_PREFIX + hlen, ret->payload_len);
	ret->payload[ret->payload_len] = '\0';
	ret->n_fds = (unsigned)nfds;
	memcpy(ret->fds, r->fds, sizeof(int) * ret->n_fds);
	memmove(r->fds, r->fds + ret->n_fds, sizeof(int) * (r->n_fds - ret->n_fds));
	r->n_fds -= ret->n_fds;
	sb_consume(&r->in, FRAME_PREFIX + total);
	return 1;
}

void
frame_reader_done(struct frame_reader *r)
{
	sb_free(&r->in);
	close_fds(r->fds, r->n_fds);
	r->n_fds = 0;
}

void
frame_writer_push(struct frame_writer *w, json_t *hdr, const void *payload, size_t len,
                  const int *fds, unsigned n_fds)
{
	if (n_fds > FRAME_MAX_FDS)
		abort(); /* programming error */
	json_object_set_new(hdr, "fds", json_integer(n_fds));
	char *h = json_dumps(hdr, JSON_COMPACT);
	json_decref(hdr);
	if (!h)
		oom();
	size_t hlen = strlen(h);
	struct frame_out *o = xcalloc(1, sizeof(*o));
	o->len = FRAME_PREFIX + hlen + len;
	o->data = xmalloc(o->len);
	uint32_t total = htonl((uint32_t)(hlen + len)), hl = htonl((uint32_t)hlen);
	memcpy(o->data, &total, 4);
	memcpy(o->data + 4, &hl, 4);
	memcpy(o->data + FRAME_PREFIX, h, hlen);
	if (len)
		memcpy(o->data + FRAME_PREFIX + hlen, payload, len);
	free(h);
	o->n_fds = n_fds;
	for (unsigned i = 0; i < n_fds; i++)
		o->fds[i] = fds[i];
	if (w->tail)
		w->tail->next = o;
	else
		w->head = o;
	w->tail = o;
	w->queued_bytes += o->len;
}

static void
frame_out_free(struct frame_out *o)
{
	close_fds(o->fds, o->n_fds);
	free(o->data);
	free(o);
}

int
frame_writer_flush(struct frame_writer *w, int fd)
{
	while (w->head) {
		struct frame_out *o = w->head;
		struct iovec iov = { .iov_base = o->data + o->off, .iov_len = o->len - o->off };
		union {
			char buf[CMSG_SPACE(sizeof(int) * FRAME_MAX_FDS)];
			struct cmsghdr align;
		} control;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (o->off == 0 && o->n_fds > 0) {
			memset(&control, 0, sizeof(control));
			msg.msg_control = control.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * o->n_fds);
			struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * o->n_fds);
			memcpy(CMSG_DATA(c), o->fds, sizeof(int) * o->n_fds);
		}
		ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return negative_errno();
		}
		if (o->off == 0 && o->n_fds > 0) {
			close_fds(o->fds, o->n_fds); /* the peer has its own copies now */
			o->n_fds = 0;
		}
		o->off += (size_t)n;
		w->queued_bytes -= (size_t)n;
		if (o->off < o->len)
			continue;
		w->head = o->next;
		if (!w->head)
			w->tail = NULL;
		frame_out_free(o);
	}
	return 1;
}

void
frame_writer_done(struct frame_writer *w)
{
	while (w->head) {
		struct frame_out *o = w->head;
		w->head = o->next;
		frame_out_free(o);
	}
	w->tail = NULL;
	w->queued_bytes = 0;
}

int
frame_send(int fd, json_t *hdr, const void *payload, size_t len, const int *fds, unsigned n_fds)
{
	int dup_fds[FRAME_MAX_FDS];
	if (n_fds > FRAME_MAX_FDS) {
		json_decref(hdr);
		return -EINVAL;
	}
	/* the writer owns what it sends: give it copies so the caller keeps its descriptors */
	for (unsigned i = 0; i < n_fds; i++) {
		dup_fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (dup_fds[i] < 0) {
			int r = negative_errno();
			close_fds(dup_fds, i);
			json_decref(hdr);
			return r;
		}
	}
	struct frame_writer w = { 0 };
	frame_writer_push(&w, hdr, payload, len, dup_fds, n_fds);
	for (;;) {
		int r = frame_writer_flush(&w, fd);
		if (r != 0) {
			frame_writer_done(&w);
			return r < 0 ? r : 0;
		}
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, -1) < 0 && errno != EINTR) {
			r = negative_errno();
			frame_writer_done(&w);
			return r;
		}
	}
}

int
frame_recv(int fd, struct frame_reader *r, struct frame *ret)
{
	for (;;) {
		int k = frame_reader_next(r, ret);
		if (k != 0)
			return k;
		ssize_t n = frame_reader_fill(r, fd);
		if (n == 0)
			return 0;
		if (n == -EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				return negative_errno();
			continue;
		}
		if (n < 0)
			return (int)n;
	}
}
