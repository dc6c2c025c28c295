/* Host cgroups as guests see them (see cgroup.h). Layout detection reads mountinfo; the
 * limit items are a table per layout, so the config generator never asks which one. */
#include "guest/cgroup.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* the v1 hierarchy directory of each controller (cpu and cpuacct are usually co-mounted
 * as "cpu,cpuacct" with symlinks "cpu" and "cpuacct") */
static const char *const v1_names[_CG_CONTROLLER_MAX] = {
	[CG_CPU] = "cpu",         [CG_CPUACCT] = "cpuacct", [CG_CPUSET] = "cpuset",
	[CG_MEMORY] = "memory",   [CG_PIDS] = "pids",       [CG_BLKIO] = "blkio",
	[CG_DEVICES] = "devices", [CG_FREEZER] = "freezer",
};

/* cgroup2's controller names (cpuacct is part of cpu; devices and freezer are built in) */
static const char *const v2_names[_CG_CONTROLLER_MAX] = {
	[CG_CPU] = "cpu",   [CG_CPUACCT] = "cpu", [CG_CPUSET] = "cpuset", [CG_MEMORY] = "memory",
	[CG_PIDS] = "pids", [CG_BLKIO] = "io",    [CG_DEVICES] = NULL,    [CG_FREEZER] = NULL,
};

static bool
path_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

/* the mount point's "unified" sub-mount (hybrid) or the mount itself (unified) */
static char *
v2_root(const struct cg_host *h)
{
	if (h->layout == CG_UNIFIED)
		return xstrdup(h->mnt);
	if (h->layout == CG_HYBRID)
		return xasprintf("%s/unified", h->mnt);
	return NULL;
}

int
cg_detect_at(const char *proc_root, const char *mnt, struct cg_host *ret, struct error *err)
{
	struct cg_host h = { 0 };
	snprintf(h.mnt, sizeof(h.mnt), "%s", mnt);
	_cleanup_free_ char *mi_path = xasprintf("%s/self/mountinfo", proc_root);
	_cleanup_free_ char *mi = NULL;
	int r = read_file(mi_path, 4u << 20, &mi, NULL);
	if (r < 0)
		return error_errno(err, r, "unable to read '%s'", mi_path);

	bool v2_at_mnt = false, v2_at_unified = false, any_v1 = false;
	_cleanup_free_ char *unified = xasprintf("%s/unified", mnt);
	for (char *save = NULL, *l = strtok_r(mi, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		/* id parent major:minor root mountpoint options [optional...] - fstype source opts
		 */
		char mp[512], fstype[64], super[512];
		const char *sep = strstr(l, " - ");
		if (!sep || sscanf(l, "%*s %*s %*s %*s %511s", mp) != 1 ||
		    sscanf(sep + 3, "%63s %*s %511s", fstype, super) != 2)
			continue;
		if (streq(fstype, "cgroup2")) {
			if (streq(mp, mnt))
				v2_at_mnt = true;
			else if (streq(mp, unified))
				v2_at_unified = true;
		} else if (streq(fstype, "cgroup") && startswith(mp, mnt) &&
		           mp[strlen(mnt)] == '/') {
			any_v1 = true;
			const char *dir = mp + strlen(mnt) + 1;
			/* the super options name the controllers: rw,memory or rw,cpu,cpuacct */
			for (int c = 0; c < _CG_CONTROLLER_MAX; c++) {
				char opt[64];
				snprintf(opt, sizeof(opt), ",%s,", v1_names[c]);
				char opts[600];
				snprintf(opts, sizeof(opts), ",%s,", super);
				if (strstr(opts, opt)) {
					h.present[c] = true;
					h.v1[c] = true;
				}
			}
			(void)dir;
		}
	}
	if (v2_at_mnt)
		h.layout = CG_UNIFIED;
	else if (any_v1)
		h.layout = v2_at_unified ? CG_HYBRID : CG_LEGACY;
	else
		return error_set(err, ENOENT, "no cgroup file system mounted at '%s'", mnt);

	_cleanup_free_ char *root2 = v2_root(&h);
	if (root2) {
		_cleanup_free_ char *ctl_path = xasprintf("%s/cgroup.controllers", root2);
		_cleanup_free_ char *ctl = NULL;
		if (read_file(ctl_path, 1u << 16, &ctl, NULL) >= 0) {
			for (int c = 0; c < _CG_CONTROLLER_MAX; c++) {
				if (h.v1[c])
					continue;
				const char *name = v2_names[c];
				if (!name) {
					/* built into cgroup2 (device filter by BPF, cgroup.freeze)
					 */
					h.present[c] = h.layout == CG_UNIFIED;
					continue;
				}
				char word[64];
				snprintf(word, sizeof(word), " %s ", name);
				_cleanup_free_ char *padded = xasprintf(" %s ", ctl);
				for (char *p = padded; *p; p++)
					if (*p == '\n')
						*p = ' ';
				if (strstr(padded, word))
					h.present[c] = true;
			}
		}
	}
	/* swap accounting */
	if (h.present[CG_MEMORY]) {
		_cleanup_free_ char *p =
		        h.v1[CG_MEMORY] ? xasprintf("%s/memory/memory.memsw.limit_in_bytes", mnt)
		                        : NULL;
		if (p)
			h.swap_accounting = path_exists(p);
		else {
			/* the root cgroup has no memory.swap.max: look one level down */
			_cleanup_free_ char *r2 = v2_root(&h);
			_cleanup_free_ char *sys = xasprintf("%s/init.scope/memory.swap.max", r2);
			_cleanup_free_ char *any = xasprintf("%s/cgroup.subtree_control", r2);
			_cleanup_free_ char *sub = NULL;
			h.swap_accounting =
			        path_exists(sys) || (read_file(any, 1u << 16, &sub, NULL) >= 0 &&
			                             strstr(sub, "memory") != NULL);
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
	if (!h->present[c])
		return NULL;
	if (h->v1[c])
		return xasprintf("%s/%s/%s", h->mnt, v1_names[c], rel);
	_cleanup_free_ char *root2 = v2_root(h);
	return root2 ? xasprintf("%s/%s", root2, rel) : NULL;
}

void
cg_limit_items(const struct cg_host *h, uint64_t memory_mib, uint64_t swap_mib, double cpulimit,
               unsigned cpuunits, const char *cpuset, cg_item_fn fn, void *userdata)
{
	char v[64];
	if (h->present[CG_MEMORY] && memory_mib) {
		uint64_t mem = memory_mib << 20;
		if (h->v1[CG_MEMORY]) {
			snprintf(v, sizeof(v), "%llu", (unsigned long long)mem);
			fn("lxc.cgroup.memory.limit_in_bytes", v, userdata);
			if (h->swap_accounting) {
				snprintf(v, sizeof(v), "%llu",
				         (unsigned long long)(mem + (swap_mib << 20)));
				fn("lxc.cgroup.memory.memsw.limit_in_bytes", v, userdata);
			}
		} else {
			snprintf(v, sizeof(v), "%llu", (unsigned long long)mem);
			fn("lxc.cgroup2.memory.max", v, userdata);
			if (h->swap_accounting) {
				snprintf(v, sizeof(v), "%llu",
				         (unsigned long long)(swap_mib << 20));
				fn("lxc.cgroup2.memory.swap.max", v, userdata);
			}
		}
	}
	if (h->present[CG_CPU] && cpulimit > 0) {
		unsigned long long quota = (unsigned long long)(cpulimit * 100000 + 0.5);
		if (h->v1[CG_CPU]) {
			fn("lxc.cgroup.cpu.cfs_period_us", "100000", userdata);
			snprintf(v, sizeof(v), "%llu", quota);
			fn("lxc.cgroup.cpu.cfs_quota_us", v, userdata);
		} else {
			snprintf(v, sizeof(v), "%llu 100000", quota);
			fn("lxc.cgroup2.cpu.max", v, userdata);
		}
	}
	if (h->present[CG_CPU] && cpuunits) {
		if (h->v1[CG_CPU]) {
			/* cpu.shares: 2..262144 */
			unsigned s = cpuunits < 2 ? 2 : cpuunits > 262144 ? 262144 : cpuunits;
			snprintf(v, sizeof(v), "%u", s);
			fn("lxc.cgroup.cpu.shares", v, userdata);
		} else {
			/* cpu.weight: 1..10000; PVE passes cpuunits through on cgroup2 */
			unsigned w = cpuunits < 1 ? 1 : cpuunits > 10000 ? 10000 : cpuunits;
			snprintf(v, sizeof(v), "%u", w);
			fn("lxc.cgroup2.cpu.weight", v, userdata);
		}
	}
	if (h->present[CG_CPUSET] && cpuset)
		fn(h->v1[CG_CPUSET] ? "lxc.cgroup.cpuset.cpus" : "lxc.cgroup2.cpuset.cpus", cpuset,
		   userdata);
}

static uint64_t
file_u64(const char *dir, const char *name, bool *ok)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
	_cleanup_free_ char *text = NULL;
	if (read_file(p, 1u << 16, &text, NULL) < 0) {
		if (ok)
			*ok = false;
		return 0;
	}
	if (ok)
		*ok = true;
	if (startswith(text, "max"))
		return 0;
	return strtoull(text, NULL, 10);
}

/* "key value" lines: the value of key, 0 when absent */
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
		if (strncmp(l, key, klen) == 0 && l[klen] == ' ')
			return strtoull(l + klen + 1, NULL, 10);
	return 0;
}

int
cg_read_stats(const struct cg_host *h, const char *rel, struct cg_stats *ret)
{
	struct cg_stats s = { 0 };
	_cleanup_free_ char *mem = cg_path(h, CG_MEMORY, rel);
	bool ok = false;
	if (mem) {
		if (h->v1[CG_MEMORY]) {
			uint64_t usage = file_u64(mem, "memory.usage_in_bytes", &ok);
			if (!ok)
				return -ENOENT;
			uint64_t cache = keyed_u64(mem, "memory.stat", "total_cache");
			s.mem_bytes = usage > cache ? usage - cache : usage;
			s.mem_limit = file_u64(mem, "memory.limit_in_bytes", NULL);
			if (s.mem_limit >= (1ull << 62))
				s.mem_limit = 0;
			uint64_t memsw = file_u64(mem, "memory.memsw.usage_in_bytes", NULL);
			s.swap_bytes = memsw > usage ? memsw - usage : 0;
		} else {
			uint64_t usage = file_u64(mem, "memory.current", &ok);
			if (!ok)
				return -ENOENT;
			uint64_t file = keyed_u64(mem, "memory.stat", "file");
			s.mem_bytes = usage > file ? usage - file : usage;
			s.mem_limit = file_u64(mem, "memory.max", NULL);
			s.swap_bytes = file_u64(mem, "memory.swap.current", NULL);
			s.swap_limit = file_u64(mem, "memory.swap.max", NULL);
		}
	}
	_cleanup_free_ char *cpu = cg_path(h, CG_CPUACCT, rel);
	if (cpu) {
		if (h->v1[CG_CPUACCT])
			s.cpu_usage_ns = file_u64(cpu, "cpuacct.usage", NULL);
		else
			s.cpu_usage_ns = keyed_u64(cpu, "cpu.stat", "usage_usec") * 1000;
	}
	_cleanup_free_ char *pids = cg_path(h, CG_PIDS, rel);
	if (pids)
		s.pids = (uint32_t)file_u64(pids, "pids.current", NULL);
	_cleanup_free_ char *blk = cg_path(h, CG_BLKIO, rel);
	if (blk && h->v1[CG_BLKIO]) {
		_cleanup_free_ char *p =
		        xasprintf("%s/blkio.throttle.io_service_bytes_recursive", blk);
		_cleanup_free_ char *text = NULL;
		if (read_file(p, 1u << 20, &text, NULL) >= 0)
			for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
			     l = strtok_r(NULL, "\n", &save)) {
				char dev[32], op[16];
				unsigned long long n;
				if (sscanf(l, "%31s %15s %llu", dev, op, &n) != 3)
					continue;
				if (streq(op, "Read"))
					s.blk_read_bytes += n;
				else if (streq(op, "Write"))
					s.blk_write_bytes += n;
			}
	} else if (blk) {
		_cleanup_free_ char *p = xasprintf("%s/io.stat", blk);
		_cleanup_free_ char *text = NULL;
		if (read_file(p, 1u << 20, &text, NULL) >= 0)
			for (char *t = text; (t = strstr(t, "rbytes=")); t++) {
				s.blk_read_bytes += strtoull(t + 7, NULL, 10);
				char *w = strstr(t, "wbytes=");
				if (w)
					s.blk_write_bytes += strtoull(w + 7, NULL, 10);
			}
	}
	*ret = s;
	return 0;
}

/* rmdir dir's subdirectories (deepest first), then dir; -EBUSY if any stayed */
static int
remove_tree(const char *dir)
{
	int r = 0;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
		int q = remove_tree(sub);
		if (q < 0)
			r = q;
	}
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT)
		r = errno == EBUSY || errno == ENOTEMPTY ? -EBUSY : -errno;
	return r;
}

int
cg_remove(const struct cg_host *h, const char *rel)
{
	int r = 0;
	/* every hierarchy once: v1 controllers (cpu and cpuacct may share one) and cgroup2 */
	char *done[_CG_CONTROLLER_MAX + 1] = { 0 };
	size_t n_done = 0;
	for (int c = 0; c <= _CG_CONTROLLER_MAX; c++) {
		_cleanup_free_ char *p = NULL;
		if (c == _CG_CONTROLLER_MAX) {
			_cleanup_free_ char *root2 = v2_root(h);
			p = root2 ? xasprintf("%s/%s", root2, rel) : NULL;
		} else if (h->v1[c]) {
			p = cg_path(h, (enum cg_controller)c, rel);
		}
		if (!p)
			continue;
		_cleanup_free_ char *real = realpath(p, NULL);
		if (!real)
			continue;
		bool seen = false;
		for (size_t i = 0; i < n_done; i++)
			seen |= streq(done[i], real);
		if (seen)
			continue;
		done[n_done++] = xstrdup(real);
		int q = remove_tree(real);
		if (q < 0)
			r = q;
	}
	for (size_t i = 0; i < n_done; i++)
		free(done[i]);
	return r;
}

static bool
procs_nonempty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
	_cleanup_free_ char *text = NULL;
	if (read_file(procs, 1u << 20, &text, NULL) >= 0 && text[0])
		found = true;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
		found = procs_nonempty(sub);
	}
	closedir(d);
	return found;
}

bool
cg_populated(const struct cg_host *h, const char *rel)
{
	/* cgroup2 says it directly; v1: look for processes in the tree of one hierarchy that
	 * every process joins (pids, else memory, else cpuacct) */
	_cleanup_free_ char *root2 = v2_root(h);
	if (h->layout == CG_UNIFIED) {
		_cleanup_free_ char *p = xasprintf("%s/%s/cgroup.events", root2, rel);
		_cleanup_free_ char *text = NULL;
		if (read_file(p, 1u << 16, &text, NULL) < 0)
			return false;
		return strstr(text, "populated 1") != NULL;
	}
	static const enum cg_controller order[] = { CG_PIDS, CG_MEMORY, CG_CPUACCT, CG_CPU };
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		if (!h->v1[order[i]])
			continue;
		_cleanup_free_ char *p = cg_path(h, order[i], rel);
		return p && procs_nonempty(p);
	}
	return false;
}
