// A time-series chart: uPlot (loaded lazily, its own chunk) drawing several named series in
// one unit, with our own legend that shows the values under the cursor (the latest ones when
// the cursor is away), colours from the theme's CSS variables, and a text summary for screen
// readers. It follows its container's width and redraws when the theme changes.
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { theme } from '../theme';
import { datetime } from '../format';
import { formatTick, formatTimeTicks, formatValue, type Unit } from './units';
import './charts.css';

export interface ChartSeries {
  label: string;
  /** one value per time; null where unknown (drawn as a gap) */
  values: (number | null)[];
  /** a line only, no area under it (e.g. a limit such as total memory) */
  line?: boolean;
}

export interface ChartProps {
  title: string;
  unit: Unit;
  /** epoch seconds, ascending */
  times: number[];
  series: ChartSeries[];
  height?: number;
}

let loader: Promise<typeof uPlot> | undefined;
function loadUplot(): Promise<typeof uPlot> {
  loader ??= Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([m]) => m.default);
  return loader;
}

/** The chart palette and chrome, read from charts.css's variables at draw time. */
function colors() {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return {
    series: [1, 2, 3, 4].map((i) => v(`--chart-${i}`)),
    grid: v('--chart-grid'),
    axis: v('--muted'),
    font: `12px ${getComputedStyle(document.body).fontFamily}`,
  };
}

/** A colour with alpha, for the area under a line; accepts #rgb/#rrggbb. */
function fade(color: string, alpha: number): string {
  const m = color.match(/^#([0-9a-f]{3}|[0-9a-f]{6})$/i);
  if (!m) return color;
  const h = m[1].length === 3 ? [...m[1]].map((c) => c + c).join('') : m[1];
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** Axis ticks that land on round numbers of the unit (1 KiB, 512 MiB, ... for bytes). */
function increments(unit: Unit): number[] | undefined {
  if (unit !== 'bytes' && unit !== 'bytes/s') return undefined;
  const out: number[] = [];
  for (let k = 0; k < 6; k++) for (const m of [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]) out.push(m * 1024 ** k);
  return out;
}

function lastKnown(values: (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
}

/** "CPU 5.0% (max 12.0%)" for each series: the summary screen readers get. */
function summary(props: ChartProps): string {
  const parts = props.series.map((s) => {
    const known = s.values.filter((v): v is number => v !== null);
    if (!known.length) return `${s.label}: no data`;
    const max = Math.max(...known);
    return `${s.label}: latest ${formatValue(lastKnown(s.values), props.unit)}, highest ${formatValue(max, props.unit)}`;
  });
  return `${props.title}. ${parts.join('; ')}.`;
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [palette, setPalette] = useState<string[]>([]);
  const height = props.height ?? 180;
  const titleId = useId();
  const latest = useRef(props);
  latest.current = props;
  const dark = theme.value; // read so a theme change re-renders and rebuilds the plot

  // (re)build when the theme, the unit or the set of series changes; data alone only updates
  const shape = `${props.unit}|${props.series.map((s) => `${s.label}:${s.line ? 1 : 0}`).join(',')}|${dark}`;
  useEffect(() => {
    let gone = false;
    let u: uPlot | null = null;
    let ro: ResizeObserver | undefined;
    const media = matchMedia('(prefers-color-scheme: dark)');
    const rebuild = () => build();
    const build = async () => {
      let UPlot: typeof uPlot;
      try {
        UPlot = await loadUplot();
      } catch (e) {
        setFailed(`The chart library did not load: ${(e as Error).message}`);
        return;
      }
      if (gone || !box.current) return;
      u?.destroy();
      const c = colors();
      setPalette(c.series);
      const p = latest.current;
      const opts: uPlot.Options = {
        width: Math.max(box.current.clientWidth, 100),
        height,
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { size: 6 } },
        scales: {
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] },
        },
        axes: [
          {
            stroke: c.axis,
            grid: { stroke: c.grid, width: 1 },
            ticks: { stroke: c.grid, width: 1 },
            font: c.font,
            space: 72, // "09:51:30" must not run into its neighbour on a phone
            values: (_u, splits, _ax, _space, incr) => formatTimeTicks(splits, incr),
          },
          {
            stroke: c.axis,
            grid: { stroke: c.grid, width: 1 },
            ticks: { stroke: c.grid, width: 1 },
            font: c.font,
            size: 70,
            incrs: increments(p.unit),
            values: (_u, splits, _ax, _space, incr) => splits.map((v) => formatTick(v, p.unit, incr)),
          },
        ],
        series: [
          {},
          ...p.series.map((s, i) => ({
            label: s.label,
            stroke: c.series[i % c.series.length],
            width: 1.5,
            fill: s.line ? undefined : fade(c.series[i % c.series.length], 0.15),
            points: { show: false },
          })),
        ],
        hooks: {
          setCursor: [(self) => setCursor(self.cursor.idx ?? null)],
        },
      };
      u = new UPlot(opts, [p.times, ...p.series.map((s) => s.values)] as uPlot.AlignedData, box.current);
      plot.current = u;
    };
    void build();
    if (typeof ResizeObserver !== 'undefined' && box.current) {
      ro = new ResizeObserver(() => {
        const w = box.current?.clientWidth;
        if (u && w && Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
      });
      ro.observe(box.current);
    }
    // the system theme can flip while "system" is chosen
    if (dark === 'system') media.addEventListener('change', rebuild);
    return () => {
      gone = true;
      ro?.disconnect();
      media.removeEventListener('change', rebuild);
      u?.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData([props.times, ...props.series.map((s) => s.values)] as uPlot.AlignedData);
  }, [props.times, props.series]);

  const idx = cursor !== null && cursor < props.times.length ? cursor : null;
  const at = (s: ChartSeries) => (idx !== null ? s.values[idx] : lastKnown(s.values));
  const empty = props.times.length === 0 || props.series.every((s) => s.values.every((v) => v === null));
  return (
    <figure class="chart" aria-labelledby={titleId} data-empty={empty ? 'true' : undefined}>
      <figcaption>
        <h3 id={titleId}>{props.title}</h3>
        <span class="chart-when">{idx !== null ? datetime(props.times[idx]) : 'latest'}</span>
      </figcaption>
      <ul class="chart-legend" aria-label={`${props.title} legend`}>
        {props.series.map((s, i) => (
          <li key={s.label}>
            <span class="swatch" style={{ background: palette[i % (palette.length || 1)] }} aria-hidden="true" />
            <span class="name">{s.label}</span> <span class="value">{formatValue(at(s), props.unit)}</span>
          </li>
        ))}
      </ul>
      <div class="chart-area" style={{ height: `${height}px` }} aria-hidden="true">
        <div class="chart-plot" ref={box} />
        {empty && <p class="chart-empty">No data for this timeframe yet</p>}
      </div>
      {failed && <p class="error">{failed}</p>}
      <p class="sr-only">{summary(props)}</p>
    </figure>
  );
}
