// The graphs of a node, guest or storage from its rrddata (Proxmox's round-robin data):
// a timeframe and consolidation choice, then one chart per entry of GRAPHS[kind]. The hour
// view refreshes every 10 s (the daemon samples that often), longer ones every minute.
import { signal } from '@preact/signals';
import { useMemo } from 'preact/hooks';
import { api } from '../api';
import { Chart, type ChartSeries } from './Chart';
import { usePoll } from './summary';
import { ErrorBox } from './ui';
import type { Unit } from './units';
import './charts.css';

export type RrdKind = 'node' | 'guest' | 'storage';

/** One rrddata row: epoch time and whichever data sources were known then. */
export type RrdRow = { time: number } & Partial<Record<string, number>>;

interface SeriesDef {
  label: string;
  key: string;
  line?: boolean;
}

interface GraphDef {
  title: string;
  unit: Unit;
  series: SeriesDef[];
}

/** Which graphs each kind shows, and which rrddata keys feed them (PVE's pve2-* names). */
export const GRAPHS: Record<RrdKind, GraphDef[]> = {
  guest: [
    { title: 'CPU usage', unit: 'percent', series: [{ label: 'CPU', key: 'cpu' }] },
    {
      title: 'Memory usage',
      unit: 'bytes',
      series: [
        { label: 'Used', key: 'mem' },
        { label: 'Total', key: 'maxmem', line: true },
      ],
    },
    {
      title: 'Network traffic',
      unit: 'bytes/s',
      series: [
        { label: 'In', key: 'netin' },
        { label: 'Out', key: 'netout' },
      ],
    },
    {
      title: 'Disk I/O',
      unit: 'bytes/s',
      series: [
        { label: 'Read', key: 'diskread' },
        { label: 'Write', key: 'diskwrite' },
      ],
    },
  ],
  node: [
    {
      title: 'CPU usage',
      unit: 'percent',
      series: [
        { label: 'CPU', key: 'cpu' },
        { label: 'IO delay', key: 'iowait' },
      ],
    },
    { title: 'Server load', unit: 'plain', series: [{ label: 'Load average', key: 'loadavg' }] },
    {
      title: 'Memory usage',
      unit: 'bytes',
      series: [
        { label: 'Used', key: 'memused' },
        { label: 'Total', key: 'memtotal', line: true },
        { label: 'Swap used', key: 'swapused' },
      ],
    },
    {
      title: 'Network traffic',
      unit: 'bytes/s',
      series: [
        { label: 'In', key: 'netin' },
        { label: 'Out', key: 'netout' },
      ],
    },
    {
      title: 'Root disk',
      unit: 'bytes',
      series: [
        { label: 'Used', key: 'rootused' },
        { label: 'Total', key: 'roottotal', line: true },
      ],
    },
  ],
  storage: [
    {
      title: 'Usage',
      unit: 'bytes',
      series: [
        { label: 'Used', key: 'used' },
        { label: 'Total', key: 'total', line: true },
      ],
    },
  ],
};

const TIMEFRAMES = [
  { id: 'hour', label: 'Hour', refresh: 10_000 },
  { id: 'day', label: 'Day', refresh: 60_000 },
  { id: 'week', label: 'Week', refresh: 60_000 },
  { id: 'month', label: 'Month', refresh: 300_000 },
  { id: 'year', label: 'Year', refresh: 300_000 },
] as const;
const CFS = [
  { id: 'AVERAGE', label: 'Average' },
  { id: 'MAX', label: 'Maximum' },
] as const;
type Timeframe = (typeof TIMEFRAMES)[number]['id'];
type Cf = (typeof CFS)[number]['id'];

// one choice for every page, kept across visits (PVE keeps it per browser too)
const KEY = 'berth.rrd';
function stored(): { timeframe: Timeframe; cf: Cf } {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? '{}');
    return {
      timeframe: TIMEFRAMES.some((t) => t.id === s.timeframe) ? s.timeframe : 'hour',
      cf: CFS.some((c) => c.id === s.cf) ? s.cf : 'AVERAGE',
    };
  } catch {
    return { timeframe: 'hour', cf: 'AVERAGE' };
  }
}
const choice = signal(stored());
function choose(c: Partial<{ timeframe: Timeframe; cf: Cf }>) {
  choice.value = { ...choice.value, ...c };
  localStorage.setItem(KEY, JSON.stringify(choice.value));
}

/** A row of radio buttons (arrow keys move the choice, as in a native radio group). */
function Choice<T extends string>(props: { label: string; options: readonly { id: T; label: string }[]; value: T; onChange: (v: T) => void }) {
  const move = (ev: KeyboardEvent, i: number) => {
    const step = ev.key === 'ArrowRight' || ev.key === 'ArrowDown' ? 1 : ev.key === 'ArrowLeft' || ev.key === 'ArrowUp' ? -1 : 0;
    if (!step) return;
    ev.preventDefault();
    const next = (i + step + props.options.length) % props.options.length;
    props.onChange(props.options[next].id);
    ((ev.currentTarget as HTMLElement).parentElement?.children[next] as HTMLElement | undefined)?.focus();
  };
  return (
    <div class="segmented" role="radiogroup" aria-label={props.label}>
      {props.options.map((o, i) => (
        <button
          key={o.id}
          type="button"
          role="radio"
          aria-checked={o.id === props.value}
          tabIndex={o.id === props.value ? 0 : -1}
          onClick={() => props.onChange(o.id)}
          onKeyDown={(ev) => move(ev, i)}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

/** The column of one key over the rows; null where a row lacks it. */
function column(rows: RrdRow[], key: string): (number | null)[] {
  return rows.map((r) => (typeof r[key] === 'number' ? (r[key] as number) : null));
}

export function RrdGraphs({ path, kind, title = 'Graphs' }: { path: string; kind: RrdKind; title?: string }) {
  const { timeframe, cf } = choice.value;
  const tf = TIMEFRAMES.find((t) => t.id === timeframe)!;
  const rrd = usePoll(() => api.get<RrdRow[]>(path, { timeframe, cf }), tf.refresh, `${path}|${timeframe}|${cf}`);
  const rows = rrd.data ?? [];

  const graphs = useMemo(() => {
    const times = rows.map((r) => r.time);
    return GRAPHS[kind].map((g) => ({
      ...g,
      times,
      series: g.series.map((s): ChartSeries => ({ label: s.label, line: s.line, values: column(rows, s.key) })),
    }));
  }, [rrd.data, kind]);

  return (
    <section class="rrd-graphs" aria-label={title} aria-busy={rrd.loading}>
      <div class="rrd-bar">
        <h2>{title}</h2>
        <Choice label="Timeframe" options={TIMEFRAMES} value={timeframe} onChange={(t) => choose({ timeframe: t })} />
        <Choice label="Consolidation" options={CFS} value={cf} onChange={(c) => choose({ cf: c })} />
      </div>
      <ErrorBox error={rrd.error} />
      {!rrd.data ? (
        // nothing to draw yet: loading, or refused (the error above says why)
        rrd.loading && (
          <p class="rrd-status" aria-busy="true">
            Loading graphs…
          </p>
        )
      ) : (
        <div class="charts">
          {graphs.map((g) => (
            <Chart key={g.title} title={g.title} unit={g.unit} times={g.times} series={g.series} />
          ))}
        </div>
      )}
    </section>
  );
}
