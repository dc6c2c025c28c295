// Log in with the realm choice, see the tree, switch to dark mode and back, log out;
// a wrong password shows the status line text.
import { check, checkSoon, chooseTheme, env, login, scenario, shot } from './lib.mjs';

await scenario('login', async (page) => {
  await page.goto(env.url + '/');
  await page.getByLabel('User name').fill('nobody');
  await page.getByLabel('Password').fill('wrong');
  await page.getByRole('button', { name: 'Log in' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  await checkSoon(async () => (await alert.textContent()).includes('401'), 'a failed login shows the status line');

  await login(page);
  const tree = page.getByRole('navigation', { name: 'Resources' });
  await tree.getByText(env.node).first().waitFor();
  check(true, 'the tree shows the node');
  await shot(page, 'login-dashboard');

  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await bg();
  // system → light → dark
  await chooseTheme(page, 'dark');
  await checkSoon(async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark', 'dark mode chosen');
  let dark = light;
  const lum = (c) => c.match(/\d+/g).slice(0, 3).reduce((a, b) => a + +b, 0);
  await checkSoon(async () => {
    dark = await bg();
    return lum(dark) < lum(light) || lum(dark) < 150;
  }, () => `the page is dark (${light} → ${dark})`);
  await shot(page, 'login-dark');
  await page.reload();
  await page.getByRole('navigation', { name: 'Resources' }).waitFor();
  await checkSoon(async () => (await bg()) === dark, 'dark mode is kept across a reload');

  // a phone: nothing wider than the screen; the tree opens from the menu button
  await page.setViewportSize({ width: 390, height: 844 });
  let overflow;
  await checkSoon(
    async () => (overflow = await page.evaluate(() => document.documentElement.scrollWidth)) <= 390,
    () => `no sideways scrolling on a phone (page width ${overflow})`,
  );
  await page.getByRole('button', { name: 'Show resources' }).click();
  await page.getByRole('navigation', { name: 'Resources' }).getByText(env.node).first().waitFor();
  await shot(page, 'login-phone-tree');
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  check(true, 'logged out');
});
