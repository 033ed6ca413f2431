//! Sigmoid attention (Ramapuram et al., "Theory, Analysis, and Best Practices for Sigmoid
//! Self-Attention", ICLR 2025, arXiv 2409.04431). docs/MATH.md, “Sigmoid attention”.
//!
//! `A_ij = σ(q·k/√d + b)`, with no row normalisation: rows need not sum to 1. The bias `b`
//! defaults to `−ln n`; without it the initial attention norm is large and training unstable,
//! the paper's main finding. Masked entries are 0 (`σ(−∞)`), never a large finite negative.

use super::softplus::sigmoid;

/// The bias to use: the given one, or `−ln n`.
pub fn bias_or_default(bias: Option<f32>, n: usize) -> f32 {
    bias.unwrap_or(-(n as f32).ln())
}

pub fn row_forward(row: &mut [f32], b: f32) {
    for s in row.iter_mut() {
        *s = sigmoid(*s + b);
    }
}

/// `ds = dA ⊙ σ'(s + b)` with `σ'(x) = σ(x)σ(−x)`: computed from the score rather than as
/// `A(1 − A)`, which loses all precision once `A` rounds to 1.
pub fn row_backward(s: &[f32], da: &mut [f32], b: f32) {
    for (g, &x) in da.iter_mut().zip(s) {
        *g *= sigmoid(x + b) * sigmoid(-(x + b));
    }
}
