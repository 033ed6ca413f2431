//! Activation functions: value, derivative and parameter gradients, for the Activation lab and
//! the model's feed-forward layers. Math, defaults, traps and papers: docs/MATH.md,
//! “Activations”.
//!
//! Every formula is written in the form that stays accurate in f32 at large |x| (±100): the
//! logistic through `e^(−|x|)`, GELU's tails through `erfc`, `1 ± tanh` and `sech²` through
//! logistic forms, `e^x − 1` through `expm1`. Elementwise functions are one enum
//! ([`Activation`]); PolyNorm works on whole rows and the gated units on two inputs, so they
//! have functions of their own.
//!
//! One file per family, each holding its functions' f64 forms (value, slope, parameter
//! gradients) and their vectorised f32 forms (`*_fast`) side by side: `relu.rs` (ReLU, leaky
//! ReLU, squared ReLU, ELU, CRReLU), `gelu.rs` (GELU, GELU-tanh), `sigmoid.rs` (sigmoid,
//! SiLU), `smooth.rs` (softplus, Mish, tanh), `poly.rs` (PolyReLU, PolyNorm, the Padé unit),
//! `kan.rs` (the KAN edge), `gated.rs` (SwiGLU, GeGLU), `top_k.rs`; `exact.rs` holds the exact
//! f32 products and sums the vectorised forms share, `properties.rs` the computed properties,
//! `checks.rs` the cases and bounds the vectorised forms are tested with. This file holds the
//! enum and the dispatch: each variant's arm names its family's function.

mod checks;
mod exact;
mod gated;
mod gelu;
mod kan;
mod poly;
mod properties;
mod relu;
mod sigmoid;
mod smooth;
mod top_k;

pub use checks::{fast_cases, fast_error};
pub use gated::Gate;
pub use kan::{kan_bases, KAN_BASES};
pub use poly::{polynorm_backward, polynorm_curve, polynorm_forward, POLYNORM_EPS};
pub use properties::Properties;
pub use sigmoid::sigmoid;
pub use smooth::softplus;
pub use top_k::top_k_rows;

use exact::beta_pair;

/// An elementwise activation with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Activation {
    Relu,
    /// `x` for `x > 0`, else `α·x` (α default 0.01).
    LeakyRelu {
        alpha: f64,
    },
    /// `x` for `x > 0`, else `α(e^x − 1)` (α default 1).
    Elu {
        alpha: f64,
    },
    /// `x·Φ(x)`, the exact form with the error function.
    Gelu,
    /// `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
    GeluTanh,
    /// SiLU / Swish: `x·σ(βx)` (β default 1).
    Silu {
        beta: f64,
    },
    /// `(1/β) ln(1 + e^(βx))` (β default 1).
    Softplus {
        beta: f64,
    },
    /// `x·tanh(softplus(x))`.
    Mish,
    Sigmoid,
    Tanh,
    /// `ReLU(x)²`.
    SquaredRelu,
    /// PolyCom's PolyReLU (Zhuo et al. 2025): `Σ_{i=0..3} a_i ReLU(x)^i`.
    PolyRelu {
        a: [f64; 4],
    },
    /// CRReLU (EAFO, arXiv 2405.12954): `ReLU(x) + ε·x·e^(−x²/2)` (ε default 0.01).
    CrRelu {
        eps: f64,
    },
    /// A Padé unit: `P(x)/Q(x)`, `P` of degree 5 (`a_0..a_5`), `Q(x) = 1 + Σ_{k=1..4} |b_k|·|x|^k`
    /// (the "safe" denominator, never below 1).
    Rational {
        a: [f64; 6],
        b: [f64; 4],
    },
    /// A KAN edge (efficient-kan): `w_b·SiLU(x) + w_s·Σ_i c_i B_i(x)`, cubic B-splines on a uniform
    /// grid of 5 intervals over [−1, 1] (8 bases).
    Kan {
        w_b: f64,
        w_s: f64,
        c: [f64; KAN_BASES],
    },
}

impl Activation {
    /// The parameters' values, in the order of [`Activation::param_names`].
    pub fn params(self) -> Vec<f64> {
        match self {
            Activation::LeakyRelu { alpha } | Activation::Elu { alpha } => vec![alpha],
            Activation::Silu { beta } | Activation::Softplus { beta } => vec![beta],
            Activation::CrRelu { eps } => vec![eps],
            Activation::PolyRelu { a } => a.to_vec(),
            Activation::Rational { a, b } => [a.as_slice(), b.as_slice()].concat(),
            Activation::Kan { w_b, w_s, c } => [[w_b, w_s].as_slice(), c.as_slice()].concat(),
            _ => Vec::new(),
        }
    }

    /// The parameters' names, in the order of [`Activation::param_grads`].
    pub fn param_names(self) -> Vec<String> {
        let indexed = |p: &str, n: usize| (0..n).map(|i| format!("{p}{i}")).collect::<Vec<_>>();
        match self {
            Activation::LeakyRelu { .. } | Activation::Elu { .. } => vec!["alpha".into()],
            Activation::Silu { .. } | Activation::Softplus { .. } => vec!["beta".into()],
            Activation::CrRelu { .. } => vec!["eps".into()],
            Activation::PolyRelu { .. } => indexed("a", 4),
            Activation::Rational { .. } => [indexed("a", 6), (1..=4).map(|k| format!("b{k}")).collect()].concat(),
            Activation::Kan { .. } => [vec!["w_b".into(), "w_s".into()], indexed("c", KAN_BASES)].concat(),
            _ => Vec::new(),
        }
    }

    /// `f(x)`, computed in f64 and rounded once: within half an f32 step of the exact value,
    /// also where terms cancel (near a root of a rational or a spline).
    pub fn value(self, x: f32) -> f32 {
        self.value_f64(x as f64) as f32
    }

    /// `f'(x)`, computed in f64 and rounded once. At a kink the ReLU family takes the
    /// left-hand slope; the Padé unit with `b_1 ≠ 0` takes the sign of 0 as 0 there (the mean of
    /// its two one-sided slopes), as JAX and PyTorch do for `|x|`.
    pub fn derivative(self, x: f32) -> f32 {
        self.derivative_f64(x as f64) as f32
    }

    /// `∂f/∂θ` at `x` for each parameter θ, in the order of [`Activation::param_names`].
    pub fn param_grads(self, x: f32) -> Vec<f32> {
        self.param_grads_f64(x as f64).into_iter().map(|g| g as f32).collect()
    }

    /// `f(x)` in f64, the reference form every other one is checked against.
    pub fn value_f64(self, x: f64) -> f64 {
        match self {
            Activation::Relu => relu::relu(x),
            Activation::LeakyRelu { alpha } => relu::leaky_relu(x, alpha),
            Activation::Elu { alpha } => relu::elu(x, alpha),
            Activation::Gelu => gelu::gelu(x),
            Activation::GeluTanh => gelu::gelu_tanh(x),
            Activation::Silu { beta } => sigmoid::silu(x, beta),
            Activation::Softplus { beta } => smooth::softplus_beta(x, beta),
            Activation::Mish => smooth::mish(x),
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => smooth::tanh(x),
            Activation::SquaredRelu => relu::squared_relu(x),
            Activation::PolyRelu { a } => poly::poly_relu(x, a),
            Activation::CrRelu { eps } => relu::crrelu(x, eps),
            Activation::Rational { a, b } => poly::rational(x, a, b),
            Activation::Kan { w_b, w_s, c } => kan::kan(x, w_b, w_s, c),
        }
    }

    /// `f'(x)` in f64.
    pub fn derivative_f64(self, x: f64) -> f64 {
        // A NaN input gives a NaN slope (not the 0 or α of a comparison), so that a broken
        // value stays visible through the backward pass.
        if x.is_nan() {
            return f64::NAN;
        }
        match self {
            Activation::Relu => relu::relu_d(x),
            Activation::LeakyRelu { alpha } => relu::leaky_relu_d(x, alpha),
            Activation::Elu { alpha } => relu::elu_d(x, alpha),
            Activation::Gelu => gelu::gelu_d(x),
            Activation::GeluTanh => gelu::gelu_tanh_d(x),
            Activation::Silu { beta } => sigmoid::silu_d(x, beta),
            Activation::Softplus { beta } => smooth::softplus_beta_d(x, beta),
            Activation::Mish => smooth::mish_d(x),
            Activation::Sigmoid => sigmoid::sigmoid_d(x),
            Activation::Tanh => smooth::tanh_d(x),
            Activation::SquaredRelu => relu::squared_relu_d(x),
            Activation::PolyRelu { a } => poly::poly_relu_d(x, a),
            Activation::CrRelu { eps } => relu::crrelu_d(x, eps),
            Activation::Rational { a, b } => poly::rational_d(x, a, b),
            Activation::Kan { w_b, w_s, c } => kan::kan_d(x, w_b, w_s, c),
        }
    }

    /// `∂f/∂θ` in f64, in the order of [`Activation::param_names`].
    pub fn param_grads_f64(self, x: f64) -> Vec<f64> {
        match self {
            Activation::LeakyRelu { .. } => vec![relu::leaky_relu_param_grad(x)],
            Activation::Elu { .. } => vec![relu::elu_param_grad(x)],
            Activation::Silu { beta } => vec![sigmoid::silu_param_grad(x, beta)],
            Activation::Softplus { beta } => vec![smooth::softplus_beta_param_grad(x, beta)],
            Activation::CrRelu { .. } => vec![relu::crrelu_param_grad(x)],
            Activation::PolyRelu { .. } => poly::poly_relu_param_grads(x),
            Activation::Rational { a, b } => poly::rational_param_grads(x, a, b),
            Activation::Kan { w_s, c, .. } => kan::kan_param_grads(x, w_s, c),
            _ => Vec::new(),
        }
    }
}

#[inline(always)]
fn map(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32) {
    y.iter_mut().zip(x).for_each(|(y, &x)| *y = f(x));
}

#[inline(always)]
fn map_grad(x: &[f32], dy: &[f32], dx: &mut [f32], f: impl Fn(f32) -> f32) {
    dx.iter_mut().zip(x).zip(dy).for_each(|((g, &x), &dy)| *g = f(x) * dy);
}

/// `y = f(x)` elementwise, by plain loops the compiler vectorises (f32x4 on wasm32 with
/// simd128; f64x2 lanes where a polynomial in `x` needs the range), within 1e-6 of the exact
/// values (the bounds of [`fast_error`]). β outside ±1000 (and softplus with β ≤ 0) takes
/// [`Activation::value`] (f64, rounded once). Every variant is matched: a new activation must
/// choose its loop here. docs/MATH.md, “Activations” › “Vectorised forms”.
///
/// Shapes: `x`, `y` of one length.
pub fn activation_forward(act: Activation, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "activation_forward: x and y differ in length");
    match act {
        Activation::Relu => map(x, y, relu::relu_fast),
        Activation::LeakyRelu { alpha } => {
            let alpha = alpha as f32;
            map(x, y, |x| relu::leaky_relu_fast(x, alpha))
        }
        Activation::SquaredRelu => map(x, y, relu::squared_relu_fast),
        Activation::Sigmoid => map(x, y, sigmoid::sigmoid_fast),
        Activation::Silu { beta } => match beta_pair(beta) {
            Some((hi, lo)) => map(x, y, |x| sigmoid::silu_fast(x, hi, lo)),
            None => map(x, y, |x| act.value(x)),
        },
        Activation::Softplus { beta } => match beta_pair(beta).filter(|_| beta > 0.0) {
            Some((hi, lo)) => {
                let inv = (1.0 / beta) as f32;
                map(x, y, |x| smooth::softplus_fast(x, hi, lo, inv))
            }
            None => map(x, y, |x| act.value(x)),
        },
        Activation::Elu { alpha } => {
            let alpha = alpha as f32;
            map(x, y, |x| relu::elu_fast(x, alpha))
        }
        Activation::Gelu => map(x, y, gelu::gelu_fast),
        Activation::GeluTanh => map(x, y, gelu::gelu_tanh_fast),
        Activation::Mish => map(x, y, smooth::mish_fast),
        Activation::Tanh => map(x, y, smooth::tanh_fast),
        Activation::CrRelu { eps } => {
            let eps = eps as f32;
            map(x, y, |x| relu::crrelu_fast(x, eps))
        }
        Activation::PolyRelu { a } => map(x, y, |x| poly::poly_relu_fast(x, a)),
        Activation::Rational { a, b } => {
            let b = b.map(f64::abs);
            map(x, y, |x| poly::rational_fast(x, a, b))
        }
        Activation::Kan { w_b, w_s, c } => {
            let (w_b, w_s, c) = (w_b as f32, w_s as f32, c.map(|v| v as f32));
            map(x, y, |x| kan::kan_fast(x, w_b, w_s, &c))
        }
    }
}

/// `dx = f'(x) ⊙ dy`, by the same kind of loops as [`activation_forward`].
///
/// Shapes: `x`, `dy`, `dx` of one length.
pub fn activation_backward(act: Activation, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    assert!(x.len() == dy.len() && x.len() == dx.len(), "activation_backward: lengths differ");
    match act {
        Activation::Relu => map_grad(x, dy, dx, relu::relu_fast_d),
        Activation::LeakyRelu { alpha } => {
            let alpha = alpha as f32;
            map_grad(x, dy, dx, |x| relu::leaky_relu_fast_d(x, alpha))
        }
        Activation::SquaredRelu => map_grad(x, dy, dx, relu::squared_relu_fast_d),
        Activation::Sigmoid => map_grad(x, dy, dx, sigmoid::sigmoid_fast_d),
        Activation::Silu { beta } => match beta_pair(beta) {
            Some((hi, lo)) => map_grad(x, dy, dx, |x| sigmoid::silu_fast_d(x, hi, lo)),
            None => map_grad(x, dy, dx, |x| act.derivative(x)),
        },
        Activation::Softplus { beta } => match beta_pair(beta).filter(|_| beta > 0.0) {
            Some((hi, lo)) => map_grad(x, dy, dx, |x| smooth::softplus_fast_d(x, hi, lo)),
            None => map_grad(x, dy, dx, |x| act.derivative(x)),
        },
        Activation::Elu { alpha } => {
            let alpha = alpha as f32;
            map_grad(x, dy, dx, |x| relu::elu_fast_d(x, alpha))
        }
        Activation::Gelu => map_grad(x, dy, dx, gelu::gelu_fast_d),
        Activation::GeluTanh => map_grad(x, dy, dx, gelu::gelu_tanh_fast_d),
        Activation::Mish => map_grad(x, dy, dx, smooth::mish_fast_d),
        Activation::Tanh => map_grad(x, dy, dx, smooth::tanh_fast_d),
        Activation::CrRelu { eps } => {
            let eps = eps as f32;
            map_grad(x, dy, dx, |x| relu::crrelu_fast_d(x, eps))
        }
        Activation::PolyRelu { a } => map_grad(x, dy, dx, |x| poly::poly_relu_fast_d(x, a)),
        Activation::Rational { a, b } => {
            let b = b.map(f64::abs);
            map_grad(x, dy, dx, |x| poly::rational_fast_d(x, a, b))
        }
        Activation::Kan { w_b, w_s, c } => {
            let (w_b, w_s, c) = (w_b as f32, w_s as f32, c.map(|v| v as f32));
            map_grad(x, dy, dx, |x| kan::kan_fast_d(x, w_b, w_s, &c))
        }
    }
}
