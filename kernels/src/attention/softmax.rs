//! Softmax attention weights, by three algorithms that agree to float rounding, and a naive
//! one kept to show why the others exist. docs/MATH.md, “Softmax attention”.
//!
//! - Three-pass: max, `Σ e^(s − max)`, normalise.
//! - Online (Milakov & Gimelshein 2018): one pass keeps a running max and a running sum,
//!   rescaling the sum when the max grows; a second pass writes the weights. Fused with the
//!   output (`online_fused_forward`) it streams key tiles and holds no row at all: the form
//!   flash attention tiles.
//! - Two-pass (Dukhan & Ablavatski 2020): every `e^s` is a pair (mantissa `p`, exponent `k`)
//!   with `e^s = p·2^k`; the sum is accumulated as such a pair, rescaled by exact powers of
//!   two. No max pass and no overflow.
//! - Naive: `e^s / Σ e^s`, which overflows to inf (and the weights to NaN) once a score passes
//!   ~88.7. A teaching variant: forward only.

use super::Mask;
use crate::vector::{axpy, axpy4, dot, dot4, exp_nonpositive, exp_shifted_sum, max, scale};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum SoftmaxAlgorithm {
    ThreePass,
    Online,
    TwoPass,
    Naive,
}

impl SoftmaxAlgorithm {
    /// Passes over the row as implemented here: (reads, writes). Three-pass reads for the max,
    /// writes `e^(s − m)` while summing, then scales in place; online and two-pass read once to
    /// sum and once more to write the weights; naive writes `e^s` and then scales.
    pub fn memory_passes(self) -> (u32, u32) {
        match self {
            SoftmaxAlgorithm::ThreePass => (3, 2),
            SoftmaxAlgorithm::Online | SoftmaxAlgorithm::TwoPass => (2, 1),
            SoftmaxAlgorithm::Naive => (2, 2),
        }
    }
}

/// Scores to weights, in place.
pub fn row_forward(algorithm: SoftmaxAlgorithm, row: &mut [f32]) {
    match algorithm {
        SoftmaxAlgorithm::ThreePass => three_pass(row),
        SoftmaxAlgorithm::Online => online(row),
        SoftmaxAlgorithm::TwoPass => two_pass(row),
        SoftmaxAlgorithm::Naive => naive(row),
    }
}

/// Rows longer than this are summed in f32 blocks of this length folded into an f64 total, so
/// that rounding does not grow with the length (a million-value row stays accurate to 1e-7).
const SUM_BLOCK: usize = 1024;

pub fn three_pass(row: &mut [f32]) {
    let m = max(row);
    let sum: f64 = row.chunks_mut(SUM_BLOCK).map(|block| exp_shifted_sum(block, m) as f64).sum();
    scale(row, (1.0 / sum) as f32);
}

pub fn online(row: &mut [f32]) {
    // The running sum in f64: one rounding per key would otherwise add up over long rows.
    let (mut m, mut sum) = (f32::NEG_INFINITY, 0.0f64);
    for &x in row.iter() {
        if x > m {
            sum *= exp_nonpositive(m - x) as f64;
            m = x;
        }
        sum += exp_nonpositive(x - m) as f64;
    }
    let inv = (1.0 / sum) as f32;
    for x in row.iter_mut() {
        *x = exp_nonpositive(*x - m) * inv;
    }
}

pub fn naive(row: &mut [f32]) {
    let mut sum = 0.0f32;
    for x in row.iter_mut() {
        *x = x.exp();
        sum += *x;
    }
    scale(row, 1.0 / sum);
}

const LOG2E: f64 = std::f64::consts::LOG2_E;
const LN2: f64 = std::f64::consts::LN_2;
// The degree-5 minimax polynomial of e^t the vectorised exponential uses too.
use crate::vector::{C1, C2, C3, C4, C5};

/// `e^x = p·2^k` with `p` in about `[0.71, 1.42]`. The range reduction `t = x − k·ln 2` runs in
/// f64 so that it stays exact for the large scores this algorithm exists for.
#[inline]
pub fn exp_pair(x: f32) -> (f32, i64) {
    let k = (x as f64 * LOG2E).round();
    let t = (x as f64 - k * LN2) as f32;
    let p = 1.0 + t * (C1 + t * (C2 + t * (C3 + t * (C4 + t * C5))));
    (p, k as i64)
}

/// `2^e` for the non-positive exponent differences of the two-pass algorithm (0 below −126).
#[inline]
fn pow2(e: i64) -> f32 {
    if e < -126 {
        0.0
    } else {
        f32::from_bits(((e + 127) as u32) << 23)
    }
}

/// `2^e` in f64 for the running sum (0 below −1022).
#[inline]
fn pow2_f64(e: i64) -> f64 {
    if e < -1022 {
        0.0
    } else {
        f64::from_bits(((e + 1023) as u64) << 52)
    }
}

pub fn two_pass(row: &mut [f32]) {
    // The running mantissa in f64, for the same reason as the online sum.
    let (mut p_sum, mut k_sum) = (0.0f64, i64::MIN);
    for &x in row.iter() {
        let (p, k) = exp_pair(x);
        if k > k_sum {
            p_sum = p_sum * pow2_f64(k_sum.saturating_sub(k)) + p as f64;
            k_sum = k;
        } else {
            p_sum += p as f64 * pow2_f64(k.saturating_sub(k_sum));
        }
    }
    let inv = (1.0 / p_sum) as f32;
    for x in row.iter_mut() {
        let (p, k) = exp_pair(*x);
        *x = p * inv * pow2(k.saturating_sub(k_sum));
    }
}

/// `ds = A ⊙ (dA − Σ A dA)`, in place over `da`.
///
/// `dA` is first shifted by its value at the largest weight (softmax's gradient does not change
/// when `dA` moves by a constant). For a nearly one-hot row the largest weight's term is then
/// exactly 0 and the others carry no cancellation, where the textbook form subtracts two
/// nearly equal numbers.
pub fn row_backward(a: &[f32], da: &mut [f32]) {
    shift_by_largest(a, da);
    let inner = dot(a, da);
    for (g, &w) in da.iter_mut().zip(a) {
        *g = w * (*g - inner);
    }
}

/// Subtracts from every `da` its value at the largest `a`.
pub fn shift_by_largest(a: &[f32], da: &mut [f32]) {
    let top = a.iter().enumerate().fold(0, |best, (j, &w)| if w > a[best] { j } else { best });
    let center = da[top];
    da.iter_mut().for_each(|g| *g -= center);
}

/// Keys per tile of the fused online forward.
const TILE: usize = 64;

/// Online softmax attention fused with the output: streams the keys in tiles, keeping a
/// running max `m`, sum `z` and unnormalised output; nothing of size n is held.
/// Shapes: `q`, `k`, `v`, `out` are `[n, d]` of one head.
pub fn online_fused_forward(mask: Mask, n: usize, d: usize, q: &[f32], k: &[f32], v: &[f32], out: &mut [f32]) {
    let c = 1.0 / (d as f32).sqrt();
    let mut tile = [0.0f32; TILE];
    for i in 0..n {
        let qi = &q[i * d..(i + 1) * d];
        let oi = &mut out[i * d..(i + 1) * d];
        oi.fill(0.0);
        let (mut m, mut z) = (f32::NEG_INFINITY, 0.0f32);
        let visible = mask.visible(i, n);
        for start in (0..visible).step_by(TILE) {
            let end = (start + TILE).min(visible);
            let s = &mut tile[..end - start];
            let key = |j: usize| &k[j * d..(j + 1) * d];
            let whole = s.len() - s.len() % 4;
            for b in (0..whole).step_by(4) {
                let j = start + b;
                let dots = dot4(qi, [key(j), key(j + 1), key(j + 2), key(j + 3)]);
                for (t, dot) in s[b..b + 4].iter_mut().zip(dots) {
                    *t = c * dot;
                }
            }
            for (t, j) in s[whole..].iter_mut().zip(start + whole..) {
                *t = c * dot(qi, key(j));
            }
            let tile_max = max(s);
            if tile_max > m {
                let rescale = exp_nonpositive(m - tile_max);
                z *= rescale;
                scale(oi, rescale);
                m = tile_max;
            }
            z += exp_shifted_sum(s, m);
            let value = |j: usize| &v[j * d..(j + 1) * d];
            let mut blocks = s.chunks_exact(4);
            for (b, p) in (&mut blocks).enumerate() {
                let j = start + 4 * b;
                axpy4(oi, [p[0], p[1], p[2], p[3]], [value(j), value(j + 1), value(j + 2), value(j + 3)]);
            }
            let done = start + s.len() - s.len() % 4;
            for (j, &p) in (done..).zip(blocks.remainder()) {
                axpy(oi, p, value(j));
            }
        }
        scale(oi, 1.0 / z);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    fn reference(row: &[f32]) -> Vec<f64> {
        let m = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
        let z: f64 = row.iter().map(|&x| (x as f64 - m).exp()).sum();
        row.iter().map(|&x| (x as f64 - m).exp() / z).collect()
    }

    #[test]
    fn exp_pair_is_accurate_over_a_wide_range() {
        let mut worst = 0.0f64;
        let mut x = -300.0f32;
        while x < 300.0 {
            let (p, k) = exp_pair(x);
            let got = p as f64 * 2f64.powi(k as i32);
            let want = (x as f64).exp();
            worst = worst.max((got - want).abs() / want);
            x += 0.0137;
        }
        assert!(worst < 4e-7, "largest relative error {worst:e}");
    }

    #[test]
    fn three_algorithms_agree_to_1e6_relative_for_small_and_huge_scores() {
        let mut rng = Rng::new(3);
        for scale_ in [1.0f32, 30.0, 1e4] {
            for n in [1usize, 2, 7, 64, 1000] {
                let mut row = vec![0.0f32; n];
                rng.fill_normal(&mut row, scale_);
                let want = reference(&row);
                for alg in [SoftmaxAlgorithm::ThreePass, SoftmaxAlgorithm::Online, SoftmaxAlgorithm::TwoPass] {
                    let mut got = row.clone();
                    row_forward(alg, &mut got);
                    for (g, w) in got.iter().zip(&want) {
                        let err = (*g as f64 - w).abs();
                        assert!(err <= 1e-6 * w.max(1e-30) + 1e-12, "{alg:?} n={n} scale={scale_}: {g} vs {w}");
                    }
                }
            }
        }
    }

    #[test]
    fn naive_overflows_exactly_past_88_7() {
        let mut ok = vec![88.0f32, 0.0];
        naive(&mut ok);
        assert!(ok.iter().all(|w| w.is_finite()));
        let mut bad = vec![89.0f32, 0.0];
        naive(&mut bad);
        assert!(bad[0].is_nan(), "e^89 overflows f32, so inf/inf = NaN: {bad:?}");
        let mut stable = vec![89.0f32, 0.0];
        three_pass(&mut stable);
        assert!((stable[0] - 1.0).abs() < 1e-6 && (0.0..1e-30).contains(&stable[1]), "{stable:?}");
    }
}
