// The Model lab: configured through its controls, a small transformer trains in the lab's
// worker (no main-thread task over 50 ms while three runs train), the same link replays the same curve bit for
// bit, the default preset's length sweep, pause and resume, inspection, checkpoints through
// download/upload and IndexedDB, bad links and bad files, screenshots.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { OUT, download, eventually, open, query, steady, textOf, waitForQuery, waitForText, openTab } from './lib.mjs';
import { launchChromium } from './chromium.mjs';

let browser;
before(async () => {
  browser = await launchChromium(['--disable-features=WebGPU']);
});
after(async () => {
  await browser?.close();
});

const figures = {};
after(() => writeFileSync(`${OUT}/model-figures.json`, JSON.stringify(figures, null, 2)));

async function labReady(page) {
  await page.waitForSelector('[data-testid=train]', { timeout: 30_000 });
}

/** Sets a number control (its text box) and confirms it. */
async function setNumber(page, key, value) {
  const id = (await page.$(`#ctl-${key}-number`)) ? `#ctl-${key}-number` : `#ctl-${key}`;
  await page.fill(id, String(value));
  await page.press(id, 'Enter');
}

/** Waits until `n` runs are in the table and none is waiting, starting, training or paused. */
async function runsDone(page, n, timeout = 120_000) {
  await page.waitForFunction(
    (n) => {
      const rows = [...document.querySelectorAll('[data-testid=runs-table] tbody tr')];
      return rows.length === n && rows.every((r) => /^(done|stopped|diverged|failed)/.test(r.children[1].textContent));
    },
    n,
    { timeout },
  );
}

/** Waits until every run has its length sweep drawn. */
async function swept(page, n) {
  try {
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=sweep-accuracy-chart] svg path').length >= n, n, {
      timeout: 60_000,
    });
  } catch (e) {
    const paths = await page.$$eval('[data-testid=sweep-accuracy-chart] svg path', (p) => p.length);
    throw new Error(`${paths} sweep lines of ${n}: ${await page.textContent('[data-testid=sweep-summary]')} / ${await page.textContent('[data-testid=runs-table]')}`);
  }
}

function parseCsv(text) {
  const [head, ...rows] = text.trim().split('\n').map((l) => l.split(','));
  return { head, rows: rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]]))) };
}

const csvOf = async (page, chart) => (await download(page, () => page.click(`[data-testid=${chart}] .export >> text=CSV`))).text;

/** The loss chart's CSV after one training run of the settings in the link `search`. */
async function trainOnce(search) {
  const { page, context, problems } = await open(browser, search);
  await labReady(page);
  await page.click('[data-testid=train]');
  await runsDone(page, 1);
  const csv = await csvOf(page, 'loss-chart');
  assert.deepEqual(problems, []);
  await context.close();
  return csv;
}

test('configured through the controls, 200 steps of copy train in the worker; the same link replays the same curve', async () => {
  const { page, context, problems } = await open(browser, '?page=model');
  await labReady(page);
  await page.selectOption('#ctl-task', 'copy');
  await setNumber(page, 'len', 4);
  await setNumber(page, 'steps', 200);
  await setNumber(page, 'batch', 16);
  await setNumber(page, 'lr', 0.01);
  await setNumber(page, 'warmup', 20);
  await waitForQuery(page, ['task=copy', 'steps=200']);
  await waitForText(page, '[data-testid=task-about]', /separator/);
  await waitForText(page, '[data-testid=task-sample]', /Sample: .* \| → /);
  // Long tasks on the main thread while training (the worker trains; the page draws).
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => window.longTasks.push([e.startTime, e.duration]))).observe({ type: 'longtask' });
  });
  const clickedAt = await page.evaluate(() => performance.now());
  await page.click('[data-testid=train]');
  await page.waitForFunction(() => /training: step \d+ of 200/.test(document.querySelector('[data-testid=train-status]')?.textContent ?? ''));
  const firstDrawnAt = await page.evaluate(() => performance.now());
  // The status while training names the speed and the time so far.
  await waitForText(page, '[data-testid=train-status]', [/training: step \d+ of 200/, /tokens\/s/, /elapsed/]);
  await runsDone(page, 1);
  const longTasks = (await page.evaluate(() => window.longTasks)).map(([t, d]) => ({ after_click_ms: Math.round(t - clickedAt), ms: Math.round(d) }));
  figures.copy_long_tasks_ms = longTasks;
  // Recorded here (this run lasts about a second, most of it the page's first drawing of the
  // run; a layout of 27–88 ms was traced there on this machine); the 50 ms check runs over the
  // preset's three runs below.
  figures.copy_first_drawn_after_ms = Math.round(firstDrawnAt - clickedAt);
  const csv = await csvOf(page, 'loss-chart');
  const { head, rows } = parseCsv(csv);
  const val = head.find((h) => h.endsWith('validation'));
  const vals = rows.map((r) => r[val]).filter((x) => x !== undefined && x !== '').map(Number);
  const first = vals[0];
  const last = vals[vals.length - 1];
  figures.copy_validation_loss = { first, last, steps: 200 };
  figures.copy_tokens_per_s = Number((await page.textContent('[data-testid=runs-table] tbody tr td:nth-child(7)')).replace(/\D/g, ''));
  assert.ok(Math.abs(first - Math.log(18)) < 0.2, `the untrained model starts near ln 18: ${first}`);
  assert.ok(last < 0.5, `copy learned in 200 steps: validation loss ${first} → ${last}`);
  const link = await query(page);
  assert.deepEqual(problems, []);
  await context.close();
  // The same link, a fresh page: the identical curve, every step's loss to the last bit.
  const again = await trainOnce(link);
  assert.equal(again, csv);
});

test('the default preset: softmax and sigmoid degrade with length where LSSAR holds; pause and resume', async () => {
  const { page, context, problems } = await open(browser, '?page=model');
  await labReady(page);
  const t0 = Date.now();
  await page.click('[data-testid=compare]');
  await page.waitForFunction(() => /step [1-9]\d* of 600/.test(document.querySelector('[data-testid=train-status]')?.textContent ?? ''));
  await page.click('[data-testid=pause]');
  await page.waitForFunction(() => /paused/.test(document.querySelector('[data-testid=train-status]')?.textContent ?? ''));
  // The slice in flight when Pause was pressed (at most ~80 ms of steps) still lands, and the
  // page shows no sign of when it has: wait until the step has stood still for 300 ms.
  const stepShown = async () => /step (\d+)/.exec(await textOf(page, '[data-testid=train-status]'))[1];
  const held = await steady(page, stepShown, 300, 'the step to settle after Pause');
  // A deliberate fixed wait: this checks that the step does not move during it.
  await page.waitForTimeout(600);
  assert.equal(await stepShown(), held, 'paused: the step holds');
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => window.longTasks.push(Math.round(e.duration)))).observe({ type: 'longtask' });
  });
  await page.click('[data-testid=resume]');
  await runsDone(page, 3, 180_000);
  // Two more runs start, train, are swept and drawn meanwhile: no main-thread task over 50 ms.
  figures.preset_long_tasks_ms = await page.evaluate(() => window.longTasks);
  assert.ok(figures.preset_long_tasks_ms.every((d) => d <= 50), `main-thread tasks over 50 ms while training: ${figures.preset_long_tasks_ms}`);
  await swept(page, 3);
  figures.preset_seconds = (Date.now() - t0) / 1000;
  await openTab(page, 'sweep');
  const { head, rows } = parseCsv(await csvOf(page, 'sweep-accuracy-chart'));
  const col = (name) => head.find((h) => h.startsWith(name));
  const at = (name, m) => Number(rows.find((r) => Number(r[head[0]]) === m)[col(name)]);
  const acc = {};
  for (const name of ['Softmax', 'LSSAR', 'Sigmoid']) acc[name] = [1, 2, 4, 8, 16].map((m) => at(name, m));
  figures.preset_accuracy = acc;
  figures.preset_tokens_per_s = await page.$$eval('[data-testid=runs-table] tbody tr td:nth-child(7)', (c) => c.map((x) => x.textContent));
  assert.ok(acc.Softmax[0] >= 60, `softmax learns the task at the trained length: ${acc.Softmax}`);
  assert.ok(acc.LSSAR[4] - acc.Softmax[4] >= 20, `at 16× LSSAR holds where softmax degrades: ${JSON.stringify(acc)}`);
  assert.ok(acc.LSSAR[4] - acc.Sigmoid[4] >= 20, `and where sigmoid degrades: ${JSON.stringify(acc)}`);
  assert.match(await page.textContent('[data-testid=sweep-summary]'), /LSSAR p=15 · GELU · rope #2 holds best/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('inspect a run; checkpoints round-trip through download and upload, and through IndexedDB; bad files are named', async () => {
  const { page, context, problems } = await open(browser, '?page=model&task=copy&len=4&steps=60&batch=8&lr=0.01&warmup=10');
  await labReady(page);
  await page.click('[data-testid=train]');
  await runsDone(page, 1);
  await swept(page, 1);
  // Inspection: a heatmap per layer and head, sparsity per layer, four completions.
  await openTab(page, 'inspect');
  await page.click('[data-testid=inspect]');
  await page.waitForSelector('[data-testid=completions] tbody tr');
  await eventually(page, async () => {
    assert.equal(await page.locator('[data-testid=completions] tbody tr').count(), 4);
    assert.equal(await page.locator('[data-testid=sparsity-table] tbody tr').count(), 2);
    assert.ok(await page.locator('[data-testid=inspect-heatmap] canvas').count() >= 1);
  }, 'four completions, sparsity for two layers and a heatmap');
  await waitForText(page, '[data-testid=inspect-tokens]', /\|/);

  const file = await download(page, () => page.click('[data-testid=runs-table] tbody tr >> text=Download'));
  assert.match(file.name, /^softplay-model-.*-run1-step60\.safetensors$/);
  const headerLen = Number(file.bytes.readBigUInt64LE(0));
  const header = JSON.parse(file.bytes.subarray(8, 8 + headerLen).toString('utf8'));
  assert.match(header.__metadata__['softplay.config'], /task=copy/);
  assert.deepEqual(header.wte.shape, [18, 32]);
  assert.equal(header.wte.dtype, 'F32');
  await page.setInputFiles('[data-testid=upload]', { name: file.name, mimeType: 'application/octet-stream', buffer: file.bytes });
  await runsDone(page, 2);
  await swept(page, 2);
  await waitForText(page, '[data-testid=lab-info]', /Loaded .* as run #2 \(step 60\)/);
  // The loaded weights are the saved ones: the same sweep, to the last digit.
  await openTab(page, 'sweep');
  const sweep = parseCsv(await csvOf(page, 'sweep-loss-chart'));
  const [a, b] = sweep.head.slice(1);
  for (const r of sweep.rows) assert.equal(r[a], r[b], `run 1 and its checkpoint agree at ${r[sweep.head[0]]}×`);

  // A bad file and a cut-off file: named, nothing loaded, the runs kept.
  await page.setInputFiles('[data-testid=upload]', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await waitForText(page, '[data-testid=lab-error]', /“notes\.txt” could not be loaded: 5 bytes is too short .* Nothing was loaded; your runs are unchanged/);
  await page.setInputFiles('[data-testid=upload]', { name: 'cut.safetensors', mimeType: 'application/octet-stream', buffer: file.bytes.subarray(0, file.bytes.length - 100) });
  await waitForText(page, '[data-testid=lab-error]', [/cut\.safetensors/, /do not hold its shape/]);
  assert.equal(await page.locator('[data-testid=runs-table] tbody tr').count(), 2);

  // IndexedDB: saved, listed, loaded as a third run.
  await page.click('[data-testid=runs-table] tbody tr:first-child >> text=Save in browser');
  await waitForText(page, '[data-testid=saved-table]', /step60\.safetensors/);
  await page.click('[data-testid=saved-table] tbody tr >> text=Load');
  await runsDone(page, 3);
  assert.deepEqual(problems, []);
  await context.close();
});

/** The saved checkpoints' `[bytes, step]`, as the page keeps them in IndexedDB. */
function savedSizes(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open('softplay');
        req.onsuccess = () => {
          const all = req.result.transaction('checkpoint-sizes').objectStore('checkpoint-sizes').getAll();
          all.onsuccess = () => (req.result.close(), resolve(all.result));
          all.onerror = () => reject(all.error);
        };
        req.onerror = () => reject(req.error);
      }),
  );
}

test('Save in browser says "Saved" only once the browser has stored it; a full storage is named in plain words and the run stays', async () => {
  const { page, context, problems } = await open(browser, '?page=model&task=copy&len=4&steps=20&batch=8');
  await labReady(page);
  await openTab(page, 'checkpoints');
  await waitForText(page, '[data-testid=storage-figures]', /This site stores [\d.]+ [MG]B of the [\d.]+ [MG]B this browser allows it\./);
  await page.click('[data-testid=train]');
  await runsDone(page, 1);

  // The site's storage made full: 200 KB in a cache, then the browser's quota for the site set
  // (DevTools protocol) to what it uses plus 20 KB, less than the checkpoint. The save's
  // transaction aborts, and the page says so instead of "Saved".
  const usage = await page.evaluate(async () => {
    await (await caches.open('filler')).put('/filler', new Response(new Uint8Array(200_000)));
    return (await navigator.storage.estimate()).usage;
  });
  const cdp = await context.newCDPSession(page);
  const origin = new URL(page.url()).origin;
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + 20_000 });
  await page.click('[data-testid=runs-table] tbody tr:first-child >> text=Save in browser');
  await waitForText(
    page,
    '[data-testid=lab-error]',
    /could not save softplay-model-.*-run1-step20\.safetensors in this browser: the browser refused to store \d+\.\d MB: its storage for this site is full; the run is still here — download it instead/,
  );
  assert.equal(await page.locator('[data-testid=lab-info]').count(), 0, 'no "Saved"');
  assert.doesNotMatch((await textOf(page, '[data-testid=saved-table]')) ?? '', /step20/);
  assert.equal(await page.locator('[data-testid=runs-table] tbody tr').count(), 1, 'the run is kept');
  await waitForText(page, '[data-testid=storage-figures]', /This site stores 0\.[2-9] MB/);

  // Room again: saved, listed with its step and size.
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  await page.click('[data-testid=runs-table] tbody tr:first-child >> text=Save in browser');
  await waitForText(page, '[data-testid=lab-info]', /Saved softplay-model-.*-run1-step20\.safetensors in this browser \(\d+\.\d MB\)\./);
  assert.equal(await page.locator('[data-testid=lab-error]').count(), 0, 'the earlier refusal is cleared');
  await waitForText(page, '[data-testid=saved-table]', /run1-step20\.safetensors\s*20\s*\d+ KB/);
  // The first save asked the browser to keep the site's storage; the page says what it answered.
  await waitForText(page, '[data-testid=storage-figures]', /persistent storage (granted|not granted)/);
  const sizes = await savedSizes(page);
  assert.equal(sizes.length, 1, JSON.stringify(sizes));
  assert.ok(sizes[0][1] === 20 && sizes[0][0] > 10_000, `[bytes, step]: ${JSON.stringify(sizes)}`);
  assert.deepEqual(problems, []);
  await context.close();
});

test('the saved list reads sizes only, and a database left by an older page (files without sizes) is listed, measured once and kept', async () => {
  const { page, context, problems } = await open(browser, '?page=about');
  await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open('softplay', 1);
        req.onupgradeneeded = () => req.result.createObjectStore('checkpoints');
        req.onsuccess = () => {
          const tx = req.result.transaction('checkpoints', 'readwrite');
          tx.objectStore('checkpoints').put(new Uint8Array(3000), 'older.safetensors');
          tx.oncomplete = () => (req.result.close(), resolve());
          tx.onerror = () => reject(tx.error);
        };
        req.onerror = () => reject(req.error);
      }),
  );
  await page.goto(page.url().replace('page=about', 'page=model'));
  await labReady(page);
  await openTab(page, 'checkpoints');
  await waitForText(page, '[data-testid=saved-table]', /older\.safetensors\s*0\s*3 KB/);
  await eventually(page, async () => assert.deepEqual(await savedSizes(page), [[3000, 0]]), 'its size written beside it');
  await page.reload();
  await labReady(page);
  await openTab(page, 'checkpoints');
  await waitForText(page, '[data-testid=saved-table]', /older\.safetensors\s*0\s*3 KB/);
  await page.click('[data-testid=saved-table] tbody tr:has-text("older") >> text=Delete');
  await page.waitForSelector('[data-testid=saved-table]', { state: 'detached' });
  assert.deepEqual(await savedSizes(page), []);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a bad link is named value by value, and settings that make no model say why', async () => {
  const { page, context } = await open(browser, '?page=model&layers=9&heads=3&lr=-1&bogus=1');
  await labReady(page);
  await waitForText(page, '.notices', [
    /ignored layers=9: must be 1\.\.8; using 2/,
    /ignored lr=-1: must be 0\.00001\.\.1; using 0\.003/,
    /ignored bogus=1: not a setting of the Model lab/,
  ]);
  // heads = 3 is in range, but 32 does not split into 3 heads: Train says why and waits.
  await waitForText(page, '[data-testid=model-size]', /Cannot train: model width 32 does not split into 3 heads/);
  await eventually(page, async () => assert.equal(await page.isDisabled('[data-testid=train]'), true), 'Train disabled');
  await setNumber(page, 'heads', 4);
  await waitForText(page, '[data-testid=model-size]', /parameters/);
  await eventually(page, async () => assert.equal(await page.isDisabled('[data-testid=train]'), false), 'Train enabled');
  await context.close();
});

test('the Tiny Shakespeare preset is a 10.7 M model that needs WebGPU: without it the run says why, and the CPU backend refuses it', async () => {
  const { page, context, problems } = await open(browser, '?page=model');
  await labReady(page);
  await page.click('[data-testid=preset-shakespeare]');
  await waitForQuery(page, (s) => {
    const q = new URLSearchParams(s);
    return q.get('task') === 'chars' && q.get('dmodel') === '384' && q.get('layers') === '6' && q.get('backend') === 'webgpu';
  });
  await waitForText(page, '[data-testid=model-size]', /^10\u202f\d{3}\u202f\d{3} parameters: needs WebGPU \(the CPU trains up to 4\u202f000\u202f000/);
  // This browser has no WebGPU: the run starts, and fails naming why, keeping the settings.
  await page.click('[data-testid=train]');
  await waitForText(page, '[data-testid=runs-table] tbody tr td:nth-child(2)', /^failed: a model of \d+ parameters trains only on WebGPU \(the CPU trains up to 4000000\), and it could not be placed there \(WebGPU was asked for, but .+\)$/);
  figures.shakespeare_without_webgpu = await textOf(page, '[data-testid=runs-table] tbody tr td:nth-child(2)');
  // On the CPU backend the same model cannot be trained at all, and Train says so.
  await page.selectOption('#ctl-backend', 'cpu');
  await waitForText(page, '[data-testid=model-size]', /^Cannot train: these settings make a model of 10\u202f\d{3}\u202f\d{3} parameters; the CPU trains up to 4\u202f000\u202f000: choose the Backend Auto or WebGPU/);
  await eventually(page, async () => assert.equal(await page.isDisabled('[data-testid=train]'), true), 'Train disabled');
  await waitForQuery(page, /[?&]backend=cpu(&|$)/);
  assert.equal(new URLSearchParams(await query(page)).get('dmodel'), '384', 'the settings are kept');
  assert.deepEqual(problems, []);
  await context.close();
});

test('screenshots, light and dark', async () => {
  for (const colorScheme of ['light', 'dark']) {
    const { page, context, problems } = await open(browser, '?page=model&task=copy&len=4&steps=80&batch=8&lr=0.01&warmup=10', { colorScheme });
    await labReady(page);
    await page.click('[data-testid=train]');
    await runsDone(page, 1);
    await swept(page, 1);
    await openTab(page, 'inspect');
    await page.click('[data-testid=inspect]');
    await page.waitForSelector('[data-testid=completions] tbody tr');
    await page.screenshot({ path: `${OUT}/model-lab-${colorScheme}.png`, fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  }
});
