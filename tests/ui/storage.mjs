// Storage content: the list grouped by type; upload the test ISO through the dialog with the
// network throttled so the progress bar is seen moving, then it is listed (in the table and
// by the API); remove it with confirmation (gone from both); a wrong file extension shows
// the API's status line. Inputs: BERTH_ISO (a bootable ISO), BERTH_BAD_FILE (not an ISO).
import { basename } from 'node:path';
import { apiGet, check, checkSoon, env, login, scenario, shot, checkNoSideScroll } from './lib.mjs';

const iso = process.env.BERTH_ISO;
const bad = process.env.BERTH_BAD_FILE;
const storage = 'local';
const volid = `${storage}:iso/${basename(iso)}`;

const listed = async (page) =>
  (await apiGet(page, `/nodes/${env.node}/storage/${storage}/content?content=iso`)).map((v) => v.volid);

await scenario('storage', async (page) => {
  await login(page);
  await page.goto(`${env.url}/#/storage/${env.node}/${storage}/content`);
  const table = page.getByRole('table', { name: `Content of ${storage}` });
  await table.getByText('CT templates (1)').waitFor();
  check(true, 'the content is grouped by type: the busybox template is under "CT templates"');
  await page.getByRole('radio', { name: /CT templates/ }).click();
  await checkSoon(async () => (await table.locator('tbody tr[data-key]').count()) === 1, 'the type filter shows only CT templates');
  await page.getByRole('radio', { name: /^All/ }).click();
  await shot(page, 'storage-content');

  // ---- upload with a visible progress bar ----
  check(!(await listed(page)).includes(volid), `${volid} is not there before the upload`);
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Upload to ${storage}` });
  await dialog.getByLabel('Content').selectOption('iso');
  await dialog.getByLabel('File').setInputFiles(iso);
  await dialog.getByText(basename(iso)).waitFor();

  // 18 MiB at 6 MiB/s: three seconds of progress to watch
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 5, downloadThroughput: -1, uploadThroughput: 6 * 1024 * 1024 });
  // sample the bar every 50 ms from inside the page, so no value is missed between polls
  await page.evaluate(() => {
    window.__bar = [];
    window.__barTimer = setInterval(() => {
      const b = document.querySelector('progress[aria-label="Upload progress"]');
      if (b) window.__bar.push([b.value, b.max, b.closest('.upload-progress')?.textContent ?? '']);
    }, 50);
  });
  await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
  const bar = dialog.getByRole('progressbar', { name: 'Upload progress' });
  await bar.waitFor();
  await page.waitForFunction(() => window.__bar.some(([v, m]) => v > 0 && v < m && m > 1));
  await shot(page, 'storage-upload-progress');
  await dialog.waitFor({ state: 'detached', timeout: 120000 });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const samples = await page.evaluate(() => {
    clearInterval(window.__barTimer);
    return window.__bar;
  });
  const sending = samples.filter(([, m]) => m > 1);
  const middle = sending.filter(([v, m]) => v > 0 && v < m);
  check(middle.length >= 3, `the bar moved through ${middle.length} intermediate values`);
  check(sending.every(([v], i) => i === 0 || v >= sending[i - 1][0]), 'the bar never went backwards');
  const last = sending[sending.length - 1];
  check(last[0] === last[1], `the bar reached its max (${last[0]} of ${last[1]} bytes)`);
  check(/\d+%/.test(middle[0][2]) && /MiB of/.test(middle[middle.length - 1][2]), `the bar shows percent and bytes ("${middle[middle.length - 1][2].trim()}")`);
  check(samples.some(([, , t]) => t.includes('storing the file')), 'after the bytes, the dialog followed the storing task');

  const row = table.locator(`tr[data-key="${volid}"]`);
  await row.waitFor();
  await checkSoon(async () => (await row.textContent()).includes('iso'), 'the uploaded ISO is listed, with its format');
  check((await listed(page)).includes(volid), `the API lists ${volid}`);
  await shot(page, 'storage-content-with-iso');

  // ---- remove, with confirmation ----
  await page.getByRole('button', { name: `Remove ${volid}` }).click();
  const confirm = page.getByRole('dialog', { name: 'Remove volume' });
  await checkSoon(async () => (await confirm.textContent()).includes(volid), 'the confirmation names the volume');
  await confirm.getByRole('button', { name: 'Remove' }).click();
  await row.waitFor({ state: 'detached', timeout: 60000 });
  check(!(await listed(page)).includes(volid), `the API no longer lists ${volid}`);

  // ---- a wrong file extension: the API's answer, plainly ----
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await dialog.getByLabel('Content').selectOption('iso');
  await dialog.getByLabel('File').setInputFiles(bad);
  await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
  const alert = dialog.getByText(/wrong file extension/);
  await alert.waitFor();
  let text = [];
  await checkSoon(
    async () => (text = await dialog.locator('.error, .field-error').allTextContents()).join('\n').includes('400'),
    () => `the status line is shown: ${JSON.stringify(text)}`,
  );
  check(!(await listed(page)).some((v) => v.endsWith(basename(bad))), 'nothing was stored');
  await shot(page, 'storage-upload-wrong-extension');
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  // ---- a phone ----
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  await shot(page, 'storage-content-phone');
  // the content area must not scroll sideways (the table scrolls inside its own box if it must)
  await checkNoSideScroll(page, (px) => `the content does not scroll sideways on a phone (${px}px)`);
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await shot(page, 'storage-upload-phone');
});
