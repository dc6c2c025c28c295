/* Building a template: a temporary directory next to the target (so the final rename is
 * atomic), the recipe fills its root, tar packs it with numeric owners and sorted names, and
 * the archive is renamed into place. Failures and interruptions remove the temporary
 * directory; one left by a build that was killed outright is removed by the next build. */
#include "template/template-internal.h"

#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>

#define TMP_PREFIX ".berth-build."

/* Remove TMP_PREFIX<pid>.<pstart>.* directories whose build process is gone. */
static void
sweep_stale(const char *dir, const struct template_hooks *h)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		int pid;
		unsigned long long pstart;
		if (!startswith(de->d_name, TMP_PREFIX) ||
		    sscanf(de->d_name + strlen(TMP_PREFIX), "%d.%llu.", &pid, &pstart) != 2 ||
		    proc_alive(pid, pstart))
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
		struct error e = { 0 };
		if (remove_tree(path, &e) < 0)
			build_log(h, "unable to remove stale build directory '%s': %s", path,
			          e.msg);
		else
			build_log(h, "removed stale build directory '%s'", path);
	}
	closedir(d);
}

/* tar's compression option for an archive name */
static const char *
compress_option(const char *name, struct error *err)
{
	static const char *const map[][2] = {
		{ ".tar.zst", "--zstd" },
		{ ".tar.xz", "--xz" },
		{ ".tar.gz", "--gzip" },
	};
	size_t len = strlen(name);
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		size_t el = strlen(map[i][0]);
		if (len > el && streq(name + len - el, map[i][0]))
			return map[i][1];
	}
	error_set(err, EINVAL, "unsupported template archive name '%s'", name);
	return NULL;
}

static int
pack(const struct template_build *b, const char *archive, struct error *err)
{
	const char *compress = compress_option(archive, err);
	if (!compress)
		return -EINVAL;
	_cleanup_free_ char *file_opt = xasprintf("--file=%s", archive);
	_cleanup_free_ char *dir_opt = xasprintf("--directory=%s", b->rootfs);
	const char *argv[16];
	size_t n = 0;
	argv[n++] = "tar";
	argv[n++] = "--create";
	argv[n++] = file_opt;
	argv[n++] = compress;
	argv[n++] = "--numeric-owner";
	argv[n++] = "--sort=name";
	argv[n++] = "--one-file-system";
	if (b->info->recipe->root_owned) {
		argv[n++] = "--owner=0";
		argv[n++] = "--group=0";
	}
	argv[n++] = dir_opt;
	argv[n++] = ".";
	argv[n] = NULL;
	/* zstd and xz read their level and threads from the environment */
	static const char *const env[] = { "ZSTD_CLEVEL=9", "ZSTD_NBTHREADS=0", "XZ_OPT=-6 -T0",
		                           NULL };
	return build_run(b->hooks, argv, env, NULL, err);
}

static int
build_in(const struct template_info *t, const char *tmp, const char *target,
         const struct template_hooks *h, struct error *err)
{
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", tmp);
	if (mkdir(rootfs, 0755) < 0 || chmod(rootfs, 0755) < 0)
		return error_errno(err, negative_errno(), "unable to create '%s'", rootfs);
	_cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return error_errno(err, negative_errno(), "unable to open '%s'", rootfs);
	struct template_build b = { .info = t, .hooks = h, .rootfs = rootfs, .rootfd = rootfd };
	int r = t->recipe->build(&b, err);
	if (r < 0)
		return r;
	if (build_interrupted(h))
		return error_set(err, EINTR, "received interrupt");

	_cleanup_free_ char *target_copy = xstrdup(target);
	_cleanup_free_ char *archive = xasprintf("%s/%s", tmp, basename(target_copy));
	build_log(h, "creating archive %s", basename(target_copy));
	r = pack(&b, archive, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(archive, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || fsync(fd) < 0 || fchmod(fd, 0644) < 0)
		return error_errno(err, negative_errno(), "unable to write '%s'", archive);
	if (build_interrupted(h))
		return error_set(err, EINTR, "received interrupt");
	if (rename(archive, target) < 0)
		return error_errno(err, negative_errno(), "unable to store '%s'", target);
	build_log(h, "stored %s (%" PRIu64 " bytes)", target, (uint64_t)st.st_size);
	return 0;
}

int
template_build(const struct template_info *t, const char *target, const struct template_hooks *h,
               struct error *err)
{
	if (target[0] != '/')
		return error_set(err, EINVAL, "template target '%s' is not an absolute path",
		                 target);
	_cleanup_free_ char *target_copy = xstrdup(target);
	const char *dir = dirname(target_copy);
	int r = mkdir_p(dir, 0755);
	if (r < 0)
		return error_errno(err, r, "unable to create '%s'", dir);
	sweep_stale(dir, h);

	unsigned long long pstart = 0;
	(void)proc_start_time(getpid(), &pstart);
	_cleanup_free_ char *tmp =
	        xasprintf("%s/" TMP_PREFIX "%d.%llu.XXXXXX", dir, (int)getpid(), pstart);
	if (!mkdtemp(tmp))
		return error_errno(err, negative_errno(), "unable to create a directory in '%s'",
		                   dir);
	build_log(h, "building template %s in %s", t->template, tmp);
	r = build_in(t, tmp, target, h, err);
	struct error rm_err = { 0 };
	if (remove_tree(tmp, &rm_err) < 0)
		build_log(h, "unable to remove '%s': %s", tmp, rm_err.msg);
	return r;
}
