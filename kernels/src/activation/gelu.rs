//! GELU, exact (`x·Φ(x)`, through the error function) and its tanh approximation
//! (`0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`). Math and paper: docs/MATH.md, “Activations” ›
//! “GELU”.
//!
//! Both tails stay accurate: `Φ` is taken from `erfc` on the side where it is small, and
//! `0.5(1 + tanh u)` is written `σ(2u)`, which does not cancel in the negative tail.

use super::{
    exact::{exp_corrected, half_square, two_sum},
    sigmoid::{sigmoid, sigmoid_pair},
};

/// `1/√2`.
const INV_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// `1/√(2π)`.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// `√(2/π)`.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

/// `Φ(x)`, the standard normal CDF, accurate in both tails.
#[inline]
fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * INV_SQRT_2)
}

/// `x·Φ(x)`.
#[inline]
pub(super) fn gelu(x: f64) -> f64 {
    x * normal_cdf(x)
}

/// `Φ(x) + xφ(x)`.
#[inline]
pub(super) fn gelu_d(x: f64) -> f64 {
    normal_cdf(x) + x * INV_SQRT_2PI * (-0.5 * x * x).exp()
}

/// `x·σ(2u)`, `u = √(2/π)(x + 0.044715x³)`: `0.5(1 + tanh u) = σ(2u)`, no cancellation in the
/// negative tail.
#[inline]
pub(super) fn gelu_tanh(x: f64) -> f64 {
    x * sigmoid(2.0 * SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
}

/// `f' = σ(2u) + x·σ(2u)σ(−2u)·2c(1 + 3·0.044715x²)`, `c = √(2/π)`.
#[inline]
pub(super) fn gelu_tanh_d(x: f64) -> f64 {
    let u2 = 2.0 * SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
    let (s, t) = (sigmoid(u2), sigmoid(-u2));
    s + x * s * t * 2.0 * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x)
}

const FRAC_1_SQRT_2_F32: f32 = std::f32::consts::FRAC_1_SQRT_2;
const INV_SQRT_2PI_F32: f32 = 0.398_942_3;

/// `erfc(|x|/√2)`: `t·e^(−x²/2 + P(t))`, `t = 1/(1 + |x|/(2√2))` (Numerical Recipes'
/// `erfcc`, relative error below 1.2e-7 for all x), with `x²/2` exact and the exponent's
/// sum compensated.
#[inline(always)]
fn erfc_scaled(x: f32) -> f32 {
    let z = (if x.abs() > 16.0 { 16.0 } else { x.abs() }) * FRAC_1_SQRT_2_F32;
    let t = 1.0 / (1.0 + 0.5 * z);
    let p = -1.265_512_2
        + t * (1.000_023_7
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_204 + t * (1.488_515_9 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let (sq_hi, sq_lo) = half_square(x);
    let (s, err) = two_sum(-sq_hi, p);
    let s = if s > 0.0 { 0.0 } else { s };
    t * exp_corrected(s, err - sq_lo)
}

/// [`gelu`] in f32: `Φ = erfc/2` below 0, `1 − erfc/2` above (erfc ≤ 1 there: no
/// cancellation).
#[inline(always)]
pub(super) fn gelu_fast(x: f32) -> f32 {
    let half = 0.5 * erfc_scaled(x);
    x * if x < 0.0 { half } else { 1.0 - half }
}

/// [`gelu_d`] in f32: `Φ(x) + x·φ(x)`.
#[inline(always)]
pub(super) fn gelu_fast_d(x: f32) -> f32 {
    let half = 0.5 * erfc_scaled(x);
    let cdf = if x < 0.0 { half } else { 1.0 - half };
    let (sq_hi, sq_lo) = half_square(x);
    let pdf = INV_SQRT_2PI_F32 * exp_corrected(-sq_hi, -sq_lo);
    cdf + x * pdf
}

/// `x` within ±10⁴ (σ of GELU-tanh's argument is 0 or 1 long before); NaN stays NaN.
#[inline(always)]
fn clamp_1e4(x: f32) -> f32 {
    x.clamp(-1e4, 1e4)
}

const GELU_TANH_C1: f64 = 1.595_769_121_605_730_7; // 2·√(2/π)
const GELU_TANH_C3: f64 = GELU_TANH_C1 * 0.044_715;

/// `2u = 2√(2/π)(x + 0.044715x³)` in f64, as `hi + lo` in f32.
#[inline(always)]
fn gelu_tanh_arg(x: f32) -> (f32, f32) {
    let x = clamp_1e4(x) as f64;
    let z = x * (GELU_TANH_C1 + GELU_TANH_C3 * x * x);
    let hi = z as f32;
    (hi, (z - hi as f64) as f32)
}

/// [`gelu_tanh`] in f32: `0.5x(1 + tanh u) = x·σ(2u)`.
#[inline(always)]
pub(super) fn gelu_tanh_fast(x: f32) -> f32 {
    let (hi, lo) = gelu_tanh_arg(x);
    x * sigmoid_pair(hi, lo).0
}

/// [`gelu_tanh_d`] in f32: `σ(2u) + x·σ(2u)(1 − σ(2u))·(2u)′`.
#[inline(always)]
pub(super) fn gelu_tanh_fast_d(x: f32) -> f32 {
    let (hi, lo) = gelu_tanh_arg(x);
    let (s, one_minus) = sigmoid_pair(hi, lo);
    // (2u)′ in f32: its rounding moves the slope by 1e-7 of the second term at most.
    let xc = clamp_1e4(x);
    let slope = GELU_TANH_C1 as f32 + (3.0 * GELU_TANH_C3) as f32 * xc * xc;
    s + x * (s * one_minus) * slope
}
