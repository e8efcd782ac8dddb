// The audit itself, on a page made to fail it: an image without a text alternative, a field
// without a label, grey text on white, and a table too wide for a phone. The report must name
// each, so that a clean report elsewhere means something.

import { newPage, scenario } from './browser.mjs';

await scenario('audit-self-check', async (browser, report) => {
  const { page } = await newPage(browser, report);
  report.step('a page made to fail');
  await page.setContent(`<!DOCTYPE html><html lang="uk"><head><title>Погана сторінка</title></head>
    <body><main><h1>Погана сторінка</h1>
    <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
    <input type="text" name="nameless">
    <p style="color:#bbb">Ледве видно</p>
    <table><tr><td style="min-width:600px">Таблиця ширша за телефон</td></tr></table>
    </main></body></html>`);
  await report.audit(page, 'made to fail');
});
