// The shell: login when there is no session; else header, resource tree, the page the hash
// names, and the task panel. Pages are chosen from the route's first segment.
import { useEffect, useState } from 'preact/hooks';
import { currentSession, logout, onSessionChange, renewTicket, type Session } from './api';
import { Login } from './components/Login';
import { TaskPanel } from './components/TaskPanel';
import { Tree } from './components/Tree';
import { ConfirmHost, ToastHost } from './components/ui';
import { route } from './router';
import { resourcesError, startPolling, stopPolling } from './state';
import { cycleTheme, theme } from './theme';
import { Datacenter } from './views/Datacenter';
import { GuestPage } from './views/Guest';
import { NodePage } from './views/Node';
import { StoragePage } from './views/Storage';
import { AccessPage } from './views/Access';
import { CreateWizard } from './views/create/Wizard';
import { ConsolePage } from './views/console/ConsolePage';

const RENEW_MS = 15 * 60 * 1000; // tickets live 2 h; PVE's UI renews every 15 min

function Page() {
  const [first, ...rest] = route.value.parts;
  switch (first) {
    case undefined:
      return <Datacenter tab={route.value.query.get('tab') ?? 'summary'} />;
    case 'node':
      return <NodePage node={rest[0]} tab={rest[1] ?? 'summary'} />;
    case 'lxc':
    case 'qemu':
      return <GuestPage kind={first} vmid={Number(rest[0])} tab={rest[1] ?? 'summary'} />;
    case 'storage':
      return <StoragePage node={rest[0]} storage={rest[1]} tab={rest[2] ?? 'summary'} />;
    case 'create':
      return <CreateWizard kind={rest[0] === 'qemu' ? 'qemu' : 'lxc'} />;
    case 'access':
      return <AccessPage tab={rest[0] ?? 'users'} />;
    default:
      return (
        <section class="page">
          <h1>Not found</h1>
          <p>
            Nothing lives at <code>{route.value.path}</code>. <a href="#/">Back to the datacenter</a>.
          </p>
        </section>
      );
  }
}

function Header({ session }: { session: Session }) {
  const themeLabel = theme.value === 'system' ? 'Theme: system' : theme.value === 'dark' ? 'Theme: dark' : 'Theme: light';
  return (
    <header class="top">
      <button type="button" class="icon menu" aria-label="Show resources" onClick={() => document.body.classList.toggle('tree-open')}>
        ☰
      </button>
      <a class="brand" href="#/">
        <span class="logo" aria-hidden="true" />
        Berth
      </a>
      <span class="spacer" />
      <a class="button primary" href="#/create/lxc" aria-label="Create CT">
        <span class="create-word">Create </span>CT
      </a>
      <a class="button primary" href="#/create/qemu" aria-label="Create VM">
        <span class="create-word">Create </span>VM
      </a>
      <button type="button" class="theme" onClick={cycleTheme} aria-label={themeLabel} title={themeLabel} data-theme-choice={theme.value}>
        {theme.value === 'dark' ? '☾' : theme.value === 'light' ? '☀' : '◐'}
      </button>
      <span class="user" title="Logged in as">
        {session.username}
      </span>
      <button type="button" onClick={logout}>
        Log out
      </button>
    </header>
  );
}

export function App() {
  const [session, setSession] = useState(currentSession());
  useEffect(() => onSessionChange(setSession), []);
  useEffect(() => {
    if (!session) {
      stopPolling();
      return;
    }
    startPolling();
    const t = setInterval(renewTicket, RENEW_MS);
    return () => clearInterval(t);
  }, [session?.username]);

  if (!session) return <Login />;
  // a console opened in its own window: nothing but the console
  if (route.value.parts[0] === 'console') {
    const [, kind, vmid, mode] = route.value.parts;
    return <ConsolePage kind={kind === 'qemu' ? 'qemu' : 'lxc'} vmid={Number(vmid)} mode={mode} standalone />;
  }
  return (
    <div class="shell">
      <Header session={session} />
      <aside class="side" onClick={(e) => (e.target as HTMLElement).closest('a') && document.body.classList.remove('tree-open')}>
        <Tree />
      </aside>
      <main class="content">
        {resourcesError.value && (
          <p class="error banner" role="alert">
            Cannot reach the server: {resourcesError.value}
          </p>
        )}
        <Page />
      </main>
      <TaskPanel />
      <ConfirmHost />
      <ToastHost />
    </div>
  );
}
