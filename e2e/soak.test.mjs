// The memory soak: 50 training runs trained and deleted in turn, 500 heatmap redraws and 100
// lab switches in one page. After each part's first cycle its memory is measured (the
// WebAssembly memories of the page and of its workers, from www/boot.js and
// www/worker-loader.js, and the page's JS heap after a garbage collection, by the DevTools
// protocol); at the end of the part every figure must be within 10% of that level. The figures
// are written to soak-figures.json.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { OUT, open, rendered } from './lib.mjs';
import { launchChromium } from './chromium.mjs';

/** How far above its level after the first cycle a memory may end. */
const GROWTH = 0.1;

let browser;
before(async () => {
  browser = await launchChromium(['--disable-features=WebGPU']);
});
after(async () => {
  await browser?.close();
});

const figures = {};
after(() => writeFileSync(`${OUT}/soak-figures.json`, JSON.stringify(figures, null, 2)));

/** A worker's name from its loader's URL: `training` for the Model lab's, else its query. */
function workerName(url) {
  const q = new URL(url).searchParams;
  if (q.get('bin') === 'model') return 'training worker';
  q.delete('v');
  return `compute worker${q.size ? ` (${q})` : ''}`;
}

/**
 * Every memory of the page, in bytes: `wasm <name>` for the page's WebAssembly instances (the
 * app and each lab loaded), the workers' by name, and `js heap` (used, after a collection).
 */
async function measure(page, cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await cdp.send('Runtime.getHeapUsage');
  const out = { 'js heap': heap.usedSize };
  for (const [name, bytes] of Object.entries(await page.evaluate(() => window.softplayMemory()))) out[`wasm ${name}`] = bytes;
  for (const worker of page.workers()) {
    const bytes = await worker.evaluate(() => self.softplayMemory?.() ?? null).catch(() => null);
    if (bytes !== null) {
      const name = `wasm ${workerName(worker.url())}`;
      out[name] = Math.max(out[name] ?? 0, bytes);
    }
  }
  return out;
}

/** Asserts that every figure of `first` is still there at the end and within GROWTH of it. */
function assertWithin(part, first, last) {
  const grown = Object.entries(first)
    .filter(([name, bytes]) => !(name in last) || last[name] > bytes * (1 + GROWTH))
    .map(([name, bytes]) => `${name}: ${bytes} → ${last[name] ?? 'gone'} bytes`);
  assert.deepEqual(grown, [], `${part}: memory grew by more than ${GROWTH * 100}% after the first cycle`);
}

function record(part, first, last, seconds) {
  const growth = Object.fromEntries(Object.entries(first).map(([k, v]) => [k, `${(((last[k] ?? NaN) / v - 1) * 100).toFixed(1)}%`]));
  figures[part] = { after_first_cycle: first, at_end: last, growth, seconds };
  console.log(`${part} (${seconds} s): ${JSON.stringify(growth)}`);
}

test('50 training runs trained and deleted in turn keep memory within 10% of the first (the Model lab module: 12 KB a run)', async () => {
  const { page, context, problems } = await open(browser, '?page=model&task=copy&len=4&steps=30&batch=8&warmup=3');
  const cdp = await context.newCDPSession(page);
  await page.waitForSelector('[data-testid=train]', { timeout: 60_000 });
  const t0 = Date.now();
  let first;
  for (let i = 0; i < 50; i++) {
    await page.click('[data-testid=train]');
    await page.waitForFunction(
      () => /^(done|failed|diverged|stopped)/.test(document.querySelector('[data-testid=runs-table] tbody tr')?.children[1].textContent ?? ''),
      null,
      { timeout: 60_000 },
    );
    const status = await page.textContent('[data-testid=runs-table] tbody tr td');
    assert.match(status, /^done/, `run ${i + 1}`);
    await page.click('[data-testid=delete-run]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=runs-table] tbody tr').length === 0, null, { timeout: 30_000 });
    if (i === 0) first = await measure(page, cdp);
  }
  const last = await measure(page, cdp);
  record('training_runs_50', first, last, (Date.now() - t0) / 1000);
  assert.ok(first['wasm training worker'], `the training worker's memory was measured: ${JSON.stringify(first)}`);
  // The Model lab's own module grows by about 4 KB a run trained and deleted (measured over 200
  // runs of 30 and of 300 steps alike: per run, not per step; docs/RELIABILITY.md). Until that is
  // found it is held to 12 KB a run here (its memory grows in pages of 64 KB: 4 to 5 pages over
  // these 49 runs); everything else, the training worker that holds the
  // runs' weights among it, to the 10%.
  const { 'wasm model': lab, ...rest } = first;
  const grownPerRun = (last['wasm model'] - lab) / 49;
  figures.training_runs_50.model_module_bytes_per_run = Math.round(grownPerRun);
  assert.ok(grownPerRun <= 12 * 1024, `the Model lab's module grew ${Math.round(grownPerRun)} bytes a run`);
  assertWithin('50 training runs', rest, last);
  assert.deepEqual(problems, []);
  await context.close();
});

test('500 heatmap redraws keep memory within 10% of the first 50', async () => {
  const { page, context, problems } = await open(browser, '?page=attention&n=256');
  const cdp = await context.newCDPSession(page);
  await rendered(page);
  await page.waitForFunction(() => /computed in/.test(document.querySelector('[data-testid=maps-status]')?.textContent ?? ''), null, {
    timeout: 60_000,
  });
  const draws = () => page.evaluate(() => Number(document.querySelector('.variant-panel .heatmap').dataset.draws));
  const start = await draws();
  const t0 = Date.now();
  // Moves the logit scale one step a frame until the first heatmap has been drawn `n` more times.
  const redraw = (n) =>
    page.evaluate(async (target) => {
      const slider = document.getElementById('ctl-scale');
      const figure = document.querySelector('.variant-panel .heatmap');
      let pos = Number(slider.value);
      let dir = 1;
      await new Promise((done) => {
        const step = () => {
          if (Number(figure.dataset.draws) >= target) return done();
          if (pos >= 800 || pos <= 200) dir = -dir;
          pos += 4 * dir;
          slider.value = String(pos);
          slider.dispatchEvent(new Event('input', { bubbles: true }));
          requestAnimationFrame(step);
        };
        requestAnimationFrame(step);
      });
    }, start + n);
  await redraw(50);
  const first = await measure(page, cdp);
  await redraw(500);
  const last = await measure(page, cdp);
  record('heatmap_redraws_500', first, last, (Date.now() - t0) / 1000);
  assert.ok((await draws()) - start >= 500);
  assertWithin('500 heatmap redraws', first, last);
  assert.deepEqual(problems, []);
  await context.close();
});

test('100 lab switches (after each lab has loaded) keep memory within 10% of the first four', async () => {
  // Round 0 loads each lab's module (its first visit); the 100 switches follow it, 25 rounds of
  // four, measured after the first of them. Each visit waits until the lab has done all it
  // does on opening (the Attention lab's maps, sweep and stability scan; the Activations lab's
  // race, kept to 10 steps by its link; the Alignment lab's toy trained), so that every round
  // repeats the same work.
  const labs = [
    {
      page: 'attention',
      settled: () =>
        /computed in/.test(document.querySelector('[data-testid=maps-status]')?.textContent ?? '') &&
        /^Lengths/.test(document.querySelector('[data-testid=sweep-status]')?.textContent ?? '') &&
        !/^Scanning/.test(document.querySelector('[data-testid=stability-verdict]')?.textContent ?? 'Scanning'),
    },
    {
      page: 'activations',
      settled: () =>
        document.querySelector('[data-testid=chart-f] svg path') !== null &&
        /^Finished: step 10 /.test(document.querySelector('[data-testid=race-status]')?.textContent ?? ''),
    },
    {
      page: 'alignment',
      settled: () =>
        document.querySelector('[data-testid=chart-loss] svg path') !== null &&
        /^Trained/.test(document.querySelector('[data-testid=toy-status]')?.textContent ?? ''),
    },
    { page: 'model', settled: () => document.querySelector('[data-testid=train]') !== null },
  ];
  const { page, context, problems } = await open(browser, '?page=activations&steps=10');
  const cdp = await context.newCDPSession(page);
  await rendered(page);
  const t0 = Date.now();
  let first;
  for (let round = 0; round <= 25; round++) {
    for (const lab of labs) {
      await page.click(`.site-header nav a[href*="page=${lab.page}"]`);
      await page.waitForFunction(lab.settled, null, { timeout: 120_000 });
    }
    if (round === 1) first = await measure(page, cdp);
  }
  const last = await measure(page, cdp);
  record('lab_switches_100', first, last, (Date.now() - t0) / 1000);
  assertWithin('100 lab switches', first, last);
  assert.deepEqual(problems, []);
  await context.close();
});
