// The pages a notice's links open, signed in to nothing (PORTAL-11): the address confirmation
// and the one-click unsubscribe, each with its button, audited at 1280 px and 360 px.

import { baseUrl, expect, newPage, scenario } from './browser.mjs';

/** Presses the main content's button `text` and waits for the next page. */
async function press(page, text) {
  const button = page.locator('main').getByRole('button', { name: text }).first();
  expect((await button.count()) > 0, `${page.url()} has no button «${text}»`);
  await Promise.all([page.waitForNavigation(), button.click()]);
}

await scenario('mailing', async (browser, report) => {
  const base = baseUrl();
  const confirm = process.env.CONFIRM_URL;
  const unsubscribe = process.env.UNSUBSCRIBE_URL;
  expect(confirm && unsubscribe, 'CONFIRM_URL and UNSUBSCRIBE_URL are not set: the Rust test reads them from the mails');
  expect(confirm.startsWith(base) && unsubscribe.startsWith(base), 'the mails link elsewhere than the portal');
  const { page } = await newPage(browser, report);

  report.step('the address confirmed from its link');
  await page.goto(confirm);
  await report.audit(page, 'confirm the address');
  await press(page, 'Підтвердити адресу');
  expect((await page.locator('h1').textContent()).includes('Адресу підтверджено'), 'the address was not confirmed');
  await report.audit(page, 'the address confirmed');

  report.step('unsubscribed from the link in a notice');
  await page.goto(unsubscribe);
  await report.audit(page, 'unsubscribe');
  await press(page, 'Відписатися');
  expect((await page.locator('h1').textContent()).includes('Ви відписалися'), 'the unsubscribe did not say it was done');
  await report.audit(page, 'unsubscribed');
});
