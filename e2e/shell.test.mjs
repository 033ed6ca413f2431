// The app shell: routes, theming, keyboard and landmarks, the URL state, the worker, budgets.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';

import { BASE, OUT, backendKnown, eventually, launch, open, rendered, until, waitForQuery, waitForText } from './lib.mjs';

// `ready`: what shows that the page's lab has loaded and drawn (the labs after the shell).
const ROUTES = [
  { name: 'home', query: '', heading: "See how a transformer's nonlinearities behave" },
  { name: 'attention', query: '?page=attention', heading: 'Attention', ready: '.variant-panel' },
  { name: 'activations', query: '?page=activations', heading: 'Activations', ready: '[data-testid=chart-f] svg path' },
  { name: 'alignment', query: '?page=alignment', heading: 'Alignment', ready: '[data-testid=chart-loss] svg path' },
  { name: 'model', query: '?page=model', heading: 'Model', ready: '[data-testid=train]' },
  { name: 'about', query: '?page=about', heading: 'About Softplay' },
];

/** Waits until the route's heading shows and its lab (if any) has drawn. */
async function routeReady(page, route) {
  await rendered(page);
  await eventually(page, async () => assert.equal((await page.textContent('main h1')).trim(), route.heading), `the ${route.name} heading`);
  if (route.ready) await page.waitForSelector(route.ready, { timeout: 60_000 });
}

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('every file a page loads carries the build id: a content hash in its name, or ?v=<build id>', async () => {
  const seen = [];
  for (const route of ROUTES) {
    const { page, context } = await open(browser, route.query);
    page.on('request', (r) => seen.push(r.url()));
    await page.reload();
    await page.waitForSelector(route.ready ?? 'main h1', { timeout: 60_000 });
    // The workers load after the page: wait until the shell's has been asked for, then until
    // the network is quiet (the lab's own workers, a data file).
    await until(page, () => seen.some((u) => /softplay-worker_bg\.wasm/.test(u)), 'the worker to load');
    await page.waitForLoadState('networkidle');
    const id = await page.evaluate(() => document.querySelector('script[data-build]')?.dataset.build);
    assert.match(id ?? '', /^[0-9a-f]{12}$/, 'index.html carries the build id');
    const bad = seen
      .map((u) => new URL(u))
      .filter((u) => u.origin === new URL(BASE).origin && u.pathname !== new URL(BASE).pathname)
      .filter((u) => !/-[0-9a-f]{10,16}(_bg)?\.(js|wasm|css)$/.test(u.pathname) && u.searchParams.get('v') !== id);
    assert.deepEqual(bad.map((u) => u.pathname + u.search), [], `${route.name}: files without the build id`);
    await context.close();
    seen.length = 0;
  }
});

test('the site is served from a sub-path with no rewrite rules', () => {
  assert.match(new URL(BASE).pathname, /^\/[^/]+\/$/, `BASE ${BASE} should be a sub-path`);
});

test('every route loads in both themes with no console error, no failed request, nothing from another origin', async () => {
  for (const colorScheme of ['light', 'dark']) {
    for (const route of ROUTES) {
      const { page, context, problems, origins } = await open(browser, route.query, { colorScheme });
      await routeReady(page, route);
      const backend = await backendKnown(page);
      assert.match(backend, /^CPU \(wasm simd128\) in every lab(; the Model lab trains on WebGPU where its Backend setting asks)? — .+$/);
      await page.screenshot({ path: `${OUT}/${route.name}-${colorScheme}.png`, fullPage: true });
      assert.deepEqual(problems, [], `${route.name} (${colorScheme})`);
      assert.deepEqual([...origins], [new URL(BASE).origin], `${route.name} asked another origin`);
      await context.close();
    }
  }
});

test('every page has one banner, navigation, main and footer landmark, and every control a name', async () => {
  const { page, context } = await open(browser, '');
  for (const route of ROUTES) {
    await page.goto(BASE + route.query);
    await routeReady(page, route);
    const landmarks = () => page.evaluate(() => {
      const count = (sel) => document.querySelectorAll(sel).length;
      const unnamed = [...document.querySelectorAll('input, select, button, a[href]')]
        .filter((el) => {
          const name =
            el.getAttribute('aria-label') ||
            (el.labels && [...el.labels].map((l) => l.textContent).join('')) ||
            el.textContent ||
            el.getAttribute('title');
          return !name || !name.trim();
        })
        .map((el) => el.outerHTML.slice(0, 80));
      return { header: count('header'), nav: count('nav[aria-label]'), main: count('main'), footer: count('footer'), unnamed };
    });
    await eventually(
      page,
      async () => assert.deepEqual(await landmarks(), { header: 1, nav: 1, main: 1, footer: 1, unnamed: [] }, route.name),
      `${route.name}: one of each landmark and a name on every control`,
    );
  }
  await context.close();
});

test('the theme follows the system, the toggle switches it and the choice is remembered', async () => {
  const { page, context } = await open(browser, '', { colorScheme: 'dark' });
  await rendered(page);
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const systemDark = await background();
  assert.equal(await page.getAttribute('.theme-toggle', 'aria-pressed'), 'true');
  await page.click('.theme-toggle');
  await eventually(page, async () => {
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
    assert.equal(await page.getAttribute('.theme-toggle', 'aria-pressed'), 'false');
  }, 'the toggle to switch to the light theme');
  const light = await until(page, async () => {
    const b = await background();
    return b !== systemDark && b;
  }, `the background to change from the dark system's ${systemDark}`);
  await page.reload();
  await rendered(page);
  await eventually(page, async () => assert.equal(await background(), light, 'the light choice survives a reload on a dark system'), 'the light background after a reload');
  await context.close();
});

test('keyboard: skip link first, then the navigation works with Enter', async () => {
  const { page, context } = await open(browser, '');
  await rendered(page);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'skip-link');
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate(() => document.activeElement.textContent)) === 'Attention') break;
  }
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Attention');
  await page.keyboard.press('Enter');
  await page.waitForSelector('main h1:text-is("Attention")');
  await waitForQuery(page, /^\?page=attention&v=2&/);
  await context.close();
});

test('a crafted bad link is read safely and every rejected value is named', async () => {
  const bad = '?page=attention&n=1000000000&alg=online&scale=NaN&zoom=3&cmp=softmax';
  const { page, context, problems } = await open(browser, bad);
  await rendered(page);
  await waitForText(page, '.notice-link', [
    /ignored n=1000000000: must be 2\.\.1024; using 128/,
    /ignored scale=NaN: not a finite number \(must be 0\.01\.\.10000\); using 1/,
    /ignored zoom=3: not a setting of the Attention lab/,
    /ignored cmp=softmax: pick 2 to 4 different values; using softmax,lssa,lssar,sigmoid/,
  ]);
  await eventually(page, async () => {
    assert.equal(await page.inputValue('#ctl-n-number'), '128');
    assert.equal(await page.inputValue('#ctl-alg'), 'online', 'the good value in the same link is kept');
  }, 'the controls to show n = 128 and alg = online');
  // The bad link itself holds `alg=online`: wait for the rewritten one.
  await waitForQuery(page, [
    /^\?page=attention&v=2&cmp=softmax,lssa,lssar,sigmoid&alg=online&/,
    /&n=128&d=32&causal=1&scale=1&/,
    (q) => !/zoom|NaN/.test(q),
  ], 'the address bar to show the settings used, not the bad values');
  await page.screenshot({ path: `${OUT}/bad-link-notice.png`, fullPage: true });
  // A dismissed notice goes away.
  const before = await page.locator('.notice-link li').count();
  await page.click('.notice-link li:first-child .notice-dismiss');
  await eventually(page, async () => assert.equal(await page.locator('.notice-link li').count(), before - 1), 'one notice fewer');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a link from a newer version says so', async () => {
  const { page, context } = await open(browser, '?page=model&v=99&layers=3&future=1');
  await rendered(page);
  await waitForText(page, '.notice-link', [
    /made by a newer version of Softplay \(v=99; this page reads v=2\)/,
    /ignored future=1: not a setting of the Model lab/,
  ]);
  await eventually(page, async () => assert.equal(await page.inputValue('#ctl-layers-number'), '3'), 'layers = 3');
  await context.close();
});

test('moving a slider rewrites the link without adding history, and the link restores it', async () => {
  const { page, context } = await open(browser, '?page=attention&n=128&seed=11');
  await rendered(page);
  const length = await page.evaluate(() => history.length);
  await page.focus('#ctl-n');
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
  // The address bar follows the settings within a moment (at most every 150 ms).
  await waitForQuery(page, '&n=133&');
  await page.fill('#ctl-d-number', '16');
  await page.press('#ctl-d-number', 'Enter');
  await waitForQuery(page, '&d=16&');
  await page.selectOption('#ctl-alg', 'two-pass');
  await page.uncheck('#ctl-causal');
  const search = await waitForQuery(page, ['&causal=0&', /alg=two-pass&.*&n=133&d=16&causal=0&scale=1&.*&seed=11&/]);
  assert.equal(await page.evaluate(() => history.length), length, 'settings must not add history entries');
  // The link as the page holds it (Playwright's page.url() may lag a history update).
  const link = new URL(search, BASE).href;

  // A typed value outside the range is clamped, and the control says so.
  await page.fill('#ctl-n-number', '99999');
  await page.press('#ctl-n-number', 'Enter');
  await waitForText(page, '.control:has(#ctl-n-number) .control-message', /99999 is above the maximum of n \(2\.\.1024\): set to 1024/);
  await waitForQuery(page, '&n=1024&');

  // Opening the earlier link elsewhere restores exactly those settings.
  const other = await browser.newContext({ serviceWorkers: 'block' });
  const again = await other.newPage();
  await again.goto(link);
  await rendered(again);
  await eventually(again, async () => {
    assert.equal(await again.inputValue('#ctl-n-number'), '133');
    assert.equal(await again.inputValue('#ctl-d-number'), '16');
    assert.equal(await again.inputValue('#ctl-alg'), 'two-pass');
    assert.equal(await again.isChecked('#ctl-causal'), false);
    assert.equal(await again.inputValue('#ctl-seed'), '11');
  }, 'the link to restore n, d, alg, causal and seed');
  await other.close();
  await context.close();
});

test('navigation adds history entries, Back returns, and each lab keeps its settings', async () => {
  const { page, context, problems } = await open(browser, '');
  await rendered(page);
  await page.click('nav >> text=Model');
  await page.waitForSelector('main h1:text-is("Model")');
  await page.fill('#ctl-steps-number', '500');
  await page.press('#ctl-steps-number', 'Enter');
  await waitForQuery(page, 'steps=500');
  await page.click('nav >> text=About');
  await page.waitForSelector('main h1:text-is("About Softplay")');
  await page.goBack();
  await page.waitForSelector('main h1:text-is("Model")');
  await eventually(page, async () => assert.equal(await page.inputValue('#ctl-steps-number'), '500'), 'steps = 500 after Back');
  await page.goBack();
  await page.waitForSelector('main h1:text-is("See how a transformer\'s nonlinearities behave")');
  await waitForQuery(page, (q) => q === '', 'an empty query on the home page');
  // A lab opened a second time works as the first time (its worker outlives every mount).
  await page.click('nav >> text=Model');
  await page.waitForSelector('main h1:text-is("Model")');
  await page.click('[data-testid=train]');
  await page.waitForFunction(() => /step [1-9]\d* of 500/.test(document.querySelector('[data-testid=train-status]')?.textContent ?? ''), null, { timeout: 60_000 });
  assert.deepEqual(problems, []);
  await context.close();
});

test('the compute worker runs a long softmax with progress while the page stays responsive', async () => {
  const { page, context, problems } = await open(browser, '?page=about');
  await rendered(page);
  assert.match(
    await backendKnown(page),
    /^CPU \(wasm simd128\) in every lab; the Model lab trains on WebGPU where its Backend setting asks — WebGPU available: .+; its attention kernels agree with the CPU to \d\.\de-\d+$/,
    'Chromium with --enable-unsafe-webgpu has a WebGPU adapter that passes the start-up check',
  );
  await page.evaluate(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(e.duration);
    }).observe({ type: 'longtask' });
  });
  await page.selectOption('#check-len', String(1 << 24));
  await page.click('text=Run the compute check');
  await page.waitForFunction(() => Number(document.querySelector('progress').value) > 0);
  const progress = await page.evaluate(() => Number(document.querySelector('progress').value));
  assert.ok(progress > 0, `progress ${progress}`);
  // The page answers clicks while the worker computes.
  const pressed = (want) =>
    eventually(page, async () => assert.equal(await page.getAttribute('.theme-toggle', 'aria-pressed'), want), `aria-pressed=${want}`);
  await pressed('false');
  await page.click('.theme-toggle');
  await pressed('true');
  await page.click('.theme-toggle');
  await pressed('false');
  assert.equal(await page.$('[data-testid=check-result]'), null, 'the clicks were answered before the check ended');
  const result = await page.waitForSelector('[data-testid=check-result]', { timeout: 120_000 });
  const text = await result.textContent();
  const sum = Number(/Σp = ([0-9.]+)/.exec(text)[1]);
  assert.ok(Math.abs(sum - 1) < 1e-5, `Σp = ${sum}`);
  assert.match(text, /Softmax of 16777216 values/);
  const ms = Number(/in (\d+) ms/.exec(text)[1]);
  const longTasks = await page.evaluate(() => window.__longTasks);
  console.log(`compute check: 16M values in ${ms} ms; main-thread long tasks during it: ${JSON.stringify(longTasks)}`);
  assert.deepEqual(longTasks.filter((d) => d > 50), [], 'no main-thread task over 50 ms while the worker runs');
  assert.ok(ms > 100, 'the check ran long enough to measure responsiveness');
  await page.screenshot({ path: `${OUT}/about-compute-check.png`, fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});

test('leaving the About page mid-check and coming back does not start a second run', async () => {
  const { page, context, problems } = await open(browser, '?page=about');
  await rendered(page);
  await backendKnown(page);
  await page.selectOption('#check-len', String(1 << 24));
  await page.click('text=Run the compute check');
  await page.click('nav >> text=Attention');
  await page.waitForSelector('main h1:text-is("Attention")');
  await page.click('nav >> text=About');
  await page.waitForSelector('main h1:text-is("About Softplay")');
  await eventually(page, async () => assert.equal(await page.isDisabled('text=Run the compute check'), true, 'the first run is still going'), 'the check button to show the run still going');
  await page.waitForFunction(() => !document.querySelector('button.primary').disabled, null, { timeout: 120_000 });
  assert.deepEqual(problems, [], 'answers for the page that was left are dropped quietly');
  await context.close();
});

test('without WebGPU the page says it computes on the CPU, and why', async () => {
  const cpuOnly = await launch({ webgpu: false });
  try {
    const { page, problems } = await open(cpuOnly, '?page=about');
    await rendered(page);
    const backend = await backendKnown(page);
    assert.equal(
      backend,
      'CPU (wasm simd128) in every lab — WebGPU unavailable, using CPU (this browser or machine offers no WebGPU adapter)',
    );
    await page.click('text=Run the compute check');
    await page.waitForSelector('[data-testid=check-result]', { timeout: 120_000 });
    await page.screenshot({ path: `${OUT}/about-cpu-only.png`, fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await cpuOnly.close();
  }
});

test('a page that cannot start shows the banner with what went wrong and how to recover', async () => {
  const { page, context } = await open(browser, '?page=attention', {
    route: (p) => p.route(/softplay-app-.*_bg\.wasm(\?|$)/, (r) => r.abort()),
  });
  await page.waitForSelector('#fatal:not([hidden])', { timeout: 60_000 });
  await waitForText(page, '#fatal', /Softplay could not start .*Reload the page to recover/s);
  await page.screenshot({ path: `${OUT}/fatal-banner.png` });
  await context.close();
});

test('a worker that cannot load is reported, and the rest of the page works', async () => {
  const { page, context } = await open(browser, '?page=about', {
    route: (p) => p.route(/softplay-worker_bg\.wasm(\?|$)/, (r) => r.abort()),
  });
  await rendered(page);
  assert.match(await backendKnown(page), /^stopped — could not load the compute worker/);
  await waitForText(page, '.notice-error', /Computation is off: could not load the compute worker/);
  await page.click('text=Run the compute check');
  await waitForText(page, '.result.error', /The check failed: stopped — could not load the compute worker/);
  await page.click('nav >> text=Attention');
  await page.waitForSelector('main h1:text-is("Attention")');
  await context.close();
});

test('budgets: shell wasm+js ≤ 240 KB gzip, each lab module ≤ 320 KB gzip, first render ≤ 1 s; strict CSP', async () => {
  const dist = new URL('../dist/', import.meta.url);
  const shell = readdirSync(dist).filter((f) => /^softplay-app-.*(\.js|_bg\.wasm)$/.test(f));
  assert.equal(shell.length, 2, `expected the app's .js and _bg.wasm, found ${shell}`);
  const gzipBytes = shell.reduce((sum, f) => sum + gzipSync(readFileSync(new URL(f, dist)), { level: 9 }).length, 0);

  const html = readFileSync(new URL('index.html', dist), 'utf8');
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)[1];
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(csp, /'unsafe-eval'|'unsafe-inline'/);
  assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script');

  const renders = [];
  for (let i = 0; i < 5; i++) {
    const { page, context } = await open(browser, '?page=attention');
    await rendered(page);
    renders.push(await page.evaluate(() => performance.getEntriesByName('softplay-rendered')[0].startTime));
    await context.close();
  }
  renders.sort((a, b) => a - b);
  const median = renders[2];
  const gz = (f) => gzipSync(readFileSync(new URL(f, dist)), { level: 9 }).length;
  const labs = readdirSync(dist).filter((f) => /^softplay-lab-[a-z]+\.js$/.test(f)).map((f) => f.slice(13, -3));
  assert.ok(labs.length >= 4, `lab modules: ${labs}`);
  const lab_module_gzip_bytes = Object.fromEntries(labs.map((l) => [l, gz(`softplay-lab-${l}.js`) + gz(`softplay-lab-${l}_bg.wasm`)]));
  const figures = {
    shell_gzip_bytes: gzipBytes,
    lab_module_gzip_bytes,
    first_render_ms_median_of_5: Math.round(median),
    first_render_ms_all: renders.map(Math.round),
  };
  writeFileSync(`${OUT}/budgets.json`, JSON.stringify(figures, null, 2));
  console.log(`budgets: ${JSON.stringify(figures)}`);
  // 150 KB until the classroom (lessons, their editor, speaker notes, presenter mode, embeds)
  // came into the shell; docs/BENCHMARKS.md records what each part adds.
  assert.ok(gzipBytes <= 240 * 1024, `shell is ${gzipBytes} bytes gzip`);
  for (const [lab, bytes] of Object.entries(figures.lab_module_gzip_bytes)) {
    assert.ok(bytes <= 320 * 1024, `the ${lab} lab's module is ${bytes} bytes gzip`);
  }
  assert.ok(median <= 1000, `first render took ${median} ms`);
});
