/* The rrd files through librrd (see rrdfile.h). librrd's *_r calls keep their error per
 * thread, so they may run on any thread of the pool.
 *
 * librrd is loaded on first use, not linked: Debian's librrd brings cairo, pango, glib, X11
 * and ICU (52 libraries in all), and every task worker and every `berth` command paid for
 * mapping and relocating them at exec and unmapping them at exit, though few of them ever
 * touch an rrd file (measured: a worker's exec to ready went from 15.5 ms to 3 ms). */
#include "metrics/rrdfile.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <rrd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* a reader never sees a file half-written by this process */
static pthread_rwlock_t rrd_lock = PTHREAD_RWLOCK_INITIALIZER;

#define RRD_SONAME "librrd.so.8" /* Debian's librrd8 */

static struct {
	__typeof__(rrd_get_error) *get_error;
	__typeof__(rrd_clear_error) *clear_error;
	__typeof__(rrd_create_r) *create_r;
	__typeof__(rrd_updatex_r) *updatex_r;
	__typeof__(rrd_fetch_r) *fetch_r;
	__typeof__(rrd_freemem) *freemem;
} lib;
static char lib_error[256];
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void
lib_load(void)
{
	void *h = dlopen(RRD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(lib_error, sizeof(lib_error),
		         "unable to load %s (Debian package librrd8): %s", RRD_SONAME, dlerror());
		return;
	}
	const struct {
		const char *name;
		void **slot;
	} syms[] = {
		{ "rrd_get_error", (void **)&lib.get_error },
		{ "rrd_clear_error", (void **)&lib.clear_error },
		{ "rrd_create_r", (void **)&lib.create_r },
		{ "rrd_updatex_r", (void **)&lib.updatex_r },
		{ "rrd_fetch_r", (void **)&lib.fetch_r },
		{ "rrd_freemem", (void **)&lib.freemem },
	};
	for (size_t i = 0; i < ARRAY_SIZE(syms); i++) {
		*syms[i].slot = dlsym(h, syms[i].name);
		if (!*syms[i].slot) {
			snprintf(lib_error, sizeof(lib_error), "%s has no %s", RRD_SONAME,
			         syms[i].name);
			return; /* h stays loaded: dlclose under other threads gains nothing */
		}
	}
}

/* librrd, loaded once; an error says what is missing. */
static int
lib_get(struct error *err)
{
	pthread_once(&lib_once, lib_load);
	return lib_error[0] ? error_set(err, EIO, "RRD error: %s", lib_error) : 0;
}

static bool
name_ok(const char *id)
{
	return id && id[0] && id[0] != '.' && !strchr(id, '/');
}

static char *
kind_dir(const char *root, enum rrd_kind kind, const char *node)
{
	const char *dir = rrd_kind_def(kind)->dir;
	if (kind == RRD_STORAGE)
		return name_ok(node) ? xasprintf("%s/rrd/%s/%s", root, dir, node) : NULL;
	return xasprintf("%s/rrd/%s", root, dir);
}

char *
rrd_file_path(const char *root, enum rrd_kind kind, const char *node, const char *id)
{
	_cleanup_free_ char *dir = kind_dir(root, kind, node);
	if (!dir || !name_ok(id))
		return NULL;
	return xasprintf("%s/%s", dir, id);
}

static int
rrd_fail(struct error *err)
{
	int r = error_set(err, EIO, "RRD error: %s", lib.get_error());
	lib.clear_error();
	return r;
}

/* Create the file: into a temporary name first, so a crash never leaves a half-made one. */
static int
create_file(const char *path, enum rrd_kind kind, unsigned step, time_t t, struct error *err)
{
	_cleanup_free_ char *dir = xstrndup(path, strrchr(path, '/') - path);
	int r = mkdir_p(dir, 0700);
	if (r < 0)
		return error_errno(err, r, "unable to create '%s'", dir);
	const char *base = strrchr(path, '/') + 1;
	_cleanup_free_ char *tmp = xasprintf("%s/.%s.new", dir, base);
	char **args = rrd_create_args(kind, step);
	int argc = 0;
	while (args[argc])
		argc++;
	lib.clear_error();
	/* starting just before the first sample, so its step is already known */
	r = lib.create_r(tmp, step, t - 1, argc, (const char **)args);
	rrd_args_free(args);
	if (r != 0) {
		unlink(tmp);
		return rrd_fail(err);
	}
	if (rename(tmp, path) < 0) {
		r = error_errno(err, negative_errno(), "unable to create '%s'", path);
		unlink(tmp);
		return r;
	}
	return 0;
}

int
rrd_file_update(const char *path, enum rrd_kind kind, unsigned step, time_t t, const double *v,
                struct error *err)
{
	int r = lib_get(err);
	if (r < 0)
		return r;
	pthread_rwlock_wrlock(&rrd_lock);
	if (access(path, F_OK) < 0)
		r = create_file(path, kind, step, t, err);
	if (r >= 0) {
		_cleanup_free_ char *line = rrd_update_line(kind, t, v);
		const char *argv[] = { line, NULL };
		lib.clear_error();
		/* a sample not newer than the last (clock set back) is dropped, not an error */
		if (lib.updatex_r(path, NULL, RRD_SKIP_PAST_UPDATES, 1, argv) != 0)
			r = rrd_fail(err);
	}
	pthread_rwlock_unlock(&rrd_lock);
	return r;
}

int
rrd_file_fetch(const char *path, const char *cf, const struct rrd_timeframe *tf, unsigned step,
               time_t now, json_t **ret, struct error *err)
{
	/* PVE's create_rrd_data: the last `rows` complete rows of the timeframe's resolution */
	unsigned long reso = (unsigned long)step * tf->steps;
	time_t ctime = (time_t)reso * (now / (time_t)reso);
	time_t start = ctime - (time_t)(reso * tf->rows), end = ctime - 1;
	unsigned long got_step = reso, n_ds = 0;
	char **names = NULL;
	rrd_value_t *data = NULL;

	int r = lib_get(err);
	if (r < 0)
		return r;
	pthread_rwlock_rdlock(&rrd_lock);
	if (access(path, F_OK) < 0) {
		r = -ENOENT;
	} else {
		lib.clear_error();
		if (lib.fetch_r(path, cf, &start, &end, &got_step, &n_ds, &names, &data) != 0)
			r = rrd_fail(err);
	}
	pthread_rwlock_unlock(&rrd_lock);
	if (r < 0)
		return r;
	if (got_step != reso)
		r = error_set(err, EIO, "got wrong time resolution (%lu != %lu)", got_step, reso);
	else
		*ret = rrd_rows_json(start, got_step, n_ds, names, data,
		                     (size_t)((end - start) / (time_t)got_step));
	for (unsigned long i = 0; i < n_ds; i++)
		lib.freemem(names[i]);
	lib.freemem(names);
	lib.freemem(data);
	return r;
}

int
rrd_files_prune(const char *root, enum rrd_kind kind, const char *node, char *const *keep)
{
	_cleanup_free_ char *dir = kind_dir(root, kind, node);
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d)
		return 0;
	int removed = 0;
	pthread_rwlock_wrlock(&rrd_lock);
	for (struct dirent *de; (de = readdir(d));) {
		if (streq(de->d_name, ".") || streq(de->d_name, "..") || de->d_type == DT_DIR)
			continue;
		bool wanted = false;
		for (char *const *k = keep; k && *k && !wanted; k++)
			wanted = streq(*k, de->d_name);
		if (!wanted && unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	pthread_rwlock_unlock(&rrd_lock);
	closedir(d);
	return removed;
}

int
rrd_file_remove_guest(const char *root, unsigned vmid)
{
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	_cleanup_free_ char *path = rrd_file_path(root, RRD_GUEST, NULL, id);
	if (unlink(path) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}
