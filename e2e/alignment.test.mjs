// The Alignment lab: loaded on demand; loss curves that follow the formulas; the DPO toy's
// 3D-properties, trained in the worker with progress; best-of-N against the tilt; Nash
// dynamics on rock–paper–scissors; exports, bad input, replayed links, screenshots.
import assert from 'node:assert/strict';
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
after(() => writeFileSync(`${OUT}/alignment-figures.json`, JSON.stringify(figures, null, 2)));

async function labReady(page) {
  await page.waitForSelector('[data-testid=chart-loss] svg path', { timeout: 30_000 });
}

async function toyTrained(page, timeout = 60_000) {
  await page.waitForFunction(() => /^Trained/.test(document.querySelector('[data-testid=toy-status]')?.textContent ?? ''), null, {
    timeout,
  });
}

/** The CSV's rows as objects keyed by the header. */
function parseCsv(text) {
  const [head, ...rows] = text.trim().split('\n').map((l) => l.split(','));
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

const csvOf = async (page, chart) => parseCsv((await download(page, () => page.click(`[data-testid=${chart}] .export >> text=CSV`))).text);
const softplus = (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const sigmoid = (x) => 1 / (1 + Math.exp(-x));
const ms = (text) => Number(/in ([\d.]+) ms/.exec(text)[1]);

test('the lab loads as its own module; every panel renders, each within 100 ms', async () => {
  const { page, context, problems } = await open(browser, '?page=attention');
  await rendered(page);
  const loaded = [];
  page.on('request', (r) => loaded.push(new URL(r.url()).pathname));
  await page.click('nav >> text=Alignment');
  await labReady(page);
  await toyTrained(page);
  assert.ok(loaded.some((p) => p.endsWith('softplay-lab-alignment_bg.wasm')), `lab module fetched: ${loaded}`);
  assert.ok(!loaded.some((p) => p.endsWith('softplay-lab-activations_bg.wasm')), 'the other lab is not fetched');
  await eventually(page, async () => {
    for (const chart of ['chart-loss', 'chart-weight', 'chart-toy-logp', 'chart-toy-mass', 'chart-toy-kl', 'chart-toy-policy', 'chart-bon-frontier', 'chart-bon-kl', 'chart-nash']) {
      assert.ok((await page.$$(`[data-testid=${chart}] svg path`)).length > 0, `${chart} has curves`);
    }
    assert.equal(await page.locator('[data-testid=simplex] polyline').count(), 3);
    assert.equal(await page.locator('[data-testid=loss-formulas] math').count() >= 4, true);
  }, 'every chart drawn, the simplex and the formulas');
  // Each panel's time, once it says one.
  const timeOf = (selector) => waitForText(page, selector, /in [\d.]+ ms/).then(ms);
  figures.losses_ms = await timeOf('[data-testid=losses-time]');
  figures.toy_worker_ms = await timeOf('[data-testid=toy-status]');
  figures.bon_ms = await timeOf('[data-testid=bon-time]');
  figures.nash_ms = await timeOf('[data-testid=nash-time]');
  for (const [k, v] of Object.entries(figures)) assert.ok(v < 100, `${k}: ${v} ms`);
  // The address bar follows with the lab's own settings within 150 ms.
  await waitForQuery(page, /page=alignment&v=2&curves=dpo,cdpo,rdpo,hinge&/);
  const dist = new URL('../dist/', import.meta.url);
  const gz = (f) => gzipSync(readFileSync(new URL(f, dist)), { level: 9 }).length;
  figures.lab_module_gzip_bytes = gz('softplay-lab-alignment.js') + gz('softplay-lab-alignment_bg.wasm');
  assert.deepEqual(problems, []);
  await context.close();
});

test('moving β changes the DPO curve as the formula predicts; the marks follow', async () => {
  const { page, context, problems } = await open(browser, '?page=alignment');
  await labReady(page);
  await page.fill('#ctl-beta-number', '0.5');
  await page.press('#ctl-beta-number', 'Enter');
  await waitForQuery(page, 'beta=0.5&');
  const loss = await csvOf(page, 'chart-loss');
  const weight = await csvOf(page, 'chart-weight');
  assert.equal(loss.length, 801);
  let worst = 0;
  for (let i = 0; i < loss.length; i++) {
    const h = Number(loss[i]['margin h']);
    worst = Math.max(worst, Math.abs(Number(loss[i].DPO) - softplus(-0.5 * h)));
    worst = Math.max(worst, Math.abs(Number(weight[i].DPO) - 0.5 * sigmoid(-0.5 * h)));
    // cDPO: (1 − ε) sp(−βh) + ε sp(βh), ε = 0.1.
    worst = Math.max(worst, Math.abs(Number(loss[i]['cDPO (label smoothing)']) - (0.9 * softplus(-0.5 * h) + 0.1 * softplus(0.5 * h))));
  }
  assert.ok(worst < 1e-9, `DPO/cDPO at β = 0.5 off by ${worst}`);
  // cDPO's zero gradient at ln(9)/0.5 = 4.39, now inside ±10; the hinge stops at 1/β = 2.
  await waitForText(page, '[data-testid=chart-weight] svg', [/cDPO: zero gradient h = 4\.39/, /hinge: no gradient past h = 2\.00/]);
  // At β = 0.1 the cDPO point (21.97) lies outside the range, and the page says so.
  await page.fill('#ctl-beta-number', '0.1');
  await page.press('#ctl-beta-number', 'Enter');
  await page.waitForFunction(() => /21\.97/.test(document.querySelector('[data-testid=marks-outside]')?.textContent));
  // A loss that cannot be removed (the last one) is refused with a message. (The link is the
  // page's own, read once it names the curves: Playwright's page.url() may lag it.)
  const link = await waitForQuery(page, /[?&]curves=/);
  await page.goto(BASE + link.replace(/curves=[^&]+/, 'curves=kto'));
  await labReady(page);
  await waitForText(page, '[data-testid=chart-loss] .legend', /KTO \(desirable\).*KTO \(undesirable\)/s);
  await page.click('#loss-kto');
  await waitForText(page, '[data-testid=loss-picker] .control-message', /At least one loss/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('the DPO toy: rejected log-probability falls below its start, unseen mass rises; remedies and roles', async () => {
  const { page, context, problems } = await open(browser, '?page=alignment');
  await labReady(page);
  await openTab(page, 'toy');
  await toyTrained(page);
  const logp = await csvOf(page, 'chart-toy-logp');
  const mass = await csvOf(page, 'chart-toy-mass');
  const first = (rows, k) => Number(rows[0][k]);
  const last = (rows, k) => Number(rows[rows.length - 1][k]);
  figures.toy_default = {
    rejected: [first(logp, 'ln π(rejected)'), last(logp, 'ln π(rejected)')],
    chosen: [first(logp, 'ln π(chosen)'), last(logp, 'ln π(chosen)')],
    unseen: [first(mass, 'mass on unseen responses'), last(mass, 'mass on unseen responses')],
  };
  assert.ok(last(logp, 'ln π(rejected)') < first(logp, 'ln π(rejected)') - 2, JSON.stringify(figures.toy_default));
  assert.ok(last(mass, 'mass on unseen responses') > first(mass, 'mass on unseen responses'), JSON.stringify(figures.toy_default));
  await waitForText(page, '[data-testid=toy-summary]', /drastic drop.*degradation.*dispersion/);
  // The SFT term keeps the chosen response rising.
  await page.fill('#ctl-sft-number', '0.1');
  await page.press('#ctl-sft-number', 'Enter');
  await waitForText(page, '[data-testid=toy-summary]', /rose from/);
  // The worker may send partial traces: export the finished one.
  await toyTrained(page);
  const sft = await csvOf(page, 'chart-toy-logp');
  assert.ok(last(sft, 'ln π(chosen)') > first(sft, 'ln π(chosen)'));
  // Marking: response 14 becomes chosen, then rejected; the last chosen cannot be unmarked.
  await page.click('[data-testid=role-0-14]');
  await waitForQuery(page, 'chosen=12,14&');
  await page.click('[data-testid=role-0-14]');
  await waitForQuery(page, 'rejected=10,14&');
  await page.click('[data-testid=role-0-12]');
  await waitForText(page, '[data-testid=role-editor] .control-message', /needs a chosen response/);
  await waitForQuery(page, /chosen=12&/);
  await page.click('text=Add a prompt');
  await waitForQuery(page, /chosen=12\/\d+&/);
  await toyTrained(page);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a long toy run trains in the worker and shows its progress; the page stays responsive', async () => {
  const long = '?page=alignment&resp=256&feat=64&tsteps=20000&chosen=12,40,100/5&rejected=10,50,200/7';
  const { page, context, problems } = await open(browser, long);
  await labReady(page);
  await page.waitForFunction(() => /Training… step \d+ of 20000/.test(document.querySelector('[data-testid=toy-status]')?.textContent ?? ''), null, {
    timeout: 30_000,
  });
  // The curves grow while it trains: this is the first run, so a curve drawn while the status
  // still says "Training" is a partial trace.
  await page.waitForFunction(
    () =>
      /Training/.test(document.querySelector('[data-testid=toy-status]')?.textContent) &&
      document.querySelector('[data-testid=chart-toy-logp] svg path') !== null,
    null,
    { timeout: 30_000 },
  );
  // The main thread answers while the worker trains.
  const t0 = Date.now();
  await page.evaluate(() => new Promise(requestAnimationFrame));
  figures.frame_while_training_ms = Date.now() - t0;
  await toyTrained(page, 120_000);
  figures.long_toy_worker_ms = ms(await page.textContent('[data-testid=toy-status]'));
  assert.ok(figures.frame_while_training_ms < 500);
  assert.deepEqual(problems, []);
  await context.close();
});

test('best-of-N: exact KL under the formula, the tilt at least as good; custom outcomes checked', async () => {
  const { page, context, problems } = await open(browser, '?page=alignment');
  await labReady(page);
  const rows = await eventually(page, async () => {
    const rows = await page.$$eval('[data-testid=bon-table] tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    assert.equal(rows.length, 6);
    return rows;
  }, 'the best-of-N table, N = 1 to 6 rows');
  for (const [n, kl, formula, bon, tilt] of rows) {
    assert.ok(Number.isFinite(Number(bon)), `N=${n}: reward ${bon}`);
    assert.ok(Number(kl) <= Number(formula) + 1e-9, `N=${n}: exact KL ${kl} above ln N − (N−1)/N = ${formula}`);
    assert.ok(Number(tilt) >= Number(bon) - 1e-3, `N=${n}: tilt ${tilt} below best-of-N ${bon}`);
  }
  figures.bon_table = rows;
  await openTab(page, 'bon');
  // Custom outcomes: a bad entry is named and the last good list kept.
  await page.click('text=Edit this distribution');
  await waitForQuery(page, 'base=custom');
  await page.fill('#ctl-br', '0, 1, banana');
  await page.press('#ctl-br', 'Enter');
  await page.locator('#ctl-br').blur();
  await waitForText(page, '[data-testid=bon-message]', /rewards number 3 is “banana”: must be a number in -1000000\.\.1000000; the last good list is kept/);
  await page.fill('#ctl-bp', '1, 1, 2');
  await page.locator('#ctl-bp').blur();
  await page.fill('#ctl-br', '0, 1, 5');
  await page.locator('#ctl-br').blur();
  await waitForQuery(page, 'bp=1,1,2&br=0,1,5');
  // N = 2 on {0: ¼, 1: ¼, 5: ½}: P(best = 5) = 1 − ¼ = ¾, reward 0·1/16 + 1·3/16 + 5·3/4.
  await page.waitForFunction(() => document.querySelector('[data-testid=bon-table] tbody tr td:nth-child(4)')?.textContent === '3.9375');
  assert.deepEqual(problems, []);
  await context.close();
});

test('rock–paper–scissors: self-play keeps cycling, EGPO falls below 1e-3; exports', async () => {
  const { page, context, problems } = await open(browser, '?page=alignment&pref=rps&k=3');
  await labReady(page);
  // The table, once it has the three methods (its "before" is compared against below).
  const table = await until(page, async () => {
    const t = await page.$$eval('[data-testid=nash-table] tbody tr', (trs) =>
      Object.fromEntries(trs.map((tr) => [tr.dataset.method, [...tr.cells].map((c) => c.textContent)])),
    );
    return t.SelfPlay?.length > 3 && t.Egpo?.length > 2 && t.NashMd?.length > 2 && t;
  }, 'the Nash table with self-play, EGPO and Nash-MD');
  figures.nash_rps = table;
  const [lo, hi] = table.SelfPlay[3].split(' … ').map(Number);
  assert.ok(lo > 1e-2 && hi > lo, `self-play over the last 20%: ${lo} … ${hi}`);
  assert.ok(Number(table.Egpo[2]) < 1e-3, `EGPO ends at ${table.Egpo[2]}`);
  assert.ok(Number(table.NashMd[2]) < 1e-3, `Nash-MD ends at ${table.NashMd[2]}`);
  await openTab(page, 'nash');
  const csv = await download(page, () => page.click('[data-testid=chart-nash] .export >> text=CSV'));
  assert.equal(csv.name, 'exploitability-rps-k3.csv');
  assert.equal(parseCsv(csv.text).length > 100, true);
  await openTab(page, 'bon');
  const png = await download(page, () => page.click('[data-testid=chart-bon-frontier] .export >> text=PNG'));
  assert.deepEqual([...png.bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  // A custom matrix: a value out of range is named and not used.
  await openTab(page, 'nash');
  await page.click('text=Edit this matrix');
  await waitForQuery(page, 'pref=custom');
  await page.fill('[aria-label="P(1 ≻ 2)"]', '1.5');
  await page.locator('[aria-label="P(1 ≻ 2)"]').blur();
  await waitForText(page, '.matrix-editor .control-message', /P\(1 ≻ 2\) = “1\.5”: must be a number in 0\.\.1; kept 1/);
  await page.fill('[aria-label="P(1 ≻ 2)"]', '0.8');
  await page.locator('[aria-label="P(1 ≻ 2)"]').blur();
  await waitForQuery(page, 'pm=0.8,0,1&');
  // The panel follows: with 1 ≻ 2 no longer certain, self-play ends elsewhere.
  await page.waitForFunction(
    (before) => document.querySelector('[data-testid=nash-table] tr[data-method=SelfPlay] td:nth-child(3)')?.textContent !== before,
    table.SelfPlay[2],
  );
  assert.deepEqual(problems, []);
  await context.close();
});

test('a bad link is named value by value, and a shared link replays identical curves', async () => {
  const bad = '?page=alignment&beta=-3&resp=16&chosen=3,99&rejected=4&k=12&pm=2&bogus=1';
  const { page, context } = await open(browser, bad);
  await labReady(page);
  await waitForText(page, '.notices', [
    /ignored beta=-3: must be 0\.001\.\.10; using 0\.1/,
    /ignored chosen=3,99: needs 1 to 4 groups \(separated by \/\) of response numbers 0\.\.15; using the defaults/,
    /ignored k=12: must be 2\.\.8; using 3/,
    /ignored bogus=1: not a setting of the Alignment lab/,
    /ignored pm=2: needs 3 numbers in 0\.\.1; using the defaults/,
  ]);
  // The address bar shows what the lab uses, not the bad values.
  await waitForQuery(page, ['beta=0.1&', (q) => !q.includes('bogus')], 'the address bar to show beta=0.1 and no bogus');
  // Leaving and coming Back: the lab reads the entry again, with the settings changed since.
  await page.fill('#ctl-beta-number', '0.7');
  await page.press('#ctl-beta-number', 'Enter');
  await waitForQuery(page, 'beta=0.7&');
  await page.click('nav >> text=Attention');
  await page.waitForSelector('[data-testid=variant-panel], .variant-panel', { timeout: 30_000 });
  await page.goBack();
  await labReady(page);
  await page.waitForFunction(() => document.querySelector('#ctl-beta-number')?.value === '0.7');
  await waitForQuery(page, /beta=0\.7&/);
  await context.close();

  const link = '?page=alignment&loss=ipo&policy=tabular&onpolicy=1&samples=6&tsteps=300&seed=3&pref=random&k=4';
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const { page, context, problems } = await open(browser, link);
    await labReady(page);
    await toyTrained(page);
    await openTab(page, 'toy');
    const toy = (await download(page, () => page.click('[data-testid=chart-toy-logp] .export >> text=CSV'))).text;
    await openTab(page, 'nash');
    const nash = (await download(page, () => page.click('[data-testid=chart-nash] .export >> text=CSV'))).text;
    runs.push({ toy, nash });
    assert.deepEqual(problems, []);
    await context.close();
  }
  assert.equal(runs[0].toy, runs[1].toy);
  assert.equal(runs[0].nash, runs[1].nash);
});

test('screenshots, light and dark', async () => {
  for (const colorScheme of ['light', 'dark']) {
    const { page, context, problems } = await open(browser, '?page=alignment', { colorScheme });
    await labReady(page);
    await toyTrained(page);
    await page.screenshot({ path: `${OUT}/alignment-lab-${colorScheme}.png`, fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  }
});
