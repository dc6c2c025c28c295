/* The daemon side of tasks: spawning workers, settling finished tasks, stopping them, and the
 * running/finished lists kept in <task_dir>/active and <task_dir>/index. */
#include "task-private.h"
#include "task.h"

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "shared/frame.h"

#include <fcntl.h>
#include <spawn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define STOP_GRACE_MS  5000 /* PVE gives a stopped worker 5 s before SIGKILL */
#define ORPHAN_POLL_MS 1000
/* A used spare worker is replaced when a task ends, or this long after it was taken: the
 * task that took it runs first. Replaced at once, its exec and store open (5 ms of CPU)
 * competed with a container create for the two cores of the test machine, and at 30 ms it
 * still landed in the middle of one. */
#define SPARE_REFILL_MS 250
/* A spare that died on its own is replaced after 1 s, doubling up to a minute. */
#define SPARE_RETRY_MIN_MS 1000
#define SPARE_RETRY_MAX_MS 60000
#define INDEX_FILE_MAX     (64u << 20)
/* Ended tasks' index lines are made durable in one fdatasync this long after the first. */
#define INDEX_SYNC_MS  200
#define REASON_UNKNOWN "worker exited (status unknown)"

struct task_entry {
	struct task_info info; /* first: taskmgr_get hands out &entry->info */
	struct taskmgr *m;
	uint64_t seq;         /* arrival order, breaks ties in the list */
	int pidfd;            /* our child, until its exit was seen (-1: none) */
	uv_poll_t *exit_poll; /* readable once the child has exited */
	bool orphan;          /* running, started by an earlier daemon: polled by the timer */
	uv_timer_t *kill_tm;  /* SIGKILL after the stop grace period */
	bool spare;           /* a worker waiting for a task: no UPID, not listed */
	int ctrl_fd;          /* the task frame, until the worker has it */
	struct frame_writer out;
	uv_poll_t *ctrl_poll;
};

struct taskmgr {
	uv_loop_t *loop;
	char *dir, *node;
	char **argv;
	struct task_entry **running;
	size_t n_running;
	struct task_entry **finished; /* in index order, oldest first */
	size_t n_finished;
	size_t n_in_index;         /* entries in the current index file */
	struct task_entry **slots; /* open-addressing hash by UPID over both lists */
	size_t n_slots;
	uv_timer_t *orphan_tm;
	const struct task_info **list;
	bool list_dirty;
	bool loading; /* taskmgr_open persists once at the end */
	taskmgr_done_fn done_fn;
	void *done_data;
	unsigned stop_grace_ms;
	uint64_t next_seq;
	bool want_spare;
	struct task_entry *spare; /* exec'd and set up, waiting on fd 3 for a task */
	uv_timer_t *spare_tm;
	unsigned spare_retry_ms;
	char **unsynced; /* ended, in the index but not yet synced: kept in active */
	size_t n_unsynced;
	uv_timer_t *sync_tm;
};

/* Copy a UPID field if it fits. */
static bool
set_field(char *dst, size_t max, const char *s)
{
	size_t len = strlen(s);
	if (len > max)
		return false;
	memcpy(dst, s, len + 1);
	return true;
}

/* ---- entries and the UPID hash ---- */

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void
hash_put(struct taskmgr *m, struct task_entry *e)
{
	size_t i = hash_str(e->info.upid) & (m->n_slots - 1);
	while (m->slots[i])
		i = (i + 1) & (m->n_slots - 1);
	m->slots[i] = e;
}

/* Size for twice the entries (short probes), refill from both lists. */
static void
hash_rebuild(struct taskmgr *m)
{
	size_t want = 64;
	while (want < 2 * (m->n_running + m->n_finished + 1))
		want *= 2;
	free(m->slots);
	m->slots = xcalloc(want, sizeof(*m->slots));
	m->n_slots = want;
	for (size_t i = 0; i < m->n_running; i++)
		hash_put(m, m->running[i]);
	for (size_t i = 0; i < m->n_finished; i++)
		hash_put(m, m->finished[i]);
}

static struct task_entry *
hash_find(struct taskmgr *m, const char *upid)
{
	if (!m->n_slots)
		return NULL;
	size_t i = hash_str(upid) & (m->n_slots - 1);
	for (; m->slots[i]; i = (i + 1) & (m->n_slots - 1))
		if (streq(m->slots[i]->info.upid, upid))
			return m->slots[i];
	return NULL;
}

static void
hash_add(struct taskmgr *m, struct task_entry *e)
{
	/* the new entry is already in one of the lists, so a rebuild includes it */
	if (2 * (m->n_running + m->n_finished) > m->n_slots)
		hash_rebuild(m);
	else
		hash_put(m, e);
}

static struct task_entry *
entry_new(struct taskmgr *m, const char *upid, const struct upid *u)
{
	struct task_entry *e = xcalloc(1, sizeof(*e));
	e->m = m;
	e->seq = m->next_seq++;
	e->info.upid = xstrdup(upid);
	e->info.u = *u;
	e->ctrl_fd = -1;
	e->pidfd = -1;
	return e;
}

static void
free_handle(uv_handle_t *h)
{
	free(h);
}

/* Drop what only matters while the frame is in flight. */
static void
entry_ctrl_done(struct task_entry *e)
{
	if (e->ctrl_poll) {
		uv_poll_stop(e->ctrl_poll);
		uv_close((uv_handle_t *)e->ctrl_poll, free_handle);
		e->ctrl_poll = NULL;
	}
	frame_writer_done(&e->out);
	if (e->ctrl_fd >= 0)
		close(TAKE_FD(e->ctrl_fd));
}

static void
entry_unwatch_exit(struct task_entry *e)
{
	if (e->exit_poll) {
		uv_close((uv_handle_t *)e->exit_poll, free_handle);
		e->exit_poll = NULL;
	}
	if (e->pidfd >= 0)
		close(TAKE_FD(e->pidfd));
}

/* Close the handles that matter until the task has ended. */
static void
entry_end(struct task_entry *e)
{
	entry_ctrl_done(e);
	if (e->kill_tm) {
		uv_close((uv_handle_t *)e->kill_tm, free_handle);
		e->kill_tm = NULL;
	}
}

/* Close the entry's handles; a running worker keeps running. */
static void
entry_detach(struct task_entry *e)
{
	entry_end(e);
	entry_unwatch_exit(e);
}

static void
entry_free(struct task_entry *e)
{
	if (!e)
		return;
	entry_detach(e);
	free(e->info.upid);
	free(e->info.status);
	free(e);
}

static void
push(struct task_entry ***arr, size_t *n, struct task_entry *e)
{
	*arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
	(*arr)[(*n)++] = e;
}

static void
remove_running(struct taskmgr *m, struct task_entry *e)
{
	for (size_t i = 0; i < m->n_running; i++)
		if (m->running[i] == e) {
			memmove(&m->running[i], &m->running[i + 1],
			        (m->n_running - i - 1) * sizeof(*m->running));
			m->n_running--;
			return;
		}
}

/* ---- persistence ---- */

static char *
path_in(struct taskmgr *m, const char *name)
{
	return xasprintf("%s/%s", m->dir, name);
}

/* PVE's active file form, "<UPID> <saved>" per line; we list running tasks and the ended
 * ones whose index line is not durable yet, finished ones live in the index. Replaced
 * atomically but not fsynced: it matters while workers run, and a power loss ends every
 * worker (their logs settle them); two fsyncs per task start and end would cost more than
 * the whole worker start. */
static int
persist_active(struct taskmgr *m)
{
	if (m->loading)
		return 0;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < m->n_running; i++)
		sb_printf(&sb, "%s 0\n", m->running[i]->info.upid);
	/* listed as running: after a crash, loading finds each ended (its log says how) */
	for (size_t i = 0; i < m->n_unsynced; i++)
		sb_printf(&sb, "%s 0\n", m->unsynced[i]);
	_cleanup_free_ char *path = path_in(m, "active");
	return write_file_replace(path, sb_str(&sb), sb.len, 0600);
}

/* Keep the newest `keep` finished entries. */
static void
trim_finished(struct taskmgr *m, size_t keep)
{
	if (m->n_finished <= keep)
		return;
	size_t drop = m->n_finished - keep;
	for (size_t i = 0; i < drop; i++)
		entry_free(m->finished[i]);
	memmove(m->finished, m->finished + drop, keep * sizeof(*m->finished));
	m->n_finished = keep;
	hash_rebuild(m);
	m->list_dirty = true;
}

static int index_sync(struct taskmgr *m);

/* As PVE: the full index becomes index.1 (replacing the older one). Memory keeps what the
 * two files hold, so the list stays bounded at about 2 * TASKMGR_INDEX_ROTATE entries. */
static void
rotate_index(struct taskmgr *m)
{
	(void)index_sync(m); /* the lines not yet synced move with the file */
	_cleanup_free_ char *idx = path_in(m, "index");
	_cleanup_free_ char *idx1 = path_in(m, "index.1");
	if (rename(idx, idx1) < 0)
		return; /* try again after the next append */
	trim_finished(m, m->n_in_index);
	m->n_in_index = 0;
}

static int
append_index(struct taskmgr *m, const struct task_info *t)
{
	_cleanup_free_ char *path = path_in(m, "index");
	_cleanup_close_ int fd =
	        open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return negative_errno();
	_cleanup_free_ char *line =
	        xasprintf("%s %08llX %s\n", t->upid, (unsigned long long)t->endtime, t->status);
	int r = write_all(fd, line, strlen(line));
	if (r < 0)
		return r;
	/* durable before `active` forgets the task, or a crash would lose it: active keeps it
	 * until index_sync, which syncs the lines of all tasks ended meanwhile at once (an
	 * fdatasync per task took 1.4 ms of the event loop here) */
	m->unsynced = xrealloc(m->unsynced, (m->n_unsynced + 1) * sizeof(char *));
	m->unsynced[m->n_unsynced++] = xstrdup(t->upid);
	if (++m->n_in_index >= TASKMGR_INDEX_ROTATE)
		rotate_index(m);
	return 0;
}

/* Make the index lines written since the last call durable, then let active forget their
 * tasks. */
static int
index_sync(struct taskmgr *m)
{
	if (!m->n_unsynced)
		return 0;
	_cleanup_free_ char *path = path_in(m, "index");
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fdatasync(fd) < 0)
		return negative_errno(); /* active keeps them; the timer tries again */
	for (size_t i = 0; i < m->n_unsynced; i++)
		free(m->unsynced[i]);
	m->n_unsynced = 0;
	return persist_active(m);
}

static void
on_sync_timer(uv_timer_t *t)
{
	struct taskmgr *m = t->data;
	if (index_sync(m) < 0 && m->n_unsynced)
		uv_timer_start(m->sync_tm, on_sync_timer, INDEX_SYNC_MS, 0);
}

static void
sync_schedule(struct taskmgr *m)
{
	if (!m->sync_tm) {
		m->sync_tm = xcalloc(1, sizeof(*m->sync_tm));
		uv_timer_init(m->loop, m->sync_tm);
		m->sync_tm->data = m;
	}
	if (!uv_is_active((uv_handle_t *)m->sync_tm))
		uv_timer_start(m->sync_tm, on_sync_timer, INDEX_SYNC_MS, 0);
}

/* ---- settling ---- */

static void on_orphan_tick(uv_timer_t *t);

static void
update_orphan_timer(struct taskmgr *m)
{
	bool any = false;
	for (size_t i = 0; i < m->n_running && !any; i++)
		any = m->running[i]->orphan;
	if (any && !m->orphan_tm) {
		m->orphan_tm = xcalloc(1, sizeof(*m->orphan_tm));
		uv_timer_init(m->loop, m->orphan_tm);
		m->orphan_tm->data = m;
		uv_timer_start(m->orphan_tm, on_orphan_tick, ORPHAN_POLL_MS, ORPHAN_POLL_MS);
	} else if (!any && m->orphan_tm) {
		uv_close((uv_handle_t *)m->orphan_tm, free_handle);
		m->orphan_tm = NULL;
	}
}

static void spare_schedule(struct taskmgr *m, unsigned delay_ms);

/* The worker is gone, or has written its final line and closed its control socket: make
 * sure its log ends with a final line, record the end in the index and drop it from the
 * running list. endtime < 0 means "when the log was last written". */
static void
settle(struct taskmgr *m, struct task_entry *e, const char *reason, time_t endtime)
{
	_cleanup_free_ char *path = taskmgr_log_path(m, e->info.upid);
	_cleanup_close_ int fd =
	        path ? open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY) : -1;
	struct stat st;
	if (endtime < 0)
		endtime = fd >= 0 && fstat(fd, &st) == 0 ? st.st_mtime : time(NULL);
	if (fd >= 0) {
		_cleanup_free_ char *last = NULL;
		if (task_fd_last_line(fd, &last) < 0 ||
		    task_line_final(last, NULL) == TASK_FINAL_NONE) {
			_cleanup_free_ char *line = xasprintf("TASK ERROR: %s", reason);
			(void)task_fd_append_line(fd, line);
		}
	}

	entry_end(e); /* a worker that ended before its exit is still reaped (on_worker_exit) */
	e->orphan = false;
	e->info.endtime = endtime > 0 ? endtime : 1;
	e->info.status = path ? task_status_from_log(path) : xstrdup("unexpected status");
	remove_running(m, e);
	push(&m->finished, &m->n_finished, e);
	m->list_dirty = true;

	/* index first: a crash in between leaves the task in both files, and loading dedupes */
	if (append_index(m, &e->info) >= 0)
		sync_schedule(m);
	else
		(void)persist_active(m); /* forgotten after a crash, as before the index */
	update_orphan_timer(m);
	if (!m->loading && !m->spare && !m->spare_retry_ms) /* not while one keeps dying */
		spare_schedule(m, 0);
	if (m->done_fn && !m->loading)
		m->done_fn(&e->info, m->done_data);
}

static void abort_spawn(struct task_entry *e);

static void
on_worker_exit(uv_poll_t *p, int status, int events)
{
	struct task_entry *e = p->data;
	siginfo_t si = { 0 };
	int r = waitid(P_PIDFD, (id_t)e->pidfd, &si, WEXITED | WNOHANG);
	if (r == 0 && si.si_pid == 0)
		return; /* not gone yet: a pidfd turns readable only at the exit, so not reached */
	entry_unwatch_exit(e);
	if (e->info.status)
		return; /* settled when it closed its control socket */
	if (e->spare) {
		/* died before it had a task (killed, or the store would not open): try later */
		struct taskmgr *m = e->m;
		if (m->spare == e)
			m->spare = NULL;
		entry_free(e);
		m->spare_retry_ms = m->spare_retry_ms ? m->spare_retry_ms * 2 : SPARE_RETRY_MIN_MS;
		if (m->spare_retry_ms > SPARE_RETRY_MAX_MS)
			m->spare_retry_ms = SPARE_RETRY_MAX_MS;
		spare_schedule(m, m->spare_retry_ms);
		return;
	}
	char reason[64];
	if (r < 0)
		snprintf(reason, sizeof(reason), "%s", REASON_UNKNOWN);
	else if (si.si_code == CLD_EXITED)
		snprintf(reason, sizeof(reason), "worker exited with status %d", si.si_status);
	else
		snprintf(reason, sizeof(reason), "worker killed by signal %d", si.si_status);
	settle(e->m, e, reason, time(NULL));
}

static void
on_orphan_tick(uv_timer_t *t)
{
	struct taskmgr *m = t->data;
	/* backwards: settle() removes from the running list */
	for (size_t i = m->n_running; i-- > 0;) {
		struct task_entry *e = m->running[i];
		if (e->orphan && !proc_alive(e->info.u.pid, e->info.u.pstart))
			settle(m, e, REASON_UNKNOWN, time(NULL));
	}
}

/* ---- loading ---- */

/* "<UPID> <ENDTIME %08X> <status>" (index) or "<UPID> <0|1>[ <ENDTIME>[ <status>]]"
 * (active), after PVE's regexes; the UPID is checked here too. */
struct list_line {
	const char *upid; /* points into the (modified) line */
	struct upid u;
	int saved;      /* -1 in index lines */
	time_t endtime; /* 0 if absent */
	const char *status;
};

static bool
parse_list_line(char *line, bool active, struct list_line *ret)
{
	struct list_line l = { .saved = -1 };
	char *p = line + strcspn(line, " \t");
	if (p == line)
		return false;
	bool more = *p != '\0';
	*p = '\0';
	l.upid = line;
	if (upid_parse(l.upid, &l.u) < 0)
		return false;
	if (active) {
		if (!more || (p[1] != '0' && p[1] != '1') || (p[2] != '\0' && p[2] != ' '))
			return false;
		l.saved = p[1] - '0';
		p += 2;
		more = *p != '\0';
	}
	if (more) {
		p++;
		if (strspn(p, "0123456789abcdefABCDEF") != 8 || (p[8] != '\0' && p[8] != ' '))
			return false;
		l.endtime = (time_t)strtoull(p, NULL, 16);
		p += 8;
		if (*p == ' ' && p[1] != '\0')
			l.status = p + 1 + strspn(p + 1, " ");
		if (l.status && !*l.status)
			l.status = NULL;
	}
	*ret = l;
	return true;
}

static size_t
load_index(struct taskmgr *m, const char *name)
{
	_cleanup_free_ char *path = path_in(m, name);
	_cleanup_free_ char *data = NULL;
	size_t len, lines = 0;
	if (read_file(path, INDEX_FILE_MAX, &data, &len) < 0)
		return 0;
	data[len] = '\0'; /* read_file leaves an empty file's buffer unterminated */
	for (char *line = data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		struct list_line l;
		if (!parse_list_line(line, false, &l) || !l.endtime)
			continue;
		lines++;
		if (hash_find(m, l.upid))
			continue; /* a crash between index and active may repeat a task */
		struct task_entry *e = entry_new(m, l.upid, &l.u);
		e->info.endtime = l.endtime;
		e->info.status = xstrdup(l.status ? l.status : "unexpected status");
		push(&m->finished, &m->n_finished, e);
		hash_add(m, e);
	}
	return lines;
}

static void
load_active(struct taskmgr *m)
{
	_cleanup_free_ char *path = path_in(m, "active");
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (read_file(path, INDEX_FILE_MAX, &data, &len) < 0)
		return;
	data[len] = '\0'; /* read_file leaves an empty file's buffer unterminated */
	for (char *line = data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		struct list_line l;
		/* saved=1: PVE keeps archived tasks in active too; the index has them */
		if (!parse_list_line(line, true, &l) || l.saved == 1 || hash_find(m, l.upid))
			continue;
		struct task_entry *e = entry_new(m, l.upid, &l.u);
		push(&m->running, &m->n_running, e);
		hash_add(m, e);
		if (l.endtime)
			settle(m, e, REASON_UNKNOWN, l.endtime); /* ended, not yet archived */
		else if (!proc_alive(l.u.pid, l.u.pstart))
			settle(m, e, REASON_UNKNOWN, -1);
		else
			e->orphan = true; /* it outlived the previous daemon */
	}
}

int
taskmgr_open(uv_loop_t *loop, const char *task_dir, const char *node,
             const char *const *worker_argv, struct taskmgr **ret, struct error *err)
{
	if (!worker_argv || !worker_argv[0])
		return error_set(err, EINVAL, "no worker command");
	/* every UPID carries the node name: refuse one PVE's regex would not accept */
	struct upid probe = { .type = "x", .user = "x" };
	_cleanup_free_ char *probe_text = NULL;
	if (!node || !set_field(probe.node, UPID_NODE_MAX, node) ||
	    upid_format(&probe, &probe_text) < 0)
		return error_set(err, EINVAL, "invalid node name '%s'", node ? node : "");
	int r = mkdir_p(task_dir, 0700);
	if (r < 0)
		return error_errno(err, r, "unable to create task directory '%s'", task_dir);

	struct taskmgr *m = xcalloc(1, sizeof(*m));
	m->loop = loop;
	m->dir = xstrdup(task_dir);
	m->node = xstrdup(node);
	m->stop_grace_ms = STOP_GRACE_MS;
	size_t argc = 0;
	while (worker_argv[argc])
		argc++;
	m->argv = xcalloc(argc + 1, sizeof(char *));
	for (size_t i = 0; i < argc; i++)
		m->argv[i] = xstrdup(worker_argv[i]);
	hash_rebuild(m);

	m->loading = true;
	load_index(m, "index.1");
	m->n_in_index = load_index(m, "index");
	load_active(m);
	m->loading = false;

	if (m->n_in_index >= TASKMGR_INDEX_ROTATE)
		rotate_index(m);
	trim_finished(m, 2 * TASKMGR_INDEX_ROTATE);
	r = m->n_unsynced ? index_sync(m) : persist_active(m);
	if (r < 0) {
		error_errno(err, r, "unable to write '%s/active'", task_dir);
		taskmgr_close(m);
		return r;
	}
	update_orphan_timer(m);
	m->list_dirty = true;
	*ret = m;
	return 0;
}

void
taskmgr_close(struct taskmgr *m)
{
	if (!m)
		return;
	(void)index_sync(m);
	for (size_t i = 0; i < m->n_unsynced; i++)
		free(m->unsynced[i]);
	free(m->unsynced);
	if (m->sync_tm)
		uv_close((uv_handle_t *)m->sync_tm, free_handle);
	for (size_t i = 0; i < m->n_running; i++)
		entry_free(m->running[i]);
	for (size_t i = 0; i < m->n_finished; i++)
		entry_free(m->finished[i]);
	if (m->orphan_tm)
		uv_close((uv_handle_t *)m->orphan_tm, free_handle);
	if (m->spare)
		abort_spawn(TAKE_PTR(m->spare)); /* idle: nothing is lost, and it is reaped */
	if (m->spare_tm)
		uv_close((uv_handle_t *)m->spare_tm, free_handle);
	for (char **a = m->argv; a && *a; a++)
		free(*a);
	free(m->argv);
	free(m->running);
	free(m->finished);
	free(m->slots);
	free(m->list);
	free(m->dir);
	free(m->node);
	free(m);
}

void
taskmgr_set_done_callback(struct taskmgr *m, taskmgr_done_fn fn, void *userdata)
{
	m->done_fn = fn;
	m->done_data = userdata;
}

void
taskmgr_set_stop_grace(struct taskmgr *m, unsigned msec)
{
	m->stop_grace_ms = msec;
}

/* ---- starting ---- */

/* The worker closes its end of the control socket right after its final line, before it
 * tears down (closing the store, atexit handlers, unmapping): the task has ended then, 1 ms
 * before its exit is seen. A socket closed without a final line (a crash) is left to the
 * exit, which knows the reason. */
static void
on_ctrl_closed(uv_poll_t *p, int status, int events)
{
	struct task_entry *e = p->data;
	char c;
	if (status >= 0 && !(events & UV_DISCONNECT) && read(e->ctrl_fd, &c, 1) != 0)
		return; /* not closed (the worker writes nothing) */
	entry_ctrl_done(e);
	_cleanup_free_ char *path = taskmgr_log_path(e->m, e->info.upid);
	_cleanup_close_ int fd =
	        path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY) : -1;
	_cleanup_free_ char *last = NULL;
	if (fd >= 0 && task_fd_last_line(fd, &last) >= 0 &&
	    task_line_final(last, NULL) != TASK_FINAL_NONE)
		settle(e->m, e, REASON_UNKNOWN, time(NULL));
}

static void
on_ctrl_writable(uv_poll_t *p, int status, int events)
{
	struct task_entry *e = p->data;
	if (status < 0) {
		entry_ctrl_done(e); /* the worker went away: its exit settles the task */
		return;
	}
	int r = frame_writer_flush(&e->out, e->ctrl_fd);
	if (r < 0)
		entry_ctrl_done(e);
	else if (r > 0) /* sent: now wait for the close */
		uv_poll_start(p, UV_READABLE | UV_DISCONNECT, on_ctrl_closed);
}

/* Hand the worker its UPID, parameters and log; large parameters finish from the loop. */
static int
send_task_frame(struct taskmgr *m, struct task_entry *e, json_t *params, int logfd,
                const int *extra_fds, unsigned n_extra)
{
	json_t *hdr = json_pack("{s:s, s:s}", "type", "task", "upid", e->info.upid);
	if (!hdr)
		oom();
	if (params)
		json_object_set(hdr, "params", params);
	int fds[FRAME_MAX_FDS] = { logfd };
	for (unsigned i = 0; i < n_extra; i++) {
		fds[1 + i] = fcntl(extra_fds[i], F_DUPFD_CLOEXEC, 3);
		if (fds[1 + i] < 0) {
			int r = negative_errno();
			for (unsigned k = 0; k <= i; k++)
				if (fds[k] >= 0)
					close(fds[k]);
			json_decref(hdr);
			entry_ctrl_done(e);
			return r;
		}
	}
	frame_writer_push(&e->out, hdr, NULL, 0, fds, 1 + n_extra);
	int r = frame_writer_flush(&e->out, e->ctrl_fd);
	if (r < 0) {
		entry_ctrl_done(e);
		return r;
	}
	e->ctrl_poll = xcalloc(1, sizeof(*e->ctrl_poll));
	r = uv_poll_init(m->loop, e->ctrl_poll, e->ctrl_fd);
	if (r < 0) {
		free(e->ctrl_poll);
		e->ctrl_poll = NULL;
		entry_ctrl_done(e);
		return r;
	}
	e->ctrl_poll->data = e;
	if (r > 0) /* all sent */
		return uv_poll_start(e->ctrl_poll, UV_READABLE | UV_DISCONNECT, on_ctrl_closed);
	return uv_poll_start(e->ctrl_poll, UV_WRITABLE, on_ctrl_writable);
}

/* Undo a spawn that cannot become a task: the worker has not been told anything yet. */
static void
abort_spawn(struct task_entry *e)
{
	kill(e->info.u.pid, SIGKILL);
	while (waitpid(e->info.u.pid, NULL, 0) < 0 && errno == EINTR)
		;
	entry_free(e);
}

/* Start a worker: it execs, opens the store and waits for its frame on fd 3, the other end
 * of the returned entry's ctrl_fd. The entry has the worker's pid only: its start time is
 * read when it gets a task (taskmgr_start), since /proc/<pid>/stat blocks until the
 * exec has finished, measured 1-5 ms, which a spare need not cost the event loop. */
static int
spawn_worker(struct taskmgr *m, struct task_entry **ret, struct error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return error_errno(err, negative_errno(), "unable to create task socket");
	_cleanup_close_ int ctrl = sv[0], child_end = sv[1];
	(void)fd_nonblock(ctrl, true);

	/* posix_spawn, not uv_spawn: glibc's shares the address space until the exec (vfork),
	 * where libuv forks and copies the page tables of the whole daemon first (measured in
	 * a 17 MiB process: 0.9-1 ms to fork and exec, 0.3 ms to posix_spawn). The exit is
	 * watched through a pidfd (libuv reaps only the children it spawned). */
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/* fds 0-2 on /dev/null (the worker moves stdout/stderr to its log), the frame on 3 */
	for (int fd = 0; fd <= 2; fd++)
		posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, child_end, 3); /* TASK_CTRL_FD */
	/* own session: outlives a daemon restart, and stop can signal its group; signals as
	 * a fresh process has them, whatever the daemon blocked or ignored */
	sigset_t all, none;
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF |
	                                        POSIX_SPAWN_SETSIGMASK);
	pid_t pid;
	int r = posix_spawn(&pid, m->argv[0], &fa, &attr, m->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return error_set(err, r, "unable to start worker '%s': %s", m->argv[0],
		                 strerror(r));
	struct task_entry *e = xcalloc(1, sizeof(*e));
	e->m = m;
	e->ctrl_fd = -1;
	e->info.u.pid = pid;
	/* no one else reaps it, so the pid cannot have been reused */
	e->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (e->pidfd < 0) {
		r = negative_errno();
		abort_spawn(e);
		return error_errno(err, r, "unable to watch worker %d", (int)pid);
	}
	e->exit_poll = xcalloc(1, sizeof(*e->exit_poll));
	r = uv_poll_init(m->loop, e->exit_poll, e->pidfd);
	if (r >= 0) {
		e->exit_poll->data = e;
		r = uv_poll_start(e->exit_poll, UV_READABLE, on_worker_exit);
	}
	if (r < 0) {
		if (!e->exit_poll->loop) /* never initialised: nothing to close */
			free(TAKE_PTR(e->exit_poll));
		abort_spawn(e);
		return error_set(err, -r, "unable to watch worker %d: %s", (int)pid,
		                 uv_strerror(r));
	}
	e->ctrl_fd = TAKE_FD(ctrl);
	*ret = e;
	return 0;
}

/* ---- the spare worker ---- */

static void
on_spare_timer(uv_timer_t *t)
{
	struct taskmgr *m = t->data;
	if (m->spare || !m->want_spare)
		return;
	struct error err = { 0 };
	struct task_entry *e;
	if (spawn_worker(m, &e, &err) < 0) {
		m->spare_retry_ms = SPARE_RETRY_MAX_MS;
		spare_schedule(m, m->spare_retry_ms);
		return;
	}
	e->spare = true;
	m->spare = e;
}

static void
spare_schedule(struct taskmgr *m, unsigned delay_ms)
{
	if (!m->want_spare)
		return;
	if (!m->spare_tm) {
		m->spare_tm = xcalloc(1, sizeof(*m->spare_tm));
		uv_timer_init(m->loop, m->spare_tm);
		m->spare_tm->data = m;
	}
	uv_timer_start(m->spare_tm, on_spare_timer, delay_ms, 0);
}

void
taskmgr_set_spare(struct taskmgr *m, bool on)
{
	m->want_spare = on;
	if (on) {
		m->spare_retry_ms = 0;
		spare_schedule(m, 0);
	} else if (m->spare) {
		abort_spawn(TAKE_PTR(m->spare));
	}
}

pid_t
taskmgr_spare_pid(struct taskmgr *m)
{
	return m->spare ? m->spare->info.u.pid : 0;
}

/* The spare, if it is still alive, for a task; the next one starts a little later. */
static struct task_entry *
take_spare(struct taskmgr *m)
{
	struct task_entry *e = m->spare;
	if (!e)
		return NULL;
	siginfo_t si = { 0 };
	/* an exit not yet reaped by the loop: leave it to on_worker_exit */
	if (waitid(P_PID, (id_t)e->info.u.pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
	    si.si_pid != 0)
		return NULL;
	m->spare = NULL;
	e->spare = false;
	m->spare_retry_ms = 0;
	spare_schedule(m, SPARE_REFILL_MS);
	return e;
}

static int
create_log(struct taskmgr *m, const char *upid, int *ret_fd)
{
	_cleanup_free_ char *path = taskmgr_log_path(m, upid);
	if (!path)
		return -EINVAL;
	char *slash = strrchr(path, '/');
	*slash = '\0';
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return negative_errno();
	*slash = '/';
	/* read access too: before its final line the worker checks whether the log ends mid-line */
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return negative_errno();
	*ret_fd = fd;
	return 0;
}

int
taskmgr_start(struct taskmgr *m, const char *type, const char *id, const char *user, json_t *params,
              char **ret_upid, struct error *err)
{
	return taskmgr_start_fds(m, type, id, user, params, NULL, 0, ret_upid, err);
}

int
taskmgr_start_fds(struct taskmgr *m, const char *type, const char *id, const char *user,
                  json_t *params, const int *fds, unsigned n_fds, char **ret_upid,
                  struct error *err)
{
	if (n_fds > TASK_MAX_FDS)
		return error_set(err, EINVAL, "too many descriptors for a task");
	struct upid u = { 0 };
	_cleanup_free_ char *upid = NULL;
	int r;

	/* check the fields before a process exists: they must survive UPID encoding */
	if (!type || !user)
		return error_set(err, EINVAL, "task type and user are required");
	if (!set_field(u.node, UPID_NODE_MAX, m->node) || !set_field(u.type, UPID_TYPE_MAX, type) ||
	    !set_field(u.id, UPID_ID_MAX, id ? id : "") ||
	    !set_field(u.user, UPID_USER_MAX, user) || upid_format(&u, &upid) < 0)
		return error_set(err, EINVAL,
		                 "invalid task (node '%s', type '%s', id '%s', user '%s')", m->node,
		                 type, id ? id : "", user);
	free(TAKE_PTR(upid));

	struct task_entry *e = take_spare(m);
	if (!e) {
		r = spawn_worker(m, &e, err);
		if (r < 0)
			return r;
	}
	r = proc_start_time(e->info.u.pid, &e->info.u.pstart);
	if (r < 0) {
		int pid = e->info.u.pid;
		abort_spawn(e);
		return error_errno(err, r, "unable to read start time of worker %d", pid);
	}
	u.pid = e->info.u.pid;
	u.pstart = e->info.u.pstart;
	u.starttime = time(NULL);
	r = upid_format(&u, &upid);
	_cleanup_close_ int logfd = -1;
	if (r >= 0)
		r = create_log(m, upid, &logfd);
	if (r < 0) {
		abort_spawn(e);
		return error_errno(err, r, "unable to create task log in '%s'", m->dir);
	}

	e->seq = m->next_seq++;
	e->info.upid = xstrdup(upid);
	e->info.u = u;
	push(&m->running, &m->n_running, e);
	hash_add(m, e);
	m->list_dirty = true;
	r = persist_active(m);
	if (r < 0) {
		/* a task we could not record would be lost on restart: do not run it */
		_cleanup_free_ char *path = taskmgr_log_path(m, upid);
		unlink(path);
		remove_running(m, e);
		abort_spawn(e);
		hash_rebuild(m);
		return error_errno(err, r, "unable to write '%s/active'", m->dir);
	}

	r = send_task_frame(m, e, params, TAKE_FD(logfd), fds, n_fds);
	if (r < 0) {
		/* the worker sees EOF and exits; its exit settles the task with an error */
		kill(u.pid, SIGKILL);
	}
	*ret_upid = TAKE_PTR(upid);
	return 0;
}

/* ---- queries and stop ---- */

int
taskmgr_get(struct taskmgr *m, const char *upid, const struct task_info **ret)
{
	struct task_entry *e = upid ? hash_find(m, upid) : NULL;
	if (!e)
		return -ENOENT;
	*ret = &e->info;
	return 0;
}

static int
cmp_entries(const void *a, const void *b)
{
	const struct task_entry *x = *(const struct task_entry *const *)a;
	const struct task_entry *y = *(const struct task_entry *const *)b;
	bool xr = !x->info.status, yr = !y->info.status;
	if (xr != yr)
		return xr ? -1 : 1;
	if (x->info.u.starttime != y->info.u.starttime)
		return x->info.u.starttime > y->info.u.starttime ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq ? 1 : 0;
}

const struct task_info *const *
taskmgr_list(struct taskmgr *m, size_t *ret_count)
{
	size_t n = m->n_running + m->n_finished;
	if (m->list_dirty || !m->list) {
		struct task_entry **all = xcalloc(n + 1, sizeof(*all));
		if (m->n_running)
			memcpy(all, m->running, m->n_running * sizeof(*all));
		if (m->n_finished)
			memcpy(all + m->n_running, m->finished, m->n_finished * sizeof(*all));
		qsort(all, n, sizeof(*all), cmp_entries);
		free(m->list);
		m->list = xcalloc(n + 1, sizeof(*m->list));
		for (size_t i = 0; i < n; i++)
			m->list[i] = &all[i]->info;
		free(all);
		m->list_dirty = false;
	}
	*ret_count = n;
	return m->list;
}

/* The worker leads its own session, so its process group holds whatever it started. */
static void
signal_task(pid_t pid, int sig)
{
	if (kill(-pid, sig) < 0)
		kill(pid, sig);
}

static void
on_kill_timer(uv_timer_t *t)
{
	struct task_entry *e = t->data;
	if (!e->info.status && proc_alive(e->info.u.pid, e->info.u.pstart))
		signal_task(e->info.u.pid, SIGKILL);
}

int
taskmgr_stop(struct taskmgr *m, const char *upid)
{
	struct task_entry *e = upid ? hash_find(m, upid) : NULL;
	if (!e)
		return -ENOENT;
	/* pid+pstart: never signal a process that merely reuses the pid */
	if (e->info.status || !proc_alive(e->info.u.pid, e->info.u.pstart))
		return -ESRCH;
	signal_task(e->info.u.pid, SIGTERM);
	if (!e->kill_tm) {
		e->kill_tm = xcalloc(1, sizeof(*e->kill_tm));
		uv_timer_init(m->loop, e->kill_tm);
		e->kill_tm->data = e;
		uv_timer_start(e->kill_tm, on_kill_timer, m->stop_grace_ms, 0);
	}
	return 0;
}

char *
taskmgr_log_path(struct taskmgr *m, const char *upid)
{
	_cleanup_free_ char *rel = upid_log_relpath(upid, NULL);
	return rel ? xasprintf("%s/%s", m->dir, rel) : NULL;
}

int
taskmgr_read_log(struct taskmgr *m, const char *upid, size_t start, size_t limit, char ***ret_lines,
                 size_t *ret_total)
{
	_cleanup_free_ char *path = taskmgr_log_path(m, upid);
	if (!path)
		return -EINVAL;
	return task_log_read_lines(path, start, limit, ret_lines, ret_total);
}
