// Drives Debian's Chromium through the activation benchmark page and writes
// target/bench/activations.json and the Markdown section for docs/BENCHMARKS.md
// (target/bench/activations.md). Run by `cargo xtask bench activations`, which builds and
// serves the page. env: BENCH_URL (the page), BENCH_OUT (output folder), BENCH_COMMAND.
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpuModel, runPage } from './driver.mjs';

const URL_ = process.env.BENCH_URL ?? 'http://127.0.0.1:8080/activations.html';
const OUT = process.env.BENCH_OUT ?? 'target/bench';
const COMMAND = process.env.BENCH_COMMAND ?? 'cargo xtask bench activations';
mkdirSync(OUT, { recursive: true });

// Which forward passes are the f32 loops that vectorise (the others compute in f64).
const VECTORISED = new Set(['relu', 'leaky_relu', 'squared_relu', 'sigmoid', 'silu', 'silu_beta1.7']);

const r = await runPage(URL_);
r.cpu = cpuModel();
r.date = new Date().toISOString().slice(0, 10);
r.command = COMMAND;
writeFileSync(`${OUT}/activations.json`, JSON.stringify(r, null, 2));

const lines = [
  '## Activations forward: simd128 against the scalar build',
  '',
  `Measured ${r.date} on ${r.cpu}, headless Chromium ${r.environment.chromium}, by \`${r.command}\`,`,
  'which writes this section and `target/bench/activations.json`.',
  '',
  '`activation_forward` over seeded N(0, 3²) values (half of them negative, so a branch on the sign',
  'is mispredicted half the time), one thread; the same Rust code built with simd128 and with',
  '`-C target-feature=-simd128`, taking turns in one page; median of',
  `${r.samples} samples of at least ${r.sampleMs} ms each. "f32 loop": the forward pass that vectorises (within 1e-6 of`,
  'the exact values); "f64": computed in f64 and rounded once (no vector form yet).',
];
for (const len of r.lens) {
  lines.push(
    '',
    `### ${len.toLocaleString('en')} values (${len === 1 << 14 ? 'in cache' : 'out of L2'})`,
    '',
    '| activation | form | simd128 ms | scalar ms | speed-up (scalar ms ÷ simd128 ms) | simd128 M values/s |',
    '|---|---|---:|---:|---:|---:|',
  );
  for (const row of r.rows.filter((x) => x.len === len)) {
    const form = VECTORISED.has(row.name) ? 'f32 loop' : 'f64';
    const mvals = (len / (row.simdMs * 1e3)).toFixed(0);
    lines.push(`| ${row.name} | ${form} | ${row.simdMs.toFixed(3)} | ${row.scalarMs.toFixed(3)} | ${row.speedup.toFixed(2)} | ${mvals} |`);
  }
}
// The two builds must compute the same numbers: elementwise f32 and f64 code does not reorder.
const differing = r.rows.filter((row) => row.checksums.simd !== row.checksums.scalar).map((row) => `${row.name} (${row.len})`);
if (differing.length) {
  console.error(`the simd128 and scalar builds give different outputs: ${differing.join(', ')}`);
  process.exit(1);
}
lines.push('', 'The two builds give bit-identical outputs (their sums compared exactly).', '');
writeFileSync(`${OUT}/activations.md`, lines.join('\n'));
console.log(lines.join('\n'));
