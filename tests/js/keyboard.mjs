// Driving a page with the keyboard alone, as a person without a mouse does: Tab and Shift+Tab
// to move, typing into the focused field, Space and arrow keys for choices, Enter to submit.

import { expect } from './browser.mjs';

/** What has the focus now, described for matching and for messages. */
export async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: 'body' };
    const labels = el.labels ? [...el.labels].map((l) => l.textContent.trim()) : [];
    return {
      tag: el.tagName.toLowerCase(),
      type: el.getAttribute('type') || '',
      id: el.id,
      name: el.getAttribute('name') || '',
      href: el.getAttribute('href') || '',
      text: (el.textContent || '').trim().replace(/\s+/g, ' '),
      label: labels.join(' ').replace(/\s+/g, ' '),
      value: el.value ?? '',
      checked: el.checked ?? false,
    };
  });
}

/**
 * Presses Tab (or Shift+Tab when `backwards`) until the focused element satisfies `wanted`,
 * failing after `limit` presses with what the focus passed through.
 */
export async function tabTo(page, wanted, what, { backwards = false, limit = 80 } = {}) {
  const passed = [];
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
    const now = await focused(page);
    if (wanted(now)) return now;
    passed.push(now.label || now.text || now.name || now.id || now.tag);
  }
  throw new Error(
    `${limit} ${backwards ? 'Shift+Tab' : 'Tab'} presses never reached ${what}; the focus passed ${JSON.stringify(passed.slice(0, 30))}`,
  );
}

/** Tabs to the field named `name` and types `text` into it, replacing what it held. */
export async function typeInto(page, name, text) {
  await tabTo(page, (f) => f.name === name, `the field ${name}`);
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(text);
}

/** Tabs to the select named `name` and moves through its options with the arrow keys until
 *  its value is `value`. */
export async function chooseIn(page, name, value) {
  await tabTo(page, (f) => f.name === name, `the select ${name}`);
  await page.keyboard.press('Home');
  for (let i = 0; i < 100; i++) {
    if ((await focused(page)).value === value) return;
    await page.keyboard.press('ArrowDown');
  }
  throw new Error(`the arrow keys never reached the value ${value} in the select ${name}`);
}

/** Tabs to the radio button or checkbox named `name` (the first of its set) and selects the one
 *  whose value is `value` with the arrow keys (radios) or Space (checkboxes). */
export async function check(page, name, value) {
  const first = await tabTo(page, (f) => f.name === name, `the choice ${name}`);
  if (first.type === 'checkbox') {
    let now = first;
    for (let i = 0; i < 30 && now.value !== value; i++) {
      await page.keyboard.press('Tab');
      now = await focused(page);
      expect(now.name === name, `the checkbox ${name}=${value} is not among its set`);
    }
    if (!now.checked) await page.keyboard.press('Space');
    return;
  }
  if (first.value === value) {
    await page.keyboard.press('Space');
    return;
  }
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('ArrowDown');
    const now = await focused(page);
    if (now.value === value) return;
  }
  throw new Error(`the arrow keys never reached ${name}=${value}`);
}

/** Tabs to the button whose text starts with `text` and presses Enter, waiting for the page
 *  it leads to. */
export async function pressButton(page, text) {
  await tabTo(
    page,
    (f) => (f.tag === 'button' || (f.tag === 'input' && f.type === 'submit') || f.tag === 'a') &&
      (f.text || f.value).startsWith(text),
    `the button «${text}»`,
  );
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
}

/** Tabs to the date field named `name` and types `iso` (`YYYY-MM-DD`) into its day, month and
 *  year segments in whichever order the browser's locale lays them out, checking what it holds. */
export async function typeDate(page, name, iso) {
  await tabTo(page, (f) => f.name === name, `the date field ${name}`);
  const [y, m, d] = iso.split('-');
  const seen = [];
  for (const order of [[d, m, y], [m, d, y], [y, m, d]]) {
    await page.keyboard.type(order.join(''));
    const now = await focused(page);
    if (now.value === iso) return;
    seen.push(now.value);
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
  }
  throw new Error(`typing ${iso} into the date field ${name} in any order of its segments left ${JSON.stringify(seen)}`);
}
