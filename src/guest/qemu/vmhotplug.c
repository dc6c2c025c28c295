/* Hot-plug of disks and NICs over QMP. See vmhotplug.h. */
#include "guest/qemu/vmhotplug.h"
#include "basic/clock.h"
#include "basic/strbuf.h"
#include "guest/qemu/qmp.h"
#include "shared/netrate.h"

#include <stdio.h>
#include <time.h>

/* How long the guest gets to release a device after device_del (PVE waits 5 s; TCG guests
 * are slower). */
#define UNPLUG_WAIT_MS 15000

bool
vm_hotplug_enabled(const struct vm_config *c, const char *feature)
{
	const char *v = c->hotplug;
	if (!v || streq(v, "1"))
		v = "network,disk,usb";
	if (streq(v, "0"))
		return false;
	_cleanup_(strv_freep) char **items = split_list(v);
	return strv_contains((const char *const *)items, feature);
}

bool
vm_key_hotpluggable(const char *key)
{
	enum vm_bus bus;
	if (vm_is_net_key(key, NULL))
		return true;
	return vm_is_disk_key(key, &bus, NULL) && (bus == VM_BUS_VIRTIO || bus == VM_BUS_SCSI);
}

/* A human monitor command (drive_add and netdev_add take option strings there, as QEMU's
 * command line does); its output, caller frees. */
static int
hmp(struct qmp *q, unsigned vmid, const char *line, char **ret_out, struct error *err)
{
	json_t *args = json_pack("{s:s}", "command-line", line);
	json_t *out = NULL;
	int r = vm_qmp_run(q, vmid, "human-monitor-command", args, 0, &out, err);
	json_decref(args);
	if (r >= 0 && ret_out)
		*ret_out = xstrdup(json_is_string(out) ? json_string_value(out) : "");
	json_decref(out);
	return r;
}

/* Is there a device with this id (qom-list of /machine/peripheral)? */
static int
device_present(struct qmp *q, unsigned vmid, const char *id, struct error *err)
{
	json_t *args = json_pack("{s:s}", "path", "/machine/peripheral");
	json_t *list = NULL;
	int r = vm_qmp_run(q, vmid, "qom-list", args, 0, &list, err);
	json_decref(args);
	if (r < 0)
		return r;
	bool found = false;
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		if (name && streq(name, id))
			found = true;
	}
	json_decref(list);
	return found;
}

/* device_add with the options of a -device value (all values as strings, as QEMU's QMP
 * device_add accepts them, PVE's qemu_deviceadd does the same). */
static int
device_add(struct qmp *q, unsigned vmid, const char *opts, struct error *err)
{
	_cleanup_(strv_freep) char **items = qemu_opts_split(opts);
	json_t *args = json_object();
	for (char **i = items; i && *i; i++) {
		const char *eq = strchr(*i, '=');
		if (i == items && !eq) {
			json_object_set_new(args, "driver", json_string(*i));
			continue;
		}
		if (!eq)
			continue;
		_cleanup_free_ char *k = xstrndup(*i, (size_t)(eq - *i));
		json_object_set_new(args, k, json_string(eq + 1));
	}
	int r = vm_qmp_run(q, vmid, "device_add", args, 0, NULL, err);
	json_decref(args);
	return r;
}

/* HMP's argument syntax: the option string in double quotes, so nothing in it may end the
 * quote. Storage paths never carry these. */
static int
hmp_quotable(const char *s, struct error *err)
{
	if (strpbrk(s, "\"\\\n\r"))
		return error_set_status(err, 400, EINVAL,
		                        "cannot hot-plug '%s': it has a quote or backslash", s);
	return 0;
}

static int
plug_disk(struct qmp *q, const struct vm_config *c, char **argv, const char *key, struct error *err)
{
	unsigned vmid = c->vmid;
	char id[32];
	snprintf(id, sizeof(id), "drive-%s", key);
	const char *drive = qemu_argv_find(argv, "-drive", id);
	const char *dev = qemu_argv_find(argv, "-device", key);
	if (!drive || !dev)
		return error_set(err, EINVAL, "%s: not a device a start would create", key);
	int r = 0;
	_cleanup_free_ char *out = NULL, *line = NULL, *bus = qemu_opts_get(dev, "bus");
	snprintf(id, sizeof(id), "iothread-%s", key);
	bool iothread = qemu_argv_find(argv, "-object", id) != NULL;
	if (iothread) {
		json_t *a = json_pack("{s:s, s:s}", "qom-type", "iothread", "id", id);
		r = vm_qmp_run(q, vmid, "object-add", a, 0, NULL, err);
		json_decref(a);
		if (r < 0)
			return r;
	}
	/* a SCSI disk needs its controller; the first SCSI disk of a VM brings it */
	if (bus && startswith(bus, "scsihw")) {
		_cleanup_free_ char *ctl = xstrndup(bus, strcspn(bus, "."));
		const char *ctl_dev = qemu_argv_find(argv, "-device", ctl);
		if ((r = device_present(q, vmid, ctl, err)) == 0 && ctl_dev)
			r = device_add(q, vmid, ctl_dev, err);
		if (r < 0)
			goto fail_iothread;
	}
	if ((r = hmp_quotable(drive, err)) < 0)
		goto fail_iothread;
	line = xasprintf("drive_add auto \"%s\"", drive);
	if ((r = hmp(q, vmid, line, &out, err)) < 0)
		goto fail_iothread;
	if (!strstr(out, "OK")) {
		out[strcspn(out, "\r\n")] = '\0';
		r = error_set(err, EIO, "adding drive failed: %s", out);
		goto fail_iothread;
	}
	if ((r = device_add(q, vmid, dev, err)) >= 0)
		return 0;
	struct error e2 = { 0 };
	free(line);
	line = xasprintf("drive_del drive-%s", key);
	(void)hmp(q, vmid, line, NULL, &e2);
fail_iothread:
	if (iothread) {
		struct error e3 = { 0 };
		json_t *a = json_pack("{s:s}", "id", id);
		(void)vm_qmp_run(q, vmid, "object-del", a, 0, NULL, &e3);
		json_decref(a);
	}
	return r;
}

static const struct vm_net *
find_net(const struct vm_config *c, unsigned index)
{
	for (size_t i = 0; i < c->n_nets; i++)
		if (c->nets[i].index == index)
			return &c->nets[i];
	return NULL;
}

static int
set_link(struct qmp *q, unsigned vmid, unsigned index, bool up, struct error *err)
{
	char id[16];
	snprintf(id, sizeof(id), "net%u", index);
	json_t *a = json_pack("{s:s, s:b}", "name", id, "up", up);
	int r = vm_qmp_run(q, vmid, "set_link", a, 0, NULL, err);
	json_decref(a);
	return r;
}

static int
plug_net(const struct vm_host *h, struct qmp *q, const struct vm_config *c, char **argv,
         const char *key, vm_log_fn log, void *userdata, struct error *err)
{
	unsigned vmid = c->vmid, index = 0;
	(void)vm_is_net_key(key, &index);
	const struct vm_net *n = find_net(c, index);
	const char *netdev = qemu_argv_find(argv, "-netdev", key);
	const char *dev = qemu_argv_find(argv, "-device", key);
	if (!n || !netdev || !dev)
		return error_set(err, EINVAL, "%s: not a device a start would create", key);
	_cleanup_free_ char *line = xasprintf("netdev_add %s", netdev);
	_cleanup_free_ char *out = NULL;
	int r = hmp(q, vmid, line, &out, err);
	if (r >= 0 && out[0]) {
		out[strcspn(out, "\r\n")] = '\0';
		r = error_set(err, EIO, "netdev_add failed: %s", out);
	}
	if (r < 0)
		return r;
	if (n->bridge)
		r = vm_tap_plug(h, vmid, n, log, userdata, err);
	if (r >= 0 && n->link_down == 1)
		r = set_link(q, vmid, index, false, err);
	if (r >= 0)
		r = device_add(q, vmid, dev, err);
	if (r < 0) {
		struct error e2 = { 0 };
		json_t *a = json_pack("{s:s}", "id", key);
		(void)vm_qmp_run(q, vmid, "netdev_del", a, 0, NULL, &e2);
		json_decref(a);
	}
	return r;
}

int
vm_device_plug(const struct vm_host *h, const struct vm_config *c, const char *key, vm_log_fn log,
               void *userdata, struct error *err)
{
	if (!vm_key_hotpluggable(key))
		return error_set(err, ENOTSUP, "%s: cannot be hot-plugged", key);
	char **argv = NULL;
	int r = qemu_argv(c, h->q, &argv, err);
	if (r < 0)
		return r;
	struct qmp *q = NULL;
	if ((r = vm_qmp_open(h, c->vmid, "device_add", &q, err)) >= 0) {
		if (vm_is_net_key(key, NULL))
			r = plug_net(h, q, c, argv, key, log, userdata, err);
		else
			r = plug_disk(q, c, argv, key, err);
		qmp_close(q);
	}
	strv_free(argv);
	return r;
}

int
vm_device_unplug(const struct vm_host *h, unsigned vmid, const char *key, struct error *err)
{
	if (!vm_key_hotpluggable(key))
		return error_set(err, ENOTSUP, "%s: cannot be hot-unplugged", key);
	struct qmp *q = NULL;
	int r = vm_qmp_open(h, vmid, "device_del", &q, err);
	if (r < 0)
		return r;
	if ((r = device_present(q, vmid, key, err)) > 0) {
		json_t *a = json_pack("{s:s}", "id", key);
		r = vm_qmp_run(q, vmid, "device_del", a, 0, NULL, err);
		json_decref(a);
		long long deadline = monotonic_ms() + UNPLUG_WAIT_MS;
		while (r >= 0 && (r = device_present(q, vmid, key, err)) > 0) {
			if (monotonic_ms() >= deadline) {
				r = error_set(
				        err, ETIMEDOUT,
				        "%s: the guest did not release the device within %d s "
				        "(does its OS handle ACPI hot-plug?)",
				        key, UNPLUG_WAIT_MS / 1000);
				break;
			}
			struct timespec ts = { 0, 100 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	if (r < 0) {
		qmp_close(q);
		return r;
	}
	/* what the device used; a -drive backend usually went with the device */
	struct error e2 = { 0 };
	if (vm_is_net_key(key, NULL)) {
		json_t *a = json_pack("{s:s}", "id", key);
		(void)vm_qmp_run(q, vmid, "netdev_del", a, 0, NULL, &e2);
		json_decref(a);
	} else {
		_cleanup_free_ char *line = xasprintf("drive_del drive-%s", key);
		(void)hmp(q, vmid, line, NULL, &e2);
		_cleanup_free_ char *io = xasprintf("iothread-%s", key);
		json_t *a = json_pack("{s:s}", "id", io);
		(void)vm_qmp_run(q, vmid, "object-del", a, 0, NULL, &e2);
		json_decref(a);
	}
	qmp_close(q);
	return 0;
}

int
vm_cdrom_change(const struct vm_host *h, unsigned vmid, const struct vm_disk *d, struct error *err)
{
	struct qmp *q = NULL;
	int r = vm_qmp_open(h, vmid, "eject", &q, err);
	if (r < 0)
		return r;
	json_t *a = json_pack("{s:s, s:b}", "id", d->key, "force", 1);
	struct error e2 = { 0 };
	(void)vm_qmp_run(q, vmid, "eject", a, 0, NULL, &e2); /* an empty drive says so */
	json_decref(a);
	if (d->file && d->kind != VM_FILE_NONE) {
		struct qemu_volume v = { 0 };
		r = h->q->resolve(d->file, &v, h->q->userdata, err);
		if (r >= 0) {
			a = json_pack("{s:s, s:s, s:s}", "id", d->key, "filename", v.path, "format",
			              v.format ? v.format : "raw");
			r = vm_qmp_run(q, vmid, "blockdev-change-medium", a, 0, NULL, err);
			json_decref(a);
		}
		free(v.path);
		free(v.format);
	}
	qmp_close(q);
	return r;
}

static bool
str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && streq(a, b));
}

bool
vm_net_relinkable(const struct vm_net *old, const struct vm_net *n)
{
	/* a NIC on a bridge stays on one (its netdev is a tap either way), and only bridged
	 * NICs can move */
	return str_same(old->model, n->model) && str_same(old->macaddr, n->macaddr) &&
	       old->queues == n->queues && old->mtu == n->mtu && !old->bridge == !n->bridge;
}

int
vm_net_relink(const struct vm_host *h, unsigned vmid, const struct vm_net *old,
              const struct vm_net *n, vm_log_fn log, void *userdata, struct error *err)
{
	int r = 0;
	if (n->bridge && (!str_same(old->bridge, n->bridge) || old->tag != n->tag)) {
		if ((r = vm_tap_unplug(vmid, n->index, err)) < 0)
			return r;
		if ((r = vm_tap_plug(h, vmid, n, log, userdata, err)) < 0)
			return r;
	}
	if (n->bridge && str_same(old->bridge, n->bridge) && old->tag == n->tag &&
	    old->rate != n->rate) {
		char tap[16];
		if (qemu_tap_name(vmid, n->index, tap) < 0)
			return error_set(err, EINVAL, "net%u: tap name too long", n->index);
		if ((r = net_rate_limit(tap, n->rate, err)) < 0)
			return r;
		if (r > 0 && log)
			log("rate= limits only the traffic to the guest: this kernel has no tc "
			    "police action for the traffic from it",
			    userdata);
		r = 0;
	}
	if ((old->link_down == 1) != (n->link_down == 1)) {
		struct qmp *q = NULL;
		if ((r = vm_qmp_open(h, vmid, "set_link", &q, err)) < 0)
			return r;
		r = set_link(q, vmid, n->index, n->link_down != 1, err);
		qmp_close(q);
	}
	return r;
}
