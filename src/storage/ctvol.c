/* Container volumes: make a raw image an ext4 filesystem, mount it through an auto-clearing
 * loop device, bind-mount directory volumes, unmount. */
#include "storage/storage-internal.h"
#include "storage/storage.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

int
storage_mkfs_owner(const char *path, unsigned uid, unsigned gid, struct error *err)
{
	/* PVE (pve-container, PVE::LXC::mkfs): mkfs.ext4 -O mmp -E root_owner=<uid>:<gid>.
	 * mmp (multi-mount protection) keeps a second node from mounting a shared image;
	 * root_owner makes the root directory the container's (mapped) root. */
	if (!path || path[0] != '/')
		return error_set(err, EINVAL, "mkfs: '%s' is not an absolute path",
		                 path ? path : "");
	struct stat st;
	if (stat(path, &st) < 0)
		return error_errno(err, negative_errno(), "mkfs: '%s'", path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return error_set(err, EINVAL, "mkfs: '%s' is not a file or block device", path);
	char owner[64];
	snprintf(owner, sizeof(owner), "root_owner=%u:%u", uid, gid);
	/* -F: the file is ours (just allocated); mke2fs would otherwise ask before writing to
	 * a regular file on some versions. -q: its chatter is not an error message. */
	const char *argv[] = {
		"mkfs.ext4", "-q", "-F", "-O", "mmp", "-E", owner, "--", path, NULL
	};
	int r = run_command(argv, NULL, err);
	if (r < 0)
		return error_prefix(err, "unable to create filesystem on '%s'", path);
	return 0;
}

int
storage_mkfs(const char *path, struct error *err)
{
	return storage_mkfs_owner(path, 0, 0, err);
}

/* Attach `path` to a free loop device that detaches itself when its last user goes (the
 * mount, once we close our fd). Returns the open loop device fd, its name in ret_dev. */
static int
loop_attach(const char *path, char ret_dev[static 32], struct error *err)
{
	_cleanup_close_ int backing = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (backing < 0)
		return error_errno(err, negative_errno(), "unable to open '%s'", path);
	struct stat st;
	if (fstat(backing, &st) < 0 || !S_ISREG(st.st_mode))
		return error_set(err, EINVAL, "'%s' is not a regular file", path);
	_cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return error_errno(err, negative_errno(), "unable to open /dev/loop-control");

	/* another process may take the device between GET_FREE and CONFIGURE: try again */
	for (int attempt = 0; attempt < 16; attempt++) {
		int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0)
			return error_errno(err, negative_errno(), "no free loop device");
		char dev[32];
		snprintf(dev, sizeof(dev), "/dev/loop%d", nr);
		int fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			/* no devtmpfs node (a container): make one */
			if (mknod(dev, S_IFBLK | 0600, makedev(7, (unsigned)nr)) < 0 &&
			    errno != EEXIST)
				return error_errno(err, negative_errno(), "mknod %s", dev);
			fd = open(dev, O_RDWR | O_CLOEXEC);
		}
		if (fd < 0)
			return error_errno(err, negative_errno(), "unable to open %s", dev);
		struct loop_config cfg = {
			.fd = (unsigned)backing,
			.info = { .lo_flags = LO_FLAGS_AUTOCLEAR },
		};
		snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", path);
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0) {
			memcpy(ret_dev, dev, sizeof(dev));
			return fd;
		}
		int r = negative_errno();
		close(fd);
		if (r != -EBUSY)
			return error_errno(err, r, "unable to set up %s for '%s'", dev, path);
	}
	return error_set(err, EBUSY, "unable to find a free loop device for '%s'", path);
}

int
ctvol_mount_path(const char *path, enum volume_format fmt, const char *target, struct error *err)
{
	struct stat st;
	if (!target || target[0] != '/' || stat(target, &st) < 0 || !S_ISDIR(st.st_mode))
		return error_set(err, EINVAL, "mount target '%s' is not an existing directory",
		                 target ? target : "");
	if (fmt == FORMAT_SUBVOL) {
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			return error_set(err, ENOENT, "volume directory '%s' does not exist", path);
		if (mount(path, target, NULL, MS_BIND, NULL) < 0)
			return error_errno(err, negative_errno(), "bind mount '%s' on '%s'", path,
			                   target);
		return 0;
	}
	if (fmt != FORMAT_RAW)
		return error_set(err, EINVAL, "only raw images can be mounted");
	char dev[32];
	_cleanup_close_ int loopfd = loop_attach(path, dev, err);
	if (loopfd < 0)
		return loopfd;
	/* no nodev/nosuid here: the guest layer decides how the root is mounted for the
	 * container (lxc remounts it); this is the plain filesystem */
	if (mount(dev, target, "ext4", 0, NULL) < 0)
		return error_errno(err, negative_errno(), "mount '%s' (%s) on '%s'", path, dev,
		                   target);
	/* closing loopfd now leaves the mount as the only user: umount detaches */
	return 0;
}

int
storage_umount(const char *target, struct error *err)
{
	if (!target || target[0] != '/')
		return error_set(err, EINVAL, "umount: '%s' is not an absolute path",
		                 target ? target : "");
	if (umount2(target, UMOUNT_NOFOLLOW) < 0) {
		if (errno == EINVAL)
			return error_set(err, EINVAL, "'%s' is not a mount point", target);
		return error_errno(err, negative_errno(), "umount '%s'", target);
	}
	return 0;
}
