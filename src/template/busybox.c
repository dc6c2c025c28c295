/* The busybox template: a minimal bootable system container made from the host's static
 * busybox (Debian's busybox-static): busybox init with an inittab, an rcS that mounts the
 * kernel filesystems and brings the network up with busybox ifupdown (udhcpc for dhcp), and
 * the account files. /dev stays empty (LXC populates it); no device nodes are created. */
#include "template/template-internal.h"

#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define BUSYBOX_PATH "/bin/busybox"

int
template_busybox_version(const char *data, size_t len, char **ret)
{
	static const char banner[] = "BusyBox v";
	const size_t blen = sizeof(banner) - 1;
	const char *p = data, *end = data + len;
	while (p < end && (p = memmem(p, (size_t)(end - p), banner, blen))) {
		const char *v = p + blen, *e = v;
		while (e < end && ((*e >= '0' && *e <= '9') || *e == '.'))
			e++;
		/* "1.35.0" followed by a space or NUL: a version, not text about one */
		if (e > v && e < end && (*e == ' ' || *e == '\0') &&
		    memchr(v, '.', (size_t)(e - v))) {
			*ret = xstrndup(v, (size_t)(e - v));
			return 0;
		}
		p++;
	}
	return -ENOENT;
}

/* The version of the installed binary, from its banner (read, never executed). */
static int
busybox_installed_version(char **ret, struct error *err)
{
	_cleanup_close_ int fd = open(BUSYBOX_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT
		                       : error_errno(err, negative_errno(), "open " BUSYBOX_PATH);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return error_set(err, EINVAL, BUSYBOX_PATH " is not a regular file");
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return error_errno(err, negative_errno(), "mmap " BUSYBOX_PATH);
	int r = template_busybox_version(m, (size_t)st.st_size, ret);
	munmap(m, (size_t)st.st_size);
	if (r < 0)
		return error_set(err, EINVAL, "no version banner in " BUSYBOX_PATH);
	return 0;
}

static int
busybox_probe(struct template_info *t, struct error *err)
{
	_cleanup_free_ char *upstream = NULL;
	int r = busybox_installed_version(&upstream, err);
	if (r < 0)
		return r;
	t->version = xasprintf("%s-%s", upstream, t->recipe->revision);
	t->template = xasprintf("busybox-%s_%s.tar.zst", t->version, t->architecture);
	t->source = xstrdup(TEMPLATE_SOURCE);
	t->location = xstrdup("file://" BUSYBOX_PATH);
	return 0;
}

static const char inittab[] = "# busybox init (Berth busybox template)\n"
                              "::sysinit:/etc/init.d/rcS\n"
                              "console::respawn:/sbin/getty -L 38400 console vt100\n"
                              "tty1::respawn:/sbin/getty 38400 tty1\n"
                              "::ctrlaltdel:/sbin/reboot\n"
                              "::shutdown:/etc/init.d/rcK\n"
                              "::shutdown:/bin/umount -a -r\n";

static const char rcS[] =
        "#!/bin/sh\n"
        "# System start (Berth busybox template): kernel filesystems, hostname, network.\n"
        "mounted() { grep -q \" $1 \" /proc/mounts 2>/dev/null; }\n"
        "[ -e /proc/mounts ] || mount -t proc -o nosuid,nodev,noexec proc /proc\n"
        "mounted /sys || mount -t sysfs -o nosuid,nodev,noexec sysfs /sys 2>/dev/null\n"
        "mkdir -p /dev/pts\n"
        "mounted /dev/pts || mount -t devpts -o gid=5,mode=620 devpts /dev/pts 2>/dev/null\n"
        "mounted /run || mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run 2>/dev/null\n"
        "[ -s /etc/hostname ] && hostname -F /etc/hostname\n"
        "ifup -a\n";

static const char rcK[] = "#!/bin/sh\n"
                          "# System stop (Berth busybox template).\n"
                          "ifdown -a\n";

static const char interfaces[] = "# busybox ifupdown; add e.g.\n"
                                 "#   auto eth0\n"
                                 "#   iface eth0 inet dhcp\n"
                                 "auto lo\n"
                                 "iface lo inet loopback\n";

/* busybox's examples/udhcp/simple.script: apply the lease udhcpc got */
static const char udhcpc_script[] =
        "#!/bin/sh\n"
        "# udhcpc default script: configures the interface, routes and resolv.conf\n"
        "RESOLV_CONF=/etc/resolv.conf\n"
        "[ -n \"$1\" ] || { echo \"Error: should be called from udhcpc\"; exit 1; }\n"
        "NETMASK=\"\"\n"
        "[ -n \"$subnet\" ] && NETMASK=\"netmask $subnet\"\n"
        "BROADCAST=\"broadcast +\"\n"
        "[ -n \"$broadcast\" ] && BROADCAST=\"broadcast $broadcast\"\n"
        "case \"$1\" in\n"
        "deconfig)\n"
        "\tifconfig \"$interface\" 0.0.0.0\n"
        "\t;;\n"
        "renew|bound)\n"
        "\tifconfig \"$interface\" $ip $NETMASK $BROADCAST\n"
        "\tif [ -n \"$router\" ]; then\n"
        "\t\twhile route del default gw 0.0.0.0 dev \"$interface\" 2>/dev/null; do :; done\n"
        "\t\tmetric=0\n"
        "\t\tfor i in $router; do\n"
        "\t\t\troute add default gw \"$i\" dev \"$interface\" metric $metric\n"
        "\t\t\tmetric=$((metric + 1))\n"
        "\t\tdone\n"
        "\tfi\n"
        "\t: > \"$RESOLV_CONF\"\n"
        "\t[ -n \"$domain\" ] && echo \"search $domain\" >> \"$RESOLV_CONF\"\n"
        "\tfor i in $dns; do echo \"nameserver $i\" >> \"$RESOLV_CONF\"; done\n"
        "\t;;\n"
        "esac\n"
        "exit 0\n";

static const struct {
	const char *path;
	mode_t mode;
} dirs[] = {
	{ "bin", 0755 },
	{ "sbin", 0755 },
	{ "usr", 0755 },
	{ "usr/bin", 0755 },
	{ "usr/sbin", 0755 },
	{ "usr/share", 0755 },
	{ "usr/share/udhcpc", 0755 },
	{ "etc", 0755 },
	{ "etc/init.d", 0755 },
	{ "etc/network", 0755 },
	{ "etc/network/if-pre-up.d", 0755 },
	{ "etc/network/if-up.d", 0755 },
	{ "etc/network/if-down.d", 0755 },
	{ "etc/network/if-post-down.d", 0755 },
	{ "dev", 0755 },
	{ "proc", 0555 },
	{ "sys", 0555 },
	{ "run", 0755 },
	{ "tmp", 01777 },
	{ "root", 0700 },
	{ "home", 0755 },
	{ "mnt", 0755 },
	{ "var", 0755 },
	{ "var/log", 0755 },
	{ "var/spool", 0755 },
	{ "var/lib", 0755 },
};

static int
write_files(const struct template_build *b, const char *upstream, struct error *err)
{
	_cleanup_free_ char *os_release = xasprintf("NAME=\"BusyBox\"\n"
	                                            "ID=busybox\n"
	                                            "VERSION_ID=%s\n"
	                                            "PRETTY_NAME=\"BusyBox %s (Berth template)\"\n"
	                                            "HOME_URL=\"https://busybox.net/\"\n",
	                                            upstream, upstream);
	const struct {
		const char *path, *text;
		mode_t mode;
	} files[] = {
		{ "etc/inittab", inittab, 0644 },
		{ "etc/init.d/rcS", rcS, 0755 },
		{ "etc/init.d/rcK", rcK, 0755 },
		{ "etc/network/interfaces", interfaces, 0644 },
		{ "usr/share/udhcpc/default.script", udhcpc_script, 0755 },
		{ "etc/passwd",
		  "root:x:0:0:root:/root:/bin/sh\n"
		  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		  0644 },
		/* '*': no password can match; the container's setup sets one if asked */
		{ "etc/shadow", "root:*::0:99999:7:::\nnobody:*::0:99999:7:::\n", 0640 },
		{ "etc/group", "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n", 0644 },
		{ "etc/hostname", "busybox\n", 0644 },
		{ "etc/hosts",
		  "127.0.0.1\tlocalhost\n"
		  "::1\t\tlocalhost ip6-localhost ip6-loopback\n",
		  0644 },
		{ "etc/resolv.conf", "", 0644 },
		{ "etc/profile",
		  "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
		  "export PS1='\\u@\\h:\\w\\$ '\n",
		  0644 },
		{ "etc/shells", "/bin/sh\n/bin/ash\n", 0644 },
		{ "etc/os-release", os_release, 0644 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		int r = root_write(b->rootfd, files[i].path, files[i].text, files[i].mode, err);
		if (r < 0)
			return r;
	}
	return root_symlink(b->rootfd, "../run", "var/run", err);
}

static int
copy_busybox(const struct template_build *b, struct error *err)
{
	char *data = NULL;
	size_t len = 0;
	int r = read_file(BUSYBOX_PATH, 64u << 20, &data, &len);
	if (r < 0)
		return error_errno(err, r, "unable to read " BUSYBOX_PATH);
	_cleanup_close_ int bin = openat(b->rootfd, "bin", O_PATH | O_DIRECTORY | O_NOFOLLOW);
	_cleanup_close_ int fd =
	        bin < 0 ? -1
	                : openat(bin, "busybox",
	                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		r = negative_errno();
	else if ((r = write_all(fd, data, len)) >= 0 && fchmod(fd, 0755) < 0)
		r = negative_errno();
	free(data);
	return r < 0 ? error_errno(err, r, "unable to write bin/busybox") : 0;
}

/* An applet path from `busybox --list-full`: relative, plain characters, no "..". */
static bool
applet_path_ok(const char *p)
{
	if (!*p || p[0] == '/' || strstr(p, "..") || strstr(p, "//"))
		return false;
	for (const char *c = p; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("/._-+[", *c)))
			return false;
	return true;
}

static int
link_applets(const struct template_build *b, struct error *err)
{
	const char *argv[] = { BUSYBOX_PATH, "--list-full", NULL };
	_cleanup_free_ char *list = NULL;
	int r = build_run(b->hooks, argv, NULL, &list, err);
	if (r < 0)
		return r;
	unsigned n = 0;
	char *save = NULL;
	for (char *p = strtok_r(list, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		if (streq(p, "bin/busybox"))
			continue;
		if (!applet_path_ok(p))
			return error_set(err, EINVAL, "unexpected applet path '%s'", p);
		r = root_mkparents(b->rootfd, p, err);
		if (r >= 0)
			r = root_symlink(b->rootfd, "/bin/busybox", p, err);
		if (r < 0)
			return r;
		n++;
	}
	if (n == 0)
		return error_set(err, EINVAL, BUSYBOX_PATH " lists no applets");
	build_log(b->hooks, "linked %u applets", n);
	return 0;
}

static int
busybox_build(struct template_build *b, struct error *err)
{
	_cleanup_free_ char *upstream = NULL;
	int r = busybox_installed_version(&upstream, err);
	if (r == -ENOENT)
		return error_set(err, ENOENT, BUSYBOX_PATH " is missing (install busybox-static)");
	if (r < 0)
		return r;
	/* the catalog named the file after the binary it saw; refuse a different one */
	_cleanup_free_ char *version = xasprintf("%s-%s", upstream, b->info->recipe->revision);
	if (!streq(version, b->info->version))
		return error_set(err, ESTALE, BUSYBOX_PATH " changed to version %s meanwhile",
		                 upstream);
	build_log(b->hooks, "busybox %s from " BUSYBOX_PATH, upstream);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		r = root_mkdir(b->rootfd, dirs[i].path, dirs[i].mode, err);
		if (r < 0)
			return r;
	}
	r = copy_busybox(b, err);
	if (r >= 0)
		r = link_applets(b, err);
	if (r >= 0)
		r = write_files(b, upstream, err);
	return r;
}

const struct template_recipe template_recipe_busybox = {
	.name = "busybox",
	.revision = "berth1",
	.package = "busybox",
	.os = "busybox",
	.headline = "BusyBox (minimal system container)",
	.description = "A minimal system container built from the host's static BusyBox: busybox "
	               "init with a getty on the console and tty1, busybox ifupdown with udhcpc "
	               "for DHCP, and nothing else. Root has no password until one is set.",
	.infopage = "https://busybox.net/",
	.root_owned = true,
	.probe = busybox_probe,
	.build = busybox_build,
};
