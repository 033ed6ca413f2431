//! Exact f32 arithmetic for the vectorised forms: a product or a sum as a rounded value plus
//! its exact rounding error, so that an argument such as `βx` or `x²/2` reaches `e^(…)` without
//! the error of its own rounding (docs/MATH.md, “Activations” › “Vectorised forms”).
//!
//! No fused multiply-add is needed or used: Dekker's product with Veltkamp's split, Knuth's
//! two-sum, all in plain f32 operations that vectorise.

use crate::vector::exp_nonpositive;

/// `(p, e)` with `p = a·b` rounded and `p + e = a·b` exactly (Dekker's product with
/// Veltkamp's split: no fused multiply-add needed).
#[inline(always)]
pub(super) fn two_product(a: f32, b: f32) -> (f32, f32) {
    #[inline(always)]
    fn split(a: f32) -> (f32, f32) {
        let c = 4097.0 * a; // 2^12 + 1
        let hi = c - (c - a);
        (hi, a - hi)
    }
    let p = a * b;
    let ((ah, al), (bh, bl)) = (split(a), split(b));
    (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
}

/// `(s, e)` with `s = a + b` rounded and `s + e = a + b` exactly (Knuth's two-sum).
#[inline(always)]
pub(super) fn two_sum(a: f32, b: f32) -> (f32, f32) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// `e^(hi + lo)` for `hi <= 0` (`lo` a small correction): `e^hi·(1 + lo)`.
#[inline(always)]
pub(super) fn exp_corrected(hi: f32, lo: f32) -> f32 {
    exp_nonpositive(hi) * (1.0 + lo)
}

/// `x²/2` exactly, as `hi + lo`, for |x| up to 16; beyond, as for ±16 (`e^(−x²/2)` is
/// below f32's range there, and the split would overflow). NaN stays NaN.
#[inline(always)]
pub(super) fn half_square(x: f32) -> (f32, f32) {
    let x = x.clamp(-16.0, 16.0);
    let (hi, lo) = two_product(x, x);
    (0.5 * hi, 0.5 * lo)
}

/// `βx` as `hi + lo` (β given as two f32 that sum to it): exact up to |x| < 1e30.
#[inline(always)]
pub(super) fn scaled(beta_hi: f32, beta_lo: f32, x: f32) -> (f32, f32) {
    let small = x.abs() < 1e30;
    let (hi, lo) = two_product(beta_hi, if small { x } else { 0.0 });
    if small {
        (hi, lo + beta_lo * x)
    } else {
        (beta_hi * x, 0.0)
    }
}

/// β of SiLU or softplus as two f32 that sum to it (its rounding alone would move `e^(βx)` by
/// `|βx|·3e-8`); `None` outside the range the split keeps exact.
pub(super) fn beta_pair(beta: f64) -> Option<(f32, f32)> {
    (beta.abs() <= 1e3).then(|| {
        let hi = beta as f32;
        (hi, (beta - hi as f64) as f32)
    })
}
