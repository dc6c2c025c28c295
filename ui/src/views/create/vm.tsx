// The VM wizard as data: PVE's steps (General, OS, System, Disks, CPU, Memory, Network) and
// the POST /nodes/{node}/qemu parameters they make.
import { str, type FieldDef, type Values } from '../../components/form';
import { clean, DNS_NAME, nodeField, num, tagsField, tagsParam, vmidField, vmidFree } from './common';
import { formatsOf, storageOptions, volumeOptions } from './data';
import type { WizardData, WizardSpec } from './types';

export const OSTYPES = [
  { value: 'l26', label: 'Linux 6.x – 2.6 kernel' },
  { value: 'l24', label: 'Linux 2.4 kernel' },
  { value: 'win11', label: 'Windows 11/2022/2025' },
  { value: 'win10', label: 'Windows 10/2016/2019' },
  { value: 'win8', label: 'Windows 8/2012/2012r2' },
  { value: 'win7', label: 'Windows 7/2008r2' },
  { value: 'w2k8', label: 'Windows Vista/2008' },
  { value: 'wxp', label: 'Windows XP/2003' },
  { value: 'w2k', label: 'Windows 2000' },
  { value: 'solaris', label: 'Solaris' },
  { value: 'other', label: 'Other' },
];

export const CPU_TYPES = ['kvm64', 'x86-64-v2-AES', 'x86-64-v2', 'x86-64-v3', 'x86-64-v4', 'host', 'max', 'qemu64'].map((c) => ({
  value: c,
  label: c === 'kvm64' ? 'kvm64 (default)' : c,
}));

export const NIC_MODELS = [
  { value: 'virtio', label: 'VirtIO (paravirtualized)' },
  { value: 'e1000', label: 'Intel E1000' },
  { value: 'rtl8139', label: 'Realtek RTL8139' },
  { value: 'vmxnet3', label: 'VMware vmxnet3' },
];

export const SCSI_HW = [
  { value: 'virtio-scsi-single', label: 'VirtIO SCSI single' },
  { value: 'virtio-scsi-pci', label: 'VirtIO SCSI' },
  { value: 'lsi', label: 'LSI 53C895A' },
  { value: 'megasas', label: 'MegaRAID SAS 8708EM2' },
  { value: 'pvscsi', label: 'VMware PVSCSI' },
];

/** Disk buses and how many devices each takes (qemu-server's limits). */
export const BUSES: Record<string, { label: string; max: number }> = {
  scsi: { label: 'SCSI', max: 30 },
  virtio: { label: 'VirtIO Block', max: 15 },
  sata: { label: 'SATA', max: 5 },
  ide: { label: 'IDE', max: 3 },
};

const cdrom = (v: Values) => v.media === 'iso';
const diskKey = (v: Values) => `${str(v.bus)}${str(v.device)}`;

function formatOptions(d: WizardData, storage: string) {
  const s = (d.storages.images ?? []).find((x) => x.storage === storage);
  return formatsOf(s).map((f) => ({ value: f, label: f === 'raw' ? 'Raw disk image (raw)' : f === 'qcow2' ? 'QEMU image format (qcow2)' : 'VMware image format (vmdk)' }));
}

/** The disk fields; `wizard` adds the check that ide2 is taken by the wizard's CD-ROM. */
export function diskFields(d: WizardData, wizard = true): FieldDef[] {
  return [
    { key: 'bus', label: 'Bus', kind: 'select', required: true, options: Object.entries(BUSES).map(([value, b]) => ({ value, label: b.label })) },
    {
      key: 'device',
      label: 'Device',
      kind: 'number',
      required: true,
      min: 0,
      check: (s, v) => {
        const max = BUSES[str(v.bus)]?.max ?? 0;
        if (Number(s) > max) return `at most ${max} on ${str(v.bus)}`;
        if (wizard && cdrom(v) && diskKey(v) === 'ide2') return 'ide2 holds the CD-ROM';
        return undefined;
      },
    },
    { key: 'storage', label: 'Storage', kind: 'select', required: true, options: storageOptions(d.storages.images ?? []) },
    { key: 'size', label: 'Disk size', unit: 'GiB', kind: 'number', required: true, min: 0.001, max: 131072, step: 'any' },
    {
      key: 'format',
      label: 'Format',
      kind: 'select',
      options: (v) => [{ value: '', label: 'storage default' }, ...formatOptions(d, str(v.storage))],
      when: (v) => formatOptions(d, str(v.storage)).length > 1,
    },
  ];
}

export const VM_WIZARD: WizardSpec = {
  kind: 'qemu',
  title: 'Create: Virtual machine',
  contents: ['images', 'iso'],
  volumeContents: ['iso'],
  secret: [],
  steps: [
    {
      id: 'general',
      label: 'General',
      params: ['vmid', 'name', 'tags', 'pool'],
      verify: vmidFree,
      fields: (d) => [
        nodeField(d),
        vmidField('VM'),
        { key: 'name', label: 'Name', kind: 'text', pattern: DNS_NAME, patternText: 'a DNS name (letters, digits, -, .)', placeholder: 'vm1' },
        tagsField,
      ],
    },
    {
      id: 'os',
      label: 'OS',
      params: ['ide2', 'ostype'],
      fields: (d) => [
        {
          key: 'media',
          label: 'CD/DVD',
          kind: 'select',
          required: true,
          wide: true,
          options: [
            { value: 'iso', label: 'Use a CD/DVD disc image file (ISO)' },
            { value: 'none', label: 'Do not use any media' },
          ],
        },
        { key: 'isostorage', label: 'Storage', kind: 'select', required: true, options: storageOptions(d.storages.iso ?? []), when: cdrom },
        { key: 'iso', label: 'ISO image', kind: 'select', required: true, options: (v) => volumeOptions(d.volumes.iso?.[str(v.isostorage)]), when: cdrom },
        { key: 'ostype', label: 'Guest OS', kind: 'select', required: true, options: OSTYPES, wide: true },
      ],
    },
    {
      id: 'system',
      label: 'System',
      params: ['machine', 'bios', 'efidisk0', 'scsihw'],
      fields: (d) => [
        { key: 'machine', label: 'Machine', kind: 'select', required: true, options: [{ value: 'i440fx', label: 'Default (i440fx)' }, { value: 'q35', label: 'q35' }] },
        { key: 'scsihw', label: 'SCSI controller', kind: 'select', required: true, options: SCSI_HW },
        { key: 'bios', label: 'BIOS', kind: 'select', required: true, options: [{ value: 'seabios', label: 'Default (SeaBIOS)' }, { value: 'ovmf', label: 'OVMF (UEFI)' }] },
        { key: 'efistorage', label: 'EFI disk storage', kind: 'select', required: true, options: storageOptions(d.storages.images ?? []), when: (v) => v.bios === 'ovmf' },
      ],
    },
    {
      id: 'disks',
      label: 'Disks',
      params: ['scsi0', 'virtio0', 'sata0', 'ide0'],
      intro: (v) => <p class="step-intro">The disk is created as <code>{diskKey(v)}</code>.</p>,
      fields: (d) => diskFields(d),
    },
    {
      id: 'cpu',
      label: 'CPU',
      params: ['sockets', 'cores', 'cpu'],
      fields: () => [
        { key: 'sockets', label: 'Sockets', kind: 'number', required: true, min: 1, max: 4 },
        { key: 'cores', label: 'Cores', kind: 'number', required: true, min: 1, max: 8192 },
        { key: 'cpu', label: 'Type', kind: 'select', required: true, options: CPU_TYPES },
      ],
    },
    {
      id: 'memory',
      label: 'Memory',
      params: ['memory', 'balloon'],
      fields: () => [
        { key: 'memory', label: 'Memory', unit: 'MiB', kind: 'number', required: true, min: 16 },
        { key: 'ballooning', label: 'Ballooning device', kind: 'check' },
        {
          key: 'balloon',
          label: 'Minimum memory',
          unit: 'MiB',
          kind: 'number',
          min: 0,
          when: (v) => v.ballooning === true,
          check: (s, v) => (Number(s) > Number(str(v.memory)) ? 'at most the memory' : undefined),
          hint: 'empty or equal to memory: no balloon target',
        },
      ],
    },
    {
      id: 'network',
      label: 'Network',
      params: ['net0'],
      fields: () => [
        { key: 'nonet', label: 'No network device', kind: 'check', wide: true },
        { key: 'bridge', label: 'Bridge', kind: 'text', required: true, pattern: /^[A-Za-z0-9_.-]{1,15}$/, patternText: 'a bridge name', when: (v) => v.nonet !== true },
        { key: 'model', label: 'Model', kind: 'select', required: true, options: NIC_MODELS, when: (v) => v.nonet !== true },
        { key: 'macaddr', label: 'MAC address', kind: 'text', placeholder: 'auto', pattern: /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, patternText: 'six hex pairs, e.g. BC:24:11:00:00:01', when: (v) => v.nonet !== true },
        { key: 'firewall', label: 'Firewall', kind: 'check', when: (v) => v.nonet !== true },
      ],
    },
  ],
  initial: (d: WizardData): Values => {
    const isostorage = d.storages.iso?.[0]?.storage ?? '';
    const iso = d.volumes.iso?.[isostorage]?.[0]?.volid ?? '';
    const images = d.storages.images?.[0]?.storage ?? '';
    return {
      media: iso ? 'iso' : 'none',
      isostorage,
      iso,
      ostype: 'l26',
      machine: 'i440fx',
      scsihw: 'virtio-scsi-single',
      bios: 'seabios',
      efistorage: images,
      bus: 'scsi',
      device: '0',
      storage: images,
      size: '32',
      format: '',
      sockets: '1',
      cores: '1',
      cpu: 'kvm64',
      memory: '2048',
      ballooning: true,
      balloon: '',
      bridge: 'vmbr0',
      model: 'virtio',
      firewall: false,
    };
  },
  build: (v) => {
    const fmt = str(v.format);
    const disk = `${str(v.storage)}:${num(v, 'size')}${fmt ? `,format=${fmt}` : ''}`;
    const balloon = v.ballooning !== true ? 0 : num(v, 'balloon') === num(v, 'memory') ? undefined : num(v, 'balloon');
    let net0: string | undefined;
    if (v.nonet !== true) {
      const mac = str(v.macaddr).trim();
      net0 = `${str(v.model)}${mac ? `=${mac.toUpperCase()}` : ''},bridge=${str(v.bridge)}${v.firewall === true ? ',firewall=1' : ''}`;
    }
    return clean({
      vmid: num(v, 'vmid'),
      name: str(v.name).trim(),
      tags: tagsParam(str(v.tags)),
      ostype: str(v.ostype),
      ide2: cdrom(v) ? `${str(v.iso)},media=cdrom` : undefined,
      machine: v.machine === 'q35' ? 'q35' : undefined,
      bios: v.bios === 'ovmf' ? 'ovmf' : undefined,
      efidisk0: v.bios === 'ovmf' ? `${str(v.efistorage)}:1,efitype=4m` : undefined,
      scsihw: str(v.scsihw),
      [diskKey(v)]: disk,
      sockets: num(v, 'sockets'),
      cores: num(v, 'cores'),
      cpu: v.cpu === 'kvm64' ? undefined : str(v.cpu),
      memory: num(v, 'memory'),
      balloon,
      net0,
    });
  },
};
