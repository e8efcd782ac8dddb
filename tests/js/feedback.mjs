// What citizens tell the city (PORTAL-11): a visitor writes to the administrator from an
// e-service page's footer, meets the form's errors and sends it; opens the polls; then signs in
// and answers the park poll, first without choosing. Every page is audited at both widths.

import { baseUrl, expect, newPage, scenario } from './browser.mjs';
import { account, expectErrors, signIn } from './portal.mjs';

const POLL = '/polls/park-renewal';

/** Clicks the main content's button named `name` and waits for the next page. */
async function press(page, name) {
  const button = page.locator('main').getByRole('button', { name }).first();
  expect((await button.count()) > 0, `${page.url()} has no button «${name}»`);
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response;
}

await scenario('feedback', async (browser, report) => {
  const base = baseUrl();
  let { page } = await newPage(browser, report);

  report.step('the footer of an e-service page leads to the feedback form');
  await page.goto(`${base}/services/water-no-debt`);
  await Promise.all([
    page.waitForNavigation(),
    page.locator('footer').getByRole('link', { name: "Зворотний зв'язок" }).click(),
  ]);
  expect(new URL(page.url()).pathname === '/feedback', `the footer link went to ${page.url()}`);
  const from = await page.locator('input[name=page]').getAttribute('value');
  expect(from === '/services/water-no-debt', `the form says it came from «${from}»`);
  await report.audit(page, 'the feedback form');

  report.step('an empty message names what is missing');
  const empty = await press(page, 'Надіслати');
  expect(empty.status() === 400, `an empty message answered ${empty.status()}`);
  await expectErrors(page, ['feedback-kind', 'feedback-text'], 'an empty message');
  await report.audit(page, 'the feedback form with errors');

  report.step('a proposal is sent');
  await page.getByLabel('Пропозиція').check();
  await page.getByLabel('Текст повідомлення').fill('Додайте, будь ласка, оплату карткою.');
  await page.getByLabel(/Електронна пошта для відповіді/).fill('olena@example.org');
  const sent = await press(page, 'Надіслати');
  expect(sent.status() === 200, `sending answered ${sent.status()}`);
  expect((await page.locator('h1').textContent()).includes('надіслано'), 'no thanks after sending');
  await report.audit(page, 'the message sent');

  report.step('the polls, as anyone sees them');
  await page.goto(`${base}/polls`);
  await report.audit(page, 'the polls');
  await Promise.all([page.waitForNavigation(), page.locator(`main a[href="${POLL}"]`).click()]);
  await report.audit(page, 'an open poll, not signed in');

  report.step('sign in and answer the park poll');
  ({ page } = await newPage(browser, report));
  await signIn(page, report, account(), POLL);
  expect(new URL(page.url()).pathname === POLL, `after sign-in the browser is at ${page.url()}`);
  await report.audit(page, 'the poll form');
  const none = await press(page, 'Відповісти');
  expect(none.status() === 400, `an answer without a choice answered ${none.status()}`);
  await expectErrors(page, ['choice-'], 'an answer without a choice');
  await report.audit(page, 'the poll form with an error');
  await page.getByLabel('Освітлити алеї').check();
  const answered = await press(page, 'Відповісти');
  expect(answered.status() === 200, `answering answered ${answered.status()}`);
  const said = await page.locator('main').textContent();
  expect(said.includes('Вашу відповідь враховано'), 'no thanks after answering');
  await report.audit(page, 'the poll answered');
});
