//! The scores each normaliser sees: `s_ij = c_i · q'_i·k'_j`, where `q'`, `k'` are q and k as
//! the variant transforms them (unchanged; l2-normalised for LSSA and LSSAR with qk-norm;
//! `elu + 1` for linear attention) and `c_i` the row scale (`1/√d`, LSSA's `ln d · ln N_i`, or
//! 1), with the backward pass through the transform. docs/MATH.md, “Softmax attention”
//! (scores and masks), “LSSA and LSSAR (softplus attention)” (qk-norm and the length scale),
//! “ReLU and linear attention” (the feature map).
//!
//! Shapes: `q`, `k`, `q'`, `k'` and their gradients are `[n, d]` of one head; the norms kept for
//! the backward pass `[n]`.

use std::borrow::Cow;

use super::Variant;
use crate::vector::dot;

/// The per-head scores `s_ij = c_i · q'_i·k'_j`, where `q'`, `k'` are q and k as the variant
/// transforms them (unchanged, l2-normalised, or `elu + 1`) and `c_i` the row scale.
pub(super) struct Scores<'a> {
    pub(super) d: usize,
    /// Borrowed when the transform is the identity, so softmax, sigmoid and ReLU copy nothing.
    pub(super) q: Cow<'a, [f32]>,
    pub(super) k: Cow<'a, [f32]>,
    /// For the backward pass through the transform: per-row norms (qk-norm).
    pub(super) q_norm: Vec<f32>,
    pub(super) k_norm: Vec<f32>,
}

/// How a variant turns q and k into scores.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Transform {
    Identity,
    L2Norm,
    EluPlusOne,
}

pub(super) fn transform_of(variant: Variant) -> Transform {
    match variant {
        Variant::Lssa(l) | Variant::Lssar { lssa: l, .. } if l.qk_norm => Transform::L2Norm,
        Variant::Linear => Transform::EluPlusOne,
        _ => Transform::Identity,
    }
}

/// Added inside the square root of the l2 norm, so a zero vector stays finite.
pub const QK_NORM_EPS: f32 = 1e-12;

impl<'a> Scores<'a> {
    pub(super) fn new(variant: Variant, n: usize, d: usize, q: &'a [f32], k: &'a [f32]) -> Scores<'a> {
        let t = transform_of(variant);
        let prepare = |x: &'a [f32]| -> (Cow<'a, [f32]>, Vec<f32>) {
            match t {
                Transform::Identity => (Cow::Borrowed(x), Vec::new()),
                Transform::L2Norm => {
                    let mut out = x.to_vec();
                    let mut norms = Vec::with_capacity(n);
                    for row in out.chunks_exact_mut(d) {
                        let r = (dot(row, row) + QK_NORM_EPS).sqrt();
                        norms.push(r);
                        let inv = 1.0 / r;
                        row.iter_mut().for_each(|v| *v *= inv);
                    }
                    (Cow::Owned(out), norms)
                }
                Transform::EluPlusOne => {
                    (Cow::Owned(x.iter().map(|&v| if v > 0.0 { v + 1.0 } else { v.exp() }).collect()), Vec::new())
                }
            }
        };
        let (q, q_norm) = prepare(q);
        let (k, k_norm) = prepare(k);
        Scores { d, q, k, q_norm, k_norm }
    }

    /// Back through the transform: turns gradients w.r.t. q', k' into gradients w.r.t. q, k.
    pub(super) fn backward(&self, variant: Variant, q: &[f32], k: &[f32], dq: &mut [f32], dk: &mut [f32]) {
        let d = self.d;
        match transform_of(variant) {
            Transform::Identity => {}
            Transform::L2Norm => {
                l2_norm_backward(q, dq, &self.q_norm, d);
                l2_norm_backward(k, dk, &self.k_norm, d);
            }
            Transform::EluPlusOne => {
                for (x, g) in [(q, &mut *dq), (k, &mut *dk)] {
                    for (gv, &xv) in g.iter_mut().zip(x) {
                        if xv <= 0.0 {
                            *gv *= xv.exp();
                        }
                    }
                }
            }
        }
    }
}

/// Back through `x' = x / r`, `r = sqrt(|x|² + ε)`, row by row: `dx = dx'/r − x (x·dx') / r³`.
fn l2_norm_backward(x: &[f32], g: &mut [f32], norms: &[f32], d: usize) {
    for ((x, g), &r) in x.chunks_exact(d).zip(g.chunks_exact_mut(d)).zip(norms) {
        let proj = dot(x, g) / (r * r * r);
        let inv = 1.0 / r;
        for (gv, &xv) in g.iter_mut().zip(x) {
            *gv = *gv * inv - xv * proj;
        }
    }
}

/// The row scale `c_i` of the scores.
pub(super) fn row_scale(variant: Variant, d: usize, visible: usize) -> f32 {
    let inv_sqrt_d = 1.0 / (d as f32).sqrt();
    match variant {
        Variant::Softmax(_) | Variant::Sigmoid { .. } | Variant::Relu => inv_sqrt_d,
        Variant::Lssa(l) | Variant::Lssar { lssa: l, .. } => l.scale.factor(d, visible),
        Variant::Linear => 1.0,
    }
}
