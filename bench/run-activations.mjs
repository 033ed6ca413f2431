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

// Which passes are the loops that vectorise (the others compute in f64, one value at a time).
const SCALAR = new Set(['silu_beta2000']);

const r = await runPage(URL_);
r.cpu = cpuModel();
r.date = new Date().toISOString().slice(0, 10);
r.command = COMMAND;
writeFileSync(`${OUT}/activations.json`, JSON.stringify(r, null, 2));

const lines = [
  '## Activations: simd128 against the scalar build',
  '',
  `Measured ${r.date} on ${r.cpu}, headless Chromium ${r.environment.chromium}, by \`${r.command}\`,`,
  'which writes this section and `target/bench/activations.json`.',
  '',
  '`activation_forward` and `activation_backward` over seeded N(0, 3²) values (half of them negative, so a branch on the sign',
  'is mispredicted half the time), one thread; the same Rust code built with simd128 and with',
  '`-C target-feature=-simd128`, taking turns in one page; median of',
  `${r.samples} samples of at least ${r.sampleMs} ms each. "vector": the loop that vectorises (f32x4; f64x2 lanes for the`,
  'polynomials of PolyReLU and the rational unit and for the KAN edge\'s interval), within 1e-6 of the exact values and',
  '1e-5 of the exact slopes; "f64": computed in f64 one value at a time and rounded once (SiLU with β beyond ±1000,',
  'shown for comparison).',
];
for (const len of r.lens) {
  lines.push(
    '',
    `### ${len.toLocaleString('en')} values (${len === 1 << 14 ? 'in cache' : 'out of L2'})`,
    '',
    '| activation | pass | form | simd128 ms | scalar ms | speed-up (scalar ms ÷ simd128 ms) | simd128 M values/s |',
    '|---|---|---|---:|---:|---:|---:|',
  );
  for (const row of r.rows.filter((x) => x.len === len)) {
    const form = SCALAR.has(row.name) ? 'f64' : 'vector';
    const mvals = (len / (row.simdMs * 1e3)).toFixed(0);
    lines.push(`| ${row.name} | ${row.pass} | ${form} | ${row.simdMs.toFixed(3)} | ${row.scalarMs.toFixed(3)} | ${row.speedup.toFixed(2)} | ${mvals} |`);
  }
}
// The two builds must compute the same numbers: elementwise f32 and f64 code does not reorder.
const differing = r.rows.filter((row) => row.checksums.simd !== row.checksums.scalar).map((row) => `${row.name} ${row.pass} (${row.len})`);
if (differing.length) {
  console.error(`the simd128 and scalar builds give different outputs: ${differing.join(', ')}`);
  process.exit(1);
}
const big = r.rows.filter((x) => x.len === 1 << 20 && !SCALAR.has(x.name)).map((x) => x.speedup).sort((a, b) => a - b);
lines.push(
  '',
  `Out of L2 the vectorised passes run ${big[0].toFixed(1)}× to ${big.at(-1).toFixed(1)}× as fast as the scalar build ` +
    `(median ${big[big.length >> 1].toFixed(1)}×, ${big.filter((x) => x >= 3).length} of ${big.length} at 3× or more).`,
  '',
  'The two builds give bit-identical outputs (their sums compared exactly).',
  '',
);
writeFileSync(`${OUT}/activations.md`, lines.join('\n'));
console.log(lines.join('\n'));
