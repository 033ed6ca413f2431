//! What `cargo xtask bench attention` and `cargo xtask bench activations` time: the attention
//! kernels and the elementwise activations behind a small wasm-bindgen surface (the pages in
//! `bench/page` drive it), and a simd128 peak microbenchmark. The attention code runs natively
//! in `src/bin/native.rs` too.
//!
//! Shapes: one head, `q`, `k`, `v` and the output are `[n, d]` row-major f32.

use softplay_kernels::activation::{activation_backward, activation_forward, Activation};
use softplay_kernels::attention::{
    attention_backward, attention_forward, Attention, Extras, Gradients, Lssa, Mask, Shape, SoftmaxAlgorithm, Variant,
};
use wasm_bindgen::prelude::*;

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
