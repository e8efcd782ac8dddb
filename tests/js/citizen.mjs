// A citizen applies for material aid (issue 13, Proof): signs in at the test provider, fills
// `material-aid` page by page with a family member and the attachments, meets each kind of
// error, leaves, resumes the draft in a new browser context, checks the answers, signs the
// application with their own key, submits it and finds it in the cabinet.


import { baseUrl, expect, newPage, scenario } from './browser.mjs';
import { account, expectErrors, sign, signIn } from './portal.mjs';

const SERVICE = 'material-aid';
const IBAN = 'UA213223130000026007233566001';
const MEMBER = 'Коваленко Остап Петрович';

/** Presses the page's button whose text starts with `text` and waits for the next page. */
async function press(page, text) {
  const button = page.locator('main').getByRole('button', { name: text }).first();
  expect((await button.count()) > 0, `${page.url()} has no button «${text}»`);
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response;
}

/** The path the browser is on. */
const here = (page) => new URL(page.url()).pathname;

await scenario('citizen', async (browser, report) => {
  const base = baseUrl();
  const citizen = account();
  let { context, page } = await newPage(browser, report);

  await signIn(page, report, citizen, `/services/${SERVICE}`);
  expect(here(page) === `/services/${SERVICE}`, `signing in came back to ${page.url()}`);
  await report.audit(page, 'the e-service page, signed in');

  report.step('start an application');
  await press(page, 'Подати заяву онлайн');
  const draftPath = here(page).match(/^\/drafts\/[^/]+/)?.[0];
  expect(draftPath, `starting the application led to ${page.url()}, not to a draft's page`);
  await report.audit(page, 'the first page');

  report.step('the first page sent empty: the required fields');
  for (const name of ['birth_date', 'phone']) await page.locator(`[name="f.${name}"]`).fill('');
  await press(page, 'Зберегти і продовжити');
  await expectErrors(page, ['f-birth_date', 'f-phone', 'f-district'], 'an empty first page');
  await report.audit(page, 'the first page with errors');

  report.step('a malformed phone and e-mail');
  await page.locator('[name="f.birth_date"]').fill('1984-03-15');
  await page.locator('[name="f.phone"]').fill('дзвоніть увечері');
  await page.locator('[name="f.email"]').fill('olena.at.example');
  await page.locator('[name="f.district"]').selectOption({ index: 1 });
  await press(page, 'Зберегти і продовжити');
  await expectErrors(page, ['f-phone', 'f-email'], 'a malformed phone and e-mail');
  await report.audit(page, 'the first page with format errors');

  report.step('the first page, right');
  await page.locator('[name="f.phone"]').fill('+380671234567');
  await page.locator('[name="f.email"]').fill('olena@example.com');
  await press(page, 'Зберегти і продовжити');
  expect(here(page).endsWith('/pages/reason'), `the first page led to ${page.url()}`);

  report.step('the reason: a rule and a maximum');
  await page.locator('[name="f.reason"]').selectOption('09');
  await page.locator('[name="f.event_date"]').fill('2026-11-02');
  await page.locator('[name="f.requested_amount"]').fill('75000');
  await press(page, 'Зберегти і продовжити');
  await expectErrors(page, ['f-reason_details', 'f-requested_amount'], 'a rule and a maximum');
  await report.audit(page, 'the reason page with errors');

  report.step('the reason, right');
  await page.locator('[name="f.reason_details"]').fill('Після обстрілу пошкоджено вікна і дах квартири, потрібен ремонт.');
  await page.locator('[name="f.requested_amount"]').fill('12000');
  await press(page, 'Зберегти і продовжити');
  expect(here(page).endsWith('/pages/household'), `the reason page led to ${page.url()}`);

  report.step('the household: a pattern and a family member left incomplete');
  await page.locator('[name="f.monthly_income"]').fill('9800');
  await page.locator('[name="f.heat_account"]').fill('12-34');
  await press(page, 'Додати ще');
  await report.audit(page, 'the household page with a family member');
  await press(page, 'Зберегти і продовжити');
  await expectErrors(page, ['f-heat_account', 'g-family-0-member_name', 'g-family-0-member_birth_date'], 'a pattern and an incomplete member');
  await report.audit(page, 'the household page with errors');

  report.step('the household, right, with one family member');
  await page.locator('[name="f.heat_account"]').fill('');
  const member = (field) => page.locator(`[name="g.family.0.${field}"]`);
  await member('member_name').fill(MEMBER);
  await member('member_birth_date').fill('2012-05-30');
  await member('member_relation').selectOption({ index: 1 });
  await press(page, 'Зберегти і продовжити');
  expect(here(page).endsWith('/pages/payment'), `the household page led to ${page.url()}`);

  report.step('the payment details: a wrong IBAN');
  await page.locator('[name="f.iban"]').fill('UA12 3456');
  await press(page, 'Зберегти і продовжити');
  await expectErrors(page, ['f-iban'], 'a wrong IBAN');
  await report.audit(page, 'the payment page with errors');
  await page.locator('[name="f.iban"]').fill(IBAN);
  await press(page, 'Зберегти і продовжити');

  report.step('the attachments: a program disguised as a PDF is refused');
  expect(here(page).endsWith('/attachments'), `the last page led to ${page.url()}, not to the attachments`);
  await report.audit(page, 'the attachments page');
  const section = (i) => page.locator('main section.attachment').nth(i);
  await section(0).locator('input[type=file]').setInputFiles({
    name: 'dovidka.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00'), Buffer.alloc(512)]),
  });
  await Promise.all([page.waitForNavigation(), section(0).getByRole('button', { name: 'Додати файл' }).click()]);
  const refused = await expectErrors(page, [], 'a disguised program');
  expect(refused.length === 1, `a disguised program gave ${refused.length} errors`);
  await report.audit(page, 'the attachments page with an error');

  report.step('the attachments: both documents');
  for (const [index, name, mimeType, buffer] of [
    [0, 'dovidka-pro-dohody.pdf', 'application/pdf', pdf('Dovidka pro dohody')],
    [1, 'akt-obstezhennia.png', 'image/png', png()],
  ]) {
    await section(index).locator('input[type=file]').setInputFiles({ name, mimeType, buffer });
    await Promise.all([page.waitForNavigation(), section(index).getByRole('button', { name: 'Додати файл' }).click()]);
    expect(
      (await page.locator('main').textContent()).includes(name),
      `the attachments page does not list ${name} after its upload`,
    );
  }
  await report.audit(page, 'the attachments page with both documents');

  await Promise.all([page.waitForNavigation(), page.locator('main a.button', { hasText: 'Продовжити' }).click()]);
  expect(here(page) === `${draftPath}/check`, `the attachments page led to ${page.url()}`);

  report.step('leave, and resume the draft in a new browser context');
  await context.close();
  ({ context, page } = await newPage(browser, report));
  await signIn(page, report, citizen, '/cabinet');
  await report.audit(page, 'the cabinet with a draft');
  const resume = page.locator(`main a[href^="${draftPath}"]`).first();
  expect((await resume.count()) > 0, `the cabinet does not link to the draft ${draftPath}`);
  await Promise.all([page.waitForNavigation(), resume.click()]);
  expect(here(page).startsWith(draftPath), `resuming the draft led to ${page.url()}`);

  report.step('check the answers');
  await page.goto(`${base}${draftPath}/check`);
  const answers = await page.locator('main').textContent();
  for (const value of [IBAN, MEMBER, 'olena@example.com', 'dovidka-pro-dohody.pdf', 'akt-obstezhennia.png']) {
    expect(answers.includes(value), `the check-your-answers page does not show ${value}`);
  }
  await report.audit(page, 'check your answers');
  for (const box of await page.locator('main input[type=checkbox]').all()) await box.check();
  await press(page, 'Перейти до підписання');
  expect(here(page) === `${draftPath}/sign`, `check your answers led to ${page.url()}`);
  await report.audit(page, 'the signing page');

  report.step('a signature over other bytes is refused');
  const document = await context.request.get(`${base}${draftPath}/application.json`);
  expect(document.ok(), `${draftPath}/application.json answered ${document.status()}`);
  const bytes = await document.body();
  const wrong = sign(Buffer.concat([bytes, Buffer.from(' ')]));
  await page.locator('input[type=file][name=signature]').setInputFiles(wrong.path);
  await press(page, 'Подати заяву');
  await expectErrors(page, [], 'a signature over other bytes');
  await report.audit(page, 'the signing page with an error');

  report.step('sign and submit');
  const signature = sign(bytes);
  await page.locator('input[type=file][name=signature]').setInputFiles(signature.path);
  await press(page, 'Подати заяву');
  expect(/^\/cabinet\/applications\/[^/]+$/.test(here(page)), `signing led to ${page.url()}`);
  const application = here(page);
  await report.audit(page, 'the application in the cabinet');

  report.step('the cabinet lists the application, no longer as a draft');
  await page.goto(`${base}/cabinet`);
  const cabinet = page.locator('main');
  expect(
    (await cabinet.locator(`a[href="${application}"]`).count()) > 0,
    'the cabinet does not link to the submitted application',
  );
  expect(
    (await cabinet.locator(`a[href^="${draftPath}"]`).count()) === 0,
    'the cabinet still offers the submitted draft',
  );
  await report.audit(page, 'the cabinet with the application');

  report.step('the other pages of the cabinet');
  await page.goto(`${base}${application}`);
  const withdraw = page.locator(`main a[href="${application}/withdraw"]`);
  if ((await withdraw.count()) > 0) {
    await Promise.all([page.waitForNavigation(), withdraw.click()]);
    await report.audit(page, 'the withdrawal confirmation');
  }
  const requests = await page.goto(`${base}/cabinet/data-requests`);
  expect(requests.status() === 200, `/cabinet/data-requests answered ${requests.status()}`);
  await report.audit(page, 'who asked for my data');

  report.step('a second draft started and deleted');
  await page.goto(`${base}/services/residence-extract`);
  await press(page, 'Подати заяву онлайн');
  const second = here(page).match(/^\/drafts\/[^/]+/)?.[0];
  expect(second, `starting a second application led to ${page.url()}`);
  await Promise.all([page.waitForNavigation(), page.locator('main a', { hasText: 'Видалити чернетку' }).click()]);
  await report.audit(page, 'the draft deletion confirmation');
  await press(page, 'Так, видалити чернетку');
  await report.audit(page, 'the draft deleted');
  const gone = await page.goto(`${base}${second}/check`);
  expect(gone.status() === 404, `the deleted draft's page answered ${gone.status()}`);

  report.step('sign out');
  await Promise.all([page.waitForNavigation(), page.locator('header').getByRole('button', { name: 'Вийти' }).click()]);
  await report.audit(page, 'signed out');
  const after = await context.request.get(`${base}/cabinet`, { maxRedirects: 0 });
  expect(
    after.status() === 303 && after.headers().location?.startsWith('/sign-in'),
    `the cabinet answered ${after.status()} (${after.headers().location}) after signing out`,
  );
});

/** A one-page PDF with `text` (what an income statement scan looks like to the server). */
function pdf(text) {
  const body = `BT /F1 12 Tf 72 720 Td (${text.replace(/[^ -~]/g, '?')}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${body.length} >>\nstream\n${body}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** A 1×1 PNG. */
function png() {
  return Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==',
    'base64',
  );
}

