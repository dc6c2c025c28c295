// A storage's page on a node: its summary (usage, graphs) and its content (browse, upload,
// delete). The tabs' contents live in views/storage/.
import { href } from '../router';
import { resources, resourcesLoaded } from '../state';
import { Tabs } from '../components/ui';
import { StorageSummary } from './storage/Summary';
import { StorageContent } from './storage/Content';

const TABS = [
  { id: 'summary', label: 'Summary' },
  { id: 'content', label: 'Content' },
];

export function StoragePage({ node, storage, tab }: { node: string; storage: string; tab: string }) {
  const s = resources.value.find((r) => r.type === 'storage' && r.node === node && r.storage === storage);
  if (!s) {
    return (
      <section class="page">
        <h1>Storage {storage}</h1>
        <p aria-busy={!resourcesLoaded.value}>{resourcesLoaded.value ? `There is no storage ${storage} on node ${node}.` : 'Loading…'}</p>
      </section>
    );
  }
  return (
    <section class="page storage">
      <header class="page-head">
        <h1>
          Storage {storage} <small>on {node}</small>
        </h1>
      </header>
      <Tabs tabs={TABS} current={tab} hrefFor={(id) => href('storage', node, storage, id)} />
      <div class="tab-body">
        {tab === 'summary' && <StorageSummary storage={s} />}
        {tab === 'content' && <StorageContent storage={s} />}
      </div>
    </section>
  );
}
