// Debian's Firefox ESR driven through WebDriver BiDi (puppeteer-core, which downloads nothing):
// the smoke run's first browser besides Chromium. Each page opens in its own user context
// (fresh storage), and every console error, page error, failed request, HTTP error and request
// to another origin is kept.
import puppeteer from 'puppeteer-core';

export const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';

/** Starts headless Firefox ESR; returns the smoke run's browser: `version`, `newPage()`, `close()`. */
export async function launchFirefox() {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: FIREFOX,
    headless: true,
    // A driver that stops answering is named within 75 s (the smoke run then starts it again).
    protocolTimeout: 75_000,
    // Nothing from outside: no update, telemetry, remote settings or captive-portal checks.
    extraPrefsFirefox: {
      'app.update.enabled': false,
      'browser.safebrowsing.malware.enabled': false,
      'browser.safebrowsing.phishing.enabled': false,
      'network.captive-portal-service.enabled': false,
      'network.connectivity-service.enabled': false,
      'datareporting.policy.dataSubmissionEnabled': false,
      'toolkit.telemetry.enabled': false,
    },
  });
  return {
    name: 'Firefox ESR',
    version: await browser.version(),
    async newPage() {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      const problems = [];
      page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
      page.on('pageerror', (e) => problems.push(`page error: ${e.message ?? e}`));
      page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()} (${r.failure()?.errorText})`));
      page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
      const requested = new Set();
      page.on('request', (r) => requested.add(r.url()));
      return {
        goto: (url) => page.goto(url, { waitUntil: 'load' }),
        // BiDi runs the function outside the page's Content-Security-Policy (which forbids
        // building code from text, and so puppeteer's own waitForFunction).
        evaluate: (fn, ...args) => page.evaluate(fn, ...args),
        click: (selector) => page.click(selector),
        screenshot: (path) => page.screenshot({ path }),
        problems: async () => {
          const origin = new URL(page.url()).origin;
          const foreign = [...requested].filter((u) => /^https?:/.test(u) && new URL(u).origin !== origin);
          return [...problems, ...foreign.map((u) => `request to another origin: ${u}`)];
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}
