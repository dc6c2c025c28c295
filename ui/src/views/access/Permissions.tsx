// The ACL: who holds which role on which path. Entries are added for a user or an API token
// and removed one at a time (PUT /access/acl with delete=1), as PVE's Permissions view does.
import { useState } from 'preact/hooks';
import { api } from '../../api';
import { confirmAction, errorText, ErrorBox, Modal, toast } from '../../components/ui';
import { resources } from '../../state';
import { DataTable, type Column } from '../../components/DataTable';
import { Field, invalid, StatusLine } from '../../components/field';
import { loadAcl, loadRoles, loadUsers, type AclEntry, type Role, type User } from './model';
import { useLoad } from '../../components/useLoad';

const SUBJECT_PARAM: Record<AclEntry['type'], string> = { user: 'users', group: 'groups', token: 'tokens' };
const SUBJECT_LABEL: Record<AclEntry['type'], string> = { user: 'User', group: 'Group', token: 'API token' };

const aclKey = (a: AclEntry) => `${a.path} ${a.type} ${a.ugid} ${a.roleid}`;

export function PermissionsTab() {
  const acl = useLoad(loadAcl);
  const [adding, setAdding] = useState(false);

  const remove = async (a: AclEntry) => {
    const what = `${a.roleid} for ${a.ugid} on ${a.path}`;
    if (!(await confirmAction('Remove permission', `Remove ${what}?`, 'Remove', true))) return;
    try {
      await api.put('/access/acl', { path: a.path, roles: a.roleid, [SUBJECT_PARAM[a.type]]: a.ugid, delete: 1 });
      toast(`Permission removed: ${what}`);
    } catch (e) {
      toast(errorText(e), true);
    }
    await acl.reload();
  };

  const columns: Column<AclEntry>[] = [
    { label: 'Path', cell: (a) => <code>{a.path}</code> },
    { label: 'Type', cell: (a) => SUBJECT_LABEL[a.type] ?? a.type, class: 'optional' },
    { label: 'User / token', cell: (a) => <code>{a.ugid}</code> },
    { label: 'Role', cell: 'roleid' },
    { label: 'Propagate', cell: (a) => (a.propagate ? 'Yes' : 'No'), class: 'optional' },
    {
      label: 'Actions',
      class: 'row-actions',
      cell: (a) => (
        <button type="button" class="danger" aria-label={`Remove ${a.roleid} for ${a.ugid} on ${a.path}`} onClick={() => remove(a)}>
          Remove
        </button>
      ),
    },
  ];

  const rows = [...(acl.data ?? [])].sort((a, b) => a.path.localeCompare(b.path) || a.ugid.localeCompare(b.ugid));
  return (
    <div class="access-acl">
      <div class="toolbar">
        <button type="button" class="primary" onClick={() => setAdding(true)}>
          Add permission
        </button>
      </div>
      <ErrorBox error={acl.error} />
      <DataTable label="Permissions" columns={columns} rows={rows} rowKey={aclKey} loading={acl.loading && !acl.data} empty="No permissions (root@pam has all of them regardless)." />
      {adding && (
        <AclDialog
          onClose={() => setAdding(false)}
          onDone={async (msg) => {
            setAdding(false);
            toast(msg);
            await acl.reload();
          }}
        />
      )}
    </div>
  );
}

/** The paths a permission is usually given on, from what exists: a datalist, any path may be typed. */
function knownPaths(): string[] {
  const out = ['/', '/vms', '/storage', '/nodes', '/pool', '/access', '/access/groups', '/access/realm/pve', '/sdn', '/mapping'];
  for (const r of resources.value) {
    if ((r.type === 'lxc' || r.type === 'qemu') && r.vmid !== undefined) out.push(`/vms/${r.vmid}`);
    else if (r.type === 'storage' && r.storage) out.push(`/storage/${r.storage}`);
    else if (r.type === 'node' && r.node) out.push(`/nodes/${r.node}`);
    else if (r.type === 'pool' && r.pool) out.push(`/pool/${r.pool}`);
  }
  return [...new Set(out)];
}

function AclDialog({ onClose, onDone }: { onClose: () => void; onDone: (msg: string) => void }) {
  const users = useLoad(loadUsers);
  const roles = useLoad(loadRoles);
  const [type, setType] = useState<'user' | 'token'>('user');
  const [path, setPath] = useState('/');
  const [subject, setSubject] = useState('');
  const [role, setRole] = useState('');
  const [propagate, setPropagate] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const subjects = subjectsOf(users.data ?? [], type);
  const roleList: Role[] = roles.data ?? [];
  const chosenSubject = subject && subjects.includes(subject) ? subject : subjects[0] ?? '';
  const chosenRole = role || roleList.find((r) => r.roleid === 'PVEVMUser')?.roleid || roleList[0]?.roleid || '';

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.put('/access/acl', { path, roles: chosenRole, [SUBJECT_PARAM[type]]: chosenSubject, propagate });
      onDone(`${chosenRole} given to ${chosenSubject} on ${path}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title="Add permission" onClose={onClose}>
      <form onSubmit={submit}>
        <fieldset class="segmented" role="radiogroup" aria-label="Permission for">
          {(['user', 'token'] as const).map((t) => (
            <button key={t} type="button" role="radio" aria-checked={type === t} onClick={() => setType(t)}>
              {SUBJECT_LABEL[t]}
            </button>
          ))}
        </fieldset>
        <Field label="Path" name="path" error={error}>
          <input required list="acl-paths" value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} {...invalid(error, 'path')} />
        </Field>
        <datalist id="acl-paths">
          {knownPaths().map((x) => (
            <option key={x} value={x} />
          ))}
        </datalist>
        <Field label={SUBJECT_LABEL[type]} name={SUBJECT_PARAM[type]} error={error}>
          <select required value={chosenSubject} onChange={(e) => setSubject((e.target as HTMLSelectElement).value)} {...invalid(error, SUBJECT_PARAM[type])}>
            {subjects.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </Field>
        {type === 'token' && subjects.length === 0 && !users.loading && <p class="muted">No API tokens yet: add one on the API Tokens tab.</p>}
        <Field label="Role" name="roles" error={error}>
          <select required value={chosenRole} onChange={(e) => setRole((e.target as HTMLSelectElement).value)} {...invalid(error, 'roles')}>
            {roleList.map((r) => (
              <option key={r.roleid} value={r.roleid}>
                {r.roleid}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Propagate to paths below" name="propagate" error={error} inline>
          <input type="checkbox" checked={propagate} onChange={(e) => setPropagate((e.target as HTMLInputElement).checked)} />
        </Field>
        <StatusLine error={error} shown={['path', 'roles', 'users', 'tokens', 'propagate']} />
        <div class="buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy || !chosenSubject || !chosenRole}>
            Add
          </button>
        </div>
      </form>
    </Modal>
  );
}

function subjectsOf(users: User[], type: 'user' | 'token'): string[] {
  if (type === 'user') return users.map((u) => u.userid);
  return users.flatMap((u) => (u.tokens ?? []).map((t) => `${u.userid}!${t.tokenid}`));
}
