// The workbench at every size of screen: the main figure in the first screen, no sideways
// scroll, touch targets on a phone, a control that moves the figure without moving the page,
// axe-core (WCAG 2.1 A and AA) on every page in both themes, and screenshots to look at.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';

import { OUT, eventually, launch, open, openTab, rendered, until } from './lib.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const SIZES = [
  { name: 'projector', width: 1280, height: 720 },
  { name: 'wide', width: 1920, height: 1080 },
  { name: 'phone', width: 390, height: 844, touch: true },
];

// Each lab's main figure (what its settings move) and its secondary panels.
const LABS = [
  { name: 'attention', figure: '.variant-panel .heatmap-canvas canvas', drawn: '.variant-panel .heatmap[data-draws]:not([data-draws="0"])', tabs: ['sweep', 'stability', 'race'] },
  { name: 'activations', figure: '[data-testid=chart-f] svg', drawn: '[data-testid=chart-f] svg path', tabs: ['properties', 'gate', 'race'] },
  { name: 'alignment', figure: '[data-testid=chart-loss] svg', drawn: '[data-testid=chart-loss] svg path', tabs: ['toy', 'bon', 'nash'] },
  { name: 'model', figure: '[data-testid=loss-chart] svg', drawn: '[data-testid=loss-chart] svg', tabs: ['sweep', 'inspect', 'checkpoints'] },
];

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function openLab(lab, size, colorScheme = 'light') {
  const opened = await open(browser, `?page=${lab.name}`, {
    colorScheme,
    viewport: { width: size.width, height: size.height },
    touch: size.touch ?? false,
  });
  await rendered(opened.page);
  await opened.page.waitForSelector(lab.drawn, { timeout: 60_000 });
  return opened;
}

/** The share of `selector`'s box inside the viewport, the page's scroll and its overflow. */
function measure(page, selector) {
  return page.evaluate(([s, screenWidth]) => {
    const r = document.querySelector(s).getBoundingClientRect();
    const w = Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0));
    const h = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
    return {
      top: r.top + scrollY,
      inView: (w * h) / Math.max(1, r.width * r.height),
      scrollY,
      // On a phone the browser widens the layout viewport to fit what is too wide: innerWidth
      // then exceeds the screen's width.
      overflow: Math.max(document.documentElement.scrollWidth, innerWidth) - screenWidth,
      height: document.documentElement.scrollHeight,
    };
  }, [selector, page.viewportSize().width]);
}

test('at 1280×720, 1920×1080 and 390×844 every lab shows its main figure in the first screen, with no sideways scroll', async () => {
  const rows = [];
  for (const size of SIZES) {
    for (const lab of LABS) {
      const { page, context, problems } = await openLab(lab, size);
      const m = await measure(page, lab.figure);
      rows.push(`${lab.name} ${size.width}×${size.height}: figure top ${Math.round(m.top)} px, ${Math.round(100 * m.inView)}% in view, page ${m.height} px`);
      assert.equal(m.scrollY, 0);
      assert.ok(m.inView >= 0.5, `${lab.name} at ${size.width}×${size.height}: only ${Math.round(100 * m.inView)}% of the main figure in the first screen (top ${m.top})`);
      assert.ok(m.overflow <= 0, `${lab.name} at ${size.width}×${size.height} is ${m.overflow} px wider than the screen`);
      // Every panel, opened, fits the width too (wide tables scroll inside their card).
      for (const tab of lab.tabs) {
        await openTab(page, tab);
        const o = await page.evaluate((w) => Math.max(document.documentElement.scrollWidth, innerWidth) - w, size.width);
        assert.ok(o <= 0, `${lab.name}'s ${tab} panel at ${size.width}×${size.height} is ${o} px too wide`);
      }
      assert.deepEqual(problems, []);
      await context.close();
    }
  }
  console.log(rows.join('\n'));
});

test('on a phone the header is one line with a menu, the settings open as a sheet over the view, and touch targets are 44 px', async () => {
  const size = SIZES[2];
  for (const lab of LABS) {
    const { page, context } = await openLab(lab, size);
    const header = await page.evaluate(() => document.querySelector('.site-header').getBoundingClientRect().height);
    assert.ok(header <= 64, `the header is ${header} px tall`);
    assert.equal(await page.isVisible('#site-nav a'), false, 'the navigation waits behind the menu');
    await page.click('[data-testid=menu]');
    await page.waitForSelector('#site-nav a', { state: 'visible' });
    await page.click('[data-testid=menu]');
    await page.waitForSelector('#site-nav a', { state: 'hidden' });
    // The sheet: closed, only its bar; open, the settings over the lower part of the view.
    assert.equal(await page.isVisible('#settings-body'), false);
    await page.tap('[data-testid=settings-toggle]');
    await page.waitForSelector('#settings-body', { state: 'visible' });
    const sheet = await page.evaluate(() => document.querySelector('.bench-controls').getBoundingClientRect().top);
    assert.ok(sheet >= size.height * 0.3, `the open sheet starts at ${sheet} px and hides the figure`);
    // The view moved up: the main figure is mostly in sight above the open sheet.
    await eventually(page, async () => {
      const above = await page.evaluate(([f, top]) => {
        const r = document.querySelector(f).getBoundingClientRect();
        return (Math.max(0, Math.min(r.bottom, top) - Math.max(r.top, 0))) / r.height;
      }, [lab.figure, sheet]);
      assert.ok(above >= 0.5, `${lab.name}: ${Math.round(100 * above)}% of the figure above the open sheet`);
    }, `${lab.name}'s figure above the sheet`);
    const small = await page.evaluate(() => {
      const visible = (e) => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
      };
      const targets = [...document.querySelectorAll('button, select, input, summary, #site-nav a, .tab-list [role=tab]')].filter(visible);
      return targets
        .map((e) => {
          // A checkbox's target is its label.
          const t = e.type === 'checkbox' || e.type === 'radio' ? e.closest('label') ?? document.querySelector(`label[for="${e.id}"]`) ?? e : e;
          const r = t.getBoundingClientRect();
          return { what: `${t.tagName.toLowerCase()} ${(t.textContent || t.id || t.name || '').trim().slice(0, 30)}`, h: Math.round(r.height) };
        })
        .filter((t) => t.h < 44);
    });
    assert.deepEqual(small, [], `${lab.name}: touch targets under 44 px`);
    await page.screenshot({ path: `${OUT}/layout-${lab.name}-phone-sheet.png` });
    if (lab.name === 'attention') {
      // A tap on a heatmap reads its cell, as a pointer does.
      await page.tap('[data-testid=settings-toggle]');
      await page.waitForSelector('#settings-body', { state: 'hidden' });
      await page.tap(`${lab.figure} >> nth=0`, { position: { x: 10, y: 100 } });
      await until(page, async () => /^query \d+, key \d+: weight /.test(await page.textContent('.variant-panel .readout')), 'the readout of the tapped cell');
    }
    await context.close();
  }
});

test('at 1280×720 moving a slider changes the main figure and the page does not scroll', async () => {
  const size = SIZES[0];
  const figureState = {
    attention: (p) => p.evaluate(() => [...document.querySelectorAll('.variant-panel [data-stat=entropy]')].map((e) => e.dataset.value).join()),
    activations: (p) => p.getAttribute('[data-testid=chart-f] svg path[stroke="#0072b2"]', 'd'),
    alignment: (p) => p.getAttribute('[data-testid=chart-loss] svg path[stroke="#0072b2"]', 'd'),
  };
  const slider = { attention: '#ctl-scale', activations: '#ctl-xmax', alignment: '#ctl-beta' };
  for (const lab of LABS.filter((l) => slider[l.name])) {
    const { page, context } = await openLab(lab, size);
    const read = figureState[lab.name];
    const before = await until(page, () => read(page), `${lab.name}'s figure to be drawn`);
    for (let i = 0; i < 5; i++) await page.press(slider[lab.name], 'ArrowRight');
    await until(page, async () => (await read(page)) !== before, `${lab.name}'s figure to follow the slider`);
    const m = await measure(page, lab.figure);
    assert.equal(m.scrollY, 0, `${lab.name}: the page scrolled`);
    assert.ok(m.inView >= 0.5, `${lab.name}: the figure left the screen`);
    await context.close();
  }
  // The Model lab's figure is its training: fewer steps, Train, and the curve appears in place.
  const { page, context } = await openLab(LABS[3], size);
  await page.press('#ctl-steps', 'Home');
  await page.click('[data-testid=train]');
  await until(page, () => page.$('[data-testid=loss-chart] svg path[stroke]'), 'the loss curve');
  const m = await measure(page, LABS[3].figure);
  assert.equal(m.scrollY, 0, 'model: the page scrolled');
  assert.ok(m.inView >= 0.5, 'model: the figure left the screen');
  await context.close();
});

async function axe(page, include) {
  await page.evaluate(AXE);
  return page.evaluate(
    (inc) =>
      window.axe
        .run(inc ? { include: [inc] } : document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'], resultTypes: ['violations'] })
        .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, first: v.nodes[0]?.target.join(' ') }))),
    include,
  );
}

test('axe-core finds no serious or critical WCAG 2.1 A/AA violation on any page or panel, in either theme', async () => {
  const pages = [
    { name: 'home', query: '', ready: '.cards' },
    { name: 'about', query: '?page=about', ready: 'main h1' },
    ...LABS.map((l) => ({ name: l.name, query: `?page=${l.name}`, ready: l.drawn, tabs: l.tabs })),
  ];
  const counts = [];
  for (const colorScheme of ['light', 'dark']) {
    for (const p of pages) {
      const { page, context } = await open(browser, p.query, { colorScheme, viewport: { width: 1280, height: 720 } });
      await rendered(page);
      await page.waitForSelector(p.ready, { timeout: 60_000 });
      const found = await axe(page);
      for (const tab of p.tabs ?? []) {
        await openTab(page, tab);
        found.push(...(await axe(page, `[data-panel="${tab}"]`)).map((v) => ({ ...v, panel: tab })));
      }
      const bad = found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      counts.push(`${p.name} (${colorScheme}): ${bad.length} serious or critical, ${found.length - bad.length} other`);
      assert.deepEqual(bad, [], `${p.name} (${colorScheme})`);
      await context.close();
    }
  }
  console.log(counts.join('\n'));
});

test('screenshots at the three sizes in both themes', async () => {
  for (const colorScheme of ['light', 'dark']) {
    for (const size of SIZES) {
      for (const lab of LABS) {
        const { page, context } = await openLab(lab, size, colorScheme);
        await eventually(page, async () => assert.ok(await page.isVisible(lab.figure)), 'the figure');
        await page.screenshot({ path: `${OUT}/layout-${lab.name}-${size.name}-${colorScheme}.png` });
        await context.close();
      }
    }
  }
});

test('a heatmap has a table view with the same numbers, and printing gives a handout without the controls', async () => {
  const { page, context } = await open(browser, '?page=attention&src=table', { viewport: { width: 1280, height: 720 } });
  await rendered(page);
  const panel = '.variant-panel[data-variant=softmax]';
  await page.waitForSelector(`${panel} .heatmap[data-draws]:not([data-draws="0"])`, { timeout: 60_000 });
  await page.click(`${panel} .heatmap-table summary`);
  const cells = await until(page, () => page.$$eval(`${panel} [data-testid=heatmap-table] tbody td`, (tds) => tds.map((t) => t.textContent)), 'the table view');
  // The example is 4 × 4 and causal by default: row 0 sees key 0 only, and its weight is 1.
  assert.equal(cells.length, 16);
  assert.equal(Number(cells[0]), 1);
  assert.equal(cells[1], 'masked');
  const rowSum = cells.slice(4, 8).filter((c) => c !== 'masked').reduce((a, c) => a + Number(c), 0);
  assert.ok(Math.abs(rowSum - 1) < 1e-3, `row 1 sums to ${rowSum}`);

  await page.evaluate(() => window.dispatchEvent(new Event('beforeprint')));
  await page.emulateMedia({ media: 'print' });
  await until(page, () => page.isVisible('.print-settings'), 'the printed settings');
  assert.equal(await page.isVisible('.bench-controls'), false, 'no controls on paper');
  assert.equal(await page.isVisible('.site-header'), false, 'no header on paper');
  const listed = await page.textContent('.print-settings');
  assert.match(listed, /src = table/);
  assert.ok(await page.isVisible(`${panel} .heatmap-canvas canvas`), 'the figures are printed');
  await page.screenshot({ path: `${OUT}/layout-attention-print.png`, fullPage: true });
  await context.close();
});
