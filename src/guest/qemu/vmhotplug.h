/* Devices into and out of a running VM: the live half of a config change, as Proxmox's
 * vm_deviceplug / vm_deviceunplug and the live parts of vmconfig_update_disk/_net. Task
 * workers (and the daemon's blocking pool) only: every call talks QMP and may wait for the
 * guest. The options a device gets are read from qemu_argv of the config it will be part of,
 * so a plugged device is exactly the one the next start gives it. */
#pragma once

#include "guest/qemu/vmrun.h"

/* Is hot-plug feature ("disk", "network", "usb") on in c's `hotplug` setting? Unset: PVE's
 * default "network,disk,usb"; "0": none; "1": the default. */
bool vm_hotplug_enabled(const struct vm_config *c, const char *feature);

/* Can device key ("virtio1", "scsi3", "net0") be plugged or unplugged live at all? Disks on
 * virtio and SCSI (not CD-ROMs), and NICs; IDE and SATA devices cannot (their controllers
 * have no hot-plug), nor efidisk0 or tpmstate0. */
bool vm_key_hotpluggable(const char *key);

/* Plug device key of c (the running VM's config with that device in it) into VM c->vmid:
 * for a disk its iothread, SCSI controller (when the VM has none yet), drive and device; for
 * a NIC its netdev, the tap into its bridge (link state as configured), and the device. A
 * failure leaves nothing of it behind. */
int vm_device_plug(const struct vm_host *h, const struct vm_config *c, const char *key,
                   vm_log_fn log, void *userdata, struct error *err);

/* Unplug device key: device_del, wait (bounded) until the guest released it, then remove its
 * drive and iothread, or its netdev. -ETIMEDOUT when the guest did not let go (the request
 * stands: the guest may still release it later). */
int vm_device_unplug(const struct vm_host *h, unsigned vmid, const char *key, struct error *err);

/* Put CD-ROM d's medium into the drive of the running VM (d->file "none", or a
 * CD-ROM without file: eject). */
int vm_cdrom_change(const struct vm_host *h, unsigned vmid, const struct vm_disk *d,
                    struct error *err);

/* A NIC whose model, MAC, queues and MTU stay: move its tap to n's bridge when that changed,
 * and set its link state. */
int vm_net_relink(const struct vm_host *h, unsigned vmid, const struct vm_net *old,
                  const struct vm_net *n, vm_log_fn log, void *userdata, struct error *err);

/* Could old become n without replugging (vm_net_relink)? */
bool vm_net_relinkable(const struct vm_net *old, const struct vm_net *n);
