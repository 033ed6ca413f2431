//! What `cargo xtask bench attention`, `cargo xtask bench activations` and `cargo xtask bench
//! model` time: the attention kernels, the elementwise activations and the transformer's
//! training step behind a small wasm-bindgen surface (the pages in `bench/page` drive it), and
//! a simd128 peak microbenchmark. The attention code runs natively in `src/bin/native.rs`, the
//! training step in `src/bin/model.rs`.
//!
//! Attention shapes: one head, `q`, `k`, `v` and the output are `[n, d]` row-major f32.

use softplay_kernels::activation::{activation_backward, activation_forward, Activation};
use softplay_kernels::attention::{
    attention_backward, attention_forward, Attention, Extras, Gradients, Lssa, Mask, Shape, SoftmaxAlgorithm, Variant,
};
use softplay_kernels::mlp::Hidden;
use softplay_kernels::model::matmul::{matmul_backward, matmul_forward};
use softplay_kernels::model::tasks::{Task, VOCAB};
use softplay_kernels::model::train::{Optimiser, Trainer};
use softplay_kernels::model::transformer::{forward, Config, Norm, Positions};
use wasm_bindgen::prelude::*;

#[cfg(feature = "gpu")]
pub mod gpu;

/// The variant names the page and the native binary accept.
pub fn variant_named(name: &str) -> Result<Variant, String> {
    Ok(match name {
        "softmax" => Variant::Softmax(SoftmaxAlgorithm::ThreePass),
        "softmax-online" => Variant::Softmax(SoftmaxAlgorithm::Online),
        "softmax-twopass" => Variant::Softmax(SoftmaxAlgorithm::TwoPass),
        "lssa" => Variant::Lssa(Lssa::DEFAULT),
        "lssar" => Variant::LSSAR_DEFAULT,
        "sigmoid" => Variant::Sigmoid { bias: None },
        other => {
            return Err(format!(
                "unknown variant {other:?}: use softmax, softmax-online, softmax-twopass, lssa, lssar or sigmoid"
            ))
        }
    })
}

/// Causal attention of one head, with its buffers allocated once.
#[wasm_bindgen]
pub struct AttentionBench {
    attention: Attention,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    out: Vec<f32>,
    dout: Vec<f32>,
    dq: Vec<f32>,
    dk: Vec<f32>,
    dv: Vec<f32>,
}

#[wasm_bindgen]
impl AttentionBench {
    #[wasm_bindgen(constructor)]
    pub fn new(n: usize, d: usize, variant: &str) -> Result<AttentionBench, String> {
        let attention = Attention { shape: Shape::single(n, d), variant: variant_named(variant)?, mask: Mask::Causal };
        let len = n * d;
        // A fixed, deterministic upstream gradient in [-0.5, 0.5).
        let dout = (0..len).map(|i| (i * 7919 % 1013) as f32 / 1013.0 - 0.5).collect();
        let zeros = || vec![0.0f32; len];
        Ok(AttentionBench {
            attention,
            q: zeros(),
            k: zeros(),
            v: zeros(),
            out: zeros(),
            dout,
            dq: zeros(),
            dk: zeros(),
            dv: zeros(),
        })
    }

    /// Copies the inputs in (each `[n, d]`).
    pub fn load(&mut self, q: &[f32], k: &[f32], v: &[f32]) -> Result<(), String> {
        let len = self.q.len();
        if q.len() != len || k.len() != len || v.len() != len {
            return Err(format!("q, k, v have {}, {}, {} values; the shape needs {len}", q.len(), k.len(), v.len()));
        }
        self.q.copy_from_slice(q);
        self.k.copy_from_slice(k);
        self.v.copy_from_slice(v);
        Ok(())
    }

    pub fn forward(&mut self) -> Result<(), String> {
        attention_forward(&self.attention, &self.q, &self.k, &self.v, &mut self.out, Extras::default())
            .map_err(|e| e.to_string())
    }

    pub fn backward(&mut self) -> Result<(), String> {
        let grads = Gradients { dq: &mut self.dq, dk: &mut self.dk, dv: &mut self.dv };
        attention_backward(&self.attention, &self.q, &self.k, &self.v, &self.dout, grads).map_err(|e| e.to_string())
    }

    /// A copy of the last forward output.
    pub fn output(&self) -> Vec<f32> {
        self.out.clone()
    }
}

/// Floating-point operations one `simd_peak` iteration performs: 12 chains × 4 lanes × (mul + add).
pub const SIMD_PEAK_FLOPS_PER_ITERATION: u32 = 12 * 4 * 2;

/// `iterations` rounds of 12 independent f32x4 multiply-add chains (`acc = acc·a + b`);
/// returns a sum of the accumulators so that nothing is optimised away.
#[cfg(target_feature = "simd128")]
#[wasm_bindgen]
pub fn simd_peak(iterations: u32) -> f32 {
    use core::arch::wasm32::*;
    let a = f32x4_splat(core::hint::black_box(0.999_9));
    let b = f32x4_splat(core::hint::black_box(1e-4));
    let mut acc = [f32x4_splat(0.0); 12];
    for (i, x) in acc.iter_mut().enumerate() {
        *x = f32x4_splat(i as f32 * 0.01);
    }
    for _ in 0..iterations {
        for x in acc.iter_mut() {
            *x = f32x4_add(f32x4_mul(*x, a), b);
        }
    }
    let sum = acc.iter().fold(f32x4_splat(0.0), |s, &x| f32x4_add(s, x));
    f32x4_extract_lane::<0>(sum)
        + f32x4_extract_lane::<1>(sum)
        + f32x4_extract_lane::<2>(sum)
        + f32x4_extract_lane::<3>(sum)
}

/// The same 12 × 4-lane chains natively on x86-64, with its baseline 128-bit SSE.
#[cfg(all(not(target_feature = "simd128"), target_arch = "x86_64"))]
#[wasm_bindgen]
pub fn simd_peak(iterations: u32) -> f32 {
    // SAFETY: SSE is part of the x86-64 baseline: every x86-64 CPU has it.
    unsafe { sse_peak(iterations) }
}

#[cfg(all(not(target_feature = "simd128"), target_arch = "x86_64"))]
#[target_feature(enable = "sse")]
fn sse_peak(iterations: u32) -> f32 {
    use core::arch::x86_64::*;
    let a = _mm_set1_ps(core::hint::black_box(0.999_9));
    let b = _mm_set1_ps(core::hint::black_box(1e-4));
    let mut acc = [_mm_setzero_ps(); 12];
    for (i, x) in acc.iter_mut().enumerate() {
        *x = _mm_set1_ps(i as f32 * 0.01);
    }
    for _ in 0..iterations {
        for x in acc.iter_mut() {
            *x = _mm_add_ps(_mm_mul_ps(*x, a), b);
        }
    }
    _mm_cvtss_f32(acc.iter().fold(_mm_setzero_ps(), |s, &x| _mm_add_ps(s, x)))
}

/// The same 12 × 4 chains in plain Rust (the scalar wasm build, other targets).
#[cfg(not(any(target_feature = "simd128", target_arch = "x86_64")))]
#[wasm_bindgen]
pub fn simd_peak(iterations: u32) -> f32 {
    let a = core::hint::black_box(0.999_9f32);
    let b = core::hint::black_box(1e-4f32);
    let mut acc = [[0.0f32; 4]; 12];
    for (i, x) in acc.iter_mut().enumerate() {
        *x = [i as f32 * 0.01; 4];
    }
    for _ in 0..iterations {
        for x in acc.iter_mut() {
            for lane in x.iter_mut() {
                *lane = *lane * a + b;
            }
        }
    }
    acc.iter().flatten().sum()
}

/// `SIMD_PEAK_FLOPS_PER_ITERATION`, for the page.
#[wasm_bindgen]
pub fn simd_peak_flops_per_iteration() -> u32 {
    SIMD_PEAK_FLOPS_PER_ITERATION
}

/// Whether this build has simd128.
#[wasm_bindgen]
pub fn simd_enabled() -> bool {
    cfg!(target_feature = "simd128")
}

/// The activations `cargo xtask bench activations` times, by the names the page uses.
pub const ACTIVATIONS: [&str; 17] = [
    "relu",
    "leaky_relu",
    "squared_relu",
    "sigmoid",
    "silu",
    "silu_beta1.7",
    "softplus",
    "elu",
    "gelu",
    "gelu_tanh",
    "mish",
    "tanh",
    "crrelu",
    "polyrelu",
    "rational",
    "kan",
    "silu_beta2000",
];

pub fn activation_named(name: &str) -> Result<Activation, String> {
    Ok(match name {
        "relu" => Activation::Relu,
        "leaky_relu" => Activation::LeakyRelu { alpha: 0.01 },
        "squared_relu" => Activation::SquaredRelu,
        "sigmoid" => Activation::Sigmoid,
        "silu" => Activation::Silu { beta: 1.0 },
        "silu_beta1.7" => Activation::Silu { beta: 1.7 },
        "gelu" => Activation::Gelu,
        "gelu_tanh" => Activation::GeluTanh,
        "mish" => Activation::Mish,
        "tanh" => Activation::Tanh,
        "softplus" => Activation::Softplus { beta: 1.0 },
        "elu" => Activation::Elu { alpha: 1.0 },
        "crrelu" => Activation::CrRelu { eps: 0.01 },
        "polyrelu" => Activation::PolyRelu { a: [0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0] },
        "rational" => Activation::Rational {
            a: [0.0144, 0.5429, 0.3967, 0.0833, 0.0038, -0.0001],
            b: [0.1215, 0.1173, 0.0056, 0.0],
        },
        "kan" => Activation::Kan { w_b: 1.0, w_s: 1.0, c: [0.0, 0.6, -0.8, 0.9, -0.9, 0.8, -0.6, 0.0] },
        // β beyond ±1000 takes the f64 form: the two forms side by side.
        "silu_beta2000" => Activation::Silu { beta: 2000.0 },
        other => return Err(format!("unknown activation {other:?}: use one of {}", ACTIVATIONS.join(", "))),
    })
}

/// One activation's forward and backward passes over `len` seeded `N(0, 3²)` values, buffers
/// allocated once.
#[wasm_bindgen]
pub struct ActivationBench {
    activation: Activation,
    x: Vec<f32>,
    y: Vec<f32>,
    dy: Vec<f32>,
    dx: Vec<f32>,
}

#[wasm_bindgen]
impl ActivationBench {
    #[wasm_bindgen(constructor)]
    pub fn new(len: usize, name: &str) -> Result<ActivationBench, String> {
        let activation = activation_named(name)?;
        let mut x = vec![0.0f32; len];
        softplay_kernels::Rng::new(3).fill_normal(&mut x, 3.0);
        let mut dy = vec![0.0f32; len];
        softplay_kernels::Rng::new(4).fill_normal(&mut dy, 1.0);
        Ok(ActivationBench { activation, x, y: vec![0.0; len], dy, dx: vec![0.0; len] })
    }

    pub fn forward(&mut self) {
        activation_forward(self.activation, &self.x, &mut self.y);
    }

    pub fn backward(&mut self) {
        activation_backward(self.activation, &self.x, &self.dy, &mut self.dx);
    }

    /// The outputs' sum (values and gradients), so that a build whose result differs is noticed.
    pub fn checksum(&self) -> f64 {
        self.y.iter().chain(&self.dx).map(|&v| v as f64).sum()
    }
}

/// One model size of `cargo xtask bench model`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelSize {
    pub name: &'static str,
    pub layers: usize,
    pub width: usize,
    pub heads: usize,
    pub ffn: usize,
    pub batch: usize,
    pub seq_len: usize,
}

/// The two sizes the model benchmark times (the page and the native binary read them here).
pub const MODEL_SIZES: [ModelSize; 2] = [
    ModelSize { name: "100k", layers: 2, width: 64, heads: 4, ffn: 256, batch: 16, seq_len: 32 },
    ModelSize { name: "1M", layers: 4, width: 144, heads: 4, ffn: 576, batch: 16, seq_len: 64 },
];

/// The sizes `cargo xtask bench model --gpu` times: [`MODEL_SIZES`] and one of about 10 M
/// parameters (above the CPU's 4 M cap in the lab).
pub const GPU_MODEL_SIZES: [ModelSize; 3] = [
    MODEL_SIZES[0],
    MODEL_SIZES[1],
    ModelSize { name: "10M", layers: 6, width: 384, heads: 6, ffn: 1536, batch: 16, seq_len: 64 },
];

fn sizes_json(sizes: &[ModelSize]) -> String {
    let sizes: Vec<String> = sizes
        .iter()
        .map(|s| {
            format!(
                "{{\"name\": \"{}\", \"layers\": {}, \"width\": {}, \"heads\": {}, \"ffn\": {}, \"batch\": {}, \"seqLen\": {}}}",
                s.name, s.layers, s.width, s.heads, s.ffn, s.batch, s.seq_len
            )
        })
        .collect();
    format!("[{}]", sizes.join(", "))
}

/// [`MODEL_SIZES`] as JSON, for the page.
#[wasm_bindgen]
pub fn model_sizes_json() -> String {
    sizes_json(&MODEL_SIZES)
}

/// [`GPU_MODEL_SIZES`] as JSON, for the GPU page.
#[wasm_bindgen]
pub fn gpu_model_sizes_json() -> String {
    sizes_json(&GPU_MODEL_SIZES)
}

/// The benchmarked architecture: the copy task's vocabulary, pre-norm RMSNorm, learned
/// positions, causal softmax attention (three-pass), a GELU feed-forward with biases, tied
/// embeddings. The one place the benchmark builds a model config.
pub fn model_config(layers: usize, width: usize, heads: usize, ffn: usize, seq_len: usize) -> Config {
    Config {
        vocab: VOCAB,
        max_len: seq_len,
        layers,
        width,
        heads,
        ffn,
        attention: Variant::Softmax(SoftmaxAlgorithm::ThreePass),
        hidden: Hidden::Each(Activation::Gelu),
        norm: Norm::Rms,
        positions: Positions::Learned,
        tied: true,
    }
}

/// The copy task at `seq_len` tokens (`seq_len / 2` symbols, then their copy).
pub(crate) fn copy_len(seq_len: usize) -> Result<usize, String> {
    if seq_len < 2 || !seq_len.is_multiple_of(2) {
        return Err(format!("the copy task needs an even sequence length of at least 2, not {seq_len}"));
    }
    Ok(seq_len / 2)
}

/// Training the transformer on the copy task: one call of [`ModelBench::steps`] is that many
/// full training steps (a fresh batch, forward, backward, clipping, AdamW).
#[wasm_bindgen]
pub struct ModelBench {
    trainer: Trainer,
}

#[wasm_bindgen]
impl ModelBench {
    #[wasm_bindgen(constructor)]
    pub fn new(
        layers: usize,
        width: usize,
        heads: usize,
        ffn: usize,
        batch: usize,
        seq_len: usize,
        seed: u32,
    ) -> Result<ModelBench, String> {
        let cfg = model_config(layers, width, heads, ffn, seq_len);
        let trainer = Trainer::new(cfg, Optimiser::default(), Task::Copy, copy_len(seq_len)?, batch, seed)?;
        Ok(ModelBench { trainer })
    }

    /// `n` training steps; the last batch's loss (before its update).
    pub fn steps(&mut self, n: u32) -> Result<f32, String> {
        let mut loss = f32::NAN;
        for _ in 0..n {
            loss = self.trainer.train_step().map_err(|e| e.to_string())?;
        }
        Ok(loss)
    }

    pub fn param_count(&self) -> usize {
        self.trainer.params.len()
    }

    pub fn tokens_per_step(&self) -> usize {
        self.trainer.tokens_per_step()
    }

    /// The current parameters (the flat vector; see [`ModelBench::tensors_json`]).
    pub fn params(&self) -> Vec<f32> {
        self.trainer.params.clone()
    }

    /// Each parameter tensor: `[{"name", "shape", "offset", "len"}, …]` in the flat vector's order.
    pub fn tensors_json(&self) -> String {
        let tensors: Vec<String> = self
            .trainer
            .cfg
            .tensors()
            .iter()
            .map(|t| {
                let shape: Vec<String> = t.shape.iter().map(usize::to_string).collect();
                format!(
                    "{{\"name\": \"{}\", \"shape\": [{}], \"offset\": {}, \"len\": {}}}",
                    t.name,
                    shape.join(", "),
                    t.span.0,
                    t.span.1
                )
            })
            .collect();
        format!("[{}]", tensors.join(", "))
    }

    /// The loss of the current parameters on `tokens` and `targets` (`[batch, seq_len]`,
    /// `u32::MAX` where no target), forward only.
    pub fn loss(&self, tokens: &[u32], targets: &[u32]) -> Result<f32, String> {
        let (b, cfg) = (self.trainer.batch, &self.trainer.cfg);
        let t = cfg.max_len;
        if tokens.len() != b * t || targets.len() != b * t {
            return Err(format!("{} tokens and {} targets; the batch needs {}", tokens.len(), targets.len(), b * t));
        }
        Ok(forward(cfg, &self.trainer.params, tokens, targets, b, t).loss)
    }
}

/// A batch of the copy task from `seed`: `[batch, seq_len]` tokens, then as many targets
/// (`u32::MAX` where a position has none), in one array.
#[wasm_bindgen]
pub fn copy_task_batch(seq_len: usize, batch: usize, seed: u32) -> Result<Vec<u32>, String> {
    let (mut tokens, targets) =
        Task::Copy.batch(copy_len(seq_len)?, batch, &mut softplay_kernels::Rng::new(seed as u64));
    tokens.extend(targets);
    Ok(tokens)
}

/// Bytes of the module's linear memory (it only grows: the high-water mark of everything run
/// so far); 0 natively.
#[wasm_bindgen]
pub fn wasm_memory_bytes() -> f64 {
    #[cfg(target_arch = "wasm32")]
    return core::arch::wasm32::memory_size(0) as f64 * 65536.0;
    #[cfg(not(target_arch = "wasm32"))]
    0.0
}

/// The matrix products and the attention of one training step, with the model's shapes, run
/// on their own: where a step's time goes.
#[wasm_bindgen]
pub struct ModelParts {
    layers: usize,
    /// `(rows, in, out, bias)` of each layer's products: qkv, proj, fc1, fc2.
    products: Vec<(usize, usize, usize, bool)>,
    attention: Attention,
    buf: Vec<Vec<f32>>,
}

#[wasm_bindgen]
impl ModelParts {
    #[wasm_bindgen(constructor)]
    pub fn new(layers: usize, width: usize, heads: usize, ffn: usize, batch: usize, seq_len: usize) -> ModelParts {
        let (n, c, f) = (batch * seq_len, width, ffn);
        let products = vec![(n, c, 3 * c, false), (n, c, c, false), (n, c, f, true), (n, f, c, true)];
        let big = n * (3 * c).max(f);
        let mut rng = softplay_kernels::Rng::new(9);
        let buf = (0..6)
            .map(|_| {
                let mut x = vec![0.0f32; big.max(c * (3 * c).max(f))];
                rng.fill_normal(&mut x, 0.1);
                x
            })
            .collect();
        let attention = Attention {
            shape: Shape { batch, heads, n: seq_len, d: width / heads },
            variant: Variant::Softmax(SoftmaxAlgorithm::ThreePass),
            mask: Mask::Causal,
        };
        ModelParts { layers, products, attention, buf }
    }

    /// Every layer's four products, forward and backward (weight and bias gradients included).
    pub fn matmuls(&mut self) {
        let [out, inp, w, dinp, dw, db] = &mut self.buf[..] else { unreachable!("six buffers") };
        for _ in 0..self.layers {
            for &(n, i, o, bias) in &self.products {
                let b = bias.then(|| &w[..o]);
                matmul_forward(out, inp, w, b, n, i, o);
                matmul_backward(dinp, dw, bias.then_some(&mut db[..o]), out, inp, w, n, i, o);
            }
        }
    }

    /// Every layer's attention, forward and backward.
    pub fn attention(&mut self) -> Result<(), String> {
        let len =
            self.attention.shape.batch * self.attention.shape.heads * self.attention.shape.n * self.attention.shape.d;
        let [q, k, v, out, dq, dk] = &mut self.buf[..] else { unreachable!("six buffers") };
        let mut dv = vec![0.0f32; len];
        for _ in 0..self.layers {
            attention_forward(&self.attention, &q[..len], &k[..len], &v[..len], &mut out[..len], Extras::default())
                .map_err(|e| e.to_string())?;
            let grads = Gradients { dq: &mut dq[..len], dk: &mut dk[..len], dv: &mut dv };
            attention_backward(&self.attention, &q[..len], &k[..len], &v[..len], &out[..len], grads)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_sizes_are_about_100k_1m_and_10m_parameters_and_train() {
        for (size, want) in GPU_MODEL_SIZES.iter().zip([100_000.0, 1_000_000.0, 10_000_000.0]) {
            let ModelSize { layers, width, heads, ffn, seq_len, .. } = *size;
            let cfg = model_config(layers, width, heads, ffn, seq_len);
            let count = cfg.layout().total as f64;
            assert!((count / want - 1.0).abs() < 0.07, "{}: {count} parameters", size.name);
        }
        // The smaller one takes a step, and its tensors cover the flat vector.
        let s = MODEL_SIZES[0];
        let mut bench = ModelBench::new(s.layers, s.width, s.heads, s.ffn, 2, s.seq_len, 1).unwrap();
        let loss = bench.steps(1).unwrap();
        assert!((loss - (VOCAB as f32).ln()).abs() < 0.1, "{loss}");
        let json = bench.tensors_json();
        assert!(json.starts_with("[{\"name\": \"wte\", \"shape\": [18, 64], \"offset\": 0"), "{json}");
        assert!(json.ends_with(&format!("\"offset\": {}, \"len\": 64}}]", bench.param_count() - 64)), "{json}");
        let both = copy_task_batch(s.seq_len, 2, 3).unwrap();
        assert_eq!(both.len(), 2 * 2 * s.seq_len);
        assert!(bench.loss(&both[..2 * s.seq_len], &both[2 * s.seq_len..]).unwrap().is_finite());
        assert!(copy_task_batch(31, 2, 3).unwrap_err().contains("even sequence length"));
    }
}
