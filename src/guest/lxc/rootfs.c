/* The files Berth writes into a CT's rootfs (hostname, hosts, resolv.conf, root's password
 * and SSH keys, the network config), all reached through openat2(RESOLVE_IN_ROOT) so that a
 * link planted in the rootfs resolves inside it, and written atomically with mapped owners. */
#include "guest/lxc/rootfs.h"

#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#define RESOLVE_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
#define FILE_MAX      (4u << 20)

/* PVE's markers around the lines it manages in a file the user may edit too; the same
 * markers let us update CTs that PVE set up, and PVE ours */
#define SECTION_HEAD "# --- BEGIN PVE ---\n"
#define SECTION_TAIL "# --- END PVE ---\n"

/* ---- files inside the rootfs ---- */

int
ct_root_open(int rootfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_FLAGS,
	};
	/* EAGAIN: a rename or mount raced with the lookup; the kernel asks us to retry */
	for (int i = 0; i < 8; i++) {
		long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN && errno != EINTR)
			break;
	}
	return negative_errno();
}

int
ct_root_read_file(int rootfd, const char *path, size_t max, char **ret, size_t *ret_len)
{
	/* O_PATH first: opening a FIFO or device found in a hostile rootfs would block or act */
	_cleanup_close_ int pfd = ct_root_open(rootfd, path, O_PATH, 0);
	if (pfd < 0)
		return pfd;
	struct stat st;
	if (fstat(pfd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	/* reopen that very inode for reading */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	return read_file(proc, max, ret, ret_len);
}

/* The directory holding the last component of path (resolved in the root), and that
 * component, which the caller handles without following it. */
static int
root_open_parent(int rootfd, const char *path, int *ret_dirfd, const char **ret_name)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	if (!*name || streq(name, ".") || streq(name, ".."))
		return -EINVAL;
	_cleanup_free_ char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	int fd = ct_root_open(rootfd, dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	*ret_dirfd = fd;
	*ret_name = name;
	return 0;
}

/* PVE's opt-out: a file ".pve-ignore.<name>" next to a file keeps us from touching it. */
static bool
root_ignored(int rootfd, const char *path)
{
	_cleanup_close_ int dfd = -1;
	const char *name;
	if (root_open_parent(rootfd, path, &dfd, &name) < 0)
		return false;
	_cleanup_free_ char *marker = xasprintf(".pve-ignore.%s", name);
	struct stat st;
	return fstatat(dfd, marker, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode);
}

/* What the last component of path is, without following it: 0 when missing. */
static int
root_lstat_type(int rootfd, const char *path, mode_t *ret_type)
{
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = root_open_parent(rootfd, path, &dfd, &name);
	if (r == -ENOENT) {
		*ret_type = 0;
		return 0;
	}
	if (r < 0)
		return r;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return negative_errno();
		st.st_mode = 0;
	}
	*ret_type = st.st_mode & S_IFMT;
	return 0;
}

/* Create directory path (its parent must exist) owned by uid:gid, unless it exists. */
static int
root_mkdir(int rootfd, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = root_open_parent(rootfd, path, &dfd, &name);
	if (r < 0)
		return r;
	if (mkdirat(dfd, name, 0700) < 0) {
		if (errno != EEXIST)
			return negative_errno();
		/* an existing entry must lead to a directory (in the root, as every lookup) */
		_cleanup_close_ int fd = ct_root_open(rootfd, path, O_PATH | O_DIRECTORY, 0);
		return fd < 0 ? fd : 0;
	}
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0)
		return negative_errno();
	return 0;
}

/* Replace the file at path with data: a temporary file in the same directory, renamed over
 * the old name, so readers see the old or the new file. An existing regular file keeps its
 * mode and owner; a new one (or one that was a symlink, which is replaced, never followed)
 * gets mode, uid and gid. Not fsynced: these files are written into a rootfs just extracted
 * and not synced either (as PVE's create), and the fsyncs of a file and its directory for
 * each of them took 6-10 ms of a 35 ms create (docs/decisions.md). */
static int
root_replace(int rootfd, const char *path, const char *data, size_t len, mode_t mode, uid_t uid,
             gid_t gid)
{
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = root_open_parent(rootfd, path, &dfd, &name);
	if (r < 0)
		return r;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISREG(st.st_mode)) {
			mode = st.st_mode & 07777;
			uid = st.st_uid;
			gid = st.st_gid;
		} else if (!S_ISLNK(st.st_mode)) {
			return -EINVAL;
		}
	} else if (errno != ENOENT) {
		return negative_errno();
	}

	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *tmp = NULL;
	for (int i = 0; i < 16 && fd < 0; i++) {
		uint32_t rnd = 0;
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint32_t)getpid() ^ (uint32_t)i;
		free(tmp);
		tmp = xasprintf(".%s.berth-%08x", name, rnd);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return negative_errno();
	}
	if (fd < 0)
		return -EEXIST;
	/* chown before chmod: chown drops set-id bits */
	r = write_all(fd, data, len);
	if (r >= 0 && (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0))
		r = negative_errno();
	if (r >= 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = negative_errno();
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		return r;
	}
	return 0;
}

/* ---- text helpers ---- */

/* Step through text line by line: *line becomes a copy of the next line without its '\n'
 * (the previous copy is freed); false at the end. */
static bool
line_next(const char **p, char **line)
{
	free(*line);
	*line = NULL;
	if (!*p || !**p)
		return false;
	const char *e = strchrnul(*p, '\n');
	*line = xstrndup(*p, (size_t)(e - *p));
	*p = *e ? e + 1 : e;
	return true;
}

static const char *
skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* "#<ws>---<ws>BEGIN<ws>PVE" (which = "BEGIN") or the END one, as PVE matches them. */
static bool
is_section_marker(const char *line, const char *which)
{
	const char *p = line;
	if (*p++ != '#')
		return false;
	p = skip_blanks(p);
	if (!startswith(p, "---"))
		return false;
	p = skip_blanks(p + 3);
	size_t wl = strlen(which);
	if (strncasecmp(p, which, wl) != 0)
		return false;
	p = skip_blanks(p + wl);
	return strncasecmp(p, "PVE", 3) == 0;
}

/* PVE's ct_modify_file: put data (lines ending in '\n') between the markers, replacing an
 * existing marked section; without one, append the section (or with replace, make it the whole
 * file). NULL when the file stays as it is. */
static char *
section_update(const char *old, const char *data, bool replace)
{
	struct strbuf out = STRBUF_INIT;
	if (!old) {
		if (!*data)
			return NULL;
		sb_printf(&out, SECTION_HEAD "%s" SECTION_TAIL, data);
		return sb_steal(&out);
	}
	int state = 0; /* 0 before the section, 1 inside, 2 after it */
	const char *lp = old;
	_cleanup_free_ char *line = NULL;
	while (line_next(&lp, &line)) {
		if (state == 0 && is_section_marker(line, "BEGIN")) {
			state = 1;
			sb_printf(&out, SECTION_HEAD "%s" SECTION_TAIL, data);
		} else if (state == 1) {
			if (is_section_marker(line, "END"))
				state = 2;
		} else {
			sb_printf(&out, "%s\n", line);
		}
	}
	if (state == 1) { /* no end marker: PVE leaves such a file alone */
		sb_free(&out);
		return NULL;
	}
	if (state == 2)
		return sb_steal(&out);
	if (!*data) {
		sb_free(&out);
		return NULL;
	}
	if (replace)
		sb_reset(&out);
	sb_printf(&out, SECTION_HEAD "%s" SECTION_TAIL, data);
	return sb_steal(&out);
}

/* Does text have a line starting with addr and a blank, outside the marked section? */
static bool
has_host_line(const char *text, const char *addr)
{
	bool inside = false;
	size_t al = strlen(addr);
	const char *lp = text;
	_cleanup_free_ char *line = NULL;
	while (line_next(&lp, &line)) {
		const char *p = skip_blanks(line);
		if (is_section_marker(p, "BEGIN"))
			inside = true;
		else if (is_section_marker(p, "END"))
			inside = false;
		else if (!inside && strneq(p, addr, al) && (p[al] == ' ' || p[al] == '\t'))
			return true;
	}
	return false;
}

/* ---- validation ---- */

#define LIST_SEPARATORS " ,;\t"

static bool
dns_name_ok(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || (c == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

static bool
ip_ok(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* "addr/prefix" of family af. */
static bool
parse_cidr(int af, const char *s, unsigned char addr[16], unsigned *ret_prefix)
{
	const char *slash = strchr(s, '/');
	char buf[INET6_ADDRSTRLEN];
	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return false;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (inet_pton(af, buf, addr) != 1)
		return false;
	const char *p = slash + 1;
	unsigned prefix = 0, max = af == AF_INET ? 32 : 128;
	if (!*p || strlen(p) > 3)
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		prefix = prefix * 10 + (unsigned)(*p - '0');
	}
	if (prefix > max)
		return false;
	if (ret_prefix)
		*ret_prefix = prefix;
	return true;
}

static bool
same_prefix(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
	unsigned bytes = prefix / 8, bits = prefix % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (!bits)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - bits));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

/* Is gw reachable on the link without a route: inside cidr, or IPv6 link-local? */
static bool
gateway_on_link(int af, const char *gw, const char *cidr)
{
	unsigned char net[16], g[16];
	unsigned prefix;
	if (!parse_cidr(af, cidr, net, &prefix) || inet_pton(af, gw, g) != 1)
		return false;
	if (same_prefix(net, g, prefix))
		return true;
	static const unsigned char fe80[16] = { 0xfe, 0x80 };
	return af == AF_INET6 && same_prefix(fe80, g, 10);
}

static bool
ifname_ok(const char *s)
{
	size_t len = s ? strlen(s) : 0;
	if (len == 0 || len > 15 || streq(s, "lo") || streq(s, ".") || streq(s, ".."))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return false;
	return true;
}

static bool
is_method(const char *s, bool v6)
{
	return streq(s, "dhcp") || streq(s, "manual") || (v6 && streq(s, "auto"));
}

static int
nets_check(const struct ct_net_setup *nets, size_t n, struct error *err)
{
	unsigned char a[16];
	for (size_t i = 0; i < n; i++) {
		const struct ct_net_setup *d = &nets[i];
		if (!ifname_ok(d->name))
			return error_set(err, EINVAL, "invalid network interface name '%s'",
			                 d->name ? d->name : "");
		for (size_t j = 0; j < i; j++)
			if (streq(nets[j].name, d->name))
				return error_set(err, EINVAL, "duplicate network interface '%s'",
				                 d->name);
		if (d->ip && !is_method(d->ip, false) && !parse_cidr(AF_INET, d->ip, a, NULL))
			return error_set(err, EINVAL, "invalid IPv4 address for %s", d->name);
		if (d->gw && inet_pton(AF_INET, d->gw, a) != 1)
			return error_set(err, EINVAL, "invalid IPv4 gateway for %s", d->name);
		if (d->ip6 && !is_method(d->ip6, true) && !parse_cidr(AF_INET6, d->ip6, a, NULL))
			return error_set(err, EINVAL, "invalid IPv6 address for %s", d->name);
		if (d->gw6 && inet_pton(AF_INET6, d->gw6, a) != 1)
			return error_set(err, EINVAL, "invalid IPv6 gateway for %s", d->name);
	}
	return 0;
}

/* ---- etc/network/interfaces ---- */

struct nic {
	const struct ct_net_setup *d;
	const char *ip6; /* d->ip6, or "manual" where the OS cannot do better */
	bool done_auto, done_v4, done_v6;
};

struct ifrender {
	struct strbuf out;
	struct nic *nics;
	size_t n;
	bool auto_lo;
	/* the stanza being read: its interface, family and the options worth keeping */
	struct nic *sec;
	bool sec_v6;
	bool in_markers;
	struct strbuf attrs;
};

static struct nic *
nic_find(struct ifrender *R, const char *name)
{
	for (size_t i = 0; i < R->n; i++)
		if (streq(R->nics[i].d->name, name))
			return &R->nics[i];
	return NULL;
}

/* PVE's routes for a gateway outside the interface's subnet, marked so that the next run
 * drops them again */
static void
gateway_routes(struct strbuf *out, const char *ifname, const char *gw)
{
	sb_printf(out,
	          SECTION_HEAD "\tpost-up ip route add %s dev %s\n"
	                       "\tpost-up ip route add default via %s dev %s\n"
	                       "\tpre-down ip route del default via %s dev %s\n"
	                       "\tpre-down ip route del %s dev %s\n" SECTION_TAIL,
	          gw, ifname, gw, ifname, gw, ifname, gw, ifname);
}

static void
section_flush(struct ifrender *R)
{
	struct nic *nic = R->sec;
	if (!nic)
		return;
	const char *name = nic->d->name;
	if (!nic->done_auto) {
		sb_printf(&R->out, "auto %s\n", name);
		nic->done_auto = true;
	}
	bool v6 = R->sec_v6;
	const char *ip = v6 ? nic->ip6 : nic->d->ip;
	const char *gw = v6 ? nic->d->gw6 : nic->d->gw;
	const char *family = v6 ? "inet6" : "inet";
	if (v6)
		nic->done_v6 = true;
	else
		nic->done_v4 = true;
	if (!ip) {
		/* no address: no stanza */
	} else if (is_method(ip, v6)) {
		sb_printf(&R->out, "iface %s %s %s\n\n", name, family, ip);
	} else {
		sb_printf(&R->out, "iface %s %s static\n\taddress %s\n", name, family, ip);
		if (gw && gateway_on_link(v6 ? AF_INET6 : AF_INET, gw, ip))
			sb_printf(&R->out, "\tgateway %s\n", gw);
		else if (gw)
			gateway_routes(&R->out, name, gw);
		sb_puts(&R->out, sb_str(&R->attrs));
		sb_puts(&R->out, "\n");
	}
	R->sec = NULL;
	R->in_markers = false;
	sb_reset(&R->attrs);
}

/* Split off the first blank-separated word of *p (at most size-1 bytes). */
static void
next_word(const char **p, char *buf, size_t size)
{
	const char *s = skip_blanks(*p), *e = s;
	while (*e && *e != ' ' && *e != '\t')
		e++;
	size_t l = MIN((size_t)(e - s), size - 1);
	memcpy(buf, s, l);
	buf[l] = '\0';
	*p = e;
}

/* One line of the old file, after PVE's Debian.pm setup_network. */
static void
interfaces_line(struct ifrender *R, const char *line)
{
	if (startswith(line, "# --- BEGIN PVE ---") || startswith(line, "# --- END PVE ---")) {
		/* the routes we added last time, inside a stanza we rewrite: drop them */
		if (R->sec)
			R->in_markers = startswith(line, "# --- BEGIN");
		return;
	}
	if (line[0] == '#') {
		sb_printf(&R->out, "%s\n", line);
		return;
	}
	if (!*skip_blanks(line)) {
		if (R->sec)
			section_flush(R);
		else
			sb_printf(&R->out, "%s\n", line);
		return;
	}
	char w1[64], w2[64], w3[64], w4[64], w5[8];
	const char *p = line;
	next_word(&p, w1, sizeof(w1));
	const char *rest = p;
	next_word(&p, w2, sizeof(w2));
	next_word(&p, w3, sizeof(w3));
	next_word(&p, w4, sizeof(w4));
	next_word(&p, w5, sizeof(w5));
	if (streq(w1, "iface") && (streq(w3, "inet") || streq(w3, "inet6")) && *w4 && !*w5) {
		section_flush(R);
		struct nic *nic = nic_find(R, w2);
		if (!nic) {
			sb_printf(&R->out, "%s\n", line);
			return;
		}
		R->sec = nic;
		R->sec_v6 = streq(w3, "inet6");
		return;
	}
	if (streq(w1, "auto")) {
		char name[64];
		for (const char *q = rest; *(q = skip_blanks(q));) {
			next_word(&q, name, sizeof(name));
			struct nic *nic = nic_find(R, name);
			if (nic)
				nic->done_auto = true;
			if (streq(name, "lo"))
				R->auto_lo = true;
		}
		section_flush(R);
		sb_printf(&R->out, "%s\n", line);
		return;
	}
	if (startswith(w1, "allow-") || streq(w1, "mapping") || streq(w1, "source") ||
	    streq(w1, "source-directory")) {
		section_flush(R);
		sb_printf(&R->out, "%s\n", line);
		return;
	}
	if (R->sec && *w2) {
		/* an option of a stanza we rewrite: the addresses are ours, the rest is kept */
		if (!R->in_markers && !streq(w1, "address") && !streq(w1, "netmask") &&
		    !streq(w1, "gateway") && !streq(w1, "broadcast"))
			sb_printf(&R->attrs, "\t%s\n", skip_blanks(line));
		return;
	}
	sb_printf(&R->out, "%s\n", line);
}

int
ct_render_interfaces(const char *ostype, const char *old, const struct ct_net_setup *nets,
                     size_t n_nets, char **ret, struct error *err)
{
	int r = nets_check(nets, n_nets, err);
	if (r < 0)
		return r;
	bool alpine = ostype && streq(ostype, "alpine");
	struct ifrender R = { .nics = xcalloc(n_nets ? n_nets : 1, sizeof(struct nic)) };
	for (size_t i = 0; i < n_nets; i++) {
		const char *ip6 = nets[i].ip6;
		if (alpine && ip6 && (streq(ip6, "dhcp") || streq(ip6, "auto")))
			ip6 = "manual";
		/* an interface without addresses is not ours to configure */
		if (nets[i].ip || ip6)
			R.nics[R.n++] = (struct nic){ .d = &nets[i], .ip6 = ip6 };
	}
	if (old) {
		const char *lp = old;
		_cleanup_free_ char *line = NULL;
		while (line_next(&lp, &line))
			interfaces_line(&R, line);
		section_flush(&R);
	}
	bool need_separator = R.out.len && !(R.out.len >= 2 && R.out.buf[R.out.len - 1] == '\n' &&
	                                     R.out.buf[R.out.len - 2] == '\n');
	for (size_t i = 0; i < R.n; i++) {
		for (int v6 = 0; v6 < 2; v6++) {
			struct nic *nic = &R.nics[i];
			if (v6 ? (nic->done_v6 || !nic->ip6) : (nic->done_v4 || !nic->d->ip))
				continue;
			if (need_separator) {
				sb_puts(&R.out, "\n");
				need_separator = false;
			}
			R.sec = nic;
			R.sec_v6 = v6;
			section_flush(&R);
		}
	}
	struct strbuf res = STRBUF_INIT;
	if (!R.auto_lo)
		sb_puts(&res, "auto lo\niface lo inet loopback\niface lo inet6 loopback\n\n");
	sb_puts(&res, sb_str(&R.out));
	sb_free(&R.out);
	sb_free(&R.attrs);
	free(R.nics);
	*ret = sb_steal(&res);
	return 0;
}

/* ---- the setup steps ---- */

struct setup_ctx {
	int rootfd;
	const struct ct_setup *s;
	uid_t uid; /* the CT's root on the host */
	gid_t gid;
	char *search;      /* the search domains, blank separated ("" none) */
	char *nameservers; /* blank separated */
};

/* Read a file in the root; a missing one is NULL. */
static int
read_optional(struct setup_ctx *c, const char *path, char **ret, struct error *err)
{
	*ret = NULL;
	int r = ct_root_read_file(c->rootfd, path, FILE_MAX, ret, NULL);
	if (r == -ENOENT)
		return 0;
	if (r == -EINVAL)
		return error_set(err, EINVAL, "%s in the container is not a regular file", path);
	if (r < 0)
		return error_errno(err, r, "unable to read %s in the container", path);
	return 0;
}

/* Replace path with text (see root_replace), unless PVE's marker says to keep it. */
static int
write_file(struct setup_ctx *c, const char *path, const char *text, mode_t mode, struct error *err)
{
	if (root_ignored(c->rootfd, path))
		return 0;
	int r = root_replace(c->rootfd, path, text, strlen(text), mode, c->uid, c->gid);
	if (r == -EINVAL)
		return error_set(err, EINVAL, "%s in the container is not a regular file", path);
	if (r < 0)
		return error_errno(err, r, "unable to write %s in the container", path);
	return 0;
}

/* PVE's ct_modify_file: update the marked section of path with data. */
static int
modify_file(struct setup_ctx *c, const char *path, const char *data, bool replace, mode_t mode,
            struct error *err)
{
	if (root_ignored(c->rootfd, path))
		return 0;
	_cleanup_free_ char *old = NULL;
	int r = read_optional(c, path, &old, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *text = section_update(old, data, replace);
	return text ? write_file(c, path, text, mode, err) : 0;
}

/* The address the hostname resolves to: net0's static address (as PVE), else 127.0.1.1. */
static char *
host_ip(const struct ct_setup *s)
{
	if (s->n_nets > 0) {
		const char *ips[2] = { s->nets[0].ip, s->nets[0].ip6 };
		for (int i = 0; i < 2; i++)
			if (ips[i] && !is_method(ips[i], i == 1))
				return xstrndup(ips[i], strcspn(ips[i], "/"));
	}
	return xstrdup("127.0.1.1");
}

static int
setup_hostname(struct setup_ctx *c, struct error *err)
{
	const char *hostname = c->s->hostname;
	_cleanup_free_ char *namepart = xstrndup(hostname, strcspn(hostname, "."));
	_cleanup_free_ char *text = xasprintf("%s\n", namepart);
	int r = write_file(c, "etc/hostname", text, 0644, err);
	if (r < 0)
		return r;

	_cleanup_free_ char *old = NULL;
	r = read_optional(c, "etc/hosts", &old, err);
	if (r < 0)
		return r;
	_cleanup_strbuf_ struct strbuf sec = STRBUF_INIT;
	if (!old || !has_host_line(old, "127.0.0.1"))
		sb_puts(&sec, "127.0.0.1 localhost.localnet localhost\n");
	if (!old || !has_host_line(old, "::1"))
		sb_puts(&sec, "::1 localhost.localnet localhost\n");
	_cleanup_free_ char *ip = host_ip(c->s);
	if (strchr(hostname, '.')) {
		sb_printf(&sec, "%s %s %s\n", ip, hostname, namepart);
	} else if (streq(namepart, "localhost")) {
		sb_printf(&sec, "127.0.1.1 %s\n", namepart);
	} else {
		sb_puts(&sec, ip);
		_cleanup_free_ char *copy = xstrdup(c->search);
		char *save = NULL;
		for (char *d = strtok_r(copy, " ", &save); d; d = strtok_r(NULL, " ", &save))
			sb_printf(&sec, " %s.%s", hostname, d);
		sb_printf(&sec, " %s\n", hostname);
	}
	return modify_file(c, "etc/hosts", sb_str(&sec), false, 0644, err);
}

static int
setup_dns(struct setup_ctx *c, struct error *err)
{
	/* a link (systemd-resolved's stub, resolvconf) means a resolver manages the file */
	mode_t type;
	int r = root_lstat_type(c->rootfd, "etc/resolv.conf", &type);
	if (r < 0)
		return error_errno(err, r, "unable to look at etc/resolv.conf in the container");
	if (type == S_IFLNK)
		return 0;
	_cleanup_strbuf_ struct strbuf data = STRBUF_INIT;
	if (*c->search)
		sb_printf(&data, "search %s\n", c->search);
	_cleanup_free_ char *copy = xstrdup(c->nameservers);
	char *save = NULL;
	for (char *ns = strtok_r(copy, " ", &save); ns; ns = strtok_r(NULL, " ", &save))
		sb_printf(&data, "nameserver %s\n", ns);
	return modify_file(c, "etc/resolv.conf", sb_str(&data), true, 0644, err);
}

/* The guest's own choice of hash: yescrypt only where its PAM or login.defs uses it (Debian
 * 11+, Ubuntu 22.04+, Fedora 35+); SHA-512 crypt everywhere else, because busybox, musl
 * (Alpine) and older glibc cannot verify a yescrypt hash and root could not log in. */
static bool
guest_uses_yescrypt(int rootfd)
{
	static const char *const pam[] = { "etc/pam.d/common-password", "etc/pam.d/system-auth",
		                           "etc/pam.d/passwd" };
	for (size_t i = 0; i < ARRAY_SIZE(pam) + 1; i++) {
		const char *path = i < ARRAY_SIZE(pam) ? pam[i] : "etc/login.defs";
		_cleanup_free_ char *text = NULL;
		if (ct_root_read_file(rootfd, path, FILE_MAX, &text, NULL) < 0)
			continue;
		const char *lp = text;
		_cleanup_free_ char *line = NULL;
		while (line_next(&lp, &line)) {
			const char *p = skip_blanks(line);
			if (*p == '#')
				continue;
			if (i < ARRAY_SIZE(pam) && strstr(p, "pam_unix") && strstr(p, " yescrypt"))
				return true;
			char w1[32], w2[32];
			next_word(&p, w1, sizeof(w1));
			next_word(&p, w2, sizeof(w2));
			if (i == ARRAY_SIZE(pam) && streq(w1, "ENCRYPT_METHOD") &&
			    strcasecmp(w2, "YESCRYPT") == 0)
				return true;
		}
	}
	return false;
}

static int
hash_password(const char *prefix, const char *password, char **ret)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	/* NULL random bytes: libcrypt takes them from the kernel */
	if (!crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt)))
		return negative_errno();
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *h = crypt_rn(password, salt, cd, (int)sizeof(*cd));
	int r = 0;
	/* a failed crypt returns NULL or a string starting with '*' */
	if (!h || h[0] == '*' || strpbrk(h, ":\n"))
		r = -EINVAL;
	else
		*ret = xstrdup(h);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return r;
}

/* Replace root's second field (and with shadow, the date of the last change) in a passwd or
 * shadow text. NULL when there is no root line. */
static char *
replace_root_password(const char *text, const char *value, long days)
{
	struct strbuf out = STRBUF_INIT;
	bool found = false;
	const char *lp = text;
	_cleanup_free_ char *line = NULL;
	while (line_next(&lp, &line)) {
		char *c1 = startswith(line, "root:") ? line + 4 : NULL;
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		char *c3 = c2 && days >= 0 ? strchr(c2 + 1, ':') : c2;
		if (!found && c3) {
			if (days >= 0)
				sb_printf(&out, "root:%s:%ld%s\n", value, days, c3);
			else
				sb_printf(&out, "root:%s%s\n", value, c2);
			found = true;
		} else {
			sb_printf(&out, "%s\n", line);
		}
	}
	if (!found) {
		sb_free(&out);
		return NULL;
	}
	return sb_steal(&out);
}

static int
setup_password(struct setup_ctx *c, struct error *err)
{
	_cleanup_free_ char *passwd = NULL, *shadow = NULL, *hash = NULL;
	int r = read_optional(c, "etc/passwd", &passwd, err);
	if (r >= 0)
		r = read_optional(c, "etc/shadow", &shadow, err);
	if (r < 0)
		return r;
	if (!passwd)
		return error_set(err, ENOENT, "unable to set the root password: no etc/passwd");
	r = -EINVAL;
	if (guest_uses_yescrypt(c->rootfd))
		r = hash_password("$y$", c->s->password, &hash);
	if (r < 0)
		r = hash_password("$6$", c->s->password, &hash);
	if (r < 0)
		return error_errno(err, r, "unable to hash the root password");

	if (shadow) {
		_cleanup_free_ char *ns =
		        replace_root_password(shadow, hash, (long)(time(NULL) / 86400));
		explicit_bzero(shadow, strlen(shadow));
		if (!ns)
			return error_set(err, ENOENT, "no root entry in etc/shadow");
		r = write_file(c, "etc/shadow", ns, 0640, err);
		explicit_bzero(ns, strlen(ns));
		if (r < 0)
			return r;
		/* the hash lives in shadow: passwd must say so */
		_cleanup_free_ char *np = replace_root_password(passwd, "x", -1);
		if (np && !streq(np, passwd))
			return write_file(c, "etc/passwd", np, 0644, err);
		return 0;
	}
	/* no shadow file (some minimal systems): the hash goes into passwd, as PVE does */
	_cleanup_free_ char *np = replace_root_password(passwd, hash, -1);
	if (!np)
		return error_set(err, ENOENT, "no root entry in etc/passwd");
	return write_file(c, "etc/passwd", np, 0644, err);
}

static int
setup_ssh_keys(struct setup_ctx *c, struct error *err)
{
	int r = root_mkdir(c->rootfd, "root", 0700, c->uid, c->gid);
	if (r >= 0)
		r = root_mkdir(c->rootfd, "root/.ssh", 0700, c->uid, c->gid);
	if (r < 0)
		return error_errno(err, r, "unable to create root/.ssh in the container");
	const char *keys = c->s->ssh_keys;
	size_t len = strlen(keys);
	_cleanup_free_ char *data =
	        xasprintf("%s%s", keys, len && keys[len - 1] != '\n' ? "\n" : "");
	return modify_file(c, "root/.ssh/authorized_keys", data, false, 0600, err);
}

static int
setup_network(struct setup_ctx *c, struct error *err)
{
	const char *path = "etc/network/interfaces";
	bool any = false;
	for (size_t i = 0; i < c->s->n_nets; i++)
		any |= c->s->nets[i].ip || c->s->nets[i].ip6;
	if (!any || root_ignored(c->rootfd, path))
		return 0;
	_cleanup_free_ char *old = NULL, *text = NULL;
	int r = read_optional(c, path, &old, err);
	if (r >= 0)
		r = ct_render_interfaces(c->s->ostype, old, c->s->nets, c->s->n_nets, &text, err);
	if (r < 0)
		return r;
	r = root_mkdir(c->rootfd, "etc/network", 0755, c->uid, c->gid);
	if (r < 0)
		return error_errno(err, r, "unable to create etc/network in the container");
	return write_file(c, path, text, 0644, err);
}

/* Join the entries of a list separated by blanks, commas or semicolons with single blanks,
 * checking each; NULL list: the host's resolv.conf entries (key "search" or "nameserver"). */
static int
dns_list(const char *list, bool nameservers, char **ret, struct error *err)
{
	_cleanup_free_ char *host = NULL;
	if (!list) {
		_cleanup_free_ char *conf = NULL;
		struct strbuf sb = STRBUF_INIT;
		unsigned n = 0;
		if (read_file("/etc/resolv.conf", FILE_MAX, &conf, NULL) >= 0) {
			const char *lp = conf;
			_cleanup_free_ char *line = NULL;
			while (line_next(&lp, &line)) {
				const char *p = skip_blanks(line);
				char key[16], val[256];
				next_word(&p, key, sizeof(key));
				if (nameservers && streq(key, "nameserver") && n < 3) {
					next_word(&p, val, sizeof(val));
					if (ip_ok(val)) {
						sb_printf(&sb, " %s", val);
						n++;
					}
				} else if (!nameservers &&
				           (streq(key, "search") || streq(key, "domain"))) {
					/* the resolver uses the last of these lines */
					sb_reset(&sb);
					sb_puts(&sb, p);
				}
			}
		}
		host = sb_steal(&sb);
		list = host;
	}
	struct strbuf out = STRBUF_INIT;
	_cleanup_free_ char *copy = xstrdup(list);
	char *save = NULL;
	for (char *w = strtok_r(copy, LIST_SEPARATORS, &save); w;
	     w = strtok_r(NULL, LIST_SEPARATORS, &save)) {
		if (nameservers ? !ip_ok(w) : !dns_name_ok(w)) {
			/* the host's own file is not the user's mistake: skip what we cannot use */
			if (host)
				continue;
			sb_free(&out);
			return error_set(err, EINVAL, "invalid %s '%s'",
			                 nameservers ? "nameserver" : "search domain", w);
		}
		sb_printf(&out, "%s%s", out.len ? " " : "", w);
	}
	*ret = sb_steal(&out);
	return 0;
}

static bool
ostype_writes_interfaces(const char *ostype)
{
	return streq(ostype, "debian") || streq(ostype, "ubuntu") || streq(ostype, "devuan") ||
	       streq(ostype, "alpine");
}

static bool
ostype_known(const char *ostype)
{
	static const char *const known[] = { "debian", "ubuntu",    "alpine",   "centos",
		                             "fedora", "archlinux", "opensuse", "devuan",
		                             "gentoo", "nixos",     "unmanaged" };
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (streq(ostype, known[i]))
			return true;
	return false;
}

int
ct_rootfs_setup(const char *rootdir, const struct ct_setup *s, struct error *err)
{
	/* everything is checked before the first file changes */
	if (!s->hostname || !dns_name_ok(s->hostname))
		return error_set(err, EINVAL, "invalid hostname '%s'",
		                 s->hostname ? s->hostname : "");
	if (s->ostype && !ostype_known(s->ostype))
		return error_set(err, EINVAL, "unknown ostype '%s'", s->ostype);
	int r = nets_check(s->nets, s->n_nets, err);
	if (r < 0)
		return r;
	struct setup_ctx c = { .s = s, .rootfd = -1 };
	_cleanup_free_ char *search = NULL, *nameservers = NULL;
	r = dns_list(s->searchdomain, false, &search, err);
	if (r >= 0)
		r = dns_list(s->nameserver, true, &nameservers, err);
	if (r < 0)
		return r;
	c.search = search;
	c.nameservers = nameservers;
	c.uid = s->map.count ? s->map.uid_base : 0;
	c.gid = s->map.count ? s->map.gid_base : 0;

	_cleanup_close_ int rootfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return error_errno(err, negative_errno(), "unable to open '%s'", rootdir);
	c.rootfd = rootfd;
	struct ct_setup detected;
	if (!s->ostype) {
		detected = *s;
		r = ct_detect_ostype(rootdir, &detected.ostype, err);
		if (r < 0)
			return r;
		c.s = s = &detected;
	}

	r = setup_hostname(&c, err);
	if (r >= 0)
		r = setup_dns(&c, err);
	if (r >= 0 && s->password)
		r = setup_password(&c, err);
	if (r >= 0 && s->ssh_keys)
		r = setup_ssh_keys(&c, err);
	/* "unmanaged" and the OS types without an interfaces file: liblxc sets static
	 * addresses itself */
	if (r >= 0 && ostype_writes_interfaces(s->ostype))
		r = setup_network(&c, err);
	return r < 0 ? r : 0;
}

/* ---- mount targets and bind sources ---- */

/* One step of a no-follow walk: the directory `name` below dirfd (created when missing and
 * create), as an O_PATH descriptor. `shown` is the path so far, for the error. */
static int
walk_step(int dirfd, const char *name, const char *shown, const struct ct_idmap *map, bool create,
          struct error *err)
{
	if (streq(name, ".") || streq(name, ".."))
		return error_set(err, EINVAL, "invalid path component '%s' in %s", name, shown);
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			struct stat st;
			if (fstat(fd, &st) < 0) {
				int r = negative_errno();
				close(fd);
				return error_errno(err, r, "unable to stat %s", shown);
			}
			if (S_ISDIR(st.st_mode))
				return fd;
			close(fd);
			if (S_ISLNK(st.st_mode))
				return error_set(err, ELOOP, "symlink encountered at: %s", shown);
			return error_set(err, ENOTDIR, "not a directory: %s", shown);
		}
		if (errno != ENOENT || !create)
			return error_errno(err, -errno, "unable to open %s", shown);
		if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
			return error_errno(err, -errno, "unable to create %s", shown);
		/* owned by the CT's root; fchownat without following, in case of a race */
		uid_t uid = map->count ? map->uid_base : 0;
		gid_t gid = map->count ? map->gid_base : 0;
		if (fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
			return error_errno(err, -errno, "unable to chown %s", shown);
	}
	return error_set(err, EAGAIN, "%s keeps changing", shown);
}

static int
walk_nofollow(int startfd, const char *path, const struct ct_idmap *map, bool create,
              struct error *err)
{
	_cleanup_free_ char *copy = xstrdup(path);
	_cleanup_(sb_freep) struct strbuf shown = { 0 };
	int fd = fcntl(startfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return error_errno(err, -errno, "unable to duplicate a descriptor");
	char *save = NULL;
	for (char *name = strtok_r(copy, "/", &save); name; name = strtok_r(NULL, "/", &save)) {
		sb_putc(&shown, '/');
		sb_puts(&shown, name);
		int next = walk_step(fd, name, sb_str(&shown), map, create, err);
		close(fd);
		if (next < 0)
			return next;
		fd = next;
	}
	return fd;
}

int
ct_mkdir_nofollow(int dirfd, const char *path, const struct ct_idmap *map, struct error *err)
{
	return walk_nofollow(dirfd, path, map, true, err);
}

int
ct_open_nofollow(const char *path, struct error *err)
{
	if (path[0] != '/')
		return error_set(err, EINVAL, "not an absolute path: %s", path);
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return error_errno(err, -errno, "unable to open /");
	static const struct ct_idmap none = { 0 };
	return walk_nofollow(root, path, &none, false, err);
}
