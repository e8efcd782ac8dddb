// An official handles a citizen's material-aid application (issue 14, Proof): the official signs
// in, takes the case, asks for documents; the citizen adds them; the official decides; the
// citizen downloads the sealed result, checks its seal with openssl and on the public verify
// page; a blocked official is refused at their next click. The citizen also sets up mailing.
// Every page visited is audited at 1280 px and 360 px.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { baseUrl, expect, newPage, scenario } from './browser.mjs';
import { account, expectErrors, signIn, signInOfficial } from './portal.mjs';

/** Presses the main content's button whose name starts with `text`; waits for the next page. */
async function press(page, text) {
  const button = page.locator('main').getByRole('button', { name: text }).first();
  expect((await button.count()) > 0, `${page.url()} has no button «${text}»`);
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response;
}

/** The path the browser is on. */
const here = (page) => new URL(page.url()).pathname;

/** The citizen's mailing page: a mistake shown, then the settings saved. */
async function mailing(page, report) {
  const base = baseUrl();
  report.step('the mailing page');
  await page.goto(`${base}/cabinet/subscriptions`);
  await report.audit(page, 'the mailing page');
  await page.locator('#address-other').check();
  await page.locator('#other-address').fill('not an address');
  await page.locator('#services-chosen').check();
  await press(page, 'Зберегти');
  await expectErrors(page, ['address', 'services'], 'a bad address and no service chosen');
  await report.audit(page, 'the mailing page with errors');
  await page.locator('#address-idp').check();
  await page.locator('#service-material-aid').check();
  await page.locator('#registry-registration-dept').check();
  await press(page, 'Зберегти');
  const saved = await page.locator('main').textContent();
  expect(saved.includes('Налаштування збережено'), `saving the mailing settings said: ${saved}`);
  await report.audit(page, 'the mailing page saved');
}

/** Opens the case of `number` from the inbox and returns to its page. */
async function openCase(page, report, number, label) {
  const base = baseUrl();
  await page.goto(`${base}/office`);
  await report.audit(page, `the inbox (${label})`);
  const link = page.locator('main table a', { hasText: number }).first();
  expect((await link.count()) > 0, `the inbox does not list the case № ${number}`);
  await Promise.all([page.waitForNavigation(), link.click()]);
  expect(here(page).startsWith('/office/cases/'), `the inbox's link led to ${page.url()}`);
}

/** Fires the transition whose form's button is `title`: its text areas (reason, documents
 *  asked for) say `text`, its decision fields (`decision.NAME`) take `decision[NAME]`. */
async function fire(page, title, text, decision = {}) {
  const form = page.locator('main form.transition-form', { has: page.getByRole('button', { name: title }) }).first();
  expect((await form.count()) > 0, `${page.url()} offers no «${title}»`);
  for (const area of await form.locator('textarea').all()) await area.fill(text);
  for (const input of await form.locator('input[type=text]').all()) {
    const name = (await input.getAttribute('name')).replace(/^decision\./, '');
    expect(name in decision, `«${title}» asks for ${name}, which the scenario does not give`);
    await input.fill(decision[name]);
  }
  await Promise.all([page.waitForNavigation(), form.getByRole('button', { name: title }).click()]);
}

/** `openssl cms -verify -binary -content` of the PDF with its detached seal against `ca`. */
function opensslVerifies(pdf, seal, ca) {
  const dir = mkdtempSync(join(tmpdir(), 'hromada-verify-'));
  writeFileSync(join(dir, 'result.pdf'), pdf);
  writeFileSync(join(dir, 'result.pdf.p7s'), seal);
  try {
    execFileSync('openssl', [
      'cms', '-verify', '-binary', '-content', join(dir, 'result.pdf'), '-inform', 'DER',
      '-in', join(dir, 'result.pdf.p7s'), '-CAfile', ca, '-purpose', 'any', '-out', '/dev/null',
    ], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

await scenario('office', async (browser, report) => {
  const base = baseUrl();
  const application = process.env.APPLICATION;
  const ca = process.env.CITY_CA;
  expect(application && ca, 'APPLICATION and CITY_CA are not set: the Rust test submits the application');
  const citizen = account();
  const clerk = account('CLERK');
  expect(process.env.CLERK_ID, 'CLERK_ID is not set: the Rust test names the clerk\'s spec id');
  const head = account('HEAD');
  const security = account('SECURITY');

  const { page: home } = await newPage(browser, report);
  await signIn(home, report, citizen, '/cabinet');
  await mailing(home, report);
  report.step('the application in the cabinet');
  await home.goto(`${base}/cabinet/applications/${application}`);
  const number = (await home.locator('main h1').textContent()).match(/№\s*(\S+)/)?.[1];
  expect(number, `the application's page does not show its number: ${await home.locator('main h1').textContent()}`);
  await report.audit(home, 'the application, received');

  const { page: office } = await newPage(browser, report);
  await signInOfficial(office, report, clerk);
  report.step('the clerk takes the case');
  await openCase(office, report, number, 'the clerk');
  await report.audit(office, 'the case, not taken');
  await press(office, 'Взяти справу в роботу');
  await report.audit(office, 'the case, taken');
  report.step('the clerk asks for documents');
  await fire(office, 'Запитати документи', 'Довідку з банку про рух коштів за останні 6 місяців');
  await report.audit(office, 'the case, documents asked');

  report.step('the citizen adds the documents');
  await home.goto(`${base}/cabinet/applications/${application}`);
  await report.audit(home, 'the application, documents asked');
  await Promise.all([home.waitForNavigation(), home.locator('main a', { hasText: 'Додати документи' }).click()]);
  await report.audit(home, 'the documents upload page');
  await home.locator('input[type=file]').setInputFiles({
    name: 'vypyska-z-banku.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n'),
  });
  await Promise.all([home.waitForNavigation(), home.locator('main button[type=submit]').click()]);
  expect(here(home) === `/cabinet/applications/${application}`, `the upload led to ${home.url()}`);
  await report.audit(home, 'the application, documents added');

  report.step('the clerk sends the case to the commission');
  await openCase(office, report, number, 'documents added');
  const files = await office.locator('main').textContent();
  expect(files.includes('vypyska-z-banku.pdf'), 'the case page does not list the document the citizen added');
  await report.audit(office, 'the case with the added document');
  await fire(office, 'Передати на комісію', 'Документи повні');
  await report.audit(office, 'the case, at the commission');

  report.step('the head of the department grants the aid');
  const { page: chief } = await newPage(browser, report);
  await signInOfficial(chief, report, head);
  await openCase(chief, report, number, 'the head');
  const take = chief.locator('main').getByRole('button', { name: 'Взяти справу в роботу' });
  if ((await take.count()) > 0) await press(chief, 'Взяти справу в роботу');
  await fire(chief, 'Надати послугу', 'Рішення комісії від 07.12.2026', { amount: '12000' });
  await report.audit(chief, 'the case, decided');

  report.step('the citizen downloads the sealed result');
  await home.goto(`${base}/cabinet/applications/${application}`);
  await report.audit(home, 'the application, decided');
  const pdfLinks = home.locator('main a[href$=".pdf"]');
  expect((await pdfLinks.count()) > 0, `the decided application offers no PDF: ${await home.locator('main').textContent()}`);
  const pdfLink = await pdfLinks.first().getAttribute('href');
  const sealLink = await home.locator('main a[href$=".pdf.p7s"]').first().getAttribute('href');
  expect(sealLink, 'the decided application offers no seal of its PDF');
  const pdf = await (await home.context().request.get(`${base}${pdfLink}`)).body();
  const seal = await (await home.context().request.get(`${base}${sealLink}`)).body();
  expect(pdf.subarray(0, 5).toString() === '%PDF-', 'the result is not a PDF');
  expect(opensslVerifies(pdf, seal, ca), 'openssl cms -verify refuses the result with its seal');
  const tampered = Buffer.from(pdf);
  tampered[tampered.length >> 1] ^= 1;
  expect(!opensslVerifies(tampered, seal, ca), 'openssl accepts the result with a byte changed');
  await Promise.all([home.waitForNavigation(), home.locator('main a', { hasText: 'Переглянути і надрукувати' }).first().click()]);
  await report.audit(home, 'the result, to view and print');
  const described = async (label) =>
    (await home.locator('main dt', { hasText: label }).locator('xpath=following-sibling::dd[1]').first().textContent()).trim();
  const resultNumber = await described('Реєстраційний номер');
  const code = await described('Код перевірки');

  report.step('the result verified on the public page');
  const { page: anyone } = await newPage(browser, report);
  await anyone.goto(`${base}/verify`);
  await report.audit(anyone, 'the verify page');
  await anyone.locator('#number').fill(resultNumber);
  await anyone.locator('#code').fill(code);
  await press(anyone, 'Перевірити');
  const verdict = await anyone.locator('main .verify-result').textContent();
  expect(verdict.includes('Документ дійсний'), `the verify page says: ${verdict}`);
  await report.audit(anyone, 'the verify page, valid');
  await anyone.locator('#file').setInputFiles({ name: 'rishennia.pdf', mimeType: 'application/pdf', buffer: pdf });
  await anyone.locator('#seal').setInputFiles({ name: 'rishennia.pdf.p7s', mimeType: 'application/pkcs7-signature', buffer: seal });
  await press(anyone, 'Перевірити файл');
  const byFile = await anyone.locator('main .verify-result').textContent();
  expect(byFile.includes('Документ дійсний'), `the verify page says of the file: ${byFile}`);
  await report.audit(anyone, 'the verify page, the file valid');

  report.step('the clerk is blocked and refused at the next click');
  const { page: admin } = await newPage(browser, report);
  await signInOfficial(admin, report, security);
  await admin.goto(`${base}/office/users`);
  await report.audit(admin, 'the officials\' accounts');
  await block(admin, report, process.env.CLERK_ID);
  await Promise.all([office.waitForNavigation(), office.locator('main a', { hasText: 'Повернутися до переліку справ' }).click()]);
  const refused = await office.locator('main').textContent();
  expect(refused.includes('Доступ до кабінету закрито'), `the blocked clerk's next click showed: ${refused}`);
  await report.audit(office, 'the blocked official refused');
});

/** Blocks the official `login` for good from the accounts page. */
async function block(page, report, login) {
  const change = page.locator(`main a[href="/office/users/${login}/block"]`).first();
  expect((await change.count()) > 0, `the accounts page has no link to change ${login}'s access`);
  await Promise.all([page.waitForNavigation(), change.click()]);
  await report.audit(page, 'an official\'s access');
  await page.locator('#action-block').check();
  await page.locator('#reason').fill('Службове розслідування: доступ закрито до його завершення');
  await press(page, 'Зберегти');
  const said = await page.locator('main').textContent();
  expect(said.includes('Доступ змінено'), `blocking ${login} said: ${said}`);
  await report.audit(page, 'the official blocked');
}
