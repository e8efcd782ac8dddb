// The public pages as anyone sees them without signing in: the catalogue, a search, and every
// e-service page it links to, each audited at both widths; the skip link is the first stop of
// the keyboard and takes it to the main content.

import { baseUrl, expect, newPage, scenario } from './browser.mjs';
import { expectErrors } from './portal.mjs';

await scenario('public-pages', async (browser, report) => {
  const base = baseUrl();
  const { page } = await newPage(browser, report);

  report.step('the home page');
  const home = await page.goto(`${base}/`);
  expect(home.status() === 200, `/ answered ${home.status()}`);
  expect((await page.getAttribute('html', 'lang')) === 'uk', 'the home page is not lang="uk"');
  expect((await page.locator('h1').count()) === 1, 'the home page has no single h1');
  await report.audit(page, 'home');

  report.step('the skip link is the first Tab stop and leads to the main content');
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => ({
    text: document.activeElement.textContent.trim(),
    href: document.activeElement.getAttribute('href'),
    visible: (() => {
      const r = document.activeElement.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0;
    })(),
  }));
  expect(first.href === '#main', `the first Tab stop is ${JSON.stringify(first)}, not the skip link`);
  expect(first.visible, 'the skip link stays off-screen when it has the focus');
  await page.keyboard.press('Enter');
  const focused = await page.evaluate(() => document.activeElement.id);
  expect(focused === 'main', `Enter on the skip link focused #${focused}, not #main`);

  const services = await page.$$eval('main a[href^="/services/"]', (links) =>
    [...new Set(links.map((a) => a.getAttribute('href')))],
  );
  expect(services.length > 0, 'the catalogue links to no e-service');

  const search = page.locator('main form input[type=search], main form input[name=q]');
  if ((await search.count()) > 0) {
    report.step('a search from the home page');
    await search.first().fill('довідка');
    await search.first().press('Enter');
    await page.waitForLoadState();
    expect(new URL(page.url()).searchParams.get('q') === 'довідка', `the search went to ${page.url()}`);
    await report.audit(page, 'search');
  }

  const category = page.locator('main nav a[href*="category="]');
  if ((await category.count()) > 0) {
    report.step('a category of the catalogue');
    await page.goto(`${base}/`);
    await Promise.all([page.waitForNavigation(), category.first().click()]);
    expect((await page.locator('main a[href^="/services/"]').count()) > 0, `${page.url()} lists no e-service`);
    await report.audit(page, 'a category');
  }

  report.step('a search that finds nothing');
  await page.goto(`${base}/?q=${encodeURIComponent('космодром')}`);
  await report.audit(page, 'a search with no result');

  report.step('a filter the catalogue does not know');
  await page.goto(`${base}/?user=alien`);
  await expectErrors(page, ['user'], 'an unknown user category');
  await report.audit(page, 'a bad filter');

  for (const path of services) {
    report.step(`the e-service page ${path}`);
    const response = await page.goto(`${base}${path}`);
    expect(response.status() === 200, `${path} answered ${response.status()}`);
    expect((await page.locator('main h1').count()) === 1, `${path} has no single h1`);
    await report.audit(page, `e-service ${path}`);
  }
});
