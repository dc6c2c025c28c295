// Users, API tokens and permissions through the UI. ACCESS_STEP=create: add a pve user,
// change its password, give it PVEVMUser on /vms, add an API token without privilege
// separation and read its one-time secret (printed as TOKEN_SECRET=… for the test to use).
// ACCESS_STEP=remove: remove the token, then the user. Inputs: ACCESS_USER (name@pve).
import { apiGet, check, checkSoon, chooseTheme, env, login, scenario, shot, checkNoSideScroll } from './lib.mjs';

const userid = process.env.ACCESS_USER ?? 'uitest@pve';
const name = userid.split('@')[0];
const token = 'ci';
const full = `${userid}!${token}`;
const step = process.env.ACCESS_STEP ?? 'create';


async function confirm(page, title) {
  const d = page.getByRole('dialog', { name: title });
  await d.getByRole('button', { name: 'Remove' }).click();
  await d.waitFor({ state: 'detached' });
}

async function create(page) {
  await login(page);
  await page.getByRole('navigation', { name: 'Resources' }).getByRole('link', { name: 'Permissions' }).click();
  const users = page.getByRole('table', { name: 'Users' });
  await users.getByText(env.user.split('@')[0]).first().waitFor();
  await checkSoon(() => page.url().endsWith('#/access/users'), 'the tree link opens the Users tab');

  // ---- a user ----
  await page.getByRole('button', { name: 'Add user' }).click();
  let d = page.getByRole('dialog', { name: 'Add user' });
  await d.getByLabel('User name').fill('bad/name');
  await d.getByLabel('Realm').selectOption('pve');
  await d.getByLabel('Password', { exact: true }).fill('first-Passw0rd');
  await d.getByLabel('Confirm password').fill('first-Passw0rd');
  await d.getByLabel('First name').fill('Ui');
  await d.getByLabel('Last name').fill('Tester');
  await d.getByLabel('E-Mail').fill('ui@example.com');
  await d.getByRole('button', { name: 'Add' }).click();
  // the API's per-field error shows next to the field, the status line under the form
  const nameErr = d.locator('#err-userid');
  await nameErr.waitFor();
  await checkSoon(async () => (await d.getByRole('alert').textContent()).startsWith('400'), 'a bad user name: the status line, and...');
  let nameErrText = '';
  await checkSoon(
    async () => (await d.getByLabel('User name').getAttribute('aria-invalid')) === 'true' && ((nameErrText = await nameErr.textContent()), true),
    () => `...the field is marked, with "${nameErrText}"`,
  );
  await shot(page, 'access-user-error');
  await d.getByLabel('User name').fill(name);
  await d.getByRole('button', { name: 'Add' }).click();
  await d.waitFor({ state: 'detached' });
  const row = users.locator(`tr[data-key="${userid}"]`);
  await row.waitFor();
  await checkSoon(async () => (await row.textContent()).includes('ui@example.com'), 'the new user is listed with its e-mail');
  check((await apiGet(page, '/access/users')).some((u) => u.userid === userid && u.firstname === 'Ui'), 'the API has the user');
  await shot(page, 'access-users');

  // ---- its password ----
  await page.getByRole('button', { name: `Change password of ${userid}` }).click();
  d = page.getByRole('dialog', { name: `Password for ${userid}` });
  await d.getByLabel('Your current password').fill(env.password);
  await d.getByLabel('New password', { exact: true }).fill('second-Passw0rd');
  await d.getByLabel('Confirm new password').fill('second-Passw0rd');
  await d.getByRole('button', { name: 'Change password' }).click();
  await d.waitFor({ state: 'detached' });
  check(true, 'the password was changed (the test logs in with it)');

  // ---- PVEVMUser on /vms ----
  await page.getByRole('tab', { name: 'Permissions' }).click();
  const acl = page.getByRole('table', { name: 'Permissions' });
  await acl.waitFor();
  await page.getByRole('button', { name: 'Add permission' }).click();
  d = page.getByRole('dialog', { name: 'Add permission' });
  await d.getByRole('radio', { name: 'User' }).click();
  await d.getByLabel('Path', { exact: true }).fill('/vms');
  await d.getByLabel('User', { exact: true }).selectOption(userid);
  await d.getByLabel('Role', { exact: true }).selectOption('PVEVMUser');
  await checkSoon(() => d.getByLabel('Propagate to paths below').isChecked(), 'propagate is on by default');
  await d.getByRole('button', { name: 'Add' }).click();
  await d.waitFor({ state: 'detached' });
  await acl.locator(`tr[data-key="/vms user ${userid} PVEVMUser"]`).waitFor();
  const entries = await apiGet(page, '/access/acl');
  check(entries.some((a) => a.path === '/vms' && a.ugid === userid && a.roleid === 'PVEVMUser' && a.propagate === 1), 'the API\'s ACL has the entry');
  await shot(page, 'access-permissions');

  // ---- an API token, and its secret once ----
  await page.getByRole('tab', { name: 'API Tokens' }).click();
  await page.getByRole('table', { name: 'API tokens' }).waitFor();
  await page.getByRole('button', { name: 'Add token' }).click();
  d = page.getByRole('dialog', { name: 'Add API token' });
  await d.getByLabel('User', { exact: true }).selectOption(userid);
  await d.getByLabel('Token name', { exact: true }).fill(token);
  await d.getByLabel('Comment', { exact: true }).fill('made by the UI test');
  await d.getByLabel('Privilege separation', { exact: true }).uncheck();
  await d.getByRole('button', { name: 'Add' }).click();
  const secretDialog = page.getByRole('dialog', { name: 'API token secret' });
  await secretDialog.waitFor();
  let shownId = '';
  let secret = '';
  await checkSoon(async () => (shownId = await secretDialog.getByLabel('Token ID', { exact: true }).inputValue()) === full, () => `the dialog names the token (${shownId})`);
  await checkSoon(async () => /^[0-9a-f-]{36}$/.test((secret = await secretDialog.getByLabel('Secret', { exact: true }).inputValue())), 'the secret is shown (a UUID)');
  await checkSoon(async () => (await secretDialog.getByRole('note').textContent()).includes('only this once'), 'with the warning that it is shown once');
  await secretDialog.getByRole('button', { name: 'Copy secret' }).click();
  await shot(page, 'access-token-secret');
  await secretDialog.getByRole('button', { name: 'Done' }).click();
  const trow = page.getByRole('table', { name: 'API tokens' }).locator(`tr[data-key="${full}"]`);
  await trow.waitFor();
  await checkSoon(async () => (await trow.textContent()).includes('made by the UI test'), 'the token is listed with its comment');
  // the row may have been listed before Done was clicked: poll until the dialog's re-render
  await checkSoon(async () => !(await page.content()).includes(secret), 'the secret is gone from the page once the dialog is closed');
  console.log(`TOKEN_SECRET=${secret}`);

  // ---- roles, in dark mode ----
  await page.getByRole('tab', { name: 'Roles' }).click();
  await page.getByRole('table', { name: 'Roles' }).getByText('PVEVMUser').waitFor();
  await chooseTheme(page, 'dark');
  await checkSoon(async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark', 'dark mode');
  await shot(page, 'access-roles-dark');
  await page.getByRole('tab', { name: 'API Tokens' }).click();
  await trow.waitFor();
  await shot(page, 'access-tokens-dark');
  await page.getByRole('button', { name: `Edit ${full}` }).click();
  await shot(page, 'access-token-edit-dark');
  await page.getByRole('dialog', { name: `Edit token ${full}` }).getByRole('button', { name: 'Cancel' }).click();

  // ---- a phone, still dark ----
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('tab', { name: 'Users' }).click();
  await page.getByRole('table', { name: 'Users' }).locator(`tr[data-key="${userid}"]`).waitFor();
  await shot(page, 'access-users-phone-dark');
  await checkNoSideScroll(page, (px) => `the content does not scroll sideways on a phone (${px}px)`);
  await page.getByRole('button', { name: 'Add user' }).click();
  await shot(page, 'access-add-user-phone-dark');
}

async function remove(page) {
  await login(page);
  await page.goto(`${env.url}/#/access/tokens`);
  const trow = page.getByRole('table', { name: 'API tokens' }).locator(`tr[data-key="${full}"]`);
  await trow.waitFor();
  await page.getByRole('button', { name: `Remove ${full}` }).click();
  await confirm(page, 'Remove API token');
  await trow.waitFor({ state: 'detached' });
  const u = (await apiGet(page, '/access/users?full=1')).find((x) => x.userid === userid);
  check(u && (u.tokens ?? []).length === 0, 'the API lists no token for the user');

  await page.getByRole('tab', { name: 'Users' }).click();
  const row = page.getByRole('table', { name: 'Users' }).locator(`tr[data-key="${userid}"]`);
  await row.waitFor();
  await page.getByRole('button', { name: `Remove ${userid}` }).click();
  await confirm(page, 'Remove user');
  await row.waitFor({ state: 'detached' });
  check(!(await apiGet(page, '/access/users')).some((x) => x.userid === userid), 'the API no longer lists the user');
}

await scenario(`access-${step}`, step === 'remove' ? remove : create);
