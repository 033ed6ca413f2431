// Workers that come back: a lab's worker or the page's compute worker that panics, or that stops
// answering (ended without a word, as a browser may end it), is found, named in a notice and
// started again; the settings and the results on the page stay, and the lab computes again. A
// worker that stops three times within a minute is not started again, and the page says to reload.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { backendKnown, open, query, rendered, waitForText } from './lib.mjs';
import { launchChromium } from './chromium.mjs';

let browser;
before(async () => {
  browser = await launchChromium(['--disable-features=WebGPU']);
});
after(async () => {
  await browser?.close();
});

/** Waits until the Attention lab's panels show results for `n`. */
async function mapsReady(page, n) {
  await page.waitForFunction(
    (n) => (document.querySelector('[data-testid=maps-status]')?.textContent ?? '').includes(`n = ${n} `) &&
      /computed in/.test(document.querySelector('[data-testid=maps-status]').textContent),
    n,
    { timeout: 30_000 },
  );
}

function summaries(page) {
  return page.$$eval('.variant-panel', (panels) =>
    panels.map((p) => [p.dataset.variant, [...p.querySelectorAll('dd[data-stat]')].map((d) => d.dataset.value)]),
  );
}

function signal(page, event, lab) {
  return page.evaluate(([event, lab]) => window.dispatchEvent(new CustomEvent(event, { detail: lab })), [event, lab]);
}

async function setN(page, n) {
  await page.fill('#ctl-n-number', String(n));
  await page.press('#ctl-n-number', 'Enter');
}

/** The problems other than the panic's own report (the worker logs its panic, on purpose). */
const unexpected = (problems) => problems.filter((p) => !/a test asked this worker to stop|unreachable|RuntimeError/.test(p));

test('a lab worker that panics is started again: the page names it, keeps the settings and computes the same numbers again', async () => {
  const { page, context, problems } = await open(browser, '?page=attention&n=64');
  await rendered(page);
  await mapsReady(page, 64);
  const before64 = await summaries(page);
  await signal(page, 'softplay:crash-worker', 'attention');
  await waitForText(
    page,
    '.notices',
    /The Attention lab's worker stopped \(.*a test asked this worker to stop.*\) and was started again; your settings and results are kept/,
  );
  assert.match(await query(page), /[?&]n=64\b/, 'the settings stay');
  assert.deepEqual(await summaries(page), before64, 'the results on the page stay');
  await setN(page, 32);
  await mapsReady(page, 32);
  await setN(page, 64);
  await mapsReady(page, 64);
  assert.deepEqual(await summaries(page), before64, 'the new worker computes the same numbers');
  assert.deepEqual(unexpected(problems), []);
  await context.close();
});

test('a worker ended without a word (as a browser may end it) is found by its silence and started again', async () => {
  const { page, context, problems } = await open(browser, '?page=attention&n=64');
  await rendered(page);
  await mapsReady(page, 64);
  const t0 = Date.now();
  await signal(page, 'softplay:kill-worker', 'attention');
  await waitForText(page, '.notices', /The Attention lab's worker stopped \(it stopped answering\) and was started again/, undefined, 40_000);
  const found = (Date.now() - t0) / 1000;
  assert.ok(found < 25, `found after ${found} s`);
  await setN(page, 32);
  await mapsReady(page, 32);
  assert.deepEqual(unexpected(problems), []);
  await context.close();
});

test("the page's compute worker comes back too; three stops within a minute end the restarts, and the page says to reload", async () => {
  const { page, context, problems } = await open(browser, '?page=about');
  await rendered(page);
  await backendKnown(page);
  // Each stop, once the worker it hits is back (the footer names its backend again); the notice
  // is dismissed so that the next one shows (the same notice is not shown twice at once).
  for (let i = 1; i <= 2; i++) {
    await signal(page, 'softplay:crash-worker', 'shell');
    await waitForText(page, '.notices', /The page's compute worker stopped \(it panicked: a test asked this worker to stop .*\) and was started again/);
    await page.waitForFunction(() => /^CPU/.test(document.querySelector('[data-testid=backend]')?.textContent ?? ''), null, { timeout: 30_000 });
    await page.click('.notices .notice-dismiss');
    await page.waitForSelector('.notices .notice-dismiss', { state: 'detached' });
  }
  await signal(page, 'softplay:crash-worker', 'shell');
  await waitForText(page, '.notices', /Computation is off: the page's compute worker stopped 3 times within a minute .*reload the page to restart it/);
  assert.match(await page.textContent('[data-testid=backend]'), /^stopped — /);
  assert.deepEqual(unexpected(problems), []);
  await context.close();
});

test('the training worker that panics mid-run comes back: the run is marked stopped at its step, kept in the table, and a new run trains', async () => {
  const { page, context, problems } = await open(browser, '?page=model&task=copy&len=4&steps=3000&batch=8');
  await page.waitForSelector('[data-testid=train]', { timeout: 30_000 });
  await page.click('[data-testid=train]');
  await page.waitForFunction(() => /training: step ([2-9]\d|\d{3,}) of 3000/.test(document.querySelector('[data-testid=train-status]')?.textContent ?? ''), null, { timeout: 60_000 });
  await signal(page, 'softplay:crash-worker', 'model');
  await waitForText(
    page,
    '[data-testid=lab-error]',
    /the training worker stopped \(it panicked: a test asked this worker to stop \(softplay:crash-worker\), at .*\) and was started again\. Every run's settings, curve and sweep are kept/,
  );
  await waitForText(page, '[data-testid=runs-table] tbody tr:first-child', /stopped at step \d+ with the training worker/);
  const id = (sel) => (document.querySelector(sel) ? 1 : 0);
  assert.equal(await page.locator('[data-testid=runs-table] tbody tr').count(), 1);
  assert.ok(await page.evaluate(id, '[data-testid=loss-chart] svg path, [data-testid=loss-chart] canvas'), 'the curve stays drawn');
  // The new worker trains: a short second run finishes.
  const steps = (await page.$('#ctl-steps-number')) ? '#ctl-steps-number' : '#ctl-steps';
  await page.fill(steps, '30');
  await page.press(steps, 'Enter');
  await page.click('[data-testid=train]');
  await page.waitForFunction(
    () => {
      const rows = [...document.querySelectorAll('[data-testid=runs-table] tbody tr')];
      return rows.length === 2 && /^done/.test(rows[1].children[1].textContent);
    },
    null,
    { timeout: 60_000 },
  );
  assert.deepEqual(unexpected(problems), []);
  await context.close();
});
