// Timing helpers shared by the benchmark pages.

/** Lets the event loop run (console messages, the driver's polling) between samples. */
export const pause = () => new Promise((resolve) => setTimeout(resolve, 0));

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Milliseconds per call over back-to-back calls lasting at least `minMs` (and `minCalls`). */
export async function msPerCall(call, minMs, minCalls) {
  const start = performance.now();
  let calls = 0;
  let elapsed;
  do {
    await call();
    calls += 1;
    elapsed = performance.now() - start;
  } while (calls < minCalls || elapsed < minMs);
  return elapsed / calls;
}
