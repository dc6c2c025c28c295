// The task panel at the bottom: running tasks first, then recent ones; a click opens the
// log, which follows a running task and shows a progress bar when the task reports one.
import { signal } from '@preact/signals';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, p } from '../api';
import { datetime, duration, taskName } from '../format';
import { isRunning, tasks, type Task, type TaskStatus } from '../state';
import { ErrorBox, Modal } from './ui';

export const openTask = signal<string | null>(null);
const panelOpen = signal(localStorage.getItem('berth.tasks') !== 'closed');

function statusClass(t: Task): string {
  if (isRunning(t)) return 'running';
  if (t.status === 'OK') return 'ok';
  if (t.status?.startsWith('WARNINGS')) return 'warn';
  return 'failed';
}

export function TaskPanel() {
  const list = tasks.value;
  const running = list.filter(isRunning);
  const toggle = () => {
    panelOpen.value = !panelOpen.value;
    localStorage.setItem('berth.tasks', panelOpen.value ? 'open' : 'closed');
  };
  return (
    <section class={panelOpen.value ? 'taskpanel open' : 'taskpanel'} aria-label="Tasks">
      <button type="button" class="taskpanel-head" aria-expanded={panelOpen.value} onClick={toggle}>
        Tasks {running.length > 0 && <span class="badge">{running.length} running</span>}
      </button>
      {panelOpen.value && (
        <div class="taskpanel-body">
          <table class="grid">
            <thead>
              <tr>
                <th>Start</th>
                <th>End</th>
                <th>User</th>
                <th>Description</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {[...running, ...list.filter((t) => !isRunning(t))].map((t) => (
                <tr key={t.upid} class={`task ${statusClass(t)}`} tabIndex={0} data-upid={t.upid}
                  onClick={() => (openTask.value = t.upid)}
                  onKeyDown={(e) => e.key === 'Enter' && (openTask.value = t.upid)}>
                  <td>{datetime(t.starttime)}</td>
                  <td>{t.endtime ? datetime(t.endtime) : ''}</td>
                  <td>{t.user}</td>
                  <td>{taskName(t.type, t.id)}</td>
                  <td class="status">{isRunning(t) ? <span class="spinner" aria-label="running" /> : t.status}</td>
                </tr>
              ))}
              {list.length === 0 && (
                <tr>
                  <td colSpan={5} class="empty">
                    no tasks yet
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      {openTask.value && <TaskLog upid={openTask.value} onClose={() => (openTask.value = null)} />}
    </section>
  );
}

interface LogLine {
  n: number;
  t: string;
}

/** The last progress a task logged: "(42.00%)" as PVE's copy tasks, or "progress 3/10". */
export function progressOf(lines: LogLine[]): number | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const t = lines[i].t;
    let m = /\((\d+(?:\.\d+)?)%\)\s*$/.exec(t);
    if (m) return Math.min(100, parseFloat(m[1])) / 100;
    m = /^progress (\d+)\/(\d+)$/.exec(t);
    if (m && +m[2] > 0) return Math.min(1, +m[1] / +m[2]);
  }
  return null;
}

export function TaskLog({ upid, onClose }: { upid: string; onClose: () => void }) {
  const node = upid.split(':')[1];
  const [lines, setLines] = useState<LogLine[]>([]);
  const [status, setStatus] = useState<TaskStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  const bottom = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let stop = false;
    let have: LogLine[] = [];
    async function follow() {
      while (!stop) {
        try {
          const st = await api.get<TaskStatus>(p`/nodes/${node}/tasks/${upid}/status`);
          const more = await api.get<LogLine[]>(p`/nodes/${node}/tasks/${upid}/log`, { start: have.length, limit: 5000 });
          const fresh = more.filter((l) => l.n > have.length);
          if (fresh.length) {
            have = [...have, ...fresh];
            setLines(have);
          }
          setStatus(st);
          if (st.status === 'stopped') return;
        } catch (e) {
          setError(e);
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    void follow();
    return () => {
      stop = true;
    };
  }, [upid]);

  useEffect(() => bottom.current?.scrollIntoView({ block: 'end' }), [lines.length]);

  const running = !status || status.status === 'running';
  const progress = progressOf(lines);
  const exit = status?.exitstatus;
  const parts = upid.split(':');
  const started = parseInt(parts[4] ?? '0', 16);
  return (
    <Modal title={`Task: ${taskName(parts[5] ?? '', parts[6])}`} onClose={onClose} wide>
      <p class="task-meta">
        {running ? 'running' : exit === 'OK' || exit?.startsWith('WARNINGS') ? `finished: ${exit}` : 'failed'}
        {started ? ` · started ${datetime(started)}` : ''}
        {running && started ? ` · ${duration(Date.now() / 1000 - started)}` : ''}
      </p>
      {progress !== null && (
        <progress class="task-progress" max={1} value={progress} aria-label="Task progress">
          {Math.round(progress * 100)}%
        </progress>
      )}
      {!running && exit && exit !== 'OK' && !exit.startsWith('WARNINGS') && (
        <p class="error" role="alert">
          {exit}
        </p>
      )}
      <ErrorBox error={error} />
      <pre class="tasklog" aria-label="Task log">
        {lines.map((l) => l.t).join('\n')}
        <div ref={bottom} />
      </pre>
      <p class="upid">
        <code>{upid}</code>
      </p>
    </Modal>
  );
}
