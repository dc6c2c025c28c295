// The walk through the UI, in one session, as a new user would do it: upload the test
// ISO (watching the progress bar), create a container from the busybox template with the
// wizard and start it, run `echo hello-from-ui` in its console, stop it; create a VM from the
// ISO with the wizard, start it, see the guest's screen through noVNC, stop it; switch to
// dark mode and read a task's log. Inputs: ISO_FILE (the test ISO on disk), CT_VMID, VM_VMID.
import { basename } from 'node:path';
import { check, checkSoon, chooseTheme, env, login, scenario, shot } from './lib.mjs';
import { canvasColours, compareWithScreenshot, gettyLogin, run, waitRow, waitState } from './console-lib.mjs';

const ISO = process.env.ISO_FILE;
const CT = process.env.CT_VMID;
const VM = process.env.VM_VMID;
const PASSWORD = 'journey-pw-1';

const next = (page) => page.getByRole('button', { name: 'Next' }).click();
const tree = (page) => page.getByRole('navigation', { name: 'Resources' });

async function guestStatus(page, kind, vmid, status, timeout = 60_000) {
  await tree(page).locator(`a[data-id="${kind}/${vmid}"] .dot.${status}`).waitFor({ timeout });
  check(true, `the tree shows ${kind} ${vmid} ${status}`);
}

async function stopGuest(page, kind, vmid) {
  await page.getByRole('toolbar', { name: 'Guest actions' }).getByRole('button', { name: 'Stop' }).click();
  const dialog = page.getByRole('dialog');
  await checkSoon(async () => (await dialog.textContent()).includes('pulling the power cord'), 'Stop asks first, saying what it means');
  await dialog.getByRole('button', { name: 'Stop' }).click();
  await guestStatus(page, kind, vmid, 'stopped');
}

await scenario('journey', async (page) => {
  await login(page);
  await shot(page, 'journey-1-dashboard');

  // ---- an ISO, uploaded with a progress bar ----
  await page.goto(`${env.url}/#/storage/${env.node}/local/content`);
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const upload = page.getByRole('dialog', { name: 'Upload to local' });
  await upload.getByLabel('Content').selectOption('iso');
  await upload.getByLabel('File').setInputFiles(ISO);
  // slow the wire to 8 MiB/s so the bar is seen moving
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 8 << 20 });
  await upload.getByRole('button', { name: 'Upload', exact: true }).click();
  const bar = upload.getByRole('progressbar', { name: 'Upload progress' });
  await bar.waitFor();
  const seen = new Set();
  for (let i = 0; i < 100 && (await bar.count()); i++) {
    const v = await bar.getAttribute('value').catch(() => null);
    if (v !== null) seen.add(v);
    if (i === 3) await shot(page, 'journey-2-upload-progress');
    await page.waitForTimeout(100);
  }
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  check(seen.size >= 2, `the progress bar moved (${seen.size} values seen)`);
  const isoVolid = `local:iso/${basename(ISO)}`;
  await page.locator(`tr[data-key="${isoVolid}"]`).waitFor({ timeout: 60_000 });
  check(true, `${isoVolid} is listed`);

  // ---- a container through the wizard, started at the end ----
  await page.getByRole('link', { name: 'Create CT' }).click();
  await page.getByLabel('CT ID', { exact: true }).fill(CT);
  await page.getByLabel('Hostname', { exact: true }).fill('journey-ct');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
  await next(page); // Template: the busybox template is the only one
  // the template list is a read of the storage's content: it may fill in after the step shows
  await checkSoon(async () => (await page.getByLabel('Template', { exact: true }).inputValue()).includes('busybox'), 'the busybox template is chosen');
  await next(page); // Disks
  await page.getByLabel('Disk size (GiB)', { exact: true }).fill('1');
  await next(page); // CPU
  await next(page); // Memory
  await page.getByLabel('Memory (MiB)', { exact: true }).fill('256');
  await next(page); // Network: vmbr0 with DHCP (make test's host has vmbr0)
  await next(page); // DNS
  await next(page); // Confirm
  await page.getByLabel('Start after created', { exact: true }).check();
  await shot(page, 'journey-3-ct-confirm');
  await page.getByRole('button', { name: 'Finish' }).click();
  await page.waitForURL(new RegExp(`#/lxc/${CT}$`), { timeout: 120_000 });
  await guestStatus(page, 'lxc', CT, 'running');

  // its console: log in on the getty, run a command, see its output
  await page.getByRole('tab', { name: 'Console' }).click();
  await waitState(page, 'connected');
  await gettyLogin(page, PASSWORD);
  await run(page, 'echo hello-from-ui');
  await waitRow(page, (r) => r === 'hello-from-ui', 'echo hello-from-ui printed hello-from-ui');
  await shot(page, 'journey-4-ct-console');
  await stopGuest(page, 'lxc', CT);

  // ---- a VM from the ISO through the wizard, started at the end ----
  await page.getByRole('link', { name: 'Create VM' }).click();
  await page.getByLabel('VM ID', { exact: true }).fill(VM);
  await page.getByLabel('Name', { exact: true }).fill('journey-vm');
  await next(page); // OS
  await page.getByLabel('ISO image', { exact: true }).selectOption(isoVolid);
  await next(page); // System
  await next(page); // Disks
  await page.getByLabel('Storage', { exact: true }).selectOption('local');
  await page.getByLabel('Disk size (GiB)', { exact: true }).fill('1');
  await next(page); // CPU
  await next(page); // Memory
  await page.getByLabel('Memory (MiB)', { exact: true }).fill('256');
  await next(page); // Network
  await next(page); // Confirm
  await page.getByLabel('Start after created', { exact: true }).check();
  await page.getByRole('button', { name: 'Finish' }).click();
  await page.waitForURL(new RegExp(`#/qemu/${VM}$`), { timeout: 180_000 });
  await guestStatus(page, 'qemu', VM, 'running');

  // its display through noVNC: the guest's screen (it boots in ~20 s under TCG)
  await page.getByRole('tab', { name: 'Console' }).click();
  await waitState(page, 'connected', 60_000);
  let colours = 0;
  let cmp = {};
  for (const end = Date.now() + 120_000; Date.now() < end; ) {
    await page.waitForTimeout(1000);
    colours = await canvasColours(page);
    if (colours >= 2 && (cmp = await compareWithScreenshot(page, Number(VM))).diff < 6) break;
  }
  check(colours >= 2, `the display is not blank (${colours} colours on the canvas)`);
  check(cmp.diff < 6, `the canvas shows what QEMU's own screendump shows (${JSON.stringify(cmp)})`);
  await shot(page, 'journey-5-vm-display');
  await stopGuest(page, 'qemu', VM);

  // ---- dark mode, and a task's log ----
  await chooseTheme(page, 'dark');
  await checkSoon(async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark', 'dark mode is on');
  const tasks = page.getByRole('region', { name: 'Tasks' });
  const row = tasks.locator('tr.task', { hasText: `CT stop ${CT}` }).first();
  if (!(await row.isVisible())) await tasks.getByRole('button', { name: /^Tasks/ }).click();
  await row.click();
  const log = page.getByRole('dialog', { name: `Task: CT stop ${CT}` });
  await log.getByText('finished: OK').waitFor();
  await checkSoon(async () => (await log.getByLabel('Task log').textContent()).includes('TASK OK'), 'the task log ends with TASK OK');
  await shot(page, 'journey-6-task-log-dark');
});
