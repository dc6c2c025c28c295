// Small building blocks every page uses: dialogs, tabs, status badges, error text.
import type { ComponentChildren } from 'preact';
import { signal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError } from '../api';

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.describe();
  return e instanceof Error ? e.message : String(e);
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <pre class="error" role="alert">
      {errorText(error)}
    </pre>
  );
}

export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current!;
    if (!d.open) d.showModal();
    const cancel = (ev: Event) => {
      ev.preventDefault();
      props.onClose();
    };
    d.addEventListener('cancel', cancel);
    return () => d.removeEventListener('cancel', cancel);
  }, []);
  return (
    <dialog ref={ref} class={props.wide ? 'modal wide' : 'modal'} aria-label={props.title}>
      <header>
        <h2>{props.title}</h2>
        <button type="button" class="icon" aria-label="Close" onClick={props.onClose}>
          ✕
        </button>
      </header>
      <div class="modal-body">{props.children}</div>
    </dialog>
  );
}

interface ConfirmRequest {
  title: string;
  text: string;
  action: string;
  danger?: boolean;
  resolve: (ok: boolean) => void;
}
const pendingConfirm = signal<ConfirmRequest | null>(null);

/** Ask before doing something; resolves true when the user confirms. */
export function confirmAction(title: string, text: string, action: string, danger = false): Promise<boolean> {
  return new Promise((resolve) => (pendingConfirm.value = { title, text, action, danger, resolve }));
}

export function ConfirmHost() {
  const c = pendingConfirm.value;
  if (!c) return null;
  const done = (ok: boolean) => {
    pendingConfirm.value = null;
    c.resolve(ok);
  };
  return (
    <Modal title={c.title} onClose={() => done(false)}>
      <p>{c.text}</p>
      <div class="buttons">
        <button type="button" onClick={() => done(false)}>
          Cancel
        </button>
        <button type="button" class={c.danger ? 'danger' : 'primary'} autofocus onClick={() => done(true)}>
          {c.action}
        </button>
      </div>
    </Modal>
  );
}

export interface Tab {
  id: string;
  label: string;
}

export function Tabs(props: { tabs: Tab[]; current: string; hrefFor: (id: string) => string }) {
  return (
    <nav class="tabs" role="tablist">
      {props.tabs.map((t) => (
        <a
          key={t.id}
          role="tab"
          aria-selected={t.id === props.current}
          class={t.id === props.current ? 'active' : ''}
          href={props.hrefFor(t.id)}
        >
          {t.label}
        </a>
      ))}
    </nav>
  );
}

export function StatusDot({ status }: { status?: string }) {
  const s = status ?? 'unknown';
  return <span class={`dot ${s}`} title={s} aria-label={s} />;
}

export function Meter({ value, max, label }: { value?: number; max?: number; label: string }) {
  const f = value !== undefined && max ? Math.min(1, value / max) : 0;
  return (
    <div class="meter" role="meter" aria-label={label} aria-valuenow={Math.round(f * 100)} aria-valuemin={0} aria-valuemax={100}>
      <div style={{ width: `${(f * 100).toFixed(1)}%` }} class={f > 0.9 ? 'high' : ''} />
    </div>
  );
}

/** A transient message in the corner ("VM 100 started"), or an error that stays until read. */
export const toasts = signal<{ id: number; text: string; error: boolean }[]>([]);
let toastId = 0;
export function toast(text: string, error = false) {
  const id = ++toastId;
  toasts.value = [...toasts.value, { id, text, error }];
  if (!error) setTimeout(() => (toasts.value = toasts.value.filter((t) => t.id !== id)), 4000);
}

export function ToastHost() {
  return (
    <div class="toasts" aria-live="polite">
      {toasts.value.map((t) => (
        <div key={t.id} class={t.error ? 'toast error' : 'toast'} role={t.error ? 'alert' : 'status'}>
          <pre>{t.text}</pre>
          <button type="button" class="icon" aria-label="Dismiss" onClick={() => (toasts.value = toasts.value.filter((x) => x.id !== t.id))}>
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}
