// xterm.js (loaded on first use, its own chunk) and the termproxy protocol of PVE's xterm.js
// client, which Berth's console sessions speak (src/api/t-console.c):
//   client → server: "<user>:<ticket>\n" first (answered "OK"), then "0:<bytes>:<data>" for
//   input, "1:<cols>:<rows>:" for the size, "2" as a keep-alive;
//   server → client: the terminal's raw bytes.
import type { Terminal, ITheme } from '@xterm/xterm';
import { closeReason, type Connection, type ConnectionEvents, type ConsoleSession } from './session';

const PING_MS = 30_000;

// Both palettes keep every ANSI colour readable on their background; "white" is a grey on
// the light one, as programs assume a dark terminal when they print white.
const DARK: ITheme = {
  background: '#0e1117',
  foreground: '#e4e8ef',
  cursor: '#7fb0ff',
  cursorAccent: '#0e1117',
  selectionBackground: 'rgba(79, 143, 247, 0.4)',
  black: '#2a303c',
  red: '#f87171',
  green: '#4ade80',
  yellow: '#facc15',
  blue: '#60a5fa',
  magenta: '#e879f9',
  cyan: '#22d3ee',
  white: '#d1d5db',
  brightBlack: '#7b8494',
  brightRed: '#fca5a5',
  brightGreen: '#86efac',
  brightYellow: '#fde047',
  brightBlue: '#93c5fd',
  brightMagenta: '#f0abfc',
  brightCyan: '#67e8f9',
  brightWhite: '#f9fafb',
};

const LIGHT: ITheme = {
  background: '#ffffff',
  foreground: '#1c2330',
  cursor: '#2563eb',
  cursorAccent: '#ffffff',
  selectionBackground: 'rgba(37, 99, 235, 0.25)',
  black: '#1c2330',
  red: '#b91c1c',
  green: '#15803d',
  yellow: '#a16207',
  blue: '#1d4ed8',
  magenta: '#a21caf',
  cyan: '#0e7490',
  white: '#6b7280',
  brightBlack: '#4b5563',
  brightRed: '#dc2626',
  brightGreen: '#16a34a',
  brightYellow: '#ca8a04',
  brightBlue: '#2563eb',
  brightMagenta: '#c026d3',
  brightCyan: '#0891b2',
  brightWhite: '#374151',
};

export interface TermView {
  term: Terminal;
  setDark(dark: boolean): void;
  dispose(): void;
}

/** A terminal filling el, refitted whenever el changes size. */
export async function createTerminal(el: HTMLElement, dark: boolean): Promise<TermView> {
  const [{ Terminal }, { FitAddon }] = await Promise.all([
    import('@xterm/xterm'),
    import('@xterm/addon-fit'),
    import('@xterm/xterm/css/xterm.css'),
  ]);
  const term = new Terminal({
    fontFamily: getComputedStyle(document.documentElement).getPropertyValue('--mono').trim() || 'monospace',
    fontSize: 14,
    cursorBlink: true,
    scrollback: 5000,
    minimumContrastRatio: 3,
    theme: dark ? DARK : LIGHT,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(el);
  const refit = () => {
    if (el.clientWidth > 0 && el.clientHeight > 0) fit.fit();
  };
  const ro = new ResizeObserver(refit);
  ro.observe(el);
  refit();
  return {
    term,
    setDark: (d) => (term.options.theme = d ? DARK : LIGHT),
    dispose() {
      ro.disconnect();
      term.dispose();
    },
  };
}

/** Speak termproxy over a new websocket to the session s; the terminal shows its output. */
export function connectTermproxy(term: Terminal, url: string, s: ConsoleSession, ev: ConnectionEvents): Connection {
  const ws = new WebSocket(url, ['binary']);
  ws.binaryType = 'arraybuffer';
  const enc = new TextEncoder();
  let opened = false;
  let authed = false;
  let done = false;
  let pending = new Uint8Array(0); // bytes before "OK" was complete

  const send = (data: string | Uint8Array) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(typeof data === 'string' ? enc.encode(data) : data);
  };
  const sendInput = (bytes: Uint8Array) => {
    if (!authed || bytes.length === 0) return;
    const head = enc.encode(`0:${bytes.length}:`);
    const msg = new Uint8Array(head.length + bytes.length);
    msg.set(head);
    msg.set(bytes, head.length);
    send(msg);
  };
  const sendSize = () => authed && send(`1:${term.cols}:${term.rows}:`);

  const subs = [
    term.onData((d) => sendInput(enc.encode(d))),
    // mouse reports in X10 mode: one byte per char, not UTF-8
    term.onBinary((d) => sendInput(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff))),
    term.onResize(sendSize),
  ];
  const ping = window.setInterval(() => send('2'), PING_MS);

  const finish = (reason: string | null) => {
    if (done) return;
    done = true;
    clearInterval(ping);
    for (const d of subs) d.dispose();
    if (reason !== null) ev.closed(reason);
  };

  ws.onopen = () => {
    opened = true;
    send(`${s.user}:${s.ticket}\n`);
  };
  ws.onmessage = (m) => {
    let data = typeof m.data === 'string' ? enc.encode(m.data) : new Uint8Array(m.data as ArrayBuffer);
    if (!authed) {
      const all = new Uint8Array(pending.length + data.length);
      all.set(pending);
      all.set(data, pending.length);
      if (all.length < 2) {
        pending = all;
        return;
      }
      if (all[0] !== 0x4f || all[1] !== 0x4b) {
        finish('The console did not accept the session ticket.');
        ws.close();
        return;
      }
      authed = true;
      data = all.subarray(2);
      sendSize();
      ev.connected();
    }
    if (data.length) term.write(data);
  };
  ws.onclose = (c) => finish(closeReason(c, opened, 'console'));

  return {
    close() {
      finish(null);
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(1000);
    },
    focus: () => term.focus(),
  };
}
