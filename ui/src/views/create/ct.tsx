// The container wizard as data: PVE's steps (General, Template, Disks, CPU, Memory, Network,
// DNS) and the POST /nodes/{node}/lxc parameters they make.
import { str, type Values } from '../../components/form';
import { clean, DNS_NAME, IPV4, IPV4_CIDR, nodeField, num, tagsField, tagsParam, vmidField, vmidFree } from './common';
import { storageOptions, volumeOptions } from './data';
import type { WizardData, WizardSpec } from './types';

const isStatic = (v: Values) => v.net === true && v.ipv4 === 'static';

export const CT_WIZARD: WizardSpec = {
  kind: 'lxc',
  title: 'Create: LXC container',
  contents: ['vztmpl', 'rootdir'],
  volumeContents: ['vztmpl'],
  secret: ['password'],
  steps: [
    {
      id: 'general',
      label: 'General',
      params: ['vmid', 'hostname', 'unprivileged', 'password', 'ssh-public-keys', 'tags', 'pool'],
      verify: vmidFree,
      fields: (d) => [
        nodeField(d),
        vmidField('CT'),
        { key: 'hostname', label: 'Hostname', kind: 'text', pattern: DNS_NAME, patternText: 'a DNS name (letters, digits, -, .)', placeholder: 'ct1' },
        { key: 'unprivileged', label: 'Unprivileged container', kind: 'check', hint: 'root inside is not root on the host' },
        {
          key: 'password',
          label: 'Password',
          kind: 'password',
          check: (s, v) =>
            s ? (s.length < 5 ? 'at least 5 characters' : undefined) : str(v['ssh-public-keys']).trim() ? undefined : 'a password or an SSH key is needed',
        },
        { key: 'password2', label: 'Confirm password', kind: 'password', check: (s, v) => (s !== str(v.password) ? 'the passwords differ' : undefined) },
        { key: 'ssh-public-keys', label: 'SSH public keys', kind: 'textarea', placeholder: 'ssh-ed25519 AAAA… user@host', hint: 'one key per line (OpenSSH format)' },
        tagsField,
      ],
    },
    {
      id: 'template',
      label: 'Template',
      params: ['ostemplate'],
      fields: (d) => [
        { key: 'tstorage', label: 'Storage', kind: 'select', required: true, options: storageOptions(d.storages.vztmpl ?? []) },
        {
          key: 'ostemplate',
          label: 'Template',
          kind: 'select',
          required: true,
          options: (v) => volumeOptions(d.volumes.vztmpl?.[str(v.tstorage)]),
          hint: 'upload or build templates on a storage with “Container template” content',
        },
      ],
    },
    {
      id: 'disks',
      label: 'Disks',
      params: ['rootfs', 'storage'],
      fields: (d) => [
        { key: 'rootstorage', label: 'Root disk storage', kind: 'select', required: true, options: storageOptions(d.storages.rootdir ?? []) },
        { key: 'rootsize', label: 'Disk size', unit: 'GiB', kind: 'number', required: true, min: 0.1, max: 131072, step: 'any' },
      ],
    },
    {
      id: 'cpu',
      label: 'CPU',
      params: ['cores', 'cpulimit', 'cpuunits'],
      fields: () => [
        { key: 'cores', label: 'Cores', kind: 'number', min: 1, max: 8192, placeholder: 'all', hint: 'empty: the container may use every host core' },
        { key: 'cpulimit', label: 'CPU limit', kind: 'number', min: 0, max: 8192, step: 'any', placeholder: 'unlimited' },
      ],
    },
    {
      id: 'memory',
      label: 'Memory',
      params: ['memory', 'swap'],
      fields: () => [
        { key: 'memory', label: 'Memory', unit: 'MiB', kind: 'number', required: true, min: 16 },
        { key: 'swap', label: 'Swap', unit: 'MiB', kind: 'number', required: true, min: 0 },
      ],
    },
    {
      id: 'network',
      label: 'Network',
      params: ['net0'],
      fields: () => [
        { key: 'net', label: 'Network device (net0)', kind: 'check', wide: true },
        { key: 'netname', label: 'Name', kind: 'text', required: true, pattern: /^[A-Za-z0-9_.-]{1,15}$/, patternText: 'an interface name (up to 15 characters)', when: (v) => v.net === true },
        { key: 'bridge', label: 'Bridge', kind: 'text', required: true, pattern: /^[A-Za-z0-9_.-]{1,15}$/, patternText: 'a bridge name', when: (v) => v.net === true },
        {
          key: 'ipv4',
          label: 'IPv4',
          kind: 'select',
          required: true,
          when: (v) => v.net === true,
          options: [
            { value: 'dhcp', label: 'DHCP' },
            { value: 'static', label: 'Static' },
            { value: 'none', label: 'None' },
          ],
        },
        { key: 'ip', label: 'IPv4/CIDR', kind: 'text', required: true, pattern: IPV4_CIDR, patternText: 'an address with its prefix, e.g. 10.0.0.5/24', placeholder: '10.0.0.5/24', when: isStatic },
        { key: 'gw', label: 'Gateway (IPv4)', kind: 'text', pattern: IPV4, patternText: 'an IPv4 address', placeholder: '10.0.0.1', when: isStatic },
      ],
    },
    {
      id: 'dns',
      label: 'DNS',
      params: ['nameserver', 'searchdomain'],
      intro: () => <p class="step-intro">Leave both empty to use the host's settings.</p>,
      fields: () => [
        { key: 'searchdomain', label: 'DNS domain', kind: 'text', pattern: DNS_NAME, patternText: 'a DNS name' },
        { key: 'nameserver', label: 'DNS servers', kind: 'text', placeholder: '1.1.1.1 9.9.9.9', check: (s) => (s.split(/[ ,;]+/).filter(Boolean).every((a) => IPV4.test(a) || /^[0-9a-fA-F:]+$/.test(a)) ? undefined : 'IP addresses separated by spaces') },
      ],
    },
  ],
  initial: (d: WizardData): Values => {
    const tstorage = d.storages.vztmpl?.[0]?.storage ?? '';
    return {
      unprivileged: true,
      tstorage,
      ostemplate: d.volumes.vztmpl?.[tstorage]?.[0]?.volid ?? '',
      rootstorage: d.storages.rootdir?.[0]?.storage ?? '',
      rootsize: '4',
      cores: '1',
      memory: '512',
      swap: '512',
      net: true,
      netname: 'eth0',
      bridge: 'vmbr0',
      ipv4: 'dhcp',
    };
  },
  build: (v) => {
    let net0: string | undefined;
    if (v.net === true) {
      const parts = [`name=${str(v.netname)}`, `bridge=${str(v.bridge)}`];
      if (v.ipv4 === 'dhcp') parts.push('ip=dhcp');
      if (isStatic(v)) parts.push(`ip=${str(v.ip)}`, ...(str(v.gw) ? [`gw=${str(v.gw)}`] : []));
      net0 = parts.join(',');
    }
    return clean({
      vmid: num(v, 'vmid'),
      hostname: str(v.hostname).trim(),
      unprivileged: v.unprivileged === true ? 1 : 0,
      password: str(v.password),
      'ssh-public-keys': str(v['ssh-public-keys']).trim(),
      tags: tagsParam(str(v.tags)),
      ostemplate: str(v.ostemplate),
      rootfs: `${str(v.rootstorage)}:${num(v, 'rootsize')}`,
      cores: num(v, 'cores'),
      cpulimit: num(v, 'cpulimit'),
      memory: num(v, 'memory'),
      swap: num(v, 'swap'),
      net0,
      searchdomain: str(v.searchdomain).trim(),
      nameserver: str(v.nameserver).trim().split(/[ ,;]+/).filter(Boolean).join(' '),
    });
  },
};
