// A task the wizard (or an edit dialog) started, followed to its end: a spinner while it
// runs, its log as it grows, and how it ended.
import { useEffect, useState } from 'preact/hooks';
import { api, p } from '../../api';

interface LogLine {
  n: number;
  t: string;
}

/** `exit` is undefined while the task runs, then "OK" or the error text. */
export function TaskView({ upid, exit, title }: { upid: string; exit?: string; title: string }) {
  const node = upid.split(':')[1];
  const [lines, setLines] = useState<string[]>([]);
  useEffect(() => {
    let stop = false;
    let timer: number | undefined;
    const load = async () => {
      try {
        const log = await api.get<LogLine[]>(p`/nodes/${node}/tasks/${upid}/log`, { start: 0, limit: 1000 });
        if (!stop) setLines(log.map((l) => l.t));
      } catch {
        /* the log is a courtesy; the status says how it went */
      }
      if (!stop && exit === undefined) timer = window.setTimeout(load, 700);
    };
    void load();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [upid, exit]);
  const ok = exit === 'OK' || exit?.startsWith('WARNINGS');
  return (
    <div class="task-view" aria-live="polite">
      <p class={`task-state ${exit === undefined ? 'running' : ok ? 'ok' : 'failed'}`} role={exit !== undefined && !ok ? 'alert' : 'status'}>
        {exit === undefined ? (
          <>
            <span class="spinner" aria-hidden="true" /> {title}…
          </>
        ) : ok ? (
          `${title}: ${exit}`
        ) : (
          `${title} failed: ${exit}`
        )}
      </p>
      <pre class="tasklog" aria-label="Task log">{lines.join('\n') || ' '}</pre>
    </div>
  );
}
