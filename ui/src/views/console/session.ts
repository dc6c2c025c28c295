// Console sessions as the API hands them out (docs/containers.md and docs/vms.md, Consoles):
// POST .../termproxy or .../vncproxy answers {port, ticket, user, upid[, password]}, and
// GET .../vncwebsocket?port=..&vncticket=.. upgrades to the websocket that reaches it. The
// ticket lives 40 s and the session waits 10 s for its connection, so every (re)connect
// starts a fresh session.
import { api, API_BASE, p } from '../../api';

export type Kind = 'lxc' | 'qemu';

/** term: a CT's console; serial: a VM's serial socket (both xterm.js); vnc: a VM's display. */
export type Mode = 'term' | 'serial' | 'vnc';

export interface ConsoleSession {
  port: number;
  ticket: string;
  user: string;
  upid: string;
  /** vncproxy with generate-password: the VNC Authentication password of this session */
  password?: string;
}

/** What a live connection offers the component, whatever speaks underneath. */
export interface Connection {
  close(): void;
  focus(): void;
  ctrlAltDel?(): void;
}

export interface ConnectionEvents {
  connected(): void;
  /** the session ended by itself (not by close()); reason is a sentence for the user */
  closed(reason: string): void;
}

export function startSession(node: string, kind: Kind, vmid: number, mode: Mode, serial?: string): Promise<ConsoleSession> {
  if (mode === 'vnc') {
    // PVE's client asks for a password too: the session then does VNC Authentication with
    // it, a second secret besides the vncticket (which travels in the URL)
    return api.post<ConsoleSession>(p`/nodes/${node}/qemu/${vmid}/vncproxy`, { websocket: 1, 'generate-password': 1 });
  }
  return api.post<ConsoleSession>(p`/nodes/${node}/${kind}/${vmid}/termproxy`, kind === 'qemu' && serial ? { serial } : {});
}

export function websocketUrl(node: string, kind: Kind, vmid: number, s: ConsoleSession): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = new URLSearchParams({ port: String(s.port), vncticket: s.ticket });
  return `${scheme}//${location.host}${API_BASE}${p`/nodes/${node}/${kind}/${vmid}/vncwebsocket`}?${query}`;
}

/** Why a websocket closed, in words; the browser hides the HTTP status of a refused upgrade. */
export function closeReason(ev: CloseEvent, opened: boolean, what: string): string {
  if (!opened) return `Could not open the connection to the ${what} (the server refused the websocket).`;
  if (ev.reason) return `The ${what} closed the connection: ${ev.reason}`;
  if (ev.code === 1000 || ev.code === 1005) return `The ${what} session ended.`;
  return `The connection to the ${what} was lost (websocket code ${ev.code}).`;
}
