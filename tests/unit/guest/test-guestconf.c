/* Unit tests: guest config files read and written as Proxmox VE's parse_pct_config /
 * write_pct_config and parse_vm_config / write_vm_config do (reference/proxmox-api.md §4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "guest/guestconf.h"

#include <stdio.h>

#define _cleanup_guestconf_ _cleanup_(guestconf_freep)

/* §4.4 Example L1 */
static const char L1[] =
        "arch: amd64\n"
        "cores: 2\n"
        "features: nesting=1\n"
        "hostname: ct1\n"
        "memory: 1024\n"
        "net0: name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:9A:3C:2D,ip=dhcp,type=veth\n"
        "ostype: debian\n"
        "rootfs: local-lvm:vm-101-disk-0,size=8G\n"
        "swap: 512\n"
        "unprivileged: 1\n";

/* §4.4 Example L2 */
static const char L2[] =
        "#Reverse proxy\n"
        "arch: amd64\n"
        "cores: 1\n"
        "hostname: proxy1\n"
        "memory: 512\n"
        "mp0: local-lvm:vm-102-disk-1,mp=/srv/data,backup=1,size=16G\n"
        "nameserver: 10.0.0.1\n"
        "net0: "
        "name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:0F:44:A1,ip=10.0.0.12/24,tag=20,"
        "type=veth\n"
        "onboot: 1\n"
        "ostype: debian\n"
        "parent: pre-config\n"
        "rootfs: local-lvm:vm-102-disk-0,size=8G\n"
        "searchdomain: example.lan\n"
        "swap: 512\n"
        "unprivileged: 1\n"
        "lxc.apparmor.profile: unconfined\n"
        "\n"
        "[pve:pending]\n"
        "memory: 1024\n"
        "\n"
        "[pre-config]\n"
        "#before nginx change\n"
        "arch: amd64\n"
        "cores: 1\n"
        "hostname: proxy1\n"
        "memory: 512\n"
        "mp0: local-lvm:vm-102-disk-1,mp=/srv/data,backup=1,size=16G\n"
        "nameserver: 10.0.0.1\n"
        "net0: "
        "name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:0F:44:A1,ip=10.0.0.12/24,tag=20,"
        "type=veth\n"
        "onboot: 1\n"
        "ostype: debian\n"
        "rootfs: local-lvm:vm-102-disk-0,size=8G\n"
        "searchdomain: example.lan\n"
        "snaptime: 1736951300\n"
        "swap: 512\n"
        "unprivileged: 1\n"
        "lxc.apparmor.profile: unconfined\n";

/* §4.3 Example Q2 */
static const char Q2[] = "#Database server\n"
                         "#owner%3A team-db\n"
                         "boot: order=virtio0;net0\n"
                         "cores: 4\n"
                         "memory: 4096\n"
                         "name: db01\n"
                         "net0: e1000=BC:24:11:79:D5:65,bridge=vmbr1,tag=77\n"
                         "ostype: l26\n"
                         "parent: after-upgrade\n"
                         "unused0: local:101/vm-101-disk-1.qcow2\n"
                         "virtio0: local:101/vm-101-disk-0.qcow2,size=20G\n"
                         "\n"
                         "[PENDING]\n"
                         "cores: 8\n"
                         "\n"
                         "[after-upgrade]\n"
                         "#post apt upgrade\n"
                         "boot: order=virtio0;net0\n"
                         "cores: 4\n"
                         "memory: 4096\n"
                         "name: db01\n"
                         "net0: e1000=BC:24:11:79:D5:65,bridge=vmbr1,tag=77\n"
                         "ostype: l26\n"
                         "parent: before-upgrade\n"
                         "runningcpu: kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep\n"
                         "runningmachine: pc-i440fx-9.0+pve0\n"
                         "snaptime: 1736940462\n"
                         "virtio0: local:101/vm-101-disk-0.qcow2,size=20G\n"
                         "vmstate: local:101/vm-101-state-after-upgrade.raw\n"
                         "\n"
                         "[before-upgrade]\n"
                         "boot: order=virtio0;net0\n"
                         "cores: 2\n"
                         "memory: 4096\n"
                         "name: db01\n"
                         "net0: e1000=BC:24:11:79:D5:65,bridge=vmbr1,tag=77\n"
                         "ostype: l26\n"
                         "snaptime: 1736939109\n"
                         "virtio0: local:101/vm-101-disk-0.qcow2,size=20G\n";

static struct guestconf *
parse_ok(enum guestconf_kind kind, const char *text)
{
	struct guestconf *c = NULL;
	struct error err = { 0 };
	int r = guestconf_parse(kind, text, "test.conf", &c, &err);
	if (r < 0)
		fail_msg("parse failed: %s", err.msg);
	assert_non_null(c);
	return c;
}

static char *
format_ok(const struct guestconf *c)
{
	char *text = NULL;
	struct error err = { 0 };
	int r = guestconf_format(c, &text, &err);
	if (r < 0)
		fail_msg("format failed: %s", err.msg);
	assert_non_null(text);
	return text;
}

/* Parse, expect an error; returns the message. */
static const char *
parse_fails(enum guestconf_kind kind, const char *text, struct error *err)
{
	struct guestconf *c = NULL;
	error_clear(err);
	assert_int_equal(guestconf_parse(kind, text, "nodes/pve/lxc/101.conf", &c, err), -EINVAL);
	assert_null(c);
	assert_int_equal(err->code, EINVAL);
	return err->msg;
}

static void
assert_str_or_null_equal(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void
assert_section_equal(const struct guestconf_section *a, const struct guestconf_section *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_str_or_null_equal(a->name, b->name);
	assert_str_or_null_equal(a->description, b->description);
	assert_int_equal(a->n_items, b->n_items);
	/* items in file order; format sorts them, so compare by key */
	for (size_t i = 0; i < a->n_items; i++)
		assert_str_or_null_equal(guestconf_get(b, a->items[i].key), a->items[i].value);
	assert_int_equal(a->n_raw, b->n_raw);
	for (size_t i = 0; i < a->n_raw; i++) {
		assert_string_equal(a->raw[i].key, b->raw[i].key);
		assert_string_equal(a->raw[i].value, b->raw[i].value);
	}
}

static void
assert_conf_equal(const struct guestconf *a, const struct guestconf *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_section_equal(&a->main, &b->main);
	assert_int_equal(a->pending == NULL, b->pending == NULL);
	if (a->pending)
		assert_section_equal(a->pending, b->pending);
	assert_int_equal(a->n_snapshots, b->n_snapshots);
	for (size_t i = 0; i < a->n_snapshots; i++) {
		const struct guestconf_section *s =
		        guestconf_snapshot((struct guestconf *)b, a->snapshots[i].name);
		assert_non_null(s);
		assert_section_equal(&a->snapshots[i], s);
	}
	assert_int_equal(a->n_specials, b->n_specials);
	for (size_t i = 0; i < a->n_specials; i++) {
		bool found = false;
		for (size_t j = 0; j < b->n_specials; j++)
			if (streq(a->specials[i].name, b->specials[j].name)) {
				assert_section_equal(&a->specials[i], &b->specials[j]);
				found = true;
			}
		assert_true(found);
	}
}

/* format(parse(text)) == expected, and parsing that again gives the same config. */
static void
assert_canonical(enum guestconf_kind kind, const char *text, const char *expected)
{
	_cleanup_guestconf_ struct guestconf *c = parse_ok(kind, text);
	_cleanup_free_ char *out = format_ok(c);
	assert_string_equal(out, expected);
	_cleanup_guestconf_ struct guestconf *again = parse_ok(kind, out);
	assert_conf_equal(c, again);
	_cleanup_free_ char *out2 = format_ok(again);
	assert_string_equal(out2, expected);
}

static void
test_lxc_example_l1_round_trips_byte_identically(void **state)
{
	_cleanup_guestconf_ struct guestconf *c = parse_ok(GUESTCONF_LXC, L1);
	assert_int_equal(c->kind, GUESTCONF_LXC);
	assert_int_equal(c->main.n_items, 10);
	assert_string_equal(guestconf_get(&c->main, "features"), "nesting=1");
	assert_string_equal(guestconf_get(&c->main, "rootfs"), "local-lvm:vm-101-disk-0,size=8G");
	assert_null(guestconf_get(&c->main, "template"));
	assert_null(c->main.description);
	assert_null(c->pending);
	assert_int_equal(c->n_snapshots, 0);
	assert_int_equal(c->main.n_raw, 0);
	assert_canonical(GUESTCONF_LXC, L1, L1);
}

static void
test_lxc_example_l2_round_trips_byte_identically(void **state)
{
	_cleanup_guestconf_ struct guestconf *c = parse_ok(GUESTCONF_LXC, L2);
	assert_string_equal(c->main.description, "Reverse proxy");
	assert_string_equal(guestconf_get(&c->main, "parent"), "pre-config");
	assert_string_equal(guestconf_get(&c->main, "memory"), "512");
	assert_int_equal(c->main.n_raw, 1);
	assert_string_equal(c->main.raw[0].key, "lxc.apparmor.profile");
	assert_string_equal(c->main.raw[0].value, "unconfined");
	assert_non_null(c->pending);
	assert_int_equal(c->pending->kind, GUESTCONF_SECTION_PENDING);
	assert_string_equal(guestconf_get(c->pending, "memory"), "1024");
	assert_int_equal(c->n_snapshots, 1);
	struct guestconf_section *snap = guestconf_snapshot(c, "pre-config");
	assert_non_null(snap);
	assert_int_equal(snap->kind, GUESTCONF_SECTION_SNAPSHOT);
	assert_string_equal(snap->name, "pre-config");
	assert_string_equal(snap->description, "before nginx change");
	assert_string_equal(guestconf_get(snap, "snaptime"), "1736951300");
	assert_null(guestconf_get(snap, "parent"));
	assert_int_equal(snap->n_raw, 1);
	assert_canonical(GUESTCONF_LXC, L2, L2);
}

static void
test_qemu_example_q2_with_pending_and_snapshots_round_trips(void **state)
{
	_cleanup_guestconf_ struct guestconf *c = parse_ok(GUESTCONF_QEMU, Q2);
	assert_string_equal(c->main.description, "Database server\nowner: team-db");
	assert_string_equal(guestconf_get(&c->main, "cores"), "4");
	assert_string_equal(guestconf_get(c->pending, "cores"), "8");
	assert_int_equal(c->n_snapshots, 2);
	assert_string_equal(c->snapshots[0].name, "after-upgrade");
	assert_string_equal(c->snapshots[0].description, "post apt upgrade");
	assert_string_equal(guestconf_get(&c->snapshots[0], "vmstate"),
	                    "local:101/vm-101-state-after-upgrade.raw");
	assert_string_equal(guestconf_get(&c->snapshots[0], "runningcpu"),
	                    "kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep");
	assert_null(c->snapshots[1].description);
	assert_string_equal(guestconf_get(&c->snapshots[1], "cores"), "2");
	assert_canonical(GUESTCONF_QEMU, Q2, Q2);
}

static void
test_snapshots_are_written_sorted_by_name_after_pending_and_specials(void **state)
{
	const char *in = "name: vm\n"
	                 "[zeta]\n"
	                 "snaptime: 3\n"
	                 "[special:fleecing]\n"
	                 "fleecing-images: local:100/x.qcow2\n"
	                 "[Alpha]\n"
	                 "snaptime: 1\n"
	                 "[PENDING]\n"
	                 "delete: tablet\n"
	                 "[special:cloudinit]\n"
	                 "ipconfig0: ip=dhcp\n"
	                 "[beta]\n"
	                 "snaptime: 2\n";
	const char *want = "name: vm\n"
	                   "\n[PENDING]\n"
	                   "delete: tablet\n"
	                   "\n[special:cloudinit]\n"
	                   "ipconfig0: ip=dhcp\n"
	                   "\n[special:fleecing]\n"
	                   "fleecing-images: local:100/x.qcow2\n"
	                   "\n[Alpha]\n"
	                   "snaptime: 1\n"
	                   "\n[beta]\n"
	                   "snaptime: 2\n"
	                   "\n[zeta]\n"
	                   "snaptime: 3\n";
	assert_canonical(GUESTCONF_QEMU, in, want);

	_cleanup_guestconf_ struct guestconf *c = parse_ok(GUESTCONF_QEMU, in);
	assert_int_equal(c->n_specials, 2);
	assert_string_equal(c->specials[0].name, "fleecing");
	assert_int_equal(c->specials[0].kind, GUESTCONF_SECTION_SPECIAL);
	/* file order in memory */
	assert_string_equal(c->snapshots[0].name, "zeta");
	/* names are looked up case-insensitively, as PVE matches them */
	assert_ptr_equal(guestconf_snapshot(c, "alpha"), &c->snapshots[1]);
	assert_ptr_equal(guestconf_snapshot(c, "ZETA"), &c->snapshots[0]);
	assert_null(guestconf_snapshot(c, "gamma"));
}

static void
test_empty_text_is_an_empty_config(void **state)
{
	_cleanup_guestconf_ struct guestconf *c = parse_ok(GUESTCONF_LXC, "");
	assert_int_equal(c->main.n_items, 0);
	assert_null(c->pending);
	_cleanup_free_ char *out = format_ok(c);
	assert_string_equal(out, "");
	assert_canonical(GUESTCONF_QEMU, "\n  \n\t\n", "");
}

static void
test_description_is_percent_encoded_as_pves_encode_text(void **state)
{
	_cleanup_guestconf_ struct guestconf *c = guestconf_new(GUESTCONF_LXC);
	assert_int_equal(guestconf_set(&c->main, "hostname", "ct1"), 0);
	assert_int_equal(guestconf_set_description(&c->main, "owner: ops 100% sure\n"
	                                                     "Grüße ✓\n"
	                                                     "\n"
	                                                     "tab\there"),
	                 0);
	_cleanup_free_ char *out = format_ok(c);
	assert_string_equal(out, "#owner%3A ops 100%25 sure\n"
	                         "#Gr%C3%BC%C3%9Fe %E2%9C%93\n"
	                         "#\n"
	                         "#tab%09here\n"
	                         "hostname: ct1\n");
	_cleanup_guestconf_ struct guestconf *back = parse_ok(GUESTCONF_LXC, out);
	assert_string_equal(back->main.description, "owner: ops 100% sure\n"
	                                            "Grüße ✓\n"
	                                            "\n"
	                                            "tab\there");
	assert_conf_equal(c, back);

	/* NULL removes it */
	assert_int_equal(guestconf_set_description(&c->main, NULL), 0);
	_cleanup_free_ char *out2 = format_ok(c);
	assert_string_equal(out2, "hostname: ct1\n");
}

static void
test_description_lines_anywhere_in_a_section_join_its_description(void **state)
{
	/* PVE appends every '#' line of a section, wherever it stands */
	assert_canonical(GUESTCONF_LXC, "#first\narch: amd64\n#second\n[snap1]\n#snap note\n",
	                 "#first\n#second\narch: amd64\n\n[snap1]\n#snap note\n");
	/* a description: line is read as the description too */
	_cleanup_guestconf_ struct guestconf *c =
	        parse_ok(GUESTCONF_QEMU, "description: web%3A front\nname: a\n");
	assert_string_equal(c->main.description, "web: front");
	assert_null(guestconf_get(&c->main, "description"));
	_cleanup_free_ char *out = format_ok(c);
	assert_string_equal(out, "#web%3A front\nname: a\n");
	/* empty '#' lines in the middle stay, trailing ones go (PVE's split drops them) */
	assert_canonical(GUESTCONF_LXC, "#\n#a\n#\n#b\n#\n#\n", "#\n#a\n#\n#b\n");
	assert_canonical(GUESTCONF_LXC, "#\n#\narch: amd64\n", "arch: amd64\n");
	/* QEMU also strips trailing whitespace of the whole description */
	assert_canonical(GUESTCONF_QEMU, "#a \n#%20\nname: x\n", "#a\nname: x\n");
	/* invalid escapes are kept as they are */
	assert_canonical(GUESTCONF_LXC, "#50%zz\n", "#50%25zz\n");
}

static void
test_qemu_pending_empty_description_is_written_as_a_bare_hash(void **state)
{
	const char *in = "name: a\n\n[PENDING]\n#\n";
	_cleanup_guestconf_ struct guestconf *c = parse_ok(GUESTCONF_QEMU, in);
	assert_non_null(c->pending);
	assert_string_equal(c->pending->description, "");
	assert_canonical(GUESTCONF_QEMU, in, in);
	/* in the main section an empty description is no description */
	assert_canonical(GUESTCONF_QEMU, "#\nname: a\n", "name: a\n");
}

static void
test_keys_are_written_sorted_bytewise_and_a_repeated_key_takes_the_last_value(void **state)
{
	const char *in = "net10: x\nnet2: y\nmemory: 1\nacpi: 1\nmemory: 2\nnet-x: 3\n";
	_cleanup_guestconf_ struct guestconf *c = parse_ok(GUESTCONF_QEMU, in);
	assert_int_equal(c->main.n_items, 5);
	assert_string_equal(c->main.items[2].key, "memory"); /* first place, last value */
	assert_string_equal(c->main.items[2].value, "2");
	assert_canonical(GUESTCONF_QEMU, in, "acpi: 1\nmemory: 2\nnet-x: 3\nnet10: x\nnet2: y\n");
	/* whitespace around values goes, values keep inner spaces and colons */
	assert_canonical(GUESTCONF_LXC, "hostname:ct1  \t\ncmode:   a b: c\r\n",
	                 "cmode: a b: c\nhostname: ct1\n");
}

static void
test_lxc_raw_lines_keep_order_and_duplicates_after_the_keys(void **state)
{
	const char *in = "lxc.mount.entry: /srv/a srv/a none bind,create=dir 0 0\n"
	                 "hostname: ct1\n"
	                 "lxc.cgroup2.devices.allow = c 10:200 rwm\n"
	                 "lxc.environment.runtime: A=1\n"
	                 "lxc.mount.entry: /srv/b srv/b none bind 0 0\n"
	                 "lxc.init.cmd:\n"
	                 "arch: amd64\n";
	const char *want = "arch: amd64\n"
	                   "hostname: ct1\n"
	                   "lxc.environment.runtime: A=1\n"
	                   "lxc.mount.entry: /srv/a srv/a none bind,create=dir 0 0\n"
	                   "lxc.cgroup2.devices.allow: c 10:200 rwm\n"
	                   "lxc.mount.entry: /srv/b srv/b none bind 0 0\n"
	                   "lxc.init.cmd: \n";
	_cleanup_guestconf_ struct guestconf *c = parse_ok(GUESTCONF_LXC, in);
	assert_int_equal(c->main.n_items, 2);
	assert_int_equal(c->main.n_raw, 5);
	/* PVE keeps lxc.environment.runtime apart and writes it first */
	assert_string_equal(c->main.raw[0].key, "lxc.environment.runtime");
	assert_string_equal(c->main.raw[1].value, "/srv/a srv/a none bind,create=dir 0 0");
	assert_string_equal(c->main.raw[2].key, "lxc.cgroup2.devices.allow");
	assert_string_equal(c->main.raw[2].value, "c 10:200 rwm");
	assert_string_equal(c->main.raw[3].value, "/srv/b srv/b none bind 0 0");
	assert_string_equal(c->main.raw[4].value, "");
	assert_canonical(GUESTCONF_LXC, in, want);

	assert_int_equal(guestconf_add_raw(&c->main, "lxc.mount.entry", "/c c none bind 0 0"), 0);
	assert_int_equal(guestconf_add_raw(&c->main, "lxc.Mount", "x"), -EINVAL);
	assert_int_equal(guestconf_add_raw(&c->main, "lxc.", "x"), -EINVAL);
	assert_int_equal(guestconf_add_raw(&c->main, "mount.entry", "x"), -EINVAL);
	assert_int_equal(guestconf_add_raw(&c->main, "lxc.mount.entry", "x\ny"), -EINVAL);
	assert_int_equal(c->main.n_raw, 6);
	_cleanup_free_ char *out = format_ok(c);
	assert_non_null(strstr(out, "lxc.init.cmd: \nlxc.mount.entry: /c c none bind 0 0\n"));
}

static void
test_raw_lines_belong_to_containers_only(void **state)
{
	struct error err;
	const char *msg = parse_fails(GUESTCONF_QEMU, "lxc.apparmor.profile: unconfined\n", &err);
	assert_string_equal(msg, "nodes/pve/lxc/101.conf:1: unable to parse config line: "
	                         "lxc.apparmor.profile: unconfined");
	_cleanup_guestconf_ struct guestconf *c = guestconf_new(GUESTCONF_QEMU);
	assert_int_equal(guestconf_add_raw(&c->main, "lxc.apparmor.profile", "unconfined"), 0);
	char *out = NULL;
	error_clear(&err);
	assert_int_equal(guestconf_format(c, &out, &err), -EINVAL);
	assert_null(out);
	assert_non_null(strstr(err.msg, "lxc"));
}

static void
test_pending_delete_list_follows_pves_parse_and_print(void **state)
{
	const char *in = "memory: 512\n\n[pve:pending]\ndelete: swap;!mp0  net1,,cores\n";
	_cleanup_guestconf_ struct guestconf *c = parse_ok(GUESTCONF_LXC, in);
	/* kept as it stands until it is changed */
	assert_string_equal(guestconf_get(c->pending, "delete"), "swap;!mp0  net1,,cores");
	bool force = true;
	assert_true(guestconf_pending_delete_has(c, "swap", &force));
	assert_false(force);
	assert_true(guestconf_pending_delete_has(c, "mp0", &force));
	assert_true(force);
	assert_true(guestconf_pending_delete_has(c, "cores", NULL));
	assert_false(guestconf_pending_delete_has(c, "memory", NULL));
	assert_false(guestconf_pending_delete_has(c, "!mp0", NULL));
	assert_false(guestconf_pending_delete_has(c, "", NULL));

	/* any change prints it PVE's way: sorted, '!' for forced, joined with ',' */
	assert_int_equal(guestconf_pending_delete_add(c, "arch", true), 0);
	assert_string_equal(guestconf_get(c->pending, "delete"), "!arch,cores,!mp0,net1,swap");
	assert_int_equal(guestconf_pending_delete_add(c, "mp0", false), 0);
	assert_string_equal(guestconf_get(c->pending, "delete"), "!arch,cores,mp0,net1,swap");
	assert_int_equal(guestconf_pending_delete_remove(c, "net1"), 0);
	assert_int_equal(guestconf_pending_delete_remove(c, "net1"), -ENOENT);
	assert_string_equal(guestconf_get(c->pending, "delete"), "!arch,cores,mp0,swap");
	assert_int_equal(guestconf_pending_delete_add(c, "bad,key", false), -EINVAL);
	assert_int_equal(guestconf_pending_delete_add(c, "", false), -EINVAL);

	_cleanup_free_ char *out = format_ok(c);
	assert_string_equal(out, "memory: 512\n\n[pve:pending]\ndelete: !arch,cores,mp0,swap\n");
	assert_canonical(GUESTCONF_LXC, out, out);

	/* removing the last entry drops the line; the empty section is then not written */
	const char *keys[] = { "arch", "cores", "mp0", "swap" };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		assert_int_equal(guestconf_pending_delete_remove(c, keys[i]), 0);
	assert_null(guestconf_get(c->pending, "delete"));
	_cleanup_free_ char *out2 = format_ok(c);
	assert_string_equal(out2, "memory: 512\n");
	guestconf_prune_pending(c);
	assert_null(c->pending);
}

static void
test_pending_delete_add_creates_the_pending_section(void **state)
{
	_cleanup_guestconf_ struct guestconf *c = parse_ok(GUESTCONF_QEMU, "name: a\n");
	assert_null(c->pending);
	assert_false(guestconf_pending_delete_has(c, "name", NULL));
	assert_int_equal(guestconf_pending_delete_remove(c, "name"), -ENOENT);
	assert_int_equal(guestconf_pending_delete_add(c, "description", false), 0);
	assert_non_null(c->pending);
	_cleanup_free_ char *out = format_ok(c);
	assert_string_equal(out, "name: a\n\n[PENDING]\ndelete: description\n");
}

static void
test_pending_section_and_its_pruning(void **state)
{
	_cleanup_guestconf_ struct guestconf *c = guestconf_new(GUESTCONF_LXC);
	struct guestconf_section *p = guestconf_pending(c);
	assert_non_null(p);
	assert_ptr_equal(guestconf_pending(c), p);
	assert_int_equal(p->kind, GUESTCONF_SECTION_PENDING);
	assert_int_equal(guestconf_set(p, "memory", "2048"), 0);
	guestconf_prune_pending(c);
	assert_ptr_equal(c->pending, p);
	assert_int_equal(guestconf_unset(p, "memory"), 0);
	assert_int_equal(guestconf_unset(p, "memory"), -ENOENT);
	guestconf_prune_pending(c);
	assert_null(c->pending);
	/* an empty [pve:pending] in a file is read as no pending section */
	_cleanup_guestconf_ struct guestconf *d =
	        parse_ok(GUESTCONF_LXC, "arch: amd64\n[pve:pending]\n[snap1]\nsnaptime: 1\n");
	assert_null(d->pending);
	assert_canonical(GUESTCONF_LXC, "[PVE:Pending]\nswap: 0\n", "\n[pve:pending]\nswap: 0\n");
}

static void
test_set_get_unset_and_dup(void **state)
{
	_cleanup_guestconf_ struct guestconf *c = parse_ok(GUESTCONF_LXC, L2);
	assert_int_equal(guestconf_set(&c->main, "cores", "4"), 0);
	assert_int_equal(guestconf_set(&c->main, "tty", "2"), 0);
	assert_string_equal(guestconf_get(&c->main, "cores"), "4");
	assert_int_equal(guestconf_unset(&c->main, "parent"), 0);
	assert_null(guestconf_get(&c->main, "parent"));
	assert_int_equal(guestconf_unset(&c->main, "parent"), -ENOENT);

	_cleanup_guestconf_ struct guestconf *d = guestconf_dup(c);
	assert_conf_equal(c, d);
	assert_ptr_not_equal(d->main.items, c->main.items);
	assert_ptr_not_equal(d->pending, c->pending);
	assert_ptr_not_equal(d->snapshots[0].name, c->snapshots[0].name);
	/* a change to the copy leaves the original alone */
	assert_int_equal(guestconf_set(&d->snapshots[0], "cores", "9"), 0);
	assert_int_equal(guestconf_set_description(&d->main, "other"), 0);
	assert_string_equal(guestconf_get(&c->snapshots[0], "cores"), "1");
	assert_string_equal(c->main.description, "Reverse proxy");
	_cleanup_free_ char *a = format_ok(c);
	_cleanup_free_ char *b = format_ok(d);
	assert_string_not_equal(a, b);

	_cleanup_guestconf_ struct guestconf *empty = guestconf_new(GUESTCONF_QEMU);
	_cleanup_guestconf_ struct guestconf *e = guestconf_dup(empty);
	assert_conf_equal(empty, e);
}

static void
test_set_refuses_invalid_keys_and_line_breaks(void **state)
{
	_cleanup_guestconf_ struct guestconf *c = guestconf_new(GUESTCONF_QEMU);
	struct guestconf_section *m = &c->main;
	assert_int_equal(guestconf_set(m, "name", "a\nb"), -EINVAL);
	assert_int_equal(guestconf_set(m, "name", "a\rb"), -EINVAL);
	assert_int_equal(guestconf_set(m, "name", "line\n"), -EINVAL);
	assert_int_equal(guestconf_set(m, "name", ""), -EINVAL);
	assert_int_equal(guestconf_set(m, "name", " \t"), -EINVAL);
	assert_int_equal(guestconf_set(m, "Name", "a"), -EINVAL);
	assert_int_equal(guestconf_set(m, "1name", "a"), -EINVAL);
	assert_int_equal(guestconf_set(m, "net0x", "a"), -EINVAL);
	assert_int_equal(guestconf_set(m, "na me", "a"), -EINVAL);
	assert_int_equal(guestconf_set(m, "na:me", "a"), -EINVAL);
	assert_int_equal(guestconf_set(m, "name\n", "a"), -EINVAL);
	assert_int_equal(guestconf_set(m, "", "a"), -EINVAL);
	assert_int_equal(guestconf_set(m, "description", "a"), -EINVAL);
	assert_int_equal(guestconf_set(m, "delete", "net0"), -EINVAL);
	assert_int_equal(m->n_items, 0);
	assert_int_equal(guestconf_set(m, "hookscript", "local:snippets/x.pl"), 0);
	assert_int_equal(guestconf_set(m, "vmstate-x1", "a"), 0);
	assert_int_equal(guestconf_set(guestconf_pending(c), "delete", "net0"), 0);
}

static void
test_format_refuses_line_breaks_and_invalid_keys_naming_the_key(void **state)
{
	struct error err = { 0 };
	char *out = NULL;
	/* values put in by hand, around guestconf_set's checks */
	_cleanup_guestconf_ struct guestconf *c = parse_ok(GUESTCONF_LXC, "hostname: a\n");
	free(c->main.items[0].value);
	c->main.items[0].value = strdup("a\nroot: evil");
	assert_int_equal(guestconf_format(c, &out, &err), -EINVAL);
	assert_null(out);
	assert_string_equal(err.msg, "detected invalid newline inside property 'hostname'");

	free(c->main.items[0].value);
	c->main.items[0].value = strdup("a\r");
	error_clear(&err);
	assert_int_equal(guestconf_format(c, &out, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'hostname'"));

	free(c->main.items[0].value);
	c->main.items[0].value = strdup("a");
	free(c->main.items[0].key);
	c->main.items[0].key = strdup("host-name"); /* QEMU's key syntax, not LXC's */
	error_clear(&err);
	assert_int_equal(guestconf_format(c, &out, &err), -EINVAL);
	assert_string_equal(err.msg, "invalid key 'host-name'");

	/* a snapshot's values are checked as well */
	_cleanup_guestconf_ struct guestconf *q = parse_ok(GUESTCONF_QEMU, Q2);
	assert_int_equal(guestconf_add_raw(&q->snapshots[1], "lxc.x", "y"), 0);
	error_clear(&err);
	assert_int_equal(guestconf_format(q, &out, &err), -EINVAL);
	assert_null(out);

	/* an invalid snapshot name never reaches the file */
	_cleanup_guestconf_ struct guestconf *s = parse_ok(GUESTCONF_QEMU, "[snap]\nname: a\n");
	free(s->snapshots[0].name);
	s->snapshots[0].name = strdup("x]\nname: evil\n[y");
	error_clear(&err);
	assert_int_equal(guestconf_format(s, &out, &err), -EINVAL);
	assert_null(out);
	assert_non_null(strstr(err.msg, "invalid snapshot name"));
	free(s->snapshots[0].name);
	s->snapshots[0].name = strdup("pending");
	assert_int_equal(guestconf_format(s, &out, &err), -EINVAL);
}

static void
test_parse_refuses_lines_it_cannot_read(void **state)
{
	struct error err;
	const struct {
		enum guestconf_kind kind;
		const char *text;
		const char *msg;
	} bad[] = {
		{ GUESTCONF_LXC, "arch: amd64\n  cores: 2\n",
		  "unable to parse config line:   cores: 2" },
		{ GUESTCONF_LXC, "Cores: 2\n", "unable to parse config line: Cores: 2" },
		{ GUESTCONF_LXC, "cores 2\n", "unable to parse config line: cores 2" },
		{ GUESTCONF_LXC, "cores:\n", "unable to parse config line: cores:" },
		{ GUESTCONF_LXC, "cores:   \n", "unable to parse config line: cores:   " },
		{ GUESTCONF_LXC, "net0x: a\n", "unable to parse config line: net0x: a" },
		{ GUESTCONF_LXC, "host-name: a\n", "unable to parse config line: host-name: a" },
		{ GUESTCONF_LXC, "lxc.Foo: a\n", "unable to parse config line: lxc.Foo: a" },
		{ GUESTCONF_LXC, "lxc.foo : a\n", "unable to parse config line: lxc.foo : a" },
		{ GUESTCONF_LXC, "[PENDING\n", "unable to parse config line: [PENDING" },
		{ GUESTCONF_LXC, "[special:cloudinit]\n",
		  "unable to parse config line: [special:cloudinit]" },
		{ GUESTCONF_LXC, "[a]\n", "unable to parse config line: [a]" },
		{ GUESTCONF_LXC, "[snap1] x\n", "unable to parse config line: [snap1] x" },
		{ GUESTCONF_QEMU, "[a]\n", "unknown section: 'a'" },
		{ GUESTCONF_QEMU, "[special:]\n", "unknown section: 'special:'" },
		{ GUESTCONF_QEMU, "[pve:pending]\n", "unknown section: 'pve:pending'" },
		{ GUESTCONF_QEMU, "\n\nname: a\n-x: 1\n", "unable to parse config line: -x: 1" },
		{ GUESTCONF_QEMU, "delete: net0\n",
		  "property 'delete' is only allowed in [PENDING]" },
		{ GUESTCONF_LXC, "[s1]\ndelete: net0\n",
		  "property 'delete' is only allowed in [pve:pending]" },
		{ GUESTCONF_QEMU, "[PENDING]\n[pending]\n", "duplicate section: pending" },
		{ GUESTCONF_LXC, "[snap]\n[SNAP]\n", "duplicate snapshot section: SNAP" },
		{ GUESTCONF_QEMU, "[special:cloudinit]\n[special:cloudinit]\n",
		  "duplicate special section: cloudinit" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *msg = parse_fails(bad[i].kind, bad[i].text, &err);
		const char *colon = strstr(msg, ": ");
		assert_non_null(colon);
		assert_true(strncmp(msg, "nodes/pve/lxc/101.conf:", 23) == 0);
		assert_string_equal(colon + 2, bad[i].msg);
	}
	/* the line number is the file's, counting blank lines */
	parse_fails(GUESTCONF_QEMU, "\n\nname: a\n-x: 1\n", &err);
	assert_true(strncmp(err.msg, "nodes/pve/lxc/101.conf:4: ", 26) == 0);
}

static void
test_parse_error_quotes_long_or_binary_lines_shortened(void **state)
{
	struct error err;
	char text[400];
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	const char *msg = parse_fails(GUESTCONF_LXC, text, &err);
	assert_true(strlen(msg) < 160);
	assert_non_null(strstr(msg, "xxx..."));
	msg = parse_fails(GUESTCONF_LXC, "bad\x1b[31m line\r\n", &err);
	assert_non_null(strstr(msg, "bad?[31m line?"));
	assert_null(strchr(msg, '\r'));
}

static void
test_messy_input_formats_canonically(void **state)
{
	/* section headers with trailing blanks, CRLF line ends, no blank lines between
	 * sections, no final newline */
	assert_canonical(GUESTCONF_QEMU,
	                 "#note\r\nsockets: 1\r\ncores: 2\r\n[pending]  \r\ncores: 4\r\n"
	                 "[snap-1]\t\ncores: 1",
	                 "#note\ncores: 2\nsockets: 1\n\n[PENDING]\ncores: 4\n\n[snap-1]\n"
	                 "cores: 1\n");
	/* (LXC keeps a description's trailing CR, encoded) */
	assert_canonical(GUESTCONF_LXC, "#note\r\narch: amd64\r\n", "#note%0D\narch: amd64\n");
	/* an empty snapshot section stays */
	assert_canonical(GUESTCONF_LXC, "arch: amd64\n[s1]\n", "arch: amd64\n\n[s1]\n");
	/* only sections, no main keys */
	assert_canonical(GUESTCONF_LXC, "[s1]\narch: amd64\n", "\n[s1]\narch: amd64\n");
	/* leading spaces of a description line survive the round trip */
	assert_canonical(GUESTCONF_LXC, "#  indented\n", "#%20%20indented\n");
}

static void
test_apply_pending_moves_selected_keys_or_all(void **state)
{
	(void)state;
	static const char text[] =
	        "cores: 1\nmemory: 128\nswap: 64\n"
	        "\n[pve:pending]\n#new note\ncores: 2\ndelete: swap\nmemory: 256\n";
	struct guestconf *c = parse_ok(GUESTCONF_LXC, text);
	static const char *const live[] = { "memory", "swap", NULL };
	assert_true(guestconf_apply_pending(c, live));
	assert_string_equal(guestconf_get(&c->main, "memory"), "256");
	assert_null(guestconf_get(&c->main, "swap"));
	assert_string_equal(guestconf_get(&c->main, "cores"), "1");
	/* what was not selected stays pending */
	assert_non_null(c->pending);
	assert_string_equal(guestconf_get(c->pending, "cores"), "2");
	assert_null(guestconf_get(c->pending, "delete"));
	assert_false(guestconf_apply_pending(c, live));
	/* all: the rest, the description too, and the section goes */
	assert_true(guestconf_apply_pending(c, NULL));
	assert_string_equal(guestconf_get(&c->main, "cores"), "2");
	assert_string_equal(c->main.description, "new note");
	assert_null(c->pending);
	assert_false(guestconf_apply_pending(c, NULL));
	guestconf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lxc_example_l1_round_trips_byte_identically),
		cmocka_unit_test(test_apply_pending_moves_selected_keys_or_all),
		cmocka_unit_test(test_lxc_example_l2_round_trips_byte_identically),
		cmocka_unit_test(test_qemu_example_q2_with_pending_and_snapshots_round_trips),
		cmocka_unit_test(
		        test_snapshots_are_written_sorted_by_name_after_pending_and_specials),
		cmocka_unit_test(test_empty_text_is_an_empty_config),
		cmocka_unit_test(test_description_is_percent_encoded_as_pves_encode_text),
		cmocka_unit_test(test_description_lines_anywhere_in_a_section_join_its_description),
		cmocka_unit_test(test_qemu_pending_empty_description_is_written_as_a_bare_hash),
		cmocka_unit_test(
		        test_keys_are_written_sorted_bytewise_and_a_repeated_key_takes_the_last_value),
		cmocka_unit_test(test_lxc_raw_lines_keep_order_and_duplicates_after_the_keys),
		cmocka_unit_test(test_raw_lines_belong_to_containers_only),
		cmocka_unit_test(test_pending_delete_list_follows_pves_parse_and_print),
		cmocka_unit_test(test_pending_delete_add_creates_the_pending_section),
		cmocka_unit_test(test_pending_section_and_its_pruning),
		cmocka_unit_test(test_set_get_unset_and_dup),
		cmocka_unit_test(test_set_refuses_invalid_keys_and_line_breaks),
		cmocka_unit_test(test_format_refuses_line_breaks_and_invalid_keys_naming_the_key),
		cmocka_unit_test(test_parse_refuses_lines_it_cannot_read),
		cmocka_unit_test(test_parse_error_quotes_long_or_binary_lines_shortened),
		cmocka_unit_test(test_messy_input_formats_canonically),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
