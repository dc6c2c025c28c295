// A node's summary: GET /nodes/{node}/status polled (CPU, load, memory, swap, root disk,
// kernel and versions), then the node's graphs.
import { api, p } from '../../api';
import { bytes, duration, percent } from '../../format';
import { RrdGraphs } from '../../components/RrdGraphs';
import { Facts, Usage, usePoll, type Fact } from '../../components/summary';
import { ErrorBox } from '../../components/ui';

interface Space {
  total: number;
  used: number;
  free?: number;
  avail?: number;
}

interface NodeStatus {
  uptime?: number;
  loadavg?: string[];
  kversion?: string;
  'boot-info'?: { mode: string; secureboot?: number };
  cpuinfo?: { cpus: number; cores: number; sockets: number; model: string; mhz?: string };
  cpu?: number;
  wait?: number;
  memory?: Space;
  swap?: Space;
  rootfs?: Space;
  ksm?: { shared: number };
  pveversion?: string;
  berthversion?: string;
}

const STATUS_MS = 3000;

const FACTS: Fact<NodeStatus>[] = [
  { label: 'Uptime', value: (s) => duration(s.uptime) },
  { label: 'Load average', value: (s) => s.loadavg?.join(', ') },
  { label: 'IO delay', value: (s) => percent(s.wait, 2) },
  {
    label: 'CPU',
    value: (s) =>
      s.cpuinfo &&
      `${s.cpuinfo.cpus} × ${s.cpuinfo.model} (${s.cpuinfo.sockets} socket${s.cpuinfo.sockets === 1 ? '' : 's'})`,
  },
  { label: 'Kernel', value: (s) => s.kversion },
  {
    label: 'Boot mode',
    value: (s) => s['boot-info'] && (s['boot-info'].mode === 'efi' ? `EFI${s['boot-info'].secureboot ? ' (Secure Boot)' : ''}` : 'Legacy BIOS'),
  },
  { label: 'Manager version', value: (s) => s.pveversion },
  { label: 'Berth version', value: (s) => s.berthversion },
];

function SpaceUsage({ label, space }: { label: string; space?: Space }) {
  if (!space) return null;
  const f = space.total ? space.used / space.total : undefined;
  return <Usage label={label} text={`${percent(f)} (${bytes(space.used)} of ${bytes(space.total)})`} value={space.used} max={space.total} />;
}

export function NodeSummary({ node }: { node: string }) {
  const base = p`/nodes/${node}`;
  const st = usePoll(() => api.get<NodeStatus>(`${base}/status`), STATUS_MS, base);
  const s = st.data;
  return (
    <div class="node-summary">
      <ErrorBox error={st.error} />
      {!s ? (
        !st.error && <p aria-busy="true">Loading…</p>
      ) : (
        <div class="summary-cards">
          <section class="card" aria-label="Usage">
            <h2>Usage</h2>
            <Usage label="CPU usage" text={`${percent(s.cpu)} of ${s.cpuinfo?.cpus ?? '?'} CPUs`} value={s.cpu} max={1} />
            <SpaceUsage label="Memory usage" space={s.memory} />
            {!!s.swap?.total && <SpaceUsage label="Swap usage" space={s.swap} />}
            <SpaceUsage label="Root file system" space={s.rootfs} />
          </section>
          <section class="card" aria-label="Node status">
            <h2>Status</h2>
            <Facts of={s} facts={FACTS} label="Node facts" />
          </section>
        </div>
      )}
      <RrdGraphs path={`${base}/rrddata`} kind="node" />
    </div>
  );
}
