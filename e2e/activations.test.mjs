// The Activations lab: loaded on demand, functions and parameters, the computed property
// table, the KAN spline by dragging, the gated heatmap, the fitting race (bit-identical across
// runs, within 1e-3 of a native run), pause/resume/reset, exports, bad links, screenshots.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';

import { BASE, OUT, download, eventually, open, rendered, until, waitForQuery, waitForText, openTab } from './lib.mjs';
import { launchChromium } from './chromium.mjs';

let browser;
before(async () => {
  // The CPU backend: the numbers a shared link must reproduce on any machine.
  browser = await launchChromium(['--disable-features=WebGPU']);
});
after(async () => {
  await browser?.close();
});

const figures = {};
after(() => writeFileSync(`${OUT}/activations-figures.json`, JSON.stringify(figures, null, 2)));

/** A short race: four entrants, 300 steps, width 12, two layers, on the chirp. */
const RACE = '?page=activations&race=relu,silu,polyrelu,polynorm&target=chirp&width=12&layers=2&steps=300&lr=0.02&seed=11';

async function labReady(page) {
  await page.waitForSelector('[data-testid=chart-f] svg path', { timeout: 30_000 });
}

async function raceFinished(page, timeout = 120_000) {
  await page.waitForFunction(() => /^Finished/.test(document.querySelector('[data-testid=race-status]')?.textContent ?? ''), null, {
    timeout,
  });
}

function raceLosses(page) {
  return page.$$eval('[data-testid=race-losses] tbody tr', (rows) =>
    rows.map((r) => ({ unit: r.dataset.unit, loss: r.querySelector('td[data-value]').dataset.value })),
  );
}


/** The CSV's rows as objects keyed by the header. */
function parseCsv(text) {
  const [head, ...rows] = text.trim().split('\n').map((l) => l.split(','));
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

const sigmoid = (x) => 1 / (1 + Math.exp(-x));

test('the lab loads as its own module, after the shell, and the shell stays within budget', async () => {
  const { page, context, problems } = await open(browser, '?page=attention');
  await rendered(page);
  const loaded = [];
  page.on('request', (r) => loaded.push(new URL(r.url()).pathname));
  assert.equal(await page.$('[data-testid=chart-f]'), null);
  await page.click('nav >> text=Activations');
  await labReady(page);
  assert.ok(loaded.some((p) => p.endsWith('softplay-lab-activations_bg.wasm')), `lab module fetched: ${loaded}`);
  // The address bar follows with the lab's own settings (within 150 ms of the lab's state: right
  // after navigating it still reads `?page=activations`).
  await waitForQuery(page, /page=activations&v=2&fns=/);
  const dist = new URL('../dist/', import.meta.url);
  const gz = (f) => gzipSync(readFileSync(new URL(f, dist)), { level: 9 }).length;
  figures.lab_module_gzip_bytes = gz('softplay-lab-activations.js') + gz('softplay-lab-activations_bg.wasm');
  assert.deepEqual(problems, []);
  await context.close();
});

test('pick functions (1 to 8), move a parameter: curves, URL and exported values follow', async () => {
  const { page, context, problems } = await open(browser, '?page=activations&fns=relu,silu&xmax=2');
  await labReady(page);
  await page.check('#fn-tanh');
  await waitForQuery(page, 'fns=relu,silu,tanh');
  await waitForText(page, '[data-testid=chart-f] .legend', /tanh/);
  // Each shown function's definition and source.
  await waitForText(page, '[data-testid=formulas]', /tanh.*\(eˣ − e\^\(−x\)\)/s);
  // f″ on request.
  assert.equal(await page.$('[data-testid=chart-d2f]'), null);
  await page.check('#ctl-d2');
  await page.waitForSelector('[data-testid=chart-d2f] svg path');
  const withD2 = await waitForQuery(page, 'd2=1');
  // A ninth function is refused with a message; the last one cannot be removed.
  await page.goto(BASE + withD2.replace(/fns=[^&]+/, 'fns=relu,gelu,silu,mish,softplus,sigmoid,tanh,elu'));
  await labReady(page);
  await page.click('#fn-crrelu');
  await waitForText(page, '[data-testid=function-picker] .control-message', /At most 8 functions/);
  await eventually(page, async () => assert.equal(await page.isChecked('#fn-crrelu'), false), 'CReLU to stay unchecked');

  await page.goto(BASE + (await waitForQuery(page, 'fns=')).replace(/fns=[^&]+/, 'fns=silu'));
  await labReady(page);
  await page.click('#fn-silu');
  await waitForText(page, '[data-testid=function-picker] .control-message', /At least one/);
  // β = 2: the exported curve is x·σ(2x), checked here in float64.
  await page.fill('#ctl-beta-number', '2');
  await page.press('#ctl-beta-number', 'Enter');
  await waitForQuery(page, 'beta=2&');
  const csv = await download(page, () => page.click('[data-testid=chart-f] .export >> text=CSV'));
  assert.equal(csv.name, 'f-x-x2.csv');
  const rows = parseCsv(csv.text);
  assert.equal(rows.length, 401);
  let worst = 0;
  for (const r of rows) {
    const x = Number(r.x);
    worst = Math.max(worst, Math.abs(Number(r['SiLU / Swish']) - x * sigmoid(2 * x)));
  }
  assert.ok(worst < 1e-9, `SiLU(β=2) off by ${worst}`);
  // A typed value out of range is clamped, and the message names the range.
  await page.fill('#ctl-beta-number', '500');
  await page.press('#ctl-beta-number', 'Enter');
  await waitForText(page, '.control:has(#ctl-beta-number) .control-message', /500.*0\.05\.\.20/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('dragging a parameter redraws curves and properties at 30 frames per second or more', async () => {
  const { page, context } = await open(browser, '?page=activations&fns=relu,gelu,silu,mish,polyrelu,crrelu,rational,kan');
  await labReady(page);
  // This shared machine's speed moves by up to 2× within an hour: up to three 3 s windows are
  // measured, and the best counts (a page that cannot keep up fails all three).
  const windows = [];
  for (let i = 0; i < 3 && !(windows.length && windows[windows.length - 1].perSecond >= 30); i++) windows.push(await dragWindow(page));
  const result = windows.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  result.windows = windows.map((w) => Math.round(w.perSecond * 10) / 10);
  figures.parameter_drag_redraws_per_s = Math.round(result.perSecond * 10) / 10;
  figures.parameter_drag_long_tasks_ms = result.long.map(Math.round);
  console.log(`parameter drag: ${JSON.stringify(result)}`);
  assert.ok(result.perSecond >= 30, `${result.perSecond} redraws per second (windows: ${JSON.stringify(result.windows)})`);
  await context.close();
});

/** A 3 s drag of SiLU's β: redraws per second (frames showing new curves or properties) and long tasks. */
function dragWindow(page) {
  return page.evaluate(async () => {
    const slider = document.getElementById('ctl-beta');
    const path = () => document.querySelector('[data-testid=chart-f] svg path:nth-of-type(1)');
    const long = [];
    new PerformanceObserver((l) => l.getEntries().forEach((e) => long.push(e.duration))).observe({ entryTypes: ['longtask'] });
    let frames = 0;
    let last = '';
    const t0 = performance.now();
    let pos = 200;
    await new Promise((done) => {
      const step = () => {
        // Count the frames on which the page shows the previous input's curves.
        const svg = document.querySelector('[data-testid=chart-f] svg').innerHTML.length + ':' + document.querySelector('[data-testid=property-table] tbody').textContent;
        if (svg !== last) frames++;
        last = svg;
        pos = pos >= 800 ? 200 : pos + 3;
        slider.value = String(pos);
        slider.dispatchEvent(new Event('input', { bubbles: true }));
        if (performance.now() - t0 < 3000) requestAnimationFrame(step);
        else done();
      };
      requestAnimationFrame(step);
    });
    return { perSecond: frames / ((performance.now() - t0) / 1000), long, path: !!path() };
  });
}

test('the property table is computed: ReLU maps half of N(0,1) to 0, GELU is not monotone', async () => {
  const { page, context } = await open(browser, '?page=activations&fns=relu,gelu,tanh,polynorm');
  await labReady(page);
  await eventually(page, async () => {
    const table = await page.$$eval('[data-testid=property-table] tbody tr', (rows) =>
      Object.fromEntries(rows.map((r) => [r.dataset.function, [...r.querySelectorAll('td')].map((td) => td.textContent)])),
    );
    assert.ok(table.relu && table.gelu && table.tanh && table.polynorm, `rows: ${Object.keys(table)}`);
    assert.deepEqual(table.relu.slice(0, 5), ['yes', 'yes', 'no', 'no', 'left']);
    assert.equal(table.relu[9], '50.0%');
    assert.equal(table.gelu[0], 'no');
    assert.deepEqual(table.tanh.slice(0, 5), ['yes', 'yes', 'yes', 'yes', 'both sides']);
    assert.match(table.polynorm[0], /Row-wise/);
  }, 'the property table of ReLU, GELU, tanh and PolyNorm');
  // Leaky ReLU with α = 0 is ReLU: the table follows the parameter. The link opened has no
  // `lalpha` until the address bar has followed the lab's whole state: wait for it.
  const full = await waitForQuery(page, /[?&]lalpha=/, 'the address bar to carry every setting (lalpha among them)');
  await page.goto(BASE + full.replace(/fns=[^&]+/, 'fns=leaky-relu').replace(/lalpha=[^&]+/, 'lalpha=0'));
  await labReady(page);
  await eventually(page, async () => {
    const leaky = await page.$$eval('[data-testid=property-table] tbody tr td', (tds) => tds.map((t) => t.textContent));
    assert.equal(leaky[9], '50.0%');
  }, 'Leaky ReLU (α = 0) to map half of N(0,1) to 0');
  await context.close();
});

test('the KAN spline follows a dragged point and the arrow keys', async () => {
  const { page, context } = await open(browser, '?page=activations&fns=kan');
  await labReady(page);
  const point = page.locator('.kan-point[data-index="3"]');
  await point.scrollIntoViewIfNeeded();
  const box = await point.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, box.y - 40, { steps: 5 });
  await page.mouse.up();
  // The control point holds the state; the address bar follows within 150 ms.
  const value = async () => Number(await point.getAttribute('aria-valuenow'));
  const inUrl = () => page.evaluate(() => Number(new URLSearchParams(location.search).get('kc').split(',')[3]));
  // The point's value once the address bar shows the same (both follow the drag's last move).
  const dragged = await eventually(page, async () => {
    const v = await value();
    assert.ok(v > 0.9, `c3 went up from 0.9: ${v}`);
    assert.equal(await inUrl(), v, 'the link holds the dragged c3');
    return v;
  }, 'c3 above 0.9, in the point and in the link');
  await point.focus();
  await page.keyboard.press('ArrowUp');
  const want = Math.round(Math.min(3, dragged + 0.05) * 100) / 100;
  await eventually(page, async () => {
    assert.equal(await value(), want);
    assert.equal(await inUrl(), want);
  }, `c3 = ${want} after ArrowUp, in the point and in the link`);
  await context.close();
});

test('the gated heatmap: diverging colours, and the readout is SiLU(a)·b', async () => {
  const { page, context } = await open(browser, '?page=activations&gate=swiglu&grange=4&beta=1');
  await labReady(page);
  await openTab(page, 'gate');
  const canvas = page.locator('.gate-canvas');
  // The canvas is painted after the lab's first drawing: wait until it is.
  await eventually(page, async () => {
    const colours = await page.evaluate(() => {
      const c = document.querySelector('.gate-canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const set = new Set();
      for (let i = 0; i < d.length; i += 4) set.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
      // Top-right (a, b > 0) is red, bottom-right (a > 0, b < 0) is blue.
      const at = (x, y) => [...d.slice((y * c.width + x) * 4, (y * c.width + x) * 4 + 3)];
      return { count: set.size, width: c.width, topRight: at(c.width - 1, 0), bottomRight: at(c.width - 1, c.height - 1) };
    });
    assert.equal(colours.width, 129);
    assert.ok(colours.count > 50, `${colours.count} colours`);
    assert.ok(colours.topRight[0] > colours.topRight[2], `top right is red: ${colours.topRight}`);
    assert.ok(colours.bottomRight[2] > colours.bottomRight[0], `bottom right is blue: ${colours.bottomRight}`);
  }, 'the gated heatmap painted in diverging colours');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  // Cell (row 32, column 96): a = 2, b = 2.
  await page.mouse.move(box.x + (96.5 / 129) * box.width, box.y + (32.5 / 129) * box.height);
  const readout = /a = ([-\d.]+), b = ([-\d.]+): ([-\d.e]+)/;
  const text = await waitForText(page, '[data-testid=gate-readout]', readout);
  const m = readout.exec(text);
  assert.ok(m, text);
  const [a, b, v] = m.slice(1).map(Number);
  assert.equal(a, 2);
  assert.equal(b, 2);
  assert.ok(Math.abs(v - a * sigmoid(a) * b) < 1e-3, `${v} vs ${a * sigmoid(a) * b}`);
  await context.close();
});

test('the race: bit-identical in two runs, within 1e-3 of a native run; CSV of every step', async () => {
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const { page, context, problems } = await open(browser, RACE);
    await labReady(page);
    await openTab(page, 'race');
    const t0 = Date.now();
    await raceFinished(page);
    if (i === 0) {
      figures.race_ms = Date.now() - t0;
      figures.race_status = await page.textContent('[data-testid=race-status]');
      const csv = await download(page, () => page.click('[data-testid=race-csv]'));
      assert.match(csv.name, /^fitting-race-losses-chirp-w12x2-lr0\.02-seed11\.csv$/);
      const lines = csv.text.trim().split('\n');
      assert.equal(lines[0], 'step,ReLU,SiLU / Swish,PolyReLU,PolyNorm');
      assert.equal(lines.length, 1 + 300 + 1);
      assert.match(lines.at(-1), /^300 \(now\),/);
    }
    // Every entrant's final loss (the table is drawn with the finished status; wait for it).
    runs.push(await until(page, async () => {
      const losses = await raceLosses(page);
      return losses.length === 4 && losses.every((r) => r.loss !== undefined && r.loss !== '') && losses;
    }, 'the final losses of the four entrants'));
    assert.deepEqual(problems, []);
    await context.close();
  }
  assert.deepEqual(runs[0], runs[1], 'two runs of the same link');
  const native = JSON.parse(
    execFileSync('cargo', ['run', '-q', '-p', 'softplay-app', '--example', 'fit_native', '--', RACE.slice(1)], {
      encoding: 'utf8',
      timeout: 600_000,
    }),
  );
  assert.equal(native.step, 300);
  assert.deepEqual(native.units, runs[0].map((r) => r.unit));
  const rel = runs[0].map((r, i) => Math.abs(Number(r.loss) - native.losses[i]) / Math.abs(native.losses[i]));
  figures.race_losses = runs[0];
  figures.native_losses = native.losses;
  figures.largest_relative_difference_from_native = Math.max(...rel);
  assert.ok(Math.max(...rel) < 1e-3, `relative differences ${rel}`);
});

test('pause, resume and reset; the sparsity views fill in', async () => {
  const { page, context } = await open(browser, '?page=activations&race=relu,silu&steps=20000&width=64&layers=2');
  await labReady(page);
  await openTab(page, 'race');
  await page.waitForFunction(() => /^Running: step [1-9]/.test(document.querySelector('[data-testid=race-status]')?.textContent ?? ''));
  await page.click('[data-testid=race-pause]');
  await page.waitForFunction(() => /^Paused/.test(document.querySelector('[data-testid=race-status]')?.textContent ?? ''));
  const step = async () => Number(/step (\d+)/.exec(await page.textContent('[data-testid=race-status]'))[1]);
  // "Paused" shows only once the steps already asked for have come back, so the step holds from
  // here. A deliberate fixed wait: this checks that nothing changes during it.
  const paused = await step();
  await page.waitForTimeout(600);
  assert.equal(await step(), paused, 'no steps while paused');
  await page.click('[data-testid=race-resume]');
  await page.waitForFunction((s) => Number(/step (\d+)/.exec(document.querySelector('[data-testid=race-status]')?.textContent ?? '')?.[1]) > s, paused);
  figures.steps_per_s_w64x2 = /([\d]+) steps\/s/.exec(await page.textContent('[data-testid=race-status]'))?.[1];
  await page.click('[data-testid=race-reset]');
  await page.waitForFunction((s) => Number(/step (\d+)/.exec(document.querySelector('[data-testid=race-status]')?.textContent ?? '')?.[1]) < s, paused + 50);
  // Sparsity: ReLU's first layer has exact zeros, SiLU's has none.
  await page.click('[data-testid=race-pause]');
  await page.waitForFunction(() => /^Paused/.test(document.querySelector('[data-testid=race-status]')?.textContent ?? ''));
  await eventually(page, async () => {
    const ratios = await page.$$eval('[data-testid=sparsity-table] tbody tr', (rows) =>
      Object.fromEntries(rows.map((r) => [r.dataset.unit, Number(r.querySelector('td[data-value]').dataset.value)])),
    );
    assert.ok(ratios.relu < 0.9, `ReLU ratio ${ratios.relu}`);
    assert.equal(ratios.silu, 1);
  }, 'the sparsity table: exact zeros for ReLU, none for SiLU');
  await eventually(page, async () => assert.equal(await page.locator('[data-testid=histograms] figure').count(), 4), 'four histograms');
  await waitForText(page, '[data-testid=sparsity-contrast]', /ReLU: \d+% of layer-1 outputs non-zero at step 0/);
  await context.close();
});

test('a bad link is named, the lab still opens, and leaving and coming back keeps the settings', async () => {
  const { page, context } = await open(browser, '?page=activations&width=999&fns=relu,bogus&kc=1,2');
  await labReady(page);
  await waitForText(page, '.notices', [
    /ignored width=999: must be 4\.\.64; using 16/,
    /“bogus” is not one of/,
    /ignored kc=1,2: needs 8 numbers, found 2/,
  ]);
  // The bad link (width=999) is rewritten within 150 ms.
  await waitForQuery(page, /width=16&/);
  await page.check('#fn-tanh');
  await waitForQuery(page, 'tanh');
  await page.click('nav >> text=Attention');
  await page.waitForSelector('main h1:text-is("Attention")');
  await page.goBack();
  await labReady(page);
  await eventually(page, async () => assert.equal(await page.isChecked('#fn-tanh'), true), 'tanh still picked after Back');
  await context.close();
});

test('a lab module that cannot load is reported with a retry; the rest of the page works', async () => {
  const { page, context } = await open(browser, '?page=activations', {
    route: (p) => p.route(/softplay-lab-activations_bg\.wasm(\?|$)/, (r) => r.abort()),
  });
  await rendered(page);
  await page.waitForSelector('.lab-failed', { timeout: 60_000 });
  await waitForText(page, '.lab-failed', /could not be loaded/);
  await page.unroute(/softplay-lab-activations_bg\.wasm(\?|$)/);
  await page.click('.lab-failed >> text=Try again');
  await labReady(page);
  await page.click('nav >> text=Attention');
  await page.waitForSelector('main h1:text-is("Attention")');
  await context.close();
});

test('screenshots, light and dark', async () => {
  for (const colorScheme of ['light', 'dark']) {
    const { page, context, problems } = await open(browser, RACE.replace('steps=300', 'steps=200'), { colorScheme });
    await labReady(page);
    await raceFinished(page);
    await page.screenshot({ path: `${OUT}/activations-lab-${colorScheme}.png`, fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  }
});
