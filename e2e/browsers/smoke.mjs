// The smoke run in Firefox ESR and WebKit (Safari's engine), beside the Chromium end-to-end
// tests: every page loads with no error, its figures are drawn, a short training run finishes
// with a finite loss, and a link with non-default settings, opened twice in fresh pages, shows the
// same numbers. `cargo xtask test` (and `cargo xtask smoke` alone) serves dist/ under /softplay/
// and runs
//
//     SOFTPLAY_URL=http://127.0.0.1:PORT/softplay/ node e2e/browsers/smoke.mjs [firefox] [webkit]
//
// Each page prints what was checked and its time; a failure names the browser, the page and
// what was wrong (a screenshot goes to target/e2e/smoke-<browser>-<page>.png). Every wait is
// for a condition, polled from here (the page's CSP forbids code built from text, so no
// in-page wait helpers), never a fixed sleep.
import { mkdirSync, writeFileSync } from 'node:fs';

import { launchFirefox } from './firefox.mjs';
import { launchWebKit } from './webkit.mjs';

const BASE = process.env.SOFTPLAY_URL ?? 'http://127.0.0.1:8080/';
const OUT = process.env.SOFTPLAY_E2E_OUT ?? 'target/e2e';
/** How long to wait for anything asynchronous: generous, for a slow 2-core machine. */
const WAIT_MS = Number(process.env.SOFTPLAY_E2E_WAIT_MS) || 60_000;
const POLL_MS = 50;

const BROWSERS = { firefox: launchFirefox, webkit: launchWebKit };
/** A driver that stopped answering (webkit.mjs's messages; puppeteer's protocol timeout). */
const DRIVER_STALL = /WebKitWebDriver \S+ \S+: (no answer in|fetch failed)|protocolTimeout/;

function describe(value) {
  let s;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 400 ? `${s.slice(0, 400)}…` : s;
}

/**
 * Runs `fn(...args)` in the page until it returns a truthy value, and returns that value. Fails
 * after `timeoutMs`, naming `what` and what it last saw (the page's #fatal banner first, if shown).
 */
async function until(page, what, fn, args = [], timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing yet';
  for (;;) {
    try {
      const value = await page.evaluate(fn, ...args);
      if (value) return value;
      last = describe(value);
    } catch (e) {
      last = e?.message ?? String(e);
    }
    if (Date.now() >= deadline) {
      const fatal = await page.evaluate(() => {
        const f = document.getElementById('fatal');
        return f && !f.hidden ? f.textContent.replace(/\s+/g, ' ').trim() : null;
      }).catch(() => null);
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}; last saw: ${last}${fatal ? `; the page shows: ${fatal}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Opens `query` in a fresh page and waits for the shell: its navigation and the `heading`. */
async function openPage(browser, query, heading) {
  const page = await browser.newPage();
  try {
    await page.goto(BASE + query);
    await until(page, `the shell and the heading "${heading}"`, (heading) => {
      const fatal = document.getElementById('fatal');
      if (fatal && !fatal.hidden) throw new Error(`the page shows: ${fatal.textContent.replace(/\s+/g, ' ').trim()}`);
      const h1 = document.querySelector('main h1')?.textContent.trim();
      if (document.querySelector('.site-header nav a') !== null && h1 === heading) return true;
      // Not yet: say what is there instead.
      throw new Error(`title "${document.title}", ${document.querySelector('.site-header nav a') ? 'navigation' : 'no navigation'}, heading ${h1 === undefined ? 'none' : `"${h1}"`}`);
    }, [heading]);
  } catch (e) {
    await shoot(page);
    await page.close().catch(() => {});
    throw e;
  }
  return page;
}

/** Where a failed page's screenshot goes: target/e2e/smoke-<browser>-<page>.png, set per page. */
let shotPath = null;

async function shoot(page) {
  if (!shotPath) return;
  try {
    mkdirSync(OUT, { recursive: true });
    await page.screenshot(shotPath);
    shotPath = null; // the first failure's page is the one to see
  } catch {
    // nothing to add to the failure itself
  }
}

/** Runs `fn(page)`, then closes the page; a failure leaves its screenshot. */
async function using(page, fn) {
  try {
    return await fn(page);
  } catch (e) {
    await shoot(page);
    throw e;
  } finally {
    await page.close().catch(() => {});
  }
}

/**
 * What a person would not want to see, collected at the end of each page: the #fatal banner,
 * an error notice, a notice about the link (the smoke links are all valid), and the browser's
 * console errors, page errors and failed or HTTP-error requests where its driver reports them.
 */
async function assertHealthy(page) {
  const shown = await page.evaluate(() => {
    const out = [];
    const fatal = document.getElementById('fatal');
    if (fatal && !fatal.hidden) out.push(`fatal banner: ${fatal.textContent.replace(/\s+/g, ' ').trim()}`);
    for (const n of document.querySelectorAll('.notice-error, .notice-link')) out.push(`notice: ${n.textContent.replace(/\s+/g, ' ').trim()}`);
    return out;
  });
  const problems = [...shown, ...(await page.problems())];
  if (problems.length) throw new Error(`problems on the page:\n      ${problems.join('\n      ')}`);
}

/** Waits until the SVG figure in `selector` has at least `n` drawn paths; returns their count. */
function svgDrawn(page, selector, n = 1) {
  return until(page, `${selector} to draw ${n} path(s)`, (selector, n) => {
    const paths = [...document.querySelectorAll(`${selector} svg path`)].filter((p) => (p.getAttribute('d') ?? '').length > 8);
    return paths.length >= n && paths.length;
  }, [selector, n]);
}

/** Waits until every canvas in `selector` (at least `n`) has more than 20 colours; returns them. */
function canvasesDrawn(page, selector, n = 1) {
  return until(page, `${n} canvas(es) in ${selector} drawn (more than 20 colours each)`, (selector, n) => {
    const canvases = [...document.querySelectorAll(`${selector} canvas`)];
    if (canvases.length < n) return false;
    const colours = canvases.map((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const seen = new Set();
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return seen.size;
    });
    return colours.every((k) => k > 20) && colours;
  }, [selector, n]);
}

/** Shows the lab's tab `id` and waits for its panel. */
async function openTab(page, id) {
  await page.click(`[role=tab][data-tab="${id}"]`);
  await until(page, `the ${id} tab`, (id) => document.querySelector(`[role=tabpanel][data-panel="${id}"]:not([hidden])`) !== null, [id]);
}

/**
 * Opens `query` twice, each time in a fresh page, and reads its numbers with `read(page)` (which
 * also checks the page): both readings must be the same. Returns the reading.
 */
async function replayed(browser, query, heading, read) {
  const readings = [];
  for (let i = 0; i < 2; i++) {
    readings.push(
      await using(await openPage(browser, query, heading), async (page) => {
        const reading = await read(page, i);
        await assertHealthy(page);
        return reading;
      }),
    );
  }
  const [a, b] = readings.map((r) => JSON.stringify(r));
  if (a !== b) throw new Error(`the link ${query} showed other numbers when opened again:\n      first:  ${describe(readings[0])}\n      second: ${describe(readings[1])}`);
  return readings[0];
}

const isNumber = (s) => s !== '' && s !== null && s !== undefined && Number.isFinite(Number(s));

// The smoke links: non-default settings, small enough to finish in seconds on a 2-core machine.
const ATTENTION = '?page=attention&n=64&d=16&needle=6&seed=7';
const ACTIVATIONS = '?page=activations&fns=relu,gelu,silu&race=relu,silu&target=chirp&width=8&layers=2&steps=150&lr=0.02&seed=11';
const ALIGNMENT = '?page=alignment&loss=ipo&policy=tabular&onpolicy=1&samples=6&tsteps=300&seed=3&pref=random&k=4';
const MODEL = '?page=model&task=copy&len=4&steps=40&batch=8&lr=0.01&warmup=10&seed=5&backend=cpu';
const LESSON = 'softmax-flattens';

/**
 * The pages. `run(browser, said, result)` checks one, pushing what it checked to `said` (the
 * home page also sets `result.backend`, the footer's text), and returns the numbers its replayed
 * link showed (compared across browsers in the summary), if any.
 */
const PAGES = [
  {
    name: 'home',
    async run(browser, said, result) {
      await using(await openPage(browser, '', "See how a transformer's nonlinearities behave"), async (page) => {
        const cards = await until(page, 'the lab cards', () => document.querySelectorAll('.cards .card a').length);
        said.push(`shell, ${cards} lab cards`);
        result.backend = await until(page, 'the footer to name the backend', () => {
          const t = document.querySelector('[data-testid=backend]')?.textContent;
          return t && !t.includes('starting') && t.trim();
        });
        said.push('backend named');
        await assertHealthy(page);
      });
    },
  },
  {
    name: 'about',
    async run(browser, said) {
      await using(await openPage(browser, '?page=about', 'About Softplay'), async (page) => {
        said.push('shell, heading');
        await assertHealthy(page);
      });
    },
  },
  {
    name: 'lessons',
    async run(browser, said) {
      const res = await fetch(new URL('lessons/index.json', BASE));
      if (!res.ok) throw new Error(`lessons/index.json: HTTP ${res.status}`);
      const index = await res.json();
      await using(await openPage(browser, '?page=lessons', 'Lessons'), async (page) => {
        const cards = await until(page, `${index.lessons.length} lesson cards`, (n) => {
          const k = document.querySelectorAll('[data-testid=lesson-card]').length;
          return k === n && k;
        }, [index.lessons.length]);
        said.push(`${cards} lesson cards`);
        await page.click(`a[data-lesson="${LESSON}"]`);
        await until(page, `the lesson bar at step 1 of ${LESSON}`, (id) => {
          const bar = document.querySelector('[data-testid=lesson-bar]');
          return bar?.dataset.lesson === id && bar.dataset.step === '1' && location.search.includes(`lesson=${id}`);
        }, [LESSON]);
        const colours = await canvasesDrawn(page, '.variant-panel .heatmap-canvas', 2);
        said.push(`opened "${LESSON}" step 1 by a click: ${colours.length} heatmaps drawn`);
        await assertHealthy(page);
      });
    },
  },
  {
    name: 'attention',
    async run(browser, said) {
      const stats = await replayed(browser, ATTENTION, 'Attention', async (page, i) => {
        await until(page, 'the panels computed at n = 64', () => {
          const s = document.querySelector('[data-testid=maps-status]')?.textContent ?? '';
          return /computed in/.test(s) && s.includes('n = 64 ');
        });
        const colours = await canvasesDrawn(page, '.variant-panel .heatmap-canvas', 2);
        const panels = await page.evaluate(() =>
          [...document.querySelectorAll('.variant-panel')].map((p) => [
            p.dataset.variant,
            [...p.querySelectorAll('dd[data-stat]')].map((d) => [d.dataset.stat, d.dataset.value]),
          ]),
        );
        // Sorted here: WebDriver may hand an object's keys back in another order.
        for (const [, stats] of panels) stats.sort(([a], [b]) => (a < b ? -1 : 1));
        const bad = panels.flatMap(([v, s]) => s.filter(([, x]) => !isNumber(x)).map(([k, x]) => `${v} ${k} = ${x}`));
        if (bad.length) throw new Error(`statistics that are not finite numbers: ${bad.join(', ')}`);
        if (i === 0) said.push(`${panels.length} panels, ${colours.length} heatmaps drawn (${Math.min(...colours)}+ colours)`);
        return panels;
      });
      const count = stats.reduce((k, [, s]) => k + s.length, 0);
      said.push(`link replayed: the same ${count} statistics`);
      return stats;
    },
  },
  {
    name: 'activations',
    async run(browser, said) {
      return replayed(browser, ACTIVATIONS, 'Activations', async (page, i) => {
        const paths = await svgDrawn(page, '[data-testid=chart-f]', 3);
        await openTab(page, 'race');
        await until(page, 'the 150-step fitting race to finish', () => /^Finished/.test(document.querySelector('[data-testid=race-status]')?.textContent ?? ''));
        const losses = await until(page, 'the final losses of both entrants', () => {
          const rows = [...document.querySelectorAll('[data-testid=race-losses] tbody tr')].map((r) => [r.dataset.unit, r.querySelector('td[data-value]')?.dataset.value]);
          return rows.length === 2 && rows.every(([, l]) => l !== undefined && l !== '') && rows;
        });
        if (!losses.every(([, l]) => isNumber(l))) throw new Error(`a final loss is not a finite number: ${describe(losses)}`);
        if (i === 0) said.push(`${paths} curves drawn; the 150-step fitting race finished (${losses.length} entrants)`);
        else said.push(`link replayed: the same final losses ${losses.map(([u, l]) => `${u} ${Number(l).toPrecision(6)}`).join(', ')}`);
        return losses;
      });
    },
  },
  {
    name: 'alignment',
    async run(browser, said) {
      return replayed(browser, ALIGNMENT, 'Alignment', async (page, i) => {
        const paths = await svgDrawn(page, '[data-testid=chart-loss]');
        await until(page, 'the toy to be trained (300 steps)', () => /^Trained/.test(document.querySelector('[data-testid=toy-status]')?.textContent ?? ''));
        const summary = await until(page, 'the toy summary', () => {
          const t = document.querySelector('[data-testid=toy-summary]')?.textContent ?? '';
          return /went from -?[\d.]+ to -?[\d.]+/.test(t) && t;
        });
        const numbers = summary.match(/-?\d+\.\d+/g);
        if (i === 0) said.push(`${paths} loss curves drawn; the DPO toy trained 300 steps`);
        else said.push(`link replayed: the same toy summary (${numbers.join(', ')})`);
        return numbers;
      });
    },
  },
  {
    name: 'model',
    async run(browser, said) {
      return replayed(browser, MODEL, 'Model', async (page, i) => {
        await until(page, 'the Train button', () => document.querySelector('[data-testid=train]') !== null);
        const t0 = Date.now();
        await page.click('[data-testid=train]');
        const row = await until(page, 'the 40-step training run to finish', () => {
          const rows = [...document.querySelectorAll('[data-testid=runs-table] tbody tr')];
          const cells = rows[0] && [...rows[0].children].map((c) => c.textContent.trim());
          return rows.length === 1 && /^(done|stopped|diverged|failed)/.test(cells[1]) && cells;
        });
        const [, status, step, , loss, accuracy, , backend] = row;
        if (!/^done/.test(status)) throw new Error(`the run ended "${status}", not done`);
        if (!isNumber(loss)) throw new Error(`the validation loss is not a finite number: ${loss}`);
        const curves = await svgDrawn(page, '[data-testid=loss-chart]');
        if (i === 0) said.push(`40 steps trained on ${backend} in ${((Date.now() - t0) / 1000).toFixed(1)} s, validation loss ${loss}, ${curves} loss curve(s) drawn`);
        else said.push(`link replayed: the same step ${step}, loss ${loss}, accuracy ${accuracy}`);
        return { step, loss, accuracy };
      });
    },
  },
];

async function runBrowser(key) {
  const line = (s) => console.log(`  ${key.padEnd(8)} ${s}`);
  const t0 = Date.now();
  const result = { key, pages: [], backend: null, numbers: {} };
  let browser;
  try {
    browser = await BROWSERS[key]();
  } catch (e) {
    line(`FAILED to start: ${e.message}`);
    result.pages.push({ name: 'start', ok: false, why: e.message });
    return result;
  }
  result.name = browser.name;
  line(`${browser.version}, started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  try {
    for (const p of PAGES) {
      const said = [];
      let start = Date.now();
      const secs = () => ((Date.now() - start) / 1000).toFixed(1);
      shotPath = `${OUT}/smoke-${key}-${p.name}.png`;
      let retried = null;
      for (;;) {
        try {
          const numbers = await p.run(browser, said, result);
          if (numbers !== undefined) result.numbers[p.name] = numbers;
          line(`${p.name.padEnd(12)} ok in ${secs()} s: ${said.join('; ')}${retried ? ` (on a second try, with the browser started again: the first ended "${retried}")` : ''}`);
          result.pages.push({ name: p.name, ok: true, ...(retried && { retried }) });
          break;
        } catch (e) {
          const why = e?.message ?? String(e);
          // The driver itself stalled (no answer, a dropped connection), not the page: start the
          // browser again and try the page once more, saying so. A page that hangs fails twice.
          if (!retried && DRIVER_STALL.test(why)) {
            line(`${p.name.padEnd(12)} the driver stalled after ${secs()} s (${why}); starting ${browser.name} again`);
            retried = why;
            said.length = 0;
            await browser.close().catch(() => {});
            try {
              browser = await BROWSERS[key]();
            } catch (again) {
              line(`${p.name.padEnd(12)} FAILED: ${browser.name} did not start again: ${again.message}`);
              result.pages.push({ name: p.name, ok: false, why: `${why}; then the browser did not start again: ${again.message}` });
              result.seconds = (Date.now() - t0) / 1000;
              return result;
            }
            start = Date.now();
            continue;
          }
          line(`${p.name.padEnd(12)} FAILED after ${secs()} s${said.length ? ` (checked: ${said.join('; ')})` : ''}`);
          console.log(`      ${browser.name}, page ${p.name}: ${why}${retried ? ` (a second try; the first ended "${retried}")` : ''}`);
          result.pages.push({ name: p.name, ok: false, why });
          break;
        }
      }
    }
  } finally {
    await browser.close().catch(() => {});
  }
  result.seconds = (Date.now() - t0) / 1000;
  line(`backend: ${result.backend ?? 'not named'}`);
  line(`all pages in ${result.seconds.toFixed(1)} s`);
  return result;
}

const asked = process.argv.slice(2);
const keys = asked.length ? asked : Object.keys(BROWSERS);
for (const k of keys) {
  if (!BROWSERS[k]) {
    console.error(`unknown browser ${k}: the smoke run knows ${Object.keys(BROWSERS).join(', ')}`);
    process.exit(2);
  }
}
console.log(`smoke run of every page against ${BASE} in ${keys.join(' and ')}`);
// SOFTPLAY_SMOKE_PAGES=model,lessons runs only those pages (to look into one).
const only = process.env.SOFTPLAY_SMOKE_PAGES?.split(',').filter(Boolean);
if (only) {
  const unknown = only.filter((n) => !PAGES.some((p) => p.name === n));
  if (unknown.length) {
    console.error(`unknown page(s) ${unknown.join(', ')}: the smoke run knows ${PAGES.map((p) => p.name).join(', ')}`);
    process.exit(2);
  }
  PAGES.splice(0, PAGES.length, ...PAGES.filter((p) => only.includes(p.name)));
}
const results = [];
for (const k of keys) results.push(await runBrowser(k));

console.log('\nsmoke summary:');
for (const r of results) {
  const failed = r.pages.filter((p) => !p.ok);
  const retried = r.pages.filter((p) => p.retried).map((p) => p.name);
  console.log(
    `  ${(r.name ?? r.key).padEnd(12)} ${failed.length ? `FAILED (${failed.map((p) => p.name).join(', ')})` : 'ok'}${r.seconds ? ` in ${r.seconds.toFixed(1)} s` : ''}` +
      `${retried.length ? ` (${retried.join(', ')} on a second try after the driver stalled)` : ''}; backend: ${r.backend ?? 'not named'}`,
  );
}
if (results.length > 1) {
  // Information, not a check: the same link's numbers in each browser.
  for (const name of Object.keys(results[0].numbers)) {
    const all = results.map((r) => JSON.stringify(r.numbers[name]));
    if (all.every((x) => x !== undefined)) console.log(`  ${name}: the link's numbers ${all.every((x) => x === all[0]) ? 'are the same' : 'differ'} across ${results.map((r) => r.name ?? r.key).join(' and ')}`);
  }
}
mkdirSync(OUT, { recursive: true });
writeFileSync(`${OUT}/smoke.json`, JSON.stringify(results, null, 2));
const passed = results.flatMap((r) => r.pages).filter((p) => p.ok).length;
const failedCount = results.flatMap((r) => r.pages).filter((p) => !p.ok).length;
console.log(`smoke: ${passed} passed, ${failedCount} failed`);
process.exit(failedCount ? 1 : 0);
