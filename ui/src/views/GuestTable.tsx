// A table of guests with selection and bulk start/shutdown/stop: the datacenter's and the
// node's "Guests" view.
import { useState } from 'preact/hooks';
import { actionsFor, runBulk, runGuestAction } from '../actions';
import { bytes, duration, percent, tagList } from '../format';
import type { Resource } from '../state';
import { StatusDot } from '../components/ui';

export function GuestTable({ list }: { list: Resource[] }) {
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const chosen = list.filter((g) => selected.has(g.id));
  const toggle = (id: string) => {
    const s = new Set(selected);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setSelected(s);
  };
  const all = list.length > 0 && chosen.length === list.length;
  return (
    <div class="guest-table">
      <div class="toolbar" role="toolbar" aria-label="Bulk actions">
        <span>{chosen.length ? `${chosen.length} selected` : 'Select guests for bulk actions'}</span>
        <button type="button" disabled={!chosen.length} onClick={() => runBulk(chosen, 'start')}>
          Start selected
        </button>
        <button type="button" disabled={!chosen.length} onClick={() => runBulk(chosen, 'shutdown')}>
          Shut down selected
        </button>
        <button type="button" class="danger" disabled={!chosen.length} onClick={() => runBulk(chosen, 'stop')}>
          Stop selected
        </button>
      </div>
      <table class="grid">
        <thead>
          <tr>
            <th>
              <input
                type="checkbox"
                aria-label="Select all"
                checked={all}
                onChange={() => setSelected(all ? new Set() : new Set(list.map((g) => g.id)))}
              />
            </th>
            <th>ID</th>
            <th>Name</th>
            <th>Type</th>
            <th>Status</th>
            <th>CPU</th>
            <th>Memory</th>
            <th>Uptime</th>
            <th>Tags</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.map((g) => {
            const first = actionsFor(g).find((a) => a === 'start' || a === 'shutdown');
            return (
              <tr key={g.id} data-id={g.id}>
                <td>
                  <input type="checkbox" aria-label={`Select ${g.vmid}`} checked={selected.has(g.id)} onChange={() => toggle(g.id)} />
                </td>
                <td>
                  <a href={`#/${g.type}/${g.vmid}`}>{g.vmid}</a>
                </td>
                <td>{g.name}</td>
                <td>{g.type === 'qemu' ? 'VM' : 'CT'}</td>
                <td>
                  <StatusDot status={g.template ? 'template' : g.status} /> {g.template ? 'template' : g.status}
                </td>
                <td>{g.status === 'running' ? percent(g.cpu) : ''}</td>
                <td>{g.status === 'running' ? `${bytes(g.mem)} / ${bytes(g.maxmem)}` : bytes(g.maxmem)}</td>
                <td>{duration(g.uptime)}</td>
                <td>
                  {tagList(g.tags).map((t) => (
                    <span class="tag" key={t}>
                      {t}
                    </span>
                  ))}
                </td>
                <td>
                  {first && (
                    <button type="button" onClick={() => runGuestAction(g, first)}>
                      {first === 'start' ? 'Start' : 'Shutdown'}
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
          {list.length === 0 && (
            <tr>
              <td colSpan={10} class="empty">
                No guests yet. <a href="#/create/lxc">Create a container</a> or <a href="#/create/qemu">a virtual machine</a>.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
