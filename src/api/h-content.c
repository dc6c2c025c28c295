/* A storage's content: listing, allocating guest volumes, volume attributes, deletion
 * (task imgdel), and file uploads (task imgcopy: the proxy streamed the file into an unlinked
 * temporary file whose descriptor arrives with the request). */
#include "api/handlers.h"
#include "basic/encoding.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "storage/storage.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/* The storage a route names, from the current storage.cfg; answers the error itself. */
static struct storage_config *
load_storage(struct api_call *c, const struct storage **ret)
{
	struct storage_config *cfg = api_storage_config(c->ctx, &c->err);
	if (!cfg) {
		api_fail(c, 500, "%s", c->err.msg);
		return NULL;
	}
	const char *sid = param_str(c->params, "storage");
	const struct storage *s = storage_config_find(cfg, sid);
	if (!s) {
		api_fail(c, 500, "storage '%s' does not exist", sid);
	} else if (!storage_enabled_on(s, c->ctx->node)) {
		api_fail(c, 500, "storage '%s' is not available on node '%s'", sid, c->ctx->node);
		s = NULL;
	}
	if (!s) {
		storage_config_free(cfg);
		return NULL;
	}
	*ret = s;
	return cfg;
}

/* PVE's format names for non-image content: "iso", "tzst", "snippet", ... */
static char *
format_name(const struct volume_info *v)
{
	const char *name = strrchr(v->volid, '/');
	name = name ? name + 1 : v->volid;
	const char *ext = strrchr(name, '.');
	switch (v->content) {
	case CONTENT_ISO:
		return xstrdup("iso");
	case CONTENT_SNIPPETS:
		return xstrdup("snippet");
	case CONTENT_VZTMPL:
		if (ext && streq(ext, ".tar"))
			return xstrdup("tar");
		return xasprintf("t%s", ext ? ext + 1 : "");
	case CONTENT_BACKUP:
	case CONTENT_IMPORT:
		return xstrdup(ext ? ext + 1 : "");
	default:
		return xstrdup(volume_format_name(v->format));
	}
}

static json_t *
volume_json(const struct volume_info *v)
{
	_cleanup_free_ char *format = format_name(v);
	json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "volid", v->volid, "content",
	                      storage_content_name(v->content), "format", format, "size",
	                      (json_int_t)v->size);
	if (v->vmid)
		json_object_set_new(o, "vmid", json_integer(v->vmid));
	if (v->ctime)
		json_object_set_new(o, "ctime", json_integer(v->ctime));
	if (v->used)
		json_object_set_new(o, "used", json_integer((json_int_t)v->used));
	if (v->parent)
		json_object_set_new(o, "parent", json_string(v->parent));
	return o;
}

/* ---- GET content ---- */

struct list_job {
	struct storage_config *cfg;
	const struct storage *s;
	unsigned content;
	unsigned vmid;
};

static int
list_work(struct api_call *c, void *arg)
{
	struct list_job *j = arg;
	struct volume_info *v = NULL;
	size_t n = 0;
	int r = storage_activate(j->cfg, j->s->id, &c->err);
	if (r >= 0)
		r = j->s->type->list(j->s, j->content, j->vmid, &v, &n, &c->err);
	if (r >= 0) {
		c->data = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(c->data, volume_json(&v[i]));
		volume_info_free_array(v, n);
	}
	storage_config_free(j->cfg);
	free(j);
	return r < 0 ? api_fail(c, 500, "%s", c->err.msg) : 0;
}

static int
list_content(struct api_call *c)
{
	const struct storage *s;
	struct storage_config *cfg = load_storage(c, &s);
	if (!cfg)
		return -ENOENT;
	struct list_job *j = xcalloc(1, sizeof(*j));
	*j = (struct list_job){ cfg, s, 0, (unsigned)param_int(c->params, "vmid", 0) };
	const char *content = param_str(c->params, "content");
	if (content)
		j->content = storage_content_parse_one(content);
	return api_call_blocking(c, list_work, j);
}

/* ---- POST content: allocate ---- */

struct alloc_job {
	struct storage_config *cfg;
	enum volume_format fmt;
	uint64_t size_kib;
};

static int
alloc_work(struct api_call *c, void *arg)
{
	struct alloc_job *j = arg;
	char *volid = NULL;
	int r = storage_activate(j->cfg, param_str(c->params, "storage"), &c->err);
	if (r < 0) {
		storage_config_free(j->cfg);
		free(j);
		return api_fail(c, 500, "%s", c->err.msg);
	}
	r = storage_alloc(j->cfg, param_str(c->params, "storage"),
	                  (unsigned)param_int(c->params, "vmid", 0), j->fmt,
	                  param_str(c->params, "filename"), j->size_kib, &volid, &c->err);
	storage_config_free(j->cfg);
	free(j);
	if (r < 0)
		return api_fail(c, r == -EEXIST || r == -EINVAL ? 400 : 500, "%s", c->err.msg);
	c->data = json_string(volid);
	free(volid);
	return 0;
}

/* PVE's size for allocation: KiB by default, or with an M or G suffix. */
static int
parse_alloc_size(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (end == s || errno || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	if (streq(end, "M"))
		n *= 1024;
	else if (streq(end, "G"))
		n *= 1024 * 1024;
	else if (*end)
		return -EINVAL;
	*ret = n;
	return 0;
}

static int
alloc_volume(struct api_call *c)
{
	const char *size = param_str(c->params, "size");
	const char *name = param_str(c->params, "filename");
	const char *format = param_str(c->params, "format");
	uint64_t kib;
	if (parse_alloc_size(size, &kib) < 0)
		return api_param_error(c, "size", "unable to parse size '%s'", size);
	/* the name's extension decides the format when it has one */
	enum volume_format fmt = format ? volume_format_parse(format) : FORMAT_NONE;
	const char *ext = strrchr(name, '.');
	enum volume_format name_fmt = ext ? volume_format_parse(ext + 1) : FORMAT_NONE;
	if (name_fmt && name_fmt != FORMAT_SUBVOL) {
		if (format && fmt != name_fmt)
			return api_param_error(c, "format", "different storage formats (%s != %s)",
			                       format, ext + 1);
		fmt = name_fmt;
	}
	/* "vm-<vmid>-..." must match the vmid it is for */
	unsigned vmid = (unsigned)param_int(c->params, "vmid", 0);
	unsigned name_vmid;
	char kind[8];
	if (sscanf(name, "%7[a-z]-%u-", kind, &name_vmid) == 2 &&
	    (streq(kind, "vm") || streq(kind, "base") || streq(kind, "subvol")) &&
	    name_vmid != vmid)
		return api_param_error(c, "filename", "filename '%s' does not match vmid %u", name,
		                       vmid);
	const struct storage *s;
	struct storage_config *cfg = load_storage(c, &s);
	if (!cfg)
		return -ENOENT;
	struct alloc_job *j = xcalloc(1, sizeof(*j));
	*j = (struct alloc_job){ cfg, fmt ? fmt : s->default_format, kib };
	return api_call_blocking(c, alloc_work, j);
}

/* ---- one volume ---- */

/* {volume} is a full volume id ("local:iso/x.iso") or a name within {storage}. */
static char *
volume_id(struct api_call *c)
{
	const char *sid = param_str(c->params, "storage");
	const char *volume = param_str(c->params, "volume");
	if (!strchr(volume, ':'))
		return xasprintf("%s:%s", sid, volume);
	char *vsid = NULL, *volname = NULL;
	struct error e = { 0 };
	if (volid_split(volume, &vsid, &volname, &e) < 0) {
		api_param_error(c, "volume", "%s", e.msg);
		return NULL;
	}
	char *volid = NULL;
	if (!streq(vsid, sid))
		api_fail(c, 400, "volume storage '%s' does not match storage '%s'", vsid, sid);
	else
		volid = xstrdup(volume);
	free(vsid);
	free(volname);
	return volid;
}

/* PVE's check_volume_access for a volume on storage sid. */
int
api_check_volume_access(struct api_call *c, const char *sid, const struct volname *v)
{
	_cleanup_free_ char *spath = xasprintf("/storage/%s", sid);
	if (api_has_privs(c, spath, "Datastore.Allocate", false))
		return 0;
	if (v->content & (CONTENT_ISO | CONTENT_VZTMPL | CONTENT_IMPORT))
		return api_check_privs(c, spath, "Datastore.AllocateSpace,Datastore.Audit", true);
	_cleanup_free_ char *vpath = xasprintf("/vms/%u", v->vmid);
	if (v->content == CONTENT_BACKUP && v->vmid) {
		if (api_check_privs(c, spath, "Datastore.AllocateSpace", false) < 0)
			return -EACCES;
		return api_check_privs(c, vpath, "VM.Backup", false);
	}
	if ((v->content & (CONTENT_IMAGES | CONTENT_ROOTDIR)) && v->vmid) {
		if (api_check_privs(c, spath, "Datastore.Audit", false) < 0)
			return -EACCES;
		return api_check_privs(c, vpath, "VM.Config.Disk", false);
	}
	return api_fail(c, 403, "missing privileges to access %s:%s", sid, v->name);
}

struct volume_job {
	struct storage_config *cfg;
	char *volid;
};

static void
volume_job_free(struct volume_job *j)
{
	storage_config_free(j->cfg);
	free(j->volid);
	free(j);
}

/* Resolve {volume} and check access; NULL after answering. */
static struct volume_job *
volume_job_new(struct api_call *c, const struct storage **ret_s, struct volname *ret_v)
{
	_cleanup_free_ char *volid = volume_id(c);
	if (!volid)
		return NULL;
	const struct storage *s;
	struct storage_config *cfg = load_storage(c, &s);
	if (!cfg)
		return NULL;
	struct error e = { 0 };
	if (storage_resolve(cfg, volid, ret_s, ret_v, &e) < 0) {
		storage_config_free(cfg);
		api_param_error(c, "volume", "%s", e.msg);
		return NULL;
	}
	struct volume_job *j = xcalloc(1, sizeof(*j));
	j->cfg = cfg;
	j->volid = TAKE_PTR(volid);
	return j;
}

static int
info_work(struct api_call *c, void *arg)
{
	struct volume_job *j = arg;
	const struct storage *s;
	struct volname v;
	struct volume_info info = { 0 };
	char *path = NULL;
	int r = storage_resolve(j->cfg, j->volid, &s, &v, &c->err);
	if (r >= 0)
		r = s->type->info(s, &v, &info, &c->err);
	if (r >= 0)
		r = s->type->path(s, &v, NULL, &path, &c->err);
	if (r >= 0) {
		_cleanup_free_ char *format = format_name(&info);
		c->data = json_pack("{s:s, s:I, s:I, s:s}", "path", path, "size",
		                    (json_int_t)info.size, "used", (json_int_t)info.used, "format",
		                    format);
		/* notes and protection live beside backups (PVE keeps them only there) */
		if (v.content == CONTENT_BACKUP) {
			_cleanup_free_ char *notes_path = xasprintf("%s.notes", path);
			_cleanup_free_ char *prot_path = xasprintf("%s.protected", path);
			char *notes = NULL;
			if (read_file(notes_path, 64 * 1024, &notes, NULL) >= 0)
				json_object_set_new(c->data, "notes", json_string(notes));
			free(notes);
			json_object_set_new(c->data, "protected",
			                    json_integer(access(prot_path, F_OK) == 0));
		}
	} else if (r == -ENOENT) {
		api_fail(c, 500, "volume '%s' does not exist", j->volid);
	} else {
		api_fail(c, 500, "%s", c->err.msg);
	}
	free(path);
	volume_info_done(&info);
	volume_job_free(j);
	return r;
}

static int
volume_info(struct api_call *c)
{
	const struct storage *s;
	struct volname v;
	struct volume_job *j = volume_job_new(c, &s, &v);
	if (!j)
		return -EINVAL;
	if (api_check_volume_access(c, s->id, &v) < 0) {
		volume_job_free(j);
		return -EACCES;
	}
	return api_call_blocking(c, info_work, j);
}

static int
set_attribute(const char *path, const char *suffix, const char *value, bool present,
              struct error *err)
{
	_cleanup_free_ char *p = xasprintf("%s.%s", path, suffix);
	if (!present) {
		if (unlink(p) < 0 && errno != ENOENT)
			return error_errno(err, negative_errno(), "removing '%s'", p);
		return 0;
	}
	int r = write_file_atomic(p, value, strlen(value), 0644);
	return r < 0 ? error_errno(err, r, "writing '%s'", p) : 0;
}

static int
update_work(struct api_call *c, void *arg)
{
	struct volume_job *j = arg;
	char *path = NULL;
	int r = storage_path(j->cfg, j->volid, &path, &c->err);
	if (r >= 0 && access(path, F_OK) < 0)
		r = error_set(&c->err, ENOENT, "volume '%s' does not exist", j->volid);
	const char *notes = param_str(c->params, "notes");
	if (r >= 0 && notes)
		r = set_attribute(path, "notes", notes, *notes != '\0', &c->err);
	if (r >= 0 && param_has(c->params, "protected"))
		r = set_attribute(path, "protected", "", param_bool(c->params, "protected", false),
		                  &c->err);
	free(path);
	volume_job_free(j);
	return r < 0 ? api_fail(c, 500, "%s", c->err.msg) : 0;
}

static int
update_volume(struct api_call *c)
{
	const struct storage *s;
	struct volname v;
	struct volume_job *j = volume_job_new(c, &s, &v);
	if (!j)
		return -EINVAL;
	int r = api_check_volume_access(c, s->id, &v);
	if (r >= 0 && v.content != CONTENT_BACKUP &&
	    (param_has(c->params, "notes") || param_has(c->params, "protected")))
		r = api_fail(c, 400, "attributes are only supported for backups (volume '%s')",
		             j->volid);
	if (r < 0) {
		volume_job_free(j);
		return r;
	}
	return api_call_blocking(c, update_work, j);
}

static int
delete_volume(struct api_call *c)
{
	const struct storage *s;
	struct volname v;
	struct volume_job *j = volume_job_new(c, &s, &v);
	if (!j)
		return -EINVAL;
	_cleanup_free_ char *spath = xasprintf("/storage/%s", s->id);
	_cleanup_free_ char *vpath = xasprintf("/vms/%u", v.vmid);
	int r;
	if (v.content == CONTENT_BACKUP && v.vmid) {
		r = api_check_privs(c, spath, "Datastore.AllocateSpace", false);
		if (r >= 0)
			r = api_check_privs(c, vpath, "VM.Backup", false);
	} else {
		r = api_check_privs(c, spath, "Datastore.Allocate", false);
	}
	_cleanup_free_ char *id = v.vmid ? xasprintf("%u@%s", v.vmid, s->id) : xstrdup(s->id);
	json_t *params = json_pack("{s:s}", "volume", j->volid);
	volume_job_free(j);
	if (r < 0) {
		json_decref(params);
		return r;
	}
	return api_start_task(c, "imgdel", id, params, NULL, 0);
}

int
imgdel_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	const char *volid = json_string_value(json_object_get(params, "volume"));
	struct storage_config *cfg = worker_storage_config(w, err);
	if (!cfg)
		return -EIO;
	int r = storage_free(cfg, volid, err);
	storage_config_free(cfg);
	if (r < 0)
		return r;
	task_log(w, "Removed volume '%s'", volid);
	return 0;
}

/* ---- upload ---- */

/* PVE's normalize_content_filename: the last path part, unsafe characters as '_'. */
static char *
normalize_filename(const char *name)
{
	const char *base = name;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	char *out = xstrdup(base);
	size_t len = strlen(out);
	while (len && (out[len - 1] == '\n' || out[len - 1] == '\r'))
		out[--len] = '\0';
	for (char *p = out; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			*p = '_';
	return out;
}

static int
upload(struct api_call *c)
{
	const char *content = param_str(c->params, "content");
	_cleanup_free_ char *filename = normalize_filename(param_str(c->params, "filename"));
	unsigned ct = storage_content_parse_one(content);
	struct error e = { 0 };
	if (c->upload_fd < 0)
		return api_fail(c, 400, "missing file upload");
	if (storage_check_filename(ct, filename, &e) < 0)
		return api_param_error(c, "filename", "%s", e.msg);
	const struct storage *s;
	struct storage_config *cfg = load_storage(c, &s);
	if (!cfg)
		return -ENOENT;
	int r = 0;
	if (!s->path)
		r = api_fail(c, 500, "can't upload to storage type '%s'", s->type->name);
	else if (!(s->content & ct))
		r = api_fail(c, 500, "storage '%s' does not support '%s' content", s->id, content);
	storage_config_free(cfg);
	if (r < 0)
		return r;

	json_t *params = json_pack("{s:s, s:s, s:s, s:I}", "storage",
	                           param_str(c->params, "storage"), "content", content, "filename",
	                           filename, "size", (json_int_t)c->upload_size);
	const char *sum = param_str(c->params, "checksum");
	const char *algo = param_str(c->params, "checksum-algorithm");
	if (sum && algo) {
		json_object_set_new(params, "checksum", json_string(sum));
		json_object_set_new(params, "checksum-algorithm", json_string(algo));
	}
	return api_start_task(c, "imgcopy", NULL, params, &c->upload_fd, 1);
}

/* Copy the uploaded file into an unnamed file in dir while hashing it; the result is named
 * only once complete and verified, so a failure leaves nothing behind. */
static int
copy_and_hash(struct task_worker *w, int src, int dst, const char *algo, char *ret_hex,
              uint64_t *ret_size, struct error *err)
{
	EVP_MD_CTX *md = NULL;
	if (algo) {
		const EVP_MD *type = EVP_get_digestbyname(algo);
		md = EVP_MD_CTX_new();
		if (!type || !md || !EVP_DigestInit_ex(md, type, NULL)) {
			EVP_MD_CTX_free(md);
			return error_set(err, EINVAL, "unknown checksum algorithm '%s'", algo);
		}
	}
	enum { CHUNK = 1 << 20 };
	_cleanup_free_ char *buf = xmalloc(CHUNK);
	uint64_t off = 0;
	int r = 0;
	bool plain_copy = false; /* copy_file_range refused: read and write */
	for (;;) {
		if (task_interrupted(w)) {
			r = error_set(err, EINTR, "received interrupt");
			break;
		}
		if (!md && !plain_copy) {
			/* nothing to hash: let the kernel copy (and share extents where it can) */
			loff_t in = (loff_t)off;
			ssize_t n = copy_file_range(src, &in, dst, NULL, 64 << 20, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			              errno == EOPNOTSUPP)) {
				plain_copy = true;
			} else if (n < 0) {
				r = error_errno(err, negative_errno(), "writing the target file");
				break;
			} else if (n == 0) {
				break;
			} else {
				off += (uint64_t)n;
				continue;
			}
		}
		ssize_t n = pread(src, buf, CHUNK, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = error_errno(err, negative_errno(), "reading the uploaded file");
			break;
		}
		if (n == 0)
			break;
		if (md)
			EVP_DigestUpdate(md, buf, (size_t)n);
		for (ssize_t done = 0; done < n;) {
			ssize_t k = write(dst, buf + done, (size_t)(n - done));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				r = error_errno(err, negative_errno(), "writing the target file");
				goto out;
			}
			done += k;
		}
		off += (uint64_t)n;
	}
	if (r >= 0 && fsync(dst) < 0)
		r = error_errno(err, negative_errno(), "writing the target file");
out:
	if (r >= 0 && md) {
		unsigned char digest[EVP_MAX_MD_SIZE];
		unsigned len = 0;
		EVP_DigestFinal_ex(md, digest, &len);
		hex_encode(digest, len, ret_hex);
	}
	EVP_MD_CTX_free(md);
	*ret_size = off;
	return r;
}

/* An uploaded disk image is untrusted: qemu-img reads it as the format its name declares and
 * refuses backing files and external data files (they could name any host file). */
static int
check_import_image(int fd, const char *filename, struct error *err)
{
	const char *ext = strrchr(filename, '.');
	enum volume_format fmt = ext ? volume_format_parse(ext + 1) : FORMAT_NONE;
	if (!fmt || fmt == FORMAT_SUBVOL)
		return error_set(err, EINVAL,
		                 "import of '%s' is not supported (qcow2, raw and vmdk "
		                 "images are)",
		                 filename);
	/* qemu-img is a child: it reaches our unnamed file through our /proc entry */
	_cleanup_free_ char *path = xasprintf("/proc/%d/fd/%d", (int)getpid(), fd);
	struct image_info info = { 0 };
	int r = image_info(path, fmt, true, &info, err);
	image_info_done(&info);
	return r < 0 ? error_prefix(err, "refusing '%s'", filename) : 0;
}

int
upload_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	const char *sid = json_string_value(json_object_get(params, "storage"));
	const char *content = json_string_value(json_object_get(params, "content"));
	const char *filename = json_string_value(json_object_get(params, "filename"));
	const char *sum = json_string_value(json_object_get(params, "checksum"));
	const char *algo = json_string_value(json_object_get(params, "checksum-algorithm"));
	_cleanup_close_ int src = task_take_fd(w, 0);
	if (src < 0)
		return error_set(err, EBADF, "missing the uploaded file");

	struct storage_config *cfg = worker_storage_config(w, err);
	if (!cfg)
		return -EIO;
	_cleanup_free_ char *volid = xasprintf("%s:%s/%s", sid, content, filename);
	_cleanup_free_ char *dest = NULL;
	const struct storage *s = storage_config_find(cfg, sid);
	int r = s ? 0 : error_set(err, ENOENT, "storage '%s' does not exist", sid);
	if (r >= 0 && s->type->activate)
		r = s->type->activate(s, err);
	if (r >= 0)
		r = storage_path(cfg, volid, &dest, err);
	storage_config_free(cfg);
	if (r < 0)
		return r;

	_cleanup_free_ char *dir_copy = xstrdup(dest);
	const char *dir = dirname(dir_copy);
	int mr = mkdir_p(dir, 0755);
	if (mr < 0)
		return error_errno(err, mr, "unable to create '%s'", dir);
	_cleanup_close_ int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return error_errno(err, negative_errno(), "unable to open '%s'", dir);
	_cleanup_close_ int dst = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (dst < 0)
		return error_errno(err, negative_errno(), "unable to create a file in '%s'", dir);

	task_log(w, "starting file import from: upload (%" JSON_INTEGER_FORMAT " bytes)",
	         json_integer_value(json_object_get(params, "size")));
	task_log(w, "target node: %s", task_upid_parsed(w)->node);
	task_log(w, "target file: %s", dest);
	char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
	uint64_t size = 0;
	r = copy_and_hash(w, src, dst, sum ? algo : NULL, hex, &size, err);
	if (r < 0)
		return r;
	task_log(w, "file size is: %" PRIu64, size);
	if (sum) {
		if (strcasecmp(hex, sum) != 0)
			return error_set(err, EINVAL, "checksum mismatch: got '%s' != expect '%s'",
			                 hex, sum);
		task_log(w, "calculating checksum...OK, checksum verified");
	}
	if (streq(content, "import")) {
		r = check_import_image(dst, filename, err);
		if (r < 0)
			return r;
		task_log(w, "image check: no backing file, no external data");
	}
	if (fchmod(dst, 0644) < 0)
		return error_errno(err, negative_errno(), "chmod '%s'", dest);

	/* name it: link the unnamed file under a temporary name, then rename over the target
	 * (PVE overwrites an existing file too) */
	_cleanup_free_ char *tmpname = xasprintf(".%s.tmp.%d", filename, (int)getpid());
	_cleanup_free_ char *procfd = xasprintf("/proc/self/fd/%d", dst);
	if (linkat(AT_FDCWD, procfd, dirfd, tmpname, AT_SYMLINK_FOLLOW) < 0)
		return error_errno(err, negative_errno(), "unable to store '%s'", dest);
	if (renameat(dirfd, tmpname, dirfd, filename) < 0) {
		r = error_errno(err, negative_errno(), "unable to store '%s'", dest);
		(void)unlinkat(dirfd, tmpname, 0);
		return r;
	}
	(void)fsync(dirfd);
	task_log(w, "finished file import successfully");
	return 0;
}

/* ---- routes ---- */

static const char *const content_names[] = { "backup",  "images",   "import", "iso",
	                                     "rootdir", "snippets", "vztmpl", NULL };
static const char *const upload_content_names[] = { "iso", "vztmpl", "import", NULL };
static const char *const alloc_formats[] = { "raw", "qcow2", "subvol", "vmdk", NULL };
static const char *const checksum_algorithms[] = { "md5",    "sha1",   "sha224", "sha256",
	                                           "sha384", "sha512", NULL };

#define PARAM_VOLUME                                                                               \
	{                                                                                          \
		.name = "volume", .type = API_T_STRING, .max_length = 4096,                        \
		.description = "Volume identifier"                                                 \
	}

static const struct api_schema list_params[] = {
	PARAM_NODE,
	PARAM_STORAGE,
	{ .name = "content",
	  .type = API_T_STRING,
	  .enums = content_names,
	  .optional = true,
	  .description = "Only list content of this type." },
	PARAM_VMID_OPT("Only list images for this VM"),
	PARAM_END,
};
static const struct api_schema alloc_params[] = {
	PARAM_NODE,
	PARAM_STORAGE,
	PARAM_VMID_OPT("Specify owner VM"),
	{ .name = "filename",
	  .type = API_T_STRING,
	  .max_length = 255,
	  .description = "The name of the file to create." },
	{ .name = "size",
	  .type = API_T_STRING,
	  .pattern = "[0-9]+[MG]?",
	  .description = "Size in kilobyte (1024 bytes). Optional suffixes 'M' (megabyte, 1024K) "
	                 "and 'G' (gigabyte, 1024M)" },
	{ .name = "format",
	  .type = API_T_STRING,
	  .enums = alloc_formats,
	  .optional = true,
	  .description = "Format of the image." },
	PARAM_END,
};
static const struct api_schema volume_params[] = {
	PARAM_NODE,
	PARAM_STORAGE,
	PARAM_VOLUME,
	PARAM_END,
};
static const struct api_schema update_params[] = {
	PARAM_NODE,
	PARAM_STORAGE,
	PARAM_VOLUME,
	{ .name = "notes",
	  .type = API_T_STRING,
	  .optional = true,
	  .max_length = 64 * 1024,
	  .description = "The new notes." },
	{ .name = "protected",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Protection status. Currently only supported for backups." },
	PARAM_END,
};
static const struct api_schema delete_params[] = {
	PARAM_NODE,
	PARAM_STORAGE,
	PARAM_VOLUME,
	{ .name = "delay",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 1,
	  .maximum = 30,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "Time to wait for the task to finish. We return 'null' if the task "
	                 "finish within that time." },
	PARAM_END,
};
static const struct api_schema upload_params[] = {
	PARAM_NODE,
	PARAM_STORAGE,
	{ .name = "content",
	  .type = API_T_STRING,
	  .enums = upload_content_names,
	  .description = "Content type." },
	{ .name = "filename",
	  .type = API_T_STRING,
	  .max_length = 255,
	  .description = "The name of the file to create. Caution: This will be normalized!" },
	{ .name = "checksum",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = "[0-9a-fA-F]{32,128}",
	  .requires = "checksum-algorithm",
	  .description = "The expected checksum of the file." },
	{ .name = "checksum-algorithm",
	  .type = API_T_STRING,
	  .enums = checksum_algorithms,
	  .optional = true,
	  .requires = "checksum",
	  .description = "The algorithm to calculate the checksum of the file." },
	{ .name = "tmpfilename",
	  .type = API_T_STRING,
	  .optional = true,
	  .max_length = 4096,
	  .description = "The source file name. This parameter is usually set by the REST "
	                 "handler. You can only overwrite it when connecting to the trusted "
	                 "port on localhost; Berth ignores it." },
	PARAM_END,
};

#define STORAGE_READ_PERM                                                                          \
	{                                                                                          \
		.kind = PERM_PRIVS, .path = "/storage/{storage}",                                  \
		.privs = "Datastore.Audit,Datastore.AllocateSpace", .any = true                    \
	}

const struct api_route api_routes_content[] = {
	{ .method = API_GET,
	  .path = "/nodes/{node}/storage/{storage}/content",
	  .params = list_params,
	  .perm = STORAGE_READ_PERM,
	  .handler = list_content,
	  .description = "List storage content." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/storage/{storage}/content",
	  .params = alloc_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/storage/{storage}",
	            .privs = "Datastore.AllocateSpace" },
	  .handler = alloc_volume,
	  .description = "Allocate disk images." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/storage/{storage}/content/{volume+}",
	  .params = volume_params,
	  .perm = { .kind = PERM_ANY_USER, .description = "You need read access for the volume." },
	  .handler = volume_info,
	  .description = "Get volume attributes" },
	{ .method = API_PUT,
	  .path = "/nodes/{node}/storage/{storage}/content/{volume+}",
	  .params = update_params,
	  .perm = { .kind = PERM_ANY_USER, .description = "You need read access for the volume." },
	  .handler = update_volume,
	  .description = "Update volume attributes" },
	{ .method = API_DELETE,
	  .path = "/nodes/{node}/storage/{storage}/content/{volume+}",
	  .params = delete_params,
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "You need 'Datastore.Allocate' privilege on the storage (or "
	                           "'Datastore.AllocateSpace' for backup volumes if you have "
	                           "VM.Backup privilege on the VM)." },
	  .flags = API_TASK,
	  .handler = delete_volume,
	  .description = "Delete volume" },
	{ .method = API_POST,
	  .path = "/nodes/{node}/storage/{storage}/upload",
	  .params = upload_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/storage/{storage}",
	            .privs = "Datastore.AllocateTemplate" },
	  .flags = API_TASK | API_UPLOAD | API_NO_CSRF,
	  .handler = upload,
	  .description = "Upload templates, ISO images and OVAs (multipart/form-data: "
	                 "'content', then the file part named 'filename'). Returns a task "
	                 "(imgcopy)." },
	{ 0 },
};
