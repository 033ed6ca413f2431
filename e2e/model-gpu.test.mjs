// The Model lab on WebGPU (Chromium's SwiftShader adapter: correct, slow, never timed): a run
// asked to train on WebGPU does, after the worker's check of its training kernels, and its
// curve agrees with the same link's CPU run to 1e-3; a link from before the lab had a backend
// replays on the CPU; Auto says what it measured and chose; a run moved to the CPU mid-way, or
// whose GPU device is destroyed, goes on with the CPU run’s curve.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { OUT, download, open, waitForText } from './lib.mjs';
import { launchChromium } from './chromium.mjs';

let browser;
before(async () => {
  browser = await launchChromium(['--enable-unsafe-webgpu']);
});
after(async () => {
  await browser?.close();
});

const figures = {};
after(() => writeFileSync(`${OUT}/model-gpu-figures.json`, JSON.stringify(figures, null, 2)));

// A small model and few steps: SwiftShader runs every dispatch on the CPU.
const SMALL = 'task=copy&len=3&batch=8&layers=1&dmodel=16&heads=2&ffn=2&steps=30&warmup=3&lr=0.01&seed=4';

/** Trains the one run of `search`; its loss CSV (one row per step) and its Backend cell.
 * With `act`, calls `act(page)` once the run has passed step `at`. */
async function trainOnce(search, at = 0, act = null) {
  const { page, context, problems } = await open(browser, search);
  await page.waitForSelector('[data-testid=train]', { timeout: 30_000 });
  await page.click('[data-testid=train]');
  if (act) {
    await page.waitForFunction(
      (at) => {
        const row = document.querySelector('[data-testid=runs-table] tbody tr');
        const step = row && /^(\d+) \//.exec(row.children[2].textContent);
        return step && Number(step[1]) > at;
      },
      at,
      { timeout: 240_000 },
    );
    await act(page);
  }
  await page.waitForFunction(
    () => {
      const row = document.querySelector('[data-testid=runs-table] tbody tr');
      return row && /^(done|stopped|diverged|failed)/.test(row.children[1].textContent);
    },
    null,
    { timeout: 240_000 },
  );
  const status = await page.textContent('[data-testid=runs-table] tbody tr td:nth-child(2)');
  const name = (await page.textContent('[data-testid=run-backend]')).trim();
  const note = (await page.textContent('[data-testid=backend-notes]')).trim();
  const backend = note ? `${name} ${note}` : name;
  const csv = (await download(page, () => page.click('[data-testid=loss-chart] .export >> text=CSV'))).text;
  const control = await page.inputValue('#ctl-backend');
  await page.screenshot({ path: `${OUT}/model-gpu-${control}${act ? '-moved' : ''}.png` });
  assert.deepEqual(problems, []);
  await context.close();
  return { status, backend, csv, control };
}

/** Per-step training losses of a loss CSV. */
function losses(csv) {
  const [head, ...rows] = csv.trim().split('\n').map((l) => l.split(','));
  const col = head.findIndex((h, i) => i > 0 && !h.endsWith('validation'));
  return rows.map((r) => [Number(r[0]), Number(r[col])]).filter(([, x]) => Number.isFinite(x));
}

/** The largest relative gap of two loss curves, which must log the same steps. */
function gap(a, b) {
  assert.deepEqual(a.map(([s]) => s), b.map(([s]) => s));
  return Math.max(...a.map(([, x], i) => Math.abs(x - b[i][1]) / Math.max(Math.abs(b[i][1]), 1e-6)));
}

test('a run asked to train on WebGPU does, and its curve is the CPU run’s to 1e-3', async () => {
  const gpu = await trainOnce(`?page=model&v=2&${SMALL}&backend=webgpu`);
  assert.equal(gpu.status, 'done');
  assert.equal(gpu.control, 'webgpu');
  assert.match(gpu.backend, /^WebGPU #1 \(WebGPU\): on .+; a step: 1 submit, \d+ dispatches, /, 'the table names the backend, the adapter and what a step costs');
  figures.webgpu_note = gpu.backend;
  const cpu = await trainOnce(`?page=model&v=2&${SMALL}&backend=cpu`);
  assert.equal(cpu.status, 'done');
  assert.equal(cpu.backend, 'CPU');
  const [a, b] = [losses(gpu.csv), losses(cpu.csv)];
  assert.equal(a.length, 31, 'step 0 and 30 steps');
  assert.deepEqual(a.map(([s]) => s), b.map(([s]) => s));
  const worst = Math.max(...a.map(([, x], i) => Math.abs(x - b[i][1]) / Math.max(Math.abs(b[i][1]), 1e-6)));
  figures.webgpu_vs_cpu_loss_rel = worst;
  assert.ok(worst <= 1e-3, `losses differ by ${worst}`);
  assert.notEqual(gpu.csv, cpu.csv, 'the GPU computed its own curve (not the CPU’s bits)');
});

test('a link from before the backend setting replays on the CPU; Auto says what it measured', async () => {
  const old = await trainOnce(`?page=model&v=1&${SMALL}`);
  assert.equal(old.control, 'cpu');
  assert.equal(old.backend, 'CPU');
  const auto = await trainOnce(`?page=model&v=2&${SMALL}`);
  assert.equal(auto.control, 'auto');
  assert.match(auto.backend, /^(WebGPU|CPU) #1 \((WebGPU|CPU)\): Auto chose (WebGPU|the CPU).*ms a step on .+, [\d.]+ ms on the CPU\)(; a step: .+)?$/);
  figures.auto = auto.backend;
  assert.equal(losses(old.csv).length, 31);
});

test('a WebGPU run continued on the CPU mid-way, and one whose GPU device is destroyed, go on with the CPU run’s curve', async () => {
  const cpu = losses((await trainOnce(`?page=model&v=2&${SMALL}&backend=cpu`)).csv);
  const moved = await trainOnce(`?page=model&v=2&${SMALL}&backend=webgpu`, 4, async (page) => {
    await page.click('[data-testid=pause]');
    await waitForText(page, '[data-testid=runs-table] tbody tr td:nth-child(2)', /^paused$/);
    assert.equal(await page.textContent('[data-testid=move-backend]'), 'Continue on the CPU');
    await page.click('[data-testid=move-backend]');
    await waitForText(page, '[data-testid=run-backend]', /^CPU$/);
    await page.click('[data-testid=resume]');
  });
  assert.equal(moved.status, 'done');
  assert.match(moved.backend, /^CPU #1 \(CPU\): moved to the CPU at step \d+: weights, Adam moments and the batch stream copied$/);
  figures.moved_note = moved.backend;
  figures.moved_vs_cpu_loss_rel = gap(losses(moved.csv), cpu);
  assert.ok(figures.moved_vs_cpu_loss_rel <= 1e-3, `losses differ by ${figures.moved_vs_cpu_loss_rel}`);

  const lost = await trainOnce(`?page=model&v=2&${SMALL}&backend=webgpu`, 4, (page) =>
    page.evaluate(() => window.dispatchEvent(new Event('softplay:lose-gpu'))),
  );
  assert.equal(lost.status, 'done');
  assert.match(lost.backend, /^CPU #1 \(CPU\): the GPU stopped at step \d+ \(.+\); the run goes on on the CPU from step \d+$/);
  figures.lost_note = lost.backend;
  figures.lost_vs_cpu_loss_rel = gap(losses(lost.csv), cpu);
  assert.ok(figures.lost_vs_cpu_loss_rel <= 1e-3, `losses differ by ${figures.lost_vs_cpu_loss_rel}`);
});
