/* Tasks: every long operation runs in its own forked-and-exec'd worker process with a UPID,
 * a log file <task_dir>/<X>/<UPID> and a final line "TASK OK", "TASK WARNINGS: <n>" or
 * "TASK ERROR: <message>", as Proxmox VE tasks do.
 *
 * The daemon side (taskmgr) launches workers, keeps the list of running and finished tasks
 * (persisted in <task_dir>/active and <task_dir>/index so it survives restarts), answers
 * queries and stops tasks. Workers run in their own session and outlive a daemon restart;
 * a worker that died without writing its final line is reported stopped with an error
 * (the daemon appends "TASK ERROR: ..." to its log), never running forever.
 *
 * The worker side (task_worker_*) is what a task function sees: log lines, warnings,
 * interruption. */
#pragma once

#include "basic/error.h"
#include "task/upid.h"

#include <jansson.h>
#include <uv.h>

/* ---- daemon side ---- */

struct task_info {
	char *upid;
	struct upid u;
	time_t endtime; /* 0 while running */
	char *status;   /* NULL while running; "OK", "WARNINGS: <n>" or the error message */
};

struct taskmgr;

/* The index file holds this many finished tasks before it is renamed to index.1 (as PVE
 * rotates its index); the manager remembers what the two files hold, at most twice this. */
#define TASKMGR_INDEX_ROTATE 2000

/* Load the task lists from task_dir (created if missing) and settle tasks whose workers died
 * while no daemon watched them. worker_argv is the command that runs a worker
 * (e.g. {"/path/berthd", "--worker", "--root", "/var/lib/berth", NULL}); it is copied.
 * Workers that outlived a previous daemon are polled once a second until they end. -EINVAL
 * for a node name PVE's UPID regex would refuse (it is part of every UPID). */
int taskmgr_open(uv_loop_t *loop, const char *task_dir, const char *node,
                 const char *const *worker_argv, struct taskmgr **ret, struct error *err);
/* Leaves workers running (a later taskmgr_open picks them up). Handles are closed, not yet
 * freed: run the loop once more before uv_loop_close. */
void taskmgr_close(struct taskmgr *m);

/* Keep one worker started ahead (exec'd, its store open, waiting for a frame) so a task
 * does not wait for exec and setup; the next spare starts shortly after one is used. Off by
 * default. taskmgr_spare_pid is the spare's pid, 0 while there is none. */
void taskmgr_set_spare(struct taskmgr *m, bool on);
pid_t taskmgr_spare_pid(struct taskmgr *m);

/* Start a worker for task `type` on object `id` ("" or NULL for none) for `user`. params (may
 * be NULL) reaches the worker's task function as-is. On success *ret_upid (caller frees) names
 * the task; its log file exists and the task is listed as running. The worker gets its frame
 * on fd 3 with the open log file attached (SCM_RIGHTS), so it needs no task directory. */
int taskmgr_start(struct taskmgr *m, const char *type, const char *id, const char *user,
                  json_t *params, char **ret_upid, struct error *err);

/* The same, handing the worker copies of n_fds (at most TASK_MAX_FDS) descriptors, which it
 * takes with task_take_fd (e.g. an uploaded file). */
#define TASK_MAX_FDS 3
int taskmgr_start_fds(struct taskmgr *m, const char *type, const char *id, const char *user,
                      json_t *params, const int *fds, unsigned n_fds, char **ret_upid,
                      struct error *err);

/* Called when a finished task was settled (e.g. to notify waiters); optional. */
typedef void (*taskmgr_done_fn)(const struct task_info *t, void *userdata);
void taskmgr_set_done_callback(struct taskmgr *m, taskmgr_done_fn fn, void *userdata);

/* Look up one task: -ENOENT if unknown. The info stays valid until the next call that
 * changes the manager (start, settle, poll) — copy what you keep. */
int taskmgr_get(struct taskmgr *m, const char *upid, const struct task_info **ret);

/* All tasks, newest first (running ones first, then by start time descending). */
const struct task_info *const *taskmgr_list(struct taskmgr *m, size_t *ret_count);

/* Ask a running task to stop (SIGTERM to its process group, then SIGKILL after a grace
 * period); -ESRCH if it is no longer running, -ENOENT if unknown. Returns at once: the task
 * is settled when the worker has gone. */
int taskmgr_stop(struct taskmgr *m, const char *upid);
/* The grace period before SIGKILL (default 5000 ms, as PVE). */
void taskmgr_set_stop_grace(struct taskmgr *m, unsigned msec);

/* Read log lines [start, start+limit) (0-based start; limit 0 = to the end, as PVE's
 * dump_logfile) of a task: *ret_lines is a NULL-terminated array without newlines (caller frees
 * with taskmgr_lines_free), *ret_total the line count. Works for any UPID whose log exists:
 * -EINVAL if upid does not parse, -ENOENT without a log. An empty log gives no lines and total
 * 0 (the API adds PVE's "no content" line). */
int taskmgr_read_log(struct taskmgr *m, const char *upid, size_t start, size_t limit,
                     char ***ret_lines, size_t *ret_total);
void taskmgr_lines_free(char **lines);

/* Absolute path of a task's log file; caller frees. NULL if upid does not parse. */
char *taskmgr_log_path(struct taskmgr *m, const char *upid);

/* Exit status text from a log's last line: "OK", "WARNINGS: n", the error message, or
 * "unexpected status" (PVE's read_status). Caller frees. */
char *task_status_from_log(const char *log_path);

/* ---- worker side ---- */

struct task_worker;

/* The function a task type runs. Return 0 for success (OK, or WARNINGS when warnings were
 * logged), or a negative errno with err describing the failure (TASK ERROR: <err->msg>). */
typedef int (*task_fn)(struct task_worker *w, json_t *params, struct error *err);

struct task_type {
	const char *name; /* the UPID type, e.g. "vzcreate" */
	task_fn run;
};

/* Entry point of `berthd --worker`: reads the UPID, parameters and log fd the daemon sends on
 * fd 3, makes the log its stdout and stderr, runs the matching type from `types`, writes the
 * final line and returns the process exit code (0 for OK/WARNINGS, 1 for an error). */
int task_worker_main(const struct task_type *types, size_t n_types, void *userdata);

void task_log(struct task_worker *w, const char *fmt, ...) _printf_(2, 3);
/* Log "WARN: <message>" and count it: the task ends with "TASK WARNINGS: <n>". */
void task_warn(struct task_worker *w, const char *fmt, ...) _printf_(2, 3);
/* True once a stop was requested (SIGTERM/SIGINT); long loops check it and return
 * error "received interrupt". */
bool task_interrupted(struct task_worker *w);
const char *task_upid(struct task_worker *w);
/* Take descriptor i of those the daemon passed with taskmgr_start_fds (the caller owns it);
 * -1 when there is none. */
int task_take_fd(struct task_worker *w, unsigned i);
const struct upid *task_upid_parsed(struct task_worker *w);
void *task_userdata(struct task_worker *w);
