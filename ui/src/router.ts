// Hash routes (#/lxc/101/summary): the proxy serves one index.html, and a reload or a link
// opened in a new window lands on the same page.
import { signal } from '@preact/signals';

export interface Route {
  /** the path without '#', e.g. "/lxc/101/console" */
  path: string;
  /** its segments, e.g. ["lxc", "101", "console"] */
  parts: string[];
  query: URLSearchParams;
}

function parse(): Route {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, q = ''] = raw.split('?', 2);
  return { path, parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

export const route = signal<Route>(parse());
addEventListener('hashchange', () => (route.value = parse()));

export function href(...parts: (string | number)[]): string {
  return '#/' + parts.map((s) => encodeURIComponent(String(s))).join('/');
}

export function navigate(...parts: (string | number)[]) {
  location.hash = href(...parts);
}
