/* Host cgroups as guests see them: which layout this host has (cgroup2 only, or v1
 * controllers with a cgroup2 mount beside them — "hybrid", as on this machine), where a
 * guest's cgroup lives in each hierarchy, reading its usage, and removing the empty
 * directories a stopped guest leaves behind. Detected once; pure helpers for the parts
 * that only need the detected layout (config generation, golden tests). */
#pragma once

#include "basic/error.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum cg_layout {
	CG_UNIFIED, /* pure cgroup2 at the mount point (Debian 12, Proxmox VE 8) */
	CG_HYBRID,  /* v1 controllers under <mnt>/<controller>, cgroup2 at <mnt>/unified */
	CG_LEGACY,  /* v1 only */
};

/* Resource controllers guests use. */
enum cg_controller {
	CG_CPU,     /* cpu.max | cpu.cfs_quota_us+cpu.cfs_period_us, cpu.weight | cpu.shares */
	CG_CPUACCT, /* usage: cpu.stat usage_usec | cpuacct.usage */
	CG_CPUSET,
	CG_MEMORY, /* memory.max/current | memory.limit_in_bytes/usage_in_bytes */
	CG_PIDS,
	CG_BLKIO,
	CG_DEVICES,
	CG_FREEZER,
	_CG_CONTROLLER_MAX,
};

struct cg_host {
	enum cg_layout layout;
	char mnt[64]; /* "/sys/fs/cgroup" */
	/* per controller: true when that controller sits on a v1 hierarchy (its files and the
	 * lxc.cgroup.* keys), false when on cgroup2 (lxc.cgroup2.*); unavailable ones are
	 * marked absent */
	bool v1[_CG_CONTROLLER_MAX];
	bool present[_CG_CONTROLLER_MAX];
	bool swap_accounting; /* memory.memsw.* (v1) or memory.swap.max (v2) exist */
};

/* Detect from /proc/self/mountinfo and /proc/cgroups (or the given root for tests:
 * proc_root "/proc", mnt "/sys/fs/cgroup"). */
int cg_detect(struct cg_host *ret, struct error *err);
int cg_detect_at(const char *proc_root, const char *mnt, struct cg_host *ret, struct error *err);

/* Absolute directory of cgroup `rel` ("lxc/101", no leading '/') for a controller:
 * "<mnt>/<controller>/<rel>" (v1) or "<mnt>/<rel>" / "<mnt>/unified/<rel>" (v2).
 * Caller frees; NULL when the controller is absent. */
char *cg_path(const struct cg_host *h, enum cg_controller c, const char *rel);

/* Limits written as (key, value) pairs for liblxc: "lxc.cgroup.memory.limit_in_bytes" or
 * "lxc.cgroup2.memory.max", etc. Pure over the layout. Each setter appends 0..n items to
 * the caller's callback; values as the kernel wants them.
 *   memory_mib: memory limit; swap_mib: extra swap (v1: memsw = memory+swap when swap
 *   accounting exists, else nothing; v2: memory.swap.max = swap);
 *   cpulimit: 0 = unlimited, else fraction of CPUs (1.5) -> quota/period 100000;
 *   cpuunits: PVE semantics (v1 cpu.shares default 1024; v2 cpu.weight default 100, PVE
 *   maps cpuunits to weight directly on cgroup2 and clamps 1..10000);
 *   cpuset: "0-1" or NULL. */
typedef void (*cg_item_fn)(const char *key, const char *value, void *userdata);
void cg_limit_items(const struct cg_host *h, uint64_t memory_mib, uint64_t swap_mib,
                    double cpulimit, unsigned cpuunits, const char *cpuset, cg_item_fn fn,
                    void *userdata);

struct cg_stats {
	uint64_t cpu_usage_ns; /* total CPU time used */
	uint64_t mem_bytes;    /* memory in use without page cache (as PVE: usage - cache) */
	uint64_t mem_limit;    /* 0 = unlimited */
	uint64_t swap_bytes;
	uint64_t swap_limit;
	uint64_t blk_read_bytes, blk_write_bytes; /* 0 when not accounted */
	uint32_t pids;
};

/* Change the limits of the running guest in cgroup rel ("lxc/101") to these values, as
 * cg_limit_items would set them at start; an unset cpulimit (0) or cpuunits (0) resets the
 * kernel's default (no quota; shares 1024 / weight 100), as PVE's hotplug does. memory_mib 0
 * leaves the memory (and swap) files alone: VMs get CPU limits only, as Proxmox gives its VM
 * scopes no memory limit. Writes that the kernel refuses because of their order (v1:
 * memory.limit_in_bytes above memory.memsw.limit_in_bytes) are retried after the others.
 * -ENOENT when the cgroup is gone (guest stopped); err names the file that could not be
 * written. */
int cg_apply_limits(const struct cg_host *h, const char *rel, uint64_t memory_mib,
                    uint64_t swap_mib, double cpulimit, unsigned cpuunits, struct error *err);

/* Create cgroup rel (and its parents) in every hierarchy but a v1 cpuset (guests stay in the
 * root cpuset there); on pure cgroup2 the cpu, memory, io and pids controllers are enabled
 * down the chain where the kernel allows. Existing directories are fine. */
int cg_create(const struct cg_host *h, const char *rel, struct error *err);
/* Move process pid (0: the caller) into cgroup rel in every hierarchy cg_create made it. */
int cg_attach(const struct cg_host *h, const char *rel, pid_t pid, struct error *err);

/* Read the stats of cgroup rel; -ENOENT when the cgroup does not exist (guest stopped). */
int cg_read_stats(const struct cg_host *h, const char *rel, struct cg_stats *ret);

/* Remove the directories of cgroup rel in every hierarchy, deepest first, if they are empty
 * (no processes); children of rel too. Leaves non-empty ones and reports -EBUSY. Used after
 * a guest stops (liblxc leaves the monitor cgroup behind). */
int cg_remove(const struct cg_host *h, const char *rel);

/* Is there any process in cgroup rel (any hierarchy)? */
bool cg_populated(const struct cg_host *h, const char *rel);

/* favordynmods on the cgroup2 mount (kernel 6.0+): moving a process into a cgroup (every
 * guest start) otherwise waits for an RCU grace period of the global threadgroup lock,
 * measured 21 ms here; with it 0.2 ms, for slightly dearer forks and exits. The pure part:
 * from mountinfo text, whether the cgroup2 mount at path lacks it (1, with the mount(2)
 * flags and data that add it and keep everything else) or not (0: has it, or no cgroup2
 * mount there). */
int cg_dynmods_remount(const char *mountinfo, const char *path, unsigned long *ret_flags,
                       char **ret_data);
/* Remount this host's cgroup2 mount with favordynmods: 1 done, 0 nothing to do, or -errno
 * (an older kernel refuses the option: EINVAL). */
int cg_favor_dynmods(const struct cg_host *h, struct error *err);
