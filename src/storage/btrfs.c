/* The btrfs storage type: raw disks and container volumes as btrfs subvolumes, snapshots and
 * linked clones as subvolume snapshots; qcow2/vmdk files, ISO images, templates and backups
 * as on a dir storage (PVE's BTRFSPlugin inherits DirPlugin the same way).
 *
 * Layout (PVE's):
 *   images/<vmid>/vm-<vmid>-disk-<n>/disk.raw     volname <vmid>/vm-<vmid>-disk-<n>.raw
 *   images/<vmid>/subvol-<vmid>-disk-<n>.subvol   volname <vmid>/subvol-<vmid>-disk-<n>.subvol
 *   images/<vmid>/<subvolume>@<snap>              read-only snapshot beside its subvolume */
#include "storage/btrfs.h"
#include "storage/storage-internal.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <btrfsutil.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#define RAW_FILE "disk.raw"

/* ---- pure name rules (btrfs.h) ---- */

const char *
btrfs_snapshot_of(const char *entry, const char *subvol)
{
	size_t n = strlen(subvol);
	if (n == 0 || !strneq(entry, subvol, n) || entry[n] != '@')
		return NULL;
	return storage_snapname_valid(entry + n + 1) ? entry + n + 1 : NULL;
}

enum volume_format
btrfs_image_entry_format(const char *entry)
{
	/* PVE's list_images: ^[^/@.]+(\.(qcow2|vmdk|subvol))?$ */
	size_t span = strcspn(entry, "/@.");
	if (span == 0)
		return FORMAT_NONE;
	if (entry[span] == '\0')
		return FORMAT_RAW;
	if (entry[span] != '.')
		return FORMAT_NONE;
	const char *ext = entry + span + 1;
	if (streq(ext, "qcow2"))
		return FORMAT_QCOW2;
	if (streq(ext, "vmdk"))
		return FORMAT_VMDK;
	if (streq(ext, "subvol"))
		return FORMAT_SUBVOL;
	return FORMAT_NONE;
}

char *
btrfs_subvol_name(const char *name, enum volume_format fmt)
{
	size_t n = strlen(name);
	if (fmt == FORMAT_RAW) {
		if (n <= 4 || !streq(name + n - 4, ".raw"))
			return NULL;
		return xstrndup(name, n - 4);
	}
	if (fmt == FORMAT_SUBVOL)
		return xstrdup(name);
	return NULL;
}

/* ---- helpers ---- */

/* Fill err from a libbtrfsutil failure: "<what> - <btrfsutil text>[: <errno text>]". The
 * caller clears errno before the call, so a stale errno is not reported. */
_printf_(3, 4) static int util_error(struct error *err, enum btrfs_util_error e, const char *fmt,
                                     ...)
{
	int saved = errno;
	char what[ERROR_MSG_MAX / 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (saved > 0)
		return error_set(err, saved, "%s - %s: %s", what, btrfs_util_strerror(e),
		                 strerror(saved));
	return error_set(err, EIO, "%s - %s", what, btrfs_util_strerror(e));
}

static bool
is_subvolume(const char *path)
{
	return btrfs_util_is_subvolume(path) == BTRFS_UTIL_OK;
}

static int
create_snapshot(const char *src, const char *dst, bool read_only, struct error *err)
{
	errno = 0;
	enum btrfs_util_error e = btrfs_util_create_snapshot(
	        src, dst, read_only ? BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY : 0, NULL, NULL);
	if (e != BTRFS_UTIL_OK)
		return util_error(err, e, "unable to snapshot '%s' to '%s'", src, dst);
	return 0;
}

static int
delete_subvolume(const char *path, struct error *err)
{
	errno = 0;
	enum btrfs_util_error e = btrfs_util_delete_subvolume(path, 0);
	if (e != BTRFS_UTIL_OK)
		return util_error(err, e, "unable to delete subvolume '%s'", path);
	return 0;
}

/* Raw disks and subvol volumes are subvolumes; everything else is dir's business. */
static bool
uses_subvolume(const struct volname *v)
{
	return v->content == CONTENT_IMAGES &&
	       (v->format == FORMAT_RAW || v->format == FORMAT_SUBVOL);
}

/* "<storage>:<volname>" for messages and listings; caller frees. */
static char *
volid_of(const struct storage *s, const struct volname *v)
{
	_cleanup_free_ char *vn = volname_format(v);
	return xasprintf("%s:%s", s->id, vn ? vn : v->name);
}

/* The subvolume of a raw/subvol volume, or of its snapshot `snap`. */
static int
subvol_path(const struct storage *s, const struct volname *v, const char *snap, char **ret,
            struct error *err)
{
	if (snap && storage_check_snapname(snap, err) < 0)
		return -EINVAL;
	_cleanup_free_ char *dir = storage_image_dir(s, v->vmid);
	_cleanup_free_ char *name = btrfs_subvol_name(v->name, v->format);
	if (!dir || !name)
		return error_set(err, EINVAL, "internal error: bad disk name: %s", v->name);
	*ret = snap ? xasprintf("%s/%s@%s", dir, name, snap) : xasprintf("%s/%s", dir, name);
	return 0;
}

/* The volume's subvolume, which must exist. */
static int
existing_subvol(const struct storage *s, const struct volname *v, char **ret, struct error *err)
{
	_cleanup_free_ char *sub = NULL;
	int r = subvol_path(s, v, NULL, &sub, err);
	if (r < 0)
		return r;
	if (!is_subvolume(sub)) {
		_cleanup_free_ char *volid = volid_of(s, v);
		return error_set_status(err, 404, ENOENT, "volume '%s' does not exist", volid);
	}
	*ret = TAKE_PTR(sub);
	return 0;
}

static int
parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *
prop_string(const struct storage *s, const char *name)
{
	return s->props ? json_string_value(json_object_get(s->props, name)) : NULL;
}

static bool
prop_true(const struct storage *s, const char *name)
{
	const char *v = prop_string(s, name);
	bool b = false;
	return v && parse_bool(v, &b) == 0 && b;
}

/* PVE's parse_is_mountpoint: a boolean (the path itself) or a path; NULL when not set. */
static const char *
mountpoint_of(const struct storage *s)
{
	const char *v = prop_string(s, "is_mountpoint");
	bool b;
	if (!v)
		return NULL;
	if (parse_bool(v, &b) == 0)
		return b ? s->path : NULL;
	return v;
}

/* Undo the octal escapes (\040 for space, ...) of /proc/self/mountinfo, in place. */
static void
unescape_mount_path(char *p)
{
	char *w = p;
	for (char *r = p; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

static bool
path_is_mounted(const char *mp)
{
	_cleanup_free_ char *real = realpath(mp, NULL);
	_cleanup_free_ char *data = NULL;
	if (!real || read_file("/proc/self/mountinfo", 16 << 20, &data, NULL) < 0)
		return false;
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* id parent major:minor root mountpoint ... */
		char *f = line;
		for (int i = 0; i < 4 && f; i++) {
			f = strchr(f, ' ');
			if (f)
				f++;
		}
		if (!f)
			continue;
		char *end = strchr(f, ' ');
		if (end)
			*end = '\0';
		unescape_mount_path(f);
		if (streq(f, real))
			return true;
	}
	return false;
}

static int
assert_btrfs(const struct storage *s, struct error *err)
{
	struct statfs sf;
	if (statfs(s->path, &sf) < 0)
		return error_set(err, errno, "storage '%s' path '%s' is not accessible: %s", s->id,
		                 s->path, strerror(errno));
	if ((unsigned long)sf.f_type != (unsigned long)BTRFS_SUPER_MAGIC)
		return error_set(err, EINVAL, "storage '%s' path '%s' is not on a btrfs filesystem",
		                 s->id, s->path);
	return 0;
}

/* ---- configuration, activation, status ---- */

/* Only what the section says: it is checked when storage.cfg is read, and a btrfs that is not
 * mounted yet must not make the storage vanish from the configuration (PVE's check_config is
 * DirPlugin's too). The filesystem is checked on activation. */
static int
btrfs_check(const struct storage *s, struct error *err)
{
	return dir_check(s, err);
}

static int
btrfs_activate(const struct storage *s, struct error *err)
{
	const char *mp = mountpoint_of(s);
	if (mp && !path_is_mounted(mp))
		return error_set(err, EIO,
		                 "unable to activate storage '%s' - directory is expected to be a "
		                 "mount point but is not mounted: '%s'",
		                 s->id, mp);
	if (s->create_base_path) {
		int r = mkdir_p(s->path, 0755);
		if (r < 0)
			return error_errno(err, r, "unable to create the path '%s' of storage '%s'",
			                   s->path, s->id);
	}
	int r = assert_btrfs(s, err);
	if (r < 0)
		return r;
	return dir_activate(s, err);
}

static int
btrfs_status(const struct storage *s, struct storage_status *ret, struct error *err)
{
	struct statfs sf;
	const char *mp = mountpoint_of(s);
	if ((mp && !path_is_mounted(mp)) || statfs(s->path, &sf) < 0 ||
	    (unsigned long)sf.f_type != (unsigned long)BTRFS_SUPER_MAGIC) {
		*ret = (struct storage_status){ 0 };
		return 0;
	}
	return dir_status(s, ret, err);
}

/* ---- volumes ---- */

static int
btrfs_path(const struct storage *s, const struct volname *v, const char *snap, char **ret,
           struct error *err)
{
	if (!uses_subvolume(v))
		return dir_path(s, v, snap, ret, err);
	_cleanup_free_ char *sub = NULL;
	int r = subvol_path(s, v, snap, &sub, err);
	if (r < 0)
		return r;
	*ret = v->format == FORMAT_RAW ? xasprintf("%s/" RAW_FILE, sub) : TAKE_PTR(sub);
	return 0;
}

static int
set_nocow(int fd)
{
	int flags = 0;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
		return negative_errno();
	flags |= FS_NOCOW_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
		return negative_errno();
	return 0;
}

static int
create_raw_file(const struct storage *s, const char *path, uint64_t size, struct error *err)
{
	_cleanup_close_ int fd =
	        open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return error_set(err, errno, "failed to create raw file '%s' - %s", path,
		                 strerror(errno));
	/* NOCOW only takes on an empty file. */
	if (prop_true(s, "nocow")) {
		int r = set_nocow(fd);
		if (r < 0)
			return error_set(err, -r, "FS_IOC_SETFLAGS failed on '%s' - %s", path,
			                 strerror(-r));
	}
	if (ftruncate(fd, (off_t)size) < 0)
		return error_set(err, errno, "failed to set file size for '%s' - %s", path,
		                 strerror(errno));
	return 0;
}

static int
btrfs_alloc(const struct storage *s, unsigned vmid, enum volume_format fmt, const char *name,
            uint64_t size_kib, char **ret_volname, struct error *err)
{
	if (fmt != FORMAT_RAW && fmt != FORMAT_SUBVOL)
		return dir_alloc(s, vmid, fmt, name, size_kib, ret_volname, err);
	/* btrfs send/receive drops quota information, so PVE refuses sized subvolumes. */
	if (fmt == FORMAT_SUBVOL && size_kib != 0)
		return error_set_status(err, 400, EINVAL,
		                        "btrfs quotas are currently not supported, use an unsized "
		                        "subvolume or a raw file");
	if (fmt == FORMAT_RAW && size_kib == 0)
		return error_set_status(err, 400, EINVAL, "disk size must be greater than 0");
	if (size_kib > (uint64_t)INT64_MAX / 1024)
		return error_set_status(err, 400, EINVAL, "disk size too large");

	_cleanup_free_ char *imagedir = storage_image_dir(s, vmid);
	if (!imagedir)
		return error_set(err, EINVAL, "storage '%s' has no path", s->id);
	int r = mkdir_p(imagedir, 0755);
	if (r < 0)
		return error_errno(err, r, "unable to create '%s'", imagedir);

	_cleanup_free_ char *newname = NULL;
	if (name) {
		_cleanup_free_ char *vn = xasprintf("%u/%s", vmid, name);
		struct volname v;
		r = volname_parse(vn, &v, err);
		if (r < 0)
			return r;
		if (v.format != fmt || v.content != CONTENT_IMAGES)
			return error_set_status(
			        err, 400, EINVAL,
			        "illegal name '%s' - wrong extension for format ('%s != '%s')",
			        name, volume_format_name(v.format), volume_format_name(fmt));
		newname = xstrdup(name);
	} else {
		r = dir_find_free_diskname(s, vmid, fmt, &newname, err);
		if (r < 0)
			return r;
	}

	_cleanup_free_ char *subname = btrfs_subvol_name(newname, fmt);
	if (!subname)
		return error_set(err, EINVAL, "illegal name '%s'", newname);
	_cleanup_free_ char *sub = xasprintf("%s/%s", imagedir, subname);
	struct stat st;
	if (lstat(sub, &st) == 0)
		return error_set_status(err, 400, EEXIST, "disk image '%s' already exists", sub);

	errno = 0;
	enum btrfs_util_error e = btrfs_util_create_subvolume(sub, 0, NULL, NULL);
	if (e != BTRFS_UTIL_OK)
		return util_error(err, e, "unable to create subvolume '%s'", sub);
	if (fmt == FORMAT_RAW) {
		_cleanup_free_ char *file = xasprintf("%s/" RAW_FILE, sub);
		r = create_raw_file(s, file, size_kib * 1024, err);
		if (r < 0) {
			delete_subvolume(sub, NULL);
			return r;
		}
	}
	*ret_volname = xasprintf("%u/%s", vmid, newname);
	return 0;
}

/* Is `entry` of the subvolume's directory a leftover "<subvol>.tmp.<pid>" of a rollback? */
static bool
is_rollback_leftover(const char *entry, const char *subvol)
{
	size_t n = strlen(subvol);
	if (!strneq(entry, subvol, n) || !startswith(entry + n, ".tmp."))
		return false;
	const char *p = entry + n + 5;
	if (!*p)
		return false;
	return strspn(p, "0123456789") == strlen(p);
}

/* Call fn(path) for every snapshot subvolume "<sub>@<snap>" beside sub (and, with
 * leftovers, every rollback leftover); stops at the first failure. */
static int
foreach_snapshot(const char *sub, bool leftovers, int (*fn)(const char *path, void *userdata),
                 void *userdata, struct error *err)
{
	_cleanup_free_ char *dir = xstrdup(sub);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return error_set(err, EINVAL, "internal error: bad subvolume path '%s'", sub);
	*slash = '\0';
	const char *base = slash + 1;
	DIR *d = opendir(dir);
	if (!d)
		return error_set(err, errno, "unable to read '%s' - %s", dir, strerror(errno));
	int r = 0;
	struct dirent *de;
	while (r >= 0 && (de = readdir(d))) {
		if (!btrfs_snapshot_of(de->d_name, base) &&
		    !(leftovers && is_rollback_leftover(de->d_name, base)))
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
		if (is_subvolume(path))
			r = fn(path, userdata);
	}
	closedir(d);
	return r;
}

static int
delete_one(const char *path, void *userdata)
{
	return delete_subvolume(path, userdata);
}

static int
count_one(const char *path _unused_, void *userdata)
{
	(*(unsigned *)userdata)++;
	return 0;
}

/* Btrfs snapshots do not depend on the subvolume they were taken from, so a base volume's
 * linked clones (writable snapshots, named "<vmid>/<name>" as in PVE) survive freeing it. */
static int
btrfs_free(const struct storage *s, const struct volname *v, struct error *err)
{
	if (!uses_subvolume(v))
		return dir_free(s, v, err);
	_cleanup_free_ char *sub = NULL;
	int r = existing_subvol(s, v, &sub, err);
	if (r < 0)
		return r;
	r = foreach_snapshot(sub, true, delete_one, err, err);
	if (r < 0)
		return r;
	r = delete_subvolume(sub, err);
	if (r < 0)
		return r;
	/* Leave no empty images/<vmid>/ behind once a guest's last disk is gone. */
	_cleanup_free_ char *dir = storage_image_dir(s, v->vmid);
	if (dir)
		(void)rmdir(dir);
	return 0;
}

static int
info_of_subvolume(const struct storage *s, const struct volname *v, struct volume_info *ret,
                  struct error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = btrfs_path(s, v, NULL, &path, err);
	if (r < 0)
		return r;
	struct stat st;
	if (stat(path, &st) < 0) {
		_cleanup_free_ char *volid = volid_of(s, v);
		if (errno == ENOENT)
			return error_set_status(err, 404, ENOENT, "volume '%s' does not exist",
			                        volid);
		return error_set(err, errno, "unable to stat '%s' - %s", path, strerror(errno));
	}
	*ret = (struct volume_info){
		.volid = volid_of(s, v),
		.vmid = v->vmid,
		.format = v->format,
		.ctime = st.st_ctime,
	};
	if (v->format == FORMAT_RAW) {
		ret->content = CONTENT_IMAGES;
		ret->size = (uint64_t)st.st_size;
		ret->used = (uint64_t)st.st_blocks * 512;
	} else {
		/* Unsized: no quotas (see alloc). */
		ret->content = CONTENT_ROOTDIR;
	}
	return 0;
}

static int
btrfs_info(const struct storage *s, const struct volname *v, struct volume_info *ret,
           struct error *err)
{
	if (!uses_subvolume(v))
		return dir_info(s, v, ret, err);
	return info_of_subvolume(s, v, ret, err);
}

struct vlist {
	struct volume_info *v;
	size_t n;
};

static void
vlist_push(struct vlist *l, struct volume_info *vi)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = *vi;
}

static int
cmp_volid(const void *a, const void *b)
{
	const struct volume_info *x = a, *y = b;
	return strcmp(x->volid ? x->volid : "", y->volid ? y->volid : "");
}

static bool
all_digits(const char *p)
{
	return *p && strspn(p, "0123456789") == strlen(p);
}

/* One entry of images/<owner>/ into l, when it is a volume the content mask asks for. */
static void
list_entry(const struct storage *s, unsigned owner, const char *entry, unsigned content,
           struct vlist *l)
{
	enum volume_format fmt = btrfs_image_entry_format(entry);
	if (fmt == FORMAT_NONE)
		return;
	unsigned ct = fmt == FORMAT_SUBVOL ? CONTENT_ROOTDIR : CONTENT_IMAGES;
	if (content && !(content & ct))
		return;
	_cleanup_free_ char *vn = fmt == FORMAT_RAW ? xasprintf("%u/%s.raw", owner, entry)
	                                            : xasprintf("%u/%s", owner, entry);
	struct volname v;
	if (volname_parse(vn, &v, NULL) < 0 || v.format != fmt)
		return; /* not a name we could address; PVE would list what it cannot use */

	struct volume_info vi = { 0 };
	struct error e = { 0 };
	int r = fmt == FORMAT_RAW || fmt == FORMAT_SUBVOL ? info_of_subvolume(s, &v, &vi, &e)
	                                                  : dir_info(s, &v, &vi, &e);
	/* Skip what cannot be read (a raw subvolume without disk.raw, a file gone meanwhile, a
	 * damaged image) rather than fail the whole listing, as dir does. */
	if (r < 0)
		return;
	/* dir names a qcow2 linked clone "<basevmid>/<base>/<vmid>/<name>"; raw and subvol
	 * clones are plain snapshots, listed as <owner>/<name> (PVE's BTRFSPlugin) */
	if (!vi.volid || fmt == FORMAT_RAW || fmt == FORMAT_SUBVOL) {
		free(vi.volid);
		vi.volid = xasprintf("%s:%s", s->id, vn);
	}
	vi.vmid = owner;
	vlist_push(l, &vi);
}

static int
list_images(const struct storage *s, unsigned content, unsigned vmid, struct vlist *l,
            struct error *err)
{
	_cleanup_free_ char *imagedir = storage_subdir(s, CONTENT_IMAGES);
	if (!imagedir)
		return error_set(err, EINVAL, "storage '%s' has no path", s->id);
	DIR *d = opendir(imagedir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return error_set(err, errno, "unable to read '%s' - %s", imagedir, strerror(errno));
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!all_digits(de->d_name) || strlen(de->d_name) > 9)
			continue;
		unsigned owner = (unsigned)strtoul(de->d_name, NULL, 10);
		if (owner == 0 || (vmid && owner != vmid))
			continue;
		_cleanup_free_ char *ownerdir = xasprintf("%s/%s", imagedir, de->d_name);
		DIR *od = opendir(ownerdir);
		if (!od)
			continue;
		struct dirent *e;
		while ((e = readdir(od)))
			list_entry(s, owner, e->d_name, content, l);
		closedir(od);
	}
	closedir(d);
	return 0;
}

static int
btrfs_list(const struct storage *s, unsigned content, unsigned vmid, struct volume_info **ret,
           size_t *ret_n, struct error *err)
{
	struct vlist l = { 0 };
	int r = 0;
	/* only what the storage is configured to hold, as PVE (and dir) list */
	unsigned want = (content ? content : CONTENT_ALL) & s->content;
	if (want & (CONTENT_IMAGES | CONTENT_ROOTDIR))
		r = list_images(s, want & (CONTENT_IMAGES | CONTENT_ROOTDIR), vmid, &l, err);
	unsigned rest = want & ~(CONTENT_IMAGES | CONTENT_ROOTDIR | CONTENT_NONE);
	if (r >= 0 && rest) {
		struct volume_info *other = NULL;
		size_t n_other = 0;
		r = dir_list(s, rest, vmid, &other, &n_other, err);
		if (r >= 0) {
			for (size_t i = 0; i < n_other; i++)
				vlist_push(&l, &other[i]);
			free(other);
		}
	}
	if (r < 0) {
		volume_info_free_array(l.v, l.n);
		return r;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_volid);
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

static int
btrfs_resize(const struct storage *s, const struct volname *v, uint64_t size, struct error *err)
{
	if (!uses_subvolume(v))
		return dir_resize(s, v, size, err);
	if (v->format == FORMAT_SUBVOL)
		return error_set_status(
		        err, 400, EINVAL,
		        "cannot resize subvolume - btrfs quotas are currently not supported");
	if (size > (uint64_t)INT64_MAX)
		return error_set_status(err, 400, EINVAL, "disk size too large");
	_cleanup_free_ char *path = NULL;
	int r = btrfs_path(s, v, NULL, &path, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		_cleanup_free_ char *volid = volid_of(s, v);
		if (errno == ENOENT)
			return error_set_status(err, 404, ENOENT, "volume '%s' does not exist",
			                        volid);
		return error_set(err, errno, "unable to open '%s' - %s", path, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return error_set(err, errno, "unable to stat '%s' - %s", path, strerror(errno));
	if (size < (uint64_t)st.st_size)
		return error_set_status(err, 400, EINVAL, "shrinking disks is not supported");
	if (size == (uint64_t)st.st_size)
		return 0;
	if (ftruncate(fd, (off_t)size) < 0)
		return error_set(err, errno, "unable to resize '%s' - %s", path, strerror(errno));
	return 0;
}

static int
btrfs_snapshot(const struct storage *s, const struct volname *v, const char *snap,
               struct error *err)
{
	if (!uses_subvolume(v))
		return dir_snapshot(s, v, snap, err);
	if (v->is_base)
		return error_set_status(err, 400, EINVAL,
		                        "snapshots of base volume '%s' are not supported", v->name);
	_cleanup_free_ char *sub = NULL, *snap_path = NULL;
	int r = existing_subvol(s, v, &sub, err);
	if (r < 0)
		return r;
	r = subvol_path(s, v, snap, &snap_path, err);
	if (r < 0)
		return r;
	struct stat st;
	if (lstat(snap_path, &st) == 0)
		return error_set_status(err, 400, EEXIST, "snapshot '%s' of '%s' already exists",
		                        snap, v->name);
	return create_snapshot(sub, snap_path, true, err);
}

static int
existing_snapshot(const struct storage *s, const struct volname *v, const char *snap, char **ret,
                  struct error *err)
{
	_cleanup_free_ char *snap_path = NULL;
	int r = subvol_path(s, v, snap, &snap_path, err);
	if (r < 0)
		return r;
	if (!is_subvolume(snap_path))
		return error_set_status(err, 404, ENOENT,
		                        "snapshot '%s' of volume '%s' does not exist", snap,
		                        v->name);
	*ret = TAKE_PTR(snap_path);
	return 0;
}

/* A writable snapshot of @snap is made beside the volume and exchanged with it atomically
 * (renameat2 RENAME_EXCHANGE), so the volume is never missing; the old state is deleted
 * last. Any snapshot can be the target, not only the latest. */
static int
btrfs_rollback(const struct storage *s, const struct volname *v, const char *snap,
               struct error *err)
{
	if (!uses_subvolume(v))
		return dir_rollback(s, v, snap, err);
	_cleanup_free_ char *sub = NULL, *snap_path = NULL;
	int r = existing_subvol(s, v, &sub, err);
	if (r < 0)
		return r;
	r = existing_snapshot(s, v, snap, &snap_path, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", sub, (int)getpid());
	r = create_snapshot(snap_path, tmp, false, err);
	if (r < 0)
		return r;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, sub, RENAME_EXCHANGE) < 0) {
		int saved = errno;
		delete_subvolume(tmp, NULL);
		return error_set(err, saved, "failed to rotate '%s' into place at '%s' - %s", tmp,
		                 sub, strerror(saved));
	}
	/* tmp is now the old state. Should deleting it fail, the rollback still happened;
	 * free removes such a leftover with the volume. */
	delete_subvolume(tmp, NULL);
	return 0;
}

static int
btrfs_snapshot_delete(const struct storage *s, const struct volname *v, const char *snap,
                      struct error *err)
{
	if (!uses_subvolume(v))
		return dir_snapshot_delete(s, v, snap, err);
	_cleanup_free_ char *snap_path = NULL;
	int r = existing_snapshot(s, v, snap, &snap_path, err);
	if (r < 0)
		return r;
	return delete_subvolume(snap_path, err);
}

static int
btrfs_create_base(const struct storage *s, const struct volname *v, char **ret_volname,
                  struct error *err)
{
	if (!uses_subvolume(v))
		return dir_create_base(s, v, ret_volname, err);
	if (v->is_base)
		return error_set_status(err, 400, EINVAL,
		                        "create_base not possible with base image");
	_cleanup_free_ char *sub = NULL;
	int r = existing_subvol(s, v, &sub, err);
	if (r < 0)
		return r;
	/* The snapshots are named after the volume and would be orphaned by the rename. */
	unsigned nsnap = 0;
	r = foreach_snapshot(sub, false, count_one, &nsnap, err);
	if (r < 0)
		return r;
	if (nsnap > 0)
		return error_set_status(
		        err, 400, EBUSY,
		        "unable to create base volume from '%s' - it has %u snapshot(s)", v->name,
		        nsnap);

	/* "vm-" becomes "base-" as in PVE. PVE keeps a subvol volume's name (so it is never a
	 * base and cannot be linked-cloned); here "subvol-" becomes "base-" too, so a container
	 * template is a base like a VM's. */
	_cleanup_free_ char *newname = NULL;
	if (startswith(v->name, "vm-"))
		newname = xasprintf("base-%s", v->name + 3);
	else if (startswith(v->name, "subvol-"))
		newname = xasprintf("base-%s", v->name + 7);
	else
		newname = xstrdup(v->name);
	struct volname nv = *v;
	if (strlen(newname) > VOLNAME_MAX)
		return error_set(err, EINVAL, "volume name '%s' is too long", newname);
	strcpy(nv.name, newname);
	nv.is_base = startswith(newname, "base-");
	_cleanup_free_ char *newsub = NULL;
	r = subvol_path(s, &nv, NULL, &newsub, err);
	if (r < 0)
		return r;
	bool renamed = !streq(sub, newsub);
	if (renamed) {
		if (renameat2(AT_FDCWD, sub, AT_FDCWD, newsub, RENAME_NOREPLACE) < 0)
			return error_set(err, errno, "rename '%s' to '%s' failed - %s", sub, newsub,
			                 strerror(errno));
	}
	errno = 0;
	enum btrfs_util_error e = btrfs_util_set_subvolume_read_only(newsub, true);
	if (e != BTRFS_UTIL_OK) {
		r = util_error(err, e, "unable to make '%s' read-only", newsub);
		if (renamed)
			(void)rename(newsub, sub);
		return r;
	}
	_cleanup_free_ char *vn = volname_format(&nv);
	if (!vn)
		return error_set(err, EINVAL, "internal error: cannot format volume name");
	*ret_volname = TAKE_PTR(vn);
	return 0;
}

/* A linked clone is a writable snapshot of the base's subvolume; it does not depend on the
 * base afterwards, so PVE names it plainly "<vmid>/<name>" (not the base/clone form). */
static int
btrfs_clone(const struct storage *s, const struct volname *v, unsigned new_vmid, char **ret_volname,
            struct error *err)
{
	if (!uses_subvolume(v))
		return dir_clone(s, v, new_vmid, ret_volname, err);
	_cleanup_free_ char *sub = NULL;
	int r = existing_subvol(s, v, &sub, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *imagedir = storage_image_dir(s, new_vmid);
	if (!imagedir)
		return error_set(err, EINVAL, "storage '%s' has no path", s->id);
	r = mkdir_p(imagedir, 0755);
	if (r < 0)
		return error_errno(err, r, "unable to create '%s'", imagedir);
	_cleanup_free_ char *newname = NULL;
	r = dir_find_free_diskname(s, new_vmid, v->format, &newname, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *subname = btrfs_subvol_name(newname, v->format);
	if (!subname)
		return error_set(err, EINVAL, "internal error: bad disk name: %s", newname);
	_cleanup_free_ char *newsub = xasprintf("%s/%s", imagedir, subname);
	r = create_snapshot(sub, newsub, false, err);
	if (r < 0)
		return r;
	*ret_volname = xasprintf("%u/%s", new_vmid, newname);
	return 0;
}

static const char *const btrfs_props[] = {
	"path",  "format",        "mkdir", "create-base-path", "create-subdirs", "is_mountpoint",
	"nocow", "preallocation", NULL
};

const struct storage_type storage_type_btrfs = {
	.name = "btrfs",
	.content = CONTENT_IMAGES | CONTENT_ROOTDIR | CONTENT_ISO | CONTENT_VZTMPL |
	           CONTENT_BACKUP | CONTENT_SNIPPETS | CONTENT_IMPORT | CONTENT_NONE,
	.default_content = CONTENT_IMAGES | CONTENT_ROOTDIR,
	/* PVE's plugindata lists raw and subvol only; qcow2/vmdk are here as well so that
	 * such files resolve and work as on dir (PVE's BTRFSPlugin hands them to DirPlugin). */
	.formats = FORMAT_RAW | FORMAT_QCOW2 | FORMAT_VMDK | FORMAT_SUBVOL,
	.default_format = FORMAT_RAW,
	.ct_subvol = true,
	.feature_formats = {
		[FEATURE_SNAPSHOT] = FORMAT_RAW | FORMAT_SUBVOL | FORMAT_QCOW2,
		[FEATURE_CLONE] = FORMAT_RAW | FORMAT_SUBVOL | FORMAT_QCOW2 | FORMAT_VMDK,
		[FEATURE_TEMPLATE] = FORMAT_RAW | FORMAT_SUBVOL | FORMAT_QCOW2 | FORMAT_VMDK,
		[FEATURE_COPY] = FORMAT_RAW | FORMAT_SUBVOL | FORMAT_QCOW2 | FORMAT_VMDK,
		[FEATURE_SPARSEINIT] = FORMAT_RAW | FORMAT_QCOW2 | FORMAT_VMDK,
	},
	.props = btrfs_props,
	.check = btrfs_check,
	.activate = btrfs_activate,
	.status = btrfs_status,
	.path = btrfs_path,
	.alloc = btrfs_alloc,
	.free = btrfs_free,
	.list = btrfs_list,
	.info = btrfs_info,
	.resize = btrfs_resize,
	.snapshot = btrfs_snapshot,
	.rollback = btrfs_rollback,
	.snapshot_delete = btrfs_snapshot_delete,
	.create_base = btrfs_create_base,
	.clone = btrfs_clone,
};
