// What every page shares: the cluster's resources and the node's tasks, polled while the
// tab is visible and refreshed at once when a task this page started ends.
import { computed, signal } from '@preact/signals';
import { api, p } from './api';

export interface Resource {
  id: string; // "lxc/101", "qemu/100", "node/localhost", "storage/localhost/local", "pool/x"
  type: 'lxc' | 'qemu' | 'node' | 'storage' | 'pool' | string;
  node?: string;
  vmid?: number;
  name?: string;
  status?: string;
  tags?: string;
  template?: number;
  lock?: string;
  pool?: string;
  storage?: string;
  content?: string;
  plugintype?: string;
  cpu?: number;
  maxcpu?: number;
  mem?: number;
  maxmem?: number;
  disk?: number;
  maxdisk?: number;
  uptime?: number;
  netin?: number;
  netout?: number;
}

export interface Task {
  upid: string;
  node: string;
  type: string;
  id: string;
  user: string;
  starttime: number;
  endtime?: number;
  status?: string; // absent or "RUNNING" while it runs; "OK", "WARNINGS: n" or the error after
  pid?: number;
}

export const resources = signal<Resource[]>([]);
export const resourcesError = signal<string | null>(null);
export const resourcesLoaded = signal(false);
export const tasks = signal<Task[]>([]);

export const nodes = computed(() => resources.value.filter((r) => r.type === 'node'));
/** Berth runs one node today; the UI asks for the first one where a node is needed. */
export const nodeName = computed(() => nodes.value[0]?.node ?? 'localhost');
export const guests = computed(() =>
  resources.value.filter((r) => r.type === 'lxc' || r.type === 'qemu').sort((a, b) => (a.vmid ?? 0) - (b.vmid ?? 0)),
);

export function guestById(kind: string, vmid: number): Resource | undefined {
  return resources.value.find((r) => r.type === kind && r.vmid === vmid);
}

export async function refreshResources(): Promise<void> {
  try {
    resources.value = await api.get<Resource[]>('/cluster/resources');
    resourcesError.value = null;
  } catch (e) {
    resourcesError.value = (e as Error).message;
  } finally {
    resourcesLoaded.value = true;
  }
}

export async function refreshTasks(): Promise<void> {
  try {
    const list = await api.get<Task[]>(p`/nodes/${nodeName.value}/tasks`, { source: 'all', limit: 50 });
    tasks.value = list.sort((a, b) => b.starttime - a.starttime);
  } catch {
    /* the panel keeps what it had; resourcesError already tells of a lost server */
  }
}

export function isRunning(t: Task): boolean {
  return !t.endtime && (!t.status || t.status.toLowerCase() === 'running');
}

// Every 2 s when nothing happens; every 0.5 s while any task runs on the node (whoever
// started it), so a guest that another user or a script starts shows as running within half a
// second of its task's end rather than up to 2 s later. (A task shorter than one poll is
// seen only by its effect, on the next poll.)
const POLL_IDLE_MS = 2000;
const POLL_BUSY_MS = 500;
let timer: number | undefined;

async function poll() {
  if (document.visibilityState === 'visible') await Promise.all([refreshResources(), refreshTasks()]);
  if (timer === undefined) return; // stopped meanwhile
  timer = window.setTimeout(poll, tasks.value.some(isRunning) ? POLL_BUSY_MS : POLL_IDLE_MS);
}

export function startPolling() {
  if (timer !== undefined) return;
  timer = 0;
  void poll();
}

export function stopPolling() {
  clearTimeout(timer);
  timer = undefined;
  resources.value = [];
  tasks.value = [];
  resourcesLoaded.value = false;
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && timer !== undefined) {
    void refreshResources();
    void refreshTasks();
  }
});

export interface TaskStatus {
  status: 'running' | 'stopped';
  exitstatus?: string;
  upid: string;
}

/** Follow a task to its end (looking again after 100 ms, doubling to 1 s), then refresh
 *  the tree and the task list. Resolves with the exit status ("OK" or the error). */
export async function followTask(upid: string): Promise<string> {
  const node = upid.split(':')[1] || nodeName.value;
  void refreshTasks();
  let wait = 100;
  for (;;) {
    const st = await api.get<TaskStatus>(p`/nodes/${node}/tasks/${upid}/status`);
    if (st.status === 'stopped') {
      await Promise.all([refreshResources(), refreshTasks()]);
      return st.exitstatus ?? 'unknown';
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 1000);
  }
}
