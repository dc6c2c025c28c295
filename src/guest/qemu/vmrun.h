/* Running VMs. Two sides, as for containers (guest/lxc/runtime.h):
 *  - control (vm_start, vm_stop, vm_shutdown, vm_qmp) forks QEMU and talks QMP: task workers
 *    only, never the root daemon's event loop;
 *  - observation (vm_pid, vm_live) reads the pidfile, /proc, the cgroup and sysfs, and (only
 *    when asked) a short QMP query on the VM's second monitor socket: the daemon uses it for
 *    status, lists and /cluster/resources.
 * QEMU runs detached from berthd (own session, its stdio on <run>/<vmid>.log), so it outlives
 * the daemon; its pidfile plus /proc/<pid>/cmdline say whether it runs (Proxmox's
 * check_running). */
#pragma once

#include "basic/error.h"
#include "guest/cgroup.h"
#include "guest/qemu/qemuargs.h"
#include "guest/qemu/vmconf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef void (*vm_log_fn)(const char *line, void *userdata);

/* What the driver needs of the host: the command-line facts (binary, run_dir, kvm, firmware,
 * volume resolver) and the cgroup layout. */
struct vm_host {
	const struct qemu_env *q;
	const struct cg_host *cg;
	int qmp_timeout_ms; /* per QMP command; 0: 10 s */
};

/* The VM's cgroup, relative to each hierarchy's root: "qemu.slice/<vmid>.scope" (the name
 * systemd gives Proxmox's VMs). */
char *vm_cgroup_rel(unsigned vmid);

/* Start VM c:
 *  - refuse when it runs (-EEXIST, "VM <vmid> already running");
 *  - create the run directory (0700) and remove stale sockets/pidfile of an earlier run;
 *  - for bios=ovmf without efidisk0, copy the vars template to <run>/<vmid>.efivars once;
 *  - build the argv (qemu_argv) with -S, create the cgroup with the CPU limits
 *    (cpulimit, cpuunits) and accounting, fork, setsid, join the cgroup, stdio to
 *    <run>/<vmid>.log, exec QEMU;
 *  - wait for QMP (bounded; if QEMU exits first, the tail of its log goes to log() and err
 *    carries its last line), join each tap to its bridge with the NIC's mtu and bring it up,
 *    set_link for link_down NICs, then `cont`.
 * On any failure after the fork QEMU is killed and the cgroup removed: nothing is left
 * running. *ret_pid (may be NULL) gets QEMU's pid. */
int vm_start(const struct vm_host *h, const struct vm_config *c, vm_log_fn log, void *userdata,
             pid_t *ret_pid, struct error *err);

/* Hard stop as Proxmox's vm_stop: QMP `quit`, wait up to timeout_s for QEMU to exit, then
 * SIGTERM, then SIGKILL; then vm_cleanup_stopped. A VM that is not running is 0. */
int vm_stop(const struct vm_host *h, unsigned vmid, unsigned timeout_s, struct error *err);

/* Clean shutdown: ACPI `system_powerdown`, wait up to timeout_s for QEMU to exit (the guest
 * powered off; QEMU runs without -no-shutdown so it exits then). On timeout: with force
 * vm_stop, else -ETIMEDOUT "VM quit/powerdown failed - got timeout". A paused VM is resumed
 * first (it cannot react otherwise). */
int vm_shutdown(const struct vm_host *h, unsigned vmid, unsigned timeout_s, bool force,
                struct error *err);

/* One QMP command on the VM's control socket (connect, run, close): "stop", "cont",
 * "system_reset", "block_resize", "screendump", ... *ret (may be NULL) gets the return
 * value. Not running: -ESRCH "VM <vmid> not running". A QMP error: -EIO with PVE's
 * "VM <vmid> qmp command '<cmd>' failed - <desc>". */
int vm_qmp(const struct vm_host *h, unsigned vmid, const char *command, json_t *args, json_t **ret,
           struct error *err);

/* The building blocks of vm_qmp, for a worker that sends several commands on one connection
 * (hot-plug): connect to the VM's control socket (bounded by qmp_timeout_ms; `command` only
 * names the first command in the error text), and run one command with PVE's error texts.
 * timeout_ms <= 0: qmp_timeout_ms (10 s when 0). */
struct qmp;
int vm_qmp_open(const struct vm_host *h, unsigned vmid, const char *command, struct qmp **ret,
                struct error *err);
int vm_qmp_run(struct qmp *q, unsigned vmid, const char *command, json_t *args, int timeout_ms,
               json_t **ret, struct error *err);

/* PVE's tap_plug for NIC n's tap (which QEMU created): the NIC's MTU (else the bridge's), into
 * n->bridge, up. Checks the bridge exists (and refuses VLAN tags this host cannot do). */
int vm_tap_plug(const struct vm_host *h, unsigned vmid, const struct vm_net *n, vm_log_fn log,
                void *userdata, struct error *err);
/* Take NIC index's tap out of whatever bridge it is in (none: 0). */
int vm_tap_unplug(unsigned vmid, unsigned index, struct error *err);

/* After QEMU exited: remove its cgroup, pidfile and sockets (its taps went with it: QEMU
 * created them without persistence). Harmless when nothing is left. */
void vm_cleanup_stopped(const struct vm_host *h, unsigned vmid);

/* ---- observation (safe in the daemon) ---- */

/* QEMU's pid when VM vmid runs (pidfile names a live process whose cmdline carries that
 * pidfile's path), else 0. */
pid_t vm_pid(const struct qemu_env *q, unsigned vmid);

/* The VM's screen as a PNG file at path (QMP screendump on the second monitor <vmid>.mon,
 * bounded to a few seconds; QEMU writes the file). Safe in the daemon's thread pool. */
int vm_screendump(const struct vm_host *h, unsigned vmid, const char *path, struct error *err);

struct vm_live {
	bool running;
	pid_t pid;
	uint64_t uptime;              /* seconds since QEMU started */
	uint64_t cpu_ns;              /* CPU time of the cgroup (QEMU's own when no cgroup) */
	uint64_t mem;                 /* bytes: the cgroup's memory without page cache, or RSS */
	uint64_t netin, netout;       /* from the guest's view: netin = bytes the taps sent to it */
	uint64_t diskread, diskwrite; /* query-blockstats when with_qmp, else the cgroup's io */
	/* with_qmp only; empty/0 when the query failed */
	char qmpstatus[24]; /* "running", "paused", "prelaunch", "shutdown", ... */
	uint64_t balloon;   /* bytes, query-balloon "actual" */
	bool qmp_ok;
};

/* Live figures of VM c. with_qmp: also ask QEMU (query-status, query-balloon,
 * query-blockstats) on the second monitor socket <run>/<vmid>.mon, bounded by qmp_timeout_ms
 * (a hung QEMU costs the caller at most that); the list routes pass false. */
int vm_live(const struct vm_host *h, const struct vm_config *c, bool with_qmp, struct vm_live *ret);
