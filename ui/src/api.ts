// The one way the UI talks to berthd: the public API under /api2/json, exactly as any other
// client does (ticket cookie + CSRFPreventionToken header, form-encoded bodies).
//
// Errors carry Proxmox's status line text ("400 Parameter verification failed.") and the
// per-parameter `errors` object, so forms can show them next to the field.

export type Params = Record<string, string | number | boolean | undefined | null>;

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public errors: Record<string, string> = {},
  ) {
    super(message);
  }

  /** The status line, then each parameter's problem: what a user should read. */
  describe(): string {
    const fields = Object.entries(this.errors).map(([k, v]) => `${k}: ${v}`);
    return [`${this.status} ${this.message}`, ...fields].join('\n');
  }
}

export const API_BASE = '/api2/json';
const SESSION_KEY = 'berth.session';
const COOKIE = 'PVEAuthCookie';

export interface Session {
  username: string;
  csrf: string;
  ticket: string;
  cap?: Record<string, Record<string, number>>;
}

let session: Session | null = loadSession();
const sessionListeners = new Set<(s: Session | null) => void>();

/** The ticket lives only in its cookie (as PVE's UI keeps it); localStorage holds the user
 *  name and CSRF token, so a reload stays logged in while the ticket is valid. */
function ticketCookie(): string | null {
  const m = document.cookie.match(new RegExp(`(?:^|;\\s*)${COOKIE}=([^;]*)`));
  return m && m[1] ? decodeURIComponent(m[1]) : null;
}

function loadSession(): Session | null {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null') as Omit<Session, 'ticket'> | null;
    const ticket = ticketCookie();
    return s && ticket ? { ...s, ticket } : null;
  } catch {
    return null;
  }
}

export function currentSession(): Session | null {
  return session;
}

export function onSessionChange(fn: (s: Session | null) => void): () => void {
  sessionListeners.add(fn);
  return () => sessionListeners.delete(fn);
}

function setSession(s: Session | null) {
  session = s;
  if (s) {
    const { ticket: _ticket, ...kept } = s;
    localStorage.setItem(SESSION_KEY, JSON.stringify(kept));
    const secure = location.protocol === 'https:' ? '; Secure' : '';
    document.cookie = `${COOKIE}=${encodeURIComponent(s.ticket)}; path=/; SameSite=Strict${secure}`;
  } else {
    localStorage.removeItem(SESSION_KEY);
    document.cookie = `${COOKIE}=; path=/; max-age=0`;
  }
  for (const fn of sessionListeners) fn(s);
}

function encode(params: Params): string {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    body.append(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  return body.toString();
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One API call; resolves to `data`, rejects with ApiError. */
export async function request<T = unknown>(method: Method, path: string, params: Params = {}): Promise<T> {
  let url = API_BASE + path;
  const init: RequestInit = { method, headers: {}, credentials: 'same-origin' };
  const headers = init.headers as Record<string, string>;
  const query = encode(params);
  if (method === 'GET' || method === 'DELETE') {
    if (query) url += '?' + query;
  } else if (query) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    init.body = query;
  }
  if (method !== 'GET' && session) headers.CSRFPreventionToken = session.csrf;

  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, `cannot reach the server (${(e as Error).message})`);
  }
  let body: { data?: T; errors?: Record<string, string>; message?: string } = {};
  try {
    body = await res.json();
  } catch {
    /* a non-JSON answer: the status line says it all */
  }
  if (!res.ok) {
    // the ticket expired or was revoked: back to the login form
    if (res.status === 401 && path !== '/access/ticket') setSession(null);
    throw new ApiError(res.status, res.statusText || body.message || 'request failed', body.errors ?? {});
  }
  return body.data as T;
}

export const api = {
  get: <T = unknown>(path: string, params?: Params) => request<T>('GET', path, params),
  post: <T = unknown>(path: string, params?: Params) => request<T>('POST', path, params),
  put: <T = unknown>(path: string, params?: Params) => request<T>('PUT', path, params),
  del: <T = unknown>(path: string, params?: Params) => request<T>('DELETE', path, params),
};

/** Path segments are always encoded: volume ids contain ':' and '/'. */
export function p(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  return strings.reduce((acc, s, i) => acc + s + (i < values.length ? encodeURIComponent(String(values[i])) : ''), '');
}

interface TicketAnswer {
  ticket: string;
  CSRFPreventionToken: string;
  username: string;
  cap?: Session['cap'];
}

export async function login(username: string, password: string, realm: string): Promise<Session> {
  const user = username.includes('@') ? username : `${username}@${realm}`;
  const a = await api.post<TicketAnswer>('/access/ticket', { username: user, password });
  const s = { username: a.username, csrf: a.CSRFPreventionToken, ticket: a.ticket, cap: a.cap };
  setSession(s);
  return s;
}

/** PVE renews by logging in with the ticket as the password; tickets live 2 h. */
export async function renewTicket(): Promise<void> {
  if (!session) return;
  try {
    const a = await api.post<TicketAnswer>('/access/ticket', { username: session.username, password: session.ticket });
    setSession({ username: a.username, csrf: a.CSRFPreventionToken, ticket: a.ticket, cap: a.cap });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) setSession(null);
  }
}

export function logout() {
  setSession(null);
}

/** The upload route streams a multipart body; progress comes from XHR's upload events. */
export function upload(
  path: string,
  fields: Params,
  file: File,
  onProgress: (loaded: number, total: number) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) form.append(k, String(v));
    form.append('filename', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', API_BASE + path);
    if (session) xhr.setRequestHeader('CSRFPreventionToken', session.csrf);
    xhr.upload.onprogress = (ev) => onProgress(ev.loaded, ev.lengthComputable ? ev.total : file.size);
    xhr.onerror = () => reject(new ApiError(0, 'upload failed: connection lost'));
    xhr.onload = () => {
      let body: { data?: string; errors?: Record<string, string> } = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* status line only */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body.data as string);
      else reject(new ApiError(xhr.status, xhr.statusText || 'upload failed', body.errors ?? {}));
    };
    xhr.send(form);
  });
}
