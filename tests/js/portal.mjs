// Steps of the portal that several browser scenarios take: signing in at the test identity
// provider (a citizen at the portal's door, an official at the office's), reading the error
// summary, and making the applicant's detached CMS signature with openssl over the document the
// sign page offers.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { baseUrl, expect } from './browser.mjs';

/** The test account the Rust side names in the environment. */
export function account(prefix = 'CITIZEN') {
  const login = process.env[`${prefix}_LOGIN`];
  const password = process.env[`${prefix}_PASSWORD`] ?? '';
  expect(login, `${prefix}_LOGIN is not set: the Rust test names the provider's test account`);
  return { login, password };
}

/**
 * Signs in from the page `page` is on through the portal's «Увійти» link: the provider's login
 * (and consent, when it asks) pages are filled in, and the portal takes the browser back.
 */
export async function signIn(page, report, { login, password }, next = '/') {
  const base = baseUrl();
  report.step(`sign in as ${login}`);
  await page.goto(`${base}/sign-in?next=${encodeURIComponent(next)}`);
  for (let i = 0; i < 6 && !page.url().startsWith(base); i++) {
    const form = page.locator('form').first();
    const loginField = page.locator('input[name=login], input[name=username], input[name=email]');
    if ((await loginField.count()) > 0) {
      await loginField.first().fill(login);
      const passwordField = page.locator('input[type=password]');
      if ((await passwordField.count()) > 0) await passwordField.first().fill(password);
    }
    const submit = form.locator('button[type=submit], input[type=submit], button:not([type])');
    expect((await submit.count()) > 0, `the provider's page ${page.url()} has no button to go on`);
    await Promise.all([page.waitForNavigation(), submit.first().click()]);
    await page.waitForLoadState();
  }
  expect(page.url().startsWith(base), `signing in ended at ${page.url()}, not at the portal`);
  const greeting = await page.locator('footer').textContent();
  expect(/Ви увійшли як/.test(greeting), `the portal does not say who is signed in: ${greeting}`);
}

/** Signs in at `/office/sign-in` (the officials' own door, straight to the identity provider)
 *  as the provider's test account `who`, landing on `next` (the inbox unless said). */
export async function signInOfficial(page, report, who, next = '/office') {
  const base = baseUrl();
  report.step(`the official ${who.login} signs in`);
  await page.goto(`${base}/office/sign-in?next=${encodeURIComponent(next)}`);
  for (let i = 0; i < 6 && !page.url().startsWith(base); i++) {
    const loginField = page.locator('input[name=login]');
    if ((await loginField.count()) > 0) {
      await loginField.first().fill(who.login);
      const password = page.locator('input[type=password]');
      if ((await password.count()) > 0) await password.first().fill(who.password);
    }
    const submit = page.locator('form').first().locator('button[type=submit], input[type=submit], button:not([type])');
    expect((await submit.count()) > 0, `the provider's page ${page.url()} has no button to go on`);
    await Promise.all([page.waitForNavigation(), submit.first().click()]);
    await page.waitForLoadState();
  }
  const landed = new URL(page.url()).pathname;
  expect(landed === next, `the official's sign-in ended at ${page.url()}, not at ${next}`);
}

/** The error summary's links: their targets and texts; each target must be on the page. */
export async function errorSummary(page) {
  const links = await page.$$eval('.error-summary a', (as) =>
    as.map((a) => ({ href: a.getAttribute('href'), text: a.textContent.trim() })),
  );
  for (const link of links) {
    expect(link.href && link.href.startsWith('#'), `the summary's link «${link.text}» is ${link.href}`);
    const id = link.href.slice(1);
    const exists = await page.evaluate((id) => document.getElementById(id) !== null, id);
    expect(exists, `the summary's link «${link.text}» points at #${id}, which the page lacks`);
  }
  return links;
}

/**
 * Expects the page to show errors: a title starting «Помилка:», an error summary whose links
 * name `fields` (by the ids they point at), and following the first link moves the focus there.
 */
export async function expectErrors(page, fields, what) {
  const title = await page.title();
  expect(title.startsWith('Помилка'), `${what}: the title «${title}» does not say there are errors`);
  const links = await errorSummary(page);
  const targets = links.map((l) => l.href.slice(1));
  for (const field of fields) {
    expect(
      targets.some((t) => t === field || t.startsWith(field)),
      `${what}: the error summary does not name ${field}; it names ${JSON.stringify(links)}`,
    );
  }
  const summaryFocused = await page.evaluate(
    () => document.activeElement && document.activeElement.classList.contains('error-summary'),
  );
  expect(summaryFocused, `${what}: the error summary does not have the focus on load`);
  return links;
}

/** The detached CMS signature (DER) of `bytes` by the key and certificate the environment
 *  names (a test citizen's from `hromada keys dev`). */
export function sign(bytes, prefix = 'CITIZEN') {
  const key = process.env[`${prefix}_KEY`];
  const cert = process.env[`${prefix}_CERT`];
  expect(key && cert, `${prefix}_KEY and ${prefix}_CERT are not set: the Rust test names the dev key`);
  const dir = mkdtempSync(join(tmpdir(), 'hromada-sign-'));
  const input = join(dir, 'document');
  const output = join(dir, 'signature.p7s');
  writeFileSync(input, bytes);
  execFileSync('openssl', [
    'cms', '-sign', '-binary', '-in', input, '-signer', cert, '-inkey', key,
    '-outform', 'DER', '-out', output,
  ]);
  return { path: output, bytes: readFileSync(output) };
}
