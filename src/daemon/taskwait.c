/* Waiting for a task's end on the loop (api_ctx.wait_task): the synchronous API calls that
 * run a task's work (PUT qemu config allocating a disk) and POST config's background_delay.
 * The task manager's settle callback wakes the waiters of a UPID; a timer ends the wait
 * early, or reports a task that had already ended before the wait began. */
#include "basic/macros.h"
#include "daemon/daemon.h"
#include "task/task.h"

#include <stdlib.h>

struct task_waiter {
	struct task_waiter *next;
	struct daemon *d;
	char *upid;
	uv_timer_t timer;
	void (*done)(void *arg, const struct task_info *t);
	void *arg;
};

static void
unlink_waiter(struct task_waiter *w)
{
	for (struct task_waiter **p = &w->d->waiters; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return;
		}
}

static void
waiter_closed(uv_handle_t *h)
{
	struct task_waiter *w = h->data;
	free(w->upid);
	free(w);
}

/* t: the ended task, or NULL when the wait timed out */
static void
finish(struct task_waiter *w, const struct task_info *t)
{
	unlink_waiter(w);
	uv_timer_stop(&w->timer);
	w->done(w->arg, t);
	uv_close((uv_handle_t *)&w->timer, waiter_closed);
}

static void
on_timer(uv_timer_t *tm)
{
	struct task_waiter *w = tm->data;
	const struct task_info *t = NULL;
	if (taskmgr_get(w->d->tasks, w->upid, &t) < 0 || !t->endtime)
		t = NULL;
	finish(w, t);
}

void
daemon_task_settled(const struct task_info *t, void *userdata)
{
	struct daemon *d = userdata;
	struct task_waiter *w = d->waiters;
	while (w) {
		struct task_waiter *next = w->next;
		if (streq(w->upid, t->upid))
			finish(w, t);
		w = next;
	}
}

int
daemon_wait_task(struct api_ctx *ctx, const char *upid, unsigned timeout_ms,
                 void (*done)(void *arg, const struct task_info *t), void *arg)
{
	struct daemon *d = ctx->daemon;
	const struct task_info *t = NULL;
	if (taskmgr_get(d->tasks, upid, &t) < 0)
		return -ENOENT;
	struct task_waiter *w = xcalloc(1, sizeof(*w));
	*w = (struct task_waiter){
		.next = d->waiters, .d = d, .upid = xstrdup(upid), .done = done, .arg = arg
	};
	uv_timer_init(d->loop, &w->timer);
	w->timer.data = w;
	d->waiters = w;
	/* never done() from inside the caller: an ended task is reported on the next turn */
	if (t->endtime)
		uv_timer_start(&w->timer, on_timer, 0, 0);
	else if (timeout_ms)
		uv_timer_start(&w->timer, on_timer, timeout_ms, 0);
	return 0;
}
