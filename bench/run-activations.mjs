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

const mvals = (ms) => (r.len / (ms * 1e3)).toFixed(0);
const lines = [
  '## Activations forward: simd128 against the scalar build',
  '',
  `Measured ${r.date} on ${r.cpu}, headless Chromium ${r.environment.chromium}, by \`${r.command}\`,`,
  'which writes this section and `target/bench/activations.json`.',
  '',
  `\`activation_forward\` over ${r.len.toLocaleString('en')} seeded N(0, 3²) values, one thread; the same Rust code built`,
  'with simd128 and with `-C target-feature=-simd128`, taking turns in one page; median of',
  `${r.samples} samples of at least ${r.sampleMs} ms each. "f32 loop": the forward pass that vectorises (within 1e-6 of`,
  'the exact values); "f64": computed in f64 and rounded once (no vector form yet).',
  '',
  '| activation | form | simd128 ms | scalar ms | simd128 / scalar | simd128 M values/s |',
  '|---|---|---:|---:|---:|---:|',
];
for (const row of r.rows) {
  const form = VECTORISED.has(row.name) ? 'f32 loop' : 'f64';
  lines.push(
    `| ${row.name} | ${form} | ${row.simdMs.toFixed(2)} | ${row.scalarMs.toFixed(2)} | ${row.ratio.toFixed(2)} | ${mvals(row.simdMs)} |`,
  );
}
const same = r.rows.every((row) => Math.abs(row.checksums.simd - row.checksums.scalar) <= 1e-6 * Math.abs(row.checksums.scalar) + 1e-3);
lines.push('', `Both builds give the same sums of outputs (to 1e-6): ${same ? 'yes' : 'no'}.`, '');
writeFileSync(`${OUT}/activations.md`, lines.join('\n'));
console.log(lines.join('\n'));
