/* Volume names and ids (pure): Proxmox's parse_volname / parse_name_dir rules, and the
 * checks that keep names from outside from ever becoming a path elsewhere than intended. */
#include "storage/storage-internal.h"
#include "storage/storage.h"

#include "basic/strbuf.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <strings.h>

/* Longest volname we look at: four parts of VOLNAME_MAX at most. */
#define VOLNAME_TOTAL_MAX (4 * (VOLNAME_MAX + 1))

static const struct {
	enum volume_format f;
	const char *name;
} format_names[] = {
	{ FORMAT_RAW, "raw" },
	{ FORMAT_QCOW2, "qcow2" },
	{ FORMAT_VMDK, "vmdk" },
	{ FORMAT_SUBVOL, "subvol" },
};

const char *
volume_format_name(enum volume_format f)
{
	for (size_t i = 0; i < ARRAY_SIZE(format_names); i++)
		if (format_names[i].f == f)
			return format_names[i].name;
	return "";
}

enum volume_format
volume_format_parse(const char *s)
{
	if (!s)
		return FORMAT_NONE;
	for (size_t i = 0; i < ARRAY_SIZE(format_names); i++)
		if (streq(format_names[i].name, s))
			return format_names[i].f;
	return FORMAT_NONE;
}

/* SAFE_CHAR_CLASS_RE: [a-zA-Z0-9\-\.\+\=\_] */
static bool
safe_char(char c)
{
	return isascii((unsigned char)c) && (isalnum((unsigned char)c) || strchr("-.+=_", c));
}

static bool
safe_name(const char *s)
{
	if (!*s || s[0] == '.' || strlen(s) > VOLNAME_MAX)
		return false;
	for (const char *p = s; *p; p++)
		if (!safe_char(*p))
			return false;
	return true;
}

/* Names of files that are not guest disks (iso, templates, backups, snippets) may hold more
 * than the safe characters (PVE allows any but '/' there, and people name ISOs with spaces),
 * but never a control character, a ',' (it would split a property string such as
 * "ide2=local:iso/x.iso,media=cdrom"), a leading '.' or a leading/trailing space. */
static bool
loose_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > VOLNAME_MAX || s[0] == '.' || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f || c == '/' || c == ',' || c == '\\')
			return false;
	}
	return true;
}

static bool
endswith_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	/* at least one character before the suffix, as [^/]+ requires */
	return n > m && strcasecmp(s + n - m, suffix) == 0;
}

static bool
endswith_cs(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && streq(s + n - m, suffix);
}

/* ISO_EXT_RE_0 = \.(?:iso|img), case-insensitive */
static bool
iso_ext(const char *s)
{
	return endswith_ci(s, ".iso") || endswith_ci(s, ".img");
}

/* VZTMPL_EXT_RE_1 = \.(?|(tar)(?!\.)|tar\.(gz|xz|zst|bz2)), case-insensitive */
static bool
vztmpl_ext(const char *s)
{
	static const char *const ext[] = { ".tar", ".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2" };
	for (size_t i = 0; i < ARRAY_SIZE(ext); i++)
		if (endswith_ci(s, ext[i]))
			return true;
	return false;
}

/* BACKUP_EXT_RE_2 = \.(tgz|(?:tar|vma)(?:\.(gz|lzo|zst|bz2))?), case-sensitive */
static bool
backup_ext(const char *s)
{
	static const char *const base[] = { ".tar", ".vma" };
	static const char *const comp[] = { "", ".gz", ".lzo", ".zst", ".bz2" };
	if (endswith_cs(s, ".tgz"))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(base); i++)
		for (size_t j = 0; j < ARRAY_SIZE(comp); j++) {
			char ext[16];
			snprintf(ext, sizeof(ext), "%s%s", base[i], comp[j]);
			if (endswith_cs(s, ext))
				return true;
		}
	return false;
}

/* IMPORT_EXT_RE_1 = \.(ova|ovf|qcow2|raw|vmdk); returns the extension or NULL. */
static const char *
import_ext(const char *s, bool upload)
{
	static const char *const ext[] = { "ova", "ovf", "qcow2", "raw", "vmdk" };
	const char *dot = strrchr(s, '.');
	if (!dot || dot == s)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(ext); i++)
		if (streq(dot + 1, ext[i]) && !(upload && streq(ext[i], "ovf")))
			return ext[i];
	return NULL;
}

/* A vmid as a path part: 1-9 digits, no leading zero (so it renders back the same). */
static bool
parse_vmid(const char *s, size_t len, unsigned *ret)
{
	if (len == 0 || len > 9 || s[0] == '0')
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*ret = v;
	return true;
}

/* parse_name_dir: a guest disk's file name. "vm-100-disk-0.qcow2", "base-100-disk-0.raw",
 * "subvol-101-disk-0.subvol", or any other safe name with one of the image extensions;
 * "snap-*.qcow2" are snapshot files, never volumes. */
static bool
parse_name_dir(const char *name, enum volume_format *ret_fmt, bool *ret_is_base)
{
	if (!safe_name(name))
		return false;
	if (startswith(name, "snap-") && endswith_cs(name, ".qcow2"))
		return false;
	const char *dot = strrchr(name, '.');
	if (!dot || dot == name)
		return false;
	enum volume_format f = volume_format_parse(dot + 1);
	if (f == FORMAT_NONE)
		return false;
	*ret_fmt = f;
	*ret_is_base = startswith(name, "base-");
	return true;
}

static bool
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

static int
volname_error(const char *volname, struct error *err)
{
	if (strlen(volname) > VOLNAME_TOTAL_MAX || has_control(volname))
		return error_set_status(err, 400, EINVAL,
		                        "unable to parse directory volume name (too long or "
		                        "control characters)");
	return error_set_status(err, 400, EINVAL, "unable to parse directory volume name '%s'",
	                        volname);
}

static const struct {
	unsigned content;
	const char *dir;
} content_dirs[] = {
	{ CONTENT_ISO, "iso" },       { CONTENT_VZTMPL, "vztmpl" },
	{ CONTENT_BACKUP, "backup" }, { CONTENT_SNIPPETS, "snippets" },
	{ CONTENT_IMPORT, "import" },
};

int
volname_parse(const char *volname, struct volname *ret, struct error *err)
{
	if (!volname || strlen(volname) > VOLNAME_TOTAL_MAX || has_control(volname) ||
	    volname[0] == '/')
		return volname_error(volname ? volname : "", err);

	/* at most four parts; a ',' never belongs to a volume name (property strings) */
	const char *part[5];
	size_t len[5], n = 0;
	for (const char *p = volname;;) {
		const char *slash = strchr(p, '/');
		if (n == 4)
			return volname_error(volname, err);
		part[n] = p;
		len[n] = slash ? (size_t)(slash - p) : strlen(p);
		if (len[n] == 0 || len[n] > VOLNAME_MAX)
			return volname_error(volname, err);
		n++;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (strchr(volname, ','))
		return volname_error(volname, err);

	struct volname v = { .format = FORMAT_RAW };
	if (n == 2 && isdigit((unsigned char)part[0][0])) {
		if (!parse_vmid(part[0], len[0], &v.vmid))
			return volname_error(volname, err);
		memcpy(v.name, part[1], len[1]);
		if (!parse_name_dir(v.name, &v.format, &v.is_base))
			return volname_error(volname, err);
		v.content = CONTENT_IMAGES;
	} else if (n == 4) {
		bool base_is_base;
		enum volume_format base_fmt;
		if (!parse_vmid(part[0], len[0], &v.base_vmid) ||
		    !parse_vmid(part[2], len[2], &v.vmid))
			return volname_error(volname, err);
		memcpy(v.base_name, part[1], len[1]);
		memcpy(v.name, part[3], len[3]);
		if (!parse_name_dir(v.base_name, &base_fmt, &base_is_base) ||
		    !parse_name_dir(v.name, &v.format, &v.is_base))
			return volname_error(volname, err);
		v.content = CONTENT_IMAGES;
	} else if (n == 2) {
		for (size_t i = 0; i < ARRAY_SIZE(content_dirs); i++)
			if (strlen(content_dirs[i].dir) == len[0] &&
			    strneq(part[0], content_dirs[i].dir, len[0]))
				v.content = content_dirs[i].content;
		memcpy(v.name, part[1], len[1]);
		if (!loose_name(v.name))
			return volname_error(volname, err);
		switch (v.content) {
		case CONTENT_ISO:
			if (!iso_ext(v.name))
				return volname_error(volname, err);
			break;
		case CONTENT_VZTMPL:
			if (!vztmpl_ext(v.name))
				return volname_error(volname, err);
			break;
		case CONTENT_BACKUP: {
			if (!backup_ext(v.name))
				return volname_error(volname, err);
			/* vzdump-(openvz|lxc|qemu)-<vmid>-... names its owner */
			static const char *const kinds[] = { "vzdump-openvz-", "vzdump-lxc-",
				                             "vzdump-qemu-" };
			for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
				if (!startswith(v.name, kinds[i]))
					continue;
				const char *d = v.name + strlen(kinds[i]);
				const char *dash = strchr(d, '-');
				unsigned vmid;
				if (dash && dash[1] && parse_vmid(d, (size_t)(dash - d), &vmid))
					v.vmid = vmid;
			}
			break;
		}
		case CONTENT_SNIPPETS:
			break;
		case CONTENT_IMPORT: {
			/* SAFE_CHAR_WITH_WHITESPACE_CLASS_RE+ with an import extension; the
			 * "x.ova/inner.qcow2" form (a file inside an OVA) is not supported */
			for (const char *p = v.name; *p; p++)
				if (!safe_char(*p) && *p != ' ')
					return volname_error(volname, err);
			const char *ext = import_ext(v.name, false);
			if (!ext)
				return volname_error(volname, err);
			v.format = volume_format_parse(ext);
			break;
		}
		default:
			return volname_error(volname, err);
		}
	} else {
		return volname_error(volname, err);
	}

	*ret = v;
	return 0;
}

char *
volname_format(const struct volname *v)
{
	if (v->content == CONTENT_IMAGES || v->content == CONTENT_ROOTDIR) {
		if (v->base_name[0])
			return xasprintf("%u/%s/%u/%s", v->base_vmid, v->base_name, v->vmid,
			                 v->name);
		return xasprintf("%u/%s", v->vmid, v->name);
	}
	for (size_t i = 0; i < ARRAY_SIZE(content_dirs); i++)
		if (content_dirs[i].content == v->content)
			return xasprintf("%s/%s", content_dirs[i].dir, v->name);
	return NULL;
}

bool
storage_id_valid(const char *id)
{
	/* pve-storage-id: ^[a-z][a-z0-9\-\_\.]*[a-z0-9]$, case-insensitive as in PVE */
	size_t n = id ? strlen(id) : 0;
	if (n < 2 || n > 64)
		return false;
	if (!isascii((unsigned char)id[0]) || !isalpha((unsigned char)id[0]))
		return false;
	if (!isascii((unsigned char)id[n - 1]) || !isalnum((unsigned char)id[n - 1]))
		return false;
	for (size_t i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)id[i];
		if (!isascii(c) || !(isalnum(c) || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

int
volid_split(const char *volid, char **ret_storage, char **ret_volname, struct error *err)
{
	const char *colon = volid ? strchr(volid, ':') : NULL;
	if (!colon || colon == volid || !colon[1] || has_control(volid) ||
	    strlen(volid) > VOLNAME_TOTAL_MAX + 65) {
		if (!volid || has_control(volid) || strlen(volid) > VOLNAME_TOTAL_MAX + 65)
			return error_set_status(err, 400, EINVAL, "unable to parse volume ID");
		return error_set_status(err, 400, EINVAL, "unable to parse volume ID '%s'", volid);
	}
	_cleanup_free_ char *sid = xstrndup(volid, (size_t)(colon - volid));
	if (!storage_id_valid(sid))
		return error_set_status(err, 400, EINVAL, "unable to parse volume ID '%s'", volid);
	*ret_volname = xstrdup(colon + 1);
	*ret_storage = TAKE_PTR(sid);
	return 0;
}

int
storage_check_filename(unsigned content, const char *name, struct error *err)
{
	if (!name || !safe_name(name)) {
		if (!name || has_control(name) || strlen(name) > VOLNAME_MAX)
			return error_set_status(err, 400, EINVAL, "invalid file name");
		return error_set_status(err, 400, EINVAL, "invalid file name '%s'", name);
	}
	bool ok;
	switch (content) {
	case CONTENT_ISO:
		ok = iso_ext(name);
		break;
	case CONTENT_VZTMPL:
		ok = vztmpl_ext(name);
		break;
	case CONTENT_BACKUP:
		ok = backup_ext(name);
		break;
	case CONTENT_IMPORT:
		ok = import_ext(name, true) != NULL;
		break;
	case CONTENT_SNIPPETS:
		ok = true;
		break;
	case CONTENT_IMAGES:
	case CONTENT_ROOTDIR: {
		enum volume_format f;
		bool b;
		ok = parse_name_dir(name, &f, &b);
		break;
	}
	default:
		return error_set_status(err, 400, EINVAL, "invalid content type for file '%s'",
		                        name);
	}
	if (!ok)
		return error_set_status(err, 400, EINVAL, "wrong file extension");
	return 0;
}

bool
storage_snapname_valid(const char *snap)
{
	/* pve-snapshot-name: pve-configid ([a-z][a-z0-9_-]+, case-insensitive), at most 40 */
	size_t n = snap ? strlen(snap) : 0;
	if (n < 2 || n > 40 || !isascii((unsigned char)snap[0]) || !isalpha((unsigned char)snap[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)snap[i];
		if (!isascii(c) || !(isalnum(c) || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int
storage_check_snapname(const char *snap, struct error *err)
{
	if (storage_snapname_valid(snap))
		return 0;
	if (!snap || has_control(snap) || strlen(snap) > 64)
		return error_set_status(err, 400, EINVAL, "invalid snapshot name");
	return error_set_status(err, 400, EINVAL, "invalid snapshot name '%s'", snap);
}

bool
storage_alloc_request(const char *value, const char *def_storage, char **ret_sid, double *ret_gib)
{
	const char *colon = strchr(value, ':');
	const char *num = colon ? colon + 1 : value;
	if (colon && (colon == value || strcspn(value, " \t\n\r\f\v") < (size_t)(colon - value)))
		return false;
	size_t whole = strspn(num, "0123456789");
	if (whole == 0)
		return false;
	const char *rest = num + whole;
	if (*rest == '.') {
		size_t frac = strspn(rest + 1, "0123456789");
		if (frac == 0)
			return false;
		rest += 1 + frac;
	}
	if (*rest || (!colon && !def_storage))
		return false;
	*ret_sid = colon ? xstrndup(value, (size_t)(colon - value)) : xstrdup(def_storage);
	*ret_gib = strtod(num, NULL);
	return true;
}
