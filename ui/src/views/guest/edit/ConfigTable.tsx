// The table behind the Hardware/Resources and Options tabs: one row per config key with
// its value, pending changes marked as PVE does (the new value in red beside the current
// one), and per row Edit, Resize, Revert and Remove; "Add" buttons above for new devices.
import { useEffect, useState } from 'preact/hooks';
import { api, p } from '../../../api';
import { confirmAction, ErrorBox, errorText, toast } from '../../../components/ui';
import { nodeName, type Resource } from '../../../state';
import { storagesWith, volumesOn } from '../../create/data';
import { isPending, loadConfig, type GuestConfig, type Row } from './config';
import { EditDialog, ResizeDialog } from './EditDialog';
import { ADD_ACTIONS, HIDDEN_KEYS, keyDef, keyOrder, LXC_KEYS, QEMU_KEYS } from './keys';
import type { EditCtx, Editor, KeyDef, Section, StorageData } from './types';
import './edit.css';

type Dialog = { editor: Editor; key: string; value?: string; adding: boolean } | { resize: string; value?: string };

const SECTION_TITLES: Record<Section, string> = { hardware: 'Hardware', network: 'Network', options: 'Options' };

/** scsi2 before scsi10 */
function natural(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true });
}

interface Line {
  row: Row;
  def?: KeyDef;
  label: string;
}

const plainKey = (d: KeyDef) => d.match.source.replace(/^\^|\$$/g, '');
/** keys shown with their default even when unset (their patterns are plain ^key$) */
const ALWAYS = {
  qemu: QEMU_KEYS.filter((d) => d.always).map(plainKey),
  lxc: LXC_KEYS.filter((d) => d.always).map(plainKey),
};

function linesOf(kind: 'lxc' | 'qemu', cfg: GuestConfig, section: Section): Line[] {
  const rows = new Map(cfg.rows);
  for (const key of ALWAYS[kind]) if (!rows.has(key)) rows.set(key, { key });
  const out: Line[] = [];
  for (const row of rows.values()) {
    const def = keyDef(kind, row.key);
    if (!def && HIDDEN_KEYS.has(row.key)) continue;
    if ((def?.section ?? 'options') !== section) continue;
    out.push({ row, def, label: def ? def.label(row.key, row.pending ?? row.value) : row.key });
  }
  return out.sort((a, b) => keyOrder(kind, a.row.key) - keyOrder(kind, b.row.key) || natural(a.row.key, b.row.key));
}

function Value({ line }: { line: Line }) {
  const { row, def } = line;
  const show = (v: string) => (def?.show ? def.show(v, row.key) : v);
  if (row.delete)
    return (
      <>
        <s class="old">{row.value !== undefined ? show(row.value) : ''}</s> <span class="pending-tag">pending removal</span>
      </>
    );
  if (row.pending !== undefined)
    return (
      <>
        {row.value !== undefined && (
          <span class="old">
            <span class="sr-only">current: </span>
            {show(row.value)}
          </span>
        )}
        <span class="new">
          <span class="sr-only">pending: </span>
          {show(row.pending)}
        </span>{' '}
        <span class="pending-tag">pending</span>
      </>
    );
  if (row.value === undefined) return <span class="dflt">{def?.dflt !== undefined ? `${show(def.dflt)} (default)` : '—'}</span>;
  return <>{show(row.value)}</>;
}

async function loadStorageData(node: string, needs: string[]): Promise<StorageData> {
  const storages: StorageData['storages'] = {};
  await Promise.all(needs.map(async (c) => (storages[c] = await storagesWith(node, c))));
  const isos = needs.includes('iso') ? await volumesOn(node, storages.iso ?? [], 'iso') : {};
  return { storages, isos };
}

export function ConfigTable({ guest, sections }: { guest: Resource; sections: Section[] }) {
  const kind = guest.type === 'qemu' ? 'qemu' : 'lxc';
  const node = guest.node ?? nodeName.value;
  const vmid = guest.vmid!;
  const running = guest.status === 'running';
  const [cfg, setCfg] = useState<GuestConfig | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [data, setData] = useState<StorageData>({ storages: {}, isos: {} });
  const [busy, setBusy] = useState(false);

  const reload = () =>
    loadConfig(kind, node, vmid).then(
      (c) => {
        setCfg(c);
        setLoadError(null);
      },
      (e) => setLoadError(e),
    );
  // a stop or start applies pending changes: look again when the status changes
  useEffect(() => void reload(), [kind, vmid, guest.status]);

  if (!cfg) return loadError ? <ErrorBox error={loadError} /> : <p aria-busy="true">Loading the configuration…</p>;

  const ctx = (key: string, value?: string): EditCtx => ({ kind, node, vmid, key, value, cfg, data, running });
  const open = async (d: Dialog, needs?: string[]) => {
    if (needs?.length) {
      try {
        setData(await loadStorageData(node, needs));
      } catch (e) {
        toast(`cannot list storages: ${errorText(e)}`, true);
        return;
      }
    }
    setDialog(d);
  };
  const put = async (what: string, params: Record<string, string>) => {
    setBusy(true);
    try {
      await api.put(p`/nodes/${node}/${kind}/${vmid}/config`, { ...params, digest: cfg.digest });
      toast(`${what}: done`);
    } catch (e) {
      toast(`${what}: ${errorText(e)}`, true);
    } finally {
      await reload();
      setBusy(false);
    }
  };
  const remove = async (line: Line) => {
    const disk = /^(ide|sata|scsi|virtio)\d+$/.test(line.row.key) && !/media=cdrom/.test(line.row.value ?? '');
    const text = disk
      ? `Remove ${line.label}? Its volume stays as an unused disk; remove that too to free the space.`
      : `Remove ${line.label}?${running ? ' On a running guest this may wait until the next start.' : ''}`;
    if (await confirmAction(`Remove ${line.row.key}`, text, 'Remove', true)) await put(`Remove ${line.row.key}`, { delete: line.row.key });
  };

  const pendingCount = [...cfg.rows.values()].filter(isPending).length;
  return (
    <div class="config-page">
      {sections.includes('hardware') && (
        <div class="toolbar" role="toolbar" aria-label="Add devices">
          {ADD_ACTIONS[kind].map((a) => (
            <button key={a.label} type="button" disabled={busy} onClick={() => open({ editor: a.editor, key: a.nextKey(cfg), adding: true }, a.editor.needs)}>
              Add: {a.label}
            </button>
          ))}
        </div>
      )}
      {pendingCount > 0 && sections.includes('hardware') && (
        <p class="notice pending-notice" role="status">
          {pendingCount} change{pendingCount > 1 ? 's are' : ' is'} pending: {kind === 'qemu' ? 'applied at the next start or reboot.' : 'applied when the container stops or starts again.'}
        </p>
      )}
      {sections.map((s) => {
        const lines = linesOf(kind, cfg, s);
        if (!lines.length && s === 'network') return null;
        return (
          <section key={s} aria-label={SECTION_TITLES[s]}>
            {sections.length > 1 && <h2>{SECTION_TITLES[s]}</h2>}
            <div class="table-wrap">
              <table class="grid config-table" aria-label={SECTION_TITLES[s]}>
                <thead>
                  <tr>
                    <th scope="col">{s === 'options' ? 'Option' : 'Device'}</th>
                    <th scope="col">Value</th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {lines.map((line) => {
                    const { row, def } = line;
                    const v = row.pending ?? row.value;
                    const editor = row.delete ? undefined : def?.editor?.(row.key, v);
                    return (
                      <tr key={row.key} class={isPending(row) ? 'has-pending' : ''} data-key={row.key}>
                        <th scope="row">{line.label}</th>
                        <td class="value">
                          <Value line={line} />
                        </td>
                        <td class="row-actions">
                          {editor && (
                            <button type="button" disabled={busy} aria-label={`Edit ${line.label}`} onClick={() => open({ editor, key: row.key, value: v, adding: false }, editor.needs)}>
                              Edit
                            </button>
                          )}
                          {!row.delete && v !== undefined && def?.resizable?.(row.key, v) && (
                            <button type="button" disabled={busy} aria-label={`Resize ${line.label}`} onClick={() => open({ resize: row.key, value: v })}>
                              Resize
                            </button>
                          )}
                          {isPending(row) && (
                            <button type="button" disabled={busy} aria-label={`Revert ${line.label}`} onClick={() => put(`Revert ${row.key}`, { revert: row.key })}>
                              Revert
                            </button>
                          )}
                          {!row.delete && row.value !== undefined && def?.removable?.(row.key, v) && (
                            <button type="button" class="danger" disabled={busy} aria-label={`Remove ${line.label}`} onClick={() => remove(line)}>
                              Remove
                            </button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </section>
        );
      })}
      {dialog &&
        ('resize' in dialog ? (
          <ResizeDialog ctx={ctx(dialog.resize, dialog.value)} onClose={() => setDialog(null)} onChanged={reload} />
        ) : (
          <EditDialog editor={dialog.editor} ctx={ctx(dialog.key, dialog.value)} adding={dialog.adding} onClose={() => setDialog(null)} onChanged={reload} />
        ))}
    </div>
  );
}
