//! Preference alignment: the losses and their gradient weights, the DPO toy that shows the
//! 3D-properties, exact best-of-N against the KL-optimal tilt, and Nash dynamics on a
//! preference matrix. docs/MATH.md, “Preference losses (DPO family)”, “Best-of-N and the
//! KL-regularised tilt”, “Nash learning”.
//!
//! Everything here is f64: the sizes are small (at most a few hundred responses) and the
//! interesting regimes sit in the tails (margins of ±1000, probabilities of 1e-30).

pub mod best_of_n;
pub mod losses;
pub mod nash;
pub mod preference_toy;

/// `ln(1 + e^x)` and `σ(x)`, exact in both tails (no overflow at `x = 1000`).
pub use crate::activation::{sigmoid, softplus};

/// `ln(1 − e^x)` for `x < 0` (Mächler's two branches: `expm1` near 0, `ln_1p` beyond `−ln 2`).
pub fn ln_one_minus_exp(x: f64) -> f64 {
    if x > -std::f64::consts::LN_2 {
        (-x.exp_m1()).ln()
    } else {
        (-x.exp()).ln_1p()
    }
}

/// `ln Σ e^{a_i}` with the largest term factored out.
pub fn log_sum_exp(a: &[f64]) -> f64 {
    let max = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + a.iter().map(|&x| (x - max).exp()).sum::<f64>().ln()
}

/// `softmax(a)` in place, through [`log_sum_exp`].
pub fn softmax_in_place(a: &mut [f64]) {
    let lse = log_sum_exp(a);
    for x in a.iter_mut() {
        *x = (*x - lse).exp();
    }
}
