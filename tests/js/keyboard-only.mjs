// One whole application with the keyboard alone (issue 13, Proof): the citizen, signed in,
// applies for the water-debt certificate from its e-service page to the cabinet with Tab,
// Shift+Tab, typing, the arrow keys, Space and Enter; no click after signing in.

import { baseUrl, expect, newPage, scenario } from './browser.mjs';
import { chooseIn, focused, pressButton, tabTo, typeInto } from './keyboard.mjs';
import { account, expectErrors, sign, signIn } from './portal.mjs';

const SERVICE = 'water-no-debt';
const ACCOUNT = process.env.WATER_ACCOUNT || '10000001';

const here = (page) => new URL(page.url()).pathname;

await scenario('keyboard-only', async (browser, report) => {
  const base = baseUrl();
  const { context, page } = await newPage(browser, report);
  await signIn(page, report, account(), `/services/${SERVICE}`);

  report.step('start the application from the e-service page');
  await pressButton(page, 'Подати заяву онлайн');
  const draftPath = here(page).match(/^\/drafts\/[^/]+/)?.[0];
  expect(draftPath, `starting the application led to ${page.url()}`);

  report.step('a malformed account number, then the right one');
  await typeInto(page, 'f.account_number', '1234');
  await pressButton(page, 'Зберегти і продовжити');
  await expectErrors(page, ['f-account_number'], 'a malformed account number');
  await report.audit(page, 'keyboard: the account page with an error');
  const link = await tabTo(page, (f) => f.tag === 'a' && f.href === '#f-account_number', 'the error link');
  expect(link, 'the error summary links to the account number');
  await page.keyboard.press('Enter');
  const target = await focused(page);
  expect(target.name === 'f.account_number', `the error link moved the focus to ${JSON.stringify(target)}`);
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.type('10000099');
  await pressButton(page, 'Зберегти і продовжити');

  report.step('an account the water utility does not know: the cross-check refuses it');
  const refused = await expectErrors(page, [], 'an unknown account');
  expect(
    refused.some((e) => e.text.includes('не є власником')),
    `the cross-check's message is not shown: ${JSON.stringify(refused)}`,
  );
  await report.audit(page, 'keyboard: the account page with a cross-check refusal');
  await typeInto(page, 'f.account_number', ACCOUNT);
  await pressButton(page, 'Зберегти і продовжити');
  if (here(page).endsWith('/pages/account')) {
    report.step('the holder name filled from the water utility, shown before going on');
    const holder = await page.locator('[name="f.holder_name"]').inputValue();
    expect(holder.trim() !== '', 'the account page came back without the holder filled in');
    await report.audit(page, 'keyboard: the account page with the prefilled holder');
    await pressButton(page, 'Зберегти і продовжити');
  }
  expect(here(page).endsWith('/pages/purpose'), `the account page led to ${page.url()}`);

  report.step('the purpose: typed, then corrected with Shift+Tab');
  await chooseIn(page, 'f.purpose', '04');
  await typeInto(page, 'f.email', 'olena@example.com');
  await tabTo(page, (f) => f.name === 'f.purpose', 'the purpose, backwards', { backwards: true });
  for (let i = 0; i < 10 && (await focused(page)).value !== '02'; i++) {
    await page.keyboard.press('ArrowUp');
  }
  expect((await focused(page)).value === '02', 'the arrow keys did not choose another purpose');
  await pressButton(page, 'Зберегти і продовжити');
  await report.audit(page, 'keyboard: after the last page');

  report.step('check the answers, consent and declaration with Space');
  if (!here(page).endsWith('/check')) {
    expect(here(page).endsWith('/attachments'), `the last page led to ${page.url()}`);
    await pressButton(page, 'Продовжити');
  }
  expect(here(page) === `${draftPath}/check`, `the form led to ${page.url()}, not to check your answers`);
  const boxes = await page.$$eval('main input[type=checkbox]', (bs) => bs.map((b) => b.name));
  for (const name of boxes) {
    await tabTo(page, (f) => f.name === name, `the checkbox ${name}`);
    await page.keyboard.press('Space');
    expect((await focused(page)).checked, `Space did not tick ${name}`);
  }
  await pressButton(page, 'Перейти до підписання');
  expect(here(page) === `${draftPath}/sign`, `check your answers led to ${page.url()}`);

  report.step('sign: the file chosen from the keyboard');
  const document = await context.request.get(`${base}${draftPath}/application.json`);
  expect(document.ok(), `${draftPath}/application.json answered ${document.status()}`);
  const signature = sign(await document.body());
  await tabTo(page, (f) => f.tag === 'input' && f.type === 'file', 'the signature file');
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
  await chooser.setFiles(signature.path);
  await pressButton(page, 'Подати заяву');
  expect(/^\/cabinet\/applications\/[^/]+$/.test(here(page)), `signing led to ${page.url()}`);

  report.step('the certificate appears in the cabinet (automatic mode)');
  let found = false;
  for (let i = 0; i < 30 && !found; i++) {
    found = (await page.locator('main a[href*="/documents/"]').count()) > 0;
    if (!found) {
      await page.waitForTimeout(1000);
      await Promise.all([page.waitForNavigation(), page.keyboard.press('F5')]);
    }
  }
  expect(found, 'the water certificate did not appear in the cabinet within 30 s');
  await report.audit(page, 'keyboard: the application with its certificate');
});
