// A new API token's secret: shown once, with copy buttons and the warning PVE gives.
import { useState } from 'preact/hooks';
import { Modal } from '../../components/ui';
import type { NewToken } from './model';

async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false; // no clipboard (plain http, permissions): the field stays selected instead
  }
}

function CopyField({ label, value, id }: { label: string; value: string; id: string }) {
  const [state, setState] = useState<'' | 'copied' | 'select'>('');
  return (
    <div class="copy-field">
      <label for={id}>{label}</label>
      <div class="copy-row">
        <input id={id} readOnly value={value} onFocus={(e) => (e.target as HTMLInputElement).select()} />
        <button
          type="button"
          aria-label={`Copy ${label.toLowerCase()}`}
          onClick={async () => {
            if (await copy(value)) setState('copied');
            else {
              (document.getElementById(id) as HTMLInputElement | null)?.select();
              setState('select');
            }
          }}
        >
          {state === 'copied' ? 'Copied' : 'Copy'}
        </button>
      </div>
      {state === 'select' && <small class="hint">The browser does not allow copying here: the text is selected, press Ctrl+C.</small>}
    </div>
  );
}

export function SecretDialog({ token, onClose }: { token: NewToken; onClose: () => void }) {
  return (
    <Modal title="API token secret" onClose={onClose}>
      <div class="token-secret">
        <CopyField label="Token ID" id="token-id" value={token['full-tokenid']} />
        <CopyField label="Secret" id="token-secret" value={token.value} />
        <p class="notice" role="note">
          Copy the secret now: it is shown only this once and cannot be read again. A lost secret means removing the token and
          making a new one.
        </p>
        <p class="muted">
          Clients send it as <code>Authorization: PVEAPIToken={token['full-tokenid']}=&lt;secret&gt;</code>
        </p>
        <div class="buttons">
          <button type="button" class="primary" onClick={onClose}>
            Done
          </button>
        </div>
      </div>
    </Modal>
  );
}
