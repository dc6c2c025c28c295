// Summary pages with live graphs: a running container's summary (status, meters, config,
// graphs drawn from rrddata), the node's and the storage's; Day timeframe; keyboard choice of
// the timeframe; dark mode; a phone's width.
// Inputs: BERTH_VMID (a running container), BERTH_STORAGE, BERTH_LIMITED_USER and
// BERTH_LIMITED_PASSWORD (a user who may see the container but not the node).
import { check, checkSoon, chooseTheme, env, login, newPage, scenario, shot, until, checkNoSideScroll } from './lib.mjs';

const vmid = process.env.BERTH_VMID;
const storage = process.env.BERTH_STORAGE ?? 'local';
const DESKTOP = { width: 1280, height: 1500 };
const PHONE = { width: 390, height: 844 };

const go = (page, hash) => page.goto(`${env.url}/#${hash}`);

/** Wait for fn() to be true, polling, up to ms; fails with what. */
/** A chart (figure named by its title): drawn canvas and its legend's entries. */
async function chart(page, title) {
  const fig = page.getByRole('figure', { name: title, exact: true });
  await fig.waitFor();
  const legend = fig.getByRole('list', { name: `${title} legend` });
  return { fig, legend, items: legend.getByRole('listitem') };
}

async function checkChart(page, title, series, { data = true } = {}) {
  const c = await chart(page, title);
  await until(async () => (await c.fig.locator('canvas').count()) > 0, `${title}: a canvas is drawn`);
  let w = 0;
  await checkSoon(async () => (w = await c.fig.locator('canvas').first().evaluate((cv) => cv.width)) > 100, () => `${title}: the canvas is ${w} px wide`);
  let names = [];
  await checkSoon(
    async () => {
      names = await c.legend.locator('.name').allTextContents();
      return series.every((s) => names.includes(s));
    },
    () => `${title}: the legend names ${series.join(', ')} (${names.join(', ')})`,
  );
  if (data) {
    await until(async () => !(await c.legend.locator('.value').allTextContents()).every((v) => v === '–'), `${title}: the legend shows values from rrddata`);
    const vals = await c.legend.locator('.value').allTextContents();
    check(true, `${title}: values ${vals.join(', ')}`);
    await checkSoon(async () => (await c.fig.locator('.chart-empty').count()) === 0, `${title}: no "no data" note`);
  }
  return c;
}

async function setTheme(page, want) {
  const toggle = page.locator('button.theme');
  await chooseTheme(page, want);
  await checkSoon(async () => (await toggle.getAttribute('data-theme-choice')) === want, `theme ${want} chosen`);
}

const lum = (c) => c.match(/\d+/g).slice(0, 3).reduce((a, b) => a + +b, 0);

async function guestPage(page) {
  await go(page, `/lxc/${vmid}/summary`);
  const status = page.getByRole('region', { name: 'Status' });
  await until(async () => (await status.getByTestId('guest-status').textContent().catch(() => ''))?.includes('running'), 'the status shows running', 20_000);
  check(true, 'the guest summary shows running');
}

async function nodePage(page) {
  await go(page, `/node/${env.node}/summary`);
  const usage = page.getByRole('region', { name: 'Usage' });
  const mem = usage.getByRole('meter', { name: /^Memory usage:/ });
  await mem.waitFor();
  let label = '';
  await checkSoon(
    async () => /\d+(\.\d+)?% \(\d[\d.]* [KMGT]iB of \d[\d.]* [KMGT]iB\)/.test((label = await mem.getAttribute('aria-label'))),
    () => `the node shows its memory (${label})`,
  );
  await checkSoon(async () => Number(await mem.getAttribute('aria-valuenow')) > 0, 'the memory meter is filled');
}

async function storagePage(page) {
  await go(page, `/storage/${env.node}/${storage}/summary`);
  const region = page.getByRole('region', { name: 'Storage status' });
  const meter = region.getByRole('meter', { name: /^Usage:/ });
  await meter.waitFor();
  let label = '';
  await checkSoon(async () => /\d+(\.\d+)?% \(.*B of .*B\)/.test((label = await meter.getAttribute('aria-label'))), () => `the storage shows its usage (${label})`);
  const defs = region.getByRole('definition');
  // the path comes from a second read (the storage's definition), so it may come a moment later
  await until(async () => (await defs.allTextContents()).some((f) => f.startsWith('/')), 'its path is shown', 10_000);
  let facts = [];
  await checkSoon(async () => (facts = await defs.allTextContents()).includes('Directory'), () => `the storage's type is shown (${facts.join(' | ')})`);
  await checkSoon(async () => (await defs.allTextContents()).some((f) => f.includes('Container template')), 'its content types are named');
}

await scenario('graphs', async (page, b) => {
  await page.setViewportSize(DESKTOP);
  await login(page);

  // ---- the guest ----
  await guestPage(page);
  const config = page.getByRole('region', { name: 'Configuration' });
  // the configuration is a read of its own, so it may come after the status
  await until(async () => (await config.textContent().catch(() => '')).includes('graphs-ct'), 'the config shows the hostname', 20_000);
  check(true, 'the config shows the hostname');
  await checkSoon(async () => (await config.textContent()).includes('256 MiB'), 'the config shows the memory');
  const desc = config.getByLabel('Description');
  await checkSoon(async () => (await desc.textContent()).includes('<b>not bold</b>'), 'the description is shown as text, not HTML');
  await checkSoon(async () => (await config.locator('.tag').allTextContents()).join(',') === 'ui,graphs', 'the tags are shown');
  await checkSoon(async () => Number(await page.getByRole('meter', { name: /^Memory:/ }).getAttribute('aria-valuenow')) >= 0, 'a memory meter');

  await checkChart(page, 'CPU usage', ['CPU']);
  const mem = await checkChart(page, 'Memory usage', ['Used', 'Total']);
  let memVals = [];
  await checkSoon(
    async () => (memVals = await mem.legend.locator('.value').allTextContents())[1] === '256 MiB',
    () => `the memory graph's total is the configured 256 MiB (${memVals[1]})`,
  );
  await checkChart(page, 'Network traffic', ['In', 'Out'], { data: false });
  await checkChart(page, 'Disk I/O', ['Read', 'Write'], { data: false });
  let summary = '';
  await checkSoon(
    async () => /Memory usage\. Used: latest .*B, highest .*B/.test((summary = await mem.fig.locator('.sr-only').textContent())),
    () => `screen readers get a summary (${summary})`,
  );

  // the cursor over the plot shows that moment's values and time
  const box = await mem.fig.locator('.u-over').boundingBox();
  await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2);
  await until(async () => (await mem.fig.locator('.chart-when').textContent()) !== 'latest', 'the cursor shows a time');
  await checkSoon(async () => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(await mem.fig.locator('.chart-when').textContent()), 'the cursor time is a date and time');
  await page.mouse.move(0, 0);
  await shot(page, 'graphs-guest-light');

  // the hour view refreshes by itself
  const refreshed = page.waitForResponse((r) => r.url().includes('/rrddata') && r.url().includes('timeframe=hour'), { timeout: 15_000 });
  check((await refreshed).status() === 200, 'the hour view fetches rrddata again within 15 s');

  // ---- timeframe: Day (mouse), then Week (keyboard) ----
  const tf = page.getByRole('radiogroup', { name: 'Timeframe' });
  const dayAnswer = page.waitForResponse((r) => r.url().includes('/rrddata') && r.url().includes('timeframe=day'));
  await tf.getByRole('radio', { name: 'Day' }).click();
  const day = await dayAnswer;
  check(day.status() === 200, 'the Day timeframe is fetched');
  const dayRows = (await day.json()).data;
  check(Array.isArray(dayRows) && dayRows.length > 0, `the day has ${dayRows.length} rows`);
  await checkSoon(async () => (await tf.getByRole('radio', { name: 'Day' }).getAttribute('aria-checked')) === 'true', 'Day is checked');
  await checkChart(page, 'CPU usage', ['CPU'], { data: false });
  const span = dayRows[dayRows.length - 1].time - dayRows[0].time;
  check(span > 60 * 30, `the day's rows span more than the hour's (${span} s)`);
  await shot(page, 'graphs-guest-day');

  const weekAnswer = page.waitForResponse((r) => r.url().includes('/rrddata') && r.url().includes('timeframe=week'));
  await tf.getByRole('radio', { name: 'Day' }).focus();
  await page.keyboard.press('ArrowRight');
  check((await weekAnswer).status() === 200, 'the arrow key chose Week and it was fetched');
  await checkSoon(async () => (await tf.getByRole('radio', { name: 'Week' }).getAttribute('aria-checked')) === 'true', 'Week is checked');
  await checkSoon(() => tf.getByRole('radio', { name: 'Week' }).evaluate((el) => el === document.activeElement), 'focus moved with the choice');

  const maxAnswer = page.waitForResponse((r) => r.url().includes('/rrddata') && r.url().includes('cf=MAX'));
  await page.getByRole('radiogroup', { name: 'Consolidation' }).getByRole('radio', { name: 'Maximum' }).click();
  check((await maxAnswer).status() === 200, 'Maximum is fetched with cf=MAX');
  // back to the defaults; the choice is kept for the next pages
  await tf.getByRole('radio', { name: 'Hour' }).click();
  await page.getByRole('radiogroup', { name: 'Consolidation' }).getByRole('radio', { name: 'Average' }).click();
  await checkChart(page, 'Memory usage', ['Used', 'Total']);

  // ---- the node ----
  await nodePage(page);
  await checkChart(page, 'CPU usage', ['CPU', 'IO delay']);
  await checkChart(page, 'Server load', ['Load average']);
  await checkChart(page, 'Memory usage', ['Used', 'Total', 'Swap used']);
  await checkChart(page, 'Network traffic', ['In', 'Out'], { data: false });
  await checkChart(page, 'Root disk', ['Used', 'Total']);
  await checkSoon(async () => {
    const facts = await page.getByRole('region', { name: 'Node status' }).textContent();
    return facts.includes('Kernel') && facts.includes('Berth version');
  }, 'the node shows its kernel and versions');
  await shot(page, 'graphs-node-light');
  await page.getByRole('tab', { name: 'Guests' }).click();
  await page.locator(`tr[data-id="lxc/${vmid}"]`).waitFor();
  check(true, 'the node\'s Guests tab lists the container');

  // ---- the storage ----
  await storagePage(page);
  await checkChart(page, 'Usage', ['Used', 'Total']);
  await shot(page, 'graphs-storage-light');

  // ---- dark ----
  await setTheme(page, 'dark');
  let figBg = '';
  await checkSoon(
    async () => lum((figBg = await page.getByRole('figure', { name: 'Usage', exact: true }).evaluate((f) => getComputedStyle(f).backgroundColor))) < 150,
    () => `the chart card is dark (${figBg})`,
  );
  // the plot is rebuilt with the dark palette: the axis labels are drawn in the muted colour
  await checkChart(page, 'Usage', ['Used', 'Total']);
  await shot(page, 'graphs-storage-dark');
  await guestPage(page);
  await checkChart(page, 'Memory usage', ['Used', 'Total']);
  await shot(page, 'graphs-guest-dark');
  await nodePage(page);
  await checkChart(page, 'Memory usage', ['Used', 'Total', 'Swap used']);
  await shot(page, 'graphs-node-dark');

  // ---- a phone ----
  await setTheme(page, 'light');
  await page.setViewportSize(PHONE);
  const phone = page;
  for (const [name, open] of [
    ['guest', guestPage],
    ['node', nodePage],
    ['storage', storagePage],
  ]) {
    await open(phone);
    const c = await checkChart(phone, name === 'storage' ? 'Usage' : 'Memory usage', ['Used', 'Total']);
    let cw, vw;
    await checkSoon(
      async () => {
        [cw, vw] = await c.fig.evaluate((f) => [f.getBoundingClientRect().right, window.innerWidth]);
        return cw <= vw;
      },
      () => `${name}: the chart fits the phone's width (${cw} ≤ ${vw})`,
    );
    await checkNoSideScroll(phone, (px) => `${name}: nothing overflows sideways (${px} px)`);
    await shot(phone, `graphs-${name}-phone`);
    await c.fig.scrollIntoViewIfNeeded();
    await shot(phone, `graphs-${name}-phone-graphs`);
  }

  // ---- refused: the status line, not a blank page ----
  const limited = await newPage(b, { viewport: DESKTOP });
  await login(limited, process.env.BERTH_LIMITED_USER, process.env.BERTH_LIMITED_PASSWORD);
  await guestPage(limited);
  await checkChart(limited, 'Memory usage', ['Used', 'Total']);
  check(true, 'a user with VM.Audit on the guest sees its summary and graphs');
  await go(limited, `/node/${env.node}/summary`);
  const alerts = limited.locator('.node-summary').getByRole('alert');
  await alerts.first().waitFor();
  let texts = [];
  await checkSoon(async () => (texts = await alerts.allTextContents()).some((t) => /^403 /.test(t)), () => `the node's refusal shows the status line (${texts.join(' | ')})`);
  await until(async () => (await alerts.count()) === 2, 'the graphs say why too');
  await checkSoon(async () => (await limited.getByRole('figure').count()) === 0, 'no empty charts are drawn for a refused rrddata');
  await shot(limited, 'graphs-node-refused');
});
