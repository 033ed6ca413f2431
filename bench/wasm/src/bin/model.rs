//! The model benchmark natively: training steps of the transformer at the sizes of
//! `MODEL_SIZES` (the copy task, the same seed as the page), and the step's products and
//! attention on their own, timed like the browser page times them (a warm-up, then samples of
//! at least 1 s of back-to-back steps, the three taking turns; the median). Prints JSON on
//! stdout.
//!
//! `model [SIZE ...]` (names from `MODEL_SIZES`; default all). `model --gpu [SIZE ...]` (built
//! with the `gpu` feature): the training step on the GPU through Vulkan instead, at the sizes
//! of `GPU_MODEL_SIZES`, in groups of steps read back once, after checking its first losses
//! against the CPU's.

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

/// The sizes of `all` that `names` asks for (all when it is empty); an error names the known.
fn chosen<'a>(all: &'a [ModelSize], names: &[String]) -> Result<Vec<&'a ModelSize>, String> {
    let sizes: Vec<&ModelSize> = all.iter().filter(|s| names.is_empty() || names.iter().any(|n| n == s.name)).collect();
    if sizes.is_empty() {
        let known: Vec<&str> = all.iter().map(|s| s.name).collect();
        return Err(format!("no size named {names:?}: use {}", known.join(", ")));
    }
    Ok(sizes)
}

#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
mod gpu {
    use softplay_bench::gpu::{adapter_description, GpuModel};
    use softplay_bench::{ModelBench, ModelSize};

    use super::{median, ms_list, time_per_call, SAMPLES, SAMPLE_SECS, SEED};

    /// How many samples of how long: a software adapter (lavapipe) only shows that the path
    /// runs and agrees, so it takes one short sample.
    #[derive(Clone, Copy)]
    struct Timing {
        samples: usize,
        sample_secs: f64,
    }

    /// Steps submitted before one readback of their losses.
    const GROUP: u32 = 8;
    /// Steps whose losses the GPU and the CPU must agree on before timing.
    const CHECK_STEPS: u32 = 4;
    /// |GPU − CPU| / CPU allowed for those losses.
    const CHECK_LOSS: f32 = 1e-3;

    fn run(size: &ModelSize, timing: Timing) -> Result<String, String> {
        let ModelSize { layers, width, heads, ffn, batch, seq_len, .. } = *size;
        let mut model = pollster::block_on(GpuModel::new(layers, width, heads, ffn, batch, seq_len, SEED))?;
        let mut cpu = ModelBench::new(layers, width, heads, ffn, batch, seq_len, SEED)?;
        let got = pollster::block_on(model.steps(CHECK_STEPS))?;
        let want: Vec<f32> = (0..CHECK_STEPS).map(|_| cpu.steps(1)).collect::<Result<_, _>>()?;
        // The largest relative gap, NaN if one is (f32::max would drop it).
        let gap = got.iter().zip(&want).map(|(g, w)| (g - w).abs() / w.abs()).fold(0.0f32, |m, d| {
            if m.is_nan() || d.is_nan() {
                f32::NAN
            } else {
                m.max(d)
            }
        });
        if got.len() != want.len() || gap.is_nan() || gap > CHECK_LOSS {
            return Err(format!("{}: the GPU's losses {got:?} are not the CPU's {want:?}", size.name));
        }
        let mut call = || pollster::block_on(model.steps(GROUP)).map(|_| ());
        time_per_call(&mut call, timing.sample_secs / 2.0)?;
        let samples: Vec<f64> = (0..timing.samples)
            .map(|_| time_per_call(&mut call, timing.sample_secs).map(|s| s / f64::from(GROUP)))
            .collect::<Result<_, _>>()?;
        let step = median(&samples);
        let cost = model.cost();
        Ok(format!(
            "{{\"name\": \"{}\", \"params\": {}, \"tokensPerStep\": {}, \"ms\": [{}], \"medianMs\": {:.4}, \
             \"tokensPerSec\": {:.1}, \"checkGap\": {gap:e}, \"submits\": {}, \"dispatches\": {}, \"bytesRead\": {}}}",
            size.name,
            model.param_count(),
            model.tokens_per_step(),
            ms_list(&samples),
            step * 1e3,
            model.tokens_per_step() as f64 / step,
            cost.submits,
            cost.dispatches,
            cost.bytes_read,
        ))
    }

    pub fn main(names: &[String]) -> Result<(), String> {
        let adapter = pollster::block_on(adapter_description())?;
        let software = adapter.contains("software adapter");
        let timing = if software {
            Timing { samples: 1, sample_secs: 0.0 }
        } else {
            Timing { samples: SAMPLES, sample_secs: SAMPLE_SECS }
        };
        let small = ["100k".to_string()];
        let names = if software && names.is_empty() { &small[..] } else { names };
        let mut runs = Vec::new();
        for size in super::chosen(&softplay_bench::GPU_MODEL_SIZES, names)? {
            runs.push(run(size, timing)?);
            eprintln!("    native GPU {}: done", size.name);
        }
        let adapter = adapter.replace('\\', "\\\\").replace('"', "\\\"");
        println!(
            "{{\"adapter\": \"{adapter}\", \"software\": {software}, \"group\": {GROUP}, \"samples\": {}, \"sampleSecs\": {}, \"runs\": [{}]}}",
            timing.samples,
            timing.sample_secs,
            runs.join(", ")
        );
        Ok(())
    }
}

fn main() -> Result<(), String> {
    let mut names: Vec<String> = std::env::args().skip(1).collect();
    if names.first().is_some_and(|a| a == "--gpu") {
        names.remove(0);
        #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
        return gpu::main(&names);
        #[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
        return Err("--gpu needs this binary built natively with `--features gpu`".into());
    }
    let mut runs = Vec::new();
    for size in chosen(&MODEL_SIZES, &names)? {
        runs.push(run(size)?);
        eprintln!("    native {}: done", size.name);
    }
    let features = if cfg!(target_feature = "avx2") { "avx2" } else { "the target's default (no avx2)" };
    println!(
        "{{\"arch\": \"{}\", \"features\": \"{features}\", \"samples\": {SAMPLES}, \"sampleSecs\": {SAMPLE_SECS}, \"runs\": [{}]}}",
        std::env::consts::ARCH,
        runs.join(", ")
    );
    Ok(())
}
