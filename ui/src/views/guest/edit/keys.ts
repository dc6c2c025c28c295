// Which config keys the Hardware/Resources and Options pages show, how, and how each is
// edited: one table per guest kind, first match wins. Keys no entry matches are shown
// read-only under Options (except the bookkeeping ones PVE hides too).
import { CPU_TYPES, OSTYPES, SCSI_HW } from '../../create/vm';
import { DNS_NAME, TAGS } from '../../create/common';
import {
  boolEditor,
  ctAddMp,
  ctAddNic,
  ctMpEditor,
  ctNicEditor,
  nextIndex,
  numberEditor,
  selectEditor,
  textEditor,
  vmAddCdrom,
  vmAddDisk,
  vmAddNic,
  vmCdromEditor,
  vmDiskEditor,
  vmNicEditor,
} from './editors';
import type { AddAction, KeyDef } from './types';

const yesNo = (v: string) => (v === '1' ? 'Yes' : 'No');
const mib = (v: string) => `${v} MiB`;
const isCdrom = (v?: string) => !!v && /(^|,)media=cdrom(,|$)/.test(v);
const STARTUP = /^((order=\d+|up=\d+|down=\d+)(,|$))+$/;
const startup = textEditor('Start/Shutdown order', { pattern: STARTUP, patternText: 'order=<n>,up=<s>,down=<s>', placeholder: 'order=1,up=30' });
const tags = textEditor('Tags', { pattern: TAGS, patternText: 'letters, digits and _ + . - separated by ;' });
const description = textEditor('Notes', { area: true });
const unused: KeyDef = { match: /^unused\d+$/, label: (k) => `Unused disk (${k})`, section: 'hardware', removable: () => true };

export const HIDDEN_KEYS = new Set(['digest', 'meta', 'vmgenid', 'smbios1', 'lock']);

export const QEMU_KEYS: KeyDef[] = [
  { match: /^memory$/, label: () => 'Memory', section: 'hardware', always: true, dflt: '2048', show: mib, editor: () => numberEditor('Memory', { min: 16, unit: 'MiB' }) },
  {
    match: /^balloon$/,
    label: () => 'Minimum memory (balloon)',
    section: 'hardware',
    show: (v) => (v === '0' ? 'ballooning disabled' : mib(v)),
    editor: () => numberEditor('Minimum memory (balloon)', { min: 0, unit: 'MiB', optional: true, hint: '0 disables the balloon device; empty: same as memory' }),
    removable: () => true,
  },
  { match: /^sockets$/, label: () => 'Sockets', section: 'hardware', always: true, dflt: '1', editor: () => numberEditor('Sockets', { min: 1, max: 4 }) },
  { match: /^cores$/, label: () => 'Cores', section: 'hardware', always: true, dflt: '1', editor: () => numberEditor('Cores', { min: 1, max: 8192 }) },
  { match: /^cpu$/, label: () => 'CPU type', section: 'hardware', always: true, dflt: 'kvm64', editor: () => selectEditor('CPU type', CPU_TYPES, { optional: true }) },
  { match: /^vcpus$/, label: () => 'vCPUs', section: 'hardware', editor: () => numberEditor('vCPUs', { min: 1, optional: true }), removable: () => true },
  { match: /^cpulimit$/, label: () => 'CPU limit', section: 'hardware', editor: () => numberEditor('CPU limit', { min: 0, max: 128, step: 'any', optional: true, placeholder: 'unlimited' }), removable: () => true },
  { match: /^cpuunits$/, label: () => 'CPU units', section: 'hardware', editor: () => numberEditor('CPU units', { min: 1, max: 262144, optional: true }), removable: () => true },
  {
    match: /^bios$/,
    label: () => 'BIOS',
    section: 'hardware',
    always: true,
    dflt: 'seabios',
    editor: () => selectEditor('BIOS', [{ value: 'seabios', label: 'SeaBIOS' }, { value: 'ovmf', label: 'OVMF (UEFI)' }]),
  },
  { match: /^machine$/, label: () => 'Machine', section: 'hardware', always: true, dflt: 'i440fx', editor: () => textEditor('Machine', { pattern: /^(pc|q35|pc-(i440fx|q35)-\d+\.\d+(\+pve\d+)?)(,.*)?$|^i440fx$/, patternText: 'q35, pc or a versioned type', hint: 'empty: i440fx (pc)' }) },
  { match: /^scsihw$/, label: () => 'SCSI controller', section: 'hardware', always: true, dflt: 'lsi', editor: () => selectEditor('SCSI controller', SCSI_HW, { optional: true }) },
  { match: /^vga$/, label: () => 'Display', section: 'hardware', editor: () => textEditor('Display', { hint: 'std, virtio, qxl, serial0, none …' }), removable: () => true },
  { match: /^efidisk0$/, label: () => 'EFI disk', section: 'hardware', removable: () => true },
  { match: /^tpmstate0$/, label: () => 'TPM state', section: 'hardware', removable: () => true },
  {
    match: /^(ide|sata|scsi|virtio)\d+$/,
    label: (k, v) => `${isCdrom(v) ? 'CD/DVD drive' : 'Hard disk'} (${k})`,
    section: 'hardware',
    editor: (_k, v) => (isCdrom(v) ? vmCdromEditor : vmDiskEditor),
    removable: () => true,
    resizable: (_k, v) => !isCdrom(v),
  },
  { match: /^net\d+$/, label: (k) => `Network device (${k})`, section: 'hardware', editor: () => vmNicEditor, removable: () => true },
  { match: /^serial\d$/, label: (k) => `Serial port (${k})`, section: 'hardware', removable: () => true },
  unused,

  { match: /^name$/, label: () => 'Name', section: 'options', always: true, editor: () => textEditor('Name', { pattern: DNS_NAME, patternText: 'a DNS name' }) },
  { match: /^onboot$/, label: () => 'Start at boot', section: 'options', always: true, dflt: '0', show: yesNo, editor: () => boolEditor('Start at boot', false) },
  { match: /^startup$/, label: () => 'Start/Shutdown order', section: 'options', always: true, dflt: 'order=any', editor: () => startup },
  { match: /^ostype$/, label: () => 'OS type', section: 'options', always: true, dflt: 'other', editor: () => selectEditor('OS type', OSTYPES, { optional: true }) },
  { match: /^boot$/, label: () => 'Boot order', section: 'options', always: true, dflt: 'first disk, CD-ROM, network', editor: () => textEditor('Boot order', { pattern: /^order=[a-z0-9;]+$/, patternText: 'order=scsi0;ide2;net0', placeholder: 'order=scsi0;ide2;net0' }) },
  { match: /^protection$/, label: () => 'Protection', section: 'options', always: true, dflt: '0', show: yesNo, editor: () => boolEditor('Protection', false, 'no removal of the VM or its disks') },
  { match: /^tags$/, label: () => 'Tags', section: 'options', always: true, editor: () => tags },
  { match: /^description$/, label: () => 'Notes', section: 'options', always: true, editor: () => description },
  { match: /^acpi$/, label: () => 'ACPI support', section: 'options', always: true, dflt: '1', show: yesNo, editor: () => boolEditor('ACPI support', true) },
  { match: /^kvm$/, label: () => 'KVM hardware virtualization', section: 'options', always: true, dflt: '1', show: yesNo, editor: () => boolEditor('KVM hardware virtualization', true) },
  { match: /^tablet$/, label: () => 'Use tablet for pointer', section: 'options', always: true, dflt: '1', show: yesNo, editor: () => boolEditor('Use tablet for pointer', true) },
  { match: /^localtime$/, label: () => 'Use local time for RTC', section: 'options', show: yesNo, editor: () => boolEditor('Use local time for RTC', false) },
  { match: /^hotplug$/, label: () => 'Hotplug', section: 'options', always: true, dflt: 'network,disk,usb', editor: () => textEditor('Hotplug', { pattern: /^(0|1|((network|disk|cpu|memory|usb|cloudinit)(,|$))+)$/, patternText: 'a list of network, disk, cpu, memory, usb; or 0' }) },
  { match: /^agent$/, label: () => 'QEMU guest agent', section: 'options', dflt: '0', editor: () => textEditor('QEMU guest agent', { hint: '1 or enabled=1,… ; empty: off' }) },
];

const CT_OSTYPES = ['debian', 'ubuntu', 'devuan', 'alpine', 'archlinux', 'centos', 'fedora', 'opensuse', 'gentoo', 'nixos', 'unmanaged'].map((o) => ({ value: o, label: o }));

export const LXC_KEYS: KeyDef[] = [
  { match: /^memory$/, label: () => 'Memory', section: 'hardware', always: true, dflt: '512', show: mib, editor: () => numberEditor('Memory', { min: 16, unit: 'MiB' }) },
  { match: /^swap$/, label: () => 'Swap', section: 'hardware', always: true, dflt: '512', show: mib, editor: () => numberEditor('Swap', { min: 0, unit: 'MiB' }) },
  { match: /^cores$/, label: () => 'Cores', section: 'hardware', always: true, dflt: 'unlimited', editor: () => numberEditor('Cores', { min: 1, max: 8192, optional: true, placeholder: 'unlimited' }), removable: () => true },
  { match: /^cpulimit$/, label: () => 'CPU limit', section: 'hardware', always: true, dflt: 'unlimited', editor: () => numberEditor('CPU limit', { min: 0, max: 8192, step: 'any', optional: true, placeholder: 'unlimited' }), removable: () => true },
  { match: /^cpuunits$/, label: () => 'CPU units', section: 'hardware', always: true, dflt: '100', editor: () => numberEditor('CPU units', { min: 0, max: 500000, optional: true }), removable: () => true },
  { match: /^rootfs$/, label: () => 'Root disk', section: 'hardware', resizable: () => true },
  { match: /^mp\d+$/, label: (k) => `Mount point (${k})`, section: 'hardware', editor: () => ctMpEditor, removable: () => true, resizable: () => true },
  unused,
  { match: /^net\d+$/, label: (k) => `Network device (${k})`, section: 'network', editor: () => ctNicEditor, removable: () => true },

  { match: /^hostname$/, label: () => 'Hostname', section: 'options', always: true, editor: () => textEditor('Hostname', { pattern: DNS_NAME, patternText: 'a DNS name' }) },
  { match: /^onboot$/, label: () => 'Start at boot', section: 'options', always: true, dflt: '0', show: yesNo, editor: () => boolEditor('Start at boot', false) },
  { match: /^startup$/, label: () => 'Start/Shutdown order', section: 'options', always: true, dflt: 'order=any', editor: () => startup },
  { match: /^ostype$/, label: () => 'OS type', section: 'options', always: true, editor: () => selectEditor('OS type', CT_OSTYPES) },
  { match: /^arch$/, label: () => 'Architecture', section: 'options', always: true, dflt: 'amd64' },
  { match: /^protection$/, label: () => 'Protection', section: 'options', always: true, dflt: '0', show: yesNo, editor: () => boolEditor('Protection', false, 'no removal of the CT or its disks') },
  { match: /^unprivileged$/, label: () => 'Unprivileged container', section: 'options', always: true, dflt: '0', show: yesNo },
  { match: /^features$/, label: () => 'Features', section: 'options', always: true, dflt: 'none', editor: () => textEditor('Features', { placeholder: 'nesting=1,keyctl=1', hint: 'nesting=1, keyctl=1, fuse=1, …' }) },
  { match: /^nameserver$/, label: () => 'DNS servers', section: 'options', always: true, dflt: "the host's", editor: () => textEditor('DNS servers', { placeholder: '1.1.1.1 9.9.9.9' }) },
  { match: /^searchdomain$/, label: () => 'DNS domain', section: 'options', always: true, dflt: "the host's", editor: () => textEditor('DNS domain', { pattern: DNS_NAME, patternText: 'a DNS name' }) },
  { match: /^console$/, label: () => 'Console', section: 'options', always: true, dflt: '1', show: yesNo, editor: () => boolEditor('Console', true) },
  { match: /^tty$/, label: () => 'TTY count', section: 'options', always: true, dflt: '2', editor: () => numberEditor('TTY count', { min: 0, max: 6, optional: true }) },
  { match: /^cmode$/, label: () => 'Console mode', section: 'options', always: true, dflt: 'tty', editor: () => selectEditor('Console mode', ['tty', 'console', 'shell'].map((m) => ({ value: m, label: m })), { optional: true }) },
  { match: /^tags$/, label: () => 'Tags', section: 'options', always: true, editor: () => tags },
  { match: /^description$/, label: () => 'Notes', section: 'options', always: true, editor: () => description },
];

export const ADD_ACTIONS: Record<'lxc' | 'qemu', AddAction[]> = {
  qemu: [
    { label: 'Hard disk', editor: vmAddDisk, nextKey: () => '' },
    { label: 'CD/DVD drive', editor: vmAddCdrom, nextKey: () => '' },
    { label: 'Network device', editor: vmAddNic, nextKey: (c) => nextIndex(c, 'net', 31) },
  ],
  lxc: [
    { label: 'Mount point', editor: ctAddMp, nextKey: (c) => nextIndex(c, 'mp', 255) },
    { label: 'Network device', editor: ctAddNic, nextKey: (c) => nextIndex(c, 'net', 31) },
  ],
};

export function keyDef(kind: 'lxc' | 'qemu', key: string): KeyDef | undefined {
  return (kind === 'qemu' ? QEMU_KEYS : LXC_KEYS).find((d) => d.match.test(key));
}

/** Hardware rows in PVE's order: the table's order, then by key. */
export function keyOrder(kind: 'lxc' | 'qemu', key: string): number {
  const list = kind === 'qemu' ? QEMU_KEYS : LXC_KEYS;
  const i = list.findIndex((d) => d.match.test(key));
  return i < 0 ? list.length : i;
}
