// Drives Debian's Chromium (playwright-core, WebGPU on) through the GPU model benchmark page,
// merges the native GPU figures and writes target/bench/model-gpu.json and the Markdown section
// for docs/BENCHMARKS.md (target/bench/model-gpu.md). Run by `cargo xtask bench model --gpu`,
// which builds and serves the site.
//
// env: BENCH_URL (the page), BENCH_OUT (output folder), NATIVE_JSON (the native binary's
// output), CHROMIUM (default /usr/bin/chromium), BENCH_COMMAND (quoted in the section),
// BENCH_CHROMIUM_FLAGS (more flags, e.g. `--enable-features=Vulkan` where Chromium needs it to
// see a real GPU).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpuModel, runPage } from './driver.mjs';

const URL_ = process.env.BENCH_URL ?? 'http://127.0.0.1:8080/model-gpu.html';
const OUT = process.env.BENCH_OUT ?? 'target/bench';
const COMMAND = process.env.BENCH_COMMAND ?? 'cargo xtask bench model --gpu';
const FLAGS = ['--enable-unsafe-webgpu', ...(process.env.BENCH_CHROMIUM_FLAGS ?? '').split(' ').filter(Boolean)];
mkdirSync(OUT, { recursive: true });

/** Targets on a real GPU (issue: ≥ 10× our CPU at 1M, at least tfjs-webgpu at every size). */
const CPU_TARGET = 10;
const TFJS_TARGET = 1;

const int = (x) => Math.round(x).toLocaleString('en');
const f2 = (x) => x.toFixed(2);
const e1 = (x) => x.toExponential(1);
const met = (ok) => (ok ? 'met' : '**missed**');

function markdown(r) {
  const env = r.environment;
  const software = env.software;
  const lines = `## Model training on the GPU: ours on WebGPU against our CPU and tfjs-webgpu

Measured ${r.date} on ${r.cpu}, headless Chromium ${env.chromium} (flags \`${r.flags.join(' ')}\`), WebGPU
adapter: ${env.adapter} (wgpu names it ${env.oursAdapter}); by \`${r.command}\`, which writes this
section and \`target/bench/model-gpu.json\`.
${
  software
    ? `
**This run was on a software adapter: it shows that the GPU path, the peer and the checks run, and
the costs per step; its times are not speeds and none is quoted.** Run the command on a machine
with a real GPU for figures (natively on Vulkan, and in Chromium where it sees the GPU).
`
    : ''
}
The model of \`cargo xtask bench model\` (the copy task, pre-norm RMSNorm, learned positions, causal
softmax attention, a GELU feed-forward with biases, tied embeddings) at ${r.runs.map((x) => x.name).join(', ')}
parameters. Ours on WebGPU is the kernels' \`GpuTrainer\` (one submit per step, its losses read
back every ${r.group} steps, as the Model lab trains); ours on the CPU is \`Trainer\` (wasm
simd128, one thread); the peer is the same architecture in tfjs ${env.tfjs.version} on its
\`webgpu\` backend (\`optimizer.minimize\` with Adam), ${r.group} steps queued and then one loss
read. Before timing, the page checks that tfjs's loss from our initial weights on one batch is
our CPU's (within ${r.lossTolerance} relative) and that our GPU's first ${r.runs[0].check.gpuLosses.length} losses are our
CPU's, step for step. Submits and dispatches per step are counted by wrapping the page's
\`GPUQueue.submit\` and \`GPUComputePassEncoder.dispatchWorkgroups\` over one group of steps.
${
  software
    ? 'Each engine ran its warm-up and one timed group only.'
    : `Each time is the median of ${r.samples} samples of at least ${r.sampleMs} ms per engine, the engines taking turns.`
}

| size | parameters | tfjs − ours, initial loss | our GPU − our CPU, first losses (relative) | ours: submits / dispatches per step | tfjs-webgpu: submits / dispatches per step |
|---|---:|---:|---:|---:|---:|`.split('\n');
  for (const run of r.runs) {
    const [g, t] = [run.engines.gpu.perStep, run.engines.tfjs.perStep];
    lines.push(
      `| ${run.name}: ${run.layers} layers, width ${run.width} | ${int(run.params)} | ${e1(Math.abs(run.check.tfjs - run.check.ours))} | ` +
        `${e1(run.check.gpuGap)} | ${f2(g.submits)} / ${f2(g.dispatches)} | ${f2(t.submits)} / ${f2(t.dispatches)} |`,
    );
  }
  lines.push(
    '',
    `Ours writes ${int(r.runs[0].cost.bytesWritten)} bytes per step at ${r.runs[0].name} (the batch and the step's scalars) and maps ` +
      `${int(r.runs[0].cost.bytesRead)} bytes per readback (the loss ring and the flags).`,
    '',
  );
  if (!software) {
    lines.push('| size | ours, WebGPU (tokens/s) | ours, CPU (tokens/s) | tfjs-webgpu (tokens/s) | GPU / CPU | ours / tfjs |', '|---|---:|---:|---:|---:|---:|');
    for (const run of r.runs) {
      const e = run.engines;
      lines.push(
        `| ${run.name} | ${int(e.gpu.tokensPerSec)} | ${int(e.cpu.tokensPerSec)} | ${int(e.tfjs.tokensPerSec)} | **${f2(run.gpuOverCpu)}** | **${f2(run.gpuOverTfjs)}** |`,
      );
    }
    lines.push('', '| target | figure | status |', '|---|---|---|');
    const at1m = r.runs.find((x) => x.name === '1M');
    if (at1m) lines.push(`| 1M: ours on WebGPU ≥ ${CPU_TARGET}× ours on the CPU | ${f2(at1m.gpuOverCpu)}× | ${met(at1m.gpuOverCpu >= CPU_TARGET)} |`);
    for (const run of r.runs) lines.push(`| ${run.name}: ours on WebGPU ≥ tfjs-webgpu | ${f2(run.gpuOverTfjs)}× | ${met(run.gpuOverTfjs >= TFJS_TARGET)} |`);
    lines.push('');
  }
  const n = r.native;
  lines.push(
    `Natively (Vulkan through wgpu, \`src/bin/model.rs --gpu\`): adapter ${n.adapter}${n.software ? ', a software adapter: no speed quoted' : ''}.`,
    '',
    '| size | parameters | our GPU − our CPU, first losses (relative) | submits / dispatches per step |' + (n.software ? '' : ' tokens/s |'),
    '|---|---:|---:|---:|' + (n.software ? '' : '---:|'),
    ...n.runs.map(
      (x) => `| ${x.name} | ${int(x.params)} | ${e1(x.checkGap)} | ${x.submits} / ${x.dispatches} |` + (n.software ? '' : ` ${int(x.tokensPerSec)} |`),
    ),
  );
  return `${lines.join('\n')}\n`;
}

const results = await runPage(URL_, FLAGS);
results.date = new Date().toISOString().slice(0, 10);
results.cpu = cpuModel();
results.command = COMMAND;
results.flags = FLAGS;
results.native = JSON.parse(readFileSync(process.env.NATIVE_JSON ?? `${OUT}/model-gpu-native.json`, 'utf8'));
const md = markdown(results);
writeFileSync(`${OUT}/model-gpu.json`, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${OUT}/model-gpu.md`, md);
console.log(`    wrote ${OUT}/model-gpu.json and ${OUT}/model-gpu.md`);
