// The measuring half of bench/ui.sh (which starts berthd and passes BERTH_URL, BERTH_USER,
// BERTH_PASSWORD, BERTH_TOKEN and ROUNDS).
import { createRequire } from 'node:module';
import { readdirSync, statSync } from 'node:fs';
import os from 'node:os';

const require = createRequire(new URL('../ui/package.json', import.meta.url));
const { chromium, request } = require('playwright-core');

const URL_ = process.env.BERTH_URL;
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (ms) => `${ms.toFixed(0).padStart(6)} ms`;
const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
const api = await request.newContext({
  baseURL: URL_ + '/api2/json/', // paths below are relative to it (no leading '/')
  ignoreHTTPSErrors: true,
  extraHTTPHeaders: { Authorization: `PVEAPIToken=${process.env.BERTH_TOKEN}` },
});

// log in once through the form; later contexts start from its cookie and localStorage
const login = await browser.newContext({ ignoreHTTPSErrors: true });
{
  const page = await login.newPage();
  await page.goto(URL_ + '/');
  await page.getByLabel('User name').fill(process.env.BERTH_USER.split('@')[0]);
  await page.getByLabel('Password').fill(process.env.BERTH_PASSWORD);
  await page.getByLabel('Realm').selectOption('pve');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Resources' }).waitFor();
}
const storageState = await login.storageState();
await login.close();

const READY = 'nav.tree a[href^="#/node/"], .guest-table tbody tr';
async function load(page, reload) {
  if (reload) await page.reload();
  else await page.goto(URL_ + '/');
  await page.locator('nav.tree a[href^="#/node/"]').first().waitFor();
  await page.locator('.guest-table tbody tr[data-id]').first().waitFor();
  return page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return { fcp: fcp ? fcp.startTime : NaN, ready: performance.now() - nav.startTime };
  });
}

const cold = { fcp: [], ready: [] };
const warm = { fcp: [], ready: [] };
let shipped = null;
for (let i = 0; i < ROUNDS; i++) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, storageState });
  const page = await ctx.newPage();
  const scripts = [];
  page.on('response', (r) => r.request().resourceType() === 'script' && scripts.push(r));
  const c = await load(page, false);
  cold.fcp.push(c.fcp);
  cold.ready.push(c.ready);
  if (!shipped) {
    shipped = { wire: 0, unpacked: 0, files: [] };
    for (const r of scripts) {
      const sizes = await r.request().sizes();
      const body = await r.body();
      shipped.wire += sizes.responseBodySize;
      shipped.unpacked += body.length;
      shipped.files.push(`${new URL(r.url()).pathname} ${r.headers()['content-encoding'] ?? 'identity'}`);
    }
  }
  const w = await load(page, true);
  warm.fcp.push(w.fcp);
  warm.ready.push(w.ready);
  await ctx.close();
}

// the lazily loaded chunks, by name, from the build
const lazy = readdirSync(new URL('../ui/dist/assets/', import.meta.url))
  .filter((f) => f.endsWith('.js.gz'))
  .map((f) => ({ f, size: statSync(new URL(`../ui/dist/assets/${f}`, import.meta.url)).size }))
  .filter(({ f }) => !shipped.files.some((s) => s.includes(f.replace(/\.gz$/, ''))));

// the tree: how long after a start/stop task ends the page shows the new status
async function waitTask(upid) {
  for (;;) {
    const st = (await (await api.get(`nodes/bench/tasks/${encodeURIComponent(upid)}/status`)).json()).data;
    if (st.status === 'stopped') {
      if (st.exitstatus !== 'OK') throw new Error(`${upid}: ${st.exitstatus}`);
      return performance.now();
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
const tree = { start: [], stop: [] };
{
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, storageState });
  const page = await ctx.newPage();
  await load(page, false);
  for (let i = 0; i < ROUNDS; i++) {
    for (const [action, status] of [['start', 'running'], ['stop', 'stopped']]) {
      const seen = page.waitForSelector(`nav.tree a[data-id="lxc/100"] .dot.${status}`, { timeout: 30000 });
      const res = await api.post(`nodes/bench/lxc/100/status/${action}`);
      if (!res.ok()) throw new Error(`${action}: ${res.status()} ${res.statusText()}`);
      const upid = (await res.json()).data;
      const ended = await waitTask(upid);
      await seen;
      tree[action].push(performance.now() - ended);
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 3000)); // not in step with the poll
    }
  }
  await ctx.close();
}

console.log(`berth ui bench: ${ROUNDS} rounds (median), ${os.cpus().length} CPUs, Chromium ${browser.version()}`);
console.log('| measure                                         |     value |');
console.log('|---|---|');
console.log(`| first contentful paint, cold cache              | ${fmt(median(cold.fcp))} |`);
console.log(`| dashboard ready (tree + guest list), cold cache | ${fmt(median(cold.ready))} |`);
console.log(`| first contentful paint, reload                  | ${fmt(median(warm.fcp))} |`);
console.log(`| dashboard ready, reload                         | ${fmt(median(warm.ready))} |`);
console.log(`| JavaScript for the dashboard, on the wire       | ${kib(shipped.wire).padStart(9)} |`);
console.log(`| the same unpacked                               | ${kib(shipped.unpacked).padStart(9)} |`);
console.log(`| tree shows a started CT, after its task ended   | ${fmt(median(tree.start))} |`);
console.log(`| tree shows a stopped CT, after its task ended   | ${fmt(median(tree.stop))} |`);
console.log(`  worst: start ${Math.max(...tree.start).toFixed(0)} ms, stop ${Math.max(...tree.stop).toFixed(0)} ms`);
console.log(`dashboard scripts: ${shipped.files.join(', ')}`);
console.log(`lazy chunks (gzip): ${lazy.map(({ f, size }) => `${f.replace(/-[\w-]{8}\.js\.gz$/, '')} ${kib(size)}`).join(', ') || 'none'}`);
await api.dispose();
await browser.close();
