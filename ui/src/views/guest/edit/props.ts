// Proxmox property strings ("local:vm-100-disk-0,cache=writeback,size=8G") read into an
// ordered list of key/value pairs and written back, so an edit changes only the properties
// its dialog shows and keeps the rest as they were.

export type Props = [string, string][];

/** `first` names a leading value without "key=" (PVE's default_key: file, volume, model). */
export function parseProps(s: string, first?: string): Props {
  const out: Props = [];
  s.split(',').forEach((part, i) => {
    if (!part) return;
    const eq = part.indexOf('=');
    if (eq < 0) out.push([i === 0 && first ? first : part, i === 0 && first ? part : '1']);
    else out.push([part.slice(0, eq), part.slice(eq + 1)]);
  });
  return out;
}

export function getProp(p: Props, key: string): string | undefined {
  return p.find(([k]) => k === key)?.[1];
}

/** Set (or with undefined/'' remove) properties, keeping the order of the others. */
export function setProps(p: Props, changes: Record<string, string | undefined>): Props {
  const out = p.map(([k, v]) => [k, v] as [string, string]);
  for (const [k, v] of Object.entries(changes)) {
    const i = out.findIndex(([x]) => x === k);
    if (v === undefined || v === '') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i][1] = v;
    else out.push([k, v]);
  }
  return out;
}

export function buildProps(p: Props, first?: string): string {
  return p.map(([k, v], i) => (i === 0 && first && k === first ? v : `${k}=${v}`)).join(',');
}

/** A VM NIC leads with "<model>=<mac>": split it into model and macaddr. */
export const NIC_MODEL_NAMES = ['virtio', 'e1000', 'e1000e', 'rtl8139', 'vmxnet3', 'i82551', 'i82557b', 'i82559er', 'ne2k_isa', 'ne2k_pci', 'pcnet'];

export function parseVmNic(s: string): { model: string; mac: string; rest: Props } {
  const p = parseProps(s);
  const i = p.findIndex(([k]) => NIC_MODEL_NAMES.includes(k));
  const [model, mac] = i >= 0 ? p[i] : ['virtio', ''];
  return { model, mac: mac === '1' ? '' : mac, rest: p.filter((_, j) => j !== i && !(p[j][0] === 'model' || p[j][0] === 'macaddr')) };
}

export function buildVmNic(model: string, mac: string, rest: Props): string {
  return [mac ? `${model}=${mac}` : model, ...rest.map(([k, v]) => `${k}=${v}`)].join(',');
}
