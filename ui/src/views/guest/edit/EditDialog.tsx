// The dialog behind "Edit", "Add" and "Resize": fields from the key's Editor, sent as PUT
// .../config with the digest the page read (so a concurrent change is refused with the
// API's message), or as POST .../config followed to its task's end for new VM disks. The
// API's per-field errors (a hot-plug problem, a bad value) show next to the field they
// name, and the status line under the form.
import { useState } from 'preact/hooks';
import { api, p, type Params } from '../../../api';
import { apiFieldErrors, FormFields, validate, str, type Errors, type FieldDef, type Value, type Values } from '../../../components/form';
import { ErrorBox, Modal, toast } from '../../../components/ui';
import { followTask } from '../../../state';
import { TaskView } from '../../create/TaskView';
import { resizeFields } from './editors';
import type { EditCtx, Editor } from './types';

const ok = (exit: string) => exit === 'OK' || exit.startsWith('WARNINGS');

function FormDialog(props: {
  title: string;
  action: string;
  note?: string;
  fields: FieldDef[];
  init: Values;
  /** does the work; resolves with a task's UPID to follow, or null when done */
  send: (v: Values) => Promise<string | null>;
  /** a key of the API's errors that belongs to the dialog's only field */
  errorKey?: string;
  onClose: () => void;
  onChanged: () => void;
}) {
  const [values, setValues] = useState<Values>(props.init);
  const [errors, setErrors] = useState<Errors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [task, setTask] = useState<{ upid: string; exit?: string } | null>(null);

  const change = (key: string, v: Value) => {
    setValues((old) => ({ ...old, [key]: v }));
    setErrors(({ [key]: _, ...rest }) => rest);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const errs = validate(props.fields, values);
    setErrors(errs);
    if (Object.keys(errs).length) return;
    setBusy(true);
    setError(null);
    setTask(null);
    try {
      const upid = await props.send(values);
      if (upid) {
        setTask({ upid });
        const exit = await followTask(upid);
        setTask({ upid, exit });
        if (!ok(exit)) {
          props.onChanged();
          setBusy(false);
          return;
        }
      }
      toast(`${props.title}: saved`);
      props.onChanged();
      props.onClose();
    } catch (err) {
      setError(err);
      const fe = apiFieldErrors(err);
      const mapped: Errors = {};
      for (const [k, v] of Object.entries(fe)) {
        if (props.fields.some((f) => f.key === k)) mapped[k] = v;
        else if (k === props.errorKey && props.fields.length === 1) mapped[props.fields[0].key] = v;
      }
      setErrors(mapped);
      props.onChanged(); // a failed hot-plug leaves the change pending
      setBusy(false);
    }
  };

  return (
    <Modal title={props.title} onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        {props.note && <p class="edit-note">{props.note}</p>}
        <FormFields fields={props.fields} values={values} errors={errors} onChange={change} />
        <ErrorBox error={error} />
        {task && <TaskView upid={task.upid} exit={task.exit} title={props.title} />}
        <div class="buttons">
          <button type="button" onClick={props.onClose}>
            {task?.exit !== undefined ? 'Close' : 'Cancel'}
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? <span class="spinner" aria-hidden="true" /> : null}
            {props.action}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function configPath(c: EditCtx): string {
  return p`/nodes/${c.node}/${c.kind}/${c.vmid}/config`;
}

export function EditDialog(props: { editor: Editor; ctx: EditCtx; adding: boolean; onClose: () => void; onChanged: () => void }) {
  const { editor, ctx } = props;
  const fields = editor.fields(ctx);
  const send = async (v: Values): Promise<string | null> => {
    const params: Params = { ...editor.params(v, ctx), digest: ctx.cfg.digest };
    if (editor.viaTask) return api.post<string>(configPath(ctx), params);
    await api.put(configPath(ctx), params);
    return null;
  };
  return (
    <FormDialog title={props.adding ? editor.title : `Edit: ${editor.title}${ctx.key ? ` (${ctx.key})` : ''}`} action={props.adding ? 'Add' : 'OK'}
      note={editor.note?.(ctx)} fields={fields} init={editor.init(ctx)} send={send} errorKey={ctx.key} onClose={props.onClose} onChanged={props.onChanged} />
  );
}

/** PUT .../resize with "+<n>G": a task in Berth as in PVE 8 (null from older servers). */
export function ResizeDialog(props: { ctx: EditCtx; onClose: () => void; onChanged: () => void }) {
  const { ctx } = props;
  const size = /(?:^|,)size=([^,]+)/.exec(ctx.value ?? '')?.[1];
  const send = async (v: Values) => {
    const r = await api.put<string | null>(p`/nodes/${ctx.node}/${ctx.kind}/${ctx.vmid}/resize`, {
      disk: ctx.key,
      size: `+${str(v.grow).trim()}G`,
      digest: ctx.cfg.digest,
    });
    return typeof r === 'string' && r.startsWith('UPID:') ? r : null;
  };
  return (
    <FormDialog title={`Resize ${ctx.key}`} action="Resize" note={size ? `Current size: ${size}` : undefined} fields={resizeFields}
      init={{ grow: '1' }} send={send} onClose={props.onClose} onChanged={props.onChanged} />
  );
}
