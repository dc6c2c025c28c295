// A guest's summary: its live status (polled status/current) with CPU, memory and disk
// meters, the highlights of its configuration, and its graphs.
import { api, p } from '../../api';
import { bytes, duration, percent, tagList } from '../../format';
import type { Resource } from '../../state';
import { RrdGraphs } from '../../components/RrdGraphs';
import { Facts, Usage, usePoll, type Fact } from '../../components/summary';
import { ErrorBox, StatusDot } from '../../components/ui';

interface GuestStatus {
  status: string;
  qmpstatus?: string;
  name?: string;
  uptime?: number;
  cpu?: number;
  cpus?: number;
  mem?: number;
  maxmem?: number;
  swap?: number;
  maxswap?: number;
  disk?: number;
  maxdisk?: number;
  pid?: number;
  accel?: string;
  lock?: string;
}

type GuestConfig = Record<string, string | number | undefined>;

const STATUS_MS = 3000;

/** PVE's words for the VM OS types; containers name their distribution. */
const QEMU_OSTYPES: Record<string, string> = {
  l26: 'Linux 6.x - 2.6 Kernel',
  l24: 'Linux 2.4 Kernel',
  win11: 'Microsoft Windows 11/2022/2025',
  win10: 'Microsoft Windows 10/2016/2019',
  win8: 'Microsoft Windows 8.x/2012/2012r2',
  win7: 'Microsoft Windows 7/2008r2',
  w2k8: 'Microsoft Windows Vista/2008',
  wxp: 'Microsoft Windows XP/2003',
  w2k: 'Microsoft Windows 2000',
  solaris: 'Solaris Kernel',
  other: 'Other',
};

const num = (v: unknown) => (v === undefined || v === '' ? undefined : Number(v));
const mib = (v: unknown) => (num(v) === undefined ? undefined : bytes(num(v)! * 1024 * 1024));

const STATUS_FACTS: Fact<GuestStatus>[] = [
  { label: 'Uptime', value: (s) => (s.status === 'running' ? duration(s.uptime) : undefined) },
  { label: 'QEMU state', value: (s) => (s.qmpstatus && s.qmpstatus !== s.status ? s.qmpstatus : undefined) },
  { label: 'Accelerator', value: (s) => (s.accel ? s.accel.toUpperCase() : undefined) },
  { label: 'Process', value: (s) => s.pid },
  { label: 'Lock', value: (s) => s.lock },
];

const CONFIG_FACTS: Record<'lxc' | 'qemu', Fact<GuestConfig>[]> = {
  lxc: [
    { label: 'Hostname', value: (c) => c.hostname },
    { label: 'OS type', value: (c) => c.ostype },
    { label: 'Architecture', value: (c) => c.arch },
    { label: 'Cores', value: (c) => c.cores ?? 'all of the host’s' },
    { label: 'CPU limit', value: (c) => c.cpulimit },
    { label: 'Memory', value: (c) => mib(c.memory ?? 512) },
    { label: 'Swap', value: (c) => mib(c.swap ?? 512) },
    { label: 'Root disk', value: (c) => c.rootfs },
    { label: 'Start at boot', value: (c) => (Number(c.onboot) ? 'Yes' : 'No') },
    { label: 'Unprivileged', value: (c) => (c.unprivileged === undefined ? undefined : Number(c.unprivileged) ? 'Yes' : 'No') },
  ],
  qemu: [
    { label: 'Name', value: (c) => c.name },
    { label: 'OS type', value: (c) => (c.ostype ? (QEMU_OSTYPES[String(c.ostype)] ?? c.ostype) : undefined) },
    {
      label: 'Processors',
      value: (c) => {
        const sockets = num(c.sockets) ?? 1;
        const cores = num(c.cores) ?? 1;
        return `${sockets * cores} (${sockets} socket${sockets === 1 ? '' : 's'}, ${cores} core${cores === 1 ? '' : 's'})${c.cpu ? ` ${c.cpu}` : ''}`;
      },
    },
    { label: 'Memory', value: (c) => mib(c.memory ?? 512) },
    { label: 'BIOS', value: (c) => (c.bios === 'ovmf' ? 'OVMF (UEFI)' : 'SeaBIOS') },
    { label: 'Machine', value: (c) => c.machine },
    { label: 'Boot order', value: (c) => c.boot },
    { label: 'Start at boot', value: (c) => (Number(c.onboot) ? 'Yes' : 'No') },
  ],
};

function Tags({ tags }: { tags?: string | number }) {
  const list = tagList(tags === undefined ? undefined : String(tags));
  if (!list.length) return <span class="empty">none</span>;
  return (
    <>
      {list.map((t) => (
        <span class="tag" key={t}>
          {t}
        </span>
      ))}
    </>
  );
}

export function GuestSummary({ guest }: { guest: Resource }) {
  const kind = guest.type === 'qemu' ? 'qemu' : 'lxc';
  const base = p`/nodes/${guest.node ?? ''}/${kind}/${guest.vmid ?? 0}`;
  const status = usePoll(() => api.get<GuestStatus>(`${base}/status/current`), STATUS_MS, base);
  // the config rarely changes: read it again when the tree says the guest did (name, tags, lock)
  const config = usePoll(() => api.get<GuestConfig>(`${base}/config`), 0, `${base}|${guest.name}|${guest.tags}|${guest.lock}|${guest.status}`);
  const s = status.data;
  const c = config.data;

  return (
    <div class="guest-summary">
      <div class="summary-cards">
        <section class="card" aria-label="Status">
          <h2>Status</h2>
          <ErrorBox error={status.error} />
          {!s ? (
            !status.error && <p aria-busy="true">Loading…</p>
          ) : (
            <>
              <p class="status-line" data-testid="guest-status">
                <StatusDot status={s.status} /> <span>{s.status}</span>
              </p>
              <Facts of={s} facts={STATUS_FACTS} label="Live status" />
              <Usage
                label="CPU"
                text={`${percent(s.cpu)} of ${s.cpus ?? '?'} CPU${s.cpus === 1 ? '' : 's'}`}
                value={s.cpu}
                max={1}
              />
              <Usage label="Memory" text={`${bytes(s.mem)} of ${bytes(s.maxmem)}`} value={s.mem} max={s.maxmem} />
              {kind === 'lxc' && !!s.maxswap && (
                <Usage label="Swap" text={`${bytes(s.swap)} of ${bytes(s.maxswap)}`} value={s.swap} max={s.maxswap} />
              )}
              {s.disk ? (
                <Usage label="Root disk" text={`${bytes(s.disk)} of ${bytes(s.maxdisk)}`} value={s.disk} max={s.maxdisk} />
              ) : (
                <Facts of={s} label="Disk" facts={[{ label: 'Boot disk size', value: (x) => (x.maxdisk ? bytes(x.maxdisk) : undefined) }]} />
              )}
            </>
          )}
        </section>
        <section class="card" aria-label="Configuration">
          <h2>Configuration</h2>
          <ErrorBox error={config.error} />
          {!c ? (
            !config.error && <p aria-busy="true">Loading…</p>
          ) : (
            <>
              <Facts
                of={c}
                label="Configuration highlights"
                facts={[...CONFIG_FACTS[kind], { label: 'Tags', value: (x) => <Tags tags={x.tags} /> }]}
              />
              {c.description !== undefined && c.description !== '' && (
                <p class="description" aria-label="Description">
                  {String(c.description)}
                </p>
              )}
            </>
          )}
        </section>
      </div>
      <RrdGraphs path={`${base}/rrddata`} kind="guest" />
    </div>
  );
}
