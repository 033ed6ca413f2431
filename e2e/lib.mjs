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
 * requests to any origin but the site's.
 */
export async function open(browser, query = '', { colorScheme = 'light', route } = {}) {
  const context = await browser.newContext({ colorScheme, viewport: { width: 1280, height: 900 } });
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
  await page.waitForSelector('.site-header nav a', { timeout: 15_000 });
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

export function query(page) {
  return page.evaluate(() => location.search);
}

/** Clicks with `click()` and returns the file the page downloads: its name, bytes and text. */
export async function download(page, click) {
  const [file] = await Promise.all([page.waitForEvent('download'), click()]);
  const bytes = readFileSync(await file.path());
  return { name: file.suggestedFilename(), bytes, text: bytes.toString('utf8') };
}
