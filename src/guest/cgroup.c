/* Host cgroups as guests see them (see cgroup.h): layout detection from mountinfo and
 * /proc/cgroups, per-controller paths, the liblxc limit items for either layout, usage
 * statistics as PVE computes them, and the cleanup of a stopped guest's directories. */
#include "guest/cgroup.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

DEFINE_POINTER_CLEANUP(DIR, closedir)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* A v1 controller's directory under the mount point. systemd co-mounts "cpu,cpuacct" and
 * links "cpu" and "cpuacct" to it; cgroupfs-mount and OpenRC mount each controller on its
 * own: either way the controller's name is a path to its hierarchy. These are also the
 * names /proc/cgroups and the v1 mount options use. */
static const char *const v1_names[_CG_CONTROLLER_MAX] = {
	[CG_CPU] = "cpu",         [CG_CPUACCT] = "cpuacct", [CG_CPUSET] = "cpuset",
	[CG_MEMORY] = "memory",   [CG_PIDS] = "pids",       [CG_BLKIO] = "blkio",
	[CG_DEVICES] = "devices", [CG_FREEZER] = "freezer",
};

/* cgroup2's names in cgroup.controllers. cpuacct has none: cpu.stat is a core file of every
 * cgroup2 group. Devices (BPF) and the freezer (cgroup.freeze) are built in. */
static const char *const v2_names[_CG_CONTROLLER_MAX] = {
	[CG_CPU] = "cpu",   [CG_CPUACCT] = NULL, [CG_CPUSET] = "cpuset", [CG_MEMORY] = "memory",
	[CG_PIDS] = "pids", [CG_BLKIO] = "io",   [CG_DEVICES] = NULL,    [CG_FREEZER] = NULL,
};

/* v1's "unlimited" is PAGE_COUNTER_MAX pages, just under 2^63; nothing real comes near */
#define V1_UNLIMITED (1ull << 62)

/* Kernel minimum for a CFS quota: 1 ms. */
#define CFS_QUOTA_MIN 1000ull
#define CFS_PERIOD    100000ull

static bool
path_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

/* Is word one of the tokens of list (separated by any of seps)? */
static bool
has_token(const char *list, const char *seps, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, seps);
		if (len == n && strneq(p, word, n))
			return true;
		p += len;
		p += strspn(p, seps);
	}
	return false;
}

/* A cgroup name as the callers build it ("lxc/101", "lxc.monitor/101/ns"): relative, not
 * empty, no empty, "." or ".." components and no control characters, so every path made
 * from it stays inside its hierarchy. */
static bool
rel_valid(const char *rel)
{
	if (!rel || !*rel || *rel == '/')
		return false;
	for (const char *p = rel;;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return false;
		p += n;
		if (!*p)
			return true;
		p++; /* '/' */
	}
}

/* The cgroup2 root: the mount point itself (unified) or its "unified" sub-mount (hybrid). */
static char *
v2_root(const struct cg_host *h)
{
	if (!h->mnt[0])
		return NULL;
	if (h->layout == CG_UNIFIED)
		return xstrdup(h->mnt);
	if (h->layout == CG_HYBRID)
		return xasprintf("%s/unified", h->mnt);
	return NULL;
}

/* mountinfo escapes ' ', '\t', '\n' and '\\' in paths as \ooo */
static void
unescape_octal(char *s)
{
	char *w = s;
	for (const char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* One mountinfo line, split in place:
 * "id parent maj:min root mountpoint options [optional...] - fstype source superopts" */
static bool
parse_mountinfo_opts(char *line, char **ret_mp, const char **ret_opts, const char **ret_fstype,
                     const char **ret_super)
{
	char *f[64];
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(line, " ", &save); t && n < ARRAY_SIZE(f);
	     t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	for (size_t i = 6; i + 1 < n; i++) {
		if (!streq(f[i], "-"))
			continue;
		*ret_mp = f[4];
		*ret_opts = f[5];
		*ret_fstype = f[i + 1];
		*ret_super = i + 3 < n ? f[i + 3] : "";
		unescape_octal(*ret_mp);
		return true;
	}
	return false;
}

static bool
parse_mountinfo_line(char *line, char **ret_mp, const char **ret_fstype, const char **ret_super)
{
	const char *opts;
	return parse_mountinfo_opts(line, ret_mp, &opts, ret_fstype, ret_super);
}

/* /proc/cgroups: "subsys_name hierarchy num_cgroups enabled"; a controller disabled on the
 * kernel command line (cgroup_disable=memory) is off in both versions. Without the file
 * (kernels may drop it on cgroup2-only hosts) everything counts as enabled. */
static void
read_enabled(const char *proc_root, bool enabled[_CG_CONTROLLER_MAX])
{
	for (int c = 0; c < _CG_CONTROLLER_MAX; c++)
		enabled[c] = true;
	_cleanup_free_ char *path = xasprintf("%s/cgroups", proc_root);
	_cleanup_free_ char *text = NULL;
	if (read_file(path, 1u << 20, &text, NULL) < 0)
		return;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char name[64];
		unsigned hier, num, on;
		if (l[0] == '#' || sscanf(l, "%63s %u %u %u", name, &hier, &num, &on) != 4)
			continue;
		for (int c = 0; c < _CG_CONTROLLER_MAX; c++)
			if (streq(name, v1_names[c]))
				enabled[c] = on != 0;
	}
}

/* cgroup2 swap accounting: the memory.swap.* files exist in non-root groups only, so look at
 * the root's children that have the memory controller. With none to look at, trust the
 * kernel's default (on since 5.8) unless the command line turned it off. */
static bool
v2_swap_accounting(const char *proc_root, const char *root2)
{
	_cleanup_closedir_ DIR *d = opendir(root2);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *mem = xasprintf("%s/%s/memory.max", root2, de->d_name);
		if (!path_exists(mem))
			continue;
		_cleanup_free_ char *swap = xasprintf("%s/%s/memory.swap.max", root2, de->d_name);
		return path_exists(swap);
	}
	_cleanup_free_ char *p = xasprintf("%s/cmdline", proc_root);
	_cleanup_free_ char *cmdline = NULL;
	if (read_file(p, 1u << 16, &cmdline, NULL) < 0)
		return true;
	return !has_token(cmdline, " \n", "swapaccount=0");
}

int
cg_detect_at(const char *proc_root, const char *mnt, struct cg_host *ret, struct error *err)
{
	struct cg_host h = { 0 };
	size_t mnt_len = strlen(mnt);
	while (mnt_len > 1 && mnt[mnt_len - 1] == '/')
		mnt_len--;
	if (mnt_len == 0 || mnt[0] != '/' || mnt_len >= sizeof(h.mnt))
		return error_set(err, EINVAL, "unusable cgroup mount point '%s'", mnt);
	memcpy(h.mnt, mnt, mnt_len);
	h.mnt[mnt_len] = '\0';

	_cleanup_free_ char *mi_path = xasprintf("%s/self/mountinfo", proc_root);
	_cleanup_free_ char *mi = NULL;
	int r = read_file(mi_path, 4u << 20, &mi, NULL);
	if (r < 0)
		return error_errno(err, r, "unable to read '%s'", mi_path);

	/* Later mounts hide earlier ones on the same point; a new mount on the mount point
	 * hides everything below it. */
	bool v2_at_mnt = false, v2_at_unified = false, any_v1 = false;
	bool v1_seen[_CG_CONTROLLER_MAX] = { false };
	_cleanup_free_ char *unified = xasprintf("%s/unified", h.mnt);
	for (char *save = NULL, *l = strtok_r(mi, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *mp;
		const char *fstype, *super;
		if (!parse_mountinfo_line(l, &mp, &fstype, &super))
			continue;
		if (streq(mp, h.mnt)) {
			v2_at_mnt = streq(fstype, "cgroup2");
			v2_at_unified = any_v1 = false;
			memset(v1_seen, 0, sizeof(v1_seen));
		} else if (streq(mp, unified)) {
			v2_at_unified = streq(fstype, "cgroup2");
		} else if (streq(fstype, "cgroup") && strneq(mp, h.mnt, mnt_len) &&
		           mp[mnt_len] == '/' && mp[mnt_len + 1] &&
		           !strchr(mp + mnt_len + 1, '/')) {
			/* the super options name the controllers: "rw,memory", "rw,cpu,cpuacct";
			 * named hierarchies ("name=systemd") carry none */
			any_v1 = true;
			for (int c = 0; c < _CG_CONTROLLER_MAX; c++)
				if (has_token(super, ",", v1_names[c]))
					v1_seen[c] = true;
		}
	}
	if (v2_at_mnt)
		h.layout = CG_UNIFIED;
	else if (v2_at_unified)
		h.layout = CG_HYBRID;
	else if (any_v1)
		h.layout = CG_LEGACY;
	else
		return error_set(err, ENOENT, "no cgroup file system mounted at '%s'", h.mnt);

	bool enabled[_CG_CONTROLLER_MAX];
	read_enabled(proc_root, enabled);
	if (h.layout != CG_UNIFIED)
		for (int c = 0; c < _CG_CONTROLLER_MAX; c++)
			h.present[c] = h.v1[c] = v1_seen[c] && enabled[c];

	_cleanup_free_ char *root2 = v2_root(&h);
	if (root2) {
		_cleanup_free_ char *ctl_path = xasprintf("%s/cgroup.controllers", root2);
		_cleanup_free_ char *ctl = NULL;
		if (read_file(ctl_path, 1u << 16, &ctl, NULL) < 0)
			ctl = xstrdup("");
		for (int c = 0; c < _CG_CONTROLLER_MAX; c++) {
			if (h.v1[c] || !enabled[c])
				continue;
			if (c == CG_CPUACCT)
				h.present[c] = true;
			else if (!v2_names[c])
				/* the BPF device filter and cgroup.freeze are what liblxc uses on
				 * a pure cgroup2 host only */
				h.present[c] = h.layout == CG_UNIFIED;
			else
				h.present[c] = has_token(ctl, " \n", v2_names[c]);
		}
	}

	if (h.present[CG_MEMORY]) {
		if (h.v1[CG_MEMORY]) {
			/* the root group has memory.memsw.* when swap is accounted */
			_cleanup_free_ char *p =
			        xasprintf("%s/memory/memory.memsw.limit_in_bytes", h.mnt);
			h.swap_accounting = path_exists(p);
		} else {
			h.swap_accounting = v2_swap_accounting(proc_root, root2);
		}
	}
	*ret = h;
	return 0;
}

int
cg_detect(struct cg_host *ret, struct error *err)
{
	return cg_detect_at("/proc", "/sys/fs/cgroup", ret, err);
}

char *
cg_path(const struct cg_host *h, enum cg_controller c, const char *rel)
{
	if ((unsigned)c >= _CG_CONTROLLER_MAX || !h->present[c] || !h->mnt[0] || !rel_valid(rel))
		return NULL;
	if (h->v1[c])
		return xasprintf("%s/%s/%s", h->mnt, v1_names[c], rel);
	_cleanup_free_ char *root2 = v2_root(h);
	return root2 ? xasprintf("%s/%s", root2, rel) : NULL;
}

static void
emit_u64(cg_item_fn fn, void *userdata, const char *key, uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	fn(key, buf, userdata);
}

static uint64_t
mib_to_bytes(uint64_t mib)
{
	return mib > (UINT64_MAX >> 21) ? (UINT64_MAX >> 1) : mib << 20;
}

void
cg_limit_items(const struct cg_host *h, uint64_t memory_mib, uint64_t swap_mib, double cpulimit,
               unsigned cpuunits, const char *cpuset, cg_item_fn fn, void *userdata)
{
	/* The keys PVE's update_lxc_config writes: memory.max + memory.swap.max on cgroup2,
	 * memory.limit_in_bytes + memsw (memory + swap, one combined limit) on v1. */
	if (h->present[CG_MEMORY] && memory_mib) {
		uint64_t mem = mib_to_bytes(memory_mib), swap = mib_to_bytes(swap_mib);
		if (h->v1[CG_MEMORY]) {
			emit_u64(fn, userdata, "lxc.cgroup.memory.limit_in_bytes", mem);
			if (h->swap_accounting)
				emit_u64(fn, userdata, "lxc.cgroup.memory.memsw.limit_in_bytes",
				         mem + swap);
		} else {
			emit_u64(fn, userdata, "lxc.cgroup2.memory.max", mem);
			if (h->swap_accounting)
				emit_u64(fn, userdata, "lxc.cgroup2.memory.swap.max", swap);
		}
	}
	/* cpulimit: a quota per 100 ms period, the period first as PVE's change_cpu_quota */
	if (h->present[CG_CPU] && cpulimit > 0) {
		double q = cpulimit * (double)CFS_PERIOD + 0.5;
		uint64_t quota = q >= 1e15 ? (uint64_t)1e15 : (uint64_t)q;
		if (quota < CFS_QUOTA_MIN)
			quota = CFS_QUOTA_MIN;
		if (h->v1[CG_CPU]) {
			emit_u64(fn, userdata, "lxc.cgroup.cpu.cfs_period_us", CFS_PERIOD);
			emit_u64(fn, userdata, "lxc.cgroup.cpu.cfs_quota_us", quota);
		} else {
			char v[64];
			snprintf(v, sizeof(v), "%llu %llu", (unsigned long long)quota, CFS_PERIOD);
			fn("lxc.cgroup2.cpu.max", v, userdata);
		}
	}
	/* cpuunits as PVE's clamp_cpu_shares: passed through, only clamped to what the kernel
	 * takes (v1 cpu.shares 2..262144, cgroup2 cpu.weight 1..10000) */
	if (h->present[CG_CPU] && cpuunits) {
		if (h->v1[CG_CPU])
			emit_u64(fn, userdata, "lxc.cgroup.cpu.shares",
			         cpuunits < 2 ? 2 : MIN(cpuunits, 262144u));
		else
			emit_u64(fn, userdata, "lxc.cgroup2.cpu.weight", MIN(cpuunits, 10000u));
	}
	if (h->present[CG_CPUSET] && cpuset && *cpuset)
		fn(h->v1[CG_CPUSET] ? "lxc.cgroup.cpuset.cpus" : "lxc.cgroup2.cpuset.cpus", cpuset,
		   userdata);
}

/* ---- changing a running guest's limits ---- */

struct cg_write {
	char *file; /* "memory.max", relative to the controller's directory */
	enum cg_controller ctrl;
	char *value;
	int result; /* 1 = not written yet, 0 = written, -errno */
};

struct cg_writes {
	struct cg_write w[8];
	size_t n;
};

static void
collect_write(const char *key, const char *value, void *userdata)
{
	struct cg_writes *ws = userdata;
	const char *file = startswith(key, "lxc.cgroup2.")  ? key + strlen("lxc.cgroup2.")
	                   : startswith(key, "lxc.cgroup.") ? key + strlen("lxc.cgroup.")
	                                                    : NULL;
	if (!file || ws->n == ARRAY_SIZE(ws->w))
		return;
	size_t len = strcspn(file, ".");
	for (enum cg_controller c = 0; c < _CG_CONTROLLER_MAX; c++)
		if (v1_names[c] && strlen(v1_names[c]) == len &&
		    strncmp(file, v1_names[c], len) == 0) {
			ws->w[ws->n++] = (struct cg_write){ xstrdup(file), c, xstrdup(value), 1 };
			return;
		}
}

static int
write_one(const struct cg_host *h, const char *rel, const struct cg_write *w)
{
	_cleanup_free_ char *dir = cg_path(h, w->ctrl, rel);
	if (!dir)
		return -ENOENT;
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, w->file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	if (write(fd, w->value, strlen(w->value)) < 0)
		return negative_errno();
	return 0;
}

int
cg_apply_limits(const struct cg_host *h, const char *rel, uint64_t memory_mib, uint64_t swap_mib,
                double cpulimit, unsigned cpuunits, struct error *err)
{
	struct cg_writes ws = { .n = 0 };
	cg_limit_items(h, memory_mib, swap_mib, cpulimit, cpuunits, NULL, collect_write, &ws);
	/* what the start leaves at the kernel's default must be reset explicitly here */
	if (h->present[CG_CPU] && cpulimit <= 0) {
		if (h->v1[CG_CPU])
			collect_write("lxc.cgroup.cpu.cfs_quota_us", "-1", &ws);
		else
			collect_write("lxc.cgroup2.cpu.max", "max 100000", &ws);
	}
	if (h->present[CG_CPU] && cpuunits == 0)
		collect_write(h->v1[CG_CPU] ? "lxc.cgroup.cpu.shares" : "lxc.cgroup2.cpu.weight",
		              h->v1[CG_CPU] ? "1024" : "100", &ws);
	/* two passes: v1 memory and memsw limits must be written in the order that keeps
	 * memsw >= memory, which depends on whether they grow or shrink */
	int r = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ws.n; i++)
			if (ws.w[i].result != 0)
				ws.w[i].result = write_one(h, rel, &ws.w[i]);
	for (size_t i = 0; i < ws.n; i++) {
		if (r == 0 && ws.w[i].result < 0)
			r = error_errno(err, ws.w[i].result, "unable to write %s of %s",
			                ws.w[i].file, rel);
		free(ws.w[i].file);
		free(ws.w[i].value);
	}
	return r;
}

/* A single-value file: a number, or "max" (= 0, unlimited). ret_ok tells whether the file
 * could be read at all. */
static uint64_t
file_u64(const char *dir, const char *name, bool *ret_ok)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
	_cleanup_free_ char *text = NULL;
	bool ok = read_file(p, 1u << 16, &text, NULL) >= 0;
	if (ret_ok)
		*ret_ok = ok;
	if (!ok || startswith(text, "max"))
		return 0;
	return strtoull(text, NULL, 10);
}

/* A flat keyed file ("key value" lines, memory.stat, cpu.stat): the value of key, 0 when
 * absent. */
static uint64_t
keyed_u64(const char *dir, const char *name, const char *key)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
	_cleanup_free_ char *text = NULL;
	if (read_file(p, 1u << 20, &text, NULL) < 0)
		return 0;
	size_t klen = strlen(key);
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save))
		if (strneq(l, key, klen) && l[klen] == ' ')
			return strtoull(l + klen + 1, NULL, 10);
	return 0;
}

static void
read_memory(const struct cg_host *h, const char *dir, struct cg_stats *s)
{
	if (h->v1[CG_MEMORY]) {
		/* PVE: mem = usage - total_cache, swap = memsw usage - usage */
		uint64_t usage = file_u64(dir, "memory.usage_in_bytes", NULL);
		uint64_t cache = keyed_u64(dir, "memory.stat", "total_cache");
		s->mem_bytes = usage > cache ? usage - cache : 0;
		uint64_t limit = file_u64(dir, "memory.limit_in_bytes", NULL);
		s->mem_limit = limit >= V1_UNLIMITED ? 0 : limit;
		bool ok;
		uint64_t memsw = file_u64(dir, "memory.memsw.usage_in_bytes", &ok);
		s->swap_bytes = ok && memsw > usage ? memsw - usage : 0;
		uint64_t memsw_limit = file_u64(dir, "memory.memsw.limit_in_bytes", &ok);
		if (ok && s->mem_limit && memsw_limit < V1_UNLIMITED && memsw_limit >= limit)
			s->swap_limit = memsw_limit - limit;
	} else {
		/* PVE: mem = memory.current - file (page cache) from memory.stat */
		uint64_t usage = file_u64(dir, "memory.current", NULL);
		uint64_t file = keyed_u64(dir, "memory.stat", "file");
		s->mem_bytes = usage > file ? usage - file : 0;
		s->mem_limit = file_u64(dir, "memory.max", NULL);
		s->swap_bytes = file_u64(dir, "memory.swap.current", NULL);
		s->swap_limit = file_u64(dir, "memory.swap.max", NULL);
	}
}

static void
read_io(const struct cg_host *h, const char *dir, struct cg_stats *s)
{
	_cleanup_free_ char *p = xasprintf(
	        "%s/%s", dir,
	        h->v1[CG_BLKIO] ? "blkio.throttle.io_service_bytes_recursive" : "io.stat");
	_cleanup_free_ char *text = NULL;
	if (read_file(p, 1u << 20, &text, NULL) < 0)
		return;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (h->v1[CG_BLKIO]) {
			/* "8:0 Read 4096"; the "Total" lines have no device */
			unsigned maj, min;
			char op[16];
			unsigned long long n;
			if (sscanf(l, "%u:%u %15s %llu", &maj, &min, op, &n) != 4)
				continue;
			if (streq(op, "Read"))
				s->blk_read_bytes += n;
			else if (streq(op, "Write"))
				s->blk_write_bytes += n;
			continue;
		}
		/* "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0" */
		for (char *tsave = NULL, *t = strtok_r(l, " ", &tsave); t;
		     t = strtok_r(NULL, " ", &tsave)) {
			if (startswith(t, "rbytes="))
				s->blk_read_bytes += strtoull(t + 7, NULL, 10);
			else if (startswith(t, "wbytes="))
				s->blk_write_bytes += strtoull(t + 7, NULL, 10);
		}
	}
}

/* The group's directory in the first hierarchy that has it: whether the guest runs. */
static char *
any_path(const struct cg_host *h, const char *rel)
{
	static const enum cg_controller order[] = { CG_MEMORY, CG_PIDS, CG_CPUACCT, CG_CPU };
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		char *p = cg_path(h, order[i], rel);
		if (p)
			return p;
	}
	_cleanup_free_ char *root2 = v2_root(h);
	return root2 ? xasprintf("%s/%s", root2, rel) : NULL;
}

int
cg_read_stats(const struct cg_host *h, const char *rel, struct cg_stats *ret)
{
	if (!rel_valid(rel))
		return -EINVAL;
	_cleanup_free_ char *base = any_path(h, rel);
	struct stat st;
	if (!base)
		return -ENOENT;
	if (stat(base, &st) < 0)
		return negative_errno();
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;

	struct cg_stats s = { 0 };
	_cleanup_free_ char *mem = cg_path(h, CG_MEMORY, rel);
	if (mem)
		read_memory(h, mem, &s);
	_cleanup_free_ char *cpu = cg_path(h, CG_CPUACCT, rel);
	if (cpu)
		s.cpu_usage_ns = h->v1[CG_CPUACCT]
		                         ? file_u64(cpu, "cpuacct.usage", NULL)
		                         : keyed_u64(cpu, "cpu.stat", "usage_usec") * 1000;
	_cleanup_free_ char *pids = cg_path(h, CG_PIDS, rel);
	if (pids)
		s.pids = (uint32_t)file_u64(pids, "pids.current", NULL);
	_cleanup_free_ char *blk = cg_path(h, CG_BLKIO, rel);
	if (blk)
		read_io(h, blk, &s);
	*ret = s;
	return 0;
}

/* rmdir dir's subdirectories (deepest first), then dir; -EBUSY if any stayed (processes in
 * a cgroup, files in a plain directory). Never follows symlinks. */
static int
remove_tree(const char *dir)
{
	int r = 0;
	{
		_cleanup_closedir_ DIR *d = opendir(dir);
		if (!d)
			return errno == ENOENT ? 0 : negative_errno();
		struct dirent *de;
		while ((de = readdir(d))) {
			if (streq(de->d_name, ".") || streq(de->d_name, ".."))
				continue;
			_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
			struct stat st;
			if (de->d_type != DT_DIR && (de->d_type != DT_UNKNOWN ||
			                             lstat(sub, &st) < 0 || !S_ISDIR(st.st_mode)))
				continue;
			int q = remove_tree(sub);
			if (q < 0 && r >= 0)
				r = q;
		}
	}
	if (rmdir(dir) < 0 && errno != ENOENT) {
		int q = errno == EBUSY || errno == ENOTEMPTY || errno == EEXIST ? -EBUSY
		                                                                : negative_errno();
		if (r >= 0)
			r = q;
	}
	return r;
}

/* Every hierarchy's root directory, each once: the mount point (cgroup2 only), or each
 * directory under it — v1 controllers, named hierarchies such as name=systemd (liblxc
 * creates its groups there too) and "unified". Symlinked co-mounts ("cpu" ->
 * "cpu,cpuacct") resolve to one. */
static size_t
hierarchy_roots(const struct cg_host *h, char ***ret)
{
	char **roots = NULL;
	size_t n = 0;
	if (h->layout == CG_UNIFIED) {
		roots = xmalloc(sizeof(char *));
		roots[n++] = xstrdup(h->mnt);
		*ret = roots;
		return n;
	}
	_cleanup_closedir_ DIR *d = opendir(h->mnt);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", h->mnt, de->d_name);
		char *real = realpath(p, NULL);
		struct stat st;
		if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(real);
			continue;
		}
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = streq(roots[i], real);
		if (seen) {
			free(real);
			continue;
		}
		roots = xrealloc(roots, (n + 1) * sizeof(char *));
		roots[n++] = real;
	}
	*ret = roots;
	return n;
}

int
cg_remove(const struct cg_host *h, const char *rel)
{
	if (!rel_valid(rel))
		return -EINVAL;
	if (!h->mnt[0])
		return 0;
	char **roots = NULL;
	size_t n = hierarchy_roots(h, &roots);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", roots[i], rel);
		int q = remove_tree(p);
		if (q < 0 && r >= 0)
			r = q;
		free(roots[i]);
	}
	free(roots);
	return r;
}

/* v1: any pid in dir's cgroup.procs or in its descendants' */
static bool
procs_nonempty(const char *dir)
{
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
	_cleanup_free_ char *text = NULL;
	if (read_file(procs, 1u << 20, &text, NULL) >= 0 && text[strspn(text, " \n")])
		return true;
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
		if (procs_nonempty(sub))
			return true;
	}
	return false;
}

bool
cg_populated(const struct cg_host *h, const char *rel)
{
	if (!rel_valid(rel) || !h->mnt[0])
		return false;
	/* cgroup2 says it for the whole subtree in cgroup.events */
	_cleanup_free_ char *root2 = v2_root(h);
	if (root2) {
		_cleanup_free_ char *p = xasprintf("%s/%s/cgroup.events", root2, rel);
		_cleanup_free_ char *text = NULL;
		if (read_file(p, 1u << 16, &text, NULL) >= 0 && strstr(text, "populated 1"))
			return true;
	}
	if (h->layout == CG_UNIFIED)
		return false;
	/* v1 (and hybrid hosts where a process was placed in v1 hierarchies only): a process
	 * in any of them */
	for (int c = 0; c < _CG_CONTROLLER_MAX; c++) {
		if (!h->v1[c])
			continue;
		_cleanup_free_ char *p = cg_path(h, (enum cg_controller)c, rel);
		if (p && procs_nonempty(p))
			return true;
	}
	return false;
}

/* v1 cpuset groups need cpus/mems before a process may join them: guests stay in the root
 * cpuset, so no directory there. */
static bool
skip_hierarchy(const char *root)
{
	const char *base = strrchr(root, '/');
	return base && strstr(base, "cpuset") != NULL;
}

static int
mkdir_parents(const char *root, const char *rel, bool enable_v2_controllers)
{
	_cleanup_free_ char *cur = xstrdup(root);
	_cleanup_free_ char *copy = xstrdup(rel);
	char *save = NULL;
	for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (enable_v2_controllers) {
			/* the controllers a guest's group uses, delegated down the chain */
			_cleanup_free_ char *ctl = xasprintf("%s/cgroup.subtree_control", cur);
			static const char *const want[] = { "+cpu", "+memory", "+io", "+pids" };
			for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
				_cleanup_close_ int fd = open(ctl, O_WRONLY | O_CLOEXEC);
				if (fd >= 0 && write(fd, want[i], strlen(want[i])) < 0) {
					/* not available here: accounting without it */
				}
			}
		}
		char *next = xasprintf("%s/%s", cur, part);
		free(cur);
		cur = next;
		if (mkdir(cur, 0755) < 0 && errno != EEXIST)
			return negative_errno();
	}
	return 0;
}

int
cg_create(const struct cg_host *h, const char *rel, struct error *err)
{
	if (!rel_valid(rel))
		return error_set(err, EINVAL, "invalid cgroup name '%s'", rel);
	if (!h->mnt[0])
		return 0;
	char **roots = NULL;
	size_t n = hierarchy_roots(h, &roots);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (r >= 0 && !skip_hierarchy(roots[i])) {
			int q = mkdir_parents(roots[i], rel, h->layout == CG_UNIFIED);
			if (q < 0)
				r = error_errno(err, q, "unable to create cgroup %s/%s", roots[i],
				                rel);
		}
		free(roots[i]);
	}
	free(roots);
	return r;
}

int
cg_attach(const struct cg_host *h, const char *rel, pid_t pid, struct error *err)
{
	if (!rel_valid(rel))
		return error_set(err, EINVAL, "invalid cgroup name '%s'", rel);
	if (!h->mnt[0])
		return 0;
	char **roots = NULL;
	size_t n = hierarchy_roots(h, &roots);
	int r = 0;
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d", (int)(pid ? pid : getpid()));
	for (size_t i = 0; i < n; i++) {
		if (r >= 0 && !skip_hierarchy(roots[i])) {
			_cleanup_free_ char *p = xasprintf("%s/%s/cgroup.procs", roots[i], rel);
			_cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, buf, (size_t)len) < 0)
				r = error_errno(err, negative_errno(), "unable to join cgroup %s",
				                p);
		}
		free(roots[i]);
	}
	free(roots);
	return r;
}

/* ---- favordynmods ---- */

static const struct {
	const char *name;
	unsigned long flag;
} mount_flags[] = {
	{ "ro", MS_RDONLY },
	{ "nosuid", MS_NOSUID },
	{ "nodev", MS_NODEV },
	{ "noexec", MS_NOEXEC },
	{ "relatime", MS_RELATIME },
	{ "noatime", MS_NOATIME },
	{ "nodiratime", MS_NODIRATIME },
	{ "strictatime", MS_STRICTATIME },
};

int
cg_dynmods_remount(const char *mountinfo, const char *path, unsigned long *ret_flags,
                   char **ret_data)
{
	_cleanup_free_ char *mi = xstrdup(mountinfo);
	_cleanup_free_ char *opts = NULL, *super = NULL;
	for (char *save = NULL, *l = strtok_r(mi, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *mp;
		const char *o, *fstype, *so;
		if (!parse_mountinfo_opts(l, &mp, &o, &fstype, &so) || !streq(mp, path))
			continue;
		/* the last mount on the point is the one in use */
		free(opts);
		free(super);
		opts = streq(fstype, "cgroup2") ? xstrdup(o) : NULL;
		super = opts ? xstrdup(so) : NULL;
	}
	if (!opts || has_token(super, ",", "favordynmods"))
		return 0;
	unsigned long flags = MS_REMOUNT;
	for (char *save = NULL, *t = strtok_r(opts, ",", &save); t; t = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < ARRAY_SIZE(mount_flags); i++)
			if (streq(t, mount_flags[i].name))
				flags |= mount_flags[i].flag;
	/* cgroup2 takes its options anew on a remount: the ones it has, and ours */
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	for (char *save = NULL, *t = strtok_r(super, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!streq(t, "rw") && !streq(t, "ro"))
			sb_printf(&sb, "%s,", t);
	sb_printf(&sb, "favordynmods");
	*ret_flags = flags;
	*ret_data = xstrdup(sb_str(&sb));
	return 1;
}

int
cg_favor_dynmods(const struct cg_host *h, struct error *err)
{
	if (h->layout == CG_LEGACY || !h->mnt[0])
		return 0;
	_cleanup_free_ char *path =
	        h->layout == CG_UNIFIED ? xstrdup(h->mnt) : xasprintf("%s/unified", h->mnt);
	_cleanup_free_ char *mi = NULL;
	int r = read_file("/proc/self/mountinfo", 4u << 20, &mi, NULL);
	if (r < 0)
		return error_errno(err, r, "unable to read /proc/self/mountinfo");
	unsigned long flags = 0;
	_cleanup_free_ char *data = NULL;
	if (cg_dynmods_remount(mi, path, &flags, &data) == 0)
		return 0;
	if (mount(NULL, path, NULL, flags, data) < 0)
		return error_errno(err, negative_errno(), "unable to remount %s with %s", path,
		                   data);
	return 1;
}
