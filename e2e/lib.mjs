// Shared helpers for the end-to-end tests: Debian's Chromium through playwright-core, against
// the built site that `cargo xtask test` serves from a sub-path on 127.0.0.1.
import { mkdirSync, readFileSync } from 'node:fs';
import { launchChromium } from './chromium.mjs';

export const BASE = process.env.SOFTPLAY_URL ?? 'http://127.0.0.1:8080/';
export const OUT = process.env.SOFTPLAY_E2E_OUT ?? 'target/e2e';
mkdirSync(OUT, { recursive: true });

/** Chromium, with WebGPU (SwiftShader) unless `webgpu` is false. */
export function launch({ webgpu = true } = {}) {
  return launchChromium(webgpu ? ['--enable-unsafe-webgpu'] : ['--disable-features=WebGPU']);
}

/**
 * Opens `query` (e.g. "?page=attention") in a fresh context and collects every problem a
 * person would not want: console errors, page errors, failed requests, HTTP errors, and
 * requests to any origin but the site's. The offline copy (www/sw.js) is blocked unless
 * `serviceWorkers` is 'allow': a page of a first visit, whose requests `route` can see (the
 * offline tests allow it).
 */
export async function open(
  browser,
  query = '',
  { colorScheme = 'light', route, viewport = { width: 1280, height: 900 }, touch = false, serviceWorkers = 'block' } = {},
) {
  const context = await browser.newContext({ colorScheme, viewport, hasTouch: touch, isMobile: touch, serviceWorkers });
  const page = await context.newPage();
  if (route) await route(page);
  const problems = [];
  const origins = new Set();
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  page.on('request', (r) => origins.add(new URL(r.url()).origin));
  await page.goto(BASE + query);
  return { page, context, problems, origins };
}

/** Waits until the app has rendered its shell. */
export async function rendered(page) {
  await page.waitForSelector('.site-header nav a', { state: 'attached', timeout: WAIT_MS });
}

/** Waits until the footer names a backend (the worker answered or failed). */
export async function backendKnown(page) {
  await page.waitForFunction(
    () => {
      const el = document.querySelector('[data-testid=backend]');
      return el && !el.textContent.includes('starting');
    },
    null,
    { timeout: 60_000 },
  );
  return page.textContent('[data-testid=backend]');
}

/**
 * Shows the lab's secondary panel `id` (a tab of the workbench: "sweep", "race", …) and waits
 * until it is visible.
 */
export async function openTab(page, id) {
  await page.click(`[role=tab][data-tab="${id}"]`);
  await page.waitForSelector(`[role=tabpanel][data-panel="${id}"]:not([hidden])`, { timeout: WAIT_MS });
}

export function query(page) {
  return page.evaluate(() => location.search);
}

/** Clicks with `click()` and returns the file the page downloads: its name, bytes and text. */
export async function download(page, click) {
  const [file] = await Promise.all([page.waitForEvent('download'), click()]);
  const bytes = readFileSync(await file.path());
  return { name: file.suggestedFilename(), bytes, text: bytes.toString('utf8') };
}

// Waiting. Every check of something asynchronous (the address bar, which follows the settings
// at most every 150 ms; a worker's answer; a chart, notice, status or message drawn after an
// action) waits for its condition with a deadline: never a fixed sleep, never one read.

/** How long to wait for anything asynchronous: generous, for a slow 2-core machine. */
export const WAIT_MS = Number(process.env.SOFTPLAY_E2E_WAIT_MS) || 30_000;
const POLL_MS = 50;

function describe(value) {
  let s;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 600 ? `${s.slice(0, 600)}…` : s;
}

async function poll(page, attempt, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing yet';
  let lastError;
  for (;;) {
    try {
      const { done, value, seen } = await attempt();
      if (done) return value;
      last = seen;
      lastError = undefined;
    } catch (e) {
      last = e?.message ?? String(e);
      lastError = e;
    }
    if (page.isClosed()) throw new Error(`the page closed while waiting for ${what}; last saw: ${last}`, { cause: lastError });
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}; last saw: ${last}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Polls `fn()` (run here, in Node; it may read the page) until it returns a truthy value, and
 * returns that value. A throw counts as "not yet", so `fn` may hold assertions or throw an
 * error that says what it saw. Fails after `timeoutMs`, naming `what` and what it last saw.
 */
export function until(page, fn, what, timeoutMs = WAIT_MS) {
  return poll(
    page,
    async () => {
      const value = await fn();
      return { done: Boolean(value), value, seen: describe(value) };
    },
    what,
    timeoutMs,
  );
}

/**
 * Polls `fn()` until it returns without throwing (an `expect.poll`: `fn` holds the assertions),
 * and returns what it returned. Fails with the last assertion's message.
 */
export function eventually(page, fn, what, timeoutMs = WAIT_MS) {
  return poll(page, async () => ({ done: true, value: await fn() }), what, timeoutMs);
}

function matcher(want) {
  if (typeof want === 'function') return want;
  if (want instanceof RegExp) return (s) => want.test(s);
  if (Array.isArray(want)) {
    const all = want.map(matcher);
    return (s) => all.every((m) => m(s));
  }
  return (s) => s.includes(String(want));
}

function named(want) {
  if (Array.isArray(want)) return want.map(named).join(' and ');
  if (typeof want === 'function') return 'a condition';
  return want instanceof RegExp ? String(want) : JSON.stringify(String(want));
}

/**
 * Waits until `location.search` satisfies `want` (a substring, a RegExp, a predicate on the
 * string, or an array of them, all of which must hold) and returns it.
 */
export async function waitForQuery(page, want, what = `the address bar to show ${named(want)}`, timeoutMs = WAIT_MS) {
  const ok = matcher(want);
  return poll(
    page,
    async () => {
      const search = await query(page);
      return { done: ok(search), value: search, seen: `location.search = ${describe(search)}` };
    },
    what,
    timeoutMs,
  );
}

/** The text of the first element matching the CSS `selector`, or null: one read, no waiting. */
export function textOf(page, selector) {
  return page.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);
}

/**
 * Waits until the text of the first element matching the CSS `selector` satisfies `want` (as
 * for `waitForQuery`) and returns the text.
 */
export async function waitForText(page, selector, want, what = `${selector} to read ${named(want)}`, timeoutMs = WAIT_MS) {
  const ok = matcher(want);
  return poll(
    page,
    async () => {
      const text = await textOf(page, selector);
      return { done: text !== null && ok(text), value: text, seen: text === null ? `no ${selector}` : describe(text) };
    },
    what,
    timeoutMs,
  );
}

/**
 * Waits until `read()` has returned the same value (compared as JSON) for `quietMs`, and returns
 * it: for something that settles with no sign in the page that it has (a worker's slice in
 * flight when Pause was pressed).
 */
export async function steady(page, read, quietMs, what, timeoutMs = WAIT_MS) {
  let last;
  let since = 0;
  return poll(
    page,
    async () => {
      const value = await read();
      const now = Date.now();
      if (since === 0 || JSON.stringify(value) !== JSON.stringify(last)) {
        last = value;
        since = now;
      }
      return { done: now - since >= quietMs, value, seen: `${describe(value)}, unchanged for ${now - since} ms` };
    },
    what,
    timeoutMs,
  );
}
