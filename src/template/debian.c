/* The debian-12 template: debootstrap's minbase variant of bookworm from the host's Debian
 * mirror, plus what a system container needs to boot and get an address (systemd as init,
 * ifupdown with dhclient, iproute2) and a few tools; no SSH server (its host keys would be
 * the same in every container made from the template). Host details debootstrap copies in
 * (resolv.conf, hostname) and caches (apt lists, .debs, machine-id, /dev nodes) are removed. */
#include "template/template-internal.h"

#include "basic/strbuf.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define SUITE            "bookworm"
#define DEFAULT_SECURITY "http://security.debian.org/debian-security"
#define PACKAGES         "systemd-sysv,ifupdown,iproute2,isc-dhcp-client,iputils-ping,procps"

static int
debian_probe(struct template_info *t, struct error *err)
{
	_cleanup_free_ char *debootstrap = build_find_program("debootstrap");
	if (!debootstrap || access("/usr/share/debootstrap/scripts/" SUITE, R_OK) < 0)
		return -ENOENT;
	struct apt_mirrors m = { 0 };
	apt_mirrors_find("/", SUITE, &m);
	t->version = xasprintf("12-%s", t->recipe->revision);
	t->template =
	        xasprintf("%s-%s_%s_%s.tar.zst", t->os, t->package, t->version, t->architecture);
	t->source = xstrdup(TEMPLATE_SOURCE);
	t->location = xstrdup(m.debian);
	apt_mirrors_done(&m);
	return 0;
}

/* Remove the plain files directly in dir (caches), keeping apt's "lock" files and
 * subdirectories (partial/). */
static int
clean_files(int rootfd, const char *dir, struct error *err)
{
	int fd = openat(rootfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : error_errno(err, negative_errno(), "open '%s'", dir);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return error_errno(err, negative_errno(), "open '%s'", dir);
	}
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (streq(de->d_name, "lock") ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    S_ISDIR(st.st_mode))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			r = error_errno(err, negative_errno(), "unable to remove '%s/%s'", dir,
			                de->d_name);
			break;
		}
	}
	closedir(d);
	return r;
}

static int
tidy(const struct template_build *b, const struct apt_mirrors *m, struct error *err)
{
	static const char *const cache_dirs[] = { "var/cache/apt", "var/cache/apt/archives",
		                                  "var/lib/apt/lists" };
	for (size_t i = 0; i < ARRAY_SIZE(cache_dirs); i++) {
		int r = clean_files(b->rootfd, cache_dirs[i], err);
		if (r < 0)
			return r;
	}
	_cleanup_free_ char *sources =
	        xasprintf("deb %s " SUITE " main\n"
	                  "deb %s " SUITE "-updates main\n"
	                  "deb %s " SUITE "-security main\n",
	                  m->debian, m->debian, m->security ? m->security : DEFAULT_SECURITY);
	int r = 0;
	/* LXC populates /dev; debootstrap's device nodes must not be in a template */
	if (r >= 0)
		r = root_remove(b->rootfd, "dev", err);
	if (r >= 0)
		r = root_mkdir(b->rootfd, "dev", 0755, err);
	if (r >= 0)
		r = root_remove(b->rootfd, "var/lib/dbus/machine-id", err);
	if (r >= 0)
		r = root_remove(b->rootfd, "var/log/bootstrap.log", err);
	if (r >= 0)
		r = root_remove(b->rootfd, "debootstrap", err);
	/* empty: systemd makes one at boot (the container's setup may write its own) */
	if (r >= 0)
		r = root_write(b->rootfd, "etc/machine-id", "", 0444, err);
	if (r >= 0)
		r = root_write(b->rootfd, "etc/resolv.conf", "", 0644, err);
	if (r >= 0)
		r = root_write(b->rootfd, "etc/hostname", "debian\n", 0644, err);
	if (r >= 0)
		r = root_write(b->rootfd, "etc/hosts",
		               "127.0.0.1\tlocalhost\n"
		               "::1\t\tlocalhost ip6-localhost ip6-loopback\n"
		               "ff02::1\t\tip6-allnodes\n"
		               "ff02::2\t\tip6-allrouters\n",
		               0644, err);
	if (r >= 0)
		r = root_write(b->rootfd, "etc/apt/sources.list", sources, 0644, err);
	return r;
}

static int
debian_build(struct template_build *b, struct error *err)
{
	struct apt_mirrors m = { 0 };
	apt_mirrors_find("/", SUITE, &m);
	build_log(b->hooks, "mirror: %s", m.debian);
	/* debootstrap mounts proc and sys inside the root: in a mount namespace of our own they
	 * never show on the host and vanish with this process, however it ends */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		build_log(b->hooks, "no private mount namespace (%s); continuing", strerror(errno));
	_cleanup_free_ char *arch = xasprintf("--arch=%s", template_arch());
	const char *argv[] = { "debootstrap",
		               "--variant=minbase",
		               "--include=" PACKAGES,
		               "--components=main",
		               arch,
		               SUITE,
		               b->rootfs,
		               m.debian,
		               NULL };
	build_log(b->hooks, "debootstrap --variant=minbase --include=" PACKAGES " %s %s %s", SUITE,
	          b->rootfs, m.debian);
	int r = build_run(b->hooks, argv, NULL, NULL, err);
	if (r >= 0 && build_interrupted(b->hooks))
		r = error_set(err, EINTR, "received interrupt");
	if (r >= 0) {
		build_log(b->hooks, "removing caches, machine-id and device nodes");
		r = tidy(b, &m, err);
	}
	apt_mirrors_done(&m);
	return r;
}

const struct template_recipe template_recipe_debian12 = {
	.name = "debian-12",
	.revision = "berth1",
	.package = "minimal",
	.os = "debian-12",
	.headline = "Debian 12 Bookworm (minimal)",
	.description = "Debian 12 (bookworm) built with debootstrap's minbase variant from the "
	               "host's Debian mirror, with systemd, ifupdown, iproute2, isc-dhcp-client, "
	               "iputils-ping and procps. No SSH server.",
	.infopage = "https://www.debian.org/releases/bookworm/",
	.root_owned = false,
	.probe = debian_probe,
	.build = debian_build,
};
