// The login form: user, password, realm (from /access/domains, which needs no ticket).
import { useEffect, useState } from 'preact/hooks';
import { api, login } from '../api';
import { ErrorBox } from './ui';

interface Realm {
  realm: string;
  type: string;
  comment?: string;
  default?: number;
}

export function Login() {
  const [realms, setRealms] = useState<Realm[]>([{ realm: 'pam', type: 'pam', comment: 'Linux PAM standard authentication' }]);
  const [realm, setRealm] = useState('pam');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api
      .get<Realm[]>('/access/domains')
      .then((list) => {
        setRealms(list);
        const def = list.find((r) => r.default) ?? list.find((r) => r.realm === 'pam') ?? list[0];
        if (def) setRealm(def.realm);
      })
      .catch(() => {});
  }, []);

  async function submit(ev: Event) {
    ev.preventDefault();
    const form = new FormData(ev.target as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      await login(String(form.get('username')), String(form.get('password')), realm);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }

  return (
    <main class="login">
      <form onSubmit={submit} aria-label="Log in to Berth">
        <h1>
          <span class="logo" aria-hidden="true" /> Berth
        </h1>
        <label>
          User name
          <input name="username" autocomplete="username" required autofocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <label>
          Realm
          <select name="realm" value={realm} onChange={(e) => setRealm((e.target as HTMLSelectElement).value)}>
            {realms.map((r) => (
              <option key={r.realm} value={r.realm}>
                {r.comment ? `${r.comment} (${r.realm})` : r.realm}
              </option>
            ))}
          </select>
        </label>
        <ErrorBox error={error} />
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
