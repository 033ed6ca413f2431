// Shared by the benchmark drivers: one page in one headless Chromium until it publishes
// `window.benchResults` (or `window.benchError`), with Chromium's `flags`, and the CPU's name.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { launchChromium } from '../e2e/chromium.mjs';

export async function runPage(url, flags = []) {
  const browser = await launchChromium(flags);
  try {
    const page = await browser.newPage();
    const fetched = [];
    page.on('response', (r) => fetched.push(`${r.status()} ${new URL(r.url()).pathname}`));
    page.on('console', (m) => console.log(`    [page ${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => console.log(`    [page error] ${e.message}`));
    await page.goto(url);
    await page.waitForFunction(() => window.benchResults || window.benchError, null, {
      timeout: 30 * 60 * 1000,
      polling: 1000,
    });
    const error = await page.evaluate(() => window.benchError);
    if (error) throw new Error(`the page failed: ${error}`);
    const results = await page.evaluate(() => window.benchResults);
    results.environment.chromium = browser.version();
    results.environment.fetched = fetched;
    return results;
  } finally {
    await browser.close();
  }
}

export function cpuModel() {
  const line = readFileSync('/proc/cpuinfo', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('model name'));
  return `${line ? line.split(':')[1].trim() : 'unknown CPU'}, ${cpus().length} logical cores`;
}

