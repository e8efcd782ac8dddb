// The statistics as anyone sees them: the overview and every e-service's page it links to, each
// audited at both widths; every chart is an image with a name and a description, and every
// open-data link answers.

import { baseUrl, expect, newPage, scenario } from './browser.mjs';

await scenario('statistics', async (browser, report) => {
  const base = baseUrl();
  const { page } = await newPage(browser, report);

  report.step('the overview');
  const overview = await page.goto(`${base}/statistics`);
  expect(overview.status() === 200, `/statistics answered ${overview.status()}`);
  expect((await page.locator('main h1').count()) === 1, '/statistics has no single h1');
  await report.audit(page, 'statistics');

  for (const link of await page.$$eval('main a[href^="/open-data/"]', (as) => as.map((a) => a.getAttribute('href')))) {
    report.step(`the open data ${link}`);
    const answer = await page.request.get(`${base}${link}`);
    expect(answer.status() === 200, `${link} answered ${answer.status()}`);
  }

  const pages = await page.$$eval('main a[href^="/statistics/"]', (as) => [...new Set(as.map((a) => a.getAttribute('href')))]);
  expect(pages.length > 0, 'the overview links to no e-service');
  for (const path of pages) {
    report.step(`the statistics of ${path}`);
    const response = await page.goto(`${base}${path}`);
    expect(response.status() === 200, `${path} answered ${response.status()}`);
    const charts = await page.$$eval('svg[role="img"]', (svgs) => svgs.map((s) => ({
      label: (s.getAttribute('aria-labelledby') || '').split(' ').map((id) => document.getElementById(id)?.textContent || '').join(' ').trim(),
      table: !!s.closest('.stat-pair')?.querySelector('table'),
    })));
    expect(charts.length > 0, `${path} has no chart`);
    for (const c of charts) {
      expect(c.label.length > 20, `a chart of ${path} has no name and description: ${JSON.stringify(c)}`);
      expect(c.table, `a chart of ${path} has no table beside it`);
    }
    await report.audit(page, `statistics ${path}`);
  }
});
