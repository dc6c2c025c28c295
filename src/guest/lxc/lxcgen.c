/* CT config → liblxc config lines. What Proxmox VE writes (pve-container's
 * update_lxc_config) minus AppArmor and hooks: the distro's common.conf is not included, its
 * items are emitted from the tables below, so no lxcfs hook runs where lxcfs is not used. */
#include "guest/lxc/lxcgen.h"

#include <arpa/inet.h>
#include <stdio.h>

struct item {
	const char *key, *value;
};

/* From LXC's config/common.conf, for every container. */
static const struct item common_items[] = {
	{ "lxc.pty.max", "1024" },
	{ "lxc.mount.auto", "cgroup:mixed proc:mixed" },
	{ "lxc.mount.entry",
	  "/sys/fs/fuse/connections sys/fs/fuse/connections none bind,optional 0 0" },
	{ "lxc.monitor.unshare", "1" },
};

/* Privileged containers: drop what the host alone may do, and a device allow-list. */
static const struct item privileged_items[] = {
	{ "lxc.tty.dir", "lxc" },
	{ "lxc.cap.drop", "mac_admin mac_override sys_time sys_module sys_rawio" },
};

static const char *const privileged_devices[] = {
	"c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 5:0 rwm",
	"c 5:1 rwm", "c 5:2 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 136:* rwm", "c 10:229 rwm",
};

char *
ct_rootfs_dir(const char *lxcpath, unsigned vmid)
{
	return xasprintf("%s/%u/rootfs", lxcpath, vmid);
}

char *
ct_seccomp_policy(const struct ct_config *c)
{
	struct strbuf sb = { 0 };
	sb_puts(&sb, "2\n"
	             "denylist\n"
	             "reject_force_umount\n"
	             "[all]\n"
	             "kexec_load errno 1\n"
	             "open_by_handle_at errno 1\n"
	             "init_module errno 1\n"
	             "finit_module errno 1\n"
	             "delete_module errno 1\n");
	if (c->unprivileged) {
		/* BTRFS_IOCTL_MAGIC 0x94: (request & 0xff00) == 0x9400; AF_ALG is 38 */
		sb_puts(&sb, "ioctl errno 1 [1,0x9400,SCMP_CMP_MASKED_EQ,0xff00]\n");
		if (!c->features.keyctl)
			sb_puts(&sb, "keyctl errno 38\n");
		sb_puts(&sb, "socket errno 97 [0,38,SCMP_CMP_EQ]\n");
	}
	return sb_steal(&sb);
}

char *
ct_seccomp_path(const char *lxcpath, unsigned vmid)
{
	return xasprintf("%s/%u/rules.seccomp", lxcpath, vmid);
}

char *
ct_mount_staging_dir(const char *lxcpath, unsigned vmid, const char *key)
{
	return xasprintf("%s/%u/mnt/%s", lxcpath, vmid, key);
}

void
ct_veth_name(unsigned vmid, unsigned index, char buf[static 16])
{
	snprintf(buf, 16, "veth%ui%u", vmid, index);
}

struct gen {
	struct strbuf out;
	const char *bad_key;
};

static void
emit(struct gen *g, const char *key, const char *value)
{
	for (const char *p = value; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			if (!g->bad_key)
				g->bad_key = key;
			return;
		}
	sb_printf(&g->out, "%s = %s\n", key, value);
}

static void
emit_cb(const char *key, const char *value, void *userdata)
{
	emit(userdata, key, value);
}

static void emitf(struct gen *g, const char *key, const char *fmt, ...) _printf_(3, 4);

static void
emitf(struct gen *g, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *v = NULL;
	if (vasprintf(&v, fmt, ap) < 0)
		abort();
	va_end(ap);
	emit(g, key, v);
}

static void
emit_items(struct gen *g, const struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		emit(g, items[i].key, items[i].value);
}

/* A path as a field of an fstab-style line: liblxc reads lxc.mount.entry with getmntent(3),
 * which decodes these octal escapes, so paths with blanks or backslashes mount as named. */
static char *
mntent_escape(const char *path)
{
	struct strbuf sb = { 0 };
	for (const char *p = path; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\\')
			sb_printf(&sb, "\\%03o", (unsigned char)*p);
		else
			sb_putc(&sb, *p);
	return sb_steal(&sb);
}

/* ",ro" etc. for lxc.mount.entry options from the mount's flags */
static void
mount_options(const struct ct_mount *m, struct strbuf *o)
{
	if (m->ro)
		sb_puts(o, ",ro");
	if (m->mountoptions)
		for (const char *p = m->mountoptions; *p;) {
			size_t len = strcspn(p, ";");
			sb_putc(o, ',');
			sb_append(o, p, len);
			p += len;
			if (*p)
				p++;
		}
}

/* An IPv4 "address/prefix" with its broadcast address spelled out: left to itself, liblxc
 * 5.0.2 (Debian 12) gave 10.0.0.12/24 the broadcast 0.0.0.255. Prefixes of 31 and 32 have
 * no broadcast (as with `ip addr add ... brd +`). */
static void
emit_ipv4(struct gen *g, const char *key, const char *cidr)
{
	const char *slash = strchr(cidr, '/');
	char addr[INET_ADDRSTRLEN], bcast[INET_ADDRSTRLEN];
	size_t len = (size_t)(slash - cidr);
	char *end = NULL;
	unsigned long prefix = strtoul(slash + 1, &end, 10);
	struct in_addr a;
	if (len >= sizeof(addr) || *end || prefix > 30) {
		emit(g, key, cidr);
		return;
	}
	memcpy(addr, cidr, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, &a) != 1) {
		emit(g, key, cidr);
		return;
	}
	struct in_addr b = { .s_addr = htonl(ntohl(a.s_addr) | (0xffffffffu >> prefix)) };
	inet_ntop(AF_INET, &b, bcast, sizeof(bcast));
	emitf(g, key, "%s %s", cidr, bcast);
}

static void
emit_net(struct gen *g, const struct ct_config *c, const struct ct_net *n, bool unmanaged)
{
	char prefix[32], key[64], veth[16];
	snprintf(prefix, sizeof(prefix), "lxc.net.%u", n->index);
#define K(suffix) (snprintf(key, sizeof(key), "%s.%s", prefix, suffix), key)
	emit(g, K("type"), "veth");
	ct_veth_name(c->vmid, n->index, veth);
	emit(g, K("veth.pair"), veth);
	if (n->hwaddr)
		emit(g, K("hwaddr"), n->hwaddr);
	emit(g, K("name"), n->name);
	if (n->bridge)
		emit(g, K("link"), n->bridge);
	if (n->mtu)
		emitf(g, K("mtu"), "%u", n->mtu);
	if (!n->link_down)
		emit(g, K("flags"), "up");
	/* A template without a network manager gets its static addresses from liblxc; the
	 * others read the files written into the rootfs at create time. */
	if (unmanaged) {
		if (n->ip && strchr(n->ip, '/'))
			emit_ipv4(g, K("ipv4.address"), n->ip);
		if (n->gw && n->ip && strchr(n->ip, '/'))
			emit(g, K("ipv4.gateway"), n->gw);
		if (n->ip6 && strchr(n->ip6, '/'))
			emit(g, K("ipv6.address"), n->ip6);
		if (n->gw6 && n->ip6 && strchr(n->ip6, '/'))
			emit(g, K("ipv6.gateway"), n->gw6);
	}
#undef K
}

static bool
has_raw(const struct ct_config *c, const char *key)
{
	for (size_t i = 0; i < c->n_raw; i++)
		if (streq(c->raw[i].key, key))
			return true;
	return false;
}

/* PVE's make_apparmor_config: liblxc generates the profile (equivalent to
 * lxc-container-default-cgns) with these lines added; a raw lxc.apparmor.profile in the
 * config replaces all of it. */
static void
emit_apparmor(struct gen *g, const struct ct_config *c)
{
	emit(g, "lxc.apparmor.profile", "generated");
	emit(g, "lxc.apparmor.raw", "allow mqueue,");
	if (c->features.nesting) {
		emit(g, "lxc.apparmor.raw", "allow userns,");
	} else {
		/* a CT must not chown /proc or /sys under the host's tools */
		emit(g, "lxc.apparmor.raw", "deny mount -> /proc/,");
		emit(g, "lxc.apparmor.raw", "deny mount -> /sys/,");
	}
	/* features mount=nfs;cifs (checked by the schema: file system names only) */
	_cleanup_free_ char *list = xstrdup(c->features.mount ? c->features.mount : "");
	for (char *save = NULL, *fs = strtok_r(list, ";", &save); fs;
	     fs = strtok_r(NULL, ";", &save))
		emitf(g, "lxc.apparmor.raw", "mount fstype=%s,", fs);
	if (c->features.fuse)
		emit(g, "lxc.apparmor.raw", "mount fstype=fuse,");
}

int
ct_lxc_config(const struct ct_config *c, const struct ct_lxc_env *env, char **ret,
              struct error *err)
{
	struct gen g = { 0 };
	_cleanup_free_ char *rootfs = ct_rootfs_dir(env->lxcpath, c->vmid);
	bool unprivileged = c->unprivileged;
	bool unmanaged = !c->ostype || streq(c->ostype, "unmanaged");

	sb_printf(&g.out, "# generated by berthd from nodes/<node>/lxc/%u.conf; do not edit\n",
	          c->vmid);
	emit(&g, "lxc.arch", c->arch ? c->arch : "amd64");
	if (c->hostname)
		emit(&g, "lxc.uts.name", c->hostname);
	else
		emitf(&g, "lxc.uts.name", "CT%u", c->vmid);
	emit_items(&g, common_items, ARRAY_SIZE(common_items));
	emitf(&g, "lxc.tty.max", "%u", c->tty);
	_cleanup_free_ char *seccomp = ct_seccomp_path(env->lxcpath, c->vmid);
	emit(&g, "lxc.seccomp.profile", seccomp);

	if (unprivileged) {
		emit(&g, "lxc.mount.auto", c->features.force_rw_sys ? "sys:rw" : "sys:mixed");
		emitf(&g, "lxc.idmap", "u 0 %u %u", env->idmap_base, env->idmap_count);
		emitf(&g, "lxc.idmap", "g 0 %u %u", env->idmap_base, env->idmap_count);
	} else {
		emit(&g, "lxc.mount.auto", "sys:mixed");
		emit_items(&g, privileged_items, ARRAY_SIZE(privileged_items));
		if (env->cg->present[CG_DEVICES]) {
			const char *pfx = env->cg->v1[CG_DEVICES] ? "lxc.cgroup" : "lxc.cgroup2";
			char key[64];
			snprintf(key, sizeof(key), "%s.devices.deny", pfx);
			emit(&g, key, "a");
			snprintf(key, sizeof(key), "%s.devices.allow", pfx);
			for (size_t i = 0; i < ARRAY_SIZE(privileged_devices); i++)
				emit(&g, key, privileged_devices[i]);
		}
	}

	/* features */
	if (c->features.nesting) {
		emit(&g, "lxc.mount.auto", "proc:rw sys:rw");
		emit(&g, "lxc.apparmor.allow_nesting", "1");
	}
	if (c->features.fuse) {
		emit(&g, "lxc.mount.entry", "/dev/fuse dev/fuse none bind,create=file 0 0");
		if (!unprivileged && env->cg->present[CG_DEVICES])
			emit(&g,
			     env->cg->v1[CG_DEVICES] ? "lxc.cgroup.devices.allow"
			                             : "lxc.cgroup2.devices.allow",
			     "c 10:229 rwm");
	}

	/* the cgroups berthd reads and cleans up */
	emitf(&g, "lxc.cgroup.dir.monitor", "lxc.monitor/%u", c->vmid);
	emitf(&g, "lxc.cgroup.dir.container", "lxc/%u", c->vmid);
	emit(&g, "lxc.cgroup.dir.container.inner", "ns");

	/* limits */
	_cleanup_free_ char *cpuset = NULL;
	if (c->cores && env->host_cpus && c->cores < env->host_cpus)
		cpuset = c->cores == 1 ? xstrdup("0") : xasprintf("0-%u", c->cores - 1);
	cg_limit_items(env->cg, c->memory, c->swap, c->cpulimit, c->cpuunits, cpuset, emit_cb, &g);

	/* file systems: mounted by the start worker in the monitor's mount namespace */
	emitf(&g, "lxc.rootfs.path", "dir:%s", rootfs);
	if (c->rootfs.ro)
		emit(&g, "lxc.rootfs.options", "ro");
	/* Volumes and bind sources are mounted on staging directories by the start worker,
	 * which also made every target exist without following symlinks: no create=dir, with
	 * which liblxc would mkdir through a link planted in the rootfs onto the host. In path
	 * order, so /a is mounted before /a/b. */
	_cleanup_free_ size_t *order = ct_mount_order(c);
	for (size_t k = 0; k < c->n_mps; k++) {
		const struct ct_mount *m = &c->mps[order[k]];
		_cleanup_free_ char *src =
		        m->type == CT_MP_DEVICE
		                ? xstrdup(m->volume)
		                : ct_mount_staging_dir(env->lxcpath, c->vmid, m->key);
		_cleanup_(sb_freep) struct strbuf opts = { 0 };
		mount_options(m, &opts);
		const char *target = m->mp;
		while (*target == '/')
			target++;
		if (!*target) {
			sb_free(&g.out);
			return error_set_status(err, 400, EINVAL, "%s: invalid mount point %s",
			                        m->key, m->mp);
		}
		_cleanup_free_ char *esrc = mntent_escape(src), *etarget = mntent_escape(target);
		emitf(&g, "lxc.mount.entry", "%s %s none rbind%s 0 0", esrc, etarget,
		      sb_str(&opts));
	}

	for (size_t i = 0; i < c->n_nets; i++)
		emit_net(&g, c, &c->nets[i], unmanaged);

	if (c->entrypoint)
		emit(&g, "lxc.init.cmd", c->entrypoint);
	if (!c->console)
		emit(&g, "lxc.console.path", "none");

	if (env->apparmor && !has_raw(c, "lxc.apparmor.profile"))
		emit_apparmor(&g, c);

	for (size_t i = 0; i < c->n_raw; i++)
		emit(&g, c->raw[i].key, c->raw[i].value);

	if (g.bad_key) {
		sb_free(&g.out);
		return error_set_status(err, 400, EINVAL, "%s: value contains control characters",
		                        g.bad_key);
	}
	*ret = sb_steal(&g.out);
	return 0;
}
