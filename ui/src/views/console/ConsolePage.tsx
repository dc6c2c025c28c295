// A console alone in its window (#/console/<kind>/<vmid>/<mode>, opened by the Console tab's
// "Open in new window"): nothing but the console, sized to the window.
import { useEffect } from 'preact/hooks';
import { ToastHost } from '../../components/ui';
import { guestById, resourcesLoaded } from '../../state';
import { Console } from './Console';
import type { Kind } from './session';

export function ConsolePage(props: { kind: Kind; vmid: number; mode?: string; standalone?: boolean }) {
  const { kind, vmid } = props;
  const g = guestById(kind, vmid);
  const word = kind === 'qemu' ? 'VM' : 'CT';
  const name = g?.name ? ` (${g.name})` : '';
  useEffect(() => {
    const before = document.title;
    document.title = `${word} ${vmid}${name} – console – Berth`;
    return () => {
      document.title = before;
    };
  }, [word, vmid, name]);

  if (!g) {
    return (
      <main class="console-page">
        <p class="console-page-note" aria-busy={!resourcesLoaded.value}>
          {resourcesLoaded.value ? `There is no ${word} ${vmid} (it may have been destroyed).` : 'Loading…'}
        </p>
        <ToastHost />
      </main>
    );
  }
  return (
    <main class="console-page">
      <Console kind={kind} vmid={vmid} running={g.status === 'running'} mode={props.mode} standalone={props.standalone ?? true} />
      <ToastHost />
    </main>
  );
}
