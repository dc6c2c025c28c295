// The task panel and bulk actions. Inputs: CT_A, CT_B (two stopped CTs made by the pytest).
//   - a long task (the diagnostic probe, started through the API) shows as running in the
//     panel; its log opens live with a progress bar that moves, and it ends OK;
//   - a failing task's error is shown plainly in its log view;
//   - selecting both CTs in the datacenter's guest list and "Start selected" starts both
//     (one confirmation); "Stop selected" stops both.
import { check, checkSoon, env, login, scenario, shot } from './lib.mjs';

const A = process.env.CT_A;
const B = process.env.CT_B;

async function probe(page, params) {
  return page.evaluate(
    async ({ node, params }) => {
      const s = JSON.parse(localStorage.getItem('berth.session'));
      const r = await fetch(`/api2/json/nodes/${node}/berth/probe-task`, {
        method: 'POST',
        headers: { CSRFPreventionToken: s.csrf, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(params).toString(),
      });
      if (!r.ok) throw new Error(`probe-task: ${r.status} ${r.statusText}`);
      return (await r.json()).data;
    },
    { node: env.node, params },
  );
}

await scenario('tasks', async (page) => {
  await login(page);
  const panel = page.getByRole('region', { name: 'Tasks' });

  // a running task with progress
  const upid = await probe(page, { seconds: '6' });
  const row = panel.locator(`tr[data-upid="${upid}"]`);
  await row.waitFor({ timeout: 10_000 });
  await checkSoon(async () => (await row.getAttribute('class')).includes('running'), 'the panel shows the task as running');
  await checkSoon(async () => /\d+ running/.test(await panel.getByRole('button', { name: /^Tasks/ }).textContent()), 'the panel header counts running tasks');
  await row.click();
  const dialog = page.getByRole('dialog');
  const bar = dialog.getByRole('progressbar', { name: 'Task progress' });
  await bar.waitFor();
  const first = Number(await bar.getAttribute('value'));
  let later = first;
  await checkSoon(async () => (later = Number(await bar.getAttribute('value'))) > first, () => `the progress bar moves (${first.toFixed(2)} → ${later.toFixed(2)})`, 5_000);
  await shot(page, 'tasks-progress');
  await dialog.getByText('finished: OK').waitFor({ timeout: 20_000 });
  await checkSoon(async () => (await dialog.getByLabel('Task log').textContent()).includes('TASK OK'), 'the live log ends with TASK OK');
  await dialog.getByRole('button', { name: 'Close' }).click();

  // a failing task: its error, plainly
  const bad = await probe(page, { fail: 'the disk caught fire' });
  await panel.locator(`tr[data-upid="${bad}"]`).click();
  await dialog.getByRole('alert').filter({ hasText: 'the disk caught fire' }).waitFor({ timeout: 20_000 });
  check(true, "a failed task's error is shown in its log view");
  // the panel learns of the end from its own read of the task list, a moment after the log
  await checkSoon(async () => (await panel.locator(`tr[data-upid="${bad}"]`).getAttribute('class')).includes('failed'), 'the panel marks it failed');
  await shot(page, 'tasks-failed');
  await dialog.getByRole('button', { name: 'Close' }).click();

  // bulk start and stop from the datacenter's guest list
  await page.goto(`${env.url}/#/`);
  const bulk = page.getByRole('toolbar', { name: 'Bulk actions' });
  for (const [action, label, status] of [['start', 'Start selected', 'running'], ['stop', 'Stop selected', 'stopped']]) {
    await page.getByLabel(`Select ${A}`).check();
    await page.getByLabel(`Select ${B}`).check();
    await bulk.getByRole('button', { name: label }).click();
    const confirm = page.getByRole('dialog');
    await checkSoon(async () => {
      const t = await confirm.textContent();
      return t.includes(`${A}, ${B}`) || t.includes(`${B}, ${A}`);
    }, `one question names both CTs (${action})`);
    await confirm.getByRole('button', { name: action === 'start' ? 'Start' : 'Stop' }).click();
    for (const id of [A, B]) await page.locator(`.guest-table tr[data-id="lxc/${id}"] .dot.${status}`).waitFor({ timeout: 60_000 });
    check(true, `both CTs are ${status} after "${label}"`);
    await page.getByLabel(`Select ${A}`).uncheck();
    await page.getByLabel(`Select ${B}`).uncheck();
  }
  await shot(page, 'tasks-bulk');
});
