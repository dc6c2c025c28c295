// Dialog definitions for the kinds of keys: plain numbers, booleans, choices and text, and
// the property strings of disks, CD-ROMs, NICs and mount points built from fields.
import type { Params } from '../../../api';
import { str, type FieldDef, type Option, type Values } from '../../../components/form';
import { IPV4, IPV4_CIDR } from '../../create/common';
import { storageOptions, volumeOptions } from '../../create/data';
import { BUSES, diskFields, NIC_MODELS } from '../../create/vm';
import type { GuestConfig } from './config';
import type { EditCtx, Editor } from './types';
import { buildProps, buildVmNic, getProp, parseProps, parseVmNic, setProps } from './props';

interface Limits {
  min?: number;
  max?: number;
  unit?: string;
  step?: number | 'any';
  hint?: string;
  /** an empty field deletes the key (back to its default) */
  optional?: boolean;
  placeholder?: string;
}

/** What an empty optional field sends: the key deleted. */
function single(key: string, s: string, optional: boolean | undefined): Params {
  return s === '' && optional ? { delete: key } : { [key]: s };
}

export function numberEditor(label: string, l: Limits = {}): Editor {
  return {
    title: label,
    fields: (c) => [{ key: c.key, label, kind: 'number', required: !l.optional, min: l.min, max: l.max, unit: l.unit, step: l.step, hint: l.hint, placeholder: l.placeholder }],
    init: (c) => ({ [c.key]: c.value ?? '' }),
    params: (v, c) => single(c.key, str(v[c.key]).trim(), l.optional),
  };
}

export function boolEditor(label: string, dflt: boolean, hint?: string): Editor {
  return {
    title: label,
    fields: (c) => [{ key: c.key, label, kind: 'check', hint }],
    init: (c) => ({ [c.key]: c.value === undefined ? dflt : c.value === '1' }),
    params: (v, c) => ({ [c.key]: v[c.key] === true ? 1 : 0 }),
  };
}

export function selectEditor(label: string, options: Option[], l: { optional?: boolean; hint?: string } = {}): Editor {
  return {
    title: label,
    fields: (c) => [{ key: c.key, label, kind: 'select', required: !l.optional, options: l.optional ? [{ value: '', label: 'default' }, ...options] : options, hint: l.hint }],
    init: (c) => ({ [c.key]: c.value ?? '' }),
    params: (v, c) => single(c.key, str(v[c.key]), l.optional),
  };
}

export function textEditor(label: string, l: { pattern?: RegExp; patternText?: string; hint?: string; optional?: boolean; area?: boolean; placeholder?: string } = {}): Editor {
  return {
    title: label,
    fields: (c) => [{ key: c.key, label, kind: l.area ? 'textarea' : 'text', required: !l.optional, pattern: l.pattern, patternText: l.patternText, hint: l.hint, placeholder: l.placeholder, wide: true }],
    init: (c) => ({ [c.key]: c.value ?? '' }),
    params: (v, c) => single(c.key, l.area ? str(v[c.key]) : str(v[c.key]).trim(), l.optional ?? true),
  };
}

/** The first free index of a numbered key (net0, mp3, ...) in the config as it will be. */
export function nextIndex(cfg: GuestConfig, prefix: string, max: number): string {
  for (let i = 0; i <= max; i++) if (!(`${prefix}${i}` in cfg.effective) && !cfg.rows.get(`${prefix}${i}`)?.pending) return `${prefix}${i}`;
  return `${prefix}${max + 1}`;
}

const BRIDGE: FieldDef = { key: 'bridge', label: 'Bridge', kind: 'text', required: true, pattern: /^[A-Za-z0-9_.-]{1,15}$/, patternText: 'a bridge name' };
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const flag = (b: unknown) => (b === true ? '1' : undefined);

// ---- VMs ----

const CACHE = ['', 'none', 'writethrough', 'writeback', 'directsync', 'unsafe'].map((c) => ({ value: c, label: c || 'default (no cache)' }));

export const vmDiskEditor: Editor = {
  title: 'Hard disk',
  fields: () => [
    { key: 'cache', label: 'Cache', kind: 'select', options: CACHE },
    { key: 'discard', label: 'Discard', kind: 'check' },
    { key: 'iothread', label: 'IO thread', kind: 'check' },
    { key: 'ssd', label: 'SSD emulation', kind: 'check' },
    { key: 'backup', label: 'Backup', kind: 'check' },
  ],
  note: (c) => `Volume ${parseProps(c.value ?? '', 'file')[0]?.[1] ?? ''}. Use Resize to grow it.`,
  init: (c) => {
    const p = parseProps(c.value ?? '', 'file');
    return { cache: getProp(p, 'cache') ?? '', discard: getProp(p, 'discard') === 'on', iothread: getProp(p, 'iothread') === '1', ssd: getProp(p, 'ssd') === '1', backup: getProp(p, 'backup') !== '0' };
  },
  params: (v, c) => {
    const p = setProps(parseProps(c.value ?? '', 'file'), {
      cache: str(v.cache),
      discard: v.discard === true ? 'on' : undefined,
      iothread: flag(v.iothread),
      ssd: flag(v.ssd),
      backup: v.backup === true ? undefined : '0',
    });
    return { [c.key]: buildProps(p, 'file') };
  },
};

export const vmAddDisk: Editor = {
  title: 'Add: Hard disk',
  needs: ['images'],
  viaTask: true,
  fields: (c) => diskFields({ node: c.node, nodes: [], storages: c.data.storages, volumes: {} }, false).map((f) =>
    f.key === 'device' ? { ...f, check: (s: string, v: Values) => (`${str(v.bus)}${s}` in c.cfg.effective ? `${str(v.bus)}${s} is in use` : f.check?.(s, v)) } : f,
  ),
  init: (c) => {
    let n = 0;
    while (`scsi${n}` in c.cfg.effective) n++;
    return { bus: 'scsi', device: String(n), storage: c.data.storages.images?.[0]?.storage ?? '', size: '8', format: '' };
  },
  params: (v) => ({ [`${str(v.bus)}${str(v.device)}`]: `${str(v.storage)}:${str(v.size)}${str(v.format) ? `,format=${str(v.format)}` : ''}` }),
};

const isoFields = (c: EditCtx, withSlot: boolean): FieldDef[] => [
  ...(withSlot
    ? ([
        { key: 'bus', label: 'Bus', kind: 'select', required: true, options: ['ide', 'sata', 'scsi'].map((b) => ({ value: b, label: BUSES[b].label })) },
        { key: 'device', label: 'Device', kind: 'number', required: true, min: 0, check: (s: string, v: Values) => (`${str(v.bus)}${s}` in c.cfg.effective ? `${str(v.bus)}${s} is in use` : Number(s) > BUSES[str(v.bus)].max ? `at most ${BUSES[str(v.bus)].max}` : undefined) },
      ] as FieldDef[])
    : []),
  { key: 'media', label: 'Medium', kind: 'select', required: true, wide: true, options: [{ value: 'iso', label: 'ISO image' }, { value: 'none', label: 'No medium (empty drive)' }] },
  { key: 'isostorage', label: 'Storage', kind: 'select', required: true, options: storageOptions(c.data.storages.iso ?? []), when: (v) => v.media === 'iso' },
  { key: 'iso', label: 'ISO image', kind: 'select', required: true, options: (v) => volumeOptions(c.data.isos[str(v.isostorage)]), when: (v) => v.media === 'iso' },
];

function isoInit(c: EditCtx, file: string | undefined): Values {
  const st = file && file !== 'none' ? file.split(':')[0] : (c.data.storages.iso?.[0]?.storage ?? '');
  return { media: file && file !== 'none' ? 'iso' : 'none', isostorage: st, iso: file && file !== 'none' ? file : (c.data.isos[st]?.[0]?.volid ?? '') };
}

export const vmCdromEditor: Editor = {
  title: 'CD/DVD drive',
  needs: ['iso'],
  fields: (c) => isoFields(c, false),
  init: (c) => isoInit(c, parseProps(c.value ?? '', 'file')[0]?.[1]),
  params: (v, c) => {
    const p = parseProps(c.value ?? '', 'file');
    p[0] = ['file', v.media === 'iso' ? str(v.iso) : 'none'];
    return { [c.key]: buildProps(setProps(p, { size: undefined }), 'file') };
  },
};

export const vmAddCdrom: Editor = {
  title: 'Add: CD/DVD drive',
  needs: ['iso'],
  fields: (c) => isoFields(c, true),
  init: (c) => {
    let n = 0;
    while (`ide${n}` in c.cfg.effective && n < 3) n++;
    return { bus: 'ide', device: String(n), ...isoInit(c, undefined) };
  },
  params: (v) => ({ [`${str(v.bus)}${str(v.device)}`]: `${v.media === 'iso' ? str(v.iso) : 'none'},media=cdrom` }),
};

const vmNicFields: FieldDef[] = [
  BRIDGE,
  { key: 'model', label: 'Model', kind: 'select', required: true, options: NIC_MODELS },
  { key: 'macaddr', label: 'MAC address', kind: 'text', placeholder: 'auto', pattern: MAC, patternText: 'six hex pairs' },
  { key: 'rate', label: 'Rate limit', unit: 'MB/s', kind: 'number', min: 0, step: 'any', placeholder: 'unlimited' },
  { key: 'firewall', label: 'Firewall', kind: 'check' },
  { key: 'link_down', label: 'Disconnect', kind: 'check' },
];

function vmNicParams(v: Values, c: EditCtx, base: string): Params {
  const { rest } = parseVmNic(base);
  const p = setProps(rest, { bridge: str(v.bridge), rate: str(v.rate), firewall: flag(v.firewall), link_down: flag(v.link_down) });
  return { [c.key]: buildVmNic(str(v.model), str(v.macaddr).toUpperCase(), p) };
}

export const vmNicEditor: Editor = {
  title: 'Network device',
  fields: () => vmNicFields,
  init: (c) => {
    const { model, mac, rest } = parseVmNic(c.value ?? '');
    return { model, macaddr: mac, bridge: getProp(rest, 'bridge') ?? '', rate: getProp(rest, 'rate') ?? '', firewall: getProp(rest, 'firewall') === '1', link_down: getProp(rest, 'link_down') === '1' };
  },
  params: (v, c) => vmNicParams(v, c, c.value ?? ''),
};

export const vmAddNic: Editor = { ...vmNicEditor, title: 'Add: Network device', init: () => ({ model: 'virtio', bridge: 'vmbr0', macaddr: '', rate: '', firewall: false, link_down: false }), params: (v, c) => vmNicParams(v, c, '') };

// ---- containers ----

const ctNicFields: FieldDef[] = [
  { key: 'name', label: 'Name', kind: 'text', required: true, pattern: /^[A-Za-z0-9_.-]{1,15}$/, patternText: 'an interface name' },
  BRIDGE,
  { key: 'hwaddr', label: 'MAC address', kind: 'text', placeholder: 'auto', pattern: MAC, patternText: 'six hex pairs' },
  { key: 'ipv4', label: 'IPv4', kind: 'select', required: true, options: [{ value: 'dhcp', label: 'DHCP' }, { value: 'static', label: 'Static' }, { value: 'none', label: 'None' }] },
  { key: 'ip', label: 'IPv4/CIDR', kind: 'text', required: true, pattern: IPV4_CIDR, patternText: 'e.g. 10.0.0.5/24', when: (v) => v.ipv4 === 'static' },
  { key: 'gw', label: 'Gateway (IPv4)', kind: 'text', pattern: IPV4, patternText: 'an IPv4 address', when: (v) => v.ipv4 === 'static' },
  { key: 'rate', label: 'Rate limit', unit: 'MB/s', kind: 'number', min: 0, step: 'any', placeholder: 'unlimited' },
  { key: 'firewall', label: 'Firewall', kind: 'check' },
];

function ctNicParams(v: Values, c: EditCtx, base: string): Params {
  const st = v.ipv4 === 'static';
  const p = setProps(parseProps(base), {
    name: str(v.name),
    bridge: str(v.bridge),
    hwaddr: str(v.hwaddr).toUpperCase(),
    ip: v.ipv4 === 'dhcp' ? 'dhcp' : st ? str(v.ip) : undefined,
    gw: st ? str(v.gw) : undefined,
    rate: str(v.rate),
    firewall: flag(v.firewall),
  });
  return { [c.key]: buildProps(p) };
}

export const ctNicEditor: Editor = {
  title: 'Network device',
  fields: () => ctNicFields,
  init: (c) => {
    const p = parseProps(c.value ?? '');
    const ip = getProp(p, 'ip') ?? '';
    return { name: getProp(p, 'name') ?? '', bridge: getProp(p, 'bridge') ?? '', hwaddr: getProp(p, 'hwaddr') ?? '', ipv4: ip === 'dhcp' ? 'dhcp' : ip ? 'static' : 'none', ip: ip === 'dhcp' ? '' : ip, gw: getProp(p, 'gw') ?? '', rate: getProp(p, 'rate') ?? '', firewall: getProp(p, 'firewall') === '1' };
  },
  params: (v, c) => ctNicParams(v, c, c.value ?? ''),
};

export const ctAddNic: Editor = {
  ...ctNicEditor,
  title: 'Add: Network device',
  init: (c) => ({ name: `eth${c.key.replace('net', '')}`, bridge: 'vmbr0', hwaddr: '', ipv4: 'dhcp', ip: '', gw: '', rate: '', firewall: false }),
  params: (v, c) => ctNicParams(v, c, ''),
};

const MP_PATH: FieldDef = { key: 'mp', label: 'Path in the container', kind: 'text', required: true, pattern: /^\/[^,\s]*$/, patternText: 'an absolute path', placeholder: '/data' };

export const ctMpEditor: Editor = {
  title: 'Mount point',
  fields: () => [MP_PATH, { key: 'backup', label: 'Backup', kind: 'check' }, { key: 'ro', label: 'Read-only', kind: 'check' }],
  note: (c) => `Volume ${parseProps(c.value ?? '', 'volume')[0]?.[1] ?? ''}. Use Resize to grow it.`,
  init: (c) => {
    const p = parseProps(c.value ?? '', 'volume');
    return { mp: getProp(p, 'mp') ?? '', backup: getProp(p, 'backup') === '1', ro: getProp(p, 'ro') === '1' };
  },
  params: (v, c) => ({ [c.key]: buildProps(setProps(parseProps(c.value ?? '', 'volume'), { mp: str(v.mp), backup: flag(v.backup), ro: flag(v.ro) }), 'volume') }),
};

export const ctAddMp: Editor = {
  title: 'Add: Mount point',
  needs: ['rootdir'],
  fields: (c) => [
    { key: 'storage', label: 'Storage', kind: 'select', required: true, options: storageOptions(c.data.storages.rootdir ?? []) },
    { key: 'size', label: 'Disk size', unit: 'GiB', kind: 'number', required: true, min: 0.1, step: 'any' },
    MP_PATH,
    { key: 'backup', label: 'Backup', kind: 'check' },
  ],
  init: (c) => ({ storage: c.data.storages.rootdir?.[0]?.storage ?? '', size: '8', mp: '', backup: false }),
  params: (v, c) => ({ [c.key]: `${str(v.storage)}:${str(v.size)},mp=${str(v.mp)}${v.backup === true ? ',backup=1' : ''}` }),
};

/** Grow a disk: PUT .../resize with "+<n>G". */
export const resizeFields: FieldDef[] = [{ key: 'grow', label: 'Size increment', unit: 'GiB', kind: 'number', required: true, min: 0.001, step: 'any', hint: 'disks only grow' }];
