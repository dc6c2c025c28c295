// What the summary pages share: a polled API read, a facts list made from a table of rows,
// and a usage meter with its words ("1.2 GiB of 4 GiB").
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Meter } from './ui';
import './charts.css';

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Call load now, then every `ms` while the tab is visible (and at once when it becomes
 *  visible again). A new key starts over; the last good data stays while an error shows. */
export function usePoll<T>(load: () => Promise<T>, ms: number, key: string): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const [tick, setTick] = useState(0);

  useEffect(() => {
    setData(undefined);
    setError(null);
    setLoading(true);
  }, [key]);

  useEffect(() => {
    let gone = false;
    let timer: number | undefined;
    const run = async () => {
      clearTimeout(timer);
      if (document.visibilityState === 'visible') {
        try {
          const d = await loadRef.current();
          if (gone) return;
          setData(d);
          setError(null);
        } catch (e) {
          if (gone) return;
          setError(e);
        } finally {
          if (!gone) setLoading(false);
        }
      }
      if (!gone && ms > 0) timer = window.setTimeout(run, ms);
    };
    const onVisible = () => document.visibilityState === 'visible' && void run();
    void run();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      gone = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [key, ms, tick]);

  return { data, error, loading, reload: () => setTick((t) => t + 1) };
}

export interface Fact<T> {
  label: string;
  /** undefined hides the row: a fact the object does not have */
  value: (o: T) => ComponentChildren | undefined;
}

/** A definition list from a table of facts, leaving out what the object lacks. */
export function Facts<T>({ of, facts, label }: { of: T; facts: Fact<T>[]; label: string }) {
  const rows = facts.map((f) => [f.label, f.value(of)] as const).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return (
    <dl class="facts" aria-label={label}>
      {rows.map(([k, v]) => (
        <div key={k} style={{ display: 'contents' }}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A labelled meter with its figures beside the label. */
export function Usage({ label, text, value, max }: { label: string; text: string; value?: number; max?: number }) {
  return (
    <div class="usage">
      <div class="usage-head">
        <span class="usage-label">{label}</span>
        <span class="usage-text">{text}</span>
      </div>
      <Meter value={value} max={max} label={`${label}: ${text}`} />
    </div>
  );
}
