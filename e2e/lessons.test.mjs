// Lessons: the Lessons page and its cards, a lesson running over the labs (each step shows its
// link's settings; predict, then reveal; Next/Back, ←/→ and PageUp/PageDown), every built-in
// lesson walked step by step, bad lesson links and files named, and a lesson written in the page,
// downloaded, opened from its file and shared as a link.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { BASE, OUT, WAIT_MS, download, eventually, launch, open, query, rendered, waitForQuery, waitForText } from './lib.mjs';

const ORIGIN = new URL(BASE).origin;
/** How long a lab may take to load and draw (its module, then its first figure). */
const LAB_MS = 2 * WAIT_MS;
const PROJECTOR = { width: 1280, height: 720 };
const PHONE = { width: 390, height: 844 };

// The lessons that come with Softplay, read from the files the site serves.
const LESSON_DIR = new URL('../www/lessons/', import.meta.url);
const IDS = JSON.parse(readFileSync(new URL('index.json', LESSON_DIR), 'utf8')).lessons;
const LESSONS = Object.fromEntries(IDS.map((id) => [id, JSON.parse(readFileSync(new URL(`${id}.json`, LESSON_DIR), 'utf8'))]));
const lessonText = (id) => readFileSync(new URL(`${id}.json`, LESSON_DIR), 'utf8');

/** The URL keys the shell owns (app/src/shell/route.rs VIEW_KEYS); the rest is the lab's. */
const VIEW_KEYS = ['lesson', 'lessondata', 'step', 'present', 'show', 'embed', 'panel', 'notes'];
const pairsOf = (q) => q.replace(/^\?/, '').split('&').filter(Boolean);
const keyOf = (pair) => pair.split('=')[0];

let browser;
before(async () => {
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
});

/** The lesson bar as the page shows it now: its lesson, step, step count and step title. */
function bar(page) {
  return page.evaluate(() => {
    const b = document.querySelector('[data-testid=lesson-bar]');
    return (
      b && {
        lesson: b.dataset.lesson,
        step: b.dataset.step,
        steps: b.dataset.steps,
        title: b.querySelector('.lesson-step-title')?.textContent ?? null,
      }
    );
  });
}

/**
 * Waits until the address bar shows `link` as the lab writes it (the lab's own pairs first, all of
 * its settings, so more pairs than the link; every pair of the link verbatim) followed by the
 * shell's keys `tail`, and returns it.
 */
function labShows(page, link, tail) {
  const want = pairsOf(link);
  return waitForQuery(
    page,
    (q) => {
      const have = pairsOf(q);
      const lab = have.filter((p) => !VIEW_KEYS.includes(keyOf(p)));
      return (
        q.startsWith(`?${want[0]}&${want[1]}&`) &&
        want.every((p) => lab.includes(p)) &&
        lab.length > want.length &&
        q.endsWith(`&${tail}`)
      );
    },
    `the address bar to show ${link} as the lab writes it (all its settings), then &${tail}`,
  );
}

/**
 * Waits until step `k` (from 1) of `lesson` (its JSON) is shown: the bar names it, and the address
 * bar shows the step's settings as the lab writes them. `key` is the bar's data-lesson, `tail` the
 * shell's keys at the end of the address.
 */
async function atStep(page, lesson, k, { key = lesson.id, tail = `lesson=${lesson.id}&step=${k}` } = {}) {
  const step = lesson.steps[k - 1];
  const want = { lesson: key, step: String(k), steps: String(lesson.steps.length), title: step.title };
  await eventually(page, async () => assert.deepEqual(await bar(page), want), `the lesson bar at step ${k} of ${key}`);
  return labShows(page, step.link, tail);
}

/** Whether the figure is veiled (before a guess), and the answer shown, if any. */
function veil(page) {
  return page.evaluate(() => {
    const bench = document.querySelector('.bench-main');
    return {
      veiled: document.querySelector('main').classList.contains('veiled'),
      bench: bench ? getComputedStyle(bench).visibility : null,
      answer: document.querySelector('[data-testid=lesson-answer]')?.textContent ?? null,
    };
  });
}

/** Fills a field of the lesson editor and leaves it, so that its `change` commits the value. */
async function commit(locator, value) {
  await locator.fill(value);
  await locator.press('Tab');
}

/** The `.notice-link` texts (settings of the link not used): one read. */
function linkNotices(page) {
  return page.$$eval('.notice-link li .notice-text', (els) => els.map((e) => e.textContent));
}

test('the Lessons page lists every lesson; a card starts it at step 1, its figure veiled until a guess', async () => {
  const { page, context, problems } = await open(browser, '', { viewport: PROJECTOR });
  await rendered(page);
  const nav = page.locator('nav a[href="?page=lessons"]');
  assert.equal((await nav.textContent()).trim(), 'Lessons');
  await nav.click();
  await page.waitForSelector('main h1:text-is("Lessons")', { timeout: WAIT_MS });
  await waitForQuery(page, (q) => q === '?page=lessons', 'the address bar to show ?page=lessons');

  const cards = await eventually(
    page,
    async () => {
      const cards = await page.$$eval('[data-testid=lesson-card]', (cs) =>
        cs.map((c) => {
          const a = c.querySelector('a[data-lesson]');
          return { id: a?.dataset.lesson, href: a?.getAttribute('href'), text: c.textContent };
        }),
      );
      assert.deepEqual(
        cards.map((c) => c.id),
        IDS,
      );
      return cards;
    },
    `a card for each of ${IDS.join(', ')}`,
  );
  for (const card of cards) {
    const lesson = LESSONS[card.id];
    const asks = lesson.steps.filter((s) => s.question).length;
    assert.equal(card.href, `?lesson=${card.id}&step=1`);
    assert.ok(card.text.includes(lesson.title), `${card.id}: the card names the lesson's title: ${card.text}`);
    assert.ok(card.text.includes(`${lesson.steps.length} steps, ${asks} to predict`), `${card.id}: ${card.text}`);
  }

  const lesson = LESSONS['softmax-flattens'];
  await page.click('a[data-lesson="softmax-flattens"]');
  await atStep(page, lesson, 1);
  await page.waitForSelector('.bench-main', { state: 'attached', timeout: LAB_MS });
  assert.equal(await page.isDisabled('[data-testid=lesson-prev]'), true, 'Back is off at step 1');
  assert.equal(await page.isDisabled('[data-testid=lesson-next]'), false);

  // Predict, then reveal: before a guess the figure is hidden and no answer shown.
  const question = lesson.steps[0].question;
  await waitForText(page, '[data-testid=lesson-question]', question.prompt);
  await eventually(page, async () => assert.deepEqual(await veil(page), { veiled: true, bench: 'hidden', answer: null }), 'the figure veiled before a guess');
  assert.deepEqual(
    await page.$$eval('[data-testid=lesson-choice]', (bs) => bs.map((b) => b.textContent)),
    question.choices,
  );
  await page.screenshot({ path: `${OUT}/lesson-veiled-1280.png` });

  // A wrong guess: the answer names the right choice, and the figure appears.
  const wrong = question.answer === 0 ? 1 : 0;
  await page.locator('[data-testid=lesson-choice]').nth(wrong).click();
  await waitForText(page, '[data-testid=lesson-answer]', ['Not quite.', `The answer: ${question.choices[question.answer]}`]);
  await eventually(page, async () => {
    const v = await veil(page);
    assert.equal(v.veiled, false);
    assert.equal(v.bench, 'visible');
  }, 'the figure shown after the guess');
  const choices = await page.$$eval('[data-testid=lesson-choice]', (bs) =>
    bs.map((b) => ({ disabled: b.disabled, pressed: b.getAttribute('aria-pressed'), right: b.classList.contains('right') })),
  );
  assert.deepEqual(
    choices,
    question.choices.map((_, i) => ({ disabled: true, pressed: String(i === wrong), right: i === question.answer })),
  );
  await page.waitForSelector('.variant-panel .heatmap[data-draws]:not([data-draws="0"])', { timeout: LAB_MS });
  await page.screenshot({ path: `${OUT}/lesson-step-1280.png` });

  // "Hide text" folds the step's text away (its question and answer stay): the figure moves up,
  // and the fold holds on the next step.
  const figureTop = () => page.evaluate(() => document.querySelector('.variant-panel .heatmap').getBoundingClientRect().top);
  const unfolded = await figureTop();
  await page.click('[data-testid=lesson-fold]');
  await page.waitForSelector('[data-testid=lesson-bar] .lesson-text', { state: 'detached', timeout: WAIT_MS });
  assert.equal(await page.isVisible('[data-testid=lesson-answer]'), true, 'the answer stays when the text is folded');
  const folded = await figureTop();
  assert.ok(folded < unfolded - 40, `the figure moves up: ${unfolded} → ${folded} px`);
  await page.click('[data-testid=lesson-next]');
  await atStep(page, lesson, 2);
  assert.equal(await page.$('[data-testid=lesson-bar] .lesson-text'), null, 'the next step stays folded');
  await page.screenshot({ path: `${OUT}/lesson-folded-1280.png` });
  await page.click('[data-testid=lesson-fold]');
  await page.waitForSelector('[data-testid=lesson-bar] .lesson-text', { timeout: WAIT_MS });
  assert.deepEqual(problems, []);
  await context.close();
});

test('Next, Back, ←/→ and PageUp/PageDown move between steps, each showing its link; keys in a field stay there', async () => {
  const id = 'softmax-flattens';
  const lesson = LESSONS[id];
  // A link that names only the lesson shows its step's lab with the step's settings.
  const { page, context, problems } = await open(browser, `?lesson=${id}&step=1`);
  await rendered(page);
  await atStep(page, lesson, 1);

  await page.click('[data-testid=lesson-next]');
  await atStep(page, lesson, 2);
  await eventually(page, async () => assert.equal(await page.inputValue('#ctl-n-number'), '1024'), 'the lab to show n = 1024 (step 2)');

  // A number question: a non-number is named and no answer shown.
  const question = lesson.steps[1].question;
  await page.fill('[data-testid=lesson-number]', 'lots');
  await page.click('[data-testid=lesson-commit]');
  await waitForText(page, '.lesson-number [role=status]', '"lots" is not a number');
  assert.deepEqual(await veil(page), { veiled: true, bench: 'hidden', answer: null });
  // ArrowRight in the guess box moves its caret, not the lesson.
  await page.fill('[data-testid=lesson-number]', '0.03');
  await page.press('[data-testid=lesson-number]', 'ArrowRight');
  await page.press('[data-testid=lesson-number]', 'Enter');
  await waitForText(page, '[data-testid=lesson-answer]', ['Right.', `The answer: ${question.answer}`]);
  assert.equal((await bar(page)).step, '2', 'a key typed into the guess box moved the lesson');
  assert.equal((await veil(page)).veiled, false);

  // The keys, with the focus out of any field.
  await page.focus('#main');
  await page.keyboard.press('ArrowRight');
  await atStep(page, lesson, 3);
  await eventually(page, async () => assert.equal(await page.inputValue('#ctl-n-number'), '128'), 'step 3 to set n back to its default, 128');
  await page.keyboard.press('PageUp');
  await atStep(page, lesson, 2);
  await waitForText(page, '[data-testid=lesson-answer]', `The answer: ${question.answer}`, 'the guess at step 2 to be kept');
  await page.keyboard.press('PageDown');
  await atStep(page, lesson, 3);
  await page.keyboard.press('ArrowLeft');
  await atStep(page, lesson, 2);
  await page.click('[data-testid=lesson-next]');
  await atStep(page, lesson, 3);

  // The step's link opens the lesson at this step.
  const href = await page.getAttribute('[data-testid=lesson-step-link]', 'href');
  assert.ok(href.startsWith(BASE), `the step link ${href} is on the site`);
  assert.equal(new URL(href).search, `?lesson=${id}&step=3`);

  // Closing the lesson leaves the lab as it is.
  await page.click('[data-testid=lesson-close]');
  await page.waitForSelector('[data-testid=lesson-bar]', { state: 'detached', timeout: WAIT_MS });
  await waitForQuery(page, (q) => q.startsWith('?page=attention&v=2&') && !/[?&](lesson|step)=/.test(q), 'the address bar without the lesson');
  assert.equal((await veil(page)).veiled, false, 'a closed lesson veils nothing');
  assert.deepEqual(problems, []);
  await context.close();

  const again = await open(browser, new URL(href).search);
  await rendered(again.page);
  await atStep(again.page, lesson, 3);
  assert.deepEqual(again.problems, []);
  await again.context.close();
});

for (const colorScheme of ['light', 'dark']) {
  test(`a lesson step on a phone (${colorScheme}): the bar fits, the presenter's tools wait for a wider screen`, async () => {
    const lesson = LESSONS['softmax-flattens'];
    const { page, context, problems } = await open(browser, '?lesson=softmax-flattens&step=2', { viewport: PHONE, touch: true, colorScheme });
    await rendered(page);
    await atStep(page, lesson, 2);
    await page.waitForSelector('.bench-main', { state: 'attached', timeout: LAB_MS });
    const box = await page.locator('[data-testid=lesson-bar]').boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width + 0.5, `the lesson bar spans ${box.x}..${box.x + box.width} px of ${PHONE.width}`);
    for (const sel of ['[data-testid=lesson-number]', '[data-testid=lesson-commit]', '[data-testid=lesson-next]', '[data-testid=lesson-fold]']) {
      const b = await page.locator(sel).boundingBox();
      assert.ok(b && b.x >= 0 && b.x + b.width <= PHONE.width + 0.5, `${sel} is on the screen: ${JSON.stringify(b)}`);
    }
    assert.equal(await page.isVisible('[data-testid=speaker-notes]'), false, 'no speaker notes button on a phone');
    assert.equal(await page.isVisible('[data-testid=fullscreen]'), false, 'no fullscreen button on a phone');
    await page.screenshot({ path: `${OUT}/lesson-step-phone-${colorScheme}.png` });
    assert.deepEqual(problems, []);
    await context.close();
  });
}

test('every built-in lesson: each step opens its lab with its link, its question veiled, and no notice', async () => {
  const { page, context, problems } = await open(browser, '?page=lessons');
  await rendered(page);
  for (const id of IDS) {
    const lesson = LESSONS[id];
    await page.click(`a[data-lesson="${id}"]`);
    for (let k = 1; k <= lesson.steps.length; k++) {
      if (k > 1) await page.click('[data-testid=lesson-next]');
      await atStep(page, lesson, k);
      const step = lesson.steps[k - 1];
      const seen = await page.evaluate(() => ({
        question: document.querySelector('[data-testid=lesson-question] .lesson-prompt')?.textContent ?? null,
        choices: [...document.querySelectorAll('[data-testid=lesson-choice]')].map((b) => b.textContent),
        number: document.querySelector('[data-testid=lesson-number]') !== null,
        veiled: document.querySelector('main').classList.contains('veiled'),
        prev: document.querySelector('[data-testid=lesson-prev]').disabled,
        next: document.querySelector('[data-testid=lesson-next]').disabled,
      }));
      const q = step.question;
      assert.deepEqual(
        seen,
        {
          question: q ? `Predict: ${q.prompt}` : null,
          choices: q?.choices ?? [],
          number: Boolean(q && !q.choices),
          veiled: Boolean(q),
          prev: k === 1,
          next: k === lesson.steps.length,
        },
        `${id} step ${k}`,
      );
      // The lab names every value of a link it cannot use: a built-in step has none.
      assert.deepEqual(await linkNotices(page), [], `${id} step ${k}: ${step.link}`);
    }
    await page.click('[data-testid=lesson-close]');
    await page.waitForSelector('[data-testid=lesson-bar]', { state: 'detached', timeout: WAIT_MS });
    await page.click('nav a[href="?page=lessons"]');
    await page.waitForSelector('main h1:text-is("Lessons")', { timeout: WAIT_MS });
  }
  assert.deepEqual(problems, []);
  await context.close();
});

test('a link to a lesson that does not exist, a step past the end, or a broken lesson in the link is named', async () => {
  const { page, context, problems } = await open(browser, '?lesson=nosuch');
  await rendered(page);
  await waitForText(page, '.notice-link', 'there is no lesson nosuch: see the Lessons page for the lessons there are; nothing else was changed');
  assert.equal(await page.$('[data-testid=lesson-bar]'), null);

  const lesson = LESSONS['softmax-flattens'];
  const last = lesson.steps.length;
  await page.goto(`${BASE}?lesson=softmax-flattens&step=${last + 3}`);
  await rendered(page);
  await waitForText(page, '.notice-link', `ignored step=${last + 3}: the lesson "${lesson.title}" has steps 1..${last}; showing step ${last}`);
  await atStep(page, lesson, last);

  // "{}" as base64url: JSON, but not a lesson.
  await page.goto(`${BASE}?lessondata=e30&step=1`);
  await rendered(page);
  await waitForText(page, '.notice-link', /the lesson in the link is not a lesson/);
  assert.equal(await page.$('[data-testid=lesson-bar]'), null);
  // The 404 of lessons/nosuch.json is the only problem.
  assert.deepEqual(problems.filter((p) => !/lessons\/nosuch\.json|status of 404/.test(p)), []);
  await context.close();
});

test('a lesson file that breaks a rule is named with the rule and changes nothing; a good one plays, and a reload keeps it', async () => {
  const { page, context, problems } = await open(browser, '?page=lessons');
  await rendered(page);
  await page.waitForSelector('input[type=file][data-testid=lesson-file]', { state: 'attached', timeout: WAIT_MS });
  const put = (name, text) => page.setInputFiles('[data-testid=lesson-file]', { name, mimeType: 'application/json', buffer: Buffer.from(text) });

  const broken = JSON.parse(lessonText('softmax-overflow'));
  broken.steps[0].link = 'page=nowhere&n=1';
  await put('broken.json', JSON.stringify(broken));
  const said = await waitForText(page, '[data-testid=lesson-error]', ['broken.json', 'steps[0].link: page=nowhere is not a lab']);
  assert.ok(said.trim().endsWith('Nothing was changed.'), said);
  assert.equal(await page.getAttribute('[data-testid=lesson-error]', 'role'), 'alert');

  const future = JSON.parse(lessonText('softmax-overflow'));
  future.softplay_lesson = 2;
  await put('future.json', JSON.stringify(future));
  await waitForText(page, '[data-testid=lesson-error]', ['future.json', 'softplay_lesson is 2: this page reads lessons of format 1', 'Nothing was changed.']);

  await put('notes.json', 'these are my notes');
  await waitForText(page, '[data-testid=lesson-error]', ['notes.json is not JSON', 'Nothing was changed.']);
  assert.equal(await query(page), '?page=lessons', 'a bad file changed the page');
  assert.equal(await page.$('[data-testid=lesson-bar]'), null);

  const lesson = LESSONS['softmax-overflow'];
  await put('overflow-copy.json', lessonText('softmax-overflow'));
  const file = { key: 'file:overflow-copy.json', tail: 'lesson=file&step=1' };
  await atStep(page, lesson, 1, file);
  await page.click('[data-testid=lesson-next]');
  await atStep(page, lesson, 2, { ...file, tail: 'lesson=file&step=2' });
  // The file is kept in this browser: the link lesson=file opens it again.
  await page.reload();
  await rendered(page);
  await atStep(page, lesson, 2, { ...file, tail: 'lesson=file&step=2' });
  assert.deepEqual(problems, []);
  await context.close();
});

test("writing a lesson: two labs' views, text and a question; its file and its link both play it", async () => {
  const TITLE = 'Two labs, one idea';
  const SLUG = 'two-labs-one-idea';
  const AUDIENCE = 'Anyone who has opened both labs';
  const steps = [
    { title: 'Attention at n = 256', text: 'Look at the needle.\n\nThen at the rest of the row.' },
    { title: 'ReLU and friends up close', text: 'The plot spans ±2.' },
  ];
  const question = { prompt: 'What does the needle weight do as n grows?', choices: ['It grows', 'It falls', 'It stays'], answer: 1 };

  const { page, context, problems } = await open(browser, '?page=lessons');
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ORIGIN });
  await rendered(page);
  await page.click('[data-testid=lesson-new]');
  await page.waitForSelector('[data-testid=lesson-editor] [data-testid=draft-title]', { timeout: WAIT_MS });
  await commit(page.locator('[data-testid=draft-title]'), TITLE);
  await commit(page.locator('[data-testid=draft-audience]'), AUDIENCE);

  // Two views of two labs, each added from the bar above the lab.
  await page.click('nav a[href="?page=attention"]');
  await waitForText(page, '[data-testid=draft-bar]', `Writing “${TITLE}”: 0 steps.`);
  await page.waitForSelector('.variant-panel', { timeout: LAB_MS });
  await page.fill('#ctl-n-number', '256');
  await page.press('#ctl-n-number', 'Enter');
  await waitForQuery(page, [/^\?page=attention&v=2&cmp=/, '&n=256&']);
  await page.click('[data-testid=draft-add-step]');
  await waitForText(page, '[data-testid=draft-bar]', ['1 steps.', 'Added: write its text on the Lessons page.']);

  await page.click('nav a[href="?page=activations"]');
  await page.waitForSelector('[data-testid=chart-f] svg path', { timeout: LAB_MS });
  await page.fill('#ctl-xmax-number', '2');
  await page.press('#ctl-xmax-number', 'Enter');
  await waitForQuery(page, [/^\?page=activations&v=2&/, /&xmax=2(&|$)/]);
  await page.click('[data-testid=draft-add-step]');
  await waitForText(page, '[data-testid=draft-bar]', '2 steps.');
  // The draft is kept in this browser.
  await page.reload();
  await rendered(page);
  await waitForText(page, '[data-testid=draft-bar]', `Writing “${TITLE}”: 2 steps.`);

  await page.click('[data-testid=draft-bar] a');
  await page.waitForSelector('main h1:text-is("Lessons")', { timeout: WAIT_MS });
  const rows = page.locator('[data-testid=draft-step]');
  const row = (i) => rows.nth(i);
  const titles = () => page.$$eval('[data-testid=draft-step-title]', (els) => els.map((e) => e.value));
  await eventually(page, async () => assert.deepEqual(await titles(), ['Attention view', 'Activations view']), 'two steps in the editor');
  // Each step is its view's short link: the settings at their defaults left out.
  assert.deepEqual(
    await page.$$eval('[data-testid=draft-step] a[target=_blank]', (as) => as.map((a) => a.getAttribute('href'))),
    ['?page=attention&v=2&n=256', '?page=activations&v=2&xmax=2'],
  );

  // Incomplete: the step texts are empty.
  await page.click('[data-testid=draft-share]');
  await waitForText(page, '[data-testid=draft-said]', 'Not yet: steps[0].text has 0 characters: must have 1 to 2000.');
  assert.equal(await page.getAttribute('[data-testid=draft-said]', 'role'), 'alert');
  assert.equal(await page.$('[data-testid=draft-link]'), null);

  // Reorder, and back.
  await row(0).locator('[data-testid=draft-down]').click();
  await eventually(page, async () => assert.deepEqual(await titles(), ['Activations view', 'Attention view']), 'the steps swapped');
  await row(1).locator('[data-testid=draft-up]').click();
  await eventually(page, async () => assert.deepEqual(await titles(), ['Attention view', 'Activations view']), 'the steps swapped back');

  for (const [i, s] of steps.entries()) {
    await commit(row(i).locator('[data-testid=draft-step-title]'), s.title);
    await commit(row(i).locator('[data-testid=draft-step-text]'), s.text);
  }
  await row(0).locator('[data-testid=draft-question-kind]').selectOption('choice');
  await row(0).locator('[data-testid=draft-prompt]').waitFor({ timeout: WAIT_MS });
  await commit(row(0).locator('[data-testid=draft-prompt]'), question.prompt);
  await commit(row(0).locator('[data-testid=draft-choices]'), question.choices.join('\n'));
  await commit(row(0).locator('[data-testid=draft-answer]'), String(question.answer + 1));
  await eventually(page, async () => {
    assert.deepEqual(await titles(), steps.map((s) => s.title));
    assert.equal(await row(0).locator('[data-testid=draft-choices]').inputValue(), question.choices.join('\n'));
    assert.equal(await row(0).locator('[data-testid=draft-answer]').inputValue(), '2');
  }, 'the editor to hold what was typed');

  // Shared as a link: shown, and on the clipboard.
  await page.click('[data-testid=draft-share]');
  const said = await waitForText(page, '[data-testid=draft-said]', /^The lesson's link \(\d+ characters\) opens it at step 1:$/);
  const link = await page.inputValue('[data-testid=draft-link]');
  assert.equal(Number(/\((\d+) characters\)/.exec(said)[1]), link.length);
  assert.ok(link.startsWith(`${BASE}?page=attention&v=2&n=256&lessondata=`), link);
  assert.ok(link.endsWith('&step=1'), link);
  await eventually(page, async () => assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link), 'the link on the clipboard');

  // Downloaded as a file.
  const file = await download(page, () => page.click('[data-testid=draft-download]'));
  assert.equal(file.name, `${SLUG}.json`);
  const written = JSON.parse(file.text);
  assert.deepEqual(written, {
    softplay_lesson: 1,
    id: SLUG,
    title: TITLE,
    audience: AUDIENCE,
    summary: '',
    steps: [
      // Each step keeps the lab's panel that was shown when it was added (the first tab here).
      { title: steps[0].title, link: 'page=attention&v=2&n=256', tab: 'sweep', text: steps[0].text, question: { ...question, explain: '' } },
      { title: steps[1].title, link: 'page=activations&v=2&xmax=2', tab: 'properties', text: steps[1].text },
    ],
  });

  // The file, opened here, plays the same lesson.
  await page.setInputFiles('[data-testid=lesson-file]', { name: file.name, mimeType: 'application/json', buffer: file.bytes });
  const fromFile = { key: `file:${file.name}` };
  await atStep(page, written, 1, { ...fromFile, tail: 'lesson=file&step=1' });
  await waitForText(page, '[data-testid=lesson-bar] .lesson-text', 'Then at the rest of the row.');
  assert.equal(await page.$$eval('[data-testid=lesson-bar] .lesson-text p', (ps) => ps.length), 2, 'a blank line starts a paragraph');
  await eventually(page, async () => assert.equal((await veil(page)).veiled, true), 'the question veils the figure');
  await page.locator('[data-testid=lesson-choice]').nth(question.answer).click();
  await waitForText(page, '[data-testid=lesson-answer]', ['Right.', `The answer: ${question.choices[question.answer]}`]);
  await page.click('[data-testid=lesson-next]');
  await atStep(page, written, 2, { ...fromFile, tail: 'lesson=file&step=2' });
  await page.waitForSelector('[data-testid=chart-f] svg path', { timeout: LAB_MS });
  assert.equal((await veil(page)).veiled, false, 'a step without a question is not veiled');
  assert.deepEqual(problems, []);
  await context.close();

  // The link, opened elsewhere, opens the lesson at step 1.
  const data = new URL(link).searchParams.get('lessondata');
  const other = await open(browser, new URL(link).search);
  await rendered(other.page);
  await atStep(other.page, written, 1, { key: `link:${SLUG}:${data.length}`, tail: `lessondata=${data}&step=1` });
  await waitForText(other.page, '[data-testid=lesson-question]', question.prompt);
  assert.deepEqual(other.problems, []);
  await other.context.close();
});
