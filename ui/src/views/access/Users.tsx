// Users: PVE-realm accounts (and the pam users that were added), created, edited, disabled,
// removed here; pve-realm passwords are set on creation and changed with "Password".
import { useState } from 'preact/hooks';
import { api, currentSession, p } from '../../api';
import { confirmAction, errorText, ErrorBox, Modal, toast } from '../../components/ui';
import { DataTable, type Column } from '../../components/DataTable';
import { dateToEpoch, epochToDate, expiry, Field, invalid, StatusLine } from '../../components/field';
import { fullName, loadRealms, loadUsers, realmOf, type User } from './model';
import { useLoad } from '../../components/useLoad';

type Dialog = { kind: 'create' } | { kind: 'edit'; user: User } | { kind: 'password'; user: User } | null;

export function UsersTab() {
  const users = useLoad(loadUsers);
  const [dialog, setDialog] = useState<Dialog>(null);
  const me = currentSession()?.username;

  const remove = async (u: User) => {
    if (!(await confirmAction('Remove user', `Remove ${u.userid}? Its API tokens and permissions go with it.`, 'Remove', true))) return;
    try {
      await api.del(p`/access/users/${u.userid}`);
      toast(`User ${u.userid} removed`);
    } catch (e) {
      toast(errorText(e), true);
    }
    await users.reload();
  };

  const columns: Column<User>[] = [
    { label: 'User name', cell: (u) => <code>{u.userid.slice(0, u.userid.lastIndexOf('@'))}</code> },
    { label: 'Realm', cell: (u) => realmOf(u.userid) },
    { label: 'Enabled', cell: (u) => (u.enable === 0 ? 'No' : 'Yes') },
    { label: 'Expire', cell: (u) => expiry(u.expire), class: 'optional' },
    { label: 'Name', cell: fullName, class: 'optional' },
    { label: 'E-Mail', cell: 'email', class: 'optional' },
    { label: 'Tokens', cell: (u) => u.tokens?.length ?? 0, class: 'num optional' },
    { label: 'Comment', cell: 'comment', class: 'wide optional' },
    {
      label: 'Actions',
      class: 'row-actions',
      cell: (u) => (
        <>
          <button type="button" aria-label={`Edit ${u.userid}`} onClick={() => setDialog({ kind: 'edit', user: u })}>
            Edit
          </button>
          {realmOf(u.userid) === 'pve' && (
            <button type="button" aria-label={`Change password of ${u.userid}`} onClick={() => setDialog({ kind: 'password', user: u })}>
              Password
            </button>
          )}
          <button type="button" class="danger" aria-label={`Remove ${u.userid}`} disabled={u.userid === me} onClick={() => remove(u)}>
            Remove
          </button>
        </>
      ),
    },
  ];

  const done = async (msg: string) => {
    setDialog(null);
    toast(msg);
    await users.reload();
  };

  return (
    <div class="access-users">
      <div class="toolbar">
        <button type="button" class="primary" onClick={() => setDialog({ kind: 'create' })}>
          Add user
        </button>
      </div>
      <ErrorBox error={users.error} />
      <DataTable label="Users" columns={columns} rows={users.data ?? []} rowKey={(u) => u.userid} loading={users.loading && !users.data} empty="No users." />
      {dialog?.kind === 'create' && <UserDialog onClose={() => setDialog(null)} onDone={done} />}
      {dialog?.kind === 'edit' && <UserDialog user={dialog.user} onClose={() => setDialog(null)} onDone={done} />}
      {dialog?.kind === 'password' && <PasswordDialog user={dialog.user} onClose={() => setDialog(null)} onDone={done} />}
    </div>
  );
}

function UserDialog({ user, onClose, onDone }: { user?: User; onClose: () => void; onDone: (msg: string) => void }) {
  const editing = !!user;
  const realms = useLoad(loadRealms);
  const [name, setName] = useState('');
  const [realm, setRealm] = useState('pve');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [v, setV] = useState({
    firstname: user?.firstname ?? '',
    lastname: user?.lastname ?? '',
    email: user?.email ?? '',
    comment: user?.comment ?? '',
    expire: epochToDate(user?.expire),
    enable: user ? user.enable !== 0 : true,
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof v) => (e: Event) => {
    const t = e.target as HTMLInputElement;
    setV({ ...v, [k]: t.type === 'checkbox' ? t.checked : t.value });
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!editing && realm === 'pve' && password !== confirm) {
      setError(new Error('The passwords do not match.'));
      return;
    }
    setBusy(true);
    setError(null);
    const fields = {
      firstname: v.firstname,
      lastname: v.lastname,
      email: v.email,
      comment: v.comment,
      expire: dateToEpoch(v.expire),
      enable: v.enable,
    };
    try {
      if (user) {
        await api.put(p`/access/users/${user.userid}`, fields);
        onDone(`User ${user.userid} saved`);
      } else {
        const userid = `${name}@${realm}`;
        await api.post('/access/users', { userid, ...fields, password: realm === 'pve' && password ? password : undefined });
        onDone(`User ${userid} created`);
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title={editing ? `Edit user ${user.userid}` : 'Add user'} onClose={onClose}>
      <form onSubmit={submit} class="form-grid">
        {editing ? (
          <p class="span2">
            User <code>{user.userid}</code>
          </p>
        ) : (
          <>
            <Field label="User name" name="userid" error={error}>
              <input required value={name} autoFocus onInput={(e) => setName((e.target as HTMLInputElement).value)} {...invalid(error, 'userid')} />
            </Field>
            <Field label="Realm" name="realm" error={error}>
              <select value={realm} onChange={(e) => setRealm((e.target as HTMLSelectElement).value)}>
                {(realms.data ?? [{ realm: 'pve', type: 'pve' }]).map((r) => (
                  <option key={r.realm} value={r.realm} title={r.comment}>
                    {r.realm}
                  </option>
                ))}
              </select>
            </Field>
            {realm === 'pve' && (
              <>
                <Field label="Password" name="password" error={error}>
                  <input type="password" autoComplete="new-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} {...invalid(error, 'password')} />
                </Field>
                <Field label="Confirm password" name="confirm" error={error}>
                  <input type="password" autoComplete="new-password" value={confirm} onInput={(e) => setConfirm((e.target as HTMLInputElement).value)} />
                </Field>
              </>
            )}
          </>
        )}
        <Field label="First name" name="firstname" error={error}>
          <input value={v.firstname} onInput={set('firstname')} {...invalid(error, 'firstname')} />
        </Field>
        <Field label="Last name" name="lastname" error={error}>
          <input value={v.lastname} onInput={set('lastname')} {...invalid(error, 'lastname')} />
        </Field>
        <Field label="E-Mail" name="email" error={error}>
          <input type="email" value={v.email} onInput={set('email')} {...invalid(error, 'email')} />
        </Field>
        <Field label="Expire" name="expire" error={error} hint="empty: never">
          <input type="date" value={v.expire} onInput={set('expire')} {...invalid(error, 'expire')} />
        </Field>
        <Field label="Comment" name="comment" error={error}>
          <input value={v.comment} onInput={set('comment')} {...invalid(error, 'comment')} />
        </Field>
        <Field label="Enabled" name="enable" error={error} inline>
          <input type="checkbox" checked={v.enable} onChange={set('enable')} />
        </Field>
        <div class="span2">
          <StatusLine error={error} shown={['userid', 'password', 'firstname', 'lastname', 'email', 'expire', 'comment', 'enable']} />
          <div class="buttons">
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" class="primary" disabled={busy}>
              {editing ? 'Save' : 'Add'}
            </button>
          </div>
        </div>
      </form>
    </Modal>
  );
}

function PasswordDialog({ user, onClose, onDone }: { user: User; onClose: () => void; onDone: (msg: string) => void }) {
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [mine, setMine] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // PVE asks everybody but root@pam for their own password before changing one
  const needMine = currentSession()?.username !== 'root@pam';
  const submit = async (e: Event) => {
    e.preventDefault();
    if (password !== confirm) {
      setError(new Error('The passwords do not match.'));
      return;
    }
    setBusy(true);
    try {
      await api.put('/access/password', { userid: user.userid, password, 'confirmation-password': needMine ? mine : undefined });
      onDone(`Password of ${user.userid} changed`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={`Password for ${user.userid}`} onClose={onClose}>
      <form onSubmit={submit}>
        {needMine && (
          <Field label="Your current password" name="confirmation-password" error={error}>
            <input type="password" required autoFocus autoComplete="current-password" value={mine} onInput={(e) => setMine((e.target as HTMLInputElement).value)} {...invalid(error, 'confirmation-password')} />
          </Field>
        )}
        <Field label="New password" name="password" error={error}>
          <input type="password" required autoFocus={!needMine} autoComplete="new-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} {...invalid(error, 'password')} />
        </Field>
        <Field label="Confirm new password" name="confirm" error={error}>
          <input type="password" required autoComplete="new-password" value={confirm} onInput={(e) => setConfirm((e.target as HTMLInputElement).value)} />
        </Field>
        <StatusLine error={error} shown={['password', 'confirmation-password']} />
        <div class="buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Change password
          </button>
        </div>
      </form>
    </Modal>
  );
}
