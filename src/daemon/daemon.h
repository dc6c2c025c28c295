/* The root daemon: its options, state, and the pieces main() strings together. */
#pragma once

#include "api/api.h"
#include "basic/error.h"
#include "shared/hoststats.h"

#include <sys/types.h>
#include <uv.h>

struct daemon_options {
	const char *root;
	const char *listen;
	const char *node;
	const char *www;
	const char *proxy_user;
	const char *pam_service;
	bool foreground;
	unsigned failed_login_delay_ms;
	/* metrics (docs/metrics.md): a sampling round every rrd_interval seconds into rrd files
	 * with a primary step of rrd_step seconds (10 and 60; tests shorten both) */
	unsigned rrd_interval, rrd_step;
};

/* Task workers are exec'd through /proc/self/exe: it names this very binary even when the
 * file was replaced or removed since we started (an upgrade in place), so workers always
 * match the daemon. */
#define SELF_EXE "/proc/self/exe"

struct conn;

struct daemon {
	struct daemon_options opt;
	uv_loop_t *loop;
	char *exe;       /* this binary's path, for messages (workers use SELF_EXE) */
	char *proxy_exe; /* berthd-proxy, next to this binary */
	char *run_dir, *task_dir, *priv_dir, *db_path, *lock_dir;
	char *api_sock, *proxy_sock, *cert_path, *key_path, *port_file;
	int lock_fd;

	struct store *store;
	struct taskmgr *tasks;
	struct hoststats host;
	struct api_ctx api;

	int api_listen_fd, proxy_listen_fd;
	uv_poll_t api_listen, proxy_listen;
	struct conn *conns;

	uid_t proxy_uid;
	gid_t proxy_gid;
	uv_process_t proxy;
	bool proxy_running;
	unsigned proxy_restarts;
	uv_timer_t proxy_restart_timer;

	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t stats_timer;
	uv_timer_t metrics_timer;
	struct task_waiter *waiters; /* taskwait.c */
	bool stopping;
};

/* setup.c: directories, the single-instance lock, keys, first-start config files. */
int daemon_prepare(struct daemon *d, struct error *err);
/* Free what daemon_prepare and daemon_run set up (after the loop ended). */
void daemon_cleanup(struct daemon *d);

/* How to log in: root@pam with the host password, or (no usable root password) how to
 * create an administrator once. */
void daemon_print_welcome(struct daemon *d);

/* The proxy's user (falling back to 'nobody'), checked to be able to reach the run directory;
 * daemon_run calls it too. */
int daemon_resolve_proxy_user(struct daemon *d, struct error *err);

/* service.c: sockets, messages, the proxy process, signals; runs the loop. */
int daemon_run(struct daemon *d, struct error *err);

/* taskwait.c: api_ctx.wait_task, and the task manager's settle callback that wakes it. */
int daemon_wait_task(struct api_ctx *ctx, const char *upid, unsigned timeout_ms,
                     void (*done)(void *arg, const struct task_info *t), void *arg);
void daemon_task_settled(const struct task_info *t, void *userdata);

/* worker.c: `berthd --worker`: one task in its own process. */
int worker_main(int argc, char **argv);
