/* `berthd --worker --root DIR --node NAME`: runs one task (its UPID and parameters arrive on
 * fd 3 from the daemon) in its own process, with its own store handle. */
#include "basic/log.h"
#include "daemon/daemon.h"
#include "store/store.h"
#include "task/task.h"

#include <getopt.h>
#include <stdio.h>

static struct error open_error;

/* Stands in for every task type when the store cannot be opened, so the failure is reported
 * in the task's log and status instead of the task silently vanishing. */
static int
store_unavailable(struct task_worker *w, json_t *params, struct error *err)
{
	*err = open_error;
	return -EIO;
}

int
worker_main(int argc, char **argv)
{
	const char *root = NULL, *node = NULL;
	static const struct option options[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "node", required_argument, NULL, 'n' },
		{ 0 },
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 'r')
			root = optarg;
		else if (c == 'n')
			node = optarg;
		else
			return 2;
	}
	if (!root || !node) {
		fprintf(stderr, "berthd --worker: needs --root and --node\n");
		return 2;
	}
	_cleanup_free_ char *db = xasprintf("%s/config.db", root);
	_cleanup_free_ char *locks = xasprintf("%s/run/locks", root);
	struct worker_env env = { .node = node, .root_dir = root };
	if (store_open(db, locks, &env.store, &open_error) < 0) {
		error_prefix(&open_error, "unable to open the config store");
		struct task_type *fallback = xcalloc(api_task_types_count, sizeof(*fallback));
		for (size_t i = 0; i < api_task_types_count; i++)
			fallback[i] =
			        (struct task_type){ api_task_types[i].name, store_unavailable };
		int r = task_worker_main(fallback, api_task_types_count, &env);
		free(fallback);
		return r;
	}
	int r = task_worker_main(api_task_types, api_task_types_count, &env);
	store_close(env.store);
	return r;
}
