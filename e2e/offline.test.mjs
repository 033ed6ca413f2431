// The offline copy (www/sw.js): after one visit every lab works with the network off, training
// included; a newer build installs beside the running one, the page offers it, and reloading
// moves to it whole, never mixing files of the two.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';

import { BASE, OUT, launch, open, rendered } from './lib.mjs';

const LABS = [
  { query: '?page=attention', ready: '.variant-panel' },
  { query: '?page=activations', ready: '[data-testid=chart-f] svg path' },
  { query: '?page=alignment', ready: '[data-testid=chart-loss] svg path' },
  { query: '?page=model', ready: '[data-testid=train]' },
];
/** A model that trains in a few seconds on the CPU. */
const SMALL = 'page=model&task=copy&len=3&batch=8&layers=1&dmodel=16&heads=2&ffn=2&steps=30&warmup=3&lr=0.01&seed=4&backend=cpu';

let browser;
before(async () => {
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
});

/** Waits until the page is controlled by an activated service worker (its files cached). */
async function offlineReady(page) {
  await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated', null, { timeout: 60_000 });
}

test('after one visit every lab and lesson works with the network off, training included', async () => {
  const { page, context, problems } = await open(browser, '', { serviceWorkers: 'allow' });
  await rendered(page);
  await offlineReady(page);
  const cached = await page.evaluate(async () => {
    const cache = await caches.open((await caches.keys()).find((k) => k.startsWith('softplay-')));
    const keys = await cache.keys();
    let bytes = 0;
    for (const k of keys) bytes += (await (await cache.match(k)).arrayBuffer()).byteLength;
    return { files: keys.length, bytes, readyMs: performance.now() };
  });
  console.log(`offline copy: ${cached.files} files, ${cached.bytes} bytes, ready ${cached.readyMs.toFixed(0)} ms after navigation`);

  await context.setOffline(true);
  for (const lab of LABS) {
    await page.goto(BASE + lab.query);
    await rendered(page);
    await page.waitForSelector(lab.ready, { timeout: 60_000 });
  }
  // The lessons are files of the build too: their list and a step open offline.
  await page.goto(`${BASE}?page=lessons`);
  await page.waitForSelector('[data-testid=lesson-card]', { timeout: 60_000 });
  await page.goto(`${BASE}?lesson=softmax-flattens&step=2`);
  await page.waitForSelector('[data-testid=lesson-bar][data-step="2"]', { timeout: 60_000 });
  await page.goto(`${BASE}?${SMALL}`);
  await page.waitForSelector('[data-testid=train]', { timeout: 30_000 });
  await page.click('[data-testid=train]');
  await page.waitForFunction(
    () => {
      const rows = [...document.querySelectorAll('[data-testid=runs-table] tbody tr')];
      return rows.length === 1 && /^done/.test(rows[0].children[1].textContent);
    },
    null,
    { timeout: 120_000 },
  );
  await page.screenshot({ path: `${OUT}/offline-model.png` });
  assert.deepEqual(problems, []);
  await context.close();
});

const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain',
  '.webmanifest': 'application/manifest+json',
};

/** A static server of the folder `root()` names at the time of each request. */
function serve(root) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(root(), path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('a newer build installs beside the running one; the page offers it and reloads into it whole', async () => {
  // Build B is build A under another id (the files a deploy changes are index.html, build.json
  // and precache.json; the rest differ by content alone, which the id stands for).
  const dir = mkdtempSync(join(tmpdir(), 'softplay-update-'));
  const [a, b] = [join(dir, 'a'), join(dir, 'b')];
  cpSync('dist', a, { recursive: true });
  const idA = JSON.parse(readFileSync(join(a, 'build.json'), 'utf8')).build;
  const idB = idA === 'b'.repeat(12) ? 'c'.repeat(12) : 'b'.repeat(12);
  cpSync(a, b, { recursive: true });
  for (const file of ['index.html', 'build.json', 'precache.json']) {
    writeFileSync(join(b, file), readFileSync(join(b, file), 'utf8').replaceAll(idA, idB));
  }
  let root = a;
  const server = await serve(() => root);
  const context = await browser.newContext({ serviceWorkers: 'allow' });
  try {
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
    const site = `http://127.0.0.1:${server.address().port}/`;
    await page.goto(`${site}?page=attention`);
    await page.waitForSelector('.variant-panel', { timeout: 60_000 });
    await offlineReady(page);
    assert.equal(await page.evaluate(() => window.softplayBuild), idA);

    // The site moves to B; the open page learns it on its next load and offers it.
    root = b;
    await page.reload();
    await page.waitForSelector('.variant-panel', { timeout: 60_000 });
    await page.waitForSelector('#update:not([hidden])', { timeout: 60_000 });
    assert.equal(await page.evaluate(() => window.softplayBuild), idA, 'the page stays on its build until asked');
    await page.screenshot({ path: `${OUT}/offline-update-offered.png` });

    const builds = new Set();
    page.on('request', (r) => {
      // The page's own link has v=<settings version>; its files have v=<build id>.
      const v = new URL(r.url()).searchParams.get('v');
      if (v && r.resourceType() !== 'document') builds.add(v);
    });
    const reloaded = page.waitForEvent('load');
    await page.click('#update button');
    await reloaded;
    await page.waitForFunction((id) => window.softplayBuild === id, idB, { timeout: 30_000 });
    await page.waitForSelector('.variant-panel', { timeout: 60_000 });
    await page.waitForFunction((id) => navigator.serviceWorker.controller?.scriptURL.endsWith(`v=${id}`), idB, { timeout: 30_000 });
    assert.deepEqual([...builds], [idB], 'after the reload every file carries build B');
    assert.deepEqual(await page.evaluate(() => caches.keys()), [`softplay-${idB}`], 'the old build’s cache is gone');
    assert.equal(await page.isHidden('#update'), true);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
