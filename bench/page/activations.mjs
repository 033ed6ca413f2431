// The activation benchmark page: each activation's forward pass over 2^20 seeded values, the
// simd128 build against the scalar build of the same code, taking turns in one page.
// `cargo xtask bench activations` serves it and reads `window.benchResults`.
import initSimd, * as simd from './simd/softplay_bench.js';
import initScalar, * as scalar from './scalar/softplay_bench.js';
import { median, msPerCall, pause } from './timing.mjs';

const query = new URLSearchParams(location.search);
// 2^14 values (128 KiB in and out) stay in cache; 2^20 (8 MiB) do not.
const LENS = [1 << 14, 1 << 20];
const SAMPLES = Number(query.get('samples') ?? 5);
const SAMPLE_MS = Number(query.get('sample_ms') ?? 250);
const NAMES = [
  'relu', 'leaky_relu', 'squared_relu', 'sigmoid', 'silu', 'silu_beta1.7', 'softplus', 'elu', 'gelu', 'gelu_tanh',
  'mish', 'tanh', 'crrelu', 'polyrelu', 'rational', 'kan', 'silu_beta2000',
];
const PASSES = ['forward', 'backward'];

const status = document.getElementById('status');
function log(message) {
  console.log(`bench: ${message}`);
  status.textContent = message;
}

async function main() {
  await initSimd();
  await initScalar();
  const builds = { simd: simd.simd_enabled(), scalar: scalar.simd_enabled() };
  if (!builds.simd || builds.scalar) throw new Error(`the builds are mixed up: ${JSON.stringify(builds)}`);
  const rows = [];
  for (const len of LENS) for (const pass of PASSES) for (const name of NAMES) {
    const benches = { simd: new simd.ActivationBench(len, name), scalar: new scalar.ActivationBench(len, name) };
    const samples = { simd: [], scalar: [] };
    for (const b of Object.values(benches)) {
      b.forward(); // warm-up, and the values the checksum covers
      b.backward();
    }
    for (let s = 0; s < SAMPLES; s++) {
      // Take turns, the order swapped every sample.
      for (const which of s % 2 ? ['scalar', 'simd'] : ['simd', 'scalar']) {
        samples[which].push(await msPerCall(() => benches[which][pass](), SAMPLE_MS, 3));
        await pause();
      }
    }
    const [simdMs, scalarMs] = [median(samples.simd), median(samples.scalar)];
    const checksums = { simd: benches.simd.checksum(), scalar: benches.scalar.checksum() };
    rows.push({ len, pass, name, simdMs, scalarMs, speedup: scalarMs / simdMs, simdSamples: samples.simd, scalarSamples: samples.scalar, checksums });
    benches.simd.free();
    benches.scalar.free();
    log(`${name} ${pass}, ${len} values: simd128 ${simdMs.toFixed(3)} ms, scalar ${scalarMs.toFixed(3)} ms (${(scalarMs / simdMs).toFixed(2)}×)`);
  }
  window.benchResults = { lens: LENS, samples: SAMPLES, sampleMs: SAMPLE_MS, rows, environment: { userAgent: navigator.userAgent } };
  log('done');
}

main().catch((e) => {
  window.benchError = String(e?.stack ?? e);
  status.textContent = `failed: ${e}`;
  status.className = 'failed';
});
