// "Templates": the CT templates this node can build (GET aplinfo), built into this storage
// (POST aplinfo → a "download" task, followed to its end). PVE downloads them; Berth builds.
import { useState } from 'preact/hooks';
import { api, p } from '../../api';
import { ErrorBox, Modal, toast } from '../../components/ui';
import { followTask, type Resource } from '../../state';
import { DataTable, type Column } from '../../components/DataTable';
import { useLoad } from '../../components/useLoad';
import { StatusLine } from '../../components/field';

interface Appliance {
  template: string;
  package?: string;
  version?: string;
  os?: string;
  headline?: string;
  section?: string;
  description?: string;
  location?: string;
}

export function TemplatesDialog({ storage, onClose, onDone }: { storage: Resource; onClose: () => void; onDone: () => void }) {
  const list = useLoad(() => api.get<Appliance[]>(p`/nodes/${storage.node!}/aplinfo`), [storage.node]);
  const [building, setBuilding] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const build = async (a: Appliance) => {
    setBuilding(a.template);
    setError(null);
    try {
      const upid = await api.post<string>(p`/nodes/${storage.node!}/aplinfo`, { storage: storage.storage, template: a.template });
      const status = await followTask(upid);
      if (status !== 'OK') throw new Error(`Building ${a.template} failed: ${status}`);
      toast(`${a.template} is ready on ${storage.storage}`);
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBuilding(null);
    }
  };

  const columns: Column<Appliance>[] = [
    { label: 'Template', cell: (a) => <code>{a.template}</code> },
    { label: 'OS', cell: (a) => [a.os, a.version].filter(Boolean).join(' ') },
    { label: 'Description', cell: (a) => a.headline ?? a.description ?? '', class: 'wide' },
    { label: 'Built from', cell: (a) => <span class="muted">{a.location ?? ''}</span> },
    {
      label: 'Actions',
      class: 'row-actions',
      cell: (a) => (
        <button type="button" class="primary" disabled={building !== null} aria-label={`Build ${a.template}`} onClick={() => build(a)}>
          {building === a.template ? (
            <>
              <span class="spinner" aria-hidden="true" /> Building…
            </>
          ) : (
            'Build'
          )}
        </button>
      ),
    },
  ];

  return (
    <Modal title={`CT templates for ${storage.storage}`} onClose={building ? () => {} : onClose} wide>
      <p class="muted">Berth builds container templates on this node from what it has installed; the task log (below) shows the build.</p>
      <ErrorBox error={list.error} />
      <DataTable label="Available templates" columns={columns} rows={list.data ?? []} rowKey={(a) => a.template} loading={list.loading} empty="This node has no template builders installed." />
      <StatusLine error={error} />
      <div class="buttons">
        <button type="button" onClick={onClose} disabled={building !== null}>
          Close
        </button>
      </div>
    </Modal>
  );
}
