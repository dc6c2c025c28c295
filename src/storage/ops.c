/* The storage type registry and the operations on volume ids: look the storage up, parse
 * the volname, dispatch to the type's table. Full copies between storages live here too,
 * since they span two types. */
#include "storage/storage-internal.h"
#include "storage/storage.h"

#include "basic/strbuf.h"

#include <stddef.h>
#include <stdio.h>

const struct storage_type *const storage_types[] = {
	&storage_type_dir,
	&storage_type_btrfs,
	NULL,
};

const struct storage_type *
storage_type_find(const char *name)
{
	for (size_t i = 0; name && storage_types[i]; i++)
		if (streq(storage_types[i]->name, name))
			return storage_types[i];
	return NULL;
}

bool
storage_has_feature(const struct storage *s, const struct volname *v, enum storage_feature f)
{
	if (!s || !s->type || !v || (unsigned)f >= FEATURE_MAX)
		return false;
	if (!(s->type->feature_formats[f] & v->format))
		return false;
	if (v->content != CONTENT_IMAGES && v->content != CONTENT_ROOTDIR)
		return false;
	/* PVE's feature table keys on the volume's state: a linked clone is made from a base
	 * only, and only a volume that is not yet a base can become one */
	switch (f) {
	case FEATURE_CLONE:
		return v->is_base;
	case FEATURE_TEMPLATE:
		return !v->is_base;
	default:
		return true;
	}
}

void
volume_info_free_array(struct volume_info *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		volume_info_done(&v[i]);
	free(v);
}

static int
find_storage(const struct storage_config *cfg, const char *sid, const struct storage **ret,
             struct error *err)
{
	const struct storage *s = cfg ? storage_config_find(cfg, sid) : NULL;
	if (!s) {
		if (!storage_id_valid(sid))
			return error_set_status(err, 400, EINVAL, "invalid storage ID");
		return error_set_status(err, 404, ENOENT, "storage '%s' does not exist", sid);
	}
	if (!s->type)
		return error_set(err, EINVAL, "storage '%s' has no type", sid);
	*ret = s;
	return 0;
}

static int
unsupported(const struct storage *s, const char *what, struct error *err)
{
	return error_set_status(err, 501, EOPNOTSUPP, "storage '%s' (type %s) does not support %s",
	                        s->id, s->type->name, what);
}

int
storage_resolve(const struct storage_config *cfg, const char *volid, const struct storage **ret_s,
                struct volname *ret_v, struct error *err)
{
	_cleanup_free_ char *sid = NULL, *vn = NULL;
	int r = volid_split(volid, &sid, &vn, err);
	if (r < 0)
		return r;
	const struct storage *s = NULL;
	r = find_storage(cfg, sid, &s, err);
	if (r < 0)
		return r;
	struct volname v;
	r = volname_parse(vn, &v, err);
	if (r < 0)
		return r;
	if (!(s->type->content & v.content) ||
	    (v.content == CONTENT_IMAGES && !(s->type->formats & v.format)))
		return error_set_status(err, 400, EINVAL,
		                        "storage '%s' (type %s) cannot hold volume '%s'", sid,
		                        s->type->name, vn);
	*ret_s = s;
	*ret_v = v;
	return 0;
}

int
storage_activate(const struct storage_config *cfg, const char *sid, struct error *err)
{
	const struct storage *s = NULL;
	int r = find_storage(cfg, sid, &s, err);
	if (r < 0)
		return r;
	if (!s->type->activate)
		return 0;
	return s->type->activate(s, err);
}

int
storage_status(const struct storage_config *cfg, const char *sid, struct storage_status *ret,
               struct error *err)
{
	const struct storage *s = NULL;
	int r = find_storage(cfg, sid, &s, err);
	if (r < 0)
		return r;
	if (!s->type->status)
		return unsupported(s, "status", err);
	return s->type->status(s, ret, err);
}

int
storage_path(const struct storage_config *cfg, const char *volid, char **ret, struct error *err)
{
	const struct storage *s = NULL;
	struct volname v;
	int r = storage_resolve(cfg, volid, &s, &v, err);
	if (r < 0)
		return r;
	if (!s->type->path)
		return unsupported(s, "paths", err);
	return s->type->path(s, &v, NULL, ret, err);
}

int
storage_info(const struct storage_config *cfg, const char *volid, struct volume_info *ret,
             struct error *err)
{
	const struct storage *s = NULL;
	struct volname v;
	int r = storage_resolve(cfg, volid, &s, &v, err);
	if (r < 0)
		return r;
	if (!s->type->info)
		return unsupported(s, "volume information", err);
	return s->type->info(s, &v, ret, err);
}

int
storage_list(const struct storage_config *cfg, const char *sid, unsigned content, unsigned vmid,
             struct volume_info **ret, size_t *ret_n, struct error *err)
{
	const struct storage *s = NULL;
	int r = find_storage(cfg, sid, &s, err);
	if (r < 0)
		return r;
	if (!s->type->list)
		return unsupported(s, "listing", err);
	return s->type->list(s, content, vmid, ret, ret_n, err);
}

int
storage_alloc(const struct storage_config *cfg, const char *sid, unsigned vmid,
              enum volume_format fmt, const char *name, uint64_t size_kib, char **ret_volid,
              struct error *err)
{
	const struct storage *s = NULL;
	int r = find_storage(cfg, sid, &s, err);
	if (r < 0)
		return r;
	if (!s->type->alloc)
		return unsupported(s, "allocation", err);
	if (fmt == FORMAT_NONE)
		fmt = s->default_format ? s->default_format : s->type->default_format;
	_cleanup_free_ char *vn = NULL;
	r = s->type->alloc(s, vmid, fmt, name, size_kib, &vn, err);
	if (r < 0)
		return r;
	*ret_volid = xasprintf("%s:%s", s->id, vn);
	return 0;
}

int
storage_free(const struct storage_config *cfg, const char *volid, struct error *err)
{
	const struct storage *s = NULL;
	struct volname v;
	int r = storage_resolve(cfg, volid, &s, &v, err);
	if (r < 0)
		return r;
	if (!s->type->free)
		return unsupported(s, "removing volumes", err);
	return s->type->free(s, &v, err);
}

int
storage_resize(const struct storage_config *cfg, const char *volid, uint64_t size,
               struct error *err)
{
	const struct storage *s = NULL;
	struct volname v;
	int r = storage_resolve(cfg, volid, &s, &v, err);
	if (r < 0)
		return r;
	if (!s->type->resize)
		return unsupported(s, "resizing", err);
	return s->type->resize(s, &v, size, err);
}

typedef int (*snap_op)(const struct storage *, const struct volname *, const char *,
                       struct error *);

static int
snapshot_dispatch(const struct storage_config *cfg, const char *volid, const char *snap,
                  size_t offset, struct error *err)
{
	const struct storage *s = NULL;
	struct volname v;
	int r = storage_resolve(cfg, volid, &s, &v, err);
	if (r < 0)
		return r;
	r = storage_check_snapname(snap, err);
	if (r < 0)
		return r;
	snap_op op = *(const snap_op *)((const char *)s->type + offset);
	if (!op || !storage_has_feature(s, &v, FEATURE_SNAPSHOT))
		return error_set_status(err, 400, EOPNOTSUPP,
		                        "volume '%s' does not support snapshots (format %s)", volid,
		                        volume_format_name(v.format));
	return op(s, &v, snap, err);
}

int
storage_snapshot(const struct storage_config *cfg, const char *volid, const char *snap,
                 struct error *err)
{
	return snapshot_dispatch(cfg, volid, snap, offsetof(struct storage_type, snapshot), err);
}

int
storage_rollback(const struct storage_config *cfg, const char *volid, const char *snap,
                 struct error *err)
{
	return snapshot_dispatch(cfg, volid, snap, offsetof(struct storage_type, rollback), err);
}

int
storage_snapshot_delete(const struct storage_config *cfg, const char *volid, const char *snap,
                        struct error *err)
{
	return snapshot_dispatch(cfg, volid, snap, offsetof(struct storage_type, snapshot_delete),
	                         err);
}

int
storage_create_base(const struct storage_config *cfg, const char *volid, char **ret_volid,
                    struct error *err)
{
	const struct storage *s = NULL;
	struct volname v;
	int r = storage_resolve(cfg, volid, &s, &v, err);
	if (r < 0)
		return r;
	if (!s->type->create_base || !storage_has_feature(s, &v, FEATURE_TEMPLATE))
		return error_set_status(err, 400, EOPNOTSUPP,
		                        "volume '%s' cannot be turned into a base volume", volid);
	_cleanup_free_ char *vn = NULL;
	r = s->type->create_base(s, &v, &vn, err);
	if (r < 0)
		return r;
	*ret_volid = xasprintf("%s:%s", s->id, vn);
	return 0;
}

static bool
can_rename(const struct storage *s, const struct volname *v)
{
	/* PVE's rename feature: current VM disk images (qcow2, raw, vmdk), not base volumes */
	return s->type->rename && v->content == CONTENT_IMAGES && !v->is_base &&
	       v->format != FORMAT_SUBVOL;
}

bool
storage_can_rename(const struct storage_config *cfg, const char *volid)
{
	const struct storage *s = NULL;
	struct volname v;
	struct error e = { 0 };
	return storage_resolve(cfg, volid, &s, &v, &e) >= 0 && can_rename(s, &v);
}

int
storage_rename(const struct storage_config *cfg, const char *volid, unsigned target_vmid,
               char **ret_volid, struct error *err)
{
	const struct storage *s = NULL;
	struct volname v;
	int r = storage_resolve(cfg, volid, &s, &v, err);
	if (r < 0)
		return r;
	if (!can_rename(s, &v))
		return error_set_status(
		        err, 400, EOPNOTSUPP,
		        "Storage does not support moving of this disk to another VM");
	_cleanup_free_ char *vn = NULL;
	r = s->type->rename(s, &v, target_vmid, &vn, err);
	if (r < 0)
		return r;
	*ret_volid = xasprintf("%s:%s", s->id, vn);
	return 0;
}

int
storage_clone(const struct storage_config *cfg, const char *volid, unsigned new_vmid,
              char **ret_volid, struct error *err)
{
	const struct storage *s = NULL;
	struct volname v;
	int r = storage_resolve(cfg, volid, &s, &v, err);
	if (r < 0)
		return r;
	if (!s->type->clone || !storage_has_feature(s, &v, FEATURE_CLONE))
		return error_set_status(err, 400, EOPNOTSUPP,
		                        "volume '%s' cannot be linked-cloned%s", volid,
		                        v.is_base ? "" : " (not a base volume)");
	_cleanup_free_ char *vn = NULL;
	r = s->type->clone(s, &v, new_vmid, &vn, err);
	if (r < 0)
		return r;
	*ret_volid = xasprintf("%s:%s", s->id, vn);
	return 0;
}

/* ---- full copy ---- */

static int
copy_tree(const char *src, const char *dst, struct error *err)
{
	/* the contents, with owners, modes, xattrs and ACLs (a container's root), sharing
	 * extents where the filesystem can */
	_cleanup_free_ char *from = xasprintf("%s/.", src);
	const char *argv[] = { "cp", "-a", "--reflink=auto", "--", from, dst, NULL };
	int r = run_command(argv, NULL, err);
	if (r < 0)
		return error_prefix(err, "copy failed");
	return 0;
}

int
storage_copy(const struct storage_config *cfg, const char *volid, const char *target_sid,
             unsigned vmid, enum volume_format fmt, char **ret_volid,
             void (*progress)(unsigned pct, void *userdata), void *userdata, struct error *err)
{
	const struct storage *s, *t;
	struct volname v;
	int r = storage_resolve(cfg, volid, &s, &v, err);
	if (r < 0)
		return r;
	r = find_storage(cfg, target_sid, &t, err);
	if (r < 0)
		return r;
	if (v.content != CONTENT_IMAGES || !storage_has_feature(s, &v, FEATURE_COPY))
		return error_set_status(err, 400, EOPNOTSUPP, "volume '%s' cannot be copied",
		                        volid);
	if (!t->type->alloc || !t->type->path || !t->type->free)
		return unsupported(t, "allocation", err);

	if (v.format == FORMAT_SUBVOL) {
		if (fmt != FORMAT_NONE && fmt != FORMAT_SUBVOL)
			return error_set_status(
			        err, 400, EOPNOTSUPP,
			        "copying a directory volume into a '%s' image is not "
			        "supported",
			        volume_format_name(fmt));
		fmt = FORMAT_SUBVOL;
	} else {
		if (fmt == FORMAT_NONE)
			fmt = t->default_format ? t->default_format : t->type->default_format;
		if (fmt == FORMAT_SUBVOL)
			return error_set_status(err, 400, EOPNOTSUPP,
			                        "copying an image into a directory volume is not "
			                        "supported (a container's raw image would need its "
			                        "filesystem copied)");
	}
	if (!(t->type->formats & fmt))
		return error_set_status(err, 400, EINVAL,
		                        "storage '%s' does not support format '%s'", t->id,
		                        volume_format_name(fmt));

	_cleanup_free_ char *src = NULL;
	r = s->type->path(s, &v, NULL, &src, err);
	if (r < 0)
		return r;
	uint64_t size_kib = 0;
	if (fmt != FORMAT_SUBVOL) {
		struct image_info ii;
		r = image_info(src, v.format, false, &ii, err);
		if (r < 0)
			return r;
		size_kib = (ii.virtual_size + 1023) / 1024;
		image_info_done(&ii);
	} else if (access(src, F_OK) < 0) {
		return error_set_status(err, 404, ENOENT, "volume '%s' does not exist", volid);
	}

	_cleanup_free_ char *new_vn = NULL;
	r = t->type->alloc(t, vmid, fmt, NULL, size_kib, &new_vn, err);
	if (r < 0)
		return error_prefix(err, "unable to allocate the copy on '%s'", t->id);
	struct volname nv = { 0 };
	_cleanup_free_ char *dst = NULL;
	r = volname_parse(new_vn, &nv, err);
	if (r >= 0)
		r = t->type->path(t, &nv, NULL, &dst, err);
	if (r >= 0) {
		if (fmt == FORMAT_SUBVOL)
			r = copy_tree(src, dst, err);
		else
			r = image_convert(src, v.format, dst, fmt, progress, userdata, err);
	}
	if (r < 0) {
		struct error ignored = { 0 };
		if (nv.name[0])
			(void)t->type->free(t, &nv, &ignored);
		return r;
	}
	if (progress)
		progress(100, userdata);
	*ret_volid = xasprintf("%s:%s", t->id, new_vn);
	return 0;
}

/* ---- container volumes ---- */

enum volume_format
storage_ct_format(const struct storage_config *cfg, const char *sid, uint64_t size_kib,
                  struct error *err)
{
	const struct storage *s = NULL;
	if (find_storage(cfg, sid, &s, err) < 0)
		return FORMAT_NONE;
	if (!(s->content & CONTENT_ROOTDIR)) {
		error_set_status(err, 400, EINVAL,
		                 "storage '%s' does not support container directories", sid);
		return FORMAT_NONE;
	}
	if (size_kib == 0 || s->type->ct_subvol)
		return FORMAT_SUBVOL;
	return FORMAT_RAW;
}

int
storage_mount(const struct storage_config *cfg, const char *volid, const char *target,
              struct error *err)
{
	const struct storage *s = NULL;
	struct volname v;
	int r = storage_resolve(cfg, volid, &s, &v, err);
	if (r < 0)
		return r;
	if (v.content != CONTENT_IMAGES || (v.format != FORMAT_RAW && v.format != FORMAT_SUBVOL))
		return error_set_status(err, 400, EINVAL,
		                        "volume '%s' cannot be mounted (only raw images and "
		                        "directories)",
		                        volid);
	_cleanup_free_ char *path = NULL;
	r = s->type->path(s, &v, NULL, &path, err);
	if (r < 0)
		return r;
	return ctvol_mount_path(path, v.format, target, err);
}
