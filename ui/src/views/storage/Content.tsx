// A storage's content: every volume grouped by type (ISO images, CT templates, disks,
// backups, ...), filterable by type and name; upload, build a CT template, remove.
import { useState } from 'preact/hooks';
import { api, p } from '../../api';
import { confirmAction, errorText, ErrorBox, toast } from '../../components/ui';
import { bytes, datetime } from '../../format';
import { followTask, guestById, resources, type Resource } from '../../state';
import { DataTable, type Column } from '../../components/DataTable';
import { useLoad } from '../../components/useLoad';
import { CONTENT_TYPES, contentLabel, storageContents, volumeName, type Volume } from './contentTypes';
import { UploadDialog } from './UploadDialog';
import { TemplatesDialog } from './TemplatesDialog';
import './content.css';

const ORDER = CONTENT_TYPES.map((c) => c.id);
const rank = (id: string) => (ORDER.includes(id) ? ORDER.indexOf(id) : ORDER.length);

/** The guest that owns a disk, when it still exists (then the disk is not removed here). */
function owner(v: Volume): Resource | undefined {
  if (!v.vmid || (v.content !== 'images' && v.content !== 'rootdir')) return undefined;
  return guestById('qemu', v.vmid) ?? guestById('lxc', v.vmid);
}

function UsedBy({ v }: { v: Volume }) {
  if (!v.vmid) return null;
  const g = resources.value.find((r) => (r.type === 'qemu' || r.type === 'lxc') && r.vmid === v.vmid);
  return g ? (
    <a href={`#/${g.type}/${g.vmid}`} title={g.name}>
      {g.type === 'qemu' ? 'VM' : 'CT'} {g.vmid}
    </a>
  ) : (
    <span title="no guest with this ID exists">{v.vmid}</span>
  );
}

export function StorageContent({ storage }: { storage: Resource }) {
  const node = storage.node ?? '';
  const sid = storage.storage ?? '';
  const list = useLoad(() => api.get<Volume[]>(p`/nodes/${node}/storage/${sid}/content`), [node, sid]);
  const [filter, setFilter] = useState('all');
  const [search, setSearch] = useState('');
  const [dialog, setDialog] = useState<'upload' | 'templates' | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);

  const allowed = storageContents(storage.content);
  const volumes = list.data ?? [];
  // the types to offer: what the storage holds by configuration, and anything found on it
  const kinds = [...new Set([...allowed.map((c) => c.id), ...volumes.map((v) => v.content)])].sort((a, b) => rank(a) - rank(b));
  const canUpload = allowed.some((c) => c.accept);
  const canTemplates = allowed.some((c) => c.id === 'vztmpl');
  const q = search.trim().toLowerCase();
  const rows = volumes
    .filter((v) => filter === 'all' || v.content === filter)
    .filter((v) => !q || v.volid.toLowerCase().includes(q) || String(v.vmid ?? '').includes(q))
    .sort((a, b) => rank(a.content) - rank(b.content) || a.volid.localeCompare(b.volid));

  const remove = async (v: Volume) => {
    const g = owner(v);
    if (g) {
      // PVE's content view refuses too: the disk belongs to a guest that still exists
      await confirmAction(
        'Cannot remove',
        `A guest with VMID ${g.vmid} exists and owns ${v.volid}. Remove the disk from the guest's Hardware page instead, or destroy the guest.`,
        'OK',
      );
      return;
    }
    if (!(await confirmAction('Remove volume', `Remove ${v.volid} (${bytes(v.size)})? This cannot be undone.`, 'Remove', true))) return;
    setRemoving(v.volid);
    try {
      const upid = await api.del<string>(p`/nodes/${node}/storage/${sid}/content/${v.volid}`);
      const status = upid ? await followTask(upid) : 'OK';
      if (status !== 'OK') throw new Error(`Removing ${v.volid} failed: ${status}`);
      toast(`${v.volid} removed`);
    } catch (e) {
      toast(errorText(e), true);
    } finally {
      setRemoving(null);
      await list.reload();
    }
  };

  const columns: Column<Volume>[] = [
    { label: 'Name', cell: (v) => <span class="volname" title={v.volid}>{volumeName(v)}</span>, class: 'wide' },
    { label: 'Format', cell: 'format', class: 'optional' },
    { label: 'Size', cell: (v) => bytes(v.size), class: 'num' },
    { label: 'Date', cell: (v) => (v.ctime ? datetime(v.ctime) : '–') },
    { label: 'Used by', cell: (v) => <UsedBy v={v} />, class: 'optional' },
    {
      label: 'Actions',
      class: 'row-actions',
      cell: (v) => (
        <button type="button" class="danger" aria-label={`Remove ${v.volid}`} disabled={removing !== null} onClick={() => remove(v)}>
          {removing === v.volid ? 'Removing…' : 'Remove'}
        </button>
      ),
    },
  ];

  const count = (id: string) => (id === 'all' ? volumes.length : volumes.filter((v) => v.content === id).length);
  return (
    <div class="storage-content">
      <div class="toolbar content-actions">
        {canUpload && (
          <button type="button" class="primary" onClick={() => setDialog('upload')}>
            Upload
          </button>
        )}
        {canTemplates && (
          <button type="button" onClick={() => setDialog('templates')}>
            Templates
          </button>
        )}
        <button type="button" onClick={() => list.reload()} aria-label="Reload content">
          Reload
        </button>
        <span class="spacer" />
        <input type="search" aria-label="Filter by name" placeholder="Filter by name or VMID" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
      </div>
      <div class="content-filter" role="radiogroup" aria-label="Content type">
        {['all', ...kinds].map((k) => (
          <button key={k} type="button" role="radio" aria-checked={filter === k} onClick={() => setFilter(k)}>
            {k === 'all' ? 'All' : contentLabel(k)} <span class="count">{count(k)}</span>
          </button>
        ))}
      </div>
      <ErrorBox error={list.error} />
      <DataTable
        label={`Content of ${sid}`}
        columns={columns}
        rows={rows}
        rowKey={(v) => v.volid}
        loading={list.loading && !list.data}
        groupOf={filter === 'all' ? (v) => v.content : undefined}
        groupLabel={(g, items) => `${contentLabel(g)} (${items.length})`}
        empty={volumes.length ? 'Nothing matches the filter.' : `${sid} holds no ${filter === 'all' ? 'volumes' : contentLabel(filter)} yet.`}
      />
      {dialog === 'upload' && (
        <UploadDialog
          storage={storage}
          initial={filter}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null);
            void list.reload();
          }}
        />
      )}
      {dialog === 'templates' && (
        <TemplatesDialog
          storage={storage}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null);
            void list.reload();
          }}
        />
      )}
    </div>
  );
}
