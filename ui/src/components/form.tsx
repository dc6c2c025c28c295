// Form fields described as data: a FieldDef says what a field is (kind, label, limits,
// options, when it shows); <FormFields> renders a list of them with labels, hints and the
// per-field error next to each, and validate() checks them. The create wizards and the
// guest edit dialogs both use it.
import { useId } from 'preact/hooks';
import { ApiError } from '../api';
import './form.css';

export type Value = string | boolean;
export type Values = Record<string, Value>;
export type Errors = Record<string, string>;

export interface Option {
  value: string;
  label: string;
}

export interface FieldDef {
  key: string;
  label: string;
  kind: 'text' | 'number' | 'password' | 'select' | 'check' | 'textarea';
  options?: Option[] | ((v: Values) => Option[]);
  required?: boolean;
  min?: number;
  max?: number;
  step?: number | 'any';
  /** shown after the label: "MiB", "GiB" */
  unit?: string;
  hint?: string;
  placeholder?: string;
  /** a value that must match; `patternText` says what is expected */
  pattern?: RegExp;
  patternText?: string;
  /** any other check; returns the problem or undefined */
  check?: (value: string, v: Values) => string | undefined;
  /** shown only when this says so */
  when?: (v: Values) => boolean;
  disabled?: (v: Values) => boolean;
  /** takes the whole row of the two-column grid */
  wide?: boolean;
}

export function optionsOf(f: FieldDef, v: Values): Option[] {
  return typeof f.options === 'function' ? f.options(v) : (f.options ?? []);
}

export function str(v: Value | undefined): string {
  return v === undefined || typeof v === 'boolean' ? '' : v;
}

export function visible(f: FieldDef, v: Values): boolean {
  return !f.when || f.when(v);
}

/** The problems of the visible fields, by key; empty when all is well. */
export function validate(fields: FieldDef[], v: Values): Errors {
  const errors: Errors = {};
  for (const f of fields) {
    if (!visible(f, v) || f.kind === 'check' || f.disabled?.(v)) continue;
    const s = str(v[f.key]).trim();
    let problem: string | undefined;
    if (!s) {
      if (f.required) problem = 'required';
    } else if (f.kind === 'number') {
      const n = Number(s);
      if (!isFinite(n) || (f.step !== 'any' && !Number.isInteger(n * (f.step && f.step < 1 ? 1 / f.step : 1))))
        problem = 'not a valid number';
      else if (f.min !== undefined && n < f.min) problem = `at least ${f.min}`;
      else if (f.max !== undefined && n > f.max) problem = `at most ${f.max}`;
    } else if (f.kind === 'select' && f.required && !optionsOf(f, v).some((o) => o.value === s)) {
      problem = 'choose one';
    }
    if (!problem && s && f.pattern && !f.pattern.test(s)) problem = f.patternText ?? 'invalid value';
    if (!problem && f.check) problem = f.check(s, v);
    if (problem) errors[f.key] = problem;
  }
  return errors;
}

/** The per-parameter errors of an API answer (400 with `errors`), else none. */
export function apiFieldErrors(e: unknown): Errors {
  return e instanceof ApiError ? e.errors : {};
}

function Hint({ id, error, hint }: { id: string; error?: string; hint?: string }) {
  if (error)
    return (
      <span class="field-error" id={id}>
        {error}
      </span>
    );
  return hint ? (
    <span class="field-hint" id={id}>
      {hint}
    </span>
  ) : null;
}

export function FormField(props: { f: FieldDef; values: Values; error?: string; onChange: (key: string, v: Value) => void }) {
  const { f, values, error } = props;
  const id = useId();
  const hintId = `${id}-hint`;
  const set = (v: Value) => props.onChange(f.key, v);
  const disabled = f.disabled?.(values) ?? false;
  const described = error || f.hint ? hintId : undefined;
  const label = f.unit ? `${f.label} (${f.unit})` : f.label;
  const cls = `field${f.wide || f.kind === 'textarea' ? ' wide' : ''}`;
  if (f.kind === 'check')
    return (
      <div class={cls}>
        <label class="inline">
          <input type="checkbox" checked={values[f.key] === true} disabled={disabled} aria-describedby={described}
            onChange={(e) => set((e.target as HTMLInputElement).checked)} />
          {label}
        </label>
        <Hint id={hintId} error={error} hint={f.hint} />
      </div>
    );
  const common = {
    id,
    disabled,
    'aria-invalid': error ? ('true' as const) : undefined,
    'aria-describedby': described,
    'aria-required': f.required || undefined,
  };
  let control;
  if (f.kind === 'select') {
    const opts = optionsOf(f, values);
    const cur = str(values[f.key]);
    control = (
      <select {...common} value={cur} onChange={(e) => set((e.target as HTMLSelectElement).value)}>
        {!opts.some((o) => o.value === cur) && <option value={cur}>{cur ? cur : opts.length ? '— choose —' : '— none available —'}</option>}
        {opts.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    );
  } else if (f.kind === 'textarea') {
    control = (
      <textarea {...common} rows={4} placeholder={f.placeholder} value={str(values[f.key])}
        onInput={(e) => set((e.target as HTMLTextAreaElement).value)} />
    );
  } else {
    control = (
      <input {...common} type={f.kind === 'number' ? 'number' : f.kind === 'password' ? 'password' : 'text'}
        inputMode={f.kind === 'number' ? 'decimal' : undefined}
        autoComplete={f.kind === 'password' ? 'new-password' : 'off'}
        min={f.min} max={f.max} step={f.step} placeholder={f.placeholder} value={str(values[f.key])}
        onInput={(e) => set((e.target as HTMLInputElement).value)} />
    );
  }
  return (
    <div class={cls}>
      <label for={id}>{label}</label>
      {control}
      <Hint id={hintId} error={error} hint={f.hint} />
    </div>
  );
}

/** A grid of fields (two columns, one on a phone). */
export function FormFields(props: { fields: FieldDef[]; values: Values; errors: Errors; onChange: (key: string, v: Value) => void }) {
  return (
    <div class="form-grid">
      {props.fields
        .filter((f) => visible(f, props.values))
        .map((f) => (
          <FormField key={f.key} f={f} values={props.values} error={props.errors[f.key]} onChange={props.onChange} />
        ))}
    </div>
  );
}
