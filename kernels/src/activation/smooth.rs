//! Softplus `(1/β) ln(1 + e^(βx))`, Mish `x·tanh(softplus(x))` and tanh: the smooth units built
//! on `ln(1 + e^x)` and `tanh`. Math, defaults and papers: docs/MATH.md, “Activations” ›
//! “Softplus, Mish and tanh”.
//!
//! `ln(1 + e^x)` is `max(x, 0) + ln(1 + e^(−|x|))` (no overflow), and `1 − tanh²` is written
//! `4e/(1 + e)²` with `e = e^(−2|s|)`, which does not cancel where `tanh` rounds to ±1.

use super::{
    exact::{exp_corrected, scaled},
    sigmoid::{sigmoid, sigmoid_pair},
};
use crate::vector::exp_nonpositive;

/// `ln(1 + e^x)` without overflow.
#[inline]
pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `1 − tanh(s)²` for `s ≥ 0` (softplus values), without cancellation: `4e^(−2s)/(1 + e^(−2s))²`.
#[inline]
fn sech2_nonnegative(s: f64) -> f64 {
    let e = (-2.0 * s).exp();
    4.0 * e / ((1.0 + e) * (1.0 + e))
}

/// Softplus with its sharpness: `sp(βx)/β`.
#[inline]
pub(super) fn softplus_beta(x: f64, beta: f64) -> f64 {
    softplus(beta * x) / beta
}

/// `σ(βx)`.
#[inline]
pub(super) fn softplus_beta_d(x: f64, beta: f64) -> f64 {
    sigmoid(beta * x)
}

/// `d/dβ [sp(βx)/β] = x·σ(βx)/β − sp(βx)/β²`.
#[inline]
pub(super) fn softplus_beta_param_grad(x: f64, beta: f64) -> f64 {
    let z = beta * x;
    // x·σ(z)/β − sp(z)/β²; for z > 0, sp(z) = z + ln(1 + e^−z) and σ(z) = 1 − σ(−z)
    // turn it into −(z·σ(−z) + ln(1 + e^−z))/β², two terms of one sign.
    if z > 0.0 {
        -(z * sigmoid(-z) + (-z).exp().ln_1p()) / (beta * beta)
    } else {
        (x * sigmoid(z) - softplus(z) / beta) / beta
    }
}

/// `ln(1 + e)` for `0 ≤ e ≤ 1`: `2·atanh(s)`, `s = e/(2 + e) ≤ 1/3`, by its series.
#[inline(always)]
fn log1p_unit(e: f32) -> f32 {
    let s = e / (2.0 + e);
    let s2 = s * s;
    2.0 * s
        * (1.0
            + s2 * (1.0 / 3.0
                + s2 * (1.0 / 5.0
                    + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0 + s2 * (1.0 / 15.0))))))))
}

/// [`softplus_beta`] in f32: `(1/β)(max(βx, 0) + ln(1 + e^(−|βx|)))` with `βx` exact (β as
/// `beta_hi + beta_lo`, β > 0).
#[inline(always)]
pub(super) fn softplus_fast(x: f32, beta_hi: f32, beta_lo: f32, inv_beta: f32) -> f32 {
    let (hi, lo) = scaled(beta_hi, beta_lo, x);
    let e = if hi < 0.0 { exp_corrected(hi, lo) } else { exp_corrected(-hi, -lo) };
    // max(βx, 0)/β is max(x, 0): no rounding, and no overflow for huge x.
    let positive = if x > 0.0 { x } else { 0.0 };
    positive + log1p_unit(e) * inv_beta
}

/// [`softplus_beta_d`] in f32: `σ(βx)` with `βx` exact.
#[inline(always)]
pub(super) fn softplus_fast_d(x: f32, beta_hi: f32, beta_lo: f32) -> f32 {
    let (hi, lo) = scaled(beta_hi, beta_lo, x);
    sigmoid_pair(hi, lo).0
}

/// `x·tanh(sp(x))`.
#[inline]
pub(super) fn mish(x: f64) -> f64 {
    x * softplus(x).tanh()
}

/// `tanh(sp(x)) + x·sech²(sp(x))·σ(x)`.
#[inline]
pub(super) fn mish_d(x: f64) -> f64 {
    let sp = softplus(x);
    sp.tanh() + x * sech2_nonnegative(sp) * sigmoid(x)
}

/// `tanh(softplus(x))` and `1 − tanh(softplus(x))`, and `σ(x)`, from `e = e^(−|x|)`:
/// for `x ≥ 0`, `w = (1 + 2e)/(1 + 2e + 2e²)`; below, `n = e(e + 2)`, `w = n/(n + 2)`.
#[inline(always)]
fn mish_parts(x: f32) -> (f32, f32, f32) {
    let e = exp_nonpositive(-x.abs());
    let (w_pos, one_minus_pos) = {
        let d = 1.0 + 2.0 * e + 2.0 * e * e;
        ((1.0 + 2.0 * e) / d, 2.0 * e * e / d)
    };
    let (w_neg, one_minus_neg) = {
        let n = e * (e + 2.0);
        (n / (n + 2.0), 2.0 / (n + 2.0))
    };
    let r = 1.0 / (1.0 + e);
    if x >= 0.0 {
        (w_pos, one_minus_pos, r)
    } else {
        (w_neg, one_minus_neg, e * r)
    }
}

#[inline(always)]
pub(super) fn mish_fast(x: f32) -> f32 {
    x * mish_parts(x).0
}

/// `w + x·(1 − w²)·σ(x)`.
#[inline(always)]
pub(super) fn mish_fast_d(x: f32) -> f32 {
    let (w, one_minus, s) = mish_parts(x);
    w + x * (one_minus * (1.0 + w)) * s
}

#[inline]
pub(super) fn tanh(x: f64) -> f64 {
    x.tanh()
}

/// `1 − tanh² = sech²(|x|)`.
#[inline]
pub(super) fn tanh_d(x: f64) -> f64 {
    sech2_nonnegative(x.abs())
}

/// `tanh` by its odd Taylor series below 0.4 (the next term is under 1e-8 there), else
/// `±(1 − e)/(1 + e)` with `e = e^(−2|x|)`.
#[inline(always)]
pub(super) fn tanh_fast(x: f32) -> f32 {
    let x2 = x * x;
    let series = x
        * (1.0
            + x2 * (-1.0 / 3.0
                + x2 * (2.0 / 15.0
                    + x2 * (-17.0 / 315.0
                        + x2 * (62.0 / 2835.0 + x2 * (-1382.0 / 155_925.0 + x2 * (21_844.0 / 6_081_075.0)))))));
    let e = exp_nonpositive(-2.0 * x.abs());
    let t = (1.0 - e) / (1.0 + e);
    let far = if x < 0.0 { -t } else { t };
    if x.abs() < 0.4 {
        series
    } else {
        far
    }
}

/// `sech² x = 4e/(1 + e)²`, `e = e^(−2|x|)`: no `1 − tanh²` cancellation.
#[inline(always)]
pub(super) fn tanh_fast_d(x: f32) -> f32 {
    let e = exp_nonpositive(-2.0 * x.abs());
    let r = 1.0 / (1.0 + e);
    4.0 * e * r * r
}
