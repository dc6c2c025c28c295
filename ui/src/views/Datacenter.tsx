// The datacenter page: what runs where, at a glance, and every guest with bulk actions.
import { bytes } from '../format';
import { guests, nodes, resources, resourcesLoaded } from '../state';
import { Meter } from '../components/ui';
import { GuestTable } from './GuestTable';

export function Datacenter(_: { tab: string }) {
  const list = guests.value;
  const running = list.filter((g) => g.status === 'running').length;
  const storages = resources.value.filter((r) => r.type === 'storage');
  return (
    <section class="page">
      <h1>Datacenter</h1>
      {!resourcesLoaded.value ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <>
          <div class="cards">
            <div class="card">
              <h2>Guests</h2>
              <p class="big">
                {running} <small>running of {list.length}</small>
              </p>
              <p>
                {list.filter((g) => g.type === 'lxc').length} containers, {list.filter((g) => g.type === 'qemu').length} VMs
              </p>
            </div>
            {nodes.value.map((n) => (
              <div class="card" key={n.id}>
                <h2>
                  <a href={`#/node/${encodeURIComponent(n.node ?? '')}`}>Node {n.node}</a>
                </h2>
                <p>CPU</p>
                <Meter value={n.cpu} max={1} label="CPU usage" />
                <p>
                  Memory {bytes(n.mem)} of {bytes(n.maxmem)}
                </p>
                <Meter value={n.mem} max={n.maxmem} label="Memory usage" />
              </div>
            ))}
            <div class="card">
              <h2>Storage</h2>
              {storages.map((s) => (
                <div key={s.id}>
                  <a href={`#/storage/${encodeURIComponent(s.node ?? '')}/${encodeURIComponent(s.storage ?? '')}`}>{s.storage}</a>{' '}
                  {bytes(s.disk)} of {bytes(s.maxdisk)}
                  <Meter value={s.disk} max={s.maxdisk} label={`${s.storage} usage`} />
                </div>
              ))}
            </div>
          </div>
          <h2>Guests</h2>
          <GuestTable list={list} />
        </>
      )}
    </section>
  );
}
