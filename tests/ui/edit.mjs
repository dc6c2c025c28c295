// The edit pages on a RUNNING container (EDIT_VMID, made and started by the test): memory
// changes live; cores waits as a pending change (marked, then reverted); a new NIC is plugged
// in live and removed live; a
// change made elsewhere meanwhile makes the dialog show the API's digest refusal; a value
// the API refuses shows its error next to the field. The API checks are in
// tests/integration/test_ui_wizards.py.
import { check, checkSoon, chooseTheme, env, login, scenario, shot } from './lib.mjs';

const VMID = process.env.EDIT_VMID;

function row(page, label) {
  return page.locator('table.config-table tr').filter({ has: page.getByRole('rowheader', { name: label, exact: true }) });
}

async function edit(page, label) {
  await page.getByRole('button', { name: `Edit ${label}`, exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  return dialog;
}

async function closed(page) {
  await page.getByRole('dialog').waitFor({ state: 'detached' });
}

/** What another client does meanwhile: a PUT with this session's ticket. */
async function putElsewhere(page, params) {
  const status = await page.evaluate(
    async ([path, body]) => {
      const s = JSON.parse(localStorage.getItem('berth.session'));
      const r = await fetch('/api2/json' + path, {
        method: 'PUT',
        headers: { CSRFPreventionToken: s.csrf, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      });
      return r.status;
    },
    [`/nodes/${env.node}/lxc/${VMID}/config`, params],
  );
  check(status === 200, `another client changed the config (${status})`);
}

await scenario('edit', async (page) => {
  await login(page);
  await page.goto(`${env.url}/#/lxc/${VMID}/hardware`);
  await row(page, 'Memory').waitFor();
  await checkSoon(async () => (await page.locator('section.guest').getAttribute('data-status')) === 'running', 'the CT runs');

  // memory: applied live, no pending mark
  let d = await edit(page, 'Memory');
  await checkSoon(async () => (await d.getByLabel('Memory (MiB)').inputValue()) === '512', 'the dialog shows the current memory');
  await d.getByLabel('Memory (MiB)').fill('384');
  await d.getByRole('button', { name: 'OK' }).click();
  await closed(page);
  await row(page, 'Memory').filter({ hasText: '384 MiB' }).waitFor();
  await checkSoon(async () => !(await row(page, 'Memory').getAttribute('class')).includes('has-pending'), 'memory of a running CT changes at once (not pending)');

  // cores: pending until the CT stops
  d = await edit(page, 'Cores');
  await d.getByLabel('Cores').fill('2');
  await d.getByRole('button', { name: 'OK' }).click();
  await closed(page);
  const cores = row(page, 'Cores');
  await cores.locator('.pending-tag').waitFor();
  await checkSoon(async () => (await cores.getAttribute('class')).includes('has-pending'), 'cores is marked pending');
  await checkSoon(async () => (await cores.locator('.new').textContent()).includes('2'), 'the pending row shows the new value');
  await page.getByRole('status').filter({ hasText: 'pending' }).first().waitFor();

  // a new NIC: plugged into the running CT at once
  await page.getByRole('button', { name: 'Add: Network device' }).click();
  d = page.getByRole('dialog');
  await checkSoon(async () => (await d.getByLabel('Name', { exact: true }).inputValue()).startsWith('eth'), 'the new NIC gets a name');
  await d.getByLabel('IPv4', { exact: true }).selectOption('static');
  await d.getByLabel('IPv4/CIDR').fill('10.98.0.7/24');
  await d.getByRole('button', { name: 'Add' }).click();
  await closed(page);
  const nic = page.locator('table.config-table tr[data-key^="net"]').filter({ hasText: 'ip=10.98.0.7/24' });
  await nic.waitFor();
  await checkSoon(async () => !((await nic.getAttribute('class')) ?? '').includes('has-pending'), 'the new NIC is shown with its address, live, not pending');
  await shot(page, 'edit-ct-hardware-pending');

  // dark mode and a phone
  await chooseTheme(page, 'dark');
  await shot(page, 'edit-ct-hardware-pending-dark');
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, 'edit-ct-hardware-phone-dark');
  await page.setViewportSize({ width: 1280, height: 800 });
  await chooseTheme(page, 'light');

  // revert cores, remove the NIC
  await page.getByRole('button', { name: 'Revert Cores' }).click();
  await page.waitForFunction(() => !document.querySelector('tr[data-key="cores"]')?.classList.contains('has-pending'));
  check(true, 'revert cores: no longer pending');
  const nicKey = await nic.getAttribute('data-key');
  await page.getByRole('button', { name: `Remove Network device (${nicKey})` }).click();
  await page.getByRole('dialog', { name: `Remove ${nicKey}` }).getByRole('button', { name: 'Remove' }).click();
  await page.locator(`tr[data-key="${nicKey}"]`).waitFor({ state: 'detached' });
  check(true, `remove ${nicKey}: the NIC is gone, live`);

  // a change elsewhere while the dialog is open: the API's digest refusal in the dialog
  d = await edit(page, 'Swap');
  await putElsewhere(page, { description: 'changed elsewhere' });
  await d.getByLabel('Swap (MiB)').fill('256');
  await d.getByRole('button', { name: 'OK' }).click();
  const alert = d.getByRole('alert');
  await alert.waitFor();
  let text = '';
  await checkSoon(
    async () => /^\d{3} /.test((text = await alert.textContent())) && text.includes('detected modified configuration'),
    () => `the dialog shows the API's refusal: ${text.split('\n')[0]}`,
  );
  await shot(page, 'edit-ct-digest-conflict');
  await d.getByRole('button', { name: 'Cancel' }).click();
  await closed(page);

  // options: the hostname changes at once; a value the API refuses shows next to the field
  await page.getByRole('tab', { name: 'Options' }).click();
  await row(page, 'Hostname').waitFor();
  d = await edit(page, 'Hostname');
  await d.getByLabel('Hostname').fill('ui-edited');
  await d.getByRole('button', { name: 'OK' }).click();
  await closed(page);
  await row(page, 'Hostname').filter({ hasText: 'ui-edited' }).waitFor();
  await checkSoon(async () => !(await row(page, 'Hostname').getAttribute('class')).includes('has-pending'), 'the hostname of a running CT changes at once');
  d = await edit(page, 'Features');
  await d.getByLabel('Features').fill('bogus=1');
  await d.getByRole('button', { name: 'OK' }).click();
  await d.getByRole('alert').waitFor();
  let status = '';
  let fieldError = '';
  await checkSoon(async () => /^4\d\d /.test((status = (await d.getByRole('alert').textContent()).split('\n')[0])), () => `a bad feature is refused with the status line (${status})`);
  await checkSoon(
    async () => (fieldError = await d.locator('.field-error').textContent({ timeout: 1_000 }).catch(() => '')).length > 0,
    () => `... and the error next to the field (${fieldError})`,
  );
  await shot(page, 'edit-ct-options-error');
  await d.getByRole('button', { name: 'Cancel' }).click();
  await closed(page);
  await shot(page, 'edit-ct-options');
});
