// The model benchmark page: training steps of our transformer (Rust → wasm simd128) against
// the same architecture written with tfjs on its wasm backend, in one page, timed the same
// way. `cargo xtask bench model` serves it and reads `window.benchResults`.
//
// A step, for both: a fresh batch of the copy task, forward, backward and the optimiser's
// update, ending with the loss as a number. Both models start from the same weights (ours,
// copied into tfjs variables), and their losses on one batch are checked to agree before any
// timing, so the peer is the same model and not an approximation of it.
import init, * as ours from './simd/softplay_bench.js';
import { median, msPerCall, pause } from './timing.mjs';
import { TfjsModel, mm } from './tfjs-model.mjs';

const tf = globalThis.tf;
const query = new URLSearchParams(location.search);
const SAMPLES = Number(query.get('samples') ?? 7);
const SAMPLE_MS = Number(query.get('sample_ms') ?? 1000);
const SEED = 1;
/** Distinct batches the tfjs model cycles through (made by our task generator). */
const BATCHES = 8;
/** |tfjs − ours| allowed for the loss of the same weights on the same batch. */
const LOSS_TOLERANCE = 1e-3;
/** The forms of tfjs's attention tried (see `TfjsModel.attend`). */
const ATTENTION_FORMS = ['batched', 'batched-tb', 'per-head'];

const status = document.getElementById('status');
function log(message) {
  console.log(`bench: ${message}`);
  status.textContent = message;
}

/** The products and the attention of one tfjs step (every layer's), forward and backward,
 * as calls; the products without their bias gradients. */
function tfjsParts(peer) {
  const { batch: B, seqLen: T, width: C, heads: NH, ffn: F, layers } = peer.size;
  const N = B * T;
  const normal = (shape) => tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 9), 0.1));
  const shapes = [[C, 3 * C], [C, C], [C, F], [F, C]];
  const products = shapes.map(([i, o]) => ({ args: [normal([N, i]), normal([i, o])], dy: normal([N, o]) }));
  const heads = { args: [0, 1, 2].map(() => normal([B * NH, T, peer.hd])), dy: normal([B * NH, T, peer.hd]) };
  const product = tf.grads((a, w) => mm(a, w));
  const attention = tf.grads((q, k, v) => peer.attend(q, k, v));
  const run = (f, { args, dy }) => {
    const g = f(args, dy);
    g[0].dataSync();
    g.forEach((t) => t.dispose());
  };
  return {
    matmuls: () => {
      for (let l = 0; l < layers; l++) products.forEach((p) => run(product, p));
    },
    attention: () => {
      for (let l = 0; l < layers; l++) run(attention, heads);
    },
    dispose: () => [...products, heads].forEach(({ args, dy }) => tf.dispose([...args, dy])),
  };
}

function batchFrom(size, seed) {
  const n = size.batch * size.seqLen;
  const both = ours.copy_task_batch(size.seqLen, size.batch, seed);
  return { tokens: both.slice(0, n), targets: both.slice(n) };
}

async function runSize(size) {
  const label = `${size.name} (${size.layers} layers, width ${size.width}, ${size.heads} heads, ffn ${size.ffn}, batch ${size.batch} × ${size.seqLen} tokens)`;
  log(`${size.name}: setting up`);
  const model = new ours.ModelBench(size.layers, size.width, size.heads, size.ffn, size.batch, size.seqLen, SEED);
  const tensors = JSON.parse(model.tensors_json());
  const vocab = tensors.find((t) => t.name === 'wte').shape[0];
  const peer = new TfjsModel(size, vocab, model.params(), tensors, `m${size.name}`);
  const batches = Array.from({ length: BATCHES }, (_, i) => batchFrom(size, 1000 + i));

  // The guard: the same weights give the same loss on the same batch, near ln V at the start.
  const check = {
    lnVocab: Math.log(vocab),
    ours: model.loss(batches[0].tokens, batches[0].targets),
    tfjs: peer.evaluate(batches[0]),
    paramsOurs: model.param_count(),
    paramsTfjs: peer.paramCount,
  };
  check.ok =
    check.paramsOurs === check.paramsTfjs &&
    Math.abs(check.ours - check.tfjs) <= LOSS_TOLERANCE &&
    Math.abs(check.tfjs - check.lnVocab) < 0.1;
  log(`${size.name}: initial check ${JSON.stringify(check)}`);
  if (!check.ok) throw new Error(`${size.name}: the tfjs model is not ours: ${JSON.stringify(check)}`);

  const tokensPerStep = model.tokens_per_step();
  let next = 0;
  const tfjsStep = () => peer.step(batches[next++ % BATCHES]);
  const engines = [
    { id: 'ours', label: 'ours, wasm simd128', call: () => model.steps(1) },
    { id: 'tfjs', label: `tfjs-wasm ${tf.version_core}`, call: tfjsStep },
  ];

  // The peer's attention in its faster form: a warm-up step, then a timed one, for each.
  const attentionMs = {};
  for (const form of ATTENTION_FORMS) {
    peer.attention = form;
    tfjsStep();
    attentionMs[form] = await msPerCall(tfjsStep, 0, 1);
    await pause();
  }
  peer.attention = ATTENTION_FORMS.reduce((best, form) => (attentionMs[form] < attentionMs[best] ? form : best));
  log(`${size.name}: tfjs attention forms (ms per step) ${JSON.stringify(attentionMs)}; using ${peer.attention}`);

  for (const e of engines) {
    log(`${size.name}: warming up ${e.id}`);
    await msPerCall(e.call, SAMPLE_MS, 2);
    await pause();
  }
  const samples = engines.map(() => []);
  for (let round = 0; round < SAMPLES; round++) {
    log(`${size.name}: round ${round + 1} of ${SAMPLES}`);
    for (let i = 0; i < engines.length; i++) {
      const e = (i + round) % engines.length;
      samples[e].push(await msPerCall(engines[e].call, SAMPLE_MS, 1));
      await pause();
    }
  }
  const after = { ours: model.loss(batches[0].tokens, batches[0].targets), tfjs: peer.evaluate(batches[0]) };
  const memoryBytes = ours.wasm_memory_bytes();
  model.free();

  // Where each step's time goes: the step's products and its attention, forward and
  // backward, run on their own with the step's shapes (tfjs: its forms of them, from tf.grads).
  log(`${size.name}: timing the parts of the steps`);
  const parts = new ours.ModelParts(size.layers, size.width, size.heads, size.ffn, size.batch, size.seqLen);
  const peerParts = tfjsParts(peer);
  const partCalls = {
    matmuls: () => parts.matmuls(),
    attention: () => parts.attention(),
    tfjsMatmuls: peerParts.matmuls,
    tfjsAttention: peerParts.attention,
  };
  const partSamples = Object.fromEntries(Object.keys(partCalls).map((id) => [id, []]));
  for (const call of Object.values(partCalls)) await msPerCall(call, SAMPLE_MS / 4, 2);
  for (let round = 0; round < SAMPLES; round++) {
    for (const [id, call] of Object.entries(partCalls)) partSamples[id].push(await msPerCall(call, SAMPLE_MS / 2, 1));
    await pause();
  }
  parts.free();
  peerParts.dispose();
  peer.dispose();

  const run = { ...size, label, params: check.paramsOurs, tokensPerStep, check, after, tfjsAttention: peer.attention, tfjsAttentionMs: attentionMs, memoryBytes, engines: {}, parts: {} };
  engines.forEach((e, i) => {
    const medianMs = median(samples[i]);
    run.engines[e.id] = { label: e.label, ms: samples[i], medianMs, tokensPerSec: (tokensPerStep / medianMs) * 1e3 };
  });
  for (const [id, ms] of Object.entries(partSamples)) run.parts[id] = { ms, medianMs: median(ms) };
  run.ratio = run.engines.ours.tokensPerSec / run.engines.tfjs.tokensPerSec;
  show(run);
  return run;
}

function show(run) {
  const rows = Object.values(run.engines).map(
    (e) => `<tr><td>${e.label}</td><td>${e.medianMs.toFixed(1)}</td><td>${e.tokensPerSec.toFixed(0)}</td><td>${e.ms.map((x) => x.toFixed(1)).join(', ')}</td></tr>`,
  );
  document.getElementById('tables').insertAdjacentHTML(
    'beforeend',
    `<h2>${run.label}: ${run.params.toLocaleString('en')} parameters</h2>
     <table><tr><th>engine</th><th>ms per step (median)</th><th>tokens/s</th><th>samples (ms)</th></tr>${rows.join('')}</table>
     <p>ours / tfjs: ${run.ratio.toFixed(2)}×. Our products ${run.parts.matmuls.medianMs.toFixed(1)} ms and attention
     ${run.parts.attention.medianMs.toFixed(1)} ms of a ${run.engines.ours.medianMs.toFixed(1)} ms step. Wasm memory
     ${(run.memoryBytes / 2 ** 20).toFixed(1)} MiB.</p>`,
  );
}

async function main() {
  await init();
  tf.wasm.setWasmPaths('tfjs/');
  tf.wasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not start its wasm backend');
  await tf.ready();
  const environment = {
    userAgent: navigator.userAgent,
    crossOriginIsolated: self.crossOriginIsolated,
    oursHasSimd: ours.simd_enabled(),
    tfjs: {
      version: tf.version_core,
      backend: tf.getBackend(),
      simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
      multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
      threads: tf.wasm.getThreadsCount(),
    },
  };
  if (!environment.oursHasSimd) throw new Error('our build has no simd128');
  log(`environment: ${JSON.stringify(environment)}`);
  const wanted = query.get('sizes')?.split(',');
  const sizes = JSON.parse(ours.model_sizes_json()).filter((s) => !wanted || wanted.includes(s.name));
  const runs = [];
  for (const size of sizes) runs.push(await runSize(size));
  window.benchResults = { seed: SEED, samples: SAMPLES, sampleMs: SAMPLE_MS, lossTolerance: LOSS_TOLERANCE, environment, runs };
  log('done');
}

main().catch((e) => {
  window.benchError = String(e?.stack ?? e);
  status.className = 'failed';
  log(`failed: ${window.benchError}`);
});
