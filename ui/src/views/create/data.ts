// What the wizards load before they can offer choices: the node's storages by content type,
// the template and ISO volumes on them, and the next free VMID.
import { api, p } from '../../api';
import type { Option } from '../../components/form';
import { bytes } from '../../format';

export interface StorageInfo {
  storage: string;
  type: string;
  content: string;
  active?: number;
  enabled?: number;
  avail?: number;
  total?: number;
}

export interface Volume {
  volid: string;
  size?: number;
  format?: string;
}

/** Image formats a storage type can hold; the first is what Berth allocates by default.
 *  (The storage API does not report formats, so this follows PVE's plugins.) */
const FORMATS: Record<string, string[]> = {
  dir: ['raw', 'qcow2', 'vmdk'],
  nfs: ['raw', 'qcow2', 'vmdk'],
  cifs: ['raw', 'qcow2', 'vmdk'],
  btrfs: ['raw'],
};

export function formatsOf(s: StorageInfo | undefined): string[] {
  return (s && FORMATS[s.type]) ?? [];
}

export function storageOptions(list: StorageInfo[]): Option[] {
  return list.map((s) => ({
    value: s.storage,
    label: s.avail !== undefined ? `${s.storage} (${s.type}, ${bytes(s.avail)} free)` : `${s.storage} (${s.type})`,
  }));
}

export function volumeOptions(list: Volume[] | undefined): Option[] {
  return (list ?? []).map((v) => ({
    value: v.volid,
    label: v.volid.replace(/^[^:]+:(vztmpl|iso)\//, '') + (v.size ? ` (${bytes(v.size)})` : ''),
  }));
}

export async function storagesWith(node: string, content: string): Promise<StorageInfo[]> {
  const list = await api.get<StorageInfo[]>(p`/nodes/${node}/storage`, { content, enabled: 1 });
  return list.filter((s) => s.active !== 0).sort((a, b) => a.storage.localeCompare(b.storage));
}

/** The volumes of one content type on each of the given storages, by storage. */
export async function volumesOn(node: string, storages: StorageInfo[], content: string): Promise<Record<string, Volume[]>> {
  const out: Record<string, Volume[]> = {};
  await Promise.all(
    storages.map(async (s) => {
      const vols = await api.get<Volume[]>(p`/nodes/${node}/storage/${s.storage}/content`, { content });
      out[s.storage] = vols.sort((a, b) => a.volid.localeCompare(b.volid));
    }),
  );
  return out;
}

export function nextId(vmid?: string): Promise<number | string> {
  return api.get<number | string>('/cluster/nextid', vmid ? { vmid } : {});
}
