//! The model benchmark natively: training steps of the transformer at the sizes of
//! `MODEL_SIZES` (the copy task, the same seed as the page), and the step's products and
//! attention on their own, timed like the browser page times them (a warm-up, then samples of
//! at least 1 s of back-to-back steps, the three taking turns; the median). Prints JSON on
//! stdout.
//!
//! `model [SIZE ...]` (names from `MODEL_SIZES`; default all).

use std::time::Instant;

use softplay_bench::{ModelBench, ModelParts, ModelSize, MODEL_SIZES};

const SAMPLES: usize = 7;
const SAMPLE_SECS: f64 = 1.0;
const SEED: u32 = 1;

/// Seconds per call over back-to-back calls lasting at least `min_secs` (and one call).
fn time_per_call(mut call: impl FnMut() -> Result<(), String>, min_secs: f64) -> Result<f64, String> {
    let start = Instant::now();
    let mut calls = 0;
    while calls < 1 || start.elapsed().as_secs_f64() < min_secs {
        call()?;
        calls += 1;
    }
    Ok(start.elapsed().as_secs_f64() / f64::from(calls))
}

fn median(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn ms_list(secs: &[f64]) -> String {
    secs.iter().map(|s| format!("{:.4}", s * 1e3)).collect::<Vec<_>>().join(", ")
}

fn run(size: &ModelSize) -> Result<String, String> {
    let ModelSize { layers, width, heads, ffn, batch, seq_len, .. } = *size;
    let mut model = ModelBench::new(layers, width, heads, ffn, batch, seq_len, SEED)?;
    let mut parts = ModelParts::new(layers, width, heads, ffn, batch, seq_len);
    let tokens = model.tokens_per_step();
    // 0: a training step; 1: the step's products; 2: its attention.
    let mut call = |what: usize| -> Result<(), String> {
        match what {
            0 => model.steps(1).map(|_| ()),
            1 => {
                parts.matmuls();
                Ok(())
            }
            _ => parts.attention(),
        }
    };
    for what in 0..3 {
        time_per_call(|| call(what), SAMPLE_SECS / 2.0)?;
    }
    let mut samples = [const { Vec::new() }; 3];
    for round in 0..SAMPLES {
        for i in 0..3 {
            let what = (i + round) % 3;
            samples[what].push(time_per_call(|| call(what), SAMPLE_SECS)?);
        }
    }
    let step = median(&samples[0]);
    Ok(format!(
        "{{\"name\": \"{}\", \"params\": {}, \"tokensPerStep\": {tokens}, \"ms\": [{}], \"medianMs\": {:.4}, \
         \"tokensPerSec\": {:.1}, \"matmulsMs\": {:.4}, \"attentionMs\": {:.4}}}",
        size.name,
        model.param_count(),
        ms_list(&samples[0]),
        step * 1e3,
        tokens as f64 / step,
        median(&samples[1]) * 1e3,
        median(&samples[2]) * 1e3,
    ))
}

fn main() -> Result<(), String> {
    let names: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = Vec::new();
    for size in MODEL_SIZES.iter().filter(|s| names.is_empty() || names.iter().any(|n| n == s.name)) {
        runs.push(run(size)?);
        eprintln!("    native {}: done", size.name);
    }
    if runs.is_empty() {
        let known: Vec<&str> = MODEL_SIZES.iter().map(|s| s.name).collect();
        return Err(format!("no size named {names:?}: use {}", known.join(", ")));
    }
    let features = if cfg!(target_feature = "avx2") { "avx2" } else { "the target's default (no avx2)" };
    println!(
        "{{\"arch\": \"{}\", \"features\": \"{features}\", \"samples\": {SAMPLES}, \"sampleSecs\": {SAMPLE_SECS}, \"runs\": [{}]}}",
        std::env::consts::ARCH,
        runs.join(", ")
    );
    Ok(())
}
