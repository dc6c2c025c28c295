/* qemu-img with the format always named, and how the storage types run their helper
 * programs (through the shared runner). */
#include "storage/storage-internal.h"
#include "storage/storage.h"

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "shared/run.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

int
run_command(const char *const *argv, char **ret_out, struct error *err)
{
	/* qemu-img info of a long backing chain stays far below the default cap */
	return run_program(&(struct run_options){ .argv = argv }, ret_out, err);
}

int
run_command_lines(const char *const *argv, void (*line)(const char *text, void *userdata),
                  void *userdata, struct error *err)
{
	const struct run_options o = {
		.argv = argv, .out_line = line, .cr_ends_line = true, .userdata = userdata
	};
	return run_program(&o, NULL, err);
}

/* qemu-img reads "json:{...}", "nbd:..." and other protocol prefixes from a file name; a
 * path that starts with '/' or "./" is always a plain file. */
static char *
plain_path(const char *path)
{
	if (path[0] == '/' || startswith(path, "./"))
		return xstrdup(path);
	return xasprintf("./%s", path);
}

static int
image_format_check(enum volume_format fmt, struct error *err)
{
	if (fmt != FORMAT_RAW && fmt != FORMAT_QCOW2 && fmt != FORMAT_VMDK)
		return error_set(err, EINVAL, "unsupported image format '%s'",
		                 volume_format_name(fmt));
	return 0;
}

void
image_info_done(struct image_info *i)
{
	if (!i)
		return;
	free(i->backing_file);
	free(i->data_file);
	i->backing_file = i->data_file = NULL;
}

static bool
json_u64(json_t *o, const char *key, uint64_t *ret)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*ret = (uint64_t)json_integer_value(v);
	return true;
}

int
image_info(const char *path, enum volume_format fmt, bool untrusted, struct image_info *ret,
           struct error *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return error_errno(err, negative_errno(), "failed to stat '%s'", path);
	if (S_ISDIR(st.st_mode)) {
		if (fmt != FORMAT_SUBVOL)
			return error_set(err, EINVAL,
			                 "expected format '%s', but '%s' is a directory",
			                 volume_format_name(fmt), path);
		*ret = (struct image_info){ .format = FORMAT_SUBVOL };
		return 0;
	}
	if (fmt == FORMAT_SUBVOL)
		return error_set(err, EINVAL,
		                 "expected format 'subvol', but '%s' is not a directory", path);
	int r = image_format_check(fmt, err);
	if (r < 0)
		return r;

	_cleanup_free_ char *p = plain_path(path);
	_cleanup_free_ char *out = NULL;
	/* -U (force-share): a running VM holds the image's write lock; reading its header is
	 * still safe */
	const char *argv[] = { "qemu-img",      "info", "-U", "-f", volume_format_name(fmt),
		               "--output=json", p,      NULL };
	r = run_command(argv, &out, err);
	if (r < 0)
		return r;

	json_error_t jerr;
	json_t *j = json_loads(out, 0, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		return error_set(err, EIO, "could not parse qemu-img info output for '%s'", path);
	}

	struct image_info info = { .format = fmt };
	const char *got = json_string_value(json_object_get(j, "format"));
	if (!got || !streq(got, volume_format_name(fmt))) {
		json_decref(j);
		return error_set(err, EIO, "qemu-img: format of '%s' is not '%s'", path,
		                 volume_format_name(fmt));
	}
	if (!json_u64(j, "virtual-size", &info.virtual_size)) {
		json_decref(j);
		return error_set(err, EIO, "qemu-img: no virtual size for '%s'", path);
	}
	(void)json_u64(j, "actual-size", &info.actual_size);
	/* a raw file's size is its virtual size (qemu-img rounds it up to 512 bytes) */
	if (fmt == FORMAT_RAW && S_ISREG(st.st_mode))
		info.virtual_size = (uint64_t)st.st_size;
	const char *backing = json_string_value(json_object_get(j, "backing-filename"));
	if (backing)
		info.backing_file = xstrdup(backing);

	json_t *spec = json_object_get(j, "format-specific");
	const char *spec_type = json_string_value(json_object_get(spec, "type"));
	json_t *spec_data = json_object_get(spec, "data");
	if (spec_type && streq(spec_type, "qcow2")) {
		const char *df = json_string_value(json_object_get(spec_data, "data-file"));
		if (df)
			info.data_file = xstrdup(df);
	}

	if (untrusted) {
		if (info.data_file)
			r = error_set_status(err, 403, EPERM,
			                     "image '%s' has a data-file reference: not allowed",
			                     path);
		else if (info.backing_file)
			r = error_set_status(err, 403, EPERM,
			                     "image '%s' has a backing file: not allowed", path);
		else if (spec_type && streq(spec_type, "vmdk")) {
			/* a VMDK descriptor names its extents: every one must be the file itself,
			 * or a descriptor could point an extent at any host file */
			json_t *extents = json_object_get(spec_data, "extents");
			json_t *children = json_object_get(j, "children");
			size_t i;
			json_t *e;
			if (json_array_size(children) > 1 || json_array_size(extents) > 1)
				r = error_set_status(err, 403, EPERM,
				                     "image '%s' has multiple extents: not allowed",
				                     path);
			json_array_foreach (extents, i, e) {
				const char *fn = json_string_value(json_object_get(e, "filename"));
				if (r == 0 && (!fn || !streq(fn, p)))
					r = error_set_status(
					        err, 403, EPERM,
					        "image '%s' has an external extent: not "
					        "allowed",
					        path);
			}
		}
	}
	json_decref(j);
	if (r < 0) {
		image_info_done(&info);
		return r;
	}
	*ret = info;
	return 0;
}

int
image_create(const char *path, enum volume_format fmt, uint64_t size_bytes, const char *backing,
             enum volume_format backing_fmt, struct error *err)
{
	int r = image_format_check(fmt, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *p = plain_path(path);
	char size[32];
	snprintf(size, sizeof(size), "%" PRIu64, size_bytes);
	const char *argv[16];
	size_t n = 0;
	argv[n++] = "qemu-img";
	argv[n++] = "create";
	argv[n++] = "-f";
	argv[n++] = volume_format_name(fmt);
	if (backing) {
		r = image_format_check(backing_fmt, err);
		if (r < 0)
			return r;
		argv[n++] = "-F";
		argv[n++] = volume_format_name(backing_fmt);
		argv[n++] = "-b";
		argv[n++] = backing;
	}
	if (fmt == FORMAT_QCOW2) {
		/* PVE's default for qcow2 on dir: 64k clusters, no preallocation, and lazy
		 * refcounts off; extended_l2 off. Keep qemu-img's defaults. */
	}
	argv[n++] = p;
	if (!backing || size_bytes > 0)
		argv[n++] = size;
	argv[n] = NULL;
	r = run_command(argv, NULL, err);
	if (r < 0)
		return error_prefix(err, "unable to create image");
	return 0;
}

int
image_resize(const char *path, enum volume_format fmt, uint64_t size_bytes, struct error *err)
{
	int r = image_format_check(fmt, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *p = plain_path(path);
	char size[32];
	snprintf(size, sizeof(size), "%" PRIu64, size_bytes);
	const char *argv[] = { "qemu-img", "resize", "-f", volume_format_name(fmt), p, size, NULL };
	r = run_command(argv, NULL, err);
	if (r < 0)
		return error_prefix(err, "unable to resize image");
	return 0;
}

int
image_snapshot(const char *path, char op, const char *snap, struct error *err)
{
	int r = storage_check_snapname(snap, err);
	if (r < 0)
		return r;
	const char *opt = op == 'c' ? "-c" : op == 'a' ? "-a" : op == 'd' ? "-d" : NULL;
	if (!opt)
		return error_set(err, EINVAL, "unknown snapshot operation");
	/* `qemu-img snapshot` has no -f: the format is named through --image-opts, where a
	 * ',' in the file name is written ",," */
	_cleanup_strbuf_ struct strbuf o = STRBUF_INIT;
	sb_puts(&o, "driver=qcow2,file.driver=file,file.filename=");
	for (const char *c = path; *c; c++) {
		if (*c == ',')
			sb_putc(&o, ',');
		sb_putc(&o, *c);
	}
	const char *argv[] = {
		"qemu-img", "snapshot", "--image-opts", opt, snap, sb_str(&o), NULL
	};
	r = run_command(argv, NULL, err);
	if (r < 0)
		return error_prefix(err, "%s snapshot '%s' failed",
		                    op == 'c'   ? "create"
		                    : op == 'a' ? "rollback"
		                                : "delete",
		                    snap);
	return 0;
}

struct convert_progress {
	void (*progress)(unsigned pct, void *userdata);
	void *userdata;
	int last;
};

/* qemu-img convert -p prints "    (12.34/100%)" lines separated by '\r' */
static void
convert_line(const char *text, void *userdata)
{
	struct convert_progress *cp = userdata;
	const char *open = strchr(text, '(');
	if (!open)
		return;
	char *end;
	double pct = strtod(open + 1, &end);
	if (end == open + 1 || *end != '/')
		return;
	int p = pct < 0 ? 0 : pct > 100 ? 100 : (int)pct;
	if (p != cp->last) {
		cp->last = p;
		cp->progress((unsigned)p, cp->userdata);
	}
}

int
image_convert(const char *src, enum volume_format src_fmt, const char *dst,
              enum volume_format dst_fmt, void (*progress)(unsigned pct, void *userdata),
              void *userdata, struct error *err)
{
	int r = image_format_check(src_fmt, err);
	if (r >= 0)
		r = image_format_check(dst_fmt, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *s = plain_path(src), *d = plain_path(dst);
	/* the target was allocated by its storage (a btrfs raw volume is a file inside a
	 * subvolume): write into it (-n), and skip writing zeros to a fresh image */
	const char *argv[] = { "qemu-img",
		               "convert",
		               "-p",
		               "-n",
		               "--target-is-zero",
		               "-f",
		               volume_format_name(src_fmt),
		               "-O",
		               volume_format_name(dst_fmt),
		               s,
		               d,
		               NULL };
	struct convert_progress cp = { .progress = progress, .userdata = userdata, .last = -1 };
	if (progress)
		r = run_command_lines(argv, convert_line, &cp, err);
	else
		r = run_command(argv, NULL, err);
	if (r < 0)
		return error_prefix(err, "copy failed");
	return 0;
}
