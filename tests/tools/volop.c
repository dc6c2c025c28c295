/* berth-volop: run one storage operation against a storage.cfg, for tests and debugging.
 * Prints JSON on stdout; on failure the error message on stderr and exit status 1. */
#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "storage/storage.h"

#include <inttypes.h>
#include <stdio.h>

static json_t *
info_json(const struct volume_info *v)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "volid", v->volid, "content",
	                      storage_content_name(v->content), "format",
	                      volume_format_name(v->format), "size", (json_int_t)v->size, "used",
	                      (json_int_t)v->used, "ctime", (json_int_t)v->ctime);
	if (v->vmid)
		json_object_set_new(o, "vmid", json_integer(v->vmid));
	if (v->parent)
		json_object_set_new(o, "parent", json_string(v->parent));
	return o;
}

static bool
parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-')
		return false;
	*ret = v;
	return true;
}

static bool
parse_vmid(const char *s, unsigned *ret)
{
	uint64_t v;
	if (!parse_u64(s, &v) || v == 0 || v > 999999999)
		return false;
	*ret = (unsigned)v;
	return true;
}

static void
print_progress(unsigned pct, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "progress %u%%\n", pct);
}

static int
usage(void)
{
	fprintf(stderr,
	        "usage: berth-volop --config FILE OP ARGS...\n"
	        "  status SID | activate SID | alloc SID VMID FMT SIZE_KIB [NAME] | free VOLID\n"
	        "  path VOLID | info VOLID | list SID [CONTENT] [VMID] | resize VOLID BYTES\n"
	        "  snapshot|rollback|delsnap VOLID SNAP | create-base VOLID\n"
	        "  clone VOLID NEWVMID | copy VOLID TARGETSID VMID [FMT]\n"
	        "  mount VOLID DIR | umount DIR | mkfs PATH\n");
	return 2;
}

static int
out(json_t *j)
{
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(j);
	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}

static int
run(const struct storage_config *cfg, const char *op, int argc, char **argv, struct error *err)
{
#define NEED(n)                                                                                    \
	do {                                                                                       \
		if (argc < (n))                                                                    \
			return error_set(err, EINVAL, "%s: missing arguments", op);                \
	} while (0)
	int r;
	_cleanup_free_ char *str = NULL;
	if (streq(op, "status")) {
		NEED(1);
		struct storage_status st;
		r = storage_status(cfg, argv[0], &st, err);
		if (r < 0)
			return r;
		return out(json_pack("{s:I, s:I, s:I, s:b}", "total", (json_int_t)st.total, "used",
		                     (json_int_t)st.used, "avail", (json_int_t)st.avail, "active",
		                     st.active));
	}
	if (streq(op, "activate")) {
		NEED(1);
		r = storage_activate(cfg, argv[0], err);
		return r < 0 ? r : out(json_true());
	}
	if (streq(op, "alloc")) {
		NEED(4);
		unsigned vmid;
		uint64_t size;
		if (!parse_vmid(argv[1], &vmid) || !parse_u64(argv[3], &size))
			return error_set(err, EINVAL, "alloc: bad VMID or SIZE_KIB");
		enum volume_format f = volume_format_parse(argv[2]);
		if (f == FORMAT_NONE && !streq(argv[2], "default"))
			return error_set(err, EINVAL, "alloc: unknown format '%s'", argv[2]);
		r = storage_alloc(cfg, argv[0], vmid, f, argc > 4 ? argv[4] : NULL, size, &str,
		                  err);
		return r < 0 ? r : out(json_string(str));
	}
	if (streq(op, "free")) {
		NEED(1);
		r = storage_free(cfg, argv[0], err);
		return r < 0 ? r : out(json_true());
	}
	if (streq(op, "path")) {
		NEED(1);
		r = storage_path(cfg, argv[0], &str, err);
		return r < 0 ? r : out(json_string(str));
	}
	if (streq(op, "info")) {
		NEED(1);
		struct volume_info vi;
		r = storage_info(cfg, argv[0], &vi, err);
		if (r < 0)
			return r;
		json_t *j = info_json(&vi);
		volume_info_done(&vi);
		return out(j);
	}
	if (streq(op, "list")) {
		NEED(1);
		unsigned content = 0, vmid = 0;
		if (argc > 1 && !streq(argv[1], "all")) {
			r = storage_content_parse(argv[1], &content, err);
			if (r < 0)
				return r;
		}
		if (argc > 2 && !parse_vmid(argv[2], &vmid))
			return error_set(err, EINVAL, "list: bad VMID");
		struct volume_info *v;
		size_t n;
		r = storage_list(cfg, argv[0], content, vmid, &v, &n, err);
		if (r < 0)
			return r;
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, info_json(&v[i]));
		volume_info_free_array(v, n);
		return out(a);
	}
	if (streq(op, "resize")) {
		NEED(2);
		uint64_t size;
		if (!parse_u64(argv[1], &size))
			return error_set(err, EINVAL, "resize: bad size");
		r = storage_resize(cfg, argv[0], size, err);
		return r < 0 ? r : out(json_true());
	}
	if (streq(op, "snapshot") || streq(op, "rollback") || streq(op, "delsnap")) {
		NEED(2);
		if (streq(op, "snapshot"))
			r = storage_snapshot(cfg, argv[0], argv[1], err);
		else if (streq(op, "rollback"))
			r = storage_rollback(cfg, argv[0], argv[1], err);
		else
			r = storage_snapshot_delete(cfg, argv[0], argv[1], err);
		return r < 0 ? r : out(json_true());
	}
	if (streq(op, "create-base")) {
		NEED(1);
		r = storage_create_base(cfg, argv[0], &str, err);
		return r < 0 ? r : out(json_string(str));
	}
	if (streq(op, "clone")) {
		NEED(2);
		unsigned vmid;
		if (!parse_vmid(argv[1], &vmid))
			return error_set(err, EINVAL, "clone: bad VMID");
		r = storage_clone(cfg, argv[0], vmid, &str, err);
		return r < 0 ? r : out(json_string(str));
	}
	if (streq(op, "copy")) {
		NEED(3);
		unsigned vmid;
		if (!parse_vmid(argv[2], &vmid))
			return error_set(err, EINVAL, "copy: bad VMID");
		enum volume_format f = argc > 3 ? volume_format_parse(argv[3]) : FORMAT_NONE;
		if (argc > 3 && f == FORMAT_NONE)
			return error_set(err, EINVAL, "copy: unknown format '%s'", argv[3]);
		r = storage_copy(cfg, argv[0], argv[1], vmid, f, &str, print_progress, NULL, err);
		return r < 0 ? r : out(json_string(str));
	}
	if (streq(op, "mount")) {
		NEED(2);
		r = storage_mount(cfg, argv[0], argv[1], err);
		return r < 0 ? r : out(json_true());
	}
	if (streq(op, "umount")) {
		NEED(1);
		r = storage_umount(argv[0], err);
		return r < 0 ? r : out(json_true());
	}
	if (streq(op, "mkfs")) {
		NEED(1);
		r = storage_mkfs(argv[0], err);
		return r < 0 ? r : out(json_true());
	}
	if (streq(op, "image-info")) {
		/* image-info PATH FMT [untrusted]: image_info() directly */
		NEED(2);
		struct image_info ii;
		r = image_info(argv[0], volume_format_parse(argv[1]),
		               argc > 2 && streq(argv[2], "untrusted"), &ii, err);
		if (r < 0)
			return r;
		json_t *j = json_pack("{s:s, s:I, s:I}", "format", volume_format_name(ii.format),
		                      "virtual-size", (json_int_t)ii.virtual_size, "actual-size",
		                      (json_int_t)ii.actual_size);
		if (ii.backing_file)
			json_object_set_new(j, "backing-file", json_string(ii.backing_file));
		if (ii.data_file)
			json_object_set_new(j, "data-file", json_string(ii.data_file));
		image_info_done(&ii);
		return out(j);
	}
	return error_set(err, EINVAL, "unknown operation '%s'", op);
#undef NEED
}

int
main(int argc, char **argv)
{
	const char *config = NULL;
	int i = 1;
	if (argc > 2 && streq(argv[1], "--config")) {
		config = argv[2];
		i = 3;
	}
	if (i >= argc)
		return usage();
	const char *op = argv[i++];

	struct error err = { 0 };
	struct storage_config *cfg = NULL;
	if (config) {
		_cleanup_free_ char *text = NULL;
		int r = read_file(config, 1u << 20, &text, NULL);
		if (r < 0) {
			fprintf(stderr, "%s: %s\n", config, strerror(-r));
			return 1;
		}
		char **warnings = NULL;
		r = storage_config_parse(text, &cfg, &warnings, &err);
		for (char **w = warnings; w && *w; w++) {
			fprintf(stderr, "warning: %s\n", *w);
			free(*w);
		}
		free(warnings);
		if (r < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
	}
	int r = run(cfg, op, argc - i, argv + i, &err);
	storage_config_free(cfg);
	if (r < 0) {
		fprintf(stderr, "%s\n", err.msg[0] ? err.msg : strerror(-r));
		return 1;
	}
	return r;
}
