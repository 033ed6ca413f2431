// Security: the page's Content-Security-Policy refuses an injected inline script and eval; no
// built file calls eval or builds a function from text; markup in a link value, an uploaded file's
// name or contents, and a lesson's texts is shown as text, never inserted as HTML; and no link
// makes the page fetch anything from another origin.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { BASE, WAIT_MS, open, rendered, waitForText } from './lib.mjs';
import { launchChromium } from './chromium.mjs';

let browser;
before(async () => {
  browser = await launchChromium(['--disable-features=WebGPU']);
});
after(async () => {
  await browser?.close();
});

/** Markup that would run or draw if it were inserted as HTML. */
const MARKUP = '<img src=x onerror="window.__injected=1"><b id=bold>bold</b><script>window.__injected=2</script>';
/** The same, short enough for a title (at most 80 characters). */
const SHORT = '<img src=x onerror=window.__injected=1><b id=bold>b</b>';

/** Nothing from `MARKUP` became an element, and none of it ran. */
async function inert(page) {
  const found = await page.evaluate(() => ({
    injected: window.__injected ?? null,
    bold: !!document.getElementById('bold'),
    img: [...document.querySelectorAll('img')].filter((i) => i.getAttribute('src') === 'x').length,
  }));
  assert.deepEqual(found, { injected: null, bold: false, img: 0 });
}

test('the policy refuses an injected inline script, an inline handler and a string run as code', async () => {
  const { page, context } = await open(browser, '?page=about');
  await rendered(page);
  // Code that DevTools evaluates is exempt from the page's policy, so `eval` itself cannot be
  // tried from here; a string passed to setTimeout is evaluated by the page, under its policy.
  const result = await page.evaluate(async () => {
    const violations = [];
    document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
    const s = document.createElement('script');
    s.textContent = 'window.__ran = "inline script"';
    document.body.append(s);
    const div = document.createElement('div');
    div.setAttribute('onclick', 'window.__ran = "handler"');
    document.body.append(div);
    div.click();
    setTimeout('window.__ran = "string as code"', 0);
    // Violation events are dispatched as tasks: wait for the three to arrive.
    for (let i = 0; violations.length < 3 && i < 500; i++) await new Promise((r) => setTimeout(r, 10));
    return { ran: window.__ran ?? null, violations };
  });
  assert.equal(result.ran, null, 'nothing injected ran');
  assert.equal(result.violations.length, 3, JSON.stringify(result.violations));
  assert.ok(result.violations.every((v) => v.startsWith('script-src')), JSON.stringify(result.violations));
  await context.close();
});

test('no built file calls eval or builds a function from text', () => {
  const dist = new URL('../dist/', import.meta.url);
  const files = readdirSync(dist, { recursive: true }).filter((f) => /\.(m?js|html)$/.test(f));
  assert.ok(files.length >= 8, `${files.length} script files in dist/`);
  for (const f of files) {
    const text = readFileSync(new URL(f, dist), 'utf8');
    assert.doesNotMatch(text, /\beval\s*\(|new\s+Function\s*\(|\bFunction\s*\(\s*['"`]|set(Timeout|Interval)\s*\(\s*['"`]/, `${f} calls eval or builds code from text`);
  }
});

test('markup in a link value is named as text, never inserted', async () => {
  const { page, context, problems } = await open(browser, `?page=attention&n=${encodeURIComponent(MARKUP)}&${encodeURIComponent(MARKUP)}=1`);
  await rendered(page);
  await waitForText(page, '.notices', [/ignored n=<img src=x/, /not a setting of the Attention lab/]);
  await inert(page);
  assert.deepEqual(problems, []);
  await context.close();
});

test('markup in an uploaded file name and in a checkpoint, lesson text and lesson file is shown as text', async () => {
  const { page, context, problems } = await open(browser, '?page=model');
  await page.waitForSelector('[data-testid=train]', { timeout: WAIT_MS });
  await page.click('[role=tab][data-tab="checkpoints"]');
  // A checkpoint whose name and metadata carry markup.
  const header = JSON.stringify({ __metadata__: { 'softplay.config': MARKUP } });
  const file = Buffer.concat([Buffer.from(new BigUint64Array([BigInt(header.length)]).buffer), Buffer.from(header)]);
  await page.setInputFiles('[data-testid=upload]', { name: `${MARKUP}.safetensors`, mimeType: 'application/octet-stream', buffer: file });
  await waitForText(page, '[data-testid=lab-error]', /“<img src=x onerror="window.__injected=1"><b id=bold>bold<\/b>.*could not be loaded/);
  await inert(page);

  // A lesson file with markup in its name, title and texts: it plays, and every text is text.
  await page.goto(`${BASE}?page=lessons`);
  await rendered(page);
  await page.waitForSelector('input[type=file][data-testid=lesson-file]', { state: 'attached', timeout: WAIT_MS });
  const lesson = JSON.parse(readFileSync(new URL('../www/lessons/softmax-overflow.json', import.meta.url), 'utf8'));
  lesson.title = `${SHORT} title`;
  lesson.steps[0].title = `${SHORT} step`;
  lesson.steps[0].text = `${MARKUP} text`;
  lesson.steps[0].question.prompt = `${MARKUP} prompt`;
  await page.setInputFiles('[data-testid=lesson-file]', { name: `${MARKUP}.json`, mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(lesson)) });
  await waitForText(page, '[data-testid=lesson-bar]', /<img src=x onerror=window.__injected=1><b id=bold>b<\/b> title/);
  await waitForText(page, '.lesson-text', /<b id=bold>bold<\/b><script>window.__injected=2<\/script> text/);
  await inert(page);
  // A broken lesson file whose name is markup: the name is named, as text.
  await page.goto(`${BASE}?page=lessons`);
  await page.waitForSelector('input[type=file][data-testid=lesson-file]', { state: 'attached', timeout: WAIT_MS });
  await page.setInputFiles('[data-testid=lesson-file]', { name: `${MARKUP}.json`, mimeType: 'application/json', buffer: Buffer.from('{"softplay_lesson": 1') });
  await waitForText(page, '[data-testid=lesson-error]', /<img src=x onerror=/);
  await inert(page);
  assert.deepEqual(problems, []);
  await context.close();
});

test('no link makes the page fetch from another origin', async () => {
  const elsewhere = ['https://example.com/x', '//example.com/x', 'http://127.0.0.2:9/x', 'javascript:alert(1)', 'data:text/html,<b>x</b>', '../../etc/passwd'];
  const keys = ['lesson', 'lessondata', 'panel', 'page', 'show', 'tab', 'task', 'corpus', 'src', 'url'];
  for (const value of elsewhere) {
    for (const view of ['', '&embed=1']) {
      const query = ['page=model', ...keys.map((k) => `${k}=${encodeURIComponent(value)}`)].join('&') + view;
      const { page, context, origins } = await open(browser, `?${query}`);
      // The page read the link: it names what it ignored.
      await page.waitForSelector('.notices, .notice-link', { timeout: WAIT_MS });
      await page.waitForSelector('[data-testid=train]', { timeout: WAIT_MS });
      await inert(page);
      assert.deepEqual([...origins], [new URL(BASE).origin], `${value}${view}: requests went only to the page's own origin`);
      await context.close();
    }
  }
});
