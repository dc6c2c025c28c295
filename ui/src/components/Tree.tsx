// The resource tree: datacenter → node → guests and storages, or grouped by type or by tag,
// filtered by the search box. Every entry is a link, so the keyboard (Tab, Enter) and
// "open in new window" work as on any page.
import { computed, signal } from '@preact/signals';
import { route } from '../router';
import { guests, nodes, resources, type Resource } from '../state';
import { tagList } from '../format';
import { StatusDot } from './ui';

export type TreeView = 'server' | 'type' | 'tag';
export const treeView = signal<TreeView>((localStorage.getItem('berth.treeview') as TreeView) || 'server');
export const search = signal('');

export function resourceHref(r: Resource): string {
  switch (r.type) {
    case 'lxc':
    case 'qemu':
      return `#/${r.type}/${r.vmid}`;
    case 'node':
      return `#/node/${encodeURIComponent(r.node ?? '')}`;
    case 'storage':
      return `#/storage/${encodeURIComponent(r.node ?? '')}/${encodeURIComponent(r.storage ?? '')}`;
    default:
      return '#/';
  }
}

export function resourceLabel(r: Resource): string {
  if (r.type === 'lxc' || r.type === 'qemu') return r.name ? `${r.vmid} (${r.name})` : String(r.vmid);
  if (r.type === 'storage') return r.storage ?? r.id;
  return r.node ?? r.id;
}

function matches(r: Resource, q: string): boolean {
  if (!q) return true;
  const hay = [r.vmid, r.name, r.node, r.storage, r.type, r.tags, r.status].join(' ').toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

const filteredGuests = computed(() => guests.value.filter((g) => matches(g, search.value)));
const storages = computed(() =>
  resources.value.filter((r) => r.type === 'storage' && matches(r, search.value)).sort((a, b) => (a.storage ?? '').localeCompare(b.storage ?? '')),
);

function Item({ r }: { r: Resource }) {
  const href = resourceHref(r);
  const current = '#' + route.value.path === href || ('#' + route.value.path).startsWith(href + '/');
  const kind = r.type === 'qemu' ? 'VM' : r.type === 'lxc' ? 'CT' : r.type;
  return (
    <li>
      <a href={href} class={current ? 'current' : ''} aria-current={current ? 'page' : undefined} data-id={r.id}>
        <span class={`kind ${r.type}${r.template ? ' template' : ''}`} aria-hidden="true" title={kind} />
        {r.type !== 'storage' && <StatusDot status={r.template ? 'template' : r.status} />}
        <span class="label">{resourceLabel(r)}</span>
        {r.lock && (
          <span class="lock" title={`locked: ${r.lock}`}>
            🔒
          </span>
        )}
        {tagList(r.tags).map((t) => (
          <span class="tag" key={t}>
            {t}
          </span>
        ))}
      </a>
    </li>
  );
}

function Group({ label, href, items, open = true }: { label: string; href?: string; items: Resource[]; open?: boolean }) {
  return (
    <li>
      <details open={open}>
        <summary>{href ? <a href={href}>{label}</a> : label}</summary>
        <ul>
          {items.map((r) => (
            <Item key={r.id} r={r} />
          ))}
          {items.length === 0 && <li class="empty">none</li>}
        </ul>
      </details>
    </li>
  );
}

/** The nodes to group by: those the resource list names, and those its guests and storages
 *  name (a user without Sys.Audit on a node gets no entry for it, yet sees its guests). */
const serverNodes = computed(() => {
  const list = [...nodes.value];
  const known = new Set(list.map((n) => n.node));
  for (const r of resources.value)
    if (r.node && !known.has(r.node)) {
      known.add(r.node);
      list.push({ id: `node/${r.node}`, type: 'node', node: r.node, status: 'unknown' });
    }
  return list;
});

function ServerView() {
  return (
    <>
      {serverNodes.value.map((n) => (
        <li key={n.id}>
          <details open>
            <summary>
              <a href={resourceHref(n)} class={route.value.parts[0] === 'node' ? 'current' : ''}>
                <span class="kind node" aria-hidden="true" />
                <StatusDot status={n.status} />
                {n.node}
              </a>
            </summary>
            <ul>
              {filteredGuests.value
                .filter((g) => g.node === n.node)
                .map((g) => (
                  <Item key={g.id} r={g} />
                ))}
              {storages.value
                .filter((s) => s.node === n.node)
                .map((s) => (
                  <Item key={s.id} r={s} />
                ))}
            </ul>
          </details>
        </li>
      ))}
    </>
  );
}

function TypeView() {
  return (
    <>
      <Group label="Containers" items={filteredGuests.value.filter((g) => g.type === 'lxc')} />
      <Group label="Virtual machines" items={filteredGuests.value.filter((g) => g.type === 'qemu')} />
      <Group label="Storage" items={storages.value} />
    </>
  );
}

function TagView() {
  const byTag = new Map<string, Resource[]>();
  for (const g of filteredGuests.value) {
    const tags = tagList(g.tags);
    for (const t of tags.length ? tags : ['']) byTag.set(t, [...(byTag.get(t) ?? []), g]);
  }
  const names = [...byTag.keys()].sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
  return (
    <>
      {names.map((t) => (
        <Group key={t} label={t || '(no tags)'} items={byTag.get(t)!} />
      ))}
      {names.length === 0 && <li class="empty">no guests</li>}
    </>
  );
}

export function Tree() {
  const setView = (v: TreeView) => {
    treeView.value = v;
    localStorage.setItem('berth.treeview', v);
  };
  return (
    <nav class="tree" aria-label="Resources">
      <input
        type="search"
        placeholder="Search (id, name, tag, status)"
        aria-label="Search resources"
        value={search.value}
        onInput={(e) => (search.value = (e.target as HTMLInputElement).value)}
      />
      <div class="segmented" role="radiogroup" aria-label="Tree view">
        {(['server', 'type', 'tag'] as TreeView[]).map((v) => (
          <button key={v} type="button" role="radio" aria-checked={treeView.value === v} onClick={() => setView(v)}>
            {v === 'server' ? 'Server' : v === 'type' ? 'Type' : 'Tags'}
          </button>
        ))}
      </div>
      <ul class="tree-root">
        <li>
          <a href="#/" class={route.value.path === '/' ? 'current' : ''}>
            <span class="kind datacenter" aria-hidden="true" />
            Datacenter
          </a>
          <ul>{treeView.value === 'server' ? <ServerView /> : treeView.value === 'type' ? <TypeView /> : <TagView />}</ul>
        </li>
        <li>
          <a href="#/access/users" class={route.value.parts[0] === 'access' ? 'current' : ''}>
            <span class="kind access" aria-hidden="true" />
            Permissions
          </a>
        </li>
      </ul>
    </nav>
  );
}
