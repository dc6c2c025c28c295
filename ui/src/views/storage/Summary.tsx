// A storage's summary: what it is (type, content, path) and how full
// (GET .../storage/{storage}/status, polled), then its usage graph.
import { api, ApiError, p } from '../../api';
import { bytes, percent } from '../../format';
import type { Resource } from '../../state';
import { RrdGraphs } from '../../components/RrdGraphs';
import { Facts, Usage, usePoll, type Fact } from '../../components/summary';
import { ErrorBox } from '../../components/ui';
import { contentName } from './contentTypes';

interface StorageStatus {
  type: string;
  content: string;
  enabled?: number;
  active?: number;
  shared?: number;
  total?: number;
  used?: number;
  avail?: number;
}

/** The storage's definition; only its path is shown, and only users who may read it see it. */
interface StorageConfig {
  path?: string;
  pool?: string;
  nodes?: string;
}

const STATUS_MS = 5000;

const TYPES: Record<string, string> = { dir: 'Directory', btrfs: 'BTRFS', lvm: 'LVM', lvmthin: 'LVM-Thin', zfspool: 'ZFS', nfs: 'NFS', cifs: 'SMB/CIFS' };

const yesNo = (v?: number) => (v === undefined ? undefined : v ? 'Yes' : 'No');

const FACTS: Fact<StorageStatus & { config?: StorageConfig }>[] = [
  { label: 'Type', value: (s) => TYPES[s.type] ?? s.type },
  {
    label: 'Content',
    value: (s) =>
      s.content
        .split(',')
        .filter(Boolean)
        .map(contentName)
        .join(', '),
  },
  { label: 'Path', value: (s) => s.config?.path },
  { label: 'Pool', value: (s) => s.config?.pool },
  { label: 'Enabled', value: (s) => yesNo(s.enabled) },
  { label: 'Active', value: (s) => yesNo(s.active) },
  { label: 'Shared', value: (s) => yesNo(s.shared) },
  { label: 'Available', value: (s) => (s.avail === undefined ? undefined : bytes(s.avail)) },
];

export function StorageSummary({ storage }: { storage: Resource }) {
  const node = storage.node ?? '';
  const id = storage.storage ?? '';
  const base = p`/nodes/${node}/storage/${id}`;
  const st = usePoll(() => api.get<StorageStatus>(`${base}/status`), STATUS_MS, base);
  // /storage/{id} needs Datastore.Allocate; without it the page simply has no path
  const cfg = usePoll(
    () => api.get<StorageConfig>(p`/storage/${id}`).catch((e) => (e instanceof ApiError && e.status === 403 ? {} : Promise.reject(e))),
    0,
    id,
  );
  const s = st.data;
  const f = s?.total ? (s.used ?? 0) / s.total : undefined;
  return (
    <div class="storage-summary">
      <ErrorBox error={st.error ?? cfg.error} />
      {!s ? (
        !st.error && <p aria-busy="true">Loading…</p>
      ) : (
        <div class="summary-cards">
          <section class="card" aria-label="Storage status">
            <h2>Status</h2>
            <Usage label="Usage" text={`${percent(f)} (${bytes(s.used)} of ${bytes(s.total)})`} value={s.used} max={s.total} />
            <Facts of={{ ...s, config: cfg.data }} facts={FACTS} label="Storage facts" />
          </section>
        </div>
      )}
      <RrdGraphs path={`${base}/rrddata`} kind="storage" />
    </div>
  );
}
