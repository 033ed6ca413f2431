// The model benchmark on the GPU: training steps of our transformer on WebGPU (the kernels'
// GpuTrainer, through wgpu) and on the CPU (wasm simd128), against the same architecture in
// tfjs on its WebGPU backend, in one page. `cargo xtask bench model --gpu` serves it and reads
// `window.benchResults`.
//
// Before any timing: tfjs's loss on one batch from our initial weights is our CPU's, and our
// GPU's first losses are our CPU's, step for step (same weights, same batches). Then the
// engines take turns. Both GPU engines are driven alike: GROUP steps queued back to back, then
// one read of a loss (the Model lab reads its losses back the same way), so neither waits on
// every step. Submits and dispatches per step are counted by wrapping the page's
// `GPUQueue.submit` and `GPUComputePassEncoder.dispatchWorkgroups`, for both alike.
import init, * as ours from './gpu/softplay_bench.js';
import { median, msPerCall, pause } from './timing.mjs';
import { TfjsModel } from './tfjs-model.mjs';

const tf = globalThis.tf;
const query = new URLSearchParams(location.search);
const SEED = 1;
/** Steps queued before one readback, for both GPU engines. */
const GROUP = 8;
/** Steps whose losses our GPU and our CPU must agree on before timing. */
const CHECK_STEPS = 4;
/** Distinct batches the tfjs model cycles through (made by our task generator). */
const BATCHES = 8;
/** |a − b| / |b| allowed between the losses of the same model on the same batch. */
const LOSS_TOLERANCE = 1e-3;

const status = document.getElementById('status');
function log(message) {
  console.log(`bench: ${message}`);
  status.textContent = message;
}

const counts = { submits: 0, dispatches: 0 };
function counted(proto, method, key) {
  const original = proto[method];
  proto[method] = function (...args) {
    counts[key] += 1;
    return original.apply(this, args);
  };
}

/** Submits and dispatches per step of `call` (which runs `steps` steps). */
async function perStep(call, steps) {
  const before = { ...counts };
  await call();
  return { submits: (counts.submits - before.submits) / steps, dispatches: (counts.dispatches - before.dispatches) / steps };
}

/** The browser's adapter, and whether it is a software one (SwiftShader: correct, slow). */
async function adapterInfo() {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('this browser offers no WebGPU adapter');
  const info = adapter.info ?? {};
  const text = ['vendor', 'architecture', 'device', 'description'].map((k) => info[k] ?? '').join(' ').trim();
  const software = Boolean(adapter.isFallbackAdapter || info.isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe|software/i.test(text);
  return { text: text || 'the browser withholds its name', software };
}

function batchFrom(size, seed) {
  const n = size.batch * size.seqLen;
  const both = ours.copy_task_batch(size.seqLen, size.batch, seed);
  return { tokens: both.slice(0, n), targets: both.slice(n) };
}

const gap = (a, b) => Math.abs(a - b) / Math.abs(b);

async function runSize(size, samples, sampleMs) {
  const label = `${size.name} (${size.layers} layers, width ${size.width}, ${size.heads} heads, ffn ${size.ffn}, batch ${size.batch} × ${size.seqLen} tokens)`;
  log(`${size.name}: setting up`);
  const { layers, width, heads, ffn, batch, seqLen } = size;
  const cpu = new ours.ModelBench(layers, width, heads, ffn, batch, seqLen, SEED);
  const tensors = JSON.parse(cpu.tensors_json());
  const vocab = tensors.find((t) => t.name === 'wte').shape[0];
  const peer = new TfjsModel(size, vocab, cpu.params(), tensors, `g${size.name}`);
  const batches = Array.from({ length: BATCHES }, (_, i) => batchFrom(size, 1000 + i));

  // The guards: tfjs is our model (same weights, same loss on the same batch), and our GPU
  // trains as our CPU does (the same losses, step for step, from the same seed).
  const check = {
    lnVocab: Math.log(vocab),
    ours: cpu.loss(batches[0].tokens, batches[0].targets),
    tfjs: await peer.evaluateAsync(batches[0]),
    paramsOurs: cpu.param_count(),
    paramsTfjs: peer.paramCount,
  };
  log(`${size.name}: compiling our GPU step`);
  const gpu = await ours.gpu_model_bench(layers, width, heads, ffn, batch, seqLen, SEED);
  check.gpuLosses = Array.from(await gpu.steps(CHECK_STEPS));
  check.cpuLosses = Array.from({ length: CHECK_STEPS }, () => cpu.steps(1));
  check.gpuGap = Math.max(...check.gpuLosses.map((l, i) => gap(l, check.cpuLosses[i])));
  check.ok =
    check.paramsOurs === check.paramsTfjs &&
    gap(check.tfjs, check.ours) <= LOSS_TOLERANCE &&
    Math.abs(check.tfjs - check.lnVocab) < 0.1 &&
    check.gpuLosses.length === CHECK_STEPS &&
    check.gpuGap <= LOSS_TOLERANCE;
  log(`${size.name}: check ${JSON.stringify(check)}`);
  if (!check.ok) throw new Error(`${size.name}: the engines do not train the same model: ${JSON.stringify(check)}`);

  let next = 0;
  const group = () => Array.from({ length: GROUP }, () => batches[next++ % BATCHES]);
  const engines = [
    { id: 'gpu', label: 'ours, WebGPU', steps: GROUP, call: () => gpu.steps(GROUP) },
    { id: 'cpu', label: 'ours, wasm simd128', steps: 1, call: () => cpu.steps(1) },
    { id: 'tfjs', label: `tfjs-webgpu ${tf.version_core}`, steps: GROUP, call: () => peer.steps(group()) },
  ];
  for (const e of engines) {
    log(`${size.name}: warming up ${e.id}`);
    await msPerCall(e.call, sampleMs, 2);
    e.perStep = await perStep(e.call, e.steps);
    await pause();
  }
  const ms = engines.map(() => []);
  for (let round = 0; round < samples; round++) {
    log(`${size.name}: round ${round + 1} of ${samples}`);
    for (let i = 0; i < engines.length; i++) {
      const e = (i + round) % engines.length;
      ms[e].push((await msPerCall(engines[e].call, sampleMs, 1)) / engines[e].steps);
      await pause();
    }
  }
  const cost = JSON.parse(gpu.cost_json());
  const tokensPerStep = cpu.tokens_per_step();
  const after = { cpu: cpu.loss(batches[0].tokens, batches[0].targets), tfjs: await peer.evaluateAsync(batches[0]) };
  gpu.free();
  cpu.free();
  peer.dispose();

  const run = { ...size, label, params: check.paramsOurs, tokensPerStep, check, after, cost, engines: {} };
  engines.forEach((e, i) => {
    const medianMs = median(ms[i]);
    run.engines[e.id] = { label: e.label, ms: ms[i], medianMs, tokensPerSec: (tokensPerStep / medianMs) * 1e3, perStep: e.perStep };
  });
  run.gpuOverCpu = run.engines.gpu.tokensPerSec / run.engines.cpu.tokensPerSec;
  run.gpuOverTfjs = run.engines.gpu.tokensPerSec / run.engines.tfjs.tokensPerSec;
  show(run);
  return run;
}

function show(run) {
  const rows = Object.values(run.engines).map(
    (e) =>
      `<tr><td>${e.label}</td><td>${e.medianMs.toFixed(2)}</td><td>${e.tokensPerSec.toFixed(0)}</td>` +
      `<td>${e.perStep.submits.toFixed(2)}</td><td>${e.perStep.dispatches.toFixed(1)}</td></tr>`,
  );
  document.getElementById('tables').insertAdjacentHTML(
    'beforeend',
    `<h2>${run.label}: ${run.params.toLocaleString('en')} parameters</h2>
     <table><tr><th>engine</th><th>ms per step (median)</th><th>tokens/s</th><th>submits per step</th><th>dispatches per step</th></tr>${rows.join('')}</table>
     <p>ours on WebGPU / ours on the CPU: ${run.gpuOverCpu.toFixed(2)}×; / tfjs-webgpu: ${run.gpuOverTfjs.toFixed(2)}×.</p>`,
  );
}

async function main() {
  if (!navigator.gpu) throw new Error('this browser offers no WebGPU (navigator.gpu is missing)');
  counted(GPUQueue.prototype, 'submit', 'submits');
  counted(GPUComputePassEncoder.prototype, 'dispatchWorkgroups', 'dispatches');
  await init();
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start its webgpu backend');
  await tf.ready();
  const adapter = await adapterInfo();
  // A software adapter checks that everything runs and agrees; its speed means nothing.
  const samples = Number(query.get('samples') ?? (adapter.software ? 1 : 5));
  const sampleMs = Number(query.get('sample_ms') ?? (adapter.software ? 0 : 1000));
  const environment = {
    userAgent: navigator.userAgent,
    adapter: adapter.text,
    software: adapter.software,
    oursAdapter: await ours.gpu_adapter(),
    oursHasSimd: ours.simd_enabled(),
    tfjs: { version: tf.version_core, backend: tf.getBackend() },
  };
  log(`environment: ${JSON.stringify(environment)}`);
  const wanted = query.get('sizes')?.split(',') ?? (adapter.software ? ['100k'] : null);
  const sizes = JSON.parse(ours.gpu_model_sizes_json()).filter((s) => !wanted || wanted.includes(s.name));
  if (sizes.length === 0) throw new Error(`no size named ${wanted}: the sizes are ${ours.gpu_model_sizes_json()}`);
  const runs = [];
  for (const size of sizes) runs.push(await runSize(size, samples, sampleMs));
  window.benchResults = { seed: SEED, group: GROUP, samples, sampleMs, lossTolerance: LOSS_TOLERANCE, environment, runs };
  log('done');
}

main().catch((e) => {
  window.benchError = String(e?.stack ?? e);
  status.className = 'failed';
  log(`failed: ${window.benchError}`);
});
