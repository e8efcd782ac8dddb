// What every browser scenario shares: the system's headless Chromium through Playwright, an
// accessibility audit (axe-core, WCAG 2.1 A/AA) of each page at 1280 px and 360 px with a check
// that nothing scrolls sideways on the phone, and the JSON report the Rust test reads.
// HROMADA_SCREENSHOTS=DIR keeps a full-page screenshot of each audit there, for a person to look at.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
export const WIDE = { width: 1280, height: 900 };
export const NARROW = { width: 360, height: 740 };

/** The base URL of the appliance under test, from the environment. */
export function baseUrl() {
  const url = process.env.HROMADA_URL;
  if (!url) throw new Error('HROMADA_URL is not set: the Rust test passes the portal address');
  return url.replace(/\/$/, '');
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A scenario's record: every page audited, every step taken, the first failure. */
export class Report {
  constructor(scenario) {
    this.scenario = scenario;
    this.pages = [];
    this.steps = [];
    this.console = [];
    this.failure = null;
  }

  step(name) {
    this.steps.push(name);
    process.stderr.write(`[${this.scenario}] ${name}\n`);
  }

  /** Listens to `page` for what the console says is wrong (a CSP refusal, a failed load). */
  watch(page) {
    this.page = page;
    page.on('console', (message) => {
      // A failed load is reported once, with its address, by the `response` listener below.
      if (message.text().startsWith('Failed to load resource')) return;
      if (message.type() === 'error' || message.type() === 'warning') {
        this.console.push({ url: page.url(), type: message.type(), text: message.text() });
      }
    });
    page.on('pageerror', (error) => {
      this.console.push({ url: page.url(), type: 'pageerror', text: String(error) });
    });
    page.on('response', (response) => {
      const request = response.request();
      const path = new URL(response.url()).pathname;
      if (request.resourceType() !== 'document' && response.status() >= 400 && path !== '/favicon.ico') {
        this.console.push({ url: page.url(), type: 'resource', text: `${path} answered ${response.status()}` });
      }
    });
    return page;
  }

  /** Audits the page as it is now (its DOM kept) at both widths; returns to the width it had. */
  async audit(page, label) {
    const before = page.viewportSize();
    for (const size of [WIDE, NARROW]) {
      await page.setViewportSize(size);
      const result = await axe(page);
      const overflow = await page.evaluate(() => {
        const root = document.scrollingElement;
        return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth };
      });
      const wide = [];
      if (size === NARROW && overflow.scrollWidth > overflow.clientWidth) {
        wide.push(...(await widestElements(page, overflow.clientWidth)));
      }
      const shots = process.env.HROMADA_SCREENSHOTS;
      if (shots) {
        const name = `${String(this.pages.length).padStart(3, '0')}-${label.replace(/[^\p{L}\p{N}]+/gu, '-')}-${size.width}.png`;
        await page.screenshot({ path: `${shots}/${name}`, fullPage: true });
      }
      this.pages.push({
        label,
        url: new URL(page.url()).pathname + new URL(page.url()).search,
        title: await page.title(),
        width: size.width,
        violations: result,
        scroll_width: overflow.scrollWidth,
        client_width: overflow.clientWidth,
        too_wide: wide,
      });
    }
    if (before) await page.setViewportSize(before);
  }

  /** Prints the report as one JSON line on stdout: the only thing a scenario prints there. */
  print() {
    process.stdout.write(
      JSON.stringify({
        scenario: this.scenario,
        pages: this.pages,
        steps: this.steps,
        console: this.console,
        failure: this.failure,
      }) + '\n',
    );
  }
}

async function axe(page) {
  const loaded = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
    AXE_TAGS,
  );
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({
      target: n.target.join(' '),
      html: n.html.slice(0, 300),
      summary: n.failureSummary,
    })),
  }));
}

/** The elements whose right edge lies past the viewport: what makes a phone scroll sideways. */
async function widestElements(page, clientWidth) {
  return page.evaluate((limit) => {
    const out = [];
    for (const el of document.body.querySelectorAll('*')) {
      const right = el.getBoundingClientRect().right;
      if (right > limit + 0.5) {
        const children = [...el.children].some((c) => c.getBoundingClientRect().right > limit + 0.5);
        if (!children) {
          const name = el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '') +
            (el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : '');
          out.push(`${name} reaches ${Math.round(right)} px`);
        }
      }
      if (out.length >= 5) break;
    }
    return out;
  }, clientWidth);
}

/** Fails the scenario with `message` unless `condition` holds. */
export function expect(condition, message) {
  if (!condition) throw new Error(message);
}

/** Runs `body(browser, report)`, records its first failure, always prints the report. */
export async function scenario(name, body) {
  const report = new Report(name);
  let browser;
  try {
    browser = await launch();
    await body(browser, report);
  } catch (error) {
    report.failure = `${report.steps.at(-1) ?? 'start'}: ${error && error.stack ? error.stack : error}`;
    report.failure += await whereItStopped(report.page);
  } finally {
    if (browser) await browser.close().catch(() => {});
    report.print();
  }
}

/** What the page the scenario stopped on says: its address, heading and error summary. */
async function whereItStopped(page) {
  if (!page || page.isClosed()) return '';
  try {
    const said = await page.evaluate(() => {
      const text = (selector) => document.querySelector(selector)?.textContent.trim().replace(/\s+/g, ' ') ?? '';
      return { h1: text('h1'), errors: text('.error-summary') };
    });
    return `\n  on ${page.url()}: «${said.h1}»${said.errors ? `; the error summary says «${said.errors}»` : ''}`;
  } catch {
    return '';
  }
}

/** A fresh browser context (its own cookies) with a page watched by `report`. */
export async function newPage(browser, report, size = WIDE) {
  const context = await browser.newContext({ viewport: size, locale: 'uk-UA' });
  context.setDefaultTimeout(30_000);
  const page = report.watch(await context.newPage());
  return { context, page };
}
