/* A VM's config → QEMU's command line, as Proxmox's config_to_command builds it where that
 * makes sense for an upstream QEMU (docs/vms.md, "Command line"). Pure: the typed config and
 * the host facts in `env` in, an argv out; no filesystem, clock or randomness. Golden-file
 * tests in tests/golden/qemu/. */
#pragma once

#include "basic/error.h"
#include "guest/qemu/vmconf.h"

#include <stdbool.h>
#include <stdint.h>

/* A resolved volume: where it is on the host and its image format ("raw", "qcow2", ...). */
struct qemu_volume {
	char *path;   /* caller of the resolver frees */
	char *format; /* caller of the resolver frees */
	/* the storage cannot take O_DIRECT safely (btrfs without nocow, as Proxmox): no
	 * cache=none by default */
	bool no_direct_io;
};

/* Resolve a volume id ("local:100/vm-100-disk-0.qcow2") or, for drives given as absolute
 * paths, the path itself (the resolver decides whether a path is allowed and its format;
 * format may stay NULL for a path, then the drive's format= or raw is used). */
typedef int (*qemu_resolve_fn)(const char *volid, struct qemu_volume *ret, void *userdata,
                               struct error *err);
/* The MTU of a host bridge, for "mtu=1" (use the bridge's) and the upper bound of mtu=. 0 when
 * unknown. */
typedef unsigned (*qemu_bridge_mtu_fn)(const char *bridge, void *userdata);

/* One set of OVMF firmware files. */
struct qemu_ovmf {
	const char *code;         /* without Secure Boot; NULL: this type is not available */
	const char *code_secboot; /* Secure Boot build (needs SMM, i.e. q35); NULL: none */
	uint64_t vars_size;       /* bytes of the matching vars template (raw efidisks) */
	const char *vars;         /* the vars template the start worker copies; NULL: none */
};

struct qemu_env {
	const char *binary;  /* "/usr/bin/qemu-system-x86_64" */
	const char *run_dir; /* "<run>/qemu": <vmid>.qmp, .mon, .pid, .log, .vnc, ... */
	bool kvm;            /* the node uses KVM (else TCG for every VM) */
	bool vhost_net;      /* /dev/vhost-net is usable */
	unsigned host_cpus;
	const char *aio_default; /* "io_uring" where the kernel allows it, else "threads" */
	bool vnc_password;       /* -vnc ...,password=on (the console sets one over QMP) */
	struct qemu_ovmf ovmf_4m, ovmf_2m;
	qemu_resolve_fn resolve;
	qemu_bridge_mtu_fn bridge_mtu; /* may be NULL */
	void *userdata;
};

/* The argv (NULL-terminated; free with strv_free) for starting VM c. Errors (-EINVAL, 400
 * unless the resolver says otherwise) for what QEMU could not run or Berth does not support
 * (SPICE, custom CPU models, CPU/memory hotplug, more vCPUs than host CPUs, ...), and for any
 * value that would reach a comma-separated option carrying ',' or a control character. */
int qemu_argv(const struct vm_config *c, const struct qemu_env *env, char ***ret_argv,
              struct error *err);

/* Host-side paths of a VM's sockets and files under env->run_dir; caller frees.
 * what: "qmp", "mon" (the daemon's monitor), "pid", "log" (QEMU's stdout/stderr), "vnc",
 * "qga", "serial0".."serial3", "efivars". */
char *qemu_run_path(const struct qemu_env *env, unsigned vmid, const char *what);

/* Host-side name of a VM NIC's tap device: "tap<vmid>i<index>" as Proxmox (at most 15 bytes);
 * -EINVAL when it would not fit. */
int qemu_tap_name(unsigned vmid, unsigned index, char buf[static 16]);

/* Reading an argv back, for hot-plug: a device plugged into a running VM gets exactly the
 * options a start would give it. */

/* Split a comma-separated option string (",," is a literal comma) into its items, commas
 * decoded: "virtio-blk-pci,drive=drive-virtio1,id=virtio1" → {"virtio-blk-pci",
 * "drive=drive-virtio1", "id=virtio1"}. Free with strv_free. */
char **qemu_opts_split(const char *opts);
/* The value of key in an option string (decoded; caller frees), NULL when absent. */
char *qemu_opts_get(const char *opts, const char *key);
/* The option string following `flag` ("-drive", "-device", "-netdev", "-object") in argv
 * whose id= is `id`; borrowed from argv, NULL when there is none. */
const char *qemu_argv_find(char *const *argv, const char *flag, const char *id);
