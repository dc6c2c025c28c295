// Roles: the built-in ones (read-only) and custom ones, which can be made from any set of the
// privileges the built-in roles use, edited and removed.
import { useState } from 'preact/hooks';
import { api, p } from '../../api';
import { confirmAction, errorText, ErrorBox, Modal, toast } from '../../components/ui';
import { DataTable, type Column } from '../../components/DataTable';
import { Field, invalid, StatusLine } from '../../components/field';
import { loadRoles, privList, type Role } from './model';
import { useLoad } from '../../components/useLoad';

type Dialog = { role?: Role } | null;

export function RolesTab() {
  const roles = useLoad(loadRoles);
  const [dialog, setDialog] = useState<Dialog>(null);
  const all = [...new Set((roles.data ?? []).flatMap(privList))].sort();

  const remove = async (r: Role) => {
    if (!(await confirmAction('Remove role', `Remove the role ${r.roleid}? Permissions that use it are removed too.`, 'Remove', true))) return;
    try {
      await api.del(p`/access/roles/${r.roleid}`);
      toast(`Role ${r.roleid} removed`);
    } catch (e) {
      toast(errorText(e), true);
    }
    await roles.reload();
  };

  const columns: Column<Role>[] = [
    { label: 'Role', cell: (r) => <strong>{r.roleid}</strong> },
    { label: 'Built-in', cell: (r) => (r.special ? 'Yes' : 'No'), class: 'optional' },
    {
      label: 'Privileges',
      class: 'wide',
      cell: (r) => (
        <span class="privs">
          {privList(r).map((x) => (
            <span class="tag" key={x}>
              {x}
            </span>
          ))}
          {privList(r).length === 0 && <span class="muted">none</span>}
        </span>
      ),
    },
    {
      label: 'Actions',
      class: 'row-actions',
      cell: (r) =>
        r.special ? null : (
          <>
            <button type="button" aria-label={`Edit ${r.roleid}`} onClick={() => setDialog({ role: r })}>
              Edit
            </button>
            <button type="button" class="danger" aria-label={`Remove ${r.roleid}`} onClick={() => remove(r)}>
              Remove
            </button>
          </>
        ),
    },
  ];

  const rows = [...(roles.data ?? [])].sort((a, b) => (b.special ?? 0) - (a.special ?? 0) || a.roleid.localeCompare(b.roleid));
  return (
    <div class="access-roles">
      <div class="toolbar">
        <button type="button" class="primary" onClick={() => setDialog({})}>
          Add role
        </button>
      </div>
      <ErrorBox error={roles.error} />
      <DataTable label="Roles" columns={columns} rows={rows} rowKey={(r) => r.roleid} loading={roles.loading && !roles.data} empty="No roles." />
      {dialog && (
        <RoleDialog
          role={dialog.role}
          privileges={all}
          onClose={() => setDialog(null)}
          onDone={async (msg) => {
            setDialog(null);
            toast(msg);
            await roles.reload();
          }}
        />
      )}
    </div>
  );
}

function RoleDialog(props: { role?: Role; privileges: string[]; onClose: () => void; onDone: (msg: string) => void }) {
  const r = props.role;
  const [name, setName] = useState(r?.roleid ?? '');
  const [chosen, setChosen] = useState<Set<string>>(new Set(r ? privList(r) : []));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const toggle = (x: string) => {
    const s = new Set(chosen);
    if (s.has(x)) s.delete(x);
    else s.add(x);
    setChosen(s);
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const privs = [...chosen].sort().join(',');
    try {
      if (r) await api.put(p`/access/roles/${r.roleid}`, { privs });
      else await api.post('/access/roles', { roleid: name, privs });
      props.onDone(`Role ${r?.roleid ?? name} saved`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  // group the privileges by their prefix (VM., Datastore., Sys., ...) as PVE's picker does
  const groups = new Map<string, string[]>();
  for (const x of props.privileges) {
    const g = x.split('.')[0];
    groups.set(g, [...(groups.get(g) ?? []), x]);
  }
  return (
    <Modal title={r ? `Edit role ${r.roleid}` : 'Add role'} onClose={props.onClose} wide>
      <form onSubmit={submit}>
        {r ? (
          <p>
            Role <strong>{r.roleid}</strong>
          </p>
        ) : (
          <Field label="Name" name="roleid" error={error}>
            <input required autoFocus value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} {...invalid(error, 'roleid')} />
          </Field>
        )}
        <div class="priv-picker" role="group" aria-label="Privileges">
          {[...groups].map(([g, list]) => (
            <fieldset key={g}>
              <legend>{g}</legend>
              {list.map((x) => (
                <label class="inline" key={x}>
                  <input type="checkbox" checked={chosen.has(x)} onChange={() => toggle(x)} />
                  {x}
                </label>
              ))}
            </fieldset>
          ))}
        </div>
        <StatusLine error={error} shown={['roleid']} />
        <div class="buttons">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {r ? 'Save' : 'Add'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
