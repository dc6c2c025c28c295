// Light and dark follow the system unless the user picks one (kept in localStorage;
// index.html applies it before the first paint).
import { effect, signal } from '@preact/signals';

export type Theme = 'system' | 'light' | 'dark';
const KEY = 'berth.theme';

function initial(): Theme {
  const t = localStorage.getItem(KEY);
  return t === 'light' || t === 'dark' ? t : 'system';
}

export const theme = signal<Theme>(initial());

effect(() => {
  const t = theme.value;
  if (t === 'system') {
    localStorage.removeItem(KEY);
    delete document.documentElement.dataset.theme;
  } else {
    localStorage.setItem(KEY, t);
    document.documentElement.dataset.theme = t;
  }
});

const NEXT: Record<Theme, Theme> = { system: 'light', light: 'dark', dark: 'system' };
export function cycleTheme() {
  theme.value = NEXT[theme.value];
}

/** What the page shows now, for charts that draw their own colours. */
export function effectiveDark(): boolean {
  const t = theme.value;
  return t === 'dark' || (t === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
}
