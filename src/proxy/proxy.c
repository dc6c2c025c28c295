/* The proxy process: options, the lws context and TLS vhost (created as root), privilege
 * drop, the link to the root daemon, signals, and the event loop. */
#include "proxy.h"
#include "proxy-internal.h"

#include "basic/fileio.h"
#include "basic/log.h"

#include <fcntl.h>
#include <getopt.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

_Static_assert(PROXY_MAX_CONNS == 1 << PROXY_SLOT_BITS, "request ids carry the slot");

struct options {
	const char *listen, *cert, *key, *www, *upstream, *user, *port_file, *upload_dir;
};

static int signal_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len);

static const struct lws_protocols protocols[] = {
	{ .name = "berth-http",
	  .callback = conn_callback,
	  .per_session_data_size = sizeof(struct conn),
	  .tx_packet_size = PROXY_SEND_CHUNK },
	{ .name = "berth-upstream", .callback = upstream_callback },
	{ .name = "berth-signal", .callback = signal_callback },
	{ .name = "berth-console", .callback = wsrelay_stream_callback },
	{ 0 },
};

void
proxy_fatal(struct proxy *p, const char *why)
{
	if (!p->stop)
		log_err("%s; exiting (the root daemon restarts the proxy)", why);
	p->stop = true;
	p->exit_code = 1;
	lws_cancel_service(p->ctx);
}

static int
signal_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct proxy *p = lws_context_user(lws_get_context(wsi));
	if (reason != LWS_CALLBACK_RAW_RX_FILE)
		return 0;
	struct signalfd_siginfo si;
	ssize_t n = read(lws_get_socket_fd(wsi), &si, sizeof(si));
	if (n != (ssize_t)sizeof(si))
		return 0;
	log_info("signal %u: exiting", si.ssi_signo);
	p->stop = true;
	lws_cancel_service(p->ctx);
	return 0;
}

static void
lws_log(int level, const char *line)
{
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_err("lws: %.*s", (int)n, line);
	else
		log_warn("lws: %.*s", (int)n, line);
}

static void
sweep_cb(lws_sorted_usec_list_t *sul)
{
	struct proxy *p = lws_container_of(sul, struct proxy, sweep);
	conn_sweep(p);
	lws_sul_schedule(p->ctx, 0, &p->sweep, sweep_cb, LWS_US_PER_SEC);
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "www", required_argument, NULL, 'w' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "user", required_argument, NULL, 'U' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "upload-dir", required_argument, NULL, 'D' },
		{ 0 },
	};
	*o = (struct options){ .user = "berth" };
	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			o->listen = optarg;
			break;
		case 'c':
			o->cert = optarg;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'w':
			o->www = optarg;
			break;
		case 'u':
			o->upstream = optarg;
			break;
		case 'U':
			o->user = optarg;
			break;
		case 'p':
			o->port_file = optarg;
			break;
		case 'D':
			o->upload_dir = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc || !o->listen || !o->cert || !o->key || !o->www || !o->upstream) {
		log_err("usage: berthd-proxy --listen ADDR:PORT --cert PATH --key PATH "
		        "--www DIR --upstream SOCKET [--user NAME] [--port-file PATH] "
		        "[--upload-dir DIR]");
		return -EINVAL;
	}
	return 0;
}

/* "0.0.0.0:8006", "[::]:8006", "127.0.0.1:0", "[::1]:8006" → lws iface + port + options. */
static int
parse_listen(const char *s, char *ret_addr, size_t addr_size, int *ret_port, uint64_t *ret_options)
{
	const char *colon, *addr = s;
	size_t alen;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		addr = s + 1;
		alen = (size_t)(end - addr);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		alen = (size_t)(colon - s);
	}
	if (alen == 0 || alen >= addr_size)
		return -EINVAL;
	char *endp;
	errno = 0;
	long port = strtol(colon + 1, &endp, 10);
	if (errno || *endp || endp == colon + 1 || port < 0 || port > 65535)
		return -EINVAL;
	memcpy(ret_addr, addr, alen);
	ret_addr[alen] = '\0';

	unsigned char buf[sizeof(struct in6_addr)];
	*ret_options = 0;
	if (inet_pton(AF_INET, ret_addr, buf) == 1) {
		/* lws resolves an IPv4 literal only on an IPv4 socket */
		*ret_options = LWS_SERVER_OPTION_DISABLE_IPV6;
	} else if (inet_pton(AF_INET6, ret_addr, buf) != 1) {
		return -EINVAL;
	}
	if (streq(ret_addr, "0.0.0.0") || streq(ret_addr, "::"))
		ret_addr[0] = '\0'; /* all addresses (dual-stack for "::") */
	*ret_port = (int)port;
	return 0;
}

/* lws sizes its fd tables from RLIMIT_NOFILE, and only an fd-indexed table is O(1) per
 * event (with fd_limit_per_thread below the limit it searches linearly). So the limit is
 * the table size: the connection cap plus room for our own descriptors, and accept never
 * hits EMFILE because connections past the cap are closed on adoption. */
static int
set_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return negative_errno();
	rlim_t want = PROXY_MAX_CONNS + PROXY_OVER_CAP + PROXY_MAX_RELAYS + 64;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		rl.rlim_max = want; /* only root may raise it; checked below */
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return negative_errno();
	return 0;
}

static int
write_port_file(const char *path, int port)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d\n", port);
	return write_file_atomic(path, buf, (size_t)n, 0644);
}

static int
setup_signals(struct proxy *p, int *ret_fd)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	/* the loop is single-threaded: a signalfd in it needs no async-signal-safe handler */
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return negative_errno();
	int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return negative_errno();
	signal(SIGPIPE, SIG_IGN); /* OpenSSL writes to sockets with write(2) */
	signal(SIGHUP, SIG_IGN);
	*ret_fd = fd;
	return 0;
}

static struct lws_context *
create_context(struct proxy *p)
{
	struct lws_context_creation_info info = { 0 };
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
	               LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	info.count_threads = 1;
	/* one TLS record per read and per write; the only per-thread buffer */
	info.pt_serv_buf_size = PROXY_SEND_CHUNK;
	info.timeout_secs = TIMEOUT_HEAD / 1000; /* TLS handshake */
	info.max_http_header_pool = 1;
	info.protocols = protocols;
	info.user = p;
	return lws_create_context(&info);
}

static struct lws_vhost *
create_vhost(struct proxy *p, const struct options *o, const char *iface, int port,
             uint64_t listen_options)
{
	struct lws_context_creation_info info = { 0 };
	info.vhost_name = "berth";
	/* DO_SSL_GLOBAL_INIT again: lws enables TLS per vhost only when the vhost has it */
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
	               LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG |
	               LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
	               LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS | listen_options;
	info.port = port;
	info.iface = iface[0] ? iface : NULL;
	info.protocols = protocols;
	/* raw sockets: we parse HTTP ourselves, never through lws's HTTP role */
	info.listen_accept_role = "raw-skt";
	info.listen_accept_protocol = "berth-http";
	/* without this lws offers h2 in ALPN and clients then speak HTTP/2 to a raw socket */
	info.alpn = "http/1.1";
	info.ssl_cert_filepath = o->cert;
	info.ssl_private_key_filepath = o->key;
	info.ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_RENEGOTIATION;
	return lws_create_vhost(p->ctx, &info);
}

/* The listener's vhost binds every adoption to its raw-skt role; plain descriptors go to a
 * vhost without a listener instead. */
static struct lws_vhost *
create_internal_vhost(struct proxy *p)
{
	struct lws_context_creation_info info = { 0 };
	info.vhost_name = "berth-internal";
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	return lws_create_vhost(p->ctx, &info);
}

static int
adopt_fd(struct proxy *p, int fd, const char *protocol, struct lws **ret)
{
	lws_sock_file_fd_type u = { .filefd = fd };
	struct lws *wsi =
	        lws_adopt_descriptor_vhost(p->internal, LWS_ADOPT_RAW_FILE_DESC, u, protocol, NULL);
	if (!wsi)
		return -ENOMEM; /* lws closed fd */
	if (ret)
		*ret = wsi;
	return 0;
}

static int
run(struct proxy *p, const struct options *o)
{
	char iface[INET6_ADDRSTRLEN];
	int port, r;
	uint64_t listen_options;
	struct error e = { 0 };

	if (parse_listen(o->listen, iface, sizeof(iface), &port, &listen_options) < 0) {
		log_err("invalid --listen '%s' (want ADDR:PORT or [ADDR]:PORT)", o->listen);
		return 1;
	}
	pid_t parent = getppid();
	/* die with the root daemon; set again after setuid, which clears it */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent) {
		log_err("parent is gone");
		return 1;
	}
	_cleanup_close_ int sigfd = -1;
	if ((r = setup_signals(p, &sigfd)) < 0) {
		log_err("signals: %s", strerror(-r));
		return 1;
	}
	/* opened as root; files below it are opened as the proxy user */
	p->www_fd = open(o->www, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (p->www_fd < 0) {
		log_err("cannot open --www %s: %m", o->www);
		return 1;
	}
	/* uploads become unlinked files in it (O_TMPFILE), created as the proxy user */
	if (o->upload_dir) {
		p->upload_dir_fd = open(o->upload_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (p->upload_dir_fd < 0) {
			log_err("cannot open --upload-dir %s: %m", o->upload_dir);
			return 1;
		}
	}
	uid_t uid;
	gid_t gid;
	r = privdrop_lookup(o->user, &uid, &gid, &e);
	if (r < 0) {
		log_err("%s", e.msg);
		return 1;
	}
	if (r > 0)
		log_warn("user '%s' does not exist: running as 'nobody'", o->user);
	if ((r = set_fd_limit()) < 0)
		log_warn("cannot set RLIMIT_NOFILE: %s", strerror(-r));

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	p->ctx = create_context(p);
	if (!p->ctx) {
		log_err("cannot create the lws context");
		return 1;
	}
	p->vhost = create_vhost(p, o, iface, port, listen_options);
	if (!p->vhost) {
		log_err("cannot listen on %s with certificate %s", o->listen, o->cert);
		return 1;
	}
	p->internal = create_internal_vhost(p);
	if (!p->internal) {
		log_err("cannot create the internal vhost");
		return 1;
	}
	port = lws_get_vhost_listen_port(p->vhost);
	if (o->port_file && (r = write_port_file(o->port_file, port)) < 0) {
		log_err("cannot write %s: %s", o->port_file, strerror(-r));
		return 1;
	}

	if (geteuid() != 0)
		log_warn("not started as root: keeping uid %u", (unsigned)geteuid());
	if (privdrop_apply(uid, gid, parent, &e) < 0) {
		log_err("dropping privileges: %s", e.msg);
		return 1;
	}
	/* after the drop, so that the root daemon's SO_PEERCRED check sees the proxy's uid */
	if (upstream_connect(p, o->upstream, &e) < 0) {
		log_err("%s", e.msg);
		return 1;
	}
	if (adopt_fd(p, TAKE_FD(sigfd), "berth-signal", NULL) < 0) {
		log_err("cannot watch signals");
		return 1;
	}
	lws_sul_schedule(p->ctx, 0, &p->sweep, sweep_cb, LWS_US_PER_SEC);
	log_info("listening on %s port %d as uid %u", o->listen, port, (unsigned)getuid());

	while (!p->stop) {
		if (lws_service(p->ctx, 0) < 0) {
			log_err("the event loop failed");
			return 1;
		}
	}
	return p->exit_code;
}

int
proxy_main(int argc, char **argv)
{
	struct options o;
	if (parse_options(argc, argv, &o) < 0)
		return 2;

	struct proxy *p = xcalloc(1, sizeof(*p));
	p->www_fd = -1;
	p->upload_dir_fd = -1;
	p->upstream_fd = -1;
	for (unsigned i = 0; i < PROXY_MAX_CONNS; i++)
		p->free_slots[i] = PROXY_MAX_CONNS - 1 - i;
	p->n_free = PROXY_MAX_CONNS;

	int code = run(p, &o);
	if (p->ctx) {
		lws_sul_cancel(&p->sweep);
		lws_sul_cancel(&p->up_rearm);
		p->stop = true; /* closes during destroy are not failures */
		lws_context_destroy(p->ctx);
	}
	upstream_done(p);
	if (p->www_fd >= 0)
		close(p->www_fd);
	if (p->upload_dir_fd >= 0)
		close(p->upload_dir_fd);
	free(p);
	return code;
}
