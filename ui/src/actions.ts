// Guest power actions, shared by the tree's pages, the guest header and bulk selection:
// confirm where Proxmox users expect it, start the task, follow it, say how it ended.
import { api, p } from './api';
import { confirmAction, errorText, toast } from './components/ui';
import { followTask, nodeName, refreshResources, type Resource } from './state';

export type GuestAction = 'start' | 'stop' | 'shutdown' | 'reboot' | 'suspend' | 'resume' | 'reset' | 'destroy';

interface ActionInfo {
  label: string;
  /** asked before acting; undefined = no question */
  confirm?: (name: string) => string;
  danger?: boolean;
  only?: 'qemu' | 'lxc';
  when: (status: string) => boolean;
}

export const ACTIONS: Record<GuestAction, ActionInfo> = {
  start: { label: 'Start', when: (s) => s === 'stopped' },
  shutdown: { label: 'Shutdown', confirm: (n) => `Shut down ${n}?`, when: (s) => s === 'running' },
  reboot: { label: 'Reboot', confirm: (n) => `Reboot ${n}?`, when: (s) => s === 'running' },
  stop: {
    label: 'Stop',
    confirm: (n) => `Stop ${n} now? This is like pulling the power cord: unsaved data inside is lost.`,
    danger: true,
    when: (s) => s === 'running' || s === 'paused',
  },
  suspend: { label: 'Suspend', confirm: (n) => `Suspend ${n}?`, when: (s) => s === 'running' },
  resume: { label: 'Resume', when: (s) => s === 'paused' || s === 'suspended' },
  reset: { label: 'Reset', confirm: (n) => `Reset ${n}?`, danger: true, only: 'qemu', when: (s) => s === 'running' },
  destroy: {
    label: 'Destroy',
    confirm: (n) => `Destroy ${n} and all its disks? This cannot be undone.`,
    danger: true,
    when: (s) => s === 'stopped',
  },
};

export function guestName(g: Resource): string {
  const kind = g.type === 'qemu' ? 'VM' : 'CT';
  return g.name ? `${kind} ${g.vmid} (${g.name})` : `${kind} ${g.vmid}`;
}

/** The status a guest's actions depend on; a suspended VM reports "running" + qmpstatus. */
export function actionsFor(g: Resource, status = g.status ?? 'unknown'): GuestAction[] {
  if (g.template) return ['destroy'];
  return (Object.keys(ACTIONS) as GuestAction[]).filter((a) => {
    const info = ACTIONS[a];
    return (!info.only || info.only === g.type) && info.when(status);
  });
}

async function startTask(g: Resource, action: GuestAction): Promise<string> {
  const node = g.node ?? nodeName.value;
  if (action === 'destroy') return api.del<string>(p`/nodes/${node}/${g.type}/${g.vmid!}`, { purge: 1 });
  return api.post<string>(p`/nodes/${node}/${g.type}/${g.vmid!}/status/${action}`);
}

/** Run one action on one guest; resolves true when its task ended OK. */
export async function runGuestAction(g: Resource, action: GuestAction, ask = true): Promise<boolean> {
  const info = ACTIONS[action];
  const name = guestName(g);
  if (ask && info.confirm && !(await confirmAction(`${info.label} ${name}`, info.confirm(name), info.label, info.danger)))
    return false;
  try {
    const upid = await startTask(g, action);
    const exit = await followTask(upid);
    if (exit === 'OK' || exit.startsWith('WARNINGS')) {
      toast(`${info.label}: ${name} — ${exit}`);
      return true;
    }
    toast(`${info.label} ${name} failed: ${exit}`, true);
  } catch (e) {
    toast(`${info.label} ${name}: ${errorText(e)}`, true);
    void refreshResources();
  }
  return false;
}

/** Bulk start/stop of selected guests: one question, the tasks run side by side. */
export async function runBulk(list: Resource[], action: 'start' | 'shutdown' | 'stop'): Promise<void> {
  const eligible = list.filter((g) => actionsFor(g).includes(action));
  if (eligible.length === 0) {
    toast(`none of the selected guests can ${action}`, true);
    return;
  }
  const info = ACTIONS[action];
  const names = eligible.map((g) => g.vmid).join(', ');
  if (!(await confirmAction(`${info.label} ${eligible.length} guests`, `${info.label} ${names}?`, info.label, info.danger)))
    return;
  await Promise.all(eligible.map((g) => runGuestAction(g, action, false)));
}
