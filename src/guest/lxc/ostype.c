/* Which OS a CT's rootfs holds, as PVE's ostype: os-release's ID first, then the release
 * files distributions leave in /etc (after PVE's Setup.pm), read inside the rootfs only. */
#include "guest/lxc/rootfs.h"

#include "basic/strbuf.h"

#include <fcntl.h>
#include <sys/stat.h>

#define OS_RELEASE_MAX (64u << 10)

/* os-release IDs and what PVE calls them */
static const struct {
	const char *id;
	const char *ostype;
} os_ids[] = {
	{ "debian", "debian" },
	{ "ubuntu", "ubuntu" },
	{ "devuan", "devuan" },
	{ "alpine", "alpine" },
	{ "centos", "centos" },
	{ "rocky", "centos" },
	{ "almalinux", "centos" },
	{ "fedora", "fedora" },
	{ "archlinux", "archlinux" },
	{ "arch", "archlinux" },
	{ "opensuse", "opensuse" },
	{ "opensuse-leap", "opensuse" },
	{ "opensuse-tumbleweed", "opensuse" },
	{ "opensuse-slowroll", "opensuse" },
	{ "sles", "opensuse" },
	{ "gentoo", "gentoo" },
	{ "nixos", "nixos" },
};

/* Without a known ID: the files a distribution leaves behind, in PVE's order. */
static const struct {
	const char *path;
	mode_t type;
	const char *ostype;
} marker_files[] = {
	{ "etc/debian_version", S_IFREG, "debian" }, { "etc/devuan_version", S_IFREG, "devuan" },
	{ "etc/SuSE-brand", S_IFREG, "opensuse" },   { "etc/SuSE-release", S_IFREG, "opensuse" },
	{ "etc/fedora-release", S_IFREG, "fedora" }, { "etc/centos-release", S_IFREG, "centos" },
	{ "etc/redhat-release", S_IFREG, "centos" }, { "etc/arch-release", S_IFREG, "archlinux" },
	{ "etc/alpine-release", S_IFREG, "alpine" }, { "etc/gentoo-release", S_IFREG, "gentoo" },
	{ "nix/store", S_IFDIR, "nixos" },
};

/* The value of key in an os-release text (os-release(5): shell-like assignments, values
 * unquoted, in single quotes, or in double quotes with backslash escapes). */
static char *
os_release_value(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!strneq(p, key, kl) || p[kl] != '=')
			continue;
		const char *v = p + kl + 1;
		struct strbuf sb = STRBUF_INIT;
		if (*v == '\'') {
			const char *e = strchr(v + 1, '\'');
			const char *nl = strchrnul(v + 1, '\n');
			if (e && e < nl)
				sb_append(&sb, v + 1, (size_t)(e - v - 1));
		} else if (*v == '"') {
			for (v++; *v && *v != '"' && *v != '\n'; v++) {
				if (*v == '\\' && v[1] && v[1] != '\n')
					v++;
				sb_putc(&sb, *v);
			}
		} else {
			while ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
			       (*v >= '0' && *v <= '9'))
				sb_putc(&sb, *v++);
		}
		return sb_steal(&sb);
	}
	return NULL;
}

static bool
has_type(int rootfd, const char *path, mode_t type)
{
	_cleanup_close_ int fd = ct_root_open(rootfd, path, O_PATH, 0);
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

static const char *
detect_at(int rootfd)
{
	_cleanup_free_ char *text = NULL;
	if (ct_root_read_file(rootfd, "etc/os-release", OS_RELEASE_MAX, &text, NULL) < 0)
		(void)ct_root_read_file(rootfd, "usr/lib/os-release", OS_RELEASE_MAX, &text, NULL);
	_cleanup_free_ char *id = text ? os_release_value(text, "ID") : NULL;
	for (size_t i = 0; id && i < ARRAY_SIZE(os_ids); i++)
		if (streq(id, os_ids[i].id))
			return os_ids[i].ostype;

	_cleanup_free_ char *lsb = NULL;
	if (ct_root_read_file(rootfd, "etc/lsb-release", OS_RELEASE_MAX, &lsb, NULL) >= 0) {
		_cleanup_free_ char *distrib = os_release_value(lsb, "DISTRIB_ID");
		if (distrib && strcasecmp(distrib, "Ubuntu") == 0)
			return "ubuntu";
	}
	for (size_t i = 0; i < ARRAY_SIZE(marker_files); i++)
		if (has_type(rootfd, marker_files[i].path, marker_files[i].type))
			return marker_files[i].ostype;
	/* PVE refuses an unknown os-release; we manage such a rootfs (busybox) as unmanaged */
	return "unmanaged";
}

int
ct_detect_ostype(const char *rootdir, const char **ret, struct error *err)
{
	_cleanup_close_ int rootfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return error_errno(err, negative_errno(), "unable to open '%s'", rootdir);
	*ret = detect_at(rootfd);
	return 0;
}
