// A node's page: its summary (status, meters, graphs) and its guests. The tabs' contents
// live in views/node/ and views/GuestTable.tsx.
import { href } from '../router';
import { guests, nodes, resourcesLoaded } from '../state';
import { StatusDot, Tabs } from '../components/ui';
import { GuestTable } from './GuestTable';
import { NodeSummary } from './node/Summary';

const TABS = [
  { id: 'summary', label: 'Summary' },
  { id: 'guests', label: 'Guests' },
];

export function NodePage({ node, tab }: { node: string; tab: string }) {
  // a user without Sys.Audit on the node does not get it in the resource list: the page still
  // opens, and the API's answer (403 and its status line) says why there is nothing to see
  const n = nodes.value.find((r) => r.node === node);
  if (!n && !resourcesLoaded.value) {
    return (
      <section class="page">
        <h1>Node {node}</h1>
        <p aria-busy="true">Loading…</p>
      </section>
    );
  }
  return (
    <section class="page node">
      <header class="page-head">
        <h1>
          <StatusDot status={n?.status} /> Node {node}
        </h1>
      </header>
      <Tabs tabs={TABS} current={tab} hrefFor={(id) => href('node', node, id)} />
      <div class="tab-body">
        {tab === 'summary' && <NodeSummary node={node} />}
        {tab === 'guests' && <GuestTable list={guests.value.filter((g) => g.node === node)} />}
      </div>
    </section>
  );
}
