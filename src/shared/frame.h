/* Typed messages between Berth processes: length-prefixed frames on unix stream sockets.
 *
 * Wire form of one frame:
 *     u32 big-endian  total   = length of header + payload
 *     u32 big-endian  hlen    = length of header
 *     header          a JSON object (UTF-8), always with a "type" string member
 *     payload         opaque bytes (request or response body)
 * File descriptors travel with SCM_RIGHTS attached to the frame's first byte; the header's
 * "fds" member (integer, default 0) says how many belong to this frame, so the receiver can
 * pair descriptors with frames even when several arrive in one read.
 *
 * Message types and their members are listed in docs/internals.md ("Process messages"). */
#pragma once

#include "basic/macros.h"
#include "basic/strbuf.h"

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#define FRAME_MAX     (16u << 20) /* hard limit for one frame; bigger data goes by fd */
#define FRAME_MAX_FDS 4
#define FRAME_PREFIX  8

struct frame {
	json_t *hdr;
	char *payload; /* NUL-terminated for convenience; payload_len excludes the NUL */
	size_t payload_len;
	int fds[FRAME_MAX_FDS];
	unsigned n_fds;
};

/* Free the header and payload and close any descriptors still owned by the frame. */
void frame_done(struct frame *f);
/* Take descriptor i out of the frame (the caller owns it now); -1 if absent. */
int frame_take_fd(struct frame *f, unsigned i);

/* Incremental reader for a (usually nonblocking) socket. */
struct frame_reader {
	struct strbuf in;
	int fds[16]; /* received descriptors not yet paired with a frame */
	unsigned n_fds;
};

/* Read what is available. Returns bytes read (> 0), 0 on EOF, -EAGAIN if nothing is ready,
 * other -errno on failure. */
ssize_t frame_reader_fill(struct frame_reader *r, int fd);
/* Take the next complete frame: 1 = *ret filled, 0 = need more bytes, -EBADMSG = the stream
 * is corrupt (close the connection). */
int frame_reader_next(struct frame_reader *r, struct frame *ret);
void frame_reader_done(struct frame_reader *r);

/* Outgoing queue for a nonblocking socket. */
struct frame_out;
struct frame_writer {
	struct frame_out *head, *tail;
	size_t queued_bytes;
};

/* Queue a frame. Takes ownership of hdr (its "fds" member is set here) and of fds (closed
 * once sent, or by frame_writer_done). */
void frame_writer_push(struct frame_writer *w, json_t *hdr, const void *payload, size_t len,
                       const int *fds, unsigned n_fds);
/* Send as much as possible: 1 = queue empty, 0 = data left (wait for POLLOUT), -errno. */
int frame_writer_flush(struct frame_writer *w, int fd);
static inline bool
frame_writer_pending(const struct frame_writer *w)
{
	return w->head != NULL;
}
void frame_writer_done(struct frame_writer *w);

/* Blocking helpers for simple peers (the CLI, task workers). frame_send takes ownership of
 * hdr; the caller keeps its fds (copies are sent). */
int frame_send(int fd, json_t *hdr, const void *payload, size_t len, const int *fds,
               unsigned n_fds);
/* Blocks until one frame arrived (1), EOF (0) or an error (-errno); r keeps unread bytes. */
int frame_recv(int fd, struct frame_reader *r, struct frame *ret);
