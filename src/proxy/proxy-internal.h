/* State shared by the proxy's parts: the process (struct proxy), client connections
 * (conn.c), the root daemon link (upstream.c), static files (static.c), console websocket
 * relays (wsrelay.c), privileges. */
#pragma once

#include "basic/clock.h"
#include "basic/error.h"
#include "basic/strbuf.h"
#include "http-parser.h"
#include "multipart.h"
#include "paths.h"
#include "shared/frame.h"

#include <libwebsockets.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/types.h>

/* Connection cap: beyond it clients get 503 and are closed; PROXY_OVER_CAP more are
 * accepted only to tell them so, any further ones are closed at once. */
#define PROXY_MAX_CONNS 1024
#define PROXY_OVER_CAP  32
#define PROXY_SLOT_BITS 10 /* request id = sequence << PROXY_SLOT_BITS | slot */
#define PROXY_KA_MARGIN 20 /* keep-alive is dropped this close to the cap (PVE does) */
/* Console websockets at once (each holds a second descriptor: its console stream); more get
 * 503. Counted into the descriptor limit. */
#define PROXY_MAX_RELAYS 256

/* Timeouts in milliseconds. */
#define TIMEOUT_HEAD      (10 * 1000)  /* TLS handshake and request head (slowloris) */
#define TIMEOUT_BODY      (30 * 1000)  /* no body byte for this long */
#define TIMEOUT_KEEPALIVE (60 * 1000)  /* idle between requests */
#define TIMEOUT_WRITE     (60 * 1000)  /* no response byte written for this long */
#define TIMEOUT_UPSTREAM  (300 * 1000) /* the root daemon did not answer */
#define TIMEOUT_LINGER    (2 * 1000)   /* draining input after an early error */
#define TIMEOUT_OVER_CAP  (5 * 1000)

#define PROXY_SEND_CHUNK 16384 /* one lws_write; equals pt_serv_buf_size (lws's write cap) */

enum conn_state {
	CONN_HEAD,      /* reading a request head (or idle between requests) */
	CONN_PREFLIGHT, /* an upload's head went to the root daemon: may the body come? */
	CONN_BODY,      /* reading a request body (an upload's: streaming it to a file) */
	CONN_UPSTREAM,  /* waiting for the root daemon's answer */
	CONN_WRITE,     /* writing a response */
	CONN_LINGER,    /* response sent, write side shut, discarding input until EOF */
	CONN_WEBSOCKET, /* upgraded: relaying a console (wsrelay.c); no HTTP timeouts */
};

struct proxy;
struct wsrelay;

/* An upload in progress (upload.c). */
struct upload {
	int fd;             /* the unlinked temporary file, -1 before the preflight's answer */
	uint64_t size;      /* file bytes written */
	struct strbuf form; /* the fields and the file name, urlencoded */
	char error[MP_ERROR_MAX + 64];
	struct multipart mp;
};

/* One client connection: lws allocates it (zeroed) as the wsi's per-session data. */
struct conn {
	struct lws *wsi; /* NULL until adopted */
	struct proxy *proxy;
	struct conn *prev, *next; /* every connection, for the timeout sweep */
	int slot;                 /* index in proxy->slots, -1 over the cap */
	uint64_t inflight;        /* id of the request at the root daemon, 0 when none */
	enum conn_state state;
	int64_t deadline;  /* monotonic ms */
	bool head_started; /* bytes of the current request arrived (idle → head timeout) */
	bool over_cap;
	bool final_queued; /* the final response is in out/body/file */
	bool close_after;  /* close once the response is out */
	bool linger;       /* ... after draining input the client may still be sending */
	bool shut;         /* write side shut down */
	bool head_only;    /* HEAD: the body is not sent */
	bool lws_timeout_off;
	enum proxy_route route;
	char *decoded; /* percent-decoded path of the current request */
	char peer[INET6_ADDRSTRLEN];

	struct strbuf in; /* received, not yet parsed (pipelined requests wait here) */
	struct strbuf out;
	size_t out_off;
	char *body; /* response body from the root daemon */
	size_t body_len, body_off;
	int file_fd; /* static file being sent, -1 */
	uint64_t file_left;
	struct upload *upload; /* the request is an upload (from its head on) */
	struct wsrelay *ws;    /* the request is a websocket upgrade (from its head on) */

	struct http_parser parser;
};

struct proxy {
	struct lws_context *ctx;
	struct lws_vhost *vhost;    /* the TLS listener */
	struct lws_vhost *internal; /* no listener: our own descriptors (upstream, signals) */
	int www_fd;
	int upload_dir_fd; /* O_PATH; -1 without --upload-dir (uploads are refused) */
	int exit_code;
	bool stop;

	struct lws *upstream;
	int upstream_fd;
	struct frame_reader up_in;
	struct frame_writer up_out;
	lws_sorted_usec_list_t up_rearm;
	uint64_t seq;

	struct conn *conns; /* list head */
	unsigned n_conns;   /* including those over the cap */
	bool trim_pending;  /* connections were freed since the last malloc_trim */
	unsigned n_relays;  /* websocket upgrades, from their request on */
	struct conn *slots[PROXY_MAX_CONNS];
	unsigned free_slots[PROXY_MAX_CONNS];
	unsigned n_free;

	lws_sorted_usec_list_t sweep;
};

/* conn.c */
int conn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);
void conn_sweep(struct proxy *p);
/* A response frame from the root daemon for c (the frame stays the caller's to free; its
 * payload may be taken). */
void conn_deliver(struct conn *c, struct frame *f);
/* Queue a bodyless error response; the connection closes after it. */
void conn_respond_error(struct conn *c, int status, const char *message);
/* Close the connection from the loop's next turn (safe from any callback). */
void conn_kill(struct conn *c);

/* upstream.c */
int upstream_connect(struct proxy *p, const char *path, struct error *e);
int upstream_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len);
/* Send c's complete request to the root daemon; the answer comes back by conn_deliver.
 * -EINVAL when a header cannot travel in a frame (not UTF-8). */
int upstream_forward(struct proxy *p, struct conn *c);
/* An upload's head, asking whether its body may come ("preflight"); -EINVAL as above. */
int upstream_preflight(struct proxy *p, struct conn *c);
/* A console websocket's head ("websocket":true), asking for the stream to relay. */
int upstream_websocket(struct proxy *p, struct conn *c);
/* A completed upload: its fields as the urlencoded body, its file's descriptor attached
 * (taken from c->upload). */
int upstream_forward_upload(struct proxy *p, struct conn *c);
/* Forget c's request in flight: its answer will be dropped. */
void upstream_forget(struct proxy *p, struct conn *c);
void upstream_done(struct proxy *p);
void proxy_fatal(struct proxy *p, const char *why);

/* static.c */
struct static_file {
	int fd;
	uint64_t size;
	const char *content_type;
	const char *cache_control;
	const char *encoding; /* "gzip" when the precompressed copy is sent, else NULL */
	bool compressible;    /* a name.gz copy exists: the answer varies by Accept-Encoding */
	char etag[64];
	char last_modified[32];
};
/* Open the file a decoded path names under the www directory, never following symlinks or
 * leaving it; with gzip, its precompressed name.gz copy when there is one. -ENOENT for
 * anything that must look absent (refused names, directories, symlinks, escapes), other
 * -errno on failure. */
int static_open(int www_fd, const char *decoded, bool gzip, struct static_file *ret);

/* wsrelay.c: console websockets (docs/internals.md, "Consoles") */
/* A relay for c's upgrade request, or NULL with *ret_status and *ret_reason saying why not
 * (400 for a bad handshake, 503 over PROXY_MAX_RELAYS). */
struct wsrelay *wsrelay_new(struct conn *c, int *ret_status, const char **ret_reason);
struct wsrelay *wsrelay_free(struct wsrelay *ws);
/* The root daemon's 200 answer to c's upgrade: its descriptor becomes the relayed stream and
 * c switches protocols (or gets a 502 when the answer carries no stream). */
void wsrelay_start(struct conn *c, struct frame *f);
/* The client connection's callbacks in CONN_WEBSOCKET. */
int wsrelay_client_rx(struct conn *c, const void *in, size_t len);
int wsrelay_client_writeable(struct conn *c);
/* The console stream's callbacks (protocol "berth-console"). */
int wsrelay_stream_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                            size_t len);

/* upload.c */
struct upload *upload_new(const char *boundary);
/* Create the unlinked temporary file in the upload directory. */
int upload_open(struct upload *u, int dir_fd);
/* Body bytes. < 0 on failure: u->error says why (a reason phrase). */
int upload_feed(struct upload *u, const void *data, size_t len);
/* The body ended: 0 when it was a complete upload (the file is rewound), else < 0. */
int upload_finish(struct upload *u);
struct upload *upload_free(struct upload *u);

/* privdrop.c */
int privdrop_lookup(const char *user, uid_t *ret_uid, gid_t *ret_gid, struct error *e);
/* setgroups, setgid, setuid, no_new_privs, parent-death signal; verifies that root cannot be
 * regained. */
int privdrop_apply(uid_t uid, gid_t gid, pid_t parent, struct error *e);
