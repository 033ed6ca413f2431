//! Softmax over one long vector, in streaming passes.
//!
//! `y_i = e^(x_i − m) / Σ_j e^(x_j − m)` with `m = max_j x_j` (the three-pass algorithm,
//! docs/MATH.md, “Softmax attention”). Each pass works on any chunk of the vector, so a caller
//! (the compute worker) can report progress between chunks and the result does not depend on
//! the chunking beyond float rounding: the max is exact in any order, and the sum is
//! accumulated in f64.

use crate::vector::{exp_shifted_sum, scale};

/// Pass 1 over a chunk: the running maximum, starting from `running_max`.
/// NaN inputs are skipped here and surface in pass 2.
pub fn max_pass(chunk: &[f32], running_max: f32) -> f32 {
    chunk.iter().fold(running_max, |m, &x| if x > m { x } else { m })
}

/// Pass 2 over a chunk: `Σ e^(x − max)` of the chunk, in f64. The exponentials are the
/// vectorised ones of [`crate::vector`], summed in blocks of 64 that are folded into an f64
/// total, so rounding does not grow with the length.
pub fn exp_sum_pass(chunk: &[f32], max: f32) -> f64 {
    let mut block = [0.0f32; 64];
    chunk
        .chunks(64)
        .map(|c| {
            let b = &mut block[..c.len()];
            b.copy_from_slice(c);
            exp_shifted_sum(b, max) as f64
        })
        .sum()
}

/// Pass 3 over a chunk: writes `e^(x − max) / sum` in place.
pub fn normalise_pass(chunk: &mut [f32], max: f32, sum: f64) {
    exp_shifted_sum(chunk, max);
    scale(chunk, (1.0 / sum) as f32);
}

/// Softmax of the whole vector in place: the three passes above, in one call.
pub fn softmax_in_place(x: &mut [f32]) {
    let max = max_pass(x, f32::NEG_INFINITY);
    let sum = exp_sum_pass(x, max);
    normalise_pass(x, max, sum);
}

/// Softmax of each row of a `[rows, cols]` row-major matrix, in place.
pub fn softmax_rows_in_place(x: &mut [f32], cols: usize) {
    assert!(
        cols > 0 && x.len().is_multiple_of(cols),
        "softmax_rows_in_place: {} values are not rows of {cols}",
        x.len()
    );
    for row in x.chunks_exact_mut(cols) {
        softmax_in_place(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    #[test]
    fn matches_a_float64_reference_and_sums_to_one() {
        let mut rng = Rng::new(11);
        let mut x = vec![0.0f32; 10_007];
        rng.fill_normal(&mut x, 4.0);
        let m = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        let z: f64 = x.iter().map(|&v| (v as f64 - m).exp()).sum();
        let want: Vec<f64> = x.iter().map(|&v| (v as f64 - m).exp() / z).collect();
        softmax_in_place(&mut x);
        for (got, want) in x.iter().zip(&want) {
            assert!(((*got as f64) - want).abs() <= 1e-5 * want.max(1e-30) + 1e-12, "{got} vs {want}");
        }
        let total: f64 = x.iter().map(|&v| v as f64).sum();
        assert!((total - 1.0).abs() < 1e-5, "sum {total}");
    }

    #[test]
    fn a_long_vector_sums_to_one_to_float_precision() {
        let mut x = vec![0.0f32; 1 << 22];
        Rng::new(7).fill_normal(&mut x, 4.0);
        softmax_in_place(&mut x);
        let total: f64 = x.iter().map(|&v| v as f64).sum();
        assert!((total - 1.0).abs() < 2e-6, "sum {total}");
    }

    #[test]
    fn chunking_does_not_change_the_result() {
        let mut rng = Rng::new(5);
        let mut x = vec![0.0f32; 5000];
        rng.fill_normal(&mut x, 3.0);
        let mut whole = x.clone();
        softmax_in_place(&mut whole);
        let max = x.chunks(333).fold(f32::NEG_INFINITY, |m, c| max_pass(c, m));
        let sum: f64 = x.chunks(333).map(|c| exp_sum_pass(c, max)).sum();
        for c in x.chunks_mut(333) {
            normalise_pass(c, max, sum);
        }
        for (a, b) in whole.iter().zip(&x) {
            assert!((a - b).abs() <= 1e-6 * a.abs().max(1e-30), "{a} vs {b}");
        }
    }

    #[test]
    fn huge_logits_do_not_overflow() {
        let mut x = vec![1e4f32, 1e4 - 1.0, -1e4, 0.0];
        softmax_in_place(&mut x);
        assert!(x.iter().all(|v| v.is_finite()));
        assert!((x[0] - 1.0 / (1.0 + (-1.0f32).exp())).abs() < 1e-6);
        assert_eq!(x[2], 0.0);
    }
}
