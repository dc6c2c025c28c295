// Upload an ISO image, a CT template or an importable image, as PVE's upload dialog: content
// type, file, optional checksum. The bytes go by XHR with a progress bar; the answer is the
// imgcopy task, followed until the file has its name in the storage.
import { useState } from 'preact/hooks';
import { ApiError, p, upload } from '../../api';
import { Modal, toast } from '../../components/ui';
import { bytes } from '../../format';
import { followTask, type Resource } from '../../state';
import { Field, invalid, StatusLine } from '../../components/field';
import { CHECKSUM_ALGORITHMS, storageContents } from './contentTypes';

type Phase = { at: 'form' } | { at: 'sending'; loaded: number; total: number } | { at: 'task'; upid: string; total: number };

export function UploadDialog({ storage, initial, onClose, onDone }: { storage: Resource; initial?: string; onClose: () => void; onDone: () => void }) {
  const types = storageContents(storage.content).filter((c) => c.accept);
  const [content, setContent] = useState(types.find((t) => t.id === initial)?.id ?? types[0]?.id ?? 'iso');
  const [file, setFile] = useState<File | null>(null);
  const [algorithm, setAlgorithm] = useState('');
  const [checksum, setChecksum] = useState('');
  const [phase, setPhase] = useState<Phase>({ at: 'form' });
  const [error, setError] = useState<unknown>(null);
  const type = types.find((t) => t.id === content);
  const busy = phase.at !== 'form';

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    setError(null);
    setPhase({ at: 'sending', loaded: 0, total: file.size });
    try {
      const fields = { content, checksum: algorithm ? checksum.trim() : undefined, 'checksum-algorithm': algorithm || undefined };
      let sent = file.size; // the request's size (the file plus the form around it) once known
      const upid = await upload(p`/nodes/${storage.node!}/storage/${storage.storage!}/upload`, fields, file, (loaded, total) => {
        sent = total;
        setPhase({ at: 'sending', loaded, total });
      });
      setPhase({ at: 'task', upid, total: sent });
      const status = await followTask(upid);
      if (status !== 'OK') throw new Error(`The upload task failed: ${status}`);
      toast(`${file.name} uploaded to ${storage.storage}`);
      onDone();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 413 ? new ApiError(413, `${err.message} (the file is larger than the server accepts)`, err.errors) : err);
      setPhase({ at: 'form' });
    }
  };

  if (types.length === 0) {
    return (
      <Modal title="Upload" onClose={onClose}>
        <p>Storage {storage.storage} holds no content that can be uploaded (ISO images, CT templates or import images).</p>
      </Modal>
    );
  }

  return (
    <Modal title={`Upload to ${storage.storage}`} onClose={busy ? () => {} : onClose}>
      <form onSubmit={submit} class="upload-form">
        <fieldset disabled={busy}>
          <Field label="Content" name="content" error={error}>
            <select value={content} onChange={(e) => setContent((e.target as HTMLSelectElement).value)} {...invalid(error, 'content')}>
              {types.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.label}
                </option>
              ))}
            </select>
          </Field>
          <Field label="File" name="filename" error={error} hint={type?.accept ? `${type.accept.join(', ')}` : undefined}>
            <input
              type="file"
              required
              accept={type?.accept?.join(',')}
              onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)}
              {...invalid(error, 'filename')}
            />
          </Field>
          {file && (
            <p class="muted file-facts">
              {file.name}, {bytes(file.size)}
            </p>
          )}
          <div class="checksum-row">
            <Field label="Hash algorithm" name="checksum-algorithm" error={error}>
              <select value={algorithm} onChange={(e) => setAlgorithm((e.target as HTMLSelectElement).value)} {...invalid(error, 'checksum-algorithm')}>
                <option value="">None</option>
                {CHECKSUM_ALGORITHMS.map((a) => (
                  <option key={a} value={a}>
                    {a.toUpperCase().replace('SHA', 'SHA-')}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Checksum" name="checksum" error={error}>
              <input
                value={checksum}
                disabled={!algorithm}
                required={!!algorithm}
                spellcheck={false}
                placeholder={algorithm ? 'hex digest' : 'choose an algorithm first'}
                onInput={(e) => setChecksum((e.target as HTMLInputElement).value)}
                {...invalid(error, 'checksum')}
              />
            </Field>
          </div>
        </fieldset>
        <UploadProgress phase={phase} />
        <StatusLine error={error} shown={['content', 'filename', 'checksum', 'checksum-algorithm']} />
        <div class="buttons">
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy || !file}>
            Upload
          </button>
        </div>
      </form>
    </Modal>
  );
}

function UploadProgress({ phase }: { phase: Phase }) {
  if (phase.at === 'form') return null;
  if (phase.at === 'task') {
    return (
      <div class="upload-progress" role="status">
        <progress aria-label="Upload progress" max={phase.total || 1} value={phase.total || 1} />
        <p>
          <span class="spinner" aria-hidden="true" /> 100% sent; the server is checking and storing the file…
        </p>
      </div>
    );
  }
  const pct = phase.total ? Math.floor((phase.loaded / phase.total) * 100) : 0;
  return (
    <div class="upload-progress" role="status">
      <progress aria-label="Upload progress" max={phase.total || 1} value={phase.loaded} />
      <p>
        <strong>{pct}%</strong> — {bytes(phase.loaded)} of {bytes(phase.total)}
      </p>
    </div>
  );
}
