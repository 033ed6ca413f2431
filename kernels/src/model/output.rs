//! The transformer's output: logits against the output embedding, then the softmax and the
//! mean cross-entropy over the positions with a target, each a forward and a backward.
//! docs/MATH.md, “The transformer” (“Logits and loss”).
//!
//! Shapes: `R = B·T` positions; `nf`, `dnf` `[R, C]` (the final norm's output); `w_out`, `dw`
//! `[V, C]` (the token embedding when tied); `logits`, `probs`, `dlogits` `[R, V]`; `targets`
//! `[R]`, [`IGNORE`] where a position counts for nothing.

/// A target that counts for nothing (a prompt position, padding).
pub const IGNORE: u32 = u32::MAX;

/// `logits[r][v] = nf[r]·w_out[v]`, each a sum over `C` in order.
pub fn logits_forward(logits: &mut [f32], nf: &[f32], w_out: &[f32], c: usize, v: usize) {
    for (r, row) in nf.chunks_exact(c).enumerate() {
        for tok in 0..v {
            logits[r * v + tok] = row.iter().zip(&w_out[tok * c..(tok + 1) * c]).map(|(a, b)| a * b).sum();
        }
    }
}

/// Back through [`logits_forward`]: `dnf += dlogits·w_out` and `dw += dlogitsᵀ·nf`, skipping
/// the zero entries (every position without a target).
pub fn logits_backward(
    dnf: &mut [f32],
    dw: &mut [f32],
    dlogits: &[f32],
    nf: &[f32],
    w_out: &[f32],
    c: usize,
    v: usize,
) {
    for r in 0..dlogits.len() / v {
        for tok in 0..v {
            let d = dlogits[r * v + tok];
            if d == 0.0 {
                continue;
            }
            for i in 0..c {
                dnf[r * c + i] += d * w_out[tok * c + i];
                dw[tok * c + i] += d * nf[r * c + i];
            }
        }
    }
}

/// The softmax of each row of `logits` into `probs` (max subtracted first) and the mean
/// cross-entropy `−Σ ln probs[r][target_r] / #targets` over the rows with a target (a
/// probability is taken at least `f32::MIN_POSITIVE`, so one rounded to 0 costs 87.3, not
/// inf). The sum of the losses runs in f64.
pub fn crossentropy_forward(probs: &mut [f32], logits: &[f32], targets: &[u32], v: usize) -> f32 {
    probs.copy_from_slice(logits);
    let mut loss = 0.0f64;
    let counted = targets.iter().filter(|&&y| y != IGNORE).count().max(1);
    for (r, row) in probs.chunks_exact_mut(v).enumerate() {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for z in row.iter_mut() {
            *z = (*z - max).exp();
            sum += *z;
        }
        row.iter_mut().for_each(|z| *z /= sum);
        if targets[r] != IGNORE {
            loss -= (row[targets[r] as usize].max(f32::MIN_POSITIVE) as f64).ln();
        }
    }
    (loss / counted as f64) as f32
}

/// Back through [`crossentropy_forward`] and the softmax together:
/// `dlogits[r] = (probs[r] − onehot(target_r)) / #targets` where row `r` has a target, else 0
/// (`dlogits` is overwritten).
pub fn crossentropy_backward(dlogits: &mut [f32], probs: &[f32], targets: &[u32], v: usize) {
    let counted = targets.iter().filter(|&&y| y != IGNORE).count().max(1) as f32;
    for (r, (d, p)) in dlogits.chunks_exact_mut(v).zip(probs.chunks_exact(v)).enumerate() {
        if targets[r] == IGNORE {
            d.fill(0.0);
            continue;
        }
        for tok in 0..v {
            let y = if tok as u32 == targets[r] { 1.0 } else { 0.0 };
            d[tok] = (p[tok] - y) / counted;
        }
    }
}
