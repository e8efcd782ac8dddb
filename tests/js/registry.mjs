// The document registry in a browser (issue 15, REG-3): the registrar registers an incoming
// letter with its scan, the head resolves it to an executor and a co-executor, the executor
// reports it executed, it is found by a word in another case, its history lists the changes, the
// archivist sees the archive; an official with no documents role is refused. Every page visited
// is audited at 1280 px and 360 px; the main forms are completed with the keyboard alone.

import { baseUrl, expect, newPage, scenario } from './browser.mjs';
import { check, chooseIn, pressButton, typeDate, typeInto } from './keyboard.mjs';
import { signInOfficial } from './portal.mjs';

/** The letter the registrar registers: its summary's words are searched for in other forms. */
const LETTER = {
  summary: 'Звернення ОСББ «Світанок» щодо ремонту покрівлі будинку на вулиці Соборній, 12',
  correspondent: 'ОСББ «Світанок»',
  number: '45/11',
  date: '2026-12-01',
  pages: '2',
};
/** A scanned page as the registrar's scanner would send it. */
const SCAN = Buffer.from(
  '%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n',
);

/** The officials the Rust test names in `OFFICIALS` (JSON: role → {login, password, id}). */
function officials() {
  const text = process.env.OFFICIALS;
  expect(text, 'OFFICIALS is not set: the Rust test names the registrar, the head, the executors…');
  return JSON.parse(text);
}

/** The main content's text, its white space folded. */
const said = async (page) => (await page.locator('main').textContent()).replace(/\s+/g, ' ');

/** The path the browser is on. */
const here = (page) => new URL(page.url()).pathname;

/** Follows the main content's link whose text is (or, given a RegExp, matches) `text`. */
async function follow(page, text) {
  const link = page.locator('main').getByRole('link', { name: text }).first();
  expect((await link.count()) > 0, `${page.url()} has no link «${text}»`);
  await Promise.all([page.waitForNavigation(), link.click()]);
}

/** Signs `who` in straight to `/registry` in a fresh context; its home page audited. */
async function registryOf(browser, report, who, label) {
  const { page } = await newPage(browser, report);
  await signInOfficial(page, report, who, '/registry');
  await report.audit(page, `the registry home (${label})`);
  return page;
}

/** Expects the registry's home to offer exactly the functions named in `offered` among all. */
async function expectFunctions(page, offered, label) {
  const all = ['Зареєструвати документ', 'Мої доручення', 'Резолюції', 'Контроль виконання', 'Архів'];
  const links = await page.locator('main .service-list a').allTextContents();
  for (const name of all) {
    const shown = links.some((l) => l.trim() === name);
    expect(shown === offered.includes(name), `the registry home of ${label} ${shown ? 'offers' : 'lacks'} «${name}»: ${JSON.stringify(links)}`);
  }
}

/** The registrar makes the letter's card with the keyboard, adds its scan, registers it; the
 *  card's id and number. */
async function register(page, report) {
  report.step('the registrar registers an incoming letter with its scan');
  await follow(page, 'Зареєструвати документ');
  await report.audit(page, 'the journals and kinds to register in');
  const letter = page.locator('main a[href*="journal=council-incoming"][href*="kind=letter"]').first();
  expect((await letter.count()) > 0, `/registry/cards/new offers no letter in the incoming journal: ${await said(page)}`);
  await Promise.all([page.waitForNavigation(), letter.click()]);
  await report.audit(page, 'a new letter\'s card');
  await typeInto(page, 'summary', LETTER.summary);
  await typeInto(page, 'correspondent', LETTER.correspondent);
  await typeInto(page, 'correspondent_number', LETTER.number);
  await typeDate(page, 'correspondent_date', LETTER.date);
  await typeInto(page, 'pages', LETTER.pages);
  await check(page, 'paper', '1');
  await pressButton(page, 'Створити картку');
  const id = here(page).match(/^\/registry\/cards\/(card-[0-9a-f]{32})$/)?.[1];
  expect(id, `creating the card led to ${page.url()}: ${await said(page)}`);
  await report.audit(page, 'the letter\'s draft card');

  await check(page, 'role', 'scan');
  await page.locator('main input[type=file]').setInputFiles({ name: 'lyst-osbb-svitanok.pdf', mimeType: 'application/pdf', buffer: SCAN });
  await pressButton(page, 'Додати файл');
  expect((await said(page)).includes('lyst-osbb-svitanok.pdf'), `the card does not list the scan: ${await said(page)}`);
  await report.audit(page, 'the draft card with its scan');
  await pressButton(page, 'Зареєструвати');
  const number = (await page.locator('#reg-number').textContent().catch(() => '')).trim();
  expect(/^\d+\/01-2026$/.test(number), `the registered card shows the number «${number}»: ${await said(page)}`);
  await report.audit(page, 'the registered card');
  return { id, number };
}

/** The head writes a resolution with the keyboard: the executor main, the co-executor with
 *  them, ten days to do it. */
async function resolve(page, report, card, people) {
  report.step('the head writes a resolution to the executor and the co-executor');
  await page.goto(`${baseUrl()}/registry/cards/${card.id}`);
  await report.audit(page, 'the registered card (the head)');
  await follow(page, 'Резолюції і виконання');
  expect(here(page) === `/registry/cards/${card.id}/resolutions`, `the card's link led to ${page.url()}`);
  await report.audit(page, 'the resolutions, none yet');
  await chooseIn(page, 'main', people.executor.id);
  await check(page, 'co', people.coexecutor.id);
  await typeInto(page, 'task', 'Обстежити покрівлю і підготувати відповідь ОСББ');
  await typeInto(page, 'days', '10');
  await pressButton(page, 'Накласти резолюцію');
  const tree = page.locator('main .resolution-tree > li');
  expect((await tree.count()) === 1, `the resolution tree after the resolution: ${await said(page)}`);
  const text = (await tree.first().textContent()).replace(/\s+/g, ' ');
  expect(text.includes('Обстежити покрівлю'), `the resolution does not show its task: ${text}`);
  await report.audit(page, 'the resolutions, one written');
}

/** The executor finds the task in their list and reports it executed with the keyboard. */
async function execute(page, report, card) {
  report.step('the executor reports the task executed');
  await page.goto(`${baseUrl()}/registry`);
  const count = await page.locator('main .registry-counts a[href="/registry/tasks"]').first().textContent();
  expect(/^\s*1\s/.test(count), `the executor's home counts «${count.trim()}» tasks, not one`);
  await report.audit(page, 'the registry home with a task (the executor)');
  await follow(page, /Мої доручення/);
  await report.audit(page, 'the executor\'s tasks');
  await follow(page, `№ ${card.number}`);
  expect(here(page).startsWith('/registry/tasks/'), `the task's link led to ${page.url()}`);
  await report.audit(page, 'the task, open');
  if ((await page.locator('main').getByRole('button', { name: 'Взяти до виконання' }).count()) > 0) {
    await pressButton(page, 'Взяти до виконання');
    await report.audit(page, 'the task, taken');
  }
  await typeInto(page, 'mark', 'Покрівлю обстежено 05.12.2026, відповідь ОСББ надіслано листом');
  await pressButton(page, 'Позначити виконаним');
  const done = page.locator('main').getByRole('button', { name: 'Позначити виконаним' });
  expect((await done.count()) === 0, `the task still asks to be executed: ${await said(page)}`);
  await report.audit(page, 'the task, executed');
}

/** The registrar finds the letter by a word in another case than its summary's, with the
 *  keyboard; the index is written by a runner, so the search is asked again for up to 30 s. */
async function search(page, report, card) {
  report.step('the letter is found by a word in another case');
  await page.goto(`${baseUrl()}/registry`);
  await follow(page, 'Пошук документів');
  await report.audit(page, 'the search page');
  const until = Date.now() + 30_000;
  for (;;) {
    await typeInto(page, 'q', 'покрівля');
    await pressButton(page, 'Шукати');
    const found = page.locator('main table a', { hasText: card.number });
    if ((await found.count()) > 0) break;
    expect(Date.now() < until, `searching «покрівля» never found № ${card.number}: ${await said(page)}`);
    await page.waitForTimeout(500);
  }
  await report.audit(page, 'the search page with the letter found');
}

/** The card's history, from its page: every change with who made it, the chain checked. */
async function history(page, report, card) {
  report.step('the history lists the changes');
  await page.goto(`${baseUrl()}/registry/cards/${card.id}`);
  await follow(page, 'Історія змін картки');
  expect(here(page) === `/registry/cards/${card.id}/history`, `the card's link led to ${page.url()}`);
  const events = await page.locator('main ol.history > li').allTextContents();
  expect(events.length >= 4, `the history lists ${events.length} changes: ${JSON.stringify(events)}`);
  const checked = await page.locator('#chain-check').textContent();
  expect(checked.includes('Цілісність підтверджено'), `the history's chain check says: ${checked}`);
  await report.audit(page, 'the card\'s history');
}

/** The archivist's archive page offers the executed letter for transfer. */
async function archive(page, report, card) {
  report.step('the archivist sees the archive');
  await page.goto(`${baseUrl()}/registry`);
  await follow(page, 'Архів');
  expect(here(page) === '/registry/archive', `the archive's link led to ${page.url()}`);
  const text = await said(page);
  expect(text.includes(`№ ${card.number}`), `the archive does not offer the executed letter № ${card.number}: ${text}`);
  await report.audit(page, 'the archive');
}

/** The paper letter's card shows its QR code, an SVG carrying its number. */
async function qrCode(page, report, card) {
  report.step('the paper letter\'s card shows its QR code');
  await page.goto(`${baseUrl()}/registry/cards/${card.id}`);
  const qr = page.locator('main img[src$="/qr.svg"]');
  expect((await qr.count()) === 1, 'the paper letter\'s card shows no QR code');
  const alt = await qr.getAttribute('alt');
  expect(alt && alt.includes(card.number), `the QR code's text alternative «${alt}» does not name the number`);
  const svg = await page.context().request.get(`${baseUrl()}${await qr.getAttribute('src')}`);
  expect(svg.ok() && (await svg.text()).includes('<svg'), `the QR code answers ${svg.status()}`);
  await report.audit(page, 'the registered card with its QR code');
}

await scenario('registry', async (browser, report) => {
  const people = officials();

  report.step('an official without a documents role is refused the registry');
  const { page: guard } = await newPage(browser, report);
  await signInOfficial(guard, report, people.security, '/registry');
  const refused = await said(guard);
  expect(refused.includes('Немає доступу до документообігу'), `the security officer at /registry saw: ${refused}`);
  expect(!(await guard.locator('main .service-list').count()), 'the refusal lists registry functions');
  await report.audit(guard, 'the registry refused');

  report.step('each role sees its functions');
  const registrar = await registryOf(browser, report, people.registrar, 'the registrar');
  await expectFunctions(registrar, ['Зареєструвати документ'], 'the registrar');
  const head = await registryOf(browser, report, people.head, 'the head');
  await expectFunctions(head, ['Зареєструвати документ', 'Резолюції', 'Контроль виконання', 'Архів'], 'the head');
  const executor = await registryOf(browser, report, people.executor, 'the executor');
  await expectFunctions(executor, ['Мої доручення'], 'the executor');
  const archivist = await registryOf(browser, report, people.archivist, 'the archivist');
  await expectFunctions(archivist, ['Архів'], 'the archivist');

  const card = await register(registrar, report);
  await resolve(head, report, card, people);
  await execute(executor, report, card);
  await search(registrar, report, card);
  await history(head, report, card);
  await archive(archivist, report, card);
  await qrCode(registrar, report, card);
});
