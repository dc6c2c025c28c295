// The create wizards (#/create/lxc, #/create/qemu): PVE's step-by-step dialog as a page.
// A step list, Back/Next with each step validated before leaving it, and a Confirm step
// showing the exact parameters the POST will send. The steps themselves are data (ct.ts,
// vm.ts); this file only runs them.
import { useEffect, useState } from 'preact/hooks';
import { api, p, type Params } from '../../api';
import { apiFieldErrors, FormFields, validate, type Errors, type Value, type Values } from '../../components/form';
import { ErrorBox, errorText, toast } from '../../components/ui';
import { navigate } from '../../router';
import { followTask, nodeName } from '../../state';
import { nextId, storagesWith, volumesOn } from './data';
import { CT_WIZARD } from './ct';
import { VM_WIZARD } from './vm';
import { TaskView } from './TaskView';
import type { Step, WizardData, WizardSpec } from './types';
import './wizard.css';

export function CreateWizard({ kind }: { kind: 'lxc' | 'qemu' }) {
  return <WizardRunner key={kind} spec={kind === 'qemu' ? VM_WIZARD : CT_WIZARD} />;
}

async function loadData(spec: WizardSpec, node: string): Promise<WizardData> {
  const nodes = (await api.get<{ node: string }[]>('/nodes')).map((n) => n.node);
  const storages: WizardData['storages'] = {};
  await Promise.all(spec.contents.map(async (c) => (storages[c] = await storagesWith(node, c))));
  const volumes: WizardData['volumes'] = {};
  await Promise.all(spec.volumeContents.map(async (c) => (volumes[c] = await volumesOn(node, storages[c] ?? [], c))));
  return { node, nodes, storages, volumes };
}

const CONFIRM: Step = { id: 'confirm', label: 'Confirm', fields: () => [], params: [] };

/** Which step shows an error for a key: the one with that field, or that lists the parameter. */
function stepOf(steps: Step[], d: WizardData, key: string): number {
  const i = steps.findIndex((s) => s.fields(d).some((f) => f.key === key) || s.params.includes(key));
  return i < 0 ? steps.length - 1 : i;
}

function WizardRunner({ spec }: { spec: WizardSpec }) {
  const [data, setData] = useState<WizardData | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [values, setValues] = useState<Values>({});
  const [idx, setIdx] = useState(0);
  const [reached, setReached] = useState(0);
  const [errors, setErrors] = useState<Errors>({});
  const [start, setStart] = useState(false);
  const [busy, setBusy] = useState(false);
  const [submitError, setSubmitError] = useState<unknown>(null);
  const [task, setTask] = useState<{ upid: string; exit?: string } | null>(null);
  const steps = [...spec.steps, CONFIRM];
  const node = typeof values.node === 'string' && values.node ? values.node : nodeName.value;

  // (re)load what the choices need whenever the target node changes
  useEffect(() => {
    let gone = false;
    setLoadError(null);
    Promise.all([loadData(spec, node), data ? Promise.resolve(null) : nextId()])
      .then(([d, vmid]) => {
        if (gone) return;
        setData(d);
        if (vmid !== null) setValues({ ...spec.initial(d), node: d.node, vmid: String(vmid) });
      })
      .catch((e) => !gone && setLoadError(e));
    return () => {
      gone = true;
    };
  }, [node]);

  if (!data)
    return (
      <section class="page wizard">
        <h1>{spec.title}</h1>
        {loadError ? <ErrorBox error={loadError} /> : <p aria-busy="true">Loading storages and templates…</p>}
      </section>
    );

  const step = steps[idx];
  const confirm = step === CONFIRM;
  const fields = step.fields(data);
  const params: Params = confirm ? spec.build(values, data) : {};
  const fieldKeys = new Set(fields.map((f) => f.key));
  const stepErrors = Object.entries(errors).filter(([k]) => !fieldKeys.has(k) && stepOf(steps, data, k) === idx);
  const hasError = (i: number) => Object.keys(errors).some((k) => stepOf(steps, data, k) === i);

  const change = (key: string, v: Value) => {
    setValues((old) => ({ ...old, [key]: v }));
    if (errors[key]) setErrors(({ [key]: _, ...rest }) => rest);
  };

  /** Validate steps from..to-1; go to `to`, or stay on the first step with a problem. */
  const go = async (to: number) => {
    if (to <= idx) {
      setIdx(to);
      return;
    }
    for (let i = idx; i < to; i++) {
      const s = steps[i];
      let errs = validate(s.fields(data), values);
      if (!Object.keys(errs).length && s.verify) {
        setBusy(true);
        try {
          errs = await s.verify(values);
        } catch (e) {
          errs = { [s.fields(data)[0]?.key ?? 'error']: errorText(e) };
        } finally {
          setBusy(false);
        }
      }
      if (Object.keys(errs).length) {
        setErrors((old) => ({ ...old, ...errs }));
        setIdx(i);
        return;
      }
    }
    setIdx(to);
    setReached((r) => Math.max(r, to));
  };

  const finish = async () => {
    setBusy(true);
    setSubmitError(null);
    setTask(null);
    const vmid = String(params.vmid);
    try {
      const upid = await api.post<string>(p`/nodes/${data.node}/${spec.kind}`, { ...params, start: start ? 1 : undefined });
      setTask({ upid });
      const exit = await followTask(upid);
      setTask({ upid, exit });
      if (exit === 'OK' || exit.startsWith('WARNINGS')) {
        toast(`${spec.kind === 'qemu' ? 'VM' : 'CT'} ${vmid} created — ${exit}`);
        navigate(spec.kind, vmid);
        return;
      }
    } catch (e) {
      setSubmitError(e);
      const fe = apiFieldErrors(e);
      if (Object.keys(fe).length) {
        setErrors(fe);
        setIdx(Math.min(...Object.keys(fe).map((k) => stepOf(steps, data, k))));
      }
    }
    setBusy(false);
  };

  return (
    <section class="page wizard">
      <h1>{spec.title}</h1>
      <div class="wizard-layout">
        <nav aria-label="Wizard steps">
          <ol class="wizard-steps">
            {steps.map((s, i) => (
              <li key={s.id}>
                <button type="button" aria-current={i === idx ? 'step' : undefined} disabled={busy || i > reached}
                  class={hasError(i) ? 'has-error' : i < reached || i === reached ? 'reached' : ''} onClick={() => go(i)}>
                  <span class="num" aria-hidden="true">{hasError(i) ? '!' : i + 1}</span>
                  {s.label}
                </button>
              </li>
            ))}
          </ol>
        </nav>
        <form class="wizard-panel" noValidate onSubmit={(e) => {
          e.preventDefault();
          void (confirm ? finish() : go(idx + 1));
        }}>
          <h2 id="wizard-step">
            {step.label} <small>step {idx + 1} of {steps.length}</small>
          </h2>
          {step.intro?.(values, data)}
          {stepErrors.length > 0 && (
            <ul class="error step-errors" role="alert">
              {stepErrors.map(([k, v]) => (
                <li key={k}>
                  <code>{k}</code>: {v}
                </li>
              ))}
            </ul>
          )}
          {confirm ? (
            <Confirm params={params} secret={spec.secret} start={start} setStart={setStart} disabled={busy} />
          ) : (
            <FormFields fields={fields} values={values} errors={errors} onChange={change} />
          )}
          {confirm && submitError !== null && <ErrorBox error={submitError} />}
          {confirm && task && <TaskView upid={task.upid} exit={task.exit} title={`Creating ${spec.kind === 'qemu' ? 'VM' : 'CT'} ${params.vmid}`} />}
          <div class="buttons wizard-buttons">
            <button type="button" onClick={() => history.back()} disabled={busy}>
              Cancel
            </button>
            <span class="spacer" />
            <button type="button" onClick={() => go(idx - 1)} disabled={busy || idx === 0}>
              Back
            </button>
            <button type="submit" class="primary" disabled={busy}>
              {confirm ? 'Finish' : 'Next'}
            </button>
          </div>
        </form>
      </div>
    </section>
  );
}

function Confirm(props: { params: Params; secret: string[]; start: boolean; setStart: (b: boolean) => void; disabled: boolean }) {
  const rows = Object.entries(props.params).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return (
    <>
      <p>These parameters will be sent to create it:</p>
      <div class="table-wrap">
        <table class="grid confirm-params" aria-label="Parameters">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>{props.secret.includes(k) ? '••••••••' : typeof v === 'boolean' ? (v ? '1' : '0') : String(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <label class="inline start-after">
        <input type="checkbox" checked={props.start} disabled={props.disabled} onChange={(e) => props.setStart((e.target as HTMLInputElement).checked)} />
        Start after created
      </label>
    </>
  );
}
