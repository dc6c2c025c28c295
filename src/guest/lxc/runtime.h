/* Running containers. Two sides:
 *  - control (ct_start, ct_stop, ...) calls liblxc and mounts volumes: task workers only,
 *    never the root daemon's process (liblxc forks and keeps process-global state);
 *  - observation (ct_running, ct_init_pid, ct_live) reads cgroups and /proc and is cheap:
 *    the daemon uses it for status, lists and /cluster/resources.
 * A container runs under liblxc's monitor, outside berthd's process tree, so it outlives the
 * daemon; its cgroup "lxc/<vmid>" says whether it runs. */
#pragma once

#include "basic/error.h"
#include "guest/cgroup.h"
#include "guest/lxc/ctconf.h"
#include "guest/lxc/lxcgen.h"

#include <sys/types.h>

struct storage_config;

typedef void (*ct_log_fn)(const char *line, void *userdata);

/* Start: write <lxcpath>/<vmid>/config, mount the rootfs and volume mount points in a mount
 * namespace private to this worker (the monitor inherits it, so the mounts live exactly as
 * long as the container and never show on the host), start under liblxc daemonized and wait
 * until it runs. On failure the tail of liblxc's log goes to log() and err says what failed. */
int ct_start(const struct ct_config *c, const struct ct_lxc_env *env,
             const struct storage_config *scfg, ct_log_fn log, void *userdata, struct error *err);
/* Hard stop (SIGKILL to init; a suspended CT is thawed first), then wait until the cgroup
 * is empty. */
int ct_stop(const struct ct_lxc_env *env, unsigned vmid, struct error *err);
/* Clean shutdown: the halt signal to init, wait up to timeout seconds; then, with force,
 * stop hard, else fail "shutdown timed out". */
int ct_shutdown(const struct ct_lxc_env *env, unsigned vmid, unsigned timeout, bool force,
                struct error *err);
int ct_freeze(const struct ct_lxc_env *env, unsigned vmid, bool freeze, struct error *err);
/* After the container stopped: remove the cgroups liblxc leaves behind and the generated
 * config's runtime files. Harmless when nothing is left. */
void ct_cleanup_stopped(const struct ct_lxc_env *env, unsigned vmid);

/* Change NIC `old` of running CT vmid (init pid) into `now` in place (nethotplug.c): a new
 * or renamed NIC, or one with a new MAC, is a new veth pair (the old one deleted); a bridge,
 * link_down or MTU change moves or sets the host end; static addresses and gateways are
 * replaced inside. old NULL: a NIC added; now NULL: removed. Tasks only (runs iproute2). */
int ct_net_hotplug(unsigned vmid, pid_t pid, const struct ct_net *old, const struct ct_net *now,
                   ct_log_fn log, void *userdata, struct error *err);
/* NIC n's rate= (0: none) on its host end veth<vmid>i<N> (nethotplug.c), as PVE's
 * tap_rate_limit; the log says when only the traffic to the CT could be limited. */
int ct_net_set_rate(unsigned vmid, const struct ct_net *n, ct_log_fn log, void *userdata,
                    struct error *err);

/* Mount point m (a volume or a bind mount) into running CT vmid, as PVE's
 * mountpoint_hotplug: mounted on its staging directory in the namespace of liblxc's monitor
 * (which pins it there until the CT stops: the CT may unmount its copy), cloned with
 * open_tree, made read-only for ro=1, and moved onto its target inside the CT's mount
 * namespace, the target created without following symlinks (owned by the CT's root). Tasks
 * only (forks, enters namespaces). */
int ct_mount_hotplug(const struct ct_lxc_env *env, const struct storage_config *scfg, unsigned vmid,
                     bool unprivileged, const struct ct_mount *m, struct error *err);

/* ---- observation (safe in the daemon) ---- */

bool ct_running(const struct cg_host *cg, unsigned vmid);
/* The container's init as seen from the host; 0 when not running. */
pid_t ct_init_pid(const struct cg_host *cg, unsigned vmid);
/* Frozen (suspended) according to the freezer. */
bool ct_frozen(const struct cg_host *cg, unsigned vmid);

struct ct_live {
	bool running;
	pid_t pid;
	uint64_t uptime; /* seconds since init started */
	uint64_t cpu_ns; /* total CPU time used */
	uint64_t mem, swap;
	uint64_t disk, maxdisk; /* rootfs usage, bytes (0 when not running) */
	uint64_t netin, netout; /* summed over the host side of the CT's veths */
	uint64_t diskread, diskwrite;
};
int ct_live(const struct cg_host *cg, const struct ct_config *c, struct ct_live *ret);
