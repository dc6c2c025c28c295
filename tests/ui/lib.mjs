// Shared by the UI scenarios: Debian's Chromium driven by playwright-core (from ui/'s npm
// packages), a logged-in page, screenshots into the artifacts directory, and a tiny check
// helper. tests/integration/test_ui.py starts berthd and runs each scenario with:
//   BERTH_URL, BERTH_USER, BERTH_PASSWORD, BERTH_NODE, BERTH_ARTIFACTS (and scenario inputs)
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(new URL('../../ui/package.json', import.meta.url));
const { chromium } = require('playwright-core');

export const env = {
  url: process.env.BERTH_URL,
  user: process.env.BERTH_USER,
  password: process.env.BERTH_PASSWORD,
  node: process.env.BERTH_NODE,
  artifacts: process.env.BERTH_ARTIFACTS ?? 'tests/artifacts/ui',
};
mkdirSync(env.artifacts, { recursive: true });

export function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

/** The API as this page's session sees it (ticket cookie), for checking outcomes. */
export const apiGet = (page, path) =>
  page.evaluate(async (p) => {
    const r = await fetch('/api2/json' + p);
    if (!r.ok) throw new Error(`${p}: ${r.status} ${r.statusText}`);
    return (await r.json()).data;
  }, path);

/** Wait until fn() is true, polling every 250 ms; throws "timed out: what" after ms. */
export async function until(fn, what, ms = 40_000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** check() for page state that may still be changing after an action (a click, a key, a
 *  navigation, a resize, a theme switch, the server's answer arriving): polls fn() every
 *  100 ms until it is truthy, then prints "ok: what" as check() does; after ms it fails with
 *  "check failed: what" (and fn's last error, if it threw). what may be a function, called
 *  once fn() has answered, for messages that show the values fn() read. */
export async function checkSoon(fn, what, ms = 10_000) {
  const say = () => (typeof what === 'function' ? what() : what);
  const end = Date.now() + ms;
  let error;
  for (;;) {
    try {
      error = undefined;
      if (await fn()) break;
    } catch (e) {
      error = e;
    }
    if (Date.now() > end) {
      let text = '?';
      try {
        text = say();
      } catch {}
      throw new Error(`check failed: ${text} (not so within ${ms} ms${error ? `; last error: ${error.message}` : ''})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`ok: ${say()}`);
}

/** Click the header's theme button (system → light → dark → system) until it shows want,
 *  waiting after each click until the button has moved on, so a slow re-render never makes
 *  the loop click once too often. */
export async function chooseTheme(page, want) {
  const toggle = page.locator('button.theme');
  for (let i = 0; i < 3; i++) {
    const now = await toggle.getAttribute('data-theme-choice');
    if (now === want) return;
    await toggle.click();
    await until(async () => (await toggle.getAttribute('data-theme-choice')) !== now, `the theme button moves on from ${now}`, 10_000);
  }
}

// The flags the machine notes name: no sandbox as root, no background networking (this
// machine has no internet and Chromium's connections would be refused many at a time).
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export async function browser() {
  return chromium.launch({
    executablePath: process.env.BERTH_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
  });
}

export async function newPage(b, opts = {}) {
  const ctx = await b.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, ...opts });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && console.log(`console error: ${m.text()}`));
  return page;
}

export async function shot(page, name) {
  const file = path.join(env.artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  console.log(`screenshot: ${file}`);
  return file;
}

/** Log in through the form, as a user would. */
export async function login(page, user = env.user, password = env.password) {
  await page.goto(env.url + '/');
  await page.getByLabel('User name').fill(user.replace(/@[^@]+$/, ''));
  await page.getByLabel('Password').fill(password);
  const realm = user.split('@').pop();
  await page.getByLabel('Realm').selectOption(realm);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Resources' }).waitFor();
}

/** Run a scenario: a browser, a page, screenshots of the failure, a non-zero exit on error. */
export async function scenario(name, fn) {
  const b = await browser();
  let page;
  try {
    page = await newPage(b);
    await fn(page, b);
    console.log(`scenario ${name}: passed`);
  } catch (e) {
    console.log(`scenario ${name}: FAILED: ${e.stack ?? e}`);
    if (page) await shot(page, `${name}-failure`).catch(() => {});
    process.exitCode = 1;
  } finally {
    await b.close();
  }
}

/** The main content area does not scroll sideways (within 1 px); what(px) names the check. */
export async function checkNoSideScroll(page, what) {
  let overflow;
  await checkSoon(
    async () =>
      (overflow = await page.evaluate(() => {
        const m = document.querySelector('main.content');
        return m.scrollWidth - m.clientWidth;
      })) <= 1,
    () => what(overflow),
  );
}
