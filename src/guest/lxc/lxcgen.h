/* A container's config → liblxc's config (the file liblxc reads from <lxcpath>/<vmid>/config).
 * Pure: the CT config and the host facts in, "key = value" lines out; golden-file tests in
 * tests/golden/lxc/. */
#pragma once

#include "basic/error.h"
#include "guest/cgroup.h"
#include "guest/lxc/ctconf.h"

struct ct_lxc_env {
	const char *lxcpath;      /* "<root>/lxc" */
	const char *lxc_share;    /* "/usr/share/lxc" (seccomp profile, nesting.conf) */
	const struct cg_host *cg; /* cgroup layout: which lxc.cgroup(2).* keys */
	unsigned host_cpus;       /* for cores → cpuset */
	uint32_t idmap_base;      /* 100000 */
	uint32_t idmap_count;     /* 65536 */
	/* berthd-lxc-start (the start helper whose fork becomes liblxc's monitor); NULL: start
	 * from this process */
	const char *start_helper;
	/* the host confines containers with AppArmor (enabled, apparmor_parser installed): the
	 * config asks liblxc for a generated profile, as PVE's make_apparmor_config */
	bool apparmor;
};

/* Where the start worker mounts things (in the monitor's private mount namespace), so the
 * generated config and the worker agree: <lxcpath>/<vmid>/rootfs, and each volume mount point
 * at <lxcpath>/<vmid>/mnt/<key>. Caller frees. */
char *ct_rootfs_dir(const char *lxcpath, unsigned vmid);
char *ct_mount_staging_dir(const char *lxcpath, unsigned vmid, const char *key);

/* The seccomp policy of a CT, written by the start worker to ct_seccomp_path(): the
 * distribution's common.seccomp rules (no kernel modules, kexec, open_by_handle_at or forced
 * umount), and for unprivileged CTs Proxmox's extra rules (make_seccomp_config): keyctl fails
 * with ENOSYS unless the keyctl feature is on (the kernel keyring is not namespaced; systemd
 * falls back cleanly), btrfs ioctls with EPERM, AF_ALG sockets with EAFNOSUPPORT. Caller
 * frees. */
char *ct_seccomp_policy(const struct ct_config *c);
char *ct_seccomp_path(const char *lxcpath, unsigned vmid); /* <lxcpath>/<vmid>/rules.seccomp */

/* The config text. -EINVAL (400) for values liblxc would misread (control characters). */
int ct_lxc_config(const struct ct_config *c, const struct ct_lxc_env *env, char **ret,
                  struct error *err);

/* Host-side name of a CT NIC's veth: "veth<vmid>i<index>" as Proxmox (at most 15 bytes). */
void ct_veth_name(unsigned vmid, unsigned index, char buf[static 16]);
