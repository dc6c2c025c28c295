// Console helpers shared by the UI scenarios: the console frame's state, the terminal's
// rows as xterm.js draws them, typing, and the noVNC canvas's colours.
import { check, env } from './lib.mjs';

export const frame = (page) => page.locator('.console-frame');
export const controls = (page) => page.getByRole('toolbar', { name: 'Console controls' });

export async function waitState(page, state, timeout = 30_000) {
  try {
    await page.locator(`.console-frame[data-state="${state}"]`).waitFor({ timeout });
  } catch (e) {
    const now = await frame(page).getAttribute('data-state').catch(() => '?');
    const card = await page.locator('.console-card').textContent().catch(() => '');
    throw new Error(`console not ${state} after ${timeout} ms: state ${now}, "${card}"`);
  }
}

/** The terminal's rows as shown (xterm's DOM renderer), trailing blanks dropped. */
export function rows(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.console-screen .xterm-rows > div')].map((d) =>
      (d.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd(),
    ),
  );
}

export async function waitRow(page, test, what, timeout = 20_000, poke) {
  const end = Date.now() + timeout;
  let last = [];
  for (let i = 0; Date.now() < end; i++) {
    last = await rows(page);
    if (last.some(test)) {
      check(true, what);
      return;
    }
    if (poke && i % 10 === 9) await poke();
    await page.waitForTimeout(200);
  }
  throw new Error(`${what}: not seen; the terminal shows:\n${last.filter(Boolean).join('\n')}`);
}

export async function run(page, command) {
  await page.keyboard.type(command, { delay: 5 });
  await page.keyboard.press('Enter');
}

export async function focusIsIn(page, selector) {
  return page.evaluate((sel) => !!document.activeElement?.closest(sel), selector);
}

/** How many distinct colours the noVNC canvas shows (sampled on a grid). */
export function canvasColours(page) {
  return page.evaluate(() => {
    const c = document.querySelector('.console-screen canvas');
    if (!c || !c.width || !c.height) return 0;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
}


/** Log in as root on a CT's getty through the terminal that has the focus. */
export async function gettyLogin(page, password) {
  await page.keyboard.press('Enter'); // an empty line makes the getty print its prompt again
  await waitRow(page, (r) => / login:\s*$/.test(r), 'the getty asks for a login', 20_000, () => page.keyboard.press('Enter'));
  await run(page, 'root');
  await waitRow(page, (r) => /Password:\s*$/.test(r), 'it asks for the password');
  await run(page, password);
  await waitRow(page, (r) => /#\s*$/.test(r), 'a root shell prompt');
}

/** The canvas against the API's own screenshot (GET .../berth/screenshot): sizes and the
 *  mean difference per channel (noVNC may get JPEG-compressed rectangles, so not exact). */
export function compareWithScreenshot(page, vmid) {
  return page.evaluate(
    async ({ node, vmid }) => {
      const c = document.querySelector('.console-screen canvas');
      const r = await fetch(`/api2/json/nodes/${node}/qemu/${vmid}/berth/screenshot`, { credentials: 'same-origin' });
      if (!r.ok) return { error: `${r.status} ${r.statusText}` };
      const img = await createImageBitmap(await r.blob());
      const off = new OffscreenCanvas(img.width, img.height);
      const ctx = off.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const api = ctx.getImageData(0, 0, img.width, img.height).data;
      const out = { api: [img.width, img.height], canvas: [c.width, c.height], diff: 255 };
      if (img.width !== c.width || img.height !== c.height) return out;
      const ui = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      for (let i = 0; i < ui.length; i += 4) sum += Math.abs(ui[i] - api[i]) + Math.abs(ui[i + 1] - api[i + 1]) + Math.abs(ui[i + 2] - api[i + 2]);
      out.diff = sum / ((ui.length / 4) * 3);
      return out;
    },
    { node: env.node, vmid },
  );
}
