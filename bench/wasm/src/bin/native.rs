//! The attention benchmark natively: causal softmax attention forward and backward, d = 64,
//! and the 12-chain multiply-add peak, timed like the browser page times them (a warm-up, then
//! 5 samples per engine of at least 250 ms of back-to-back calls, interleaved; the median).
//! Prints JSON on stdout.
//!
//! `native [N ...]` (default 256 1024 4096).

use std::{hint::black_box, time::Instant};

use softplay_bench::{simd_peak, AttentionBench, SIMD_PEAK_FLOPS_PER_ITERATION};

const D: usize = 64;
const SAMPLES: usize = 5;
const SAMPLE_SECS: f64 = 0.25;
const PEAK_ITERATIONS: u32 = 1 << 20;

#[derive(Clone, Copy)]
enum Engine {
    Forward,
    Backward,
    Peak,
}

const ENGINES: [(Engine, &str); 3] =
    [(Engine::Forward, "native-fwd"), (Engine::Backward, "native-bwd"), (Engine::Peak, "native-peak")];

fn call(bench: &mut AttentionBench, engine: Engine) -> Result<(), String> {
    match engine {
        Engine::Forward => bench.forward(),
        Engine::Backward => bench.backward(),
        Engine::Peak => {
            black_box(simd_peak(black_box(PEAK_ITERATIONS)));
            Ok(())
        }
    }
}

/// Seconds per call over back-to-back calls lasting at least `min_secs` (and `min_calls`).
fn time_per_call(bench: &mut AttentionBench, engine: Engine, min_secs: f64, min_calls: u32) -> Result<f64, String> {
    let start = Instant::now();
    let mut calls = 0;
    while calls < min_calls || start.elapsed().as_secs_f64() < min_secs {
        call(bench, engine)?;
        calls += 1;
    }
    Ok(start.elapsed().as_secs_f64() / f64::from(calls))
}

fn median(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// One engine's JSON record: the flops of one call (null for backward, which does more work
/// than 4·n²·d: only its time is reported), the samples (ms per call), the median.
fn record(name: &str, flops: Option<f64>, secs: &[f64]) -> String {
    let ms: Vec<String> = secs.iter().map(|s| format!("{:.6}", s * 1e3)).collect();
    let med = median(secs);
    let (flops, gflops) = match flops {
        Some(f) => (f.to_string(), format!("{:.4}", f / med / 1e9)),
        None => ("null".into(), "null".into()),
    };
    format!(
        "\"{name}\": {{\"flops\": {flops}, \"ms\": [{}], \"medianMs\": {:.6}, \"gflops\": {gflops}}}",
        ms.join(", "),
        med * 1e3
    )
}

fn run(n: usize) -> Result<String, String> {
    let mut bench = AttentionBench::new(n, D, "softmax")?;
    // Inputs uniform in ±1 from a fixed LCG (only the shape matters for the timing).
    let mut state = 0x2545_f491_u32 ^ n as u32;
    let mut uniform = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    };
    let (q, k, v): (Vec<f32>, Vec<f32>, Vec<f32>) = (
        (0..n * D).map(|_| uniform()).collect(),
        (0..n * D).map(|_| uniform()).collect(),
        (0..n * D).map(|_| uniform()).collect(),
    );
    bench.load(&q, &k, &v)?;
    for (engine, _) in ENGINES {
        time_per_call(&mut bench, engine, SAMPLE_SECS, 2)?;
    }
    let mut samples = [const { Vec::new() }; ENGINES.len()];
    for round in 0..SAMPLES {
        // Rotate the order each round so that no engine always runs first.
        for i in 0..ENGINES.len() {
            let e = (i + round) % ENGINES.len();
            samples[e].push(time_per_call(&mut bench, ENGINES[e].0, SAMPLE_SECS, 1)?);
        }
    }
    let attention_flops = 4.0 * (n * n * D) as f64;
    let peak_flops = f64::from(SIMD_PEAK_FLOPS_PER_ITERATION) * f64::from(PEAK_ITERATIONS);
    let records: Vec<String> = ENGINES
        .iter()
        .zip(&samples)
        .map(|((engine, name), s)| {
            let flops = match engine {
                Engine::Forward => Some(attention_flops),
                Engine::Backward => None,
                Engine::Peak => Some(peak_flops),
            };
            record(name, flops, s)
        })
        .collect();
    Ok(format!("{{\"n\": {n}, \"d\": {D}, \"engines\": {{{}}}}}", records.join(", ")))
}

fn main() -> Result<(), String> {
    let ns: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().map_err(|_| format!("not a size: {a}")))
        .collect::<Result<_, _>>()?;
    let ns = if ns.is_empty() { vec![256, 1024, 4096] } else { ns };
    let mut runs = Vec::new();
    for n in ns {
        runs.push(run(n)?);
        eprintln!("    native n={n}: done");
    }
    let features = if cfg!(target_feature = "avx2") { "avx2" } else { "the target's default (no avx2)" };
    println!(
        "{{\"arch\": \"{}\", \"features\": \"{features}\", \"runs\": [{}]}}",
        std::env::consts::ARCH,
        runs.join(", ")
    );
    Ok(())
}
