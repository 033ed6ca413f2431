//! ReLU attention, the "ReLU / sequence length" variant (Wortsman et al. 2023, "Replacing
//! softmax with ReLU in vision transformers"): `A_ij = ReLU(q·k/√d) / n`, no normalisation.
//! `n` is the sequence length for every row, causal or not. docs/MATH.md, “ReLU and linear
//! attention”.

pub fn row_forward(row: &mut [f32], n: usize) {
    let inv = 1.0 / n as f32;
    for s in row.iter_mut() {
        *s = s.max(0.0) * inv;
    }
}

/// `ds = dA / n` where the score is positive, else 0.
pub fn row_backward(s: &[f32], da: &mut [f32], n: usize) {
    let inv = 1.0 / n as f32;
    for (g, &x) in da.iter_mut().zip(s) {
        *g = if x > 0.0 { *g * inv } else { 0.0 };
    }
}
