// Consoles in the browser (tests/integration/test_ui_consoles.py prepares the guests):
//   CONSOLE_PART=ct: a running CT's console tab (log in on its getty, run a command, see the
//     output), the terminal in dark mode, "Open in new window" (a popup that connects), on a
//     phone, cleanup when the tab is left; a stopped CT shows "not running" and Start works.
//   CONSOLE_PART=vm: a booted VM's display through noVNC (the canvas shows what the API's
//     screenshot shows), its serial socket in xterm.js, and the display in a popup.
import { check, checkSoon, chooseTheme, env, login, scenario, shot, until } from './lib.mjs';
import { canvasColours, compareWithScreenshot, controls, focusIsIn, frame, gettyLogin, run, waitRow, waitState } from './console-lib.mjs';

const part = process.env.CONSOLE_PART;

async function setTheme(page, want) {
  const toggle = page.locator('button.theme');
  await chooseTheme(page, want);
  await checkSoon(async () => (await toggle.getAttribute('data-theme-choice')) === want, `theme ${want} chosen`);
}

async function openPopup(page) {
  const [popup] = await Promise.all([
    page.context().waitForEvent('page'),
    controls(page).getByRole('button', { name: 'Open in new window' }).click(),
  ]);
  popup.on('pageerror', (e) => console.log(`popup error: ${e.message}`));
  await popup.waitForLoadState();
  return popup;
}

async function containers(page) {
  const ct = Number(process.env.CT_RUNNING);
  const stopped = Number(process.env.CT_STOPPED);
  const password = process.env.CT_PASSWORD;
  await login(page);

  await page.goto(`${env.url}/#/lxc/${ct}/console`);
  await waitState(page, 'connected');
  await checkSoon(async () => (await controls(page).getByRole('status').textContent()) === 'Connected', 'the toolbar says Connected');
  await until(() => focusIsIn(page, '.console-screen .xterm'), 'keyboard focus is in the terminal', 5_000);
  check(true, 'keyboard focus is in the terminal');

  // the CT's getty: an empty line makes it print its prompt again
  await gettyLogin(page, password);
  await run(page, 'echo hello-from-ui');
  await waitRow(page, (r) => r === 'hello-from-ui', 'the command ran: its output is a line of its own');
  await shot(page, 'console-ct');

  // dark mode: the terminal's colours follow
  const fg = () => page.evaluate(() => getComputedStyle(document.querySelector('.console-screen .xterm-rows')).color);
  await setTheme(page, 'light');
  const light = await fg();
  await setTheme(page, 'dark');
  let dark = light;
  // xterm.js repaints with the new palette on its next frame
  await checkSoon(async () => (dark = await fg()) !== light, () => `the terminal's text colour follows the theme (${light} → ${dark})`);
  await shot(page, 'console-ct-dark');
  await setTheme(page, 'light');

  // a window of its own; the tab lets go of the console
  const popup = await openPopup(page);
  await checkSoon(() => popup.url().includes(`#/console/lxc/${ct}/term`), `the popup shows #/console/lxc/${ct}/term`);
  await waitState(popup, 'connected');
  check((await popup.getByRole('navigation', { name: 'Resources' }).count()) === 0, 'the popup has nothing but the console');
  await run(popup, 'echo popup-$((6*7))');
  await waitRow(popup, (r) => r === 'popup-42', 'the popup reaches the same shell');
  await shot(popup, 'console-ct-popup');
  await waitState(page, 'detached', 5_000);
  await checkSoon(() => page.getByText('This console is open in another window.').isVisible(), 'the tab says the console is elsewhere');
  await popup.close();
  await page.getByRole('button', { name: 'Connect here' }).click();
  await waitState(page, 'connected');
  check(true, 'Connect here reconnects the tab');

  // a phone
  await page.setViewportSize({ width: 390, height: 780 });
  await page.waitForTimeout(300);
  let fits = {};
  // the terminal refits to the new width on its next frames: poll, the sleep is no guarantee
  await checkSoon(
    async () =>
      (fits = await page.evaluate(() => {
        const f = document.querySelector('.console-frame').getBoundingClientRect();
        const m = document.querySelector('main').getBoundingClientRect();
        return { ok: f.left >= m.left && f.right <= m.right + 0.5, f: [f.left, f.right], m: [m.left, m.right] };
      })).ok,
    () => `the console fits the content area on a phone (${fits.f} within ${fits.m})`,
  );
  await checkSoon(() => page.locator('.console-screen .xterm').isVisible(), 'the terminal shows on a phone');
  await checkSoon(() => controls(page).getByRole('button', { name: 'Reconnect' }).isVisible(), 'its controls are reachable on a phone');
  await shot(page, 'console-ct-phone');
  await page.setViewportSize({ width: 1280, height: 800 });

  // leaving the tab ends the session: no console task of this CT keeps running
  await page.getByRole('tab', { name: 'Summary' }).click();
  // the tab's click re-renders the page a moment later: poll until the terminal is unmounted
  await checkSoon(async () => (await page.locator('.xterm').count()) === 0, 'the terminal is gone with the tab');
  const end = Date.now() + 15_000;
  let open = -1;
  while (Date.now() < end) {
    open = await page.evaluate(
      async ({ node, ct }) => {
        const r = await fetch(`/api2/json/nodes/${node}/tasks?source=all&limit=100`, { credentials: 'same-origin' });
        const list = (await r.json()).data ?? [];
        return list.filter((t) => t.type === 'vncproxy' && t.id === String(ct) && !t.endtime).length;
      },
      { node: env.node, ct },
    );
    if (open === 0) break;
    await page.waitForTimeout(500);
  }
  check(open === 0, 'no console session of the CT is left running after the tab was left');

  // a stopped CT: said plainly, with Start; starting it connects the console
  await page.goto(`${env.url}/#/lxc/${stopped}/console`);
  await waitState(page, 'notrunning');
  await checkSoon(() => frame(page).getByText(`CT ${stopped} is not running.`).isVisible(), 'a stopped CT shows "not running"');
  await checkSoon(() => controls(page).getByRole('button', { name: 'Reconnect' }).isDisabled(), 'Reconnect is disabled while it is stopped');
  await shot(page, 'console-ct-stopped');
  await frame(page).getByRole('button', { name: 'Start' }).click();
  await waitState(page, 'connected', 60_000);
  check(true, "Start in the console starts the CT and connects to its console");
}

async function vms(page) {
  const vmid = Number(process.env.VM_VMID);
  await login(page);
  await page.goto(`${env.url}/#/qemu/${vmid}/console`);
  await waitState(page, 'connected', 60_000);
  const modes = controls(page).getByRole('group', { name: 'Console type' });
  await checkSoon(async () => (await modes.getByRole('button', { name: 'Display' }).getAttribute('aria-pressed')) === 'true', 'the display is the default');
  await checkSoon(() => controls(page).getByRole('button', { name: 'Ctrl-Alt-Del' }).isEnabled(), 'Ctrl-Alt-Del is offered');
  await until(() => focusIsIn(page, '.console-screen'), 'keyboard focus is on the display', 5_000);
  check(true, 'keyboard focus is on the display');

  // the guest's screen, as the API's own screenshot shows it
  let colours = 0;
  let cmp = null;
  const end = Date.now() + 90_000;
  while (Date.now() < end) {
    colours = await canvasColours(page);
    if (colours >= 2) {
      cmp = await compareWithScreenshot(page, vmid);
      if (cmp.diff !== undefined && cmp.diff < 6) break;
    }
    await page.waitForTimeout(1000);
  }
  check(colours >= 2, `the display is not one flat colour (${colours} colours)`);
  check(!cmp.error && cmp.api.join('x') === cmp.canvas.join('x'), `the canvas has the guest's resolution (${cmp.canvas} vs ${cmp.api})`);
  check(cmp.diff < 6, `the canvas shows what the screenshot API shows (mean difference ${cmp.diff?.toFixed(2)})`);
  await shot(page, 'console-vm');
  await page.locator('.console-screen canvas').screenshot({ path: `${env.artifacts}/console-vm-canvas.png` });

  // the serial socket in xterm.js: the test guest keeps a root shell there
  await modes.getByRole('button', { name: 'Serial' }).click();
  await waitState(page, 'connected', 30_000);
  await checkSoon(async () => (await frame(page).getAttribute('data-mode')) === 'serial', 'serial mode');
  await until(() => focusIsIn(page, '.console-screen .xterm'), 'keyboard focus is in the serial terminal', 5_000);
  check(true, 'keyboard focus is in the serial terminal');
  await page.keyboard.press('Enter');
  await run(page, 'echo serial-$((6*7))');
  await waitRow(page, (r) => r.endsWith('serial-42') && !r.includes('$'), 'the serial shell answered', 30_000, () =>
    run(page, 'echo serial-$((6*7))'),
  );
  await setTheme(page, 'dark');
  await shot(page, 'console-vm-serial-dark');
  await setTheme(page, 'light');

  // back to the display, then in a window of its own
  await modes.getByRole('button', { name: 'Display' }).click();
  await waitState(page, 'connected', 30_000);
  const popup = await openPopup(page);
  await checkSoon(() => popup.url().includes(`#/console/qemu/${vmid}/vnc`), `the popup shows #/console/qemu/${vmid}/vnc`);
  await waitState(popup, 'connected', 30_000);
  let pc = 0;
  for (let i = 0; i < 30 && pc < 2; i++) {
    pc = await canvasColours(popup);
    if (pc < 2) await popup.waitForTimeout(500);
  }
  check(pc >= 2, `the popup shows the guest's screen (${pc} colours)`);
  await shot(popup, 'console-vm-popup');
  await popup.close();
}

await scenario(`consoles-${part}`, async (page) => {
  if (part === 'ct') await containers(page);
  else if (part === 'vm') await vms(page);
  else throw new Error(`CONSOLE_PART must be ct or vm, not ${part}`);
});
