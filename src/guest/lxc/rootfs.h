/* A container's root filesystem from the host's side: filling it from a template tarball and
 * writing the files the CT config decides (hostname, hosts, root password, SSH keys, network
 * config). Runs in task workers as root. Everything inside the rootfs is reached fd-relative
 * and never through a symlink that leads out of it (the rootfs is hostile: a template or a
 * user inside the CT may have planted links). */
#pragma once

#include "basic/error.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* How ids inside the CT map to the host: unprivileged CTs map 0..count-1 to base..; a
 * privileged CT has count == 0 (identity). */
struct ct_idmap {
	uid_t uid_base;
	gid_t gid_base;
	uint32_t count; /* 65536 for unprivileged CTs, 0 for privileged */
};

/* Extract a template (.tar, .tar.gz, .tar.xz, .tar.zst: compression chosen from the name,
 * decompressed by this process or a decompressor it runs, never by tar's auto-detection)
 * into dest, an existing empty directory that is the CT's root (a mounted volume).
 * For an unprivileged map, dest is chowned to the mapped root first and tar runs inside a
 * new user namespace with the map, so every file is owned by mapped ids and nothing outside
 * dest can be written even through hostile member names. Members under ./dev/ are skipped;
 * absolute names and names with ".." never land outside dest; device nodes are not created
 * for unprivileged CTs (one outside ./dev/ fails the extraction, as in PVE). Writes are also
 * confined to dest with Landlock where the kernel has it. tar goes on past bad members and
 * fails at the end: on error the caller discards dest. `log` (may be NULL) receives
 * progress/warning lines (tar's and the decompressor's stderr).
 * Errors: -EINVAL unknown extension; -ENOENT archive missing; -EIO tar or the decompressor
 * failed ("extracting archive failed: <detail>"). */
int ct_extract_template(const char *archive, const char *dest, const struct ct_idmap *map,
                        void (*log)(const char *line, void *userdata), void *userdata,
                        struct error *err);

/* The OS of a rootfs as PVE's ostype: "debian", "ubuntu", "alpine", "centos", "fedora",
 * "archlinux", "opensuse", "devuan", "gentoo", "nixos", or "unmanaged" when none is
 * recognised (a busybox rootfs). Reads files like etc/os-release, etc/debian_version,
 * etc/alpine-release fd-relative. *ret is a static string. */
int ct_detect_ostype(const char *rootdir, const char **ret, struct error *err);

struct ct_net_setup {
	const char *name; /* eth0 */
	const char *ip;   /* NULL, "dhcp", "manual" or CIDR */
	const char *gw;
	const char *ip6; /* NULL, "auto", "dhcp", "manual" or CIDR */
	const char *gw6;
	unsigned mtu; /* 0 = default */
};

struct ct_setup {
	const char *ostype;       /* as ct_detect_ostype */
	const char *hostname;     /* required */
	const char *searchdomain; /* NULL: take the host's */
	const char *nameserver;   /* space/comma separated; NULL: take the host's */
	const char *password;     /* plain text root password, NULL: leave as is */
	const char *ssh_keys;     /* authorized_keys content for root, NULL: none */
	const struct ct_net_setup *nets;
	size_t n_nets;
	struct ct_idmap map; /* owner of files created inside */
};

/* Write the config files into rootdir: etc/hostname, etc/hosts (a line for the hostname:
 * net0's static address as PVE does, else 127.0.1.1), etc/resolv.conf (unless the template
 * made it a symlink to a resolver), root's password hash in etc/shadow (yescrypt where the
 * guest's PAM/login.defs uses it, else SHA-512 crypt, which busybox and musl can check; the
 * file keeps its mode/owner), root/.ssh/authorized_keys (0600, dir 0700, owned by mapped
 * root), and the network config: Debian/Ubuntu/Devuan etc/network/interfaces (static, dhcp),
 * Alpine the same file format; "unmanaged" writes nothing for the network (liblxc configures
 * static addresses then). Lines we own sit between PVE's "# --- BEGIN PVE ---" markers; a
 * file "<dir>/.pve-ignore.<name>" keeps <name> untouched. ostype NULL: detected.
 * Files are created owned by the mapped ids. Every symlink resolves as if rootdir were "/"
 * (openat2 RESOLVE_IN_ROOT), so none leads outside; a symlink in place of a file we write is
 * replaced, not followed. A non-regular file where a file is expected fails with -EINVAL, an
 * invalid hostname, domain, nameserver or address with -EINVAL before anything is written, and
 * nothing outside rootdir is ever touched. */
int ct_rootfs_setup(const char *rootdir, const struct ct_setup *s, struct error *err);

/* The pure core of the network setup: etc/network/interfaces as it must read after the
 * update, from its current text `old` (NULL when missing). Stanzas of the interfaces in nets
 * are rewritten (their extra options kept), everything else stays; "lo" is added when the
 * file has no "auto lo". ostype "alpine" turns IPv6 dhcp/auto into manual (as PVE: busybox
 * has no working udhcpc6 or SLAAC method). -EINVAL for a name or address that is not valid. */
int ct_render_interfaces(const char *ostype, const char *old, const struct ct_net_setup *nets,
                         size_t n_nets, char **ret, struct error *err);

/* Open path inside the rootfs behind rootfd: every symlink (the last component too, unless
 * flags has O_NOFOLLOW) resolves as if rootfd were "/", and magic links and mount crossings
 * are refused (openat2 RESOLVE_IN_ROOT). Returns the fd or -errno. */
int ct_root_open(int rootfd, const char *path, int flags, mode_t mode);

/* Read a regular file inside the rootfs (as ct_root_open), at most max bytes (-EFBIG beyond);
 * -ENOENT when missing, -EINVAL when not a regular file. *ret is NUL-terminated. */
int ct_root_read_file(int rootfd, const char *path, size_t max, char **ret, size_t *ret_len);

/* ---- mount targets and bind sources (no symlink is ever followed) ---- */

/* Make the directory `path` ('/'-separated, relative to dirfd; leading slashes ignored)
 * exist below dirfd, creating missing components 0755 owned by the map's root. No component
 * may be a symlink (-ELOOP, "symlink encountered at: <path>") or other non-directory
 * (-ENOTDIR); "." and ".." are refused (-EINVAL). PVE's walk_tree_nofollow: a hostile rootfs
 * cannot lead the creation, or a later mount, onto the host. Returns an O_PATH descriptor of
 * the directory. */
int ct_mkdir_nofollow(int dirfd, const char *path, const struct ct_idmap *map, struct error *err);

/* Open the absolute host path without following a symlink in any component (O_PATH), as PVE
 * does for bind mount sources: a bind source cannot be swapped for a link between configuring
 * and starting. Errors as ct_mkdir_nofollow, -ENOENT when missing. */
int ct_open_nofollow(const char *path, struct error *err);
