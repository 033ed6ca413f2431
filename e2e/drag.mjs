// A slider drag as a person makes it, shared by the slow-laptop test (e2e/slow-cpu.test.mjs)
// and its benchmark (bench/run-throttled.mjs).

/**
 * Moves the range input `id` one step (`by`) per animation frame between `from` and `to` for
 * `ms`, and counts the frames on which `figure` (an expression read in the page) had changed
 * since the frame before: redraws per second, and the main-thread tasks over 50 ms meanwhile.
 */
export function drag(page, { id, from, to, by, ms, figure }) {
  return page.evaluate(
    async ({ id, from, to, by, ms, figure }) => {
      const slider = document.getElementById(id);
      const read = () => figure.split(',').map((s) => document.querySelector(s)?.innerHTML.length + ':' + document.querySelector(s)?.textContent.length).join('|');
      const long = [];
      const observer = new PerformanceObserver((l) => l.getEntries().forEach((e) => long.push(Math.round(e.duration))));
      observer.observe({ entryTypes: ['longtask'] });
      let pos = from;
      let frames = 0;
      let moves = 0;
      let last = read();
      const t0 = performance.now();
      await new Promise((done) => {
        const step = () => {
          const now = read();
          if (now !== last) frames++;
          last = now;
          pos = pos >= to ? from : pos + by;
          slider.value = String(pos);
          slider.dispatchEvent(new Event('input', { bubbles: true }));
          moves++;
          if (performance.now() - t0 < ms) requestAnimationFrame(step);
          else done();
        };
        requestAnimationFrame(step);
      });
      const seconds = (performance.now() - t0) / 1000;
      // Tasks that began during the drag are reported by the time the next frame is drawn.
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      observer.disconnect();
      return { redraws_per_s: Math.round((frames / seconds) * 10) / 10, moves, seconds: Math.round(seconds * 100) / 100, long_tasks_ms: long };
    },
    { id, from, to, by, ms, figure },
  );
}

/** The `data-draws` count of the first element matching `selector` (a heatmap's redraws). */
export function draws(page, selector) {
  return page.evaluate((s) => Number(document.querySelector(s).dataset.draws), selector);
}
