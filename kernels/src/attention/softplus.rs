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
use crate::vector::dot;

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

/// `ln(1 + e^x)` without overflow.
#[inline]
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `σ(x) = 1 / (1 + e^−x)` without overflow.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Below this score `ln sp(s)` is taken as `s` (relative difference under 1e-13).
const LOG_SOFTPLUS_LINEAR_BELOW: f32 = -30.0;

/// `ℓ(s) = ln sp(s)`.
#[inline]
pub fn log_softplus(s: f32) -> f32 {
    if s < LOG_SOFTPLUS_LINEAR_BELOW {
        s
    } else {
        softplus(s).ln()
    }
}

/// `dℓ/ds = σ(s) / sp(s)`.
#[inline]
fn d_log_softplus(s: f32) -> f32 {
    if s < LOG_SOFTPLUS_LINEAR_BELOW {
        1.0
    } else {
        sigmoid(s) / softplus(s)
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
    let z_max = lssa.iter().fold(f32::NEG_INFINITY, |m, &a| m.max(n * a - o));
    if z_max <= 0.0 {
        return; // no weight above average: keep the LSSA row
    }
    let mut sum = 0.0f32;
    for (w, &a) in row.iter_mut().zip(lssa.iter()) {
        let z = n * a - o;
        *w = if z > 0.0 { (z / z_max).powf(p) } else { 0.0 };
        sum += *w;
    }
    let inv = 1.0 / sum;
    row.iter_mut().for_each(|w| *w *= inv);
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
