// The units graphs and summaries speak: how a value of each is written, in full (legends,
// screen-reader text) or short (axis ticks).
import { bytes, percent } from '../format';

export type Unit = 'bytes' | 'bytes/s' | 'percent' | 'plain';

/** "1.50 GiB" → "1.5 GiB": axis ticks read better without trailing zeros. */
function trim(s: string): string {
  return s.replace(/\.0+(?=\D|$)|(\.\d*?)0+(?=\D|$)/, '$1');
}

export function formatValue(v: number | null | undefined, unit: Unit, short = false): string {
  if (v === null || v === undefined || !isFinite(v)) return '–';
  switch (unit) {
    case 'bytes':
      return short ? trim(bytes(v)) : bytes(v);
    case 'bytes/s':
      return `${short ? trim(bytes(v)) : bytes(v)}/s`;
    case 'percent':
      // a fraction, 0..1
      return short ? trim(percent(v, v !== 0 && Math.abs(v) < 0.1 ? 1 : 0)) : percent(v);
    case 'plain':
      return short ? trim(v.toFixed(2)) : v.toFixed(2);
  }
}

/** An axis tick: as many decimals as the distance between ticks needs, no more. */
export function formatTick(v: number, unit: Unit, incr: number): string {
  const digits = (step: number) => (step >= 1 || step <= 0 ? 0 : Math.min(6, Math.ceil(-Math.log10(step) - 1e-9)));
  switch (unit) {
    case 'percent':
      return `${(v * 100).toFixed(digits(incr * 100))}%`;
    case 'plain':
      return v.toFixed(digits(incr));
    default:
      return formatValue(v, unit, true);
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Time ticks in the UI's 24-hour, year-month-day way: "14:30" (the date under the first tick
 *  of each day), "11-23" for days, "2026-11" for months. */
export function formatTimeTicks(splits: number[], incr: number): string[] {
  return splits.map((t, i) => {
    const d = new Date(t * 1000);
    const ymd = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    if (incr >= 28 * 86400) return `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;
    if (incr >= 86400) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}${incr < 60 ? `:${pad(d.getSeconds())}` : ''}`;
    const prev = i > 0 ? new Date(splits[i - 1] * 1000) : null;
    return !prev || prev.getDate() !== d.getDate() ? `${hm}\n${ymd}` : hm;
  });
}
