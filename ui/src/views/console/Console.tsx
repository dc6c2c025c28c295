// A guest's console, in its Console tab or alone in a window (#/console/<kind>/<vmid>/<mode>,
// ConsolePage): xterm.js on a CT's console or a VM's serial socket, noVNC on a VM's display.
// Each connect starts a fresh session (session.ts); leaving the tab closes the websocket and
// disposes the terminal.
import { effect } from '@preact/signals';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, p } from '../../api';
import { runGuestAction } from '../../actions';
import { ErrorBox, errorText, toast } from '../../components/ui';
import { guestById, nodeName } from '../../state';
import { effectiveDark, theme } from '../../theme';
import { startSession, websocketUrl, type Connection, type ConnectionEvents, type Kind, type Mode } from './session';
import { connectTermproxy, createTerminal, type TermView } from './terminal';
import { connectVnc } from './vnc';
import './console.css';

/** What a VM offers: its display (unless vga: none|serialN) and the serial socket to use. */
interface Modes {
  vnc: boolean;
  serial?: string;
  vga?: string;
}

type Phase =
  | 'loading' // the VM's config is not read yet
  | 'unavailable' // a VM with neither display nor serial socket
  | 'notrunning'
  | 'starting' // asking the API for a session
  | 'connecting' // the websocket and the protocol's handshake
  | 'connected'
  | 'disconnected'
  | 'failed' // the API refused the session
  | 'detached'; // handed over to a window of its own

interface State {
  phase: Phase;
  reason?: string;
  error?: unknown;
}

const MODE_LABEL: Record<Mode, string> = { term: 'Console', vnc: 'Display', serial: 'Serial' };

const STATUS: Record<Phase, string> = {
  loading: 'Loading…',
  unavailable: 'No console',
  notrunning: 'Not running',
  starting: 'Connecting…',
  connecting: 'Connecting…',
  connected: 'Connected',
  disconnected: 'Disconnected',
  failed: 'Disconnected',
  detached: 'In another window',
};

function vmModes(cfg: Record<string, unknown>): Modes {
  const vga = typeof cfg.vga === 'string' ? cfg.vga : undefined;
  const vgaType = vga?.split(',')[0] ?? '';
  const sockets = Object.keys(cfg)
    .filter((k) => /^serial[0-3]$/.test(k) && cfg[k] === 'socket')
    .sort();
  const serial = vgaType.startsWith('serial') && sockets.includes(vgaType) ? vgaType : sockets[0];
  return { vnc: vgaType !== 'none' && !vgaType.startsWith('serial'), serial, vga };
}

function resolveMode(kind: Kind, modes: Modes | null, wanted?: string): Mode | undefined {
  if (kind === 'lxc') return 'term';
  if (!modes) return undefined;
  if (wanted === 'vnc' && modes.vnc) return 'vnc';
  if (wanted === 'serial' && modes.serial) return 'serial';
  return modes.vnc ? 'vnc' : modes.serial ? 'serial' : undefined;
}

export function Console(props: { kind: Kind; vmid: number; running: boolean; mode?: string; standalone?: boolean }) {
  const { kind, vmid, running, standalone } = props;
  const guest = guestById(kind, vmid);
  const node = guest?.node ?? nodeName.value;
  const word = kind === 'qemu' ? 'VM' : 'CT';

  const [modes, setModes] = useState<Modes | null>(kind === 'lxc' ? { vnc: false } : null);
  const [modesError, setModesError] = useState<unknown>(null);
  const [wanted, setWanted] = useState(props.mode);
  const mode = resolveMode(kind, modes, wanted);
  const [attempt, setAttempt] = useState(0);
  // a state belongs to one connection attempt: after a switch of mode, a Reconnect or a
  // start, the previous attempt's "connected" must not show for a frame before the new
  // attempt's effect runs, so a state from another attempt reads as "starting"
  const session = `${mode ?? (modes ? 'none' : '')}/${running}/${attempt}`;
  const [tagged, setTagged] = useState<{ session: string; state: State }>({ session: '', state: { phase: 'loading' } });
  const state: State = tagged.session === session ? tagged.state : { phase: modes ? 'starting' : 'loading' };
  const setState = (s: State) => setTagged({ session, state: s });
  const [starting, setStarting] = useState(false);
  const [fullscreen, setFullscreen] = useState(false);
  const frame = useRef<HTMLDivElement>(null);
  const screen = useRef<HTMLDivElement>(null);
  const conn = useRef<Connection | null>(null);
  const termView = useRef<TermView | null>(null);

  // which consoles a VM has: its config (read again on Reconnect, it may have changed)
  useEffect(() => {
    if (kind !== 'qemu') return;
    let cancelled = false;
    api
      .get<Record<string, unknown>>(p`/nodes/${node}/qemu/${vmid}/config`)
      .then((cfg) => {
        if (cancelled) return;
        setModes(vmModes(cfg));
        setModesError(null);
      })
      .catch((e) => !cancelled && setModesError(e));
    return () => {
      cancelled = true;
    };
  }, [kind, vmid, node, attempt]);

  // the terminal lives as long as its mode; reconnects keep its scrollback
  useEffect(
    () => () => {
      termView.current?.dispose();
      termView.current = null;
    },
    [mode],
  );

  // one connection per (mode, running, attempt)
  useEffect(() => {
    if (!mode) {
      if (modes) setState({ phase: 'unavailable' });
      return;
    }
    if (!running) {
      setState({ phase: 'notrunning' });
      return;
    }
    let cancelled = false;
    let c: Connection | null = null;
    const events: ConnectionEvents = {
      connected: () => !cancelled && setState({ phase: 'connected' }),
      closed: (reason) => {
        if (cancelled) return;
        conn.current = null;
        setState({ phase: 'disconnected', reason });
      },
    };
    void (async () => {
      setState({ phase: 'starting' });
      try {
        let view: TermView | null = null;
        if (mode !== 'vnc') {
          view = termView.current ?? (await createTerminal(screen.current!, effectiveDark()));
          if (cancelled) {
            if (view !== termView.current) view.dispose();
            return;
          }
          termView.current = view;
        }
        const s = await startSession(node, kind, vmid, mode, modes?.serial);
        if (cancelled) return;
        setState({ phase: 'connecting' });
        const url = websocketUrl(node, kind, vmid, s);
        c = view ? connectTermproxy(view.term, url, s, events) : await connectVnc(screen.current!, url, s, events);
        if (cancelled) {
          c.close();
          return;
        }
        conn.current = c;
      } catch (e) {
        if (!cancelled) setState({ phase: 'failed', error: e });
      }
    })();
    return () => {
      cancelled = true;
      c?.close();
      conn.current = null;
    };
  }, [session, node, kind, vmid]);

  // keyboard focus goes to the guest once it is connected
  useEffect(() => {
    if (state.phase === 'connected') conn.current?.focus();
  }, [state.phase]);

  // the terminal's palette follows the page's theme
  useEffect(() => {
    const mq = matchMedia('(prefers-color-scheme: dark)');
    const apply = () => termView.current?.setDark(effectiveDark());
    mq.addEventListener('change', apply);
    const stop = effect(() => {
      void theme.value;
      apply();
    });
    return () => {
      stop();
      mq.removeEventListener('change', apply);
    };
  }, []);

  // in the page, the console takes the height left in the scrolling content area (the task
  // panel below it changes size); alone in a window, console.css makes it the window's
  useEffect(() => {
    const el = frame.current;
    const scroller = el?.closest('main') as HTMLElement | null;
    if (standalone || !el || !scroller) return;
    const fitHeight = () => {
      const top = el.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop;
      const avail = scroller.clientHeight - top - parseFloat(getComputedStyle(scroller).paddingBottom || '0');
      el.style.height = `${Math.max(320, Math.floor(avail))}px`;
    };
    const ro = new ResizeObserver(fitHeight);
    ro.observe(scroller);
    fitHeight();
    return () => ro.disconnect();
  }, [standalone]);

  useEffect(() => {
    const f = () => setFullscreen(!!frame.current && document.fullscreenElement === frame.current);
    document.addEventListener('fullscreenchange', f);
    return () => document.removeEventListener('fullscreenchange', f);
  }, []);

  const reconnect = () => setAttempt((a) => a + 1);

  const openWindow = () => {
    if (!mode) return;
    const url = `${location.pathname}${location.search}#/console/${kind}/${vmid}/${mode}`;
    const w = window.open(url, `berth-console-${kind}-${vmid}`, 'popup,width=1024,height=768');
    if (!w) {
      toast('The browser blocked the new window: allow pop-ups for this site.', true);
      return;
    }
    // one console per guest: a VM's serial socket serves one client at a time
    conn.current?.close();
    conn.current = null;
    setState({ phase: 'detached' });
  };

  const toggleFullscreen = async () => {
    try {
      if (document.fullscreenElement) await document.exitFullscreen();
      else await frame.current?.requestFullscreen();
    } catch (e) {
      toast(`Fullscreen: ${errorText(e)}`, true);
    }
    conn.current?.focus();
  };

  const start = async () => {
    if (!guest) return;
    setStarting(true);
    try {
      await runGuestAction(guest, 'start', false);
    } finally {
      setStarting(false);
    }
  };

  const phase = state.phase;
  const label = mode ? MODE_LABEL[mode] : 'Console';
  const canStart = !!guest && !guest.template && guest.status === 'stopped';

  return (
    <div class={`console-frame${standalone ? ' standalone' : ''}`} ref={frame} data-state={phase} data-mode={mode ?? ''}>
      <div class="console-bar" role="toolbar" aria-label="Console controls">
        {standalone && (
          <strong class="console-title">
            {word} {vmid}
            {guest?.name ? ` (${guest.name})` : ''}
          </strong>
        )}
        {kind === 'qemu' && modes?.vnc && modes.serial && (
          <div class="console-modes" role="group" aria-label="Console type">
            {(['vnc', 'serial'] as Mode[]).map((m) => (
              <button key={m} type="button" aria-pressed={mode === m} class={mode === m ? 'active' : ''} onClick={() => setWanted(m)}>
                {MODE_LABEL[m]}
              </button>
            ))}
          </div>
        )}
        <span class="console-status" role="status" data-phase={phase}>
          {STATUS[phase]}
        </span>
        <span class="console-spacer" />
        {mode === 'vnc' && (
          <button type="button" disabled={phase !== 'connected'} onClick={() => conn.current?.ctrlAltDel?.()} title="Send Ctrl-Alt-Del to the VM">
            Ctrl-Alt-Del
          </button>
        )}
        <button type="button" disabled={!running || !mode} onClick={reconnect}>
          Reconnect
        </button>
        {!standalone && (
          <button type="button" disabled={!mode} onClick={openWindow}>
            Open in new window
          </button>
        )}
        <button type="button" aria-pressed={fullscreen} onClick={toggleFullscreen} disabled={!document.fullscreenEnabled}>
          {fullscreen ? 'Exit fullscreen' : 'Fullscreen'}
        </button>
      </div>
      <div class={`console-body ${mode ?? ''}`}>
        {mode && (
          <div
            key={mode}
            ref={screen}
            class={`console-screen ${mode}`}
            role="region"
            aria-label={`${label} of ${word} ${vmid}`}
            onClick={() => conn.current?.focus()}
          />
        )}
        {phase !== 'connected' && (
          <div class={`console-overlay ${phase}`}>
            <div class="console-card">
              {overlay()}
            </div>
          </div>
        )}
      </div>
    </div>
  );

  // a plain function, not a component: the poll's re-renders must not remount the buttons
  function overlay() {
    switch (phase) {
      case 'loading':
        return modesError ? (
          <>
            <ErrorBox error={modesError} />
            <button type="button" onClick={reconnect}>
              Try again
            </button>
          </>
        ) : (
          <p aria-busy="true">Loading…</p>
        );
      case 'unavailable':
        return (
          <p>
            {word} {vmid} has no display{modes?.vga ? ` (vga: ${modes.vga})` : ''} and no serial socket. Add a serial port of
            type socket (<code>serial0: socket</code>) to get a serial console.
          </p>
        );
      case 'notrunning':
        return (
          <>
            <p>
              {word} {vmid} is not running.
            </p>
            {canStart && (
              <button type="button" class="primary" disabled={starting} onClick={start}>
                {starting ? 'Starting…' : 'Start'}
              </button>
            )}
          </>
        );
      case 'starting':
      case 'connecting':
        return <p aria-busy="true">Connecting to the {label.toLowerCase()}…</p>;
      case 'disconnected':
        return (
          <>
            <p>{state.reason}</p>
            <button type="button" class="primary" onClick={reconnect}>
              Reconnect
            </button>
          </>
        );
      case 'failed':
        return (
          <>
            <p>Could not start the console session:</p>
            <ErrorBox error={state.error} />
            <button type="button" class="primary" onClick={reconnect}>
              Reconnect
            </button>
          </>
        );
      case 'detached':
        return (
          <>
            <p>This console is open in another window.</p>
            <button type="button" class="primary" onClick={reconnect}>
              Connect here
            </button>
          </>
        );
      default:
        return null;
    }
  }
}
