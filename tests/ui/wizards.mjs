// The create wizards: a container from the busybox template and a VM from the test ISO,
// step by step as a user would, with a screenshot of every step. Inputs: CT_VMID, VM_VMID
// (free ids from the test's block), ISO_VOLID (the uploaded test ISO). The API checks of
// what was created are in tests/integration/test_ui_wizards.py; this prints "created ..."
// lines for them.
import { check, checkSoon, chooseTheme, env, login, scenario, shot } from './lib.mjs';

const CT = process.env.CT_VMID;
const VM = process.env.VM_VMID;
const ISO = process.env.ISO_VOLID;

async function next(page) {
  await page.getByRole('button', { name: 'Next' }).click();
}

async function onStep(page, label) {
  await page.locator('#wizard-step', { hasText: label }).waitFor();
  const cur = page.getByRole('navigation', { name: 'Wizard steps' }).locator('[aria-current="step"]');
  await checkSoon(async () => (await cur.textContent()).includes(label), `the step list marks ${label}`);
}

async function paramValue(page, key) {
  const row = page.getByRole('table', { name: 'Parameters' }).getByRole('row').filter({ has: page.getByRole('rowheader', { name: key, exact: true }) });
  return (await row.getByRole('cell').textContent()).trim();
}

await scenario('wizards', async (page) => {
  await login(page);

  // ---- container ----
  await page.getByRole('link', { name: 'Create CT' }).click();
  await onStep(page, 'General');
  // the proposal is the API's /cluster/nextid: it may fill in after the step shows
  let proposed = '';
  await checkSoon(async () => /^\d+$/.test((proposed = await page.getByLabel('CT ID', { exact: true }).inputValue())), () => `a free CT ID is proposed (${proposed})`);
  await page.getByLabel('CT ID', { exact: true }).fill(CT);
  await page.getByLabel('Hostname', { exact: true }).fill('ui-ct');
  await checkSoon(() => page.getByLabel('Unprivileged container', { exact: true }).isChecked(), 'unprivileged is the default');
  await next(page);
  await page.getByText('a password or an SSH key is needed').waitFor();
  check(true, 'Next without a password is refused next to the field');
  await page.getByLabel('Password', { exact: true }).fill('secret123');
  await page.getByLabel('Confirm password', { exact: true }).fill('secret124');
  await next(page);
  await page.getByText('the passwords differ').waitFor();
  check(true, 'differing passwords are refused');
  await page.getByLabel('Confirm password', { exact: true }).fill('secret123');
  await page.getByLabel('Tags', { exact: true }).fill('ui, test');
  await shot(page, 'wizard-ct-1-general');
  await next(page);

  await onStep(page, 'Template');
  let tmpl = '';
  await checkSoon(async () => (tmpl = await page.getByLabel('Template', { exact: true }).inputValue()).includes('busybox'), () => `the busybox template is offered (${tmpl})`);
  await shot(page, 'wizard-ct-2-template');
  await next(page);

  await onStep(page, 'Disks');
  await page.getByLabel('Disk size (GiB)', { exact: true }).fill('1');
  await shot(page, 'wizard-ct-3-disks');
  await next(page);

  await onStep(page, 'CPU');
  await page.getByLabel('Cores', { exact: true }).fill('1');
  await shot(page, 'wizard-ct-4-cpu');
  await next(page);

  await onStep(page, 'Memory');
  await page.getByLabel('Memory (MiB)', { exact: true }).fill('8');
  await next(page);
  await page.getByText('at least 16').waitFor();
  check(true, 'a memory below the minimum is refused');
  await page.getByLabel('Memory (MiB)', { exact: true }).fill('256');
  await page.getByLabel('Swap (MiB)', { exact: true }).fill('128');
  await shot(page, 'wizard-ct-5-memory');
  await next(page);

  await onStep(page, 'Network');
  await checkSoon(async () => (await page.getByLabel('Bridge', { exact: true }).inputValue()) === 'vmbr0', 'the bridge defaults to vmbr0');
  await page.getByLabel('IPv4', { exact: true }).selectOption('static');
  await page.getByLabel('IPv4/CIDR', { exact: true }).fill('10.99.0.5');
  await next(page);
  await page.getByText('an address with its prefix').waitFor();
  check(true, 'an address without a prefix is refused');
  await page.getByLabel('IPv4/CIDR', { exact: true }).fill('10.99.0.5/24');
  await page.getByLabel('Gateway (IPv4)', { exact: true }).fill('10.99.0.1');
  await shot(page, 'wizard-ct-6-network');
  await next(page);

  await onStep(page, 'DNS');
  await page.getByLabel('DNS domain', { exact: true }).fill('example.test');
  await shot(page, 'wizard-ct-7-dns');
  await next(page);

  await onStep(page, 'Confirm');
  await checkSoon(async () => (await paramValue(page, 'hostname')) === 'ui-ct', 'confirm shows the hostname');
  await checkSoon(async () => (await paramValue(page, 'memory')) === '256', 'confirm shows the memory');
  await checkSoon(async () => (await paramValue(page, 'password')).includes('•'), 'confirm masks the password');
  await checkSoon(async () => !(await page.content()).includes('secret123'), 'the password is nowhere in the page');
  await checkSoon(async () => (await paramValue(page, 'net0')) === 'name=eth0,bridge=vmbr0,ip=10.99.0.5/24,gw=10.99.0.1', 'confirm shows net0 as sent');
  await checkSoon(async () => (await paramValue(page, 'tags')) === 'ui;test', 'tags are sent ;-separated');
  await checkSoon(async () => !(await page.getByLabel('Start after created', { exact: true }).isChecked()), '"Start after created" is off by default');
  await shot(page, 'wizard-ct-8-confirm');
  await page.getByRole('button', { name: 'Finish' }).click();
  await page.waitForURL(new RegExp(`#/lxc/${CT}$`), { timeout: 120000 });
  await page.getByRole('status').filter({ hasText: `CT ${CT} created — OK` }).waitFor();
  check(true, 'the create task ended OK and the page went to the new CT');
  await page.getByRole('navigation', { name: 'Resources' }).getByText(CT, { exact: false }).first().waitFor();
  check(true, 'the tree shows the new CT');
  console.log(`created lxc ${CT}`);

  // ---- VM ----
  await page.getByRole('link', { name: 'Create VM' }).click();
  await onStep(page, 'General');
  await page.getByLabel('VM ID', { exact: true }).fill(CT);
  await page.getByLabel('Name', { exact: true }).fill('ui-vm');
  await next(page);
  await page.locator('.field-error').first().waitFor();
  let usedErr = '';
  await checkSoon(async () => (usedErr = await page.locator('.field-error').first().textContent()).length > 0, () => `a used VMID is refused: ${usedErr}`);
  await page.getByLabel('VM ID', { exact: true }).fill(VM);
  await shot(page, 'wizard-vm-1-general');
  await next(page);

  await onStep(page, 'OS');
  await page.getByLabel('ISO image', { exact: true }).selectOption(ISO);
  await checkSoon(async () => (await page.getByLabel('Guest OS', { exact: true }).inputValue()) === 'l26', 'Linux is the default guest OS');
  await shot(page, 'wizard-vm-2-os');
  await next(page);

  await onStep(page, 'System');
  await page.getByLabel('BIOS', { exact: true }).selectOption('ovmf');
  await page.getByLabel('EFI disk storage', { exact: true }).waitFor();
  check(true, 'OVMF asks for an EFI disk storage');
  await page.getByLabel('BIOS', { exact: true }).selectOption('seabios');
  await shot(page, 'wizard-vm-3-system');
  await next(page);

  await onStep(page, 'Disks');
  await page.getByLabel('Storage', { exact: true }).selectOption('local');
  await page.getByLabel('Disk size (GiB)', { exact: true }).fill('1');
  // isVisible() does not wait: the field shows once the storage choice has re-rendered the step
  await checkSoon(() => page.getByLabel('Format', { exact: true }).isVisible(), 'a dir storage offers formats');
  await shot(page, 'wizard-vm-4-disks');
  await next(page);

  await onStep(page, 'CPU');
  await shot(page, 'wizard-vm-5-cpu');
  await next(page);

  await onStep(page, 'Memory');
  await page.getByLabel('Memory (MiB)', { exact: true }).fill('256');
  await shot(page, 'wizard-vm-6-memory');
  await next(page);

  await onStep(page, 'Network');
  await checkSoon(async () => (await page.getByLabel('Model', { exact: true }).inputValue()) === 'virtio', 'VirtIO is the default NIC');
  await checkSoon(async () => !(await page.getByLabel('Firewall', { exact: true }).isChecked()), 'the firewall is off by default');
  await shot(page, 'wizard-vm-7-network');
  await next(page);

  await onStep(page, 'Confirm');
  await checkSoon(async () => (await paramValue(page, 'scsi0')) === 'local:1', 'confirm shows the disk');
  await checkSoon(async () => (await paramValue(page, 'ide2')) === `${ISO},media=cdrom`, 'confirm shows the ISO');
  await checkSoon(async () => (await paramValue(page, 'memory')) === '256', 'confirm shows the memory');
  await checkSoon(async () => (await paramValue(page, 'net0')) === 'virtio,bridge=vmbr0', 'confirm shows net0');
  await shot(page, 'wizard-vm-8-confirm');
  await page.getByRole('button', { name: 'Finish' }).click();
  await page.waitForURL(new RegExp(`#/qemu/${VM}$`), { timeout: 180000 });
  await page.getByRole('status').filter({ hasText: `VM ${VM} created — OK` }).waitFor();
  check(true, 'the VM create task ended OK');
  console.log(`created qemu ${VM}`);

  // its Hardware tab: the disk grows through Resize (a task)
  await page.getByRole('tab', { name: 'Hardware' }).click();
  const disk = page.locator('tr[data-key="scsi0"]');
  await disk.waitFor();
  await checkSoon(async () => (await disk.textContent()).includes('size=1G'), 'the hardware tab shows the 1 GiB disk');
  await page.getByRole('button', { name: 'Resize Hard disk (scsi0)' }).click();
  const d = page.getByRole('dialog');
  await d.getByLabel('Size increment (GiB)', { exact: true }).fill('1');
  await d.getByRole('button', { name: 'Resize' }).click();
  await d.waitFor({ state: 'detached', timeout: 60000 });
  await disk.filter({ hasText: 'size=2G' }).waitFor();
  check(true, 'resize grew the disk to 2 GiB');
  await shot(page, 'edit-vm-hardware');

  // the phone layout of a wizard step, in dark mode
  await page.setViewportSize({ width: 390, height: 844 });
  await chooseTheme(page, 'dark');
  await page.getByRole('link', { name: 'Create CT' }).click();
  await onStep(page, 'General');
  await shot(page, 'wizard-ct-phone-dark');
  await chooseTheme(page, 'system');
});
