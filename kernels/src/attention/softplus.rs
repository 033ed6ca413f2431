//! Softplus attention: LSSA and LSSAR, length-scaled softplus attention and its re-weighting
//! (Gao & Spratling, arXiv 2501.13428). docs/MATH.md, “LSSA and LSSAR (softplus attention)”.
//!
//! LSSA: `s_ij = c_i · q̂_i·k̂_j` (q̂, k̂ l2-normalised, `c_i = ln d · ln N_i`), then
//! `A_ij = sp(s_ij) / Σ_j sp(s_ij)`. Each ingredient can be switched off for ablation.
//! We compute `A` as a softmax of `ℓ(s) = ln sp(s)`, which is the same in exact arithmetic and
//! needs no epsilon: where every `sp(s)` underflows (`s < −30`, `ℓ(s) = s` to 1e-13) the row
//! still has weights.
//!
//! LSSAR re-weights each LSSA row: `z_ij = N_i·A_ij − O_i`, `A'_ij ∝ ReLU(z_ij)^p` (`p = 15`),
//! `O_i = 0` for the first three rows (else 1). Only above-average weights survive; as `p → ∞`
//! this tends to argmax. The power is taken of `z / max z`, so f32 neither under- nor
//! overflows; a row with no positive `z` keeps its LSSA weights.

use super::softmax;
use crate::vector::{dot, exp_nonpositive, ln_1p_unit, ln_positive, max, scale, sum};

/// The row scale of the LSSA scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum LssaScale {
    /// `c = 1`.
    None,
    /// `c = 1/√d`, as in softmax attention.
    InvSqrtD,
    /// `c = ln d · ln N_i`: keeps attention entropy from growing with the row length.
    LnDLnN,
}

impl LssaScale {
    pub fn factor(self, d: usize, visible: usize) -> f32 {
        match self {
            LssaScale::None => 1.0,
            LssaScale::InvSqrtD => 1.0 / (d as f32).sqrt(),
            LssaScale::LnDLnN => (d as f32).ln() * (visible as f32).ln(),
        }
    }
}

/// LSSA's switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Lssa {
    /// l2-normalise q and k (so `q̂·k̂ ∈ [−1, 1]`).
    pub qk_norm: bool,
    pub scale: LssaScale,
}

impl Lssa {
    /// The paper's LSSA: both ingredients on.
    pub const DEFAULT: Lssa = Lssa { qk_norm: true, scale: LssaScale::LnDLnN };
}

impl Default for Lssa {
    fn default() -> Self {
        Lssa::DEFAULT
    }
}

/// `ln(1 + e^x)` without overflow, branch-free so that row loops vectorise.
#[inline(always)]
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + ln_1p_unit(exp_nonpositive(-x.abs()))
}

/// `σ(x) = 1 / (1 + e^−x)` without overflow: from `e = e^−|x|`, `1/(1 + e)` or `e/(1 + e)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    let e = exp_nonpositive(-x.abs());
    let r = 1.0 / (1.0 + e);
    if x >= 0.0 {
        r
    } else {
        e * r
    }
}

/// Below this score `ln sp(s)` is taken as `s` (relative difference under 1e-13).
const LOG_SOFTPLUS_LINEAR_BELOW: f32 = -30.0;

/// `ℓ(s) = ln sp(s)`. Both sides of the choice are computed, so that the loop vectorises.
#[inline(always)]
pub fn log_softplus(s: f32) -> f32 {
    let l = ln_positive(softplus(s));
    if s < LOG_SOFTPLUS_LINEAR_BELOW {
        s
    } else {
        l
    }
}

/// `dℓ/ds = σ(s) / sp(s)`.
#[inline(always)]
fn d_log_softplus(s: f32) -> f32 {
    let g = sigmoid(s) / softplus(s);
    if s < LOG_SOFTPLUS_LINEAR_BELOW {
        1.0
    } else {
        g
    }
}

/// Scores to LSSA weights, in place.
pub fn lssa_row_forward(row: &mut [f32]) {
    for s in row.iter_mut() {
        *s = log_softplus(*s);
    }
    softmax::three_pass(row);
}

/// Given the scores `s` and weights `a` of a row and `dA` in `da`, leaves `ds` in `da`.
pub fn lssa_row_backward(s: &[f32], a: &[f32], da: &mut [f32]) {
    softmax::row_backward(a, da);
    for (g, &x) in da.iter_mut().zip(s) {
        *g *= d_log_softplus(x);
    }
}

/// The offset `O_i` of LSSAR: 0 for the first three rows, else 1.
#[inline]
fn offset(i: usize) -> f32 {
    if i < 3 {
        0.0
    } else {
        1.0
    }
}

/// Scores to LSSAR weights in place; `lssa` receives the LSSA weights the re-weighting used.
pub fn lssar_row_forward(row: &mut [f32], lssa: &mut [f32], i: usize, p: f32) {
    lssa_row_forward(row);
    lssa.copy_from_slice(row);
    let n = row.len() as f32;
    let o = offset(i);
    // z = N·a − O grows with a, so its largest is at the largest weight.
    let z_max = n * max(lssa) - o;
    if z_max <= 0.0 {
        return; // no weight above average: keep the LSSA row
    }
    let inv_z_max = 1.0 / z_max;
    for (w, &a) in row.iter_mut().zip(lssa.iter()) {
        let z = n * a - o;
        // (z / z_max)^p as e^(p ln(z / z_max)): the ratio is in (0, 1], the exponent ≤ 0.
        let r = exp_nonpositive(p * ln_positive(z * inv_z_max));
        *w = if z > 0.0 { r } else { 0.0 };
    }
    scale(row, 1.0 / sum(row));
}

/// Given the scores `s`, the LSSAR weights `a`, the LSSA weights `lssa` and `dA'` in `da`,
/// leaves `ds` in `da`.
pub fn lssar_row_backward(s: &[f32], a: &[f32], lssa: &[f32], da: &mut [f32], i: usize, p: f32) {
    let n = a.len() as f32;
    let o = offset(i);
    let z_max = lssa.iter().fold(f32::NEG_INFINITY, |m, &w| m.max(n * w - o));
    if z_max > 0.0 {
        // A'_j = r_j / Σr with r = ReLU(z)^p: dz_k = p·A'_k/z_k · (dA'_k − Σ_j A'_j dA'_j),
        // then dA_k = N·dz_k.
        let inner = dot(a, da);
        for ((g, &w), &l) in da.iter_mut().zip(a).zip(lssa) {
            let z = n * l - o;
            *g = if z > 0.0 && w > 0.0 { n * p * w / z * (*g - inner) } else { 0.0 };
        }
    }
    lssa_row_backward(s, lssa, da);
}
