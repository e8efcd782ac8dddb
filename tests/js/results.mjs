// A result in the browser: the citizen opens their application, the document's page (which
// prints as the document alone) and verifies it on the public page by number and code; a
// stranger verifies with a wrong code and with a malformed one. Each page audited at both widths.
// RESULT_APPLICATION is the application's cabinet path, RESULT_NUMBER and RESULT_CODE the
// document's number and verification code, given by the Rust test.

import { baseUrl, expect, newPage, scenario } from './browser.mjs';
import { account, expectErrors, signIn } from './portal.mjs';

await scenario('results', async (browser, report) => {
  const base = baseUrl();
  const application = process.env.RESULT_APPLICATION;
  const number = process.env.RESULT_NUMBER;
  const code = process.env.RESULT_CODE;
  expect(application && number && code, 'RESULT_APPLICATION, RESULT_NUMBER and RESULT_CODE are not set');

  const { page } = await newPage(browser, report);
  await signIn(page, report, account(), application);
  report.step('the application with its result');
  await page.goto(`${base}${application}`);
  await report.audit(page, 'the application with its result');

  report.step("the document's page");
  const view = page.locator('main a[href$="/view"]');
  expect((await view.count()) === 1, 'the application links to no document page');
  await Promise.all([page.waitForNavigation(), view.first().click()]);
  const text = await page.locator('main').textContent();
  expect(text.includes(code), `the document page does not show its code ${code}`);
  await report.audit(page, "the document's page");
  await page.emulateMedia({ media: 'print' });
  const hidden = await page.evaluate(() =>
    ['header.site-header', 'footer.site-footer', '.no-print'].every((s) =>
      [...document.querySelectorAll(s)].every((e) => getComputedStyle(e).display === 'none'),
    ),
  );
  expect(hidden, 'printed, the document page still shows the header, footer or links');
  const printed = await page.locator('article.result-document').isVisible();
  expect(printed, 'printed, the document page hides the document');
  await page.emulateMedia({ media: 'screen' });

  const stranger = (await newPage(browser, report)).page;
  report.step('anyone verifies it by number and code');
  await stranger.goto(`${base}/verify`);
  await report.audit(stranger, 'the verify form');
  await stranger.fill('#number', number);
  await stranger.fill('#code', code);
  await Promise.all([stranger.waitForNavigation(), stranger.click('main form[method=get] button[type=submit]')]);
  const verdict = await stranger.locator('.verify-result h2').textContent();
  expect(verdict.includes('Документ дійсний'), `the verify page says «${verdict}»`);
  await report.audit(stranger, 'a valid document');

  report.step('a wrong code');
  const wrong = (code[0] === 'A' ? 'B' : 'A') + code.slice(1);
  await stranger.fill('#code', wrong);
  await Promise.all([stranger.waitForNavigation(), stranger.click('main form[method=get] button[type=submit]')]);
  const notFound = await stranger.locator('.verify-result h2').textContent();
  expect(notFound.includes('Документ не знайдено'), `a wrong code reads «${notFound}»`);
  await report.audit(stranger, 'not found');

  report.step('a malformed code');
  await stranger.fill('#code', 'не код');
  await Promise.all([stranger.waitForNavigation(), stranger.click('main form[method=get] button[type=submit]')]);
  await expectErrors(stranger, ['code'], 'a malformed code');
  await report.audit(stranger, 'a malformed code');
});
