// Embedding: one panel alone (embed=1&panel=…) sized to a 600×400 iframe with no header,
// navigation or footer, a link back to the full page, a bad panel named; the share dialog's
// iframe snippet for a chosen panel and its copy; the dialog's short link; and a panel embedded
// in another site's page (cross-origin), rendered with no errors.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { BASE, OUT, WAIT_MS, eventually, launch, open, rendered, until, waitForQuery, waitForText } from './lib.mjs';

const ORIGIN = new URL(BASE).origin;
const LAB_MS = 2 * WAIT_MS;
const FRAME = { width: 600, height: 400 };
const ATTENTION_DRAWN = '.variant-panel .heatmap[data-draws]:not([data-draws="0"])';

let browser;
before(async () => {
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
});

/** Collects a page's problems (its frames' too), as `open` does for its first page. */
function watch(page) {
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  return problems;
}

/** The CSS selector of a panel: the main view or a tab's panel. */
const panelOf = (panel) => (panel === 'main' ? '.bench-view' : `.tab-panel[data-panel="${panel}"]`);

/** What is shown of the workbench: the main view, the tab list, and each tab panel. */
function shown(target) {
  return target.evaluate(() => ({
    main: document.querySelector('.bench-view')?.checkVisibility() ?? null,
    tablist: document.querySelector('[role=tablist]')?.checkVisibility() ?? null,
    panels: Object.fromEntries([...document.querySelectorAll('.tab-panel[data-panel]')].map((p) => [p.dataset.panel, p.checkVisibility()])),
  }));
}

/** Asserts that only `panel` shows: the main view, or one tab's panel without its tab list. */
async function onlyPanel(target, page, panel) {
  await eventually(
    page,
    async () => {
      const s = await shown(target);
      assert.equal(s.main, panel === 'main', `the main view ${s.main ? 'shows' : 'is hidden'}`);
      assert.notEqual(s.tablist, true, 'the tab list is hidden');
      for (const [id, visible] of Object.entries(s.panels)) assert.equal(visible, id === panel, `the ${id} panel`);
    },
    `only the ${panel} panel to show`,
  );
}

/**
 * Asserts that the page fits its frame: the document does not scroll, and `main` ends inside
 * the frame and scrolls by itself when its content is taller.
 */
async function fits(target, page) {
  await eventually(
    page,
    async () => {
      const l = await target.evaluate(() => {
        const main = document.querySelector('main');
        const r = main.getBoundingClientRect();
        return {
          scrollHeight: document.scrollingElement.scrollHeight,
          scrollWidth: document.scrollingElement.scrollWidth,
          innerHeight,
          innerWidth,
          mainTop: r.top,
          mainBottom: r.bottom,
          overflowY: getComputedStyle(main).overflowY,
          taller: main.scrollHeight > main.clientHeight,
        };
      });
      assert.ok(l.scrollHeight <= l.innerHeight, `the document is ${l.scrollHeight} px high in a ${l.innerHeight} px frame`);
      assert.ok(l.scrollWidth <= l.innerWidth, `the document is ${l.scrollWidth} px wide in a ${l.innerWidth} px frame`);
      assert.ok(l.mainTop >= 0 && l.mainBottom <= l.innerHeight + 1, `main spans ${l.mainTop}..${l.mainBottom} px of ${l.innerHeight}: what lies below cannot be reached`);
      if (l.taller) assert.match(l.overflowY, /^(auto|scroll)$/, 'main scrolls its content');
      return l;
    },
    'the page to fit its frame, with main scrolling inside it',
  );
}

/**
 * The first figure, canvas or svg of the panel `sel`: scrolled into view first when `scroll`
 * (within main: the document itself must not scroll). Returns its box against the frame.
 */
function firstFigure(target, sel, scroll) {
  return target.evaluate(
    ([sel, scroll]) => {
      const panel = document.querySelector(sel);
      const el = panel?.querySelector('figure, canvas, svg');
      if (!el) return null;
      if (scroll) el.scrollIntoView({ block: 'nearest' });
      const r = el.getBoundingClientRect();
      return {
        top: r.top,
        bottom: r.bottom,
        left: r.left,
        width: r.width,
        height: r.height,
        visible: el.checkVisibility({ visibilityProperty: true }),
        innerHeight,
        innerWidth,
        documentScroll: [scrollX, scrollY, document.documentElement.scrollTop, document.body.scrollTop],
      };
    },
    [sel, scroll],
  );
}

async function figureInView(target, page, panel, { scroll }) {
  await eventually(
    page,
    async () => {
      const f = await firstFigure(target, panelOf(panel), scroll);
      assert.ok(f, `the ${panel} panel has a figure`);
      assert.ok(f.visible && f.width > 0 && f.height > 0, `the ${panel} panel's first figure is drawn: ${JSON.stringify(f)}`);
      assert.ok(f.top >= -1 && f.top < f.innerHeight && f.bottom > 0, `the ${panel} panel's first figure is in the frame: ${JSON.stringify(f)}`);
      assert.ok(f.left >= 0 && f.left < f.innerWidth, `the figure starts inside the frame: ${JSON.stringify(f)}`);
      assert.deepEqual(f.documentScroll, [0, 0, 0, 0], 'the document scrolled rather than main');
    },
    `the ${panel} panel's first figure in view`,
  );
}

for (const colorScheme of ['light', 'dark']) {
  test(`an embedded main view at 600×400 (${colorScheme}): no header, navigation or footer; it fits; it links back`, async () => {
    const { page, context, problems } = await open(browser, '?page=attention&embed=1&panel=main', { viewport: FRAME, colorScheme });
    await page.waitForSelector(ATTENTION_DRAWN, { timeout: LAB_MS });
    const search = await waitForQuery(page, [/^\?page=attention&v=2&cmp=/, (q) => q.endsWith('&embed=1&panel=main')]);
    assert.deepEqual(
      await page.evaluate(() => ({
        embed: document.documentElement.classList.contains('embed'),
        header: document.querySelector('.site-header') !== null,
        nav: document.querySelector('nav') !== null,
        footer: document.querySelector('.site-footer') !== null,
      })),
      { embed: true, header: false, nav: false, footer: false },
    );
    await onlyPanel(page, page, 'main');
    await fits(page, page);
    await figureInView(page, page, 'main', { scroll: false });

    // "Open in Softplay": the same experiment as a full page.
    const link = page.locator('a[data-testid=open-in-softplay]');
    assert.equal(await link.isVisible(), true);
    assert.equal(await link.getAttribute('target'), '_blank');
    const href = await link.getAttribute('href');
    assert.ok(href.startsWith(BASE), href);
    assert.equal(new URL(href).search, search.replace(/&embed=1&panel=main$/, ''), 'the link back is the page without embed= and panel=');
    await page.screenshot({ path: `${OUT}/embed-attention-${colorScheme}.png` });
    assert.deepEqual(problems, []);
    await context.close();
  });
}

test('an unknown panel is named with the panels there are, and the main view shown', async () => {
  const { page, context, problems } = await open(browser, '?page=attention&embed=1&panel=nosuch', { viewport: FRAME });
  await page.waitForSelector(ATTENTION_DRAWN, { timeout: LAB_MS });
  await waitForText(page, '.notice-link', "ignored panel=nosuch: the Attention lab's panels are main, sweep, stability, race; showing main");
  await onlyPanel(page, page, 'main');
  await waitForQuery(page, [/^\?page=attention&v=2&/, (q) => q.endsWith('&embed=1')], 'the address bar without panel=');
  assert.deepEqual(problems, []);
  await context.close();
});

test("each lab's tab panel embeds alone and fits its frame, main scrolling to its figure", async () => {
  for (const [lab, panel, ready] of [
    ['activations', 'gate', '[data-testid=gate-map] canvas'],
    ['alignment', 'toy', '[data-testid=chart-toy-logp]'],
    ['model', 'sweep', '[data-testid=sweep-accuracy-chart]'],
  ]) {
    const { page, context, problems } = await open(browser, `?page=${lab}&embed=1&panel=${panel}`, { viewport: FRAME });
    await page.waitForSelector(`${panelOf(panel)} ${ready}`, { state: 'attached', timeout: LAB_MS });
    await waitForQuery(page, [new RegExp(`^\\?page=${lab}&v=2&`), (q) => q.endsWith(`&embed=1&panel=${panel}`)]);
    await onlyPanel(page, page, panel);
    await fits(page, page);
    await figureInView(page, page, panel, { scroll: true });
    assert.equal(await page.$('.site-header, nav, .site-footer'), null, `${lab}: no header, navigation or footer`);
    assert.deepEqual(problems, [], `${lab} ${panel}`);
    await context.close();
  }
});

test("the share dialog's embed code: the chosen panel's iframe snippet, copied, opens that panel alone", async () => {
  const { page, context, problems } = await open(browser, '?page=attention&n=64');
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ORIGIN });
  await rendered(page);
  await page.waitForSelector(ATTENTION_DRAWN, { timeout: LAB_MS });
  const search = await waitForQuery(page, [/^\?page=attention&v=2&cmp=/, '&n=64&']);
  await page.click('[data-testid=qr]');
  await page.waitForSelector('[data-testid=qr-dialog] select[data-testid=embed-panel]', { timeout: WAIT_MS });
  assert.deepEqual(
    await page.$$eval('[data-testid=embed-panel] option', (os) => os.map((o) => o.value)),
    ['main', 'sweep', 'stability', 'race'],
  );

  /** The snippet's src, with its HTML escapes undone, once the snippet is an iframe. */
  const srcOf = (code) => {
    const m = /^<iframe src="([^"]+)" title="Softplay: the Attention lab" width="600" height="400"[^>]*><\/iframe>$/.exec(code);
    assert.ok(m, `the embed code is one iframe: ${code}`);
    assert.doesNotMatch(code, /&(?!amp;|quot;)/, 'every & in the snippet is written &amp;');
    return m[1].replaceAll('&amp;', '&');
  };
  const main = await eventually(page, async () => {
    const src = srcOf(await page.inputValue('[data-testid=embed-code]'));
    assert.ok(src.startsWith(BASE), src);
    assert.equal(new URL(src).search, `${search}&embed=1`);
    return src;
  }, 'the snippet for the main view');
  assert.ok(main);

  await page.selectOption('[data-testid=embed-panel]', 'sweep');
  const code = await eventually(page, async () => {
    const code = await page.inputValue('[data-testid=embed-code]');
    assert.equal(new URL(srcOf(code)).search, `${search}&embed=1&panel=sweep`);
    return code;
  }, 'the snippet to follow the chosen panel');
  await page.click('[data-testid=copy-embed]');
  await waitForText(page, '[data-testid=qr-dialog] .embed-code [role=status]', 'Copied');
  await eventually(page, async () => assert.equal(await page.evaluate(() => navigator.clipboard.readText()), code), 'the snippet on the clipboard');
  assert.deepEqual(problems, []);
  await context.close();

  // The snippet's address shows the sweep alone, at the iframe's size.
  const embedded = await open(browser, new URL(srcOf(code)).search, { viewport: FRAME });
  const { page: frame } = embedded;
  await frame.waitForSelector(`${panelOf('sweep')} figure`, { state: 'attached', timeout: LAB_MS });
  await waitForQuery(frame, (q) => q === `${search}&embed=1&panel=sweep`);
  await onlyPanel(frame, frame, 'sweep');
  await fits(frame, frame);
  await figureInView(frame, frame, 'sweep', { scroll: true });
  assert.deepEqual(embedded.problems, []);
  await embedded.context.close();
});

test('the short link leaves out the default settings and opens the same full address', async () => {
  const { page, context, problems } = await open(browser, '?page=attention&n=64&d=16');
  await rendered(page);
  await page.waitForSelector(ATTENTION_DRAWN, { timeout: LAB_MS });
  const full = await waitForQuery(page, [/^\?page=attention&v=2&cmp=/, '&n=64&d=16&']);
  await page.click('[data-testid=qr]');
  await waitForText(page, '[data-testid=qr-link]', (t) => t === `${BASE}${full}`, 'the dialog to show the full link');
  await page.check('[data-testid=qr-short]');
  const short = await waitForText(page, '[data-testid=qr-link]', (t) => t.length < `${BASE}${full}`.length, 'a shorter link');
  assert.equal(short, `${BASE}?page=attention&v=2&n=64&d=16`);
  assert.deepEqual(problems, []);
  await context.close();

  const again = await open(browser, new URL(short).search);
  await rendered(again.page);
  await waitForQuery(again.page, (q) => q === full, 'the short link to open the same full address as the original');
  assert.deepEqual(again.problems, []);
  await again.context.close();
});

test("a panel embedded in another site's page renders in its frame with no errors", async () => {
  const src = `${BASE}?page=alignment&embed=1&panel=bon`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A course page</title><link rel="icon" href="data:,"></head>
<body><h1>A course page</h1><p>Best-of-N, live:</p>
<iframe src="${src.replaceAll('&', '&amp;')}" title="Softplay: the Alignment lab" width="600" height="400" style="border:0"></iframe>
</body></html>`;
  const server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(html);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const context = await browser.newContext({ viewport: { width: 900, height: 700 }, serviceWorkers: 'block' });
  try {
    const host = `http://127.0.0.1:${server.address().port}/`;
    assert.notEqual(new URL(host).origin, ORIGIN, 'the host page is on another origin');
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(host);
    const frame = await until(page, () => page.frames().find((f) => f !== page.mainFrame() && f.url().startsWith(BASE)), 'the Softplay frame');
    await page.frameLocator('iframe').locator('[data-testid=chart-bon-frontier] svg path').first().waitFor({ state: 'attached', timeout: LAB_MS });
    assert.equal(await frame.evaluate(() => document.querySelector('.site-header, nav, .site-footer') !== null), false, 'no header, navigation or footer in the frame');
    assert.equal(await frame.evaluate(() => document.querySelector('.notice')?.textContent ?? null), null, 'no notice in the frame');
    await onlyPanel(frame, page, 'bon');
    await fits(frame, page);
    await figureInView(frame, page, 'bon', { scroll: true });
    await page.screenshot({ path: `${OUT}/embed-cross-origin.png` });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await new Promise((resolve) => server.close(resolve));
  }
});
