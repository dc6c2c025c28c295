/* Unit tests: container volume mounts leave no file descriptor or loop device behind
 * (needs root; skipped otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "storage/storage-internal.h"
#include "storage/storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

static int
count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *de; d && (de = readdir(d));)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static char *
loops(void)
{
	char *out = NULL;
	const char *argv[] = { "losetup", "-a", NULL };
	assert_int_equal(run_command(argv, &out, NULL), 0);
	return out;
}

static void
test_mount_umount_of_raw_image_leaks_no_fd_or_loop_device(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char dir[] = "/tmp/bt-ctvol-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *img = xasprintf("%s/ct.raw", dir), *mnt = xasprintf("%s/mnt", dir);
	assert_int_equal(mkdir(mnt, 0755), 0);
	int fd = open(img, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 32 << 20), 0);
	close(fd);
	struct error err = { 0 };
	assert_int_equal(storage_mkfs(img, &err), 0);

	char *before = loops();
	int fds = count_fds();
	for (int i = 0; i < 3; i++) {
		if (ctvol_mount_path(img, FORMAT_RAW, mnt, &err) < 0)
			fail_msg("mount: %s", err.msg);
		assert_int_equal(storage_umount(mnt, &err), 0);
	}
	assert_int_equal(count_fds(), fds);
	char *after = loops();
	assert_string_equal(before, after);
	/* a failing mount (not ext4) releases its loop device too */
	fd = open(img, O_WRONLY | O_CLOEXEC);
	assert_int_equal(pwrite(fd, (char[4096]){ 0 }, 4096, 1024), 4096);
	close(fd);
	assert_true(ctvol_mount_path(img, FORMAT_RAW, mnt, &err) < 0);
	assert_int_equal(count_fds(), fds);
	free(after);
	after = loops();
	assert_string_equal(before, after);

	assert_int_equal(storage_umount(mnt, &err), -EINVAL);
	unlink(img);
	rmdir(mnt);
	rmdir(dir);
	free(before);
	free(after);
	free(img);
	free(mnt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mount_umount_of_raw_image_leaks_no_fd_or_loop_device),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
