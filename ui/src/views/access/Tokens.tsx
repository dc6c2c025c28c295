// API tokens of every user this session may see: created (the secret is shown once),
// edited (comment, expiry, privilege separation) and removed.
import { useState } from 'preact/hooks';
import { api, p } from '../../api';
import { confirmAction, errorText, ErrorBox, Modal, toast } from '../../components/ui';
import { DataTable, type Column } from '../../components/DataTable';
import { dateToEpoch, epochToDate, expiry, Field, invalid, StatusLine } from '../../components/field';
import { loadUsers, type NewToken, type TokenInfo, type User } from './model';
import { useLoad } from '../../components/useLoad';
import { SecretDialog } from './Secret';

interface TokenRow extends TokenInfo {
  userid: string;
  full: string;
}

type Dialog = { kind: 'create' } | { kind: 'edit'; token: TokenRow } | { kind: 'secret'; token: NewToken } | null;

export function TokensTab() {
  const users = useLoad(loadUsers);
  const [dialog, setDialog] = useState<Dialog>(null);
  const rows: TokenRow[] = (users.data ?? []).flatMap((u) =>
    (u.tokens ?? []).map((t) => ({ ...t, userid: u.userid, full: `${u.userid}!${t.tokenid}` })),
  );

  const remove = async (t: TokenRow) => {
    if (!(await confirmAction('Remove API token', `Remove ${t.full}? Clients using it stop working at once.`, 'Remove', true))) return;
    try {
      await api.del(p`/access/users/${t.userid}/token/${t.tokenid}`);
      toast(`Token ${t.full} removed`);
    } catch (e) {
      toast(errorText(e), true);
    }
    await users.reload();
  };

  const columns: Column<TokenRow>[] = [
    { label: 'User', cell: (t) => <code>{t.userid}</code> },
    { label: 'Token name', cell: (t) => <code>{t.tokenid}</code> },
    { label: 'Expire', cell: (t) => expiry(t.expire), class: 'optional' },
    { label: 'Privilege separation', cell: (t) => (t.privsep === 0 ? 'No' : 'Yes') },
    { label: 'Comment', cell: 'comment', class: 'wide optional' },
    {
      label: 'Actions',
      class: 'row-actions',
      cell: (t) => (
        <>
          <button type="button" aria-label={`Edit ${t.full}`} onClick={() => setDialog({ kind: 'edit', token: t })}>
            Edit
          </button>
          <button type="button" class="danger" aria-label={`Remove ${t.full}`} onClick={() => remove(t)}>
            Remove
          </button>
        </>
      ),
    },
  ];

  return (
    <div class="access-tokens">
      <div class="toolbar">
        <button type="button" class="primary" onClick={() => setDialog({ kind: 'create' })}>
          Add token
        </button>
      </div>
      <p class="muted">
        A token with privilege separation has only the permissions given to the token itself (Permissions tab); without it, it
        acts with all of its user's.
      </p>
      <ErrorBox error={users.error} />
      <DataTable label="API tokens" columns={columns} rows={rows} rowKey={(t) => t.full} loading={users.loading && !users.data} empty="No API tokens." />
      {dialog?.kind === 'create' && (
        <TokenDialog
          users={users.data ?? []}
          onClose={() => setDialog(null)}
          onCreated={async (tok) => {
            setDialog({ kind: 'secret', token: tok });
            await users.reload();
          }}
        />
      )}
      {dialog?.kind === 'edit' && (
        <TokenDialog
          users={users.data ?? []}
          token={dialog.token}
          onClose={() => setDialog(null)}
          onCreated={async () => {
            setDialog(null);
            toast(`Token ${dialog.token.full} saved`);
            await users.reload();
          }}
        />
      )}
      {dialog?.kind === 'secret' && <SecretDialog token={dialog.token} onClose={() => setDialog(null)} />}
    </div>
  );
}

function TokenDialog(props: { users: User[]; token?: TokenRow; onClose: () => void; onCreated: (t: NewToken) => void }) {
  const t = props.token;
  const [userid, setUserid] = useState(t?.userid ?? props.users[0]?.userid ?? '');
  const [tokenid, setTokenid] = useState(t?.tokenid ?? '');
  const [comment, setComment] = useState(t?.comment ?? '');
  const [expire, setExpire] = useState(epochToDate(t?.expire));
  const [privsep, setPrivsep] = useState(t ? t.privsep !== 0 : true);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const fields = { comment, expire: dateToEpoch(expire), privsep };
    try {
      if (t) {
        await api.put(p`/access/users/${t.userid}/token/${t.tokenid}`, fields);
        props.onCreated({ 'full-tokenid': t.full, value: '', info: t });
      } else {
        props.onCreated(await api.post<NewToken>(p`/access/users/${userid}/token/${tokenid}`, fields));
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title={t ? `Edit token ${t.full}` : 'Add API token'} onClose={props.onClose}>
      <form onSubmit={submit}>
        {t ? (
          <p>
            Token <code>{t.full}</code>
          </p>
        ) : (
          <>
            <Field label="User" name="userid" error={error}>
              <select value={userid} onChange={(e) => setUserid((e.target as HTMLSelectElement).value)} {...invalid(error, 'userid')}>
                {props.users.map((u) => (
                  <option key={u.userid} value={u.userid}>
                    {u.userid}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Token name" name="tokenid" error={error} hint="letters, digits, - _ .; it cannot be changed later">
              <input required autoFocus value={tokenid} onInput={(e) => setTokenid((e.target as HTMLInputElement).value)} {...invalid(error, 'tokenid')} />
            </Field>
          </>
        )}
        <Field label="Expire" name="expire" error={error} hint="empty: as the user">
          <input type="date" value={expire} onInput={(e) => setExpire((e.target as HTMLInputElement).value)} {...invalid(error, 'expire')} />
        </Field>
        <Field label="Comment" name="comment" error={error}>
          <input value={comment} onInput={(e) => setComment((e.target as HTMLInputElement).value)} {...invalid(error, 'comment')} />
        </Field>
        <Field label="Privilege separation" name="privsep" error={error} inline>
          <input type="checkbox" checked={privsep} onChange={(e) => setPrivsep((e.target as HTMLInputElement).checked)} />
        </Field>
        <StatusLine error={error} shown={['userid', 'tokenid', 'expire', 'comment', 'privsep']} />
        <div class="buttons">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy || (!t && !userid)}>
            {t ? 'Save' : 'Add'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
