// A guest's config as rows: each key with its current value, its pending value and whether
// its deletion is pending, from GET .../pending (PVE's shape, for VMs and containers), and
// the digest and the values as they will be from GET .../config.
import { api, p } from '../../../api';

export interface Row {
  key: string;
  value?: string;
  pending?: string;
  delete?: boolean;
}

export interface GuestConfig {
  rows: Map<string, Row>;
  digest: string;
  /** the config as it will be (pending applied) */
  effective: Record<string, string>;
}

type Raw = Record<string, string | number>;
const HIDDEN = new Set(['digest']);

function strings(o: Raw): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (!HIDDEN.has(k)) out[k] = String(v);
  return out;
}

export async function loadConfig(kind: 'lxc' | 'qemu', node: string, vmid: number): Promise<GuestConfig> {
  const base = p`/nodes/${node}/${kind}/${vmid}`;
  const rows = new Map<string, Row>();
  const [cfg, pending] = await Promise.all([
    api.get<Raw>(`${base}/config`),
    api.get<{ key: string; value?: string | number; pending?: string | number; delete?: number }[]>(`${base}/pending`),
  ]);
  for (const e of pending) {
    if (HIDDEN.has(e.key)) continue;
    rows.set(e.key, {
      key: e.key,
      value: e.value === undefined ? undefined : String(e.value),
      pending: e.pending === undefined ? undefined : String(e.pending),
      delete: !!e.delete,
    });
  }
  return { rows, digest: String(cfg.digest ?? ''), effective: strings(cfg) };
}

export function isPending(r: Row): boolean {
  return r.pending !== undefined || !!r.delete;
}
