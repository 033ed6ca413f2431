// The responsiveness checks on a slow classroom laptop: Chromium's CPU slowed 4× (DevTools
// protocol `Emulation.setCPUThrottlingRate`) once a lab has drawn for the first time, then a
// parameter drag in the Activations lab, the logit-scale drag at n = 512 in the Attention lab,
// the 16× sweep, the fitting race and a training run. Every main-thread task over 50 ms (the
// Long Tasks API) and the drag rates are recorded in slow-cpu-figures.json. The aim is none over
// 50 ms; it is not met in every part yet (docs/RELIABILITY.md, "Slow laptops"), so what is
// asserted is that none reaches STALL_MS, a freeze anyone would notice.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { drag, draws } from './drag.mjs';
import { OUT, open, openTab, rendered } from './lib.mjs';
import { launchChromium } from './chromium.mjs';

/** How much slower than this machine's CPU the page runs. */
const RATE = 4;
/** The longest main-thread task a person does not feel as a stall: the aim. */
const LONG_MS = 50;
/** The longest main-thread task allowed here (on this CPU slowed 4×). */
const STALL_MS = 400;

let browser;
before(async () => {
  browser = await launchChromium(['--disable-features=WebGPU']);
});
after(async () => {
  await browser?.close();
});

const figures = { cpu_slowed: RATE };
after(() => writeFileSync(`${OUT}/slow-cpu-figures.json`, JSON.stringify(figures, null, 2)));

/** Opens `query` at the projector size, waits for `ready` (a page function), then slows the CPU. */
async function openSlowed(query, ready, timeout = 60_000) {
  const opened = await open(browser, query, { viewport: { width: 1280, height: 720 } });
  await rendered(opened.page);
  await opened.page.waitForFunction(ready, null, { timeout });
  const cdp = await opened.context.newCDPSession(opened.page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: RATE });
  return opened;
}

/** Starts recording the page's long tasks in `window.__long` (durations, ms). */
function recordLongTasks(page) {
  return page.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push(Math.round(e.duration)))).observe({
      entryTypes: ['longtask'],
    });
  });
}

const longTasks = (page) => page.evaluate(() => window.__long);

function assertNoStall(long, what) {
  const over = long.filter((d) => d > STALL_MS);
  console.log(`${what}, CPU slowed ${RATE}×: ${long.filter((d) => d > LONG_MS).length} main-thread tasks over ${LONG_MS} ms: ${JSON.stringify(long)}`);
  assert.deepEqual(over, [], `${what} with the CPU slowed ${RATE}×: main-thread tasks over ${STALL_MS} ms: ${JSON.stringify(long)}`);
}

test(`dragging an Activations parameter with the CPU slowed ${RATE}×: no main-thread task over ${STALL_MS} ms, each over 50 ms recorded`, async () => {
  const { page, context, problems } = await openSlowed('?page=activations&fns=relu,gelu,silu,mish,polyrelu,crrelu,rational,kan', () =>
    document.querySelector('[data-testid=chart-f] svg path') && document.querySelector('[data-testid=property-table] tbody tr:not(.stale) td:not([colspan])'),
  );
  try {
    const figure = '[data-testid=chart-f] svg,[data-testid=property-table] tbody';
    // The first second also pays for the browser's optimising compile of the code it runs.
    await drag(page, { id: 'ctl-beta', from: 200, to: 800, by: 3, ms: 1000, figure });
    const r = await drag(page, { id: 'ctl-beta', from: 200, to: 800, by: 3, ms: 3000, figure });
    figures.activations_parameter_drag = r;
    console.log(`Activations drag, CPU slowed ${RATE}×: ${JSON.stringify(r)}`);
    assertNoStall(r.long_tasks_ms, 'the Activations drag');
    assert.ok(r.redraws_per_s > 0, `${r.redraws_per_s} redraws per second`);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test(`dragging the logit scale at n = 512 with the CPU slowed ${RATE}×: no main-thread task over ${STALL_MS} ms, each over 50 ms recorded`, async () => {
  const { page, context, problems } = await openSlowed(
    '?page=attention&n=512',
    () =>
      /computed in/.test(document.querySelector('[data-testid=maps-status]')?.textContent ?? '') &&
      /^Lengths/.test(document.querySelector('[data-testid=sweep-status]')?.textContent ?? '') &&
      !/^Scanning/.test(document.querySelector('[data-testid=stability-verdict]')?.textContent ?? 'Scanning'),
    120_000,
  );
  try {
    const figure = '.variant-panel .heatmap';
      await drag(page, { id: 'ctl-scale', from: 300, to: 700, by: 2, ms: 1000, figure });
    const before = await draws(page, figure);
    const r = await drag(page, { id: 'ctl-scale', from: 300, to: 700, by: 2, ms: 3000, figure });
    r.redraws_per_s = Math.round((((await draws(page, figure)) - before) / r.seconds) * 10) / 10;
    figures.attention_drag_n512 = r;
    console.log(`Attention drag at n = 512, CPU slowed ${RATE}×: ${JSON.stringify(r)}`);
    assertNoStall(r.long_tasks_ms, 'the logit-scale drag');
    assert.ok(r.redraws_per_s > 0, `${r.redraws_per_s} redraws per second`);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test(`the 16× sweep with the CPU slowed ${RATE}×: no main-thread task over ${STALL_MS} ms, each over 50 ms recorded`, async () => {
  const { page, context, problems } = await openSlowed('?page=attention&base=128', () =>
    /^Lengths/.test(document.querySelector('[data-testid=sweep-status]')?.textContent ?? ''),
  );
  try {
    await recordLongTasks(page);
    // A new base length sweeps again.
    await page.fill('#ctl-base-number', '256');
    await page.press('#ctl-base-number', 'Enter');
    await page.waitForFunction(() => /^Lengths.*256/.test(document.querySelector('[data-testid=sweep-status]')?.textContent ?? ''), null, {
      timeout: 120_000,
    });
    const long = await longTasks(page);
    figures.attention_sweep_long_tasks_ms = long;
    assertNoStall(long, 'the sweep');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test(`the fitting race with the CPU slowed ${RATE}×: no main-thread task over ${STALL_MS} ms, each over 50 ms recorded`, async () => {
  const { page, context, problems } = await openSlowed(
    '?page=activations&race=relu,silu,polyrelu,polynorm&target=chirp&width=12&layers=2&steps=600&lr=0.02&seed=11',
    () => document.querySelector('[data-testid=race-status]'),
  );
  try {
    await openTab(page, 'race');
    await recordLongTasks(page);
    await page.click('[data-testid=race-reset]');
    await page.waitForFunction(() => /^Finished: step 600/.test(document.querySelector('[data-testid=race-status]')?.textContent ?? ''), null, {
      timeout: 180_000,
    });
    const long = await longTasks(page);
    figures.race_long_tasks_ms = long;
    assertNoStall(long, 'the race');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test(`training 200 steps with the CPU slowed ${RATE}×: no main-thread task over ${STALL_MS} ms, each over 50 ms recorded`, async () => {
  const { page, context, problems } = await openSlowed('?page=model&task=copy&len=4&steps=200&batch=8', () =>
    document.querySelector('[data-testid=train]'),
  );
  try {
    await recordLongTasks(page);
    await page.click('[data-testid=train]');
    await page.waitForFunction(() => /^done/.test(document.querySelector('[data-testid=runs-table] tbody tr')?.children[1].textContent ?? ''), null, {
      timeout: 300_000,
    });
    const long = await longTasks(page);
    figures.training_long_tasks_ms = long;
    assertNoStall(long, 'training');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
