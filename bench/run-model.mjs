// Drives Debian's Chromium (playwright-core) through the model benchmark page, one page in one
// browser, merges the native figures and writes target/bench/model.json and the Markdown
// section for docs/BENCHMARKS.md (target/bench/model.md). Run by `cargo xtask bench model`,
// which builds and serves the site.
//
// env: BENCH_URL (the page), BENCH_OUT (output folder), NATIVE_JSON (the native binary's
// output), CHROMIUM (default /usr/bin/chromium), BENCH_COMMAND (quoted in the section).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpuModel, runPage } from './driver.mjs';

const URL_ = process.env.BENCH_URL ?? 'http://127.0.0.1:8080/model.html';
const OUT = process.env.BENCH_OUT ?? 'target/bench';
const COMMAND = process.env.BENCH_COMMAND ?? 'cargo xtask bench model';
mkdirSync(OUT, { recursive: true });

const RATIO_TARGET = 2;
const NATIVE_TARGET = 2;
const MEMORY_TARGET = 200e6;

const int = (x) => Math.round(x).toLocaleString('en');
const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);
const pct = (part, whole) => `${((100 * part) / whole).toFixed(0)}%`;
const met = (ok) => (ok ? 'met' : '**missed**');

function markdown(r) {
  const env = r.environment;
  const big = r.runs.at(-1);
  const lines = `## Model training: ours against tfjs-wasm

Measured ${r.date} on ${r.cpu}, headless Chromium ${env.chromium},
by \`${r.command}\`, which writes this section and \`target/bench/model.json\`.

Training steps of one decoder-only transformer, single thread, f32: the copy task's 18 tokens,
pre-norm RMSNorm, learned positions, causal softmax attention, a GELU feed-forward with biases,
tied embeddings, mean cross-entropy over the positions with a target. Ours is
\`kernels/src/model\` (profile \`release-worker\`, opt-level 3, simd128); the peer is the same
architecture written with tfjs ${env.tfjs.version} on its wasm backend (SIMD ${env.tfjs.simd},
${env.tfjs.threads} thread), with the same shapes, batch and initial weights (ours, copied into
its variables). Before any timing the page checks that both give the same loss on the same
batch (within ${r.lossTolerance}) and that it is near ln 18 = ${f2(Math.log(18))}, and that the
parameter counts agree.

- **A step**, ours: \`Trainer::train_step\` — a fresh batch of the copy task, forward, backward,
  clipping by global norm, AdamW with its schedule. tfjs: the batch's tensors (one-hot tokens and
  targets, weights), \`optimizer.minimize\` with \`tf.train.adam\` (forward, backward by tfjs's
  autodiff, the Adam update; no clipping, no weight decay), the loss read with \`dataSync()\`.
- **tfjs's products** are 2-D \`matMul\` of untransposed operands, with a custom gradient that is
  also untransposed products (\`dy·transpose(b)\`, \`transpose(a)·dy\`): its XNNPACK path, forward
  and backward. Its attention was timed in three forms at the start of each size — a batched 3-D
  product over all heads with k transposed by an op, the same with k flagged as transposed
  (tfjs-wasm runs batched products on its scalar path, where the flag makes the inner loop
  contiguous), and one 2-D XNNPACK product per head — and the fastest was kept (ms per step
  below).
- **Timing**: each figure is the median of ${r.samples} samples per engine, each at least
  ${r.sampleMs} ms of back-to-back steps (at least one step), after a warm-up; the engines take
  turns in one page of one browser, the order alternating each round. Tokens/s = batch ×
  sequence length / time per step (every position counts, although the copy task scores only
  the answer half). Native: the same Rust code, ${r.native.arch} with ${r.native.features},
  ${r.native.samples} samples of at least ${r.native.sampleSecs} s. That build targets the x86-64
  baseline (SSE2, two-operand instructions), while Chromium compiles the wasm with AVX
  encodings; native figures are our code built that way, not the machine's best.

| size | parameters | batch × tokens | ours, wasm (tokens/s) | tfjs-wasm (tokens/s) | ours / tfjs | ours, native (tokens/s) | native / wasm |
|---|---:|---|---:|---:|---:|---:|---:|`.split('\n');
  for (const run of r.runs) {
    const n = r.native.runs.find((x) => x.name === run.name);
    run.nativeRatio = n.tokensPerSec / run.engines.ours.tokensPerSec;
    lines.push(
      `| ${run.name}: ${run.layers} layers, width ${run.width}, ${run.heads} heads, ffn ${run.ffn} | ${int(run.params)} | ` +
        `${run.batch} × ${run.seqLen} | ${int(run.engines.ours.tokensPerSec)} | ${int(run.engines.tfjs.tokensPerSec)} | ` +
        `**${f2(run.ratio)}** | ${int(n.tokensPerSec)} | ${f2(run.nativeRatio)} |`,
    );
  }
  lines.push('', '| target | figure | status |', '|---|---|---|');
  for (const run of r.runs) lines.push(`| ${run.name}: ours ≥ ${RATIO_TARGET}× tfjs-wasm | ${f2(run.ratio)}× | ${met(run.ratio >= RATIO_TARGET)} |`);
  for (const run of r.runs) lines.push(`| ${run.name}: native / wasm ≤ ${NATIVE_TARGET} | ${f2(run.nativeRatio)} | ${met(run.nativeRatio <= NATIVE_TARGET)} |`);
  lines.push(
    `| ${big.name} trains within 200 MB of wasm memory | ${int(big.memoryBytes)} bytes (${f1(big.memoryBytes / 1e6)} MB) | ${met(big.memoryBytes <= MEMORY_TARGET)} |`,
    '',
    `Wasm memory is our module's linear memory after the ${big.name} model's run (it never shrinks, so it is the`,
    'high-water mark of everything the page ran in that module).',
    '',
    'Where a step\'s time goes (the second table of each size): its matrix products (every layer\'s four, forward and',
    'backward; ours with the bias gradients, tfjs without) and its attention (forward and backward, tfjs in the form it',
    'used), each timed on its own with the step\'s shapes, interleaved with the others; the rest is the norms, the',
    'embeddings, the output layer and its softmax, the GELU, the copies between the head layout and the rows and the',
    'optimiser (ours: also the finiteness checks and clipping; tfjs: also its per-op dispatch and the batch\'s tensors).',
    'Natively the rest also holds the system\'s page faults on the fresh activation buffers each step allocates (the',
    'wasm allocator reuses its memory instead).',
    '',
    '### Per size',
    '',
  );
  for (const run of r.runs) {
    const n = r.native.runs.find((x) => x.name === run.name);
    const [ours, tf] = [run.engines.ours, run.engines.tfjs];
    const rest = (step, mm, att) => step - mm - att;
    lines.push(
      `**${run.label}**, ${int(run.params)} parameters (tfjs: ${int(run.check.paramsTfjs)}). Initial loss on one batch: ours ` +
        `${run.check.ours.toFixed(5)}, tfjs ${run.check.tfjs.toFixed(5)}; after the timed steps: ours ${run.after.ours.toFixed(3)}, ` +
        `tfjs ${run.after.tfjs.toFixed(3)}. tfjs's attention forms, ms for one step: ` +
        `${Object.entries(run.tfjsAttentionMs).map(([form, ms]) => `${form} ${f1(ms)}`).join(', ')}; used: ${run.tfjsAttention}.`,
      '',
      '| engine | ms per step (median) | tokens/s | samples (ms per step) |',
      '|---|---:|---:|---|',
      ...Object.values(run.engines).map((e) => `| ${e.label} | ${f1(e.medianMs)} | ${int(e.tokensPerSec)} | ${e.ms.map(f1).join(', ')} |`),
      `| ours, native | ${f1(n.medianMs)} | ${int(n.tokensPerSec)} | ${n.ms.map(f1).join(', ')} |`,
      '',
      '| | step (ms) | products (ms) | attention (ms) | rest (ms) |',
      '|---|---:|---:|---:|---:|',
      `| ours, wasm simd128 | ${f1(ours.medianMs)} | ${f1(run.parts.matmuls.medianMs)} (${pct(run.parts.matmuls.medianMs, ours.medianMs)}) | ` +
        `${f1(run.parts.attention.medianMs)} (${pct(run.parts.attention.medianMs, ours.medianMs)}) | ` +
        `${f1(rest(ours.medianMs, run.parts.matmuls.medianMs, run.parts.attention.medianMs))} |`,
      `| ours, native | ${f1(n.medianMs)} | ${f1(n.matmulsMs)} (${pct(n.matmulsMs, n.medianMs)}) | ${f1(n.attentionMs)} (${pct(n.attentionMs, n.medianMs)}) | ` +
        `${f1(rest(n.medianMs, n.matmulsMs, n.attentionMs))} |`,
      `| tfjs-wasm | ${f1(tf.medianMs)} | ${f1(run.parts.tfjsMatmuls.medianMs)} (${pct(run.parts.tfjsMatmuls.medianMs, tf.medianMs)}) | ` +
        `${f1(run.parts.tfjsAttention.medianMs)} (${pct(run.parts.tfjsAttention.medianMs, tf.medianMs)}) | ` +
        `${f1(rest(tf.medianMs, run.parts.tfjsMatmuls.medianMs, run.parts.tfjsAttention.medianMs))} |`,
      '',
    );
  }
  lines.push(
    `tfjs: backend ${env.tfjs.backend}, SIMD ${env.tfjs.simd}, multithreading ${env.tfjs.multithread}, ${env.tfjs.threads} ` +
      `thread(s). Cross-origin isolated: ${env.crossOriginIsolated}. WebAssembly files the page fetched: ` +
      `${env.fetched.filter((f) => f.endsWith('.wasm')).join(', ')}.`,
  );
  return `${lines.join('\n')}\n`;
}

const results = await runPage(URL_);
results.date = new Date().toISOString().slice(0, 10);
results.cpu = cpuModel();
results.command = COMMAND;
results.native = JSON.parse(readFileSync(process.env.NATIVE_JSON ?? `${OUT}/model-native.json`, 'utf8'));
const md = markdown(results);
writeFileSync(`${OUT}/model.json`, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${OUT}/model.md`, md);
console.log(`    wrote ${OUT}/model.json and ${OUT}/model.md`);
