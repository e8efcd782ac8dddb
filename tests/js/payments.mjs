// A citizen pays a fee in the browser (issue 14, PORTAL-9): from the draft the Rust test left
// ready to sign, the pay page, the hand-over form POSTed to the payment provider (the page's
// policy must let it go there), the provider's page, back to the portal's return page, and the
// cabinet's payment history; each of the portal's pages audited at both widths.

import { expect, newPage, scenario } from './browser.mjs';
import { account, signIn } from './portal.mjs';

/** Presses the button whose text starts with `text` and waits for the next page. */
async function press(page, text) {
  const button = page.getByRole('button', { name: text }).first();
  expect((await button.count()) > 0, `${page.url()} has no button «${text}»`);
  await Promise.all([page.waitForNavigation(), button.click()]);
  await page.waitForLoadState();
}

const here = (page) => new URL(page.url()).pathname;

await scenario('payments', async (browser, report) => {
  const { page } = await newPage(browser, report);
  await signIn(page, report, account(), '/cabinet');

  report.step('find the draft in the cabinet');
  const href = await page.locator('a[href^="/drafts/"]').first().getAttribute('href');
  const draft = href?.match(/^\/drafts\/([^/]+)/)?.[1];
  expect(draft, `the cabinet lists no draft: ${href}`);

  report.step('the sign page sends the applicant to pay first');
  await page.goto(new URL(`/drafts/${draft}/sign`, page.url()).toString());
  expect(here(page) === `/drafts/${draft}/pay`, `the sign page led to ${page.url()}`);
  await report.audit(page, 'the pay page');

  report.step('hand over to the provider');
  await press(page, 'Перейти до оплати');
  await report.audit(page, 'the hand-over page');
  const portal = new URL(page.url()).origin;
  await press(page, 'Оплатити');
  expect(new URL(page.url()).origin !== portal, `the hand-over stayed at ${page.url()}`);

  report.step('pay at the provider');
  await press(page, 'Сплатити');
  expect(new URL(page.url()).origin === portal, `the provider left the browser at ${page.url()}`);
  expect(/\/payments\/[^/]+\/return$/.test(here(page)), `the provider sent the browser to ${page.url()}`);
  const heading = await page.locator('h1').textContent();
  expect(heading.includes('Сплачено'), `the return page says «${heading}»`);
  await report.audit(page, 'the return page');

  report.step('the payment history');
  await page.goto(`${portal}/cabinet/payments`);
  const history = await page.locator('main').textContent();
  expect(history.includes('Сплачено'), `the history does not show the payment: ${history}`);
  await report.audit(page, 'the payment history');

  report.step('the sign page, paid');
  await page.goto(`${portal}/drafts/${draft}/sign`);
  expect(here(page) === `/drafts/${draft}/sign`, `the paid draft's sign page led to ${page.url()}`);
});
