// The responsiveness figures with Chromium's CPU slowed down (DevTools protocol
// `Emulation.setCPUThrottlingRate`), as on a slow classroom laptop: for each rate, the
// Activations lab's parameter drag and the Attention lab's logit-scale drag at n = 512 (redraws
// per second and main-thread tasks over 50 ms), and the main-thread tasks over 50 ms while the
// Model lab trains 200 steps. A measurement, not a test: it prints JSON.
// Run: `cargo xtask build`, serve dist/ under /softplay/, then
// `SOFTPLAY_URL=http://127.0.0.1:8767/softplay/ node bench/run-throttled.mjs [rate …]`.
import { launchChromium } from '../e2e/chromium.mjs';
import { drag, draws } from '../e2e/drag.mjs';

const BASE = process.env.SOFTPLAY_URL ?? 'http://127.0.0.1:8080/softplay/';
const RATES = process.argv.slice(2).map(Number).filter((r) => r >= 1);
const browser = await launchChromium(['--disable-features=WebGPU']);

/** Opens `query` with the CPU slowed `rate` times, once `ready` holds in the page. */
async function open(query, rate, ready) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, serviceWorkers: 'block' });
  const page = await context.newPage();
  await page.goto(BASE + query);
  await page.waitForFunction(ready, null, { timeout: 120_000 });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate });
  return { page, context };
}

const out = {};
for (const rate of RATES.length ? RATES : [1, 4]) {
  const r = {};
  {
    const { page, context } = await open('?page=activations&fns=relu,gelu,silu,mish,polyrelu,crrelu,rational,kan', rate, () =>
      document.querySelector('[data-testid=chart-f] svg path'),
    );
    const figure = '[data-testid=chart-f] svg,[data-testid=property-table] tbody';
    await drag(page, { id: 'ctl-beta', from: 200, to: 800, by: 3, ms: 1000, figure });
    r.activations_drag = await drag(page, { id: 'ctl-beta', from: 200, to: 800, by: 3, ms: 3000, figure });
    await context.close();
  }
  {
    const { page, context } = await open('?page=attention&n=512', rate, () =>
      /computed in/.test(document.querySelector('[data-testid=maps-status]')?.textContent ?? ''),
    );
    const figure = '.variant-panel .heatmap';
    await drag(page, { id: 'ctl-scale', from: 300, to: 700, by: 2, ms: 1000, figure });
    const before = await draws(page, figure);
    const r2 = await drag(page, { id: 'ctl-scale', from: 300, to: 700, by: 2, ms: 3000, figure });
    r2.redraws_per_s = Math.round((((await draws(page, figure)) - before) / r2.seconds) * 10) / 10;
    r.attention_drag_n512 = r2;
    await context.close();
  }
  {
    const { page, context } = await open('?page=model&task=copy&len=4&steps=200&batch=8', rate, () => document.querySelector('[data-testid=train]'));
    await page.evaluate(() => {
      window.__long = [];
      new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push(Math.round(e.duration)))).observe({ entryTypes: ['longtask'] });
    });
    const t0 = Date.now();
    await page.click('[data-testid=train]');
    await page.waitForFunction(() => /^done/.test(document.querySelector('[data-testid=runs-table] tbody tr')?.children[1].textContent ?? ''), null, { timeout: 300_000 });
    r.model_training_200_steps = { seconds: (Date.now() - t0) / 1000, long_tasks_ms: await page.evaluate(() => window.__long) };
    await context.close();
  }
  out[`cpu_slowed_${rate}x`] = r;
}
console.log(JSON.stringify(out, null, 2));
await browser.close();
