//! The logistic family: the sigmoid `σ(x) = 1/(1 + e^−x)` and SiLU / Swish `x·σ(βx)`. Math,
//! defaults and papers: docs/MATH.md, “Activations” › “Sigmoid and SiLU”.
//!
//! `σ` is evaluated through `e^(−|x|)` only, so neither tail overflows; `1 − σ(x)` is taken as
//! `σ(−x)` (f64) or as the other half of [`sigmoid_pair`] (f32), never by subtraction.

use super::exact::{exp_corrected, scaled};

/// `σ(x) = 1/(1 + e^−x)` without overflow.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `σ'(x) = σ(x)σ(−x)`: no `1 − σ` cancellation once `σ` rounds to 1.
#[inline]
pub(super) fn sigmoid_d(x: f64) -> f64 {
    sigmoid(x) * sigmoid(-x)
}

/// SiLU / Swish: `x·σ(βx)`.
#[inline]
pub(super) fn silu(x: f64, beta: f64) -> f64 {
    x * sigmoid(beta * x)
}

/// `σ(βx)(1 + βx·σ(−βx))`.
#[inline]
pub(super) fn silu_d(x: f64, beta: f64) -> f64 {
    let z = beta * x;
    let (s, t) = (sigmoid(z), sigmoid(-z));
    s * (1.0 + z * t)
}

/// `∂f/∂β = x²·σ(βx)σ(−βx)`.
#[inline]
pub(super) fn silu_param_grad(x: f64, beta: f64) -> f64 {
    let z = beta * x;
    x * x * sigmoid(z) * sigmoid(-z)
}

/// `(σ(z), 1 − σ(z))` for `z = hi + lo`, each without cancellation: with `e = e^(−|z|)` and
/// `r = 1/(1 + e)`, one is `e·r` and the other `r`. `e^(−|z|) = e^(−|hi|)·(1 ∓ lo)`: the
/// correction keeps the result within a few ulp even where `e^z` is tiny and the product `βx`
/// was rounded (for `z = −50` a rounded argument alone would cost 50 × 6e-8 = 3e-6).
#[inline(always)]
pub(super) fn sigmoid_pair(hi: f32, lo: f32) -> (f32, f32) {
    let negative = hi < 0.0;
    let (a, correction) = if negative { (hi, lo) } else { (-hi, -lo) };
    let e = exp_corrected(a, correction);
    let r = 1.0 / (1.0 + e);
    let er = e * r;
    if negative {
        (er, r)
    } else {
        (r, er)
    }
}

/// `σ(z)` for `z = hi + lo` (`lo` the rounding error of `hi`), in f32 without branches, so
/// that loops over it vectorise.
#[inline(always)]
pub(super) fn sigmoid_f32(hi: f32, lo: f32) -> f32 {
    sigmoid_pair(hi, lo).0
}

#[inline(always)]
pub(super) fn sigmoid_fast(x: f32) -> f32 {
    sigmoid_f32(x, 0.0)
}

#[inline(always)]
pub(super) fn sigmoid_fast_d(x: f32) -> f32 {
    let (s, one_minus) = sigmoid_pair(x, 0.0);
    s * one_minus
}

/// [`silu`] in f32 with `βx` exact (β as `beta_hi + beta_lo`, see [`super::exact::beta_pair`]).
#[inline(always)]
pub(super) fn silu_fast(x: f32, beta_hi: f32, beta_lo: f32) -> f32 {
    let (zh, zl) = scaled(beta_hi, beta_lo, x);
    x * sigmoid_f32(zh, zl)
}

/// `σ(βx)(1 + βx(1 − σ(βx)))`.
#[inline(always)]
pub(super) fn silu_fast_d(x: f32, beta_hi: f32, beta_lo: f32) -> f32 {
    let (hi, lo) = scaled(beta_hi, beta_lo, x);
    let (s, one_minus) = sigmoid_pair(hi, lo);
    // Far right 1 − σ is 0 and βx may be infinite: the product is 0.
    let z_one_minus = if one_minus == 0.0 { 0.0 } else { hi * one_minus };
    s * (1.0 + z_one_minus)
}
