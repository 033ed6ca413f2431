// The attention benchmark page: ours (simd128 and scalar builds), tfjs-wasm and
// onnxruntime-web on the same inputs, in one page, timed the same way. `cargo xtask bench
// attention` serves it and reads `window.benchResults`; opened by hand it shows the tables.
//
// Causal attention, one head, [n, d] f32, single thread. Every timed call of the four engines
// takes the inputs as JS Float32Arrays and returns the output as one (copies in and out
// included); the "kernel only" rows time our forward and backward on inputs already loaded.
import initSimd, * as simd from './simd/softplay_bench.js';
import initScalar, * as scalar from './scalar/softplay_bench.js';
import * as ort from './ort/ort.wasm.min.mjs';
import { median, msPerCall, pause } from './timing.mjs';

const tf = globalThis.tf;
const query = new URLSearchParams(location.search);
const D = 64;
const NS = (query.get('n') ?? '256,1024,4096').split(',').map(Number);
const SAMPLES = Number(query.get('samples') ?? 5);
const SAMPLE_MS = Number(query.get('sample_ms') ?? 250);
const TOLERANCE = 1e-3;
const SEED = 1;
const PEAK_ITERATIONS = 1 << 20;

const status = document.getElementById('status');
function log(message) {
  console.log(`bench: ${message}`);
  status.textContent = message;
}

/** mulberry32: a seeded stream of uniform numbers in [0, 1). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniformPlusMinusOne(random, len) {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = 2 * random() - 1;
  return a;
}

/** [n, n]: 0 where key j <= query i, −1e9 above the diagonal. */
function causalMask(n) {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) m.fill(-1e9, i * n + i + 1, (i + 1) * n);
  return m;
}

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN;
    if (d > max) max = d;
  }
  return max;
}


/** The engines for one size, each `{ id, label, flops, call, checked }`, and how to free them. */
async function setUp(n, q, k, v) {
  const flops = 4 * n * n * D;
  const simdBench = new simd.AttentionBench(n, D, 'softmax');
  const scalarBench = new scalar.AttentionBench(n, D, 'softmax');
  const ours = (bench) => () => {
    bench.load(q, k, v);
    bench.forward();
    return bench.output();
  };

  const scale = 1 / Math.sqrt(D);
  const mask = tf.tensor2d(causalMask(n), [n, n]);
  const tfjs = () => {
    const out = tf.tidy(() => {
      // matMul(q, transpose(k)): tfjs-wasm's fast path needs untransposed operands. Scaling q
      // (n·d values) instead of the scores (n²) is the cheaper order of the same math.
      const scores = tf.matMul(tf.mul(tf.tensor2d(q, [n, D]), scale), tf.transpose(tf.tensor2d(k, [n, D])));
      return tf.matMul(tf.softmax(tf.add(scores, mask)), tf.tensor2d(v, [n, D]));
    });
    const data = out.dataSync();
    out.dispose();
    return data;
  };

  const session = await ort.InferenceSession.create(`models/attention_n${n}_d${D}.onnx`, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const onnx = async () => {
    const feeds = {
      q: new ort.Tensor('float32', q, [n, D]),
      k: new ort.Tensor('float32', k, [n, D]),
      v: new ort.Tensor('float32', v, [n, D]),
    };
    const { out } = await session.run(feeds);
    const data = out.data;
    out.dispose();
    return data;
  };

  const engines = [
    { id: 'ours-simd', label: 'ours, wasm simd128', flops, call: ours(simdBench), checked: true },
    { id: 'ours-scalar', label: 'ours, wasm scalar', flops, call: ours(scalarBench), checked: true },
    { id: 'tfjs', label: `tfjs-wasm ${tf.version_core}`, flops, call: tfjs, checked: true },
    { id: 'ort', label: `onnxruntime-web ${ort.env.versions.web} (wasm)`, flops, call: onnx, checked: true },
    { id: 'ours-simd-fwd', label: 'ours, wasm simd128, forward kernel only', flops, call: () => simdBench.forward() },
    // Backward does more work than 4·n²·d: only its time is reported.
    { id: 'ours-simd-bwd', label: 'ours, wasm simd128, backward kernel only', flops: null, call: () => simdBench.backward() },
    {
      id: 'peak',
      label: 'simd128 peak (12 f32x4 mul+add chains)',
      flops: simd.simd_peak_flops_per_iteration() * PEAK_ITERATIONS,
      call: () => simd.simd_peak(PEAK_ITERATIONS),
    },
  ];
  const free = async () => {
    simdBench.free();
    scalarBench.free();
    mask.dispose();
    await session.release();
  };
  return { engines, free };
}

async function runSize(n) {
  const random = rng(SEED * 1000003 + n);
  const [q, k, v] = [0, 1, 2].map(() => uniformPlusMinusOne(random, n * D));
  log(`n=${n}: setting up`);
  const { engines, free } = await setUp(n, q, k, v);

  // The guard: every engine's output against ours (simd128), on the same inputs. This also
  // loads the inputs that the kernel-only rows use.
  const reference = await engines[0].call();
  const diffs = {};
  for (const e of engines.slice(1).filter((e) => e.checked)) diffs[e.id] = maxAbsDiff(reference, await e.call());
  log(`n=${n}: max |difference| against ours (simd128): ${JSON.stringify(diffs)}`);

  for (const e of engines) {
    log(`n=${n}: warming up ${e.id}`);
    await msPerCall(e.call, SAMPLE_MS, 2);
    await pause();
  }
  const samples = engines.map(() => []);
  for (let round = 0; round < SAMPLES; round++) {
    log(`n=${n}: round ${round + 1} of ${SAMPLES}`);
    // Interleaved, with the order rotated each round so that no engine always runs first.
    for (let i = 0; i < engines.length; i++) {
      const e = (i + round) % engines.length;
      samples[e].push(await msPerCall(engines[e].call, SAMPLE_MS, 1));
      await pause();
    }
  }
  await free();

  const run = { n, d: D, engines: {}, maxAbsDiff: diffs, ok: Object.values(diffs).every((x) => x <= TOLERANCE) };
  engines.forEach((e, i) => {
    const medianMs = median(samples[i]);
    run.engines[e.id] = {
      label: e.label,
      flops: e.flops,
      ms: samples[i],
      medianMs,
      gflops: e.flops === null ? null : e.flops / medianMs / 1e6,
    };
  });
  show(run);
  return run;
}

function show(run) {
  const fmt = (x, digits) => (x === null ? '–' : x.toFixed(digits));
  const rows = Object.values(run.engines).map((e) => {
    const range = e.flops === null ? '–' : e.ms.map((ms) => (e.flops / ms / 1e6).toFixed(1)).join(', ');
    return `<tr><td>${e.label}</td><td>${fmt(e.medianMs, 3)}</td><td>${fmt(e.gflops, 2)}</td><td>${range}</td></tr>`;
  });
  const diffs = Object.entries(run.maxAbsDiff).map(([id, x]) => `${id} ${x.toExponential(2)}`).join(', ');
  document.getElementById('tables').insertAdjacentHTML(
    'beforeend',
    `<h2>n = ${run.n}, d = ${run.d}</h2>
     <table><tr><th>engine</th><th>ms per call (median)</th><th>GFLOP/s</th><th>samples (GFLOP/s)</th></tr>
     ${rows.join('')}</table>
     <p>Max |output − ours (simd128)|: ${diffs} ${run.ok ? '(within' : '(OVER'} ${TOLERANCE})</p>`,
  );
}

async function main() {
  await Promise.all([initSimd(), initScalar()]);
  tf.wasm.setWasmPaths('tfjs/');
  tf.wasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not start its wasm backend');
  await tf.ready();
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = new URL('ort/', location.href).href;

  const environment = {
    userAgent: navigator.userAgent,
    crossOriginIsolated: self.crossOriginIsolated,
    ours: { simdBuildHasSimd: simd.simd_enabled(), scalarBuildHasSimd: scalar.simd_enabled() },
    tfjs: {
      version: tf.version_core,
      backend: tf.getBackend(),
      simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
      multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
      threads: tf.wasm.getThreadsCount(),
    },
    ort: { version: ort.env.versions.web, numThreads: ort.env.wasm.numThreads },
  };
  if (!environment.ours.simdBuildHasSimd || environment.ours.scalarBuildHasSimd) {
    throw new Error(`the builds are mixed up: ${JSON.stringify(environment.ours)}`);
  }
  log(`environment: ${JSON.stringify(environment)}`);

  const runs = [];
  for (const n of NS) runs.push(await runSize(n));
  const ok = runs.every((r) => r.ok);
  window.benchResults = { d: D, seed: SEED, samples: SAMPLES, sampleMs: SAMPLE_MS, tolerance: TOLERANCE, environment, runs, ok };
  log(ok ? 'done' : `done, but outputs differ by more than ${TOLERANCE}`);
  if (!ok) status.className = 'failed';
}

main().catch((e) => {
  window.benchError = String(e?.stack ?? e);
  status.className = 'failed';
  log(`failed: ${window.benchError}`);
});
