// Drives Debian's Chromium (playwright-core) through the attention benchmark page, one page in
// one browser, merges the native figures and writes target/bench/attention.json and the
// Markdown section for docs/BENCHMARKS.md (target/bench/attention.md). Run by
// `cargo xtask bench attention`, which builds and serves the site.
//
// env: BENCH_URL (the page), BENCH_OUT (output folder), NATIVE_JSON (the native binary's
// output), CHROMIUM (default /usr/bin/chromium), BENCH_COMMAND (quoted in the section).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpuModel, runPage } from './driver.mjs';

const URL_ = process.env.BENCH_URL ?? 'http://127.0.0.1:8080/';
const OUT = process.env.BENCH_OUT ?? 'target/bench';
const COMMAND = process.env.BENCH_COMMAND ?? 'cargo xtask bench attention';
mkdirSync(OUT, { recursive: true });

const f1 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(1));
const f2 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));

function markdown(r) {
  const env = r.environment;
  const wasmFiles = env.fetched.filter((f) => f.endsWith('.wasm') || f.endsWith('.mjs')).join(', ');
  const lines = `## Attention forward: ours against tfjs-wasm and onnxruntime-web

Measured ${r.date} on ${r.cpu}, headless Chromium ${env.chromium},
by \`${r.command}\`, which writes this section and \`target/bench/attention.json\`.

Causal softmax attention, one head, d = ${r.d}, f32, one thread, counted as 4·n²·d flops per
call (the masked half included). Each figure is the median of ${r.samples} samples, each at least
${r.sampleMs} ms of back-to-back calls, after a warm-up; the engines take turns (order rotated
each round) in one page of one browser. All get the same seeded inputs (uniform ±1) and, in each
timed call, copy them in and the output out: ours \`load\` + \`forward\` + \`output\`; tfjs
\`matMul(q·(1/√d), transpose(k))\` + mask → softmax → \`matMul\` with v, \`dataSync()\`;
onnxruntime-web Gemm(α = 1/√d, transB) → Add(mask) → Softmax → MatMul (opset 17), creating the
input tensors and reading the output. "Kernel only" rows time our forward or backward on inputs
already loaded. Ours is the \`softmax\` variant (three-pass), profile \`release-worker\`
(opt-level 3); the scalar build is the same code with \`-C target-feature=-simd128\`; native is
${r.native.arch} with ${r.native.features}.
`.split('\n');
  for (const run of r.runs) {
    const native = r.native.runs.find((x) => x.n === run.n)?.engines ?? {};
    const rows = [
      ...Object.values(run.engines),
      { ...native['native-fwd'], label: 'ours, native, forward kernel only' },
      { ...native['native-bwd'], label: 'ours, native, backward kernel only' },
      { ...native['native-peak'], label: 'native peak (the same 12 × 4-lane mul+add chains)' },
    ];
    lines.push(`### n = ${run.n}`, '', '| engine | ms per call | GFLOP/s | samples (GFLOP/s) |', '|---|---:|---:|---|');
    for (const e of rows) {
      const samples = e.flops ? e.ms.map((ms) => f1(e.flops / ms / 1e6)).join(', ') : '–';
      lines.push(`| ${e.label} | ${f2(e.medianMs)} | ${e.gflops === null ? '–' : f1(e.gflops)} | ${samples} |`);
    }
    lines.push('');
  }
  const ratio = (f) => r.runs.map((run) => f2(f(run.engines, r.native.runs.find((x) => x.n === run.n)?.engines)));
  const table = [
    ['ours simd128 / tfjs-wasm (GFLOP/s, copies included)', (e) => e['ours-simd'].gflops / e.tfjs.gflops],
    ['ours simd128 / onnxruntime-web', (e) => e['ours-simd'].gflops / e.ort.gflops],
    ['native / ours simd128 (forward kernel only)', (e, n) => n['native-fwd'].gflops / e['ours-simd-fwd'].gflops],
    ['ours simd128 / ours scalar', (e) => e['ours-simd'].gflops / e['ours-scalar'].gflops],
    ['backward / forward time (simd128, kernel only)', (e) => e['ours-simd-bwd'].medianMs / e['ours-simd-fwd'].medianMs],
    ['backward / forward time (native)', (e, n) => n['native-bwd'].medianMs / n['native-fwd'].medianMs],
    ['ours simd128 forward kernel / simd128 peak', (e) => e['ours-simd-fwd'].gflops / e.peak.gflops],
  ];
  lines.push('### Ratios', '', `| ratio | ${r.runs.map((run) => `n = ${run.n}`).join(' | ')} |`);
  lines.push(`|---|${r.runs.map(() => '---:').join('|')}|`);
  for (const [name, f] of table) lines.push(`| ${name} | ${ratio(f).join(' | ')} |`);
  const maxDiff = (run) => Math.max(...Object.values(run.maxAbsDiff));
  lines.push(
    `| max \\|output − ours simd128\\| over the other engines | ${r.runs.map((run) => maxDiff(run).toExponential(1)).join(' | ')} |`,
    '',
    `All outputs agree within ${r.tolerance}: ${r.ok ? 'yes' : '**NO**'}. tfjs: backend ${env.tfjs.backend}, SIMD ` +
      `${env.tfjs.simd}, multithreading ${env.tfjs.multithread}, ${env.tfjs.threads} thread(s). onnxruntime-web ` +
      `${env.ort.version}: numThreads ${env.ort.numThreads}. Cross-origin isolated: ${env.crossOriginIsolated}. ` +
      `WebAssembly files and modules the page fetched: ${wasmFiles}.`,
  );
  return `${lines.join('\n')}\n`;
}

const results = await runPage(URL_);
results.date = new Date().toISOString().slice(0, 10);
results.cpu = cpuModel();
results.command = COMMAND;
results.native = JSON.parse(readFileSync(process.env.NATIVE_JSON ?? `${OUT}/native.json`, 'utf8'));
writeFileSync(`${OUT}/attention.json`, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${OUT}/attention.md`, markdown(results));
console.log(`    wrote ${OUT}/attention.json and ${OUT}/attention.md`);
if (!results.ok) {
  console.error(`outputs differ by more than ${results.tolerance}: ${JSON.stringify(results.runs.map((r) => r.maxAbsDiff))}`);
  process.exit(1);
}
