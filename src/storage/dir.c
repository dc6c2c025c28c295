/* The dir storage type: Proxmox's directory layout under `path` (images/<vmid>/,
 * template/iso, template/cache, dump, snippets, import), image files handled by qemu-img,
 * container subvolumes as plain directories. btrfs.c builds on these functions. */
#include "storage/storage-internal.h"
#include "storage/storage.h"

#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#define MAX_DISKS 1000 /* PVE's $MAX_VOLUMES_PER_GUEST is far lower; names stop here */

static const struct {
	unsigned content;
	const char *dir;
} subdirs[] = {
	{ CONTENT_IMAGES, "images" },    { CONTENT_ROOTDIR, "images" },
	{ CONTENT_ISO, "template/iso" }, { CONTENT_VZTMPL, "template/cache" },
	{ CONTENT_BACKUP, "dump" },      { CONTENT_SNIPPETS, "snippets" },
	{ CONTENT_IMPORT, "import" },
};

const char *
storage_subdir_name(unsigned content)
{
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++)
		if (subdirs[i].content == content)
			return subdirs[i].dir;
	return NULL;
}

char *
storage_subdir(const struct storage *s, unsigned content)
{
	const char *sub = storage_subdir_name(content);
	if (!sub || !s->path)
		return NULL;
	return xasprintf("%s/%s", s->path, sub);
}

char *
storage_image_dir(const struct storage *s, unsigned vmid)
{
	return xasprintf("%s/images/%u", s->path ? s->path : "", vmid);
}

static int
no_path(const struct storage *s, struct error *err)
{
	return error_set(err, EINVAL, "storage '%s': storage definition has no path", s->id);
}

static char *
volid_of(const struct storage *s, const struct volname *v)
{
	_cleanup_free_ char *vn = volname_format(v);
	return xasprintf("%s:%s", s->id, vn);
}

static int
no_volume(const struct storage *s, const struct volname *v, struct error *err)
{
	_cleanup_free_ char *volid = volid_of(s, v);
	return error_set_status(err, 404, ENOENT, "volume '%s' does not exist", volid);
}

void
volume_info_done(struct volume_info *v)
{
	if (!v)
		return;
	free(v->volid);
	free(v->parent);
	v->volid = v->parent = NULL;
}

/* ---- activate, status ---- */

/* is_mountpoint: "yes"/"1"/... means `path` itself, an absolute path names the mount point. */
static const char *
mountpoint_of(const struct storage *s)
{
	const char *v = json_string_value(json_object_get(s->props, "is_mountpoint"));
	if (!v)
		return NULL;
	if (v[0] == '/')
		return v;
	if (streq(v, "1") || streq(v, "yes") || streq(v, "on") || streq(v, "true"))
		return s->path;
	return NULL;
}

static bool
is_mounted(const char *path)
{
	_cleanup_free_ char *data = NULL;
	if (read_file("/proc/self/mountinfo", 16u << 20, &data, NULL) < 0)
		return false;
	/* field 5 is the mount point, with ' ', '\t', '\n', '\\' octal-escaped */
	for (char *line = data; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *f = line;
		for (int i = 0; i < 4 && f; i++) {
			f = strchr(f, ' ');
			if (f)
				f++;
		}
		if (f) {
			char *end = strchr(f, ' ');
			if (end)
				*end = '\0';
			char mp[4096];
			size_t n = 0;
			for (char *p = f; *p && n < sizeof(mp) - 1; p++) {
				if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
					mp[n++] = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 +
					                 (p[3] - '0'));
					p += 3;
				} else
					mp[n++] = *p;
			}
			mp[n] = '\0';
			if (streq(mp, path))
				return true;
		}
		line = next;
	}
	return false;
}

int
dir_check(const struct storage *s, struct error *err)
{
	if (!s->path || s->path[0] != '/')
		return error_set_status(err, 400, EINVAL,
		                        "storage '%s': path must be an absolute path", s->id);
	return 0;
}

int
dir_activate(const struct storage *s, struct error *err)
{
	if (!s->path)
		return no_path(s, err);
	const char *mp = mountpoint_of(s);
	if (mp && !is_mounted(mp))
		return error_set(err, EIO,
		                 "unable to activate storage '%s' - directory is expected to be a "
		                 "mount point but is not mounted: '%s'",
		                 s->id, mp);
	int r;
	if (s->create_base_path) {
		r = mkdir_p(s->path, 0755);
		if (r < 0)
			return error_errno(err, r, "unable to activate storage '%s' - mkdir '%s'",
			                   s->id, s->path);
	}
	struct stat st;
	if (stat(s->path, &st) < 0 || !S_ISDIR(st.st_mode))
		return error_set(err, ENOENT,
		                 "unable to activate storage '%s' - directory '%s' does not exist "
		                 "or is unreachable",
		                 s->id, s->path);
	if (!s->create_subdirs)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		if (!(s->content & subdirs[i].content))
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", s->path, subdirs[i].dir);
		r = mkdir_p(p, 0755);
		if (r < 0)
			return error_errno(err, r, "unable to activate storage '%s' - mkdir '%s'",
			                   s->id, p);
	}
	return 0;
}

int
dir_status(const struct storage *s, struct storage_status *ret, struct error *err)
{
	if (!s->path)
		return no_path(s, err);
	const char *mp = mountpoint_of(s);
	struct statvfs sv;
	if ((mp && !is_mounted(mp)) || statvfs(s->path, &sv) < 0) {
		*ret = (struct storage_status){ .active = false };
		return 0;
	}
	uint64_t f = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
	*ret = (struct storage_status){
		.total = (uint64_t)sv.f_blocks * f,
		.avail = (uint64_t)sv.f_bavail * f,
		.used = (uint64_t)(sv.f_blocks - sv.f_bfree) * f,
		.active = true,
	};
	return 0;
}

/* ---- paths and names ---- */

int
dir_path(const struct storage *s, const struct volname *v, const char *snap, char **ret,
         struct error *err)
{
	if (!s->path)
		return no_path(s, err);
	if (snap) {
		/* qcow2 snapshots are internal: the path is the image itself */
		if (v->content != CONTENT_IMAGES || v->format != FORMAT_QCOW2)
			return error_set(err, EINVAL, "can't snapshot this image format");
		int r = storage_check_snapname(snap, err);
		if (r < 0)
			return r;
	}
	if (v->content == CONTENT_IMAGES || v->content == CONTENT_ROOTDIR)
		*ret = xasprintf("%s/images/%u/%s", s->path, v->vmid, v->name);
	else {
		const char *sub = storage_subdir_name(v->content);
		if (!sub)
			return error_set(err, EINVAL, "unknown content type");
		*ret = xasprintf("%s/%s/%s", s->path, sub, v->name);
	}
	return 0;
}

/* Does `name` use disk number n of vmid ("<kind>-<vmid>-disk-<n>" + '.' or end)? Returns
 * the number or -1. */
static int
disk_number(const char *name, unsigned vmid)
{
	static const char *const kinds[] = { "vm-", "base-", "subvol-" };
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		char prefix[64];
		snprintf(prefix, sizeof(prefix), "%s%u-disk-", kinds[i], vmid);
		if (!startswith(name, prefix))
			continue;
		const char *d = name + strlen(prefix);
		char *end;
		if (!isdigit((unsigned char)*d))
			return -1;
		errno = 0;
		unsigned long n = strtoul(d, &end, 10);
		if (errno || n >= MAX_DISKS || (*end && *end != '.'))
			return -1;
		return (int)n;
	}
	return -1;
}

int
dir_find_free_diskname(const struct storage *s, unsigned vmid, enum volume_format fmt,
                       char **ret_name, struct error *err)
{
	if (!s->path)
		return no_path(s, err);
	bool used[MAX_DISKS] = { false };
	_cleanup_free_ char *dir = storage_image_dir(s, vmid);
	DIR *d = opendir(dir);
	if (!d && errno != ENOENT)
		return error_errno(err, negative_errno(), "unable to read '%s'", dir);
	for (struct dirent *de; d && (de = readdir(d));) {
		int n = disk_number(de->d_name, vmid);
		if (n >= 0)
			used[n] = true;
	}
	if (d)
		closedir(d);
	const char *ext = volume_format_name(fmt);
	for (int i = 0; i < MAX_DISKS; i++)
		if (!used[i]) {
			*ret_name = xasprintf("%s-%u-disk-%d.%s",
			                      fmt == FORMAT_SUBVOL ? "subvol" : "vm", vmid, i, ext);
			return 0;
		}
	return error_set(err, ENOSPC, "unable to allocate an image name for VM %u in storage '%s'",
	                 vmid, s->id);
}

/* ---- alloc, free ---- */

int
dir_alloc(const struct storage *s, unsigned vmid, enum volume_format fmt, const char *name,
          uint64_t size_kib, char **ret_volname, struct error *err)
{
	if (!s->path)
		return no_path(s, err);
	if (!(s->type->formats & fmt) || fmt == FORMAT_NONE)
		return error_set_status(err, 400, EINVAL, "unsupported format '%s'",
		                        volume_format_name(fmt));
	if (fmt == FORMAT_SUBVOL && size_kib != 0)
		return error_set_status(err, 400, EINVAL, "storage does not support subvol quotas");
	if (fmt != FORMAT_SUBVOL && size_kib == 0)
		return error_set_status(err, 400, EINVAL, "disk size must be greater than 0");
	if (size_kib > UINT64_MAX / 1024)
		return error_set_status(err, 400, EINVAL, "disk size too large");
	if (vmid == 0)
		return error_set_status(err, 400, EINVAL, "invalid VMID");

	_cleanup_free_ char *gen = NULL;
	int r;
	if (name) {
		/* "vm-<vmid>-*" (or "subvol-<vmid>-*" for a directory), with the format's
		 * extension, as PVE checks */
		char prefix[64];
		snprintf(prefix, sizeof(prefix), "%s-%u-", fmt == FORMAT_SUBVOL ? "subvol" : "vm",
		         vmid);
		_cleanup_free_ char *vn = xasprintf("%u/%s", vmid, name);
		struct volname v;
		if (volname_parse(vn, &v, NULL) < 0 || !startswith(name, prefix))
			return error_set_status(err, 400, EINVAL,
			                        "illegal name '%s' - should be '%s*'", name,
			                        prefix);
		if (v.format != fmt)
			return error_set_status(err, 400, EINVAL,
			                        "illegal name '%s' - wrong extension for format "
			                        "('%s' != '%s')",
			                        name, volume_format_name(v.format),
			                        volume_format_name(fmt));
	} else {
		r = dir_find_free_diskname(s, vmid, fmt, &gen, err);
		if (r < 0)
			return r;
		name = gen;
	}

	_cleanup_free_ char *dir = storage_image_dir(s, vmid);
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return error_errno(err, r, "unable to create '%s'", dir);
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);

	if (fmt == FORMAT_SUBVOL) {
		mode_t old = umask(0022);
		r = mkdir(path, 0755) < 0 ? negative_errno() : 0;
		umask(old);
		if (r == -EEXIST)
			return error_set_status(err, 400, EEXIST, "disk image '%s' already exists",
			                        path);
		if (r < 0)
			return error_errno(err, r, "unable to create subvol '%s'", path);
	} else {
		/* reserve the name first, so two allocations never share it */
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (fd < 0 && errno == EEXIST)
			return error_set_status(err, 400, EEXIST, "disk image '%s' already exists",
			                        path);
		if (fd < 0)
			return error_errno(err, negative_errno(), "unable to create '%s'", path);
		close(fd);
		r = image_create(path, fmt, size_kib * 1024, NULL, FORMAT_NONE, err);
		if (r < 0) {
			unlink(path);
			return r;
		}
	}
	*ret_volname = xasprintf("%u/%s", vmid, name);
	return 0;
}

/* Remove a directory tree without following symlinks or leaving its filesystem. */
static int
rm_rf_at(int parent, const char *name, dev_t dev)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : negative_errno();
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0) < 0 ? negative_errno() : 0;
	if (st.st_dev != dev)
		return -EXDEV; /* something is mounted there: leave it alone */
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	DIR *d = fdopendir(fd);
	if (!d) {
		int r = negative_errno();
		close(fd);
		return r;
	}
	int r = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		int q = rm_rf_at(dirfd(d), de->d_name, dev);
		if (q < 0 && r == 0)
			r = q;
	}
	closedir(d);
	if (r < 0)
		return r;
	return unlinkat(parent, name, AT_REMOVEDIR) < 0 ? negative_errno() : 0;
}

int
dir_base_has_clones(const struct storage *s, unsigned base_vmid, const char *base_name, bool *ret,
                    struct error *err)
{
	_cleanup_free_ char *images = storage_subdir(s, CONTENT_IMAGES);
	if (!images)
		return no_path(s, err);
	_cleanup_free_ char *want = xasprintf("../%u/%s", base_vmid, base_name);
	DIR *d = opendir(images);
	if (!d) {
		if (errno == ENOENT) {
			*ret = false;
			return 0;
		}
		return error_errno(err, negative_errno(), "unable to read '%s'", images);
	}
	bool found = false;
	for (struct dirent *de; !found && (de = readdir(d));) {
		char *end;
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		(void)strtoul(de->d_name, &end, 10);
		if (*end)
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", images, de->d_name);
		DIR *vd = opendir(sub);
		for (struct dirent *f; vd && !found && (f = readdir(vd));) {
			size_t n = strlen(f->d_name);
			if (n < 7 || !streq(f->d_name + n - 6, ".qcow2"))
				continue;
			_cleanup_free_ char *p = xasprintf("%s/%s", sub, f->d_name);
			struct image_info ii;
			if (image_info(p, FORMAT_QCOW2, false, &ii, NULL) < 0)
				continue;
			if (ii.backing_file && streq(ii.backing_file, want))
				found = true;
			image_info_done(&ii);
		}
		if (vd)
			closedir(vd);
	}
	closedir(d);
	*ret = found;
	return 0;
}

int
dir_free(const struct storage *s, const struct volname *v, struct error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = dir_path(s, v, NULL, &path, err);
	if (r < 0)
		return r;
	struct stat st;
	if (lstat(path, &st) < 0)
		return no_volume(s, v, err);
	if (v->is_base) {
		bool clones;
		r = dir_base_has_clones(s, v->vmid, v->name, &clones, err);
		if (r < 0)
			return r;
		if (clones) {
			_cleanup_free_ char *vn = volname_format(v);
			return error_set_status(err, 400, EBUSY,
			                        "base volume '%s' is still in use by linked clones",
			                        vn);
		}
	}
	if (S_ISDIR(st.st_mode)) {
		if (v->format != FORMAT_SUBVOL)
			return error_set(err, EINVAL, "'%s' is a directory", path);
		r = rm_rf_at(AT_FDCWD, path, st.st_dev);
		if (r < 0)
			return error_errno(err, r, "unable to remove '%s'", path);
		return 0;
	}
	if (unlink(path) < 0)
		return error_errno(err, negative_errno(), "unable to remove '%s'", path);
	return 0;
}

/* ---- info, list ---- */

static int
fill_image_info(const struct storage *s, const char *path, const struct stat *st,
                const struct volname *v, struct volume_info *ret, struct error *err)
{
	struct volume_info vi = {
		.content = v->content,
		.format = v->format,
		.vmid = v->vmid,
		.ctime = st->st_ctime,
	};
	if (v->content == CONTENT_IMAGES && v->format == FORMAT_SUBVOL) {
		/* a container's directory; PVE reports these as rootdir (its guest config
		 * would tell, we have none: every .subvol is a container volume) */
		vi.content = CONTENT_ROOTDIR;
	} else if (v->content == CONTENT_IMAGES) {
		struct image_info ii;
		int r = image_info(path, v->format, false, &ii, err);
		if (r < 0)
			return r;
		vi.size = ii.virtual_size;
		vi.used = ii.actual_size;
		if (ii.backing_file)
			vi.parent = xstrdup(ii.backing_file);
		image_info_done(&ii);
	} else {
		vi.size = (uint64_t)st->st_size;
		vi.used = (uint64_t)st->st_blocks * 512;
		vi.format = FORMAT_NONE;
	}
	/* a qcow2 whose backing file is ../<vmid>/<base> in this storage is a linked clone */
	struct volname full = *v;
	if (vi.parent && !v->base_name[0]) {
		unsigned bvmid;
		char bname[VOLNAME_MAX + 1];
		int used_len = 0;
		if (sscanf(vi.parent, "../%9u/%255[^/]%n", &bvmid, bname, &used_len) == 2 &&
		    vi.parent[used_len] == '\0') {
			_cleanup_free_ char *cand =
			        xasprintf("%u/%s/%u/%s", bvmid, bname, v->vmid, v->name);
			struct volname cv;
			if (volname_parse(cand, &cv, NULL) == 0)
				full = cv;
		}
	}
	vi.volid = volid_of(s, &full);
	*ret = vi;
	return 0;
}

int
dir_info(const struct storage *s, const struct volname *v, struct volume_info *ret,
         struct error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = dir_path(s, v, NULL, &path, err);
	if (r < 0)
		return r;
	struct stat st;
	if (stat(path, &st) < 0)
		return no_volume(s, v, err);
	if (v->format == FORMAT_SUBVOL ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return error_set(err, EINVAL, "'%s' has the wrong file type for format '%s'", path,
		                 volume_format_name(v->format));
	return fill_image_info(s, path, &st, v, ret, err);
}

struct vlist {
	struct volume_info *v;
	size_t n, cap;
};

static void
vlist_push(struct vlist *l, struct volume_info *vi)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = *vi;
}

static int
cmp_volid(const void *a, const void *b)
{
	const struct volume_info *x = a, *y = b;
	return strcmp(x->volid, y->volid);
}

/* One file or directory of a listing: skipped (0) when its name is not a volume. */
static void
list_one(const struct storage *s, const char *volname, const char *path, unsigned content,
         unsigned vmid, struct vlist *l)
{
	struct volname v;
	if (volname_parse(volname, &v, NULL) < 0)
		return;
	struct stat st;
	if (stat(path, &st) < 0)
		return;
	if (v.format == FORMAT_SUBVOL && v.content == CONTENT_IMAGES ? !S_ISDIR(st.st_mode)
	                                                             : !S_ISREG(st.st_mode))
		return;
	if (vmid && v.vmid != vmid)
		return;
	struct volume_info vi;
	if (fill_image_info(s, path, &st, &v, &vi, NULL) < 0) {
		/* not what its name says (a broken or foreign file): list it with the
		 * file's size, as PVE lists unreadable images as raw */
		vi = (struct volume_info){ .volid = volid_of(s, &v),
			                   .content = v.content,
			                   .format = v.format,
			                   .size = (uint64_t)st.st_size,
			                   .used = (uint64_t)st.st_blocks * 512,
			                   .vmid = v.vmid,
			                   .ctime = st.st_ctime };
	}
	if (!(vi.content & content)) {
		volume_info_done(&vi);
		return;
	}
	vlist_push(l, &vi);
}

static void
list_flat(const struct storage *s, unsigned one, const char *prefix, unsigned content,
          unsigned vmid, struct vlist *l)
{
	_cleanup_free_ char *dir = storage_subdir(s, one);
	DIR *d = dir ? opendir(dir) : NULL;
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *vn = xasprintf("%s/%s", prefix, de->d_name);
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
		list_one(s, vn, p, content, vmid, l);
	}
	if (d)
		closedir(d);
}

int
dir_list(const struct storage *s, unsigned content, unsigned vmid, struct volume_info **ret,
         size_t *ret_n, struct error *err)
{
	if (!s->path)
		return no_path(s, err);
	/* only what the storage is configured to hold, as PVE lists */
	content = (content ? content : CONTENT_ALL) & s->content;
	struct vlist l = { 0 };

	if (content & (CONTENT_IMAGES | CONTENT_ROOTDIR)) {
		_cleanup_free_ char *images = storage_subdir(s, CONTENT_IMAGES);
		DIR *d = opendir(images);
		for (struct dirent *de; d && (de = readdir(d));) {
			char *end;
			if (!isdigit((unsigned char)de->d_name[0]) || de->d_name[0] == '0')
				continue;
			unsigned long owner = strtoul(de->d_name, &end, 10);
			if (*end || owner > 999999999 || (vmid && owner != vmid))
				continue;
			_cleanup_free_ char *sub = xasprintf("%s/%s", images, de->d_name);
			DIR *vd = opendir(sub);
			for (struct dirent *f; vd && (f = readdir(vd));) {
				if (f->d_name[0] == '.')
					continue;
				_cleanup_free_ char *vn = xasprintf("%lu/%s", owner, f->d_name);
				_cleanup_free_ char *p = xasprintf("%s/%s", sub, f->d_name);
				list_one(s, vn, p, content, vmid, &l);
			}
			if (vd)
				closedir(vd);
		}
		if (d)
			closedir(d);
	}
	static const struct {
		unsigned content;
		const char *prefix;
	} flat[] = {
		{ CONTENT_ISO, "iso" },       { CONTENT_VZTMPL, "vztmpl" },
		{ CONTENT_BACKUP, "backup" }, { CONTENT_SNIPPETS, "snippets" },
		{ CONTENT_IMPORT, "import" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(flat); i++)
		if (content & flat[i].content)
			list_flat(s, flat[i].content, flat[i].prefix, content, vmid, &l);

	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_volid);
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

/* ---- resize, snapshots ---- */

int
dir_resize(const struct storage *s, const struct volname *v, uint64_t size, struct error *err)
{
	if (v->content != CONTENT_IMAGES || (v->format != FORMAT_RAW && v->format != FORMAT_QCOW2))
		return error_set_status(err, 400, EINVAL, "can't resize this image format");
	if (v->is_base)
		return error_set_status(err, 400, EINVAL, "can't resize a base volume");
	_cleanup_free_ char *path = NULL;
	int r = dir_path(s, v, NULL, &path, err);
	if (r < 0)
		return r;
	if (access(path, F_OK) < 0)
		return no_volume(s, v, err);
	struct image_info ii;
	r = image_info(path, v->format, false, &ii, err);
	if (r < 0)
		return r;
	uint64_t cur = ii.virtual_size;
	image_info_done(&ii);
	if (size < cur)
		return error_set_status(err, 400, EINVAL, "shrinking disks is not supported");
	if (size == cur)
		return 0;
	return image_resize(path, v->format, size, err);
}

static int
snapshot_op(const struct storage *s, const struct volname *v, const char *snap, char op,
            struct error *err)
{
	if (v->content != CONTENT_IMAGES || v->format != FORMAT_QCOW2)
		return error_set_status(err, 400, EINVAL, "can't snapshot this image format");
	int r = storage_check_snapname(snap, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = NULL;
	r = dir_path(s, v, NULL, &path, err);
	if (r < 0)
		return r;
	if (access(path, F_OK) < 0)
		return no_volume(s, v, err);
	return image_snapshot(path, op, snap, err);
}

int
dir_snapshot(const struct storage *s, const struct volname *v, const char *snap, struct error *err)
{
	return snapshot_op(s, v, snap, 'c', err);
}

int
dir_rollback(const struct storage *s, const struct volname *v, const char *snap, struct error *err)
{
	return snapshot_op(s, v, snap, 'a', err);
}

int
dir_snapshot_delete(const struct storage *s, const struct volname *v, const char *snap,
                    struct error *err)
{
	return snapshot_op(s, v, snap, 'd', err);
}

/* ---- templates and linked clones ---- */

int
dir_create_base(const struct storage *s, const struct volname *v, char **ret_volname,
                struct error *err)
{
	if (v->content != CONTENT_IMAGES)
		return error_set_status(err, 400, EINVAL, "create_base on wrong content type");
	if (v->is_base)
		return error_set_status(err, 400, EINVAL,
		                        "create_base not possible with base image");
	if (!startswith(v->name, "vm-") && !startswith(v->name, "subvol-"))
		return error_set_status(err, 400, EINVAL,
		                        "create_base: volume name '%s' does not start with 'vm-'",
		                        v->name);
	_cleanup_free_ char *path = NULL;
	int r = dir_path(s, v, NULL, &path, err);
	if (r < 0)
		return r;
	struct stat st;
	if (lstat(path, &st) < 0)
		return no_volume(s, v, err);
	if (v->base_name[0] && v->format != FORMAT_SUBVOL) {
		/* the volname claims a parent: the image must really have it */
		struct image_info ii;
		r = image_info(path, v->format, false, &ii, err);
		if (r < 0)
			return r;
		_cleanup_free_ char *want = xasprintf("../%u/%s", v->base_vmid, v->base_name);
		bool ok = ii.backing_file && streq(ii.backing_file, want);
		image_info_done(&ii);
		if (!ok)
			return error_set(err, EINVAL,
			                 "volume name contains wrong information about parent");
	}

	struct volname nv = *v;
	/* vm-100-disk-0.qcow2 -> base-100-disk-0.qcow2; a subvol keeps its kind in PVE's
	 * naming ("basevol-" does not exist on dir), so "subvol-" becomes "base-" too */
	const char *rest = strchr(v->name, '-');
	if (snprintf(nv.name, sizeof(nv.name), "base%s", rest) >= (int)sizeof(nv.name))
		return error_set(err, EINVAL, "volume name too long");
	nv.is_base = true;
	_cleanup_free_ char *newpath = NULL;
	r = dir_path(s, &nv, NULL, &newpath, err);
	if (r < 0)
		return r;
	if (renameat2(AT_FDCWD, path, AT_FDCWD, newpath, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST)
			return error_set(err, EEXIST, "file '%s' already exists", newpath);
		return error_errno(err, negative_errno(), "rename '%s' to '%s' failed", path,
		                   newpath);
	}
	/* nobody should write to a base; a container directory keeps its mode (0444 would
	 * make it unusable as a root), as it cannot be linked-cloned on dir anyway */
	if (S_ISREG(st.st_mode))
		(void)chmod(newpath, 0444);
	*ret_volname = volname_format(&nv);
	return 0;
}

/* For clone and rename: the path of existing volume v, and a free name (and path) for a new
 * volume of vmid in fmt, its images/<vmid>/ created. */
static int
existing_and_new(const struct storage *s, const struct volname *v, unsigned vmid,
                 enum volume_format fmt, char **ret_path, char **ret_name, char **ret_newpath,
                 struct error *err)
{
	int r = dir_path(s, v, NULL, ret_path, err);
	if (r < 0)
		return r;
	if (access(*ret_path, F_OK) < 0)
		return no_volume(s, v, err);
	_cleanup_free_ char *dir = storage_image_dir(s, vmid);
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return error_errno(err, r, "unable to create '%s'", dir);
	r = dir_find_free_diskname(s, vmid, fmt, ret_name, err);
	if (r < 0)
		return r;
	*ret_newpath = xasprintf("%s/%s", dir, *ret_name);
	return 0;
}

int
dir_clone(const struct storage *s, const struct volname *v, unsigned new_vmid, char **ret_volname,
          struct error *err)
{
	if (v->content != CONTENT_IMAGES)
		return error_set_status(err, 400, EINVAL, "clone_image on wrong content type");
	if (v->format == FORMAT_SUBVOL)
		return error_set_status(err, 400, EINVAL,
		                        "this storage type does not support clone_image on "
		                        "subvolumes");
	if (!v->is_base)
		return error_set_status(err, 400, EINVAL, "clone_image only works on base images");
	if (new_vmid == 0)
		return error_set_status(err, 400, EINVAL, "invalid VMID");
	_cleanup_free_ char *path = NULL, *name = NULL, *newpath = NULL;
	int r = existing_and_new(s, v, new_vmid, FORMAT_QCOW2, &path, &name, &newpath, err);
	if (r < 0)
		return r;
	int fd = open(newpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return error_errno(err, negative_errno(), "unable to create '%s'", newpath);
	close(fd);
	/* relative, so the files can move with the storage (PVE does the same) */
	_cleanup_free_ char *backing = xasprintf("../%u/%s", v->vmid, v->name);
	r = image_create(newpath, FORMAT_QCOW2, 0, backing, v->format, err);
	if (r < 0) {
		unlink(newpath);
		return r;
	}
	*ret_volname = xasprintf("%u/%s/%u/%s", v->vmid, v->name, new_vmid, name);
	return 0;
}

/* PVE's rename_volume for directories: one rename(2) into images/<target>/ under the next
 * free name there. A linked clone's backing file is "../<base vmid>/<base>", which stays right
 * from its new directory. */
static int
dir_rename(const struct storage *s, const struct volname *v, unsigned target_vmid,
           char **ret_volname, struct error *err)
{
	if (target_vmid == 0)
		return error_set_status(err, 400, EINVAL, "invalid VMID");
	_cleanup_free_ char *path = NULL, *name = NULL, *newpath = NULL;
	int r = existing_and_new(s, v, target_vmid, v->format, &path, &name, &newpath, err);
	if (r < 0)
		return r;
	if (renameat2(AT_FDCWD, path, AT_FDCWD, newpath, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST)
			return error_set(err, EEXIST, "target volume '%s' already exists", name);
		return error_errno(err, -errno, "rename '%s' to '%s' failed", path, newpath);
	}
	*ret_volname = v->base_name[0] ? xasprintf("%u/%s/%u/%s", v->base_vmid, v->base_name,
	                                           target_vmid, name)
	                               : xasprintf("%u/%s", target_vmid, name);
	return 0;
}

/* ---- the type ---- */

static const char *const dir_props[] = {
	"path",          "format",  "mkdir", "create-base-path", "create-subdirs", "is_mountpoint",
	"preallocation", "bwlimit", NULL
};

const struct storage_type storage_type_dir = {
	.name = "dir",
	.content = CONTENT_IMAGES | CONTENT_ROOTDIR | CONTENT_ISO | CONTENT_VZTMPL |
	           CONTENT_BACKUP | CONTENT_SNIPPETS | CONTENT_IMPORT | CONTENT_NONE,
	.default_content = CONTENT_IMAGES | CONTENT_ROOTDIR | CONTENT_ISO | CONTENT_VZTMPL |
	                   CONTENT_BACKUP | CONTENT_SNIPPETS | CONTENT_IMPORT,
	.formats = FORMAT_RAW | FORMAT_QCOW2 | FORMAT_VMDK | FORMAT_SUBVOL,
	.default_format = FORMAT_RAW,
	.feature_formats =
		{
			[FEATURE_SNAPSHOT] = FORMAT_QCOW2,
			[FEATURE_CLONE] = FORMAT_RAW | FORMAT_QCOW2 | FORMAT_VMDK,
			[FEATURE_TEMPLATE] = FORMAT_RAW | FORMAT_QCOW2 | FORMAT_VMDK | FORMAT_SUBVOL,
			[FEATURE_COPY] = FORMAT_RAW | FORMAT_QCOW2 | FORMAT_VMDK | FORMAT_SUBVOL,
			[FEATURE_SPARSEINIT] = FORMAT_RAW | FORMAT_QCOW2 | FORMAT_VMDK,
		},
	.props = dir_props,
	.check = dir_check,
	.activate = dir_activate,
	.status = dir_status,
	.path = dir_path,
	.alloc = dir_alloc,
	.free = dir_free,
	.list = dir_list,
	.info = dir_info,
	.resize = dir_resize,
	.snapshot = dir_snapshot,
	.rollback = dir_rollback,
	.snapshot_delete = dir_snapshot_delete,
	.create_base = dir_create_base,
	.clone = dir_clone,
	.rename = dir_rename,
};
