// A guest's page: its header (name, status, power actions) and tabs. The tabs' contents live
// in views/guest/ and views/console/.
import { actionsFor, ACTIONS, runGuestAction } from '../actions';
import { href } from '../router';
import { guestById, resourcesLoaded } from '../state';
import { tagList } from '../format';
import { StatusDot, Tabs, type Tab } from '../components/ui';
import { GuestSummary } from './guest/Summary';
import { GuestHardware } from './guest/Hardware';
import { GuestOptions } from './guest/Options';
import { Console } from './console/Console';

const TABS: Record<'lxc' | 'qemu', Tab[]> = {
  lxc: [
    { id: 'summary', label: 'Summary' },
    { id: 'console', label: 'Console' },
    { id: 'hardware', label: 'Resources' },
    { id: 'options', label: 'Options' },
  ],
  qemu: [
    { id: 'summary', label: 'Summary' },
    { id: 'console', label: 'Console' },
    { id: 'hardware', label: 'Hardware' },
    { id: 'options', label: 'Options' },
  ],
};

export function GuestPage({ kind, vmid, tab }: { kind: 'lxc' | 'qemu'; vmid: number; tab: string }) {
  const g = guestById(kind, vmid);
  if (!g) {
    return (
      <section class="page">
        <h1>{kind === 'qemu' ? 'VM' : 'CT'} {vmid}</h1>
        <p aria-busy={!resourcesLoaded.value}>{resourcesLoaded.value ? 'There is no such guest (it may have been destroyed).' : 'Loading…'}</p>
      </section>
    );
  }
  const word = kind === 'qemu' ? 'Virtual machine' : 'Container';
  return (
    <section class="page guest" data-vmid={vmid} data-status={g.status}>
      <header class="page-head">
        <h1>
          <StatusDot status={g.template ? 'template' : g.status} /> {word} {vmid}
          {g.name ? ` (${g.name})` : ''}
          {tagList(g.tags).map((t) => (
            <span class="tag" key={t}>
              {t}
            </span>
          ))}
        </h1>
        <div class="actions" role="toolbar" aria-label="Guest actions">
          {actionsFor(g).map((a) => (
            <button key={a} type="button" class={ACTIONS[a].danger ? 'danger' : ''} onClick={() => runGuestAction(g, a)}>
              {ACTIONS[a].label}
            </button>
          ))}
        </div>
      </header>
      {g.lock && <p class="notice">Locked: {g.lock}</p>}
      <Tabs tabs={TABS[kind]} current={tab} hrefFor={(id) => href(kind, vmid, id)} />
      <div class="tab-body">
        {tab === 'summary' && <GuestSummary guest={g} />}
        {tab === 'console' && <Console kind={kind} vmid={vmid} running={g.status === 'running'} />}
        {tab === 'hardware' && <GuestHardware guest={g} />}
        {tab === 'options' && <GuestOptions guest={g} />}
      </div>
    </section>
  );
}
