// noVNC (loaded on first use, its own chunk) on a VM's display. The websocket carries RFB;
// the console session ends the security step itself: VNC Authentication with the password
// vncproxy generated (docs/vms.md, Consoles).
import { type Connection, type ConnectionEvents, type ConsoleSession } from './session';

export async function connectVnc(target: HTMLElement, url: string, s: ConsoleSession, ev: ConnectionEvents): Promise<Connection> {
  const { default: RFB } = await import('@novnc/novnc');
  const rfb = new RFB(target, url, {
    shared: true,
    wsProtocols: ['binary'],
    credentials: s.password ? { password: s.password } : undefined,
  });
  rfb.scaleViewport = true;
  rfb.resizeSession = false;
  rfb.background = 'transparent'; // console.css paints the letterbox in the theme's colour
  let done = false;
  let connected = false;
  let reason = '';

  rfb.addEventListener('connect', () => {
    connected = true;
    ev.connected();
  });
  rfb.addEventListener('securityfailure', (e) => {
    const d = (e as CustomEvent<{ status: number; reason?: string }>).detail;
    reason = `The display refused the session: ${d.reason || `security result ${d.status}`}.`;
  });
  rfb.addEventListener('credentialsrequired', () => {
    if (s.password) {
      rfb.sendCredentials({ password: s.password });
    } else {
      reason = 'The display asks for a password this console does not have.';
      rfb.disconnect();
    }
  });
  rfb.addEventListener('disconnect', (e) => {
    if (done) return;
    done = true;
    const clean = (e as CustomEvent<{ clean: boolean }>).detail.clean;
    ev.closed(
      reason ||
        (connected
          ? clean
            ? 'The display session ended.'
            : 'The connection to the display was lost.'
          : 'Could not connect to the display (the server refused the websocket or the RFB handshake).'),
    );
  });

  return {
    close() {
      if (done) return;
      done = true;
      rfb.disconnect();
    },
    focus: () => rfb.focus(),
    ctrlAltDel: () => rfb.sendCtrlAltDel(),
  };
}
