// Presenting: presenter mode (present=1: high contrast, in both themes), only the controls a
// teacher chose (show=), the speaker notes window in step with the class's window both ways
// (BroadcastChannel, one browser), and Fullscreen.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { OUT, WAIT_MS, eventually, launch, open, query, rendered, until, waitForQuery, waitForText } from './lib.mjs';

const LAB_MS = 2 * WAIT_MS;
const PROJECTOR = { width: 1280, height: 720 };
const DRAWN = '.variant-panel .heatmap[data-draws]:not([data-draws="0"])';
const LESSON = JSON.parse(readFileSync(new URL('../www/lessons/softmax-flattens.json', import.meta.url), 'utf8'));
const ID = LESSON.id;

let browser;
before(async () => {
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
});

/** Collects a page's problems, as `open` does for its first page. */
function watch(page) {
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  return problems;
}

/** The data-key of every `.lab .control` a person can see, sorted; those without one as "(none)". */
function visibleControls(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.lab .control')]
      .filter((el) => el.checkVisibility())
      .map((el) => el.dataset.key ?? '(none)')
      .sort(),
  );
}

/** Waits until the class's window shows step `k` of the lesson (its bar and its address). */
async function audienceAt(page, k, tail = '&present=1') {
  await eventually(page, async () => {
    const step = await page.getAttribute('[data-testid=lesson-bar]', 'data-step', { timeout: 1000 });
    assert.equal(step, String(k));
    assert.equal((await page.textContent('[data-testid=lesson-bar] .lesson-step-title')).trim(), LESSON.steps[k - 1].title);
  }, `the class's window at step ${k}`);
  await waitForQuery(page, [/^\?page=attention&v=2&cmp=/, (q) => q.endsWith(`&lesson=${ID}&step=${k}${tail}`)]);
}

/** Waits until the speaker notes show step `k`, with its title and what comes next. */
async function notesAt(page, k) {
  await eventually(page, async () => {
    assert.equal(await page.getAttribute('[data-testid=notes]', 'data-step', { timeout: 1000 }), String(k));
    assert.equal((await page.textContent('[data-testid=notes] h1')).trim(), LESSON.steps[k - 1].title);
    const next = await page.textContent('[data-testid=notes] .notes-next');
    assert.ok(next.includes(LESSON.steps[k]?.title ?? 'This is the last step.'), `the notes name the next step: ${next}`);
  }, `the speaker notes at step ${k}`);
  await waitForQuery(page, new RegExp(`[?&]lesson=${ID}&step=${k}&notes=1$`));
}

for (const colorScheme of ['light', 'dark']) {
  test(`presenter mode (${colorScheme}): high contrast, no footer, and show= leaves only the chosen controls`, async () => {
    const { page, context, problems } = await open(browser, '?page=attention&n=256&present=1&show=n,d,cmp', {
      viewport: PROJECTOR,
      colorScheme,
    });
    await rendered(page);
    await page.waitForSelector(DRAWN, { timeout: LAB_MS });
    // The lab writes all its settings; the shell's keys stay after them.
    await waitForQuery(page, [/^\?page=attention&v=2&cmp=/, '&n=256&', (q) => q.endsWith('&present=1&show=n,d,cmp')]);
    const classes = await page.evaluate(() => [...document.documentElement.classList]);
    assert.ok(classes.includes('present') && classes.includes('show-filter'), `<html> classes: ${classes}`);
    await eventually(page, async () => assert.deepEqual(await visibleControls(page), ['cmp', 'd', 'n']), 'only the controls n, d and cmp to show');
    assert.equal(await page.isVisible('#ctl-n-number'), true);
    assert.notEqual(await page.$('#ctl-seed'), null, 'the seed control is on the page');
    assert.equal(await page.isVisible('#ctl-seed'), false, 'a control not listed is hidden');
    // The high-contrast palette: pure white or pure black behind the page.
    const want = colorScheme === 'dark' ? 'rgb(0, 0, 0)' : 'rgb(255, 255, 255)';
    await eventually(page, async () => assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), want), `a ${want} background`);
    assert.equal(await page.isVisible('.site-footer'), false, 'presenter mode hides the footer');
    await page.screenshot({ path: `${OUT}/present-${colorScheme}.png` });
    assert.deepEqual(problems, []);
    await context.close();
  });
}

test('show= naming a control the lab does not have is named, and the rest still apply', async () => {
  const { page, context, problems } = await open(browser, '?page=attention&show=n,zoom');
  await rendered(page);
  await page.waitForSelector(DRAWN, { timeout: LAB_MS });
  await waitForText(page, '.notice-link', /ignored show=zoom: the Attention lab has no such control; its controls are .*\bn\b/);
  await eventually(page, async () => assert.deepEqual(await visibleControls(page), ['n']), 'only the control n to show');
  assert.deepEqual(problems, []);
  await context.close();
});

test("speaker notes: the notes and the class's window stay in step both ways, and a reveal in the notes shows the answer", async () => {
  const { page: audience, context, problems } = await open(browser, `?lesson=${ID}&step=1&present=1`, { viewport: PROJECTOR });
  await rendered(audience);
  await audienceAt(audience, 1);
  assert.equal(await audience.evaluate(() => document.documentElement.classList.contains('present')), true);

  // The button opens the notes: the same lesson and step, notes=1, not in presenter mode.
  const [notes] = await Promise.all([audience.waitForEvent('popup', { timeout: WAIT_MS }), audience.click('[data-testid=speaker-notes]')]);
  const notesProblems = watch(notes);
  await notes.waitForSelector('[data-testid=notes][data-step]', { timeout: WAIT_MS });
  await notesAt(notes, 1);
  assert.ok(!(await query(notes)).includes('present='), 'the notes window is not in presenter mode');
  assert.deepEqual(
    await notes.evaluate(() => ({ header: document.querySelector('.site-header') !== null, lab: document.querySelector('.lab') !== null })),
    { header: false, lab: false },
    'the notes window shows no header and no lab',
  );
  const first = LESSON.steps[0].question;
  await waitForText(notes, '[data-testid=notes] .lesson-answer.teacher', `Answer (hidden from the class): ${first.choices[first.answer]}`);

  // Next in the notes: the class's window follows.
  await notes.click('[data-testid=lesson-next]');
  await notesAt(notes, 2);
  await audienceAt(audience, 2);
  await waitForQuery(audience, '&n=1024&');

  // → in the class's window: the notes follow.
  await audience.bringToFront();
  await audience.focus('#main');
  await audience.keyboard.press('ArrowRight');
  await audienceAt(audience, 3);
  await notesAt(notes, 3);

  // Reveal in the notes: the class sees the answer and the figure.
  await audience.waitForSelector('.bench-main', { state: 'attached', timeout: LAB_MS });
  assert.equal(await audience.$('[data-testid=lesson-answer]'), null, 'no answer before the reveal');
  assert.equal(await audience.evaluate(() => document.querySelector('main').classList.contains('veiled')), true);
  const third = LESSON.steps[2].question;
  await notes.click('[data-testid=notes-reveal]');
  await waitForText(audience, '[data-testid=lesson-answer]', `The answer: ${third.answer} ${third.unit}`);
  await until(audience, () => audience.evaluate(() => !document.querySelector('main').classList.contains('veiled')), 'the class window to drop its veil');
  await waitForText(notes, '[data-testid=notes] [data-testid=lesson-answer]', `The answer: ${third.answer}`);
  await audience.waitForSelector(DRAWN, { timeout: LAB_MS });
  await audience.screenshot({ path: `${OUT}/present-lesson-audience.png` });
  await notes.screenshot({ path: `${OUT}/present-lesson-notes.png` });

  // Back in the notes.
  await notes.click('[data-testid=lesson-prev]');
  await notesAt(notes, 2);
  await audienceAt(audience, 2);
  assert.deepEqual(problems, []);
  assert.deepEqual(notesProblems, []);
  await context.close();
});

test('a notes window opened from its link follows the lesson', async () => {
  const { page, context, problems } = await open(browser, `?lesson=${ID}&step=2&notes=1`, { viewport: { width: 760, height: 640 } });
  await page.waitForSelector('[data-testid=notes][data-step]', { timeout: WAIT_MS });
  await notesAt(page, 2);
  const q = LESSON.steps[1].question;
  await waitForText(page, '[data-testid=notes] .lesson-answer.teacher', `Answer (hidden from the class): ${q.answer} ${q.unit ?? ''}`.trim());
  await page.keyboard.press('ArrowRight');
  await notesAt(page, 3);
  assert.deepEqual(problems, []);
  await context.close();
});

test('Fullscreen fills the screen, and a second press leaves it', async () => {
  const { page, context, problems } = await open(browser, `?lesson=${ID}&step=1`, { viewport: PROJECTOR });
  await rendered(page);
  await audienceAt(page, 1, '');
  await page.click('[data-testid=fullscreen]');
  await until(page, () => page.evaluate(() => document.fullscreenElement === document.documentElement), 'the page to fill the screen');
  await page.click('[data-testid=fullscreen]');
  await until(page, () => page.evaluate(() => document.fullscreenElement === null), 'the page to leave fullscreen');
  assert.deepEqual(problems, []);
  await context.close();
});
