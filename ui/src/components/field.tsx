// Form pieces for dialogs written as markup (the access and storage pages): a labelled field
// that shows the API's per-parameter error under it, and the status line for everything
// else. (form.tsx is the other way: fields described as data, for the wizards and the guest
// edit dialogs.)
import { cloneElement, type VNode } from 'preact';
import { useMemo } from 'preact/hooks';
import { ApiError } from '../api';
import { errorText } from './ui';
import './field.css';

/** The API's complaint about one parameter, if the last error had one. */
export function fieldError(error: unknown, name: string): string | undefined {
  return error instanceof ApiError ? error.errors[name] : undefined;
}

/** Props for an input so screen readers hear the field's error too. */
export function invalid(error: unknown, name: string) {
  const e = fieldError(error, name);
  return e ? { 'aria-invalid': true as const, 'aria-describedby': `err-${name}` } : {};
}

let fieldSeq = 0;

/** A labelled field. The label names the control by `for`/`id` (not by wrapping it), so a
 *  select's option texts never become part of its accessible name. */
export function Field(props: { label: string; name: string; error: unknown; children: VNode<any>; hint?: string; inline?: boolean }) {
  const id = useMemo(() => `f${++fieldSeq}-${props.name}`, [props.name]);
  const e = fieldError(props.error, props.name);
  const control = cloneElement(props.children, { id });
  const note = (
    <>
      {props.hint && !e && <small class="hint">{props.hint}</small>}
      {e && (
        <span class="field-error" id={`err-${props.name}`}>
          {e.trim()}
        </span>
      )}
    </>
  );
  if (props.inline)
    return (
      <div class="kit-field inline">
        {control}
        <label for={id}>{props.label}</label>
        {note}
      </div>
    );
  return (
    <div class="kit-field">
      <label for={id}>{props.label}</label>
      {control}
      {note}
    </div>
  );
}

/** The status line ("400 Parameter verification failed."), plus the field errors no field
 *  on this form shows (`shown` names the ones that are shown next to their field). */
export function StatusLine({ error, shown = [] }: { error: unknown; shown?: string[] }) {
  if (!error) return null;
  let text = errorText(error);
  if (error instanceof ApiError) {
    const rest = Object.entries(error.errors).filter(([k]) => !shown.includes(k));
    text = [`${error.status} ${error.message}`, ...rest.map(([k, v]) => `${k}: ${v}`)].join('\n');
  }
  return (
    <pre class="error" role="alert">
      {text}
    </pre>
  );
}

/** A date input's value (local midnight) ↔ epoch seconds; 0 means "never". */
export function dateToEpoch(value: string): number {
  if (!value) return 0;
  const [y, m, d] = value.split('-').map(Number);
  return Math.floor(new Date(y, m - 1, d).getTime() / 1000);
}

export function epochToDate(epoch: number | undefined): string {
  if (!epoch) return '';
  const d = new Date(epoch * 1000);
  const pad = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function expiry(epoch: number | undefined): string {
  return epoch ? epochToDate(epoch) : 'never';
}
