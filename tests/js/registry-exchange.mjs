// Sending a registered letter to other participants' registries (issue 16): the card's
// «Надсилання» section with an addressee's refusal (ground, registrar, phone), the send form
// completed with the keyboard alone, and the exchange journal, each audited at 1280 px and 360 px.

import { baseUrl, expect, newPage, scenario } from './browser.mjs';
import { check, pressButton } from './keyboard.mjs';
import { signInOfficial } from './portal.mjs';

const said = async (page) => (await page.locator('main').textContent()).replace(/\s+/g, ' ');

await scenario('registry-exchange', async (browser, report) => {
  const who = JSON.parse(process.env.OFFICIAL ?? 'null');
  const card = process.env.CARD;
  expect(who && card, 'OFFICIAL and CARD are not set: the Rust test prepares a sent letter');
  const { page } = await newPage(browser, report);
  await signInOfficial(page, report, who, `/registry/cards/${card}`);

  report.step('the card shows each addressee\'s status');
  let text = await said(page);
  expect(text.includes('Надсилання'), `the card has no sending section: ${text}`);
  expect(text.includes('Підстава: Документ надійшов не за належністю'), `the refusal's ground is not shown: ${text}`);
  expect(text.includes('Відхилив: Ковальчук Ірина Петрівна, тел. +380 61 222 33 44'), `the registrar is not shown: ${text}`);
  await report.audit(page, 'the card with its sending statuses and form');

  report.step('the registrar sends it to another addressee for execution, by keyboard');
  await check(page, 'addressee', 'vodokanal');
  await check(page, 'purpose', 'execution');
  await pressButton(page, 'Надіслати');
  expect(new URL(page.url()).pathname === `/registry/cards/${card}`, `sending led to ${page.url()}`);
  text = await said(page);
  expect(text.includes('Надіслано, очікується сповіщення про доставку'), `the new message is not shown: ${text}`);
  expect(text.includes('на виконання'), `the purpose is not shown: ${text}`);
  await report.audit(page, 'the card after sending');

  report.step('the exchange journal lists what was sent');
  await page.goto(`${baseUrl()}/registry/exchange`);
  text = await said(page);
  expect(text.includes('Усього: 2'), `the journal does not list both messages: ${text}`);
  await report.audit(page, 'the exchange journal');
});
