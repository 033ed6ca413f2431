//! The small vector operations the kernels are built from. Written so that LLVM vectorises
//! them (eight independent accumulators for reductions); with `+simd128` on wasm32 they become
//! f32x4 code, natively SSE/AVX. All SIMD of the crate goes through this module.

/// `Σ a_i b_i`.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (a8.remainder(), b8.remainder());
    for (x, y) in a8.zip(b8) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ar.iter().zip(br) {
        tail += x * y;
    }
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]) + tail
}

/// `y += a·x`.
#[inline]
pub fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    debug_assert_eq!(y.len(), x.len());
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `y *= a`.
#[inline]
pub fn scale(y: &mut [f32], a: f32) {
    for y in y.iter_mut() {
        *y *= a;
    }
}

/// The largest value (`-inf` for an empty slice).
#[inline]
pub fn max(x: &[f32]) -> f32 {
    x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v))
}

/// `[q·k0, q·k1, q·k2, q·k3]`: four dot products sharing the loads of `q`.
#[inline]
pub fn dot4(q: &[f32], k: [&[f32]; 4]) -> [f32; 4] {
    let d = q.len();
    let mut acc = [[0.0f32; 8]; 4];
    let whole = d - d % 8;
    for c in (0..whole).step_by(8) {
        let qc = &q[c..c + 8];
        for (a, kr) in acc.iter_mut().zip(&k) {
            let kc = &kr[c..c + 8];
            for l in 0..8 {
                a[l] += qc[l] * kc[l];
            }
        }
    }
    let mut out = [0.0f32; 4];
    for (o, (a, kr)) in out.iter_mut().zip(acc.iter().zip(&k)) {
        let mut tail = 0.0;
        for c in whole..d {
            tail += q[c] * kr[c];
        }
        *o = (a[0] + a[4]) + (a[1] + a[5]) + (a[2] + a[6]) + (a[3] + a[7]) + tail;
    }
    out
}

/// `y += a0·x0 + a1·x1 + a2·x2 + a3·x3`: one load and store of `y` for four rows of `x`.
#[inline]
pub fn axpy4(y: &mut [f32], a: [f32; 4], x: [&[f32]; 4]) {
    let n = y.len();
    let (x0, x1, x2, x3) = (&x[0][..n], &x[1][..n], &x[2][..n], &x[3][..n]);
    for c in 0..n {
        y[c] += a[0] * x0[c] + a[1] * x1[c] + a[2] * x2[c] + a[3] * x3[c];
    }
}

const LOG2E: f32 = std::f32::consts::LOG2_E;
// ln 2 split so that k·LN2_HI is exact for the |k| <= 127 used here (Cody & Waite).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
// Minimax coefficients of e^t on [−ln2/2, ln2/2], degree 5 (as in XNNPACK's p5 kernels).
const C1: f32 = 0.999_999_7;
const C2: f32 = 0.499_991_5;
const C3: f32 = 0.166_676_52;
const C4: f32 = 0.041_897_822;
const C5: f32 = 0.008_289_291;
/// Below this, e^x is under the smallest normal float: the result is 0.
const EXP_LOWEST: f32 = -87.336_55;

/// `e^x` for `x <= 0` (callers subtract a row max first), to about 2 ulp, written without
/// branches or calls so that loops over it vectorise (f32x4 on wasm32 with simd128).
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    // Adding 1.5·2^23 rounds to an integer in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let xc = if x < EXP_LOWEST { EXP_LOWEST } else { x };
    let k = (xc * LOG2E + ROUND) - ROUND;
    let t = (xc - k * LN2_HI) - k * LN2_LO;
    let p = 1.0 + t * (C1 + t * (C2 + t * (C3 + t * (C4 + t * C5))));
    let two_k = f32::from_bits(((k as i32 + 127) as u32) << 23);
    if x < EXP_LOWEST {
        0.0
    } else {
        p * two_k
    }
}

/// `x ← e^(x − shift)` for every value (all `x <= shift`); returns their sum.
#[inline]
pub fn exp_shifted_sum(x: &mut [f32], shift: f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut chunks = x.chunks_exact_mut(8);
    for chunk in &mut chunks {
        for l in 0..8 {
            chunk[l] = exp_nonpositive(chunk[l] - shift);
            acc[l] += chunk[l];
        }
    }
    let mut tail = 0.0;
    for v in chunks.into_remainder() {
        *v = exp_nonpositive(*v - shift);
        tail += *v;
    }
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_nonpositive_is_accurate_down_to_underflow() {
        let mut worst = 0.0f64;
        let mut x = -87.3f32;
        while x <= 0.0 {
            let want = (x as f64).exp();
            worst = worst.max((exp_nonpositive(x) as f64 - want).abs() / want);
            x += 0.000_731;
        }
        assert!(worst < 3e-7, "largest relative error {worst:e}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-100.0), 0.0);
        assert_eq!(exp_nonpositive(f32::NEG_INFINITY), 0.0);
    }

    #[test]
    fn blocked_products_match_the_plain_ones() {
        let q: Vec<f32> = (0..70).map(|i| (i as f32 * 0.37).sin()).collect();
        let ks: Vec<Vec<f32>> =
            (0..4).map(|r| (0..70).map(|i| ((i * (r + 2)) as f32 * 0.11).cos()).collect()).collect();
        let got = dot4(&q, [&ks[0], &ks[1], &ks[2], &ks[3]]);
        for (g, k) in got.iter().zip(&ks) {
            assert!((g - dot(&q, k)).abs() < 1e-4);
        }
        let mut y = vec![1.0f32; 70];
        axpy4(&mut y, [0.5, -1.0, 2.0, 0.25], [&ks[0], &ks[1], &ks[2], &ks[3]]);
        let mut want = vec![1.0f32; 70];
        for (a, k) in [0.5, -1.0, 2.0, 0.25].iter().zip(&ks) {
            axpy(&mut want, *a, k);
        }
        for (a, b) in y.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5);
        }
    }
}
