/* The VM config's typed view: canonical round trips (every golden config reads and prints
 * back byte for byte), the canonical forms Proxmox's clients rely on, and a table of hostile
 * values that must be refused before anything reaches a QEMU command line. */
#include "berth-config.h"
#include "basic/fileio.h"
#include "guest/guestconf.h"
#include "guest/qemu/vmconf.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../golden.h"

#define GOLDEN_DIR BERTH_SOURCE_DIR "/tests/golden/qemu"

static void
round_trip(const char *path)
{
	_cleanup_free_ char *text = NULL;
	assert_int_equal(read_file(path, 1u << 20, &text, NULL), 0);
	struct error err = { 0 };
	_cleanup_(guestconf_freep) struct guestconf *gc = NULL;
	if (guestconf_parse(GUESTCONF_QEMU, text, path, &gc, &err) < 0)
		fail_msg("%s: %s", path, err.msg);
	_cleanup_(vm_config_freep) struct vm_config *c = NULL;
	if (vm_config_from_section(&gc->main, 100, &c, &err) < 0)
		fail_msg("%s: %s", path, err.msg);
	_cleanup_(guestconf_freep) struct guestconf *out = guestconf_new(GUESTCONF_QEMU);
	assert_int_equal(vm_config_to_section(c, &out->main, &err), 0);
	_cleanup_free_ char *printed = NULL;
	assert_int_equal(guestconf_format(out, &printed, &err), 0);
	if (!streq(printed, text))
		fail_msg("%s does not round-trip; printed:\n%s", path, printed);
}

static void
round_trip_one(const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s.conf", GOLDEN_DIR, name);
	round_trip(path);
}

static void
test_golden_configs_round_trip_in_canonical_form(void **state)
{
	golden_each_conf(GOLDEN_DIR, round_trip_one, 8);
}

static void
expect_disk(const char *key, const char *in, const char *want)
{
	struct vm_disk d;
	struct error err = { 0 };
	if (vm_disk_parse(key, in, &d, &err) < 0)
		fail_msg("%s: %s: %s", key, in, err.msg);
	_cleanup_free_ char *out = vm_disk_print(&d);
	vm_disk_done(&d);
	assert_string_equal(out, want);
}

static void
expect_net(const char *in, const char *want)
{
	struct vm_net n;
	struct error err = { 0 };
	if (vm_net_parse("net0", in, &n, &err) < 0)
		fail_msg("%s: %s", in, err.msg);
	_cleanup_free_ char *out = vm_net_print(&n);
	vm_net_done(&n);
	assert_string_equal(out, want);
}

static void
test_canonical_forms_match_proxmox(void **state)
{
	(void)state;
	/* the MAC right after the model, at least one more option after it (Ansible's regex) */
	expect_net("bridge=vmbr0,firewall=1,model=virtio,macaddr=BC:24:11:2C:69:EC",
	           "virtio=BC:24:11:2C:69:EC,bridge=vmbr0,firewall=1");
	expect_net("tag=77,bridge=vmbr1,e1000=BC:24:11:79:D5:65",
	           "e1000=BC:24:11:79:D5:65,bridge=vmbr1,tag=77");
	expect_net("virtio,bridge=vmbr0", "virtio,bridge=vmbr0");
	expect_net("virtio=bc:24:11:2c:69:ec,rate=1.50,link_down=yes",
	           "virtio=bc:24:11:2c:69:ec,link_down=1,rate=1.5");
	/* disks keep ,size= and print it with the largest exact unit */
	expect_disk("scsi0", "size=32768M,volume=local:100/vm-100-disk-0.qcow2",
	            "local:100/vm-100-disk-0.qcow2,size=32G");
	expect_disk("scsi0", "local-lvm:vm-100-disk-0,size=32G,iothread=on",
	            "local-lvm:vm-100-disk-0,iothread=1,size=32G");
	expect_disk("ide2", "media=cdrom,file=local:iso/x.iso", "local:iso/x.iso,media=cdrom");
	expect_disk("ide2", "none,media=cdrom", "none,media=cdrom");
	expect_disk("ide2", "cdrom,media=cdrom", "cdrom,media=cdrom");
	expect_disk("efidisk0", "local:100/vm-100-disk-1.raw,efitype=4m,size=528K",
	            "local:100/vm-100-disk-1.raw,efitype=4m,size=528K");
	expect_disk("sata3", "/dev/disk/by-id/ata-X,backup=0", "/dev/disk/by-id/ata-X,backup=0");
}

static void
test_typed_view_reads_defaults_and_values(void **state)
{
	(void)state;
	struct error err = { 0 };
	_cleanup_(guestconf_freep) struct guestconf *gc = NULL;
	assert_int_equal(guestconf_parse(GUESTCONF_QEMU,
	                                 "#first line\n#second line\nmemory: 2048\ncores: 2\nnet3: "
	                                 "virtio=BC:24:11:00:00:01\n"
	                                 "scsi2: local:1\nide0: none,media=cdrom\nagent: 1\n"
	                                 "args: -no-reboot\n",
	                                 "t", &gc, &err),
	                 0);
	_cleanup_(vm_config_freep) struct vm_config *c = NULL;
	assert_int_equal(vm_config_from_section(&gc->main, 100, &c, &err), 0);
	assert_string_equal(c->description, "first line\nsecond line");
	assert_true(c->memory.present);
	assert_int_equal(c->memory.current, 2048);
	assert_int_equal(c->cores, 2);
	assert_int_equal(c->sockets, VM_UNSET);
	assert_int_equal(c->kvm, VM_UNSET);
	assert_int_equal(c->agent.enabled, 1);
	assert_string_equal(c->args, "-no-reboot");
	assert_int_equal(c->n_nets, 1);
	assert_int_equal(c->nets[0].index, 3);
	/* disks in Proxmox's drive order: ide before scsi */
	assert_int_equal(c->n_disks, 2);
	assert_string_equal(c->disks[0].key, "ide0");
	assert_int_equal(c->disks[0].kind, VM_FILE_NONE);
	assert_string_equal(c->disks[1].key, "scsi2");
	assert_int_equal(c->disks[1].kind, VM_FILE_VOLUME);
	assert_true(vm_key_schema("scsi30") != NULL);
	assert_null(vm_key_schema("scsi31"));
}

/* Values that must never load: each is refused with a message naming the key and why. */
static void
test_hostile_values_are_refused(void **state)
{
	(void)state;
	static const struct {
		const char *key, *value, *msg;
	} cases[] = {
		/* option injection through names and identity strings */
		{ "name", "web01,debug-threads=off", "name: invalid format" },
		{ "name", "a=b", "name: invalid format" },
		{ "name", "web\r01", "line feed" },
		{ "description", "x\ny", "line feed" }, /* only '#' lines hold several lines */
		{ "scsi0", "local:100/vm-100-disk-0.qcow2,serial=abc%2Cid%3Dx",
		  "serial contains a character QEMU cannot take" },
		{ "scsi0", "local:100/vm-100-disk-0.qcow2,serial=abc%0A", "serial contains" },
		{ "scsi0", "local:100/vm-100-disk-0.qcow2,serial=AAAAAAAAAAAAAAAAAAAAA",
		  "longer than 20 bytes" },
		{ "scsi0", "local:100/vm-100-disk-0.qcow2,serial=a,b", "duplicate key" },
		{ "scsi0", "local:100/vm-100-disk-0.qcow2,vendor=AC=ME", "scsi0.vendor" },
		{ "ide0", "local:100/vm-100-disk-0.qcow2,model=x%2Cdrive%3Ddrive-ide1",
		  "model contains" },
		{ "smbios1", "serial=abc,def", "smbios1: invalid format" },
		{ "smbios1", "manufacturer=Acme Inc", "smbios1.manufacturer" },
		{ "smbios1", "base64=1,manufacturer=YQpi", "control character" }, /* "a\nb" */
		{ "smbios1", "uuid=7b10d7af-b932-4c66-b2c3-3996152ec465,family=x=y",
		  "smbios1.family" },
		{ "net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0,host_mtu=1", "invalid key" },
		{ "net0", "virtio=BC:24:11:00:00:01,bridge=vm,br0", "duplicate key" },
		{ "net0", "virtio,bridge=vmbr0=x", "net0.bridge" },
		{ "net0", "virtio=01:00:5E:00:00:01", "unicast MAC" },
		{ "net0", "virtio=BC:24:11:00:00:0G", "unicast MAC" },
		{ "net0", "virtio=BC:24:11:00:00:01,model=e1000", "duplicate key" },
		{ "net0", "bridge=vmbr0", "net0.model" },
		{ "net0", "virtio,tag=4095", "net0.tag" },
		{ "net0", "virtio,queues=65", "net0.queues" },
		/* disks */
		{ "scsi0", "size=32G", "scsi0.file: property is missing" },
		{ "scsi0", "local:100/vm-100-disk-0.qcow2,size=32Q", "scsi0.size" },
		{ "scsi0", "local:100/vm-100-disk-0.qcow2,size=abc", "scsi0.size" },
		{ "scsi0", "local:100/vm-100-disk-0.qcow2,cache=evil", "scsi0.cache" },
		{ "scsi0", "/etc/../dev/sda", "unable to parse path" },
		{ "scsi0", "local:../../etc/passwd", "unable to parse volume ID" },
		{ "scsi0", "local:100/a b.raw", "unable to parse volume ID" },
		{ "scsi0", "no-colon", "unable to parse volume ID" },
		{ "ide0", "none", "needs media=cdrom" },
		{ "virtio0", "local:iso/x.iso,media=cdrom", "cannot be CD-ROMs" },
		{ "virtio0", "local:100/vm-100-disk-0.qcow2,ssd=1", "invalid key" },
		/* indexes out of range and unknown keys */
		{ "scsi31", "local:100/vm-100-disk-0.qcow2", "unknown configuration key" },
		{ "ide4", "none,media=cdrom", "unknown configuration key" },
		{ "sata6", "local:1", "unknown configuration key" },
		{ "virtio16", "local:1", "unknown configuration key" },
		{ "net32", "virtio", "unknown configuration key" },
		{ "serial4", "socket", "unknown configuration key" },
		{ "scsi01", "local:1", "unknown configuration key" },
		{ "hostpci0", "0000:01:00.0", "unknown configuration key" },
		{ "bogus", "1", "unknown configuration key" },
		/* numbers */
		{ "memory", "8", "memory.current" },
		{ "memory", "lots", "memory.current" },
		{ "cores", "0", "cores" },
		{ "sockets", "65", "sockets" },
		{ "balloon", "-1", "balloon" },
		{ "vga", "std,memory=1024", "vga.memory" },
		/* everything else that would reach an option */
		{ "cpu", "host,flags=+invtsc", "cpu.flags" },
		{ "cpu", "custom-mine", "cpu.cputype" },
		{ "cpu", "kvm64,hv-vendor-id=a=b", "cpu.hv-vendor-id" },
		{ "serial0", "/dev/ttyS0,server=on", "serial0" },
		{ "serial0", "/dev/../etc/shadow", "serial0" },
		{ "serial0", "tcp:1.2.3.4:5", "serial0" },
		{ "machine", "pc,accel=tcg", "invalid key" },
		{ "machine", "virt", "machine.type" },
		{ "boot", "order=scsi0;efidisk0", "invalid boot device 'efidisk0'" },
		{ "boot", "order=scsi0,net0", "boot: invalid format" },
		{ "vmgenid", "not-a-uuid", "vmgenid" },
		{ "bootdisk", "net0", "bootdisk" },
		{ "agent", "1,type=pci", "agent.type" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *key = cases[i].key, *msg = cases[i].msg;
		/* built by hand so CR/LF reach the parser (guestconf_set refuses them) */
		struct guestconf_item item = { .key = (char *)key,
			                       .value = (char *)cases[i].value };
		struct guestconf_section s = { .kind = GUESTCONF_SECTION_MAIN,
			                       .items = &item,
			                       .n_items = 1 };
		struct vm_config *c = NULL;
		struct error err = { 0 };
		int r = vm_config_from_section(&s, 100, &c, &err);
		if (!msg) {
			if (r < 0)
				fail_msg("%s: %s refused: %s", key, cases[i].value, err.msg);
			vm_config_free(c);
			continue;
		}
		if (r >= 0) {
			vm_config_free(c);
			fail_msg("%s: %s accepted", key, cases[i].value);
		}
		assert_int_equal(r, -EINVAL);
		assert_int_equal(err.status, 400);
		if (!strstr(err.msg, msg))
			fail_msg("%s: %s: got '%s', want '%s'", key, cases[i].value, err.msg, msg);
	}
}

static void
test_schema_lists_every_indexed_key(void **state)
{
	(void)state;
	size_t n = 0;
	bool scsi30 = false, net31 = false;
	for (const struct api_schema *s = vm_config_schema(); s->name; s++) {
		n++;
		scsi30 |= streq(s->name, "scsi30");
		net31 |= streq(s->name, "net31");
	}
	assert_true(scsi30 && net31);
	assert_true(n > VM_MAX_UNUSED + VM_MAX_NETS + VM_MAX_SCSI);
	assert_int_equal(vm_windows_version("win11"), 11);
	assert_int_equal(vm_windows_version("l26"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_configs_round_trip_in_canonical_form),
		cmocka_unit_test(test_canonical_forms_match_proxmox),
		cmocka_unit_test(test_typed_view_reads_defaults_and_values),
		cmocka_unit_test(test_hostile_values_are_refused),
		cmocka_unit_test(test_schema_lists_every_indexed_key),
	};
	return cmocka_run_group_tests_name("vmconf", tests, NULL, NULL);
}
