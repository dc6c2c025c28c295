/* Unit tests: the files ct_rootfs_setup writes into a rootfs (hostname, hosts, resolv.conf,
 * root's password, SSH keys, interfaces), their owners and modes, PVE's markers and opt-out,
 * and links planted in the rootfs that must never lead the writes out of it. Needs root
 * (chown to mapped ids); skipped otherwise. */
#include "ct-test.h"

#include "guest/lxc/rootfs.h"

#include <crypt.h>
#include <time.h>

#define UID 100000
#define GID 100000

struct fixture {
	char *tmp; /* scratch; the rootfs is tmp/root */
	char *root;
	char *sentinel;
	char *sentinel_before;
};

/* The busybox template's files (src/template/busybox.c), owned as an unprivileged CT's. */
static void
make_busybox_root(const char *root)
{
	put_file(root, "etc/passwd",
	         "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/"
	         "false\n",
	         0644);
	put_file(root, "etc/shadow", "root:*::0:99999:7:::\nnobody:*::0:99999:7:::\n", 0640);
	put_file(root, "etc/group", "root:x:0:\ntty:x:5:\nshadow:x:42:\n", 0644);
	put_file(root, "etc/hostname", "busybox\n", 0644);
	put_file(root, "etc/hosts", "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost\n", 0644);
	put_file(root, "etc/resolv.conf", "", 0644);
	put_file(root, "etc/network/interfaces", "auto lo\niface lo inet loopback\n", 0644);
	put_file(root, "etc/os-release", "NAME=\"BusyBox\"\nID=busybox\n", 0644);
	put_dir(root, "root");
	char *cmd = xasprintf("chown -R %d:%d '%s' && chown %d:%d '%s/etc/shadow' && "
	                      "chmod 0700 '%s/root'",
	                      UID, GID, root, UID, GID + 42, root, root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static int
setup(void **state)
{
	if (!is_root())
		return 0;
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->tmp = tmpdir_make();
	f->root = path_join(f->tmp, "root");
	assert_int_equal(mkdir(f->root, 0755), 0);
	make_busybox_root(f->root);
	f->sentinel = sentinel_make();
	put_file(f->sentinel, "hostname", "host-sentinel\n", 0644);
	put_file(f->sentinel, "hosts", "10.0.0.1 sentinel\n", 0644);
	f->sentinel_before = tree_snapshot(f->sentinel);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	if (!f)
		return 0;
	/* the sentinel is as it was, and nothing appeared next to the rootfs */
	char *after = tree_snapshot(f->sentinel);
	bool next_to_root = exists(f->tmp, "hostname") || exists(f->tmp, "hosts");
	rm_rf(f->tmp);
	rm_rf(f->sentinel);
	assert_string_equal(after, f->sentinel_before);
	assert_false(next_to_root);
	free(after);
	free(f->tmp);
	free(f->root);
	free(f->sentinel);
	free(f->sentinel_before);
	free(f);
	return 0;
}

#define SKIP_UNLESS_ROOT()                                                                         \
	do {                                                                                       \
		if (!is_root())                                                                    \
			skip();                                                                    \
	} while (0)

static const struct ct_net_setup dhcp_net = { .name = "eth0", .ip = "dhcp" };

static struct ct_setup
basic_setup(void)
{
	return (struct ct_setup){
		.ostype = "unmanaged",
		.hostname = "ct100",
		.searchdomain = "example.com",
		.nameserver = "192.0.2.53 2001:db8::53",
		.nets = &dhcp_net,
		.n_nets = 1,
		.map = { UID, GID, 65536 },
	};
}

static void
run_setup(struct fixture *f, const struct ct_setup *s)
{
	struct error err = { 0 };
	int r = ct_rootfs_setup(f->root, s, &err);
	if (r < 0)
		fail_msg("setup failed: %s", err.msg);
}

static void
test_busybox_gets_hostname_hosts_and_resolver(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	struct ct_setup s = basic_setup();
	run_setup(f, &s);
	assert_file_eq(f->root, "etc/hostname", "ct100\n");
	/* the template's localhost lines stay, so no new ones; dhcp: 127.0.1.1 */
	assert_file_eq(f->root, "etc/hosts",
	               "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost\n"
	               "# --- BEGIN PVE ---\n"
	               "127.0.1.1 ct100.example.com ct100\n"
	               "# --- END PVE ---\n");
	assert_file_eq(f->root, "etc/resolv.conf",
	               "# --- BEGIN PVE ---\n"
	               "search example.com\n"
	               "nameserver 192.0.2.53\n"
	               "nameserver 2001:db8::53\n"
	               "# --- END PVE ---\n");
	/* replaced files keep their owner and mode */
	struct stat st = lstat_of(f->root, "etc/hosts");
	assert_int_equal(st.st_uid, UID);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* unmanaged: the network is liblxc's business */
	assert_file_eq(f->root, "etc/network/interfaces", "auto lo\niface lo inet loopback\n");
}

static void
test_running_setup_twice_changes_nothing_more(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	struct ct_setup s = basic_setup();
	s.ostype = "debian";
	run_setup(f, &s);
	char *hosts = get_file(f->root, "etc/hosts");
	char *ifaces = get_file(f->root, "etc/network/interfaces");
	run_setup(f, &s);
	assert_file_eq(f->root, "etc/hosts", hosts);
	assert_file_eq(f->root, "etc/network/interfaces", ifaces);
	free(hosts);
	free(ifaces);
}

static void
test_static_address_names_the_host_and_fqdn_keeps_its_domain(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	const struct ct_net_setup net = { .name = "eth0",
		                          .ip = "192.0.2.10/24",
		                          .gw = "192.0.2.1" };
	struct ct_setup s = basic_setup();
	s.hostname = "web.corp.example";
	s.nets = &net;
	char *p = path_join(f->root, "etc/hosts");
	unlink(p);
	free(p);
	run_setup(f, &s);
	assert_file_eq(f->root, "etc/hostname", "web\n");
	assert_file_eq(f->root, "etc/hosts",
	               "# --- BEGIN PVE ---\n"
	               "127.0.0.1 localhost.localnet localhost\n"
	               "::1 localhost.localnet localhost\n"
	               "192.0.2.10 web.corp.example web\n"
	               "# --- END PVE ---\n");
	/* a new file belongs to the CT's root */
	struct stat st = lstat_of(f->root, "etc/hosts");
	assert_int_equal(st.st_uid, UID);
	assert_int_equal(st.st_gid, GID);
	assert_int_equal(st.st_mode & 07777, 0644);
}

/* The hash in root's shadow line, checked with libcrypt. */
static char *
root_hash(struct fixture *f, const char *file, const char *password)
{
	char *text = get_file(f->root, file);
	assert_non_null(text);
	assert_true(startswith(text, "root:"));
	char *h = text + 5;
	*strchr(h, ':') = '\0';
	struct crypt_data cd = { 0 };
	const char *again = crypt_rn(password, h, &cd, sizeof(cd));
	assert_non_null(again);
	assert_string_equal(again, h);
	char *res = xstrdup(h);
	free(text);
	return res;
}

static void
test_busybox_root_password_is_sha512_in_shadow(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	struct ct_setup s = basic_setup();
	s.password = "s3cret pass:word";
	run_setup(f, &s);
	char *hash = root_hash(f, "etc/shadow", s.password);
	/* busybox's login knows no yescrypt */
	assert_true(startswith(hash, "$6$"));
	char *shadow = get_file(f->root, "etc/shadow");
	char *want = xasprintf("root:%s:%ld:0:99999:7:::\nnobody:*::0:99999:7:::\n", hash,
	                       (long)(time(NULL) / 86400));
	assert_string_equal(shadow, want);
	struct stat st = lstat_of(f->root, "etc/shadow");
	assert_int_equal(st.st_uid, UID);
	assert_int_equal(st.st_gid, GID + 42);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_file_eq(f->root, "etc/passwd",
	               "root:x:0:0:root:/root:/bin/sh\n"
	               "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");

	/* the guest's own busybox computes the same hash from the same salt */
	if (access("/bin/busybox", X_OK) == 0) {
		char *salt = xstrndup(hash + 3, strcspn(hash + 3, "$"));
		char *cmd =
		        xasprintf("/bin/busybox mkpasswd -m sha512 '%s' '%s'", s.password, salt);
		FILE *p = popen(cmd, "r");
		char line[512] = "";
		assert_non_null(p);
		assert_non_null(fgets(line, sizeof(line), p));
		pclose(p);
		line[strcspn(line, "\n")] = '\0';
		assert_string_equal(line, hash);
		free(cmd);
		free(salt);
	}
	free(want);
	free(shadow);
	free(hash);
}

static void
test_guest_that_uses_yescrypt_gets_yescrypt(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	put_file(f->root, "etc/pam.d/common-password",
	         "# here are the per-package modules\n"
	         "password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt\n",
	         0644);
	struct ct_setup s = basic_setup();
	s.ostype = "debian";
	s.password = "hunter2";
	run_setup(f, &s);
	char *hash = root_hash(f, "etc/shadow", s.password);
	assert_true(startswith(hash, "$y$"));
	free(hash);
}

static void
test_without_shadow_the_hash_goes_into_passwd(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	char *p = path_join(f->root, "etc/shadow");
	unlink(p);
	free(p);
	struct ct_setup s = basic_setup();
	s.password = "hunter2";
	run_setup(f, &s);
	char *hash = root_hash(f, "etc/passwd", s.password);
	char *passwd = get_file(f->root, "etc/passwd");
	char *want = xasprintf("root:%s:0:0:root:/root:/bin/sh\n"
	                       "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
	                       hash);
	assert_string_equal(passwd, want);
	assert_false(exists(f->root, "etc/shadow"));
	free(want);
	free(passwd);
	free(hash);
}

static void
test_ssh_keys_are_added_for_root_owned_by_the_ct(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	struct ct_setup s = basic_setup();
	s.ssh_keys = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE admin@example";
	run_setup(f, &s);
	assert_file_eq(f->root, "root/.ssh/authorized_keys",
	               "# --- BEGIN PVE ---\n"
	               "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE admin@example\n"
	               "# --- END PVE ---\n");
	struct stat st = lstat_of(f->root, "root/.ssh");
	assert_int_equal(st.st_uid, UID);
	assert_int_equal(st.st_gid, GID);
	assert_int_equal(st.st_mode & 07777, 0700);
	st = lstat_of(f->root, "root/.ssh/authorized_keys");
	assert_int_equal(st.st_uid, UID);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* keys the user added stay; ours are replaced in place */
	put_file(f->root, "root/.ssh/authorized_keys",
	         "ssh-rsa AAAAB3 own@laptop\n"
	         "# --- BEGIN PVE ---\nssh-ed25519 OLD old@example\n# --- END PVE ---\n",
	         0600);
	s.ssh_keys = "ssh-ed25519 NEW1 a@example\nssh-ed25519 NEW2 b@example\n";
	run_setup(f, &s);
	assert_file_eq(f->root, "root/.ssh/authorized_keys",
	               "ssh-rsa AAAAB3 own@laptop\n"
	               "# --- BEGIN PVE ---\n"
	               "ssh-ed25519 NEW1 a@example\nssh-ed25519 NEW2 b@example\n"
	               "# --- END PVE ---\n");
}

static void
test_debian_gets_its_interfaces_file(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	/* no etc/network at all: it is created */
	char *p = path_join(f->root, "etc/network/interfaces");
	assert_int_equal(unlink(p), 0);
	*strrchr(p, '/') = '\0';
	assert_int_equal(rmdir(p), 0);
	free(p);
	const struct ct_net_setup net = { .name = "eth0",
		                          .ip = "192.0.2.10/24",
		                          .gw = "192.0.2.1" };
	struct ct_setup s = basic_setup();
	s.ostype = "debian";
	s.nets = &net;
	run_setup(f, &s);
	assert_file_eq(f->root, "etc/network/interfaces",
	               "auto lo\niface lo inet loopback\niface lo inet6 loopback\n\n"
	               "auto eth0\niface eth0 inet static\n"
	               "\taddress 192.0.2.10/24\n\tgateway 192.0.2.1\n\n");
	struct stat st = lstat_of(f->root, "etc/network");
	assert_int_equal(st.st_uid, UID);
	st = lstat_of(f->root, "etc/network/interfaces");
	assert_int_equal(st.st_uid, UID);
	assert_int_equal(st.st_mode & 07777, 0644);
}

static void
test_ostype_is_detected_when_not_given(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	put_file(f->root, "etc/os-release", "ID=debian\n", 0644);
	struct ct_setup s = basic_setup();
	s.ostype = NULL;
	run_setup(f, &s);
	char *ifaces = get_file(f->root, "etc/network/interfaces");
	assert_non_null(strstr(ifaces, "iface eth0 inet dhcp"));
	free(ifaces);
}

static void
test_planted_links_are_replaced_not_followed(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	char *abs = path_join(f->sentinel, "hostname");
	char *rel = xasprintf("../../../../../../..%s/hosts", f->sentinel);
	char *p = path_join(f->root, "etc/hostname");
	unlink(p);
	free(p);
	p = path_join(f->root, "etc/hosts");
	unlink(p);
	free(p);
	put_link(f->root, "etc/hostname", abs);
	put_link(f->root, "etc/hosts", rel);
	struct ct_setup s = basic_setup();
	run_setup(f, &s);
	/* the sentinel is checked in teardown; the links became files */
	assert_true(S_ISREG(lstat_of(f->root, "etc/hostname").st_mode));
	assert_file_eq(f->root, "etc/hostname", "ct100\n");
	assert_true(S_ISREG(lstat_of(f->root, "etc/hosts").st_mode));
	struct stat st = lstat_of(f->root, "etc/hostname");
	assert_int_equal(st.st_uid, UID);
	free(abs);
	free(rel);
}

static void
test_etc_linked_out_of_the_root_resolves_inside_it(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	/* followed from the host, this would be the host's / */
	bool host_had_hostname = access("/hostname", F_OK) == 0;
	char *etc = path_join(f->root, "etc");
	char *cmd = xasprintf("rm -rf '%s'", etc);
	assert_int_equal(system(cmd), 0);
	put_link(f->root, "etc", "../../..");
	struct ct_setup s = basic_setup();
	run_setup(f, &s);
	/* ".." stops at the rootfs: etc is the rootfs itself */
	assert_file_eq(f->root, "hostname", "ct100\n");
	assert_true(exists(f->root, "hosts"));
	if (!host_had_hostname)
		assert_int_equal(access("/hostname", F_OK), -1);
	free(cmd);
	free(etc);
}

static void
test_password_through_a_linked_shadow_stays_inside(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	char *p = path_join(f->root, "etc/shadow");
	unlink(p);
	free(p);
	char *target = path_join(f->sentinel, "keep");
	put_link(f->root, "etc/shadow", target);
	struct ct_setup s = basic_setup();
	s.password = "x";
	struct error err = { 0 };
	/* the link leads to a missing file inside the root: as if there were no shadow */
	assert_int_equal(ct_rootfs_setup(f->root, &s, &err), 0);
	assert_true(S_ISLNK(lstat_of(f->root, "etc/shadow").st_mode));
	char *passwd = get_file(f->root, "etc/passwd");
	assert_true(startswith(passwd, "root:$6$"));
	free(passwd);
	free(target);
}

static void
test_non_regular_files_are_refused(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	char *p = path_join(f->root, "etc/hosts");
	unlink(p);
	/* a FIFO must neither block the reader nor be written */
	assert_int_equal(mkfifo(p, 0644), 0);
	struct ct_setup s = basic_setup();
	struct error err = { 0 };
	assert_int_equal(ct_rootfs_setup(f->root, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "etc/hosts"));
	unlink(p);
	free(p);
	p = path_join(f->root, "etc/hostname");
	unlink(p);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(ct_rootfs_setup(f->root, &s, &err), -EINVAL);
	free(p);
}

static void
test_invalid_values_are_refused_before_anything_changes(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	char *before = tree_snapshot(f->root);
	const struct ct_net_setup bad_net = { .name = "eth0", .ip = "10.0.0.1/24\nup reboot" };
	struct {
		const char *hostname, *search, *ns;
		const struct ct_net_setup *net;
	} cases[] = {
		{ "bad\nname", "example.com", "192.0.2.53", &dhcp_net },
		{ "-lead", "example.com", "192.0.2.53", &dhcp_net },
		{ "ct100", "example.com\nnameserver 6.6.6.6", "192.0.2.53", &dhcp_net },
		{ "ct100", "example.com", "192.0.2.53\noptions x", &dhcp_net },
		{ "ct100", "example.com", "not-an-ip", &dhcp_net },
		{ "ct100", "example.com", "192.0.2.53", &bad_net },
		{ NULL, "example.com", "192.0.2.53", &dhcp_net },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ct_setup s = basic_setup();
		s.hostname = cases[i].hostname;
		s.searchdomain = cases[i].search;
		s.nameserver = cases[i].ns;
		s.nets = cases[i].net;
		s.password = "x";
		struct error err = { 0 };
		assert_int_equal(ct_rootfs_setup(f->root, &s, &err), -EINVAL);
	}
	char *after = tree_snapshot(f->root);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

static void
test_pve_ignore_marker_keeps_a_file(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	put_file(f->root, "etc/.pve-ignore.hosts", "", 0644);
	put_file(f->root, "etc/.pve-ignore.hostname", "", 0644);
	struct ct_setup s = basic_setup();
	run_setup(f, &s);
	assert_file_eq(f->root, "etc/hostname", "busybox\n");
	assert_file_eq(f->root, "etc/hosts",
	               "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost\n");
	char *resolv = get_file(f->root, "etc/resolv.conf");
	assert_non_null(strstr(resolv, "nameserver 192.0.2.53"));
	free(resolv);
}

static void
test_resolv_conf_link_to_a_resolver_is_left_alone(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	char *p = path_join(f->root, "etc/resolv.conf");
	unlink(p);
	free(p);
	put_link(f->root, "etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf");
	struct ct_setup s = basic_setup();
	run_setup(f, &s);
	assert_true(S_ISLNK(lstat_of(f->root, "etc/resolv.conf").st_mode));
	assert_false(exists(f->root, "run/systemd"));
}

static void
test_privileged_ct_files_belong_to_root(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	struct ct_setup s = basic_setup();
	s.map = (struct ct_idmap){ 0, 0, 0 };
	s.ssh_keys = "ssh-ed25519 KEY k@example\n";
	run_setup(f, &s);
	struct stat st = lstat_of(f->root, "root/.ssh/authorized_keys");
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_busybox_gets_hostname_hosts_and_resolver),
		T(test_running_setup_twice_changes_nothing_more),
		T(test_static_address_names_the_host_and_fqdn_keeps_its_domain),
		T(test_busybox_root_password_is_sha512_in_shadow),
		T(test_guest_that_uses_yescrypt_gets_yescrypt),
		T(test_without_shadow_the_hash_goes_into_passwd),
		T(test_ssh_keys_are_added_for_root_owned_by_the_ct),
		T(test_debian_gets_its_interfaces_file),
		T(test_ostype_is_detected_when_not_given),
		T(test_planted_links_are_replaced_not_followed),
		T(test_etc_linked_out_of_the_root_resolves_inside_it),
		T(test_password_through_a_linked_shadow_stays_inside),
		T(test_non_regular_files_are_refused),
		T(test_invalid_values_are_refused_before_anything_changes),
		T(test_pve_ignore_marker_keeps_a_file),
		T(test_resolv_conf_link_to_a_resolver_is_left_alone),
		T(test_privileged_ct_files_belong_to_root),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
