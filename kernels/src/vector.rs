//! The small vector operations the kernels are built from. Written so that LLVM vectorises
//! them (eight independent accumulators for reductions); with `+simd128` on wasm32 they become
//! f32x4 code, natively SSE/AVX. All SIMD of the crate goes through this module. The
//! exponential and the blocked attention tiles: docs/MATH.md, “Softmax attention”,
//! “Activations” › “Vectorised forms”.

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

/// The largest value (`-inf` for an empty slice; NaN is passed over, as `f32::max` does).
/// Eight running maxima, as a single one would keep the loop scalar.
#[inline]
pub fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for l in 0..8 {
            acc[l] = acc[l].max(c[l]);
        }
    }
    let tail = chunks.remainder().iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    acc.iter().fold(tail, |m, &v| m.max(v))
}

/// `Σ x_i`, in eight running sums.
#[inline]
pub fn sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for l in 0..8 {
            acc[l] += c[l];
        }
    }
    let tail: f32 = chunks.remainder().iter().sum();
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]) + tail
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
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let start = simd128::axpy4(y, a, x);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let start = 0;
    let n = y.len();
    let y = &mut y[start..];
    let (x0, x1, x2, x3) = (&x[0][start..n], &x[1][start..n], &x[2][start..n], &x[3][start..n]);
    for c in 0..n - start {
        y[c] += a[0] * x0[c] + a[1] * x1[c] + a[2] * x2[c] + a[3] * x3[c];
    }
}

/// [`axpy4`] for two outputs sharing the same four rows of `x`: `y0 += Σ a0_r x_r` and
/// `y1 += Σ a1_r x_r`, loading each `x` chunk once for both.
#[inline]
pub fn axpy4_pair(y0: &mut [f32], y1: &mut [f32], a0: [f32; 4], a1: [f32; 4], x: [&[f32]; 4]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let start = simd128::axpy4_pair(y0, y1, a0, a1, x);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let start = 0;
    let n = y0.len();
    assert_eq!(y1.len(), n, "axpy4_pair: outputs differ in length");
    for c in start..n {
        let xs = [x[0][c], x[1][c], x[2][c], x[3][c]];
        y0[c] += a0[0] * xs[0] + a0[1] * xs[1] + a0[2] * xs[2] + a0[3] * xs[3];
        y1[c] += a1[0] * xs[0] + a1[1] * xs[1] + a1[2] * xs[2] + a1[3] * xs[3];
    }
}

mod elementary;
pub use elementary::{exp_nonpositive, ln_1p_unit, ln_positive};
pub(crate) use elementary::{C1, C2, C3, C4, C5};

/// `x ← e^(x − shift)` for every value (all `x <= shift`); returns their sum.
#[inline]
pub fn exp_shifted_sum(x: &mut [f32], shift: f32) -> f32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd128::exp_shifted_sum(x, shift);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    exp_shifted_sum_portable(x, shift)
}

#[cfg_attr(all(target_arch = "wasm32", target_feature = "simd128"), allow(dead_code))]
fn exp_shifted_sum_portable(x: &mut [f32], shift: f32) -> f32 {
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

/// Query rows processed together by the blocked kernels: each key and value loaded is used
/// for this many rows.
pub const ROWS: usize = 4;

/// Keys per block of the packed key layout ([`pack_keys`]).
pub const KEY_BLOCK: usize = 8;

/// The keys `[n, d]` repacked for [`scores_block`]: each full block of [`KEY_BLOCK`] keys is
/// stored transposed, `[d, KEY_BLOCK]`, so a block's tile reads one contiguous run. Keys past
/// the last full block are not packed (the kernel reads them from the row-major keys).
pub fn pack_keys(k: &[f32], n: usize, d: usize) -> Vec<f32> {
    let blocks = n / KEY_BLOCK;
    let mut packed = vec![0.0f32; blocks * d * KEY_BLOCK];
    for (b, block) in packed.chunks_exact_mut(d * KEY_BLOCK).enumerate() {
        for l in 0..KEY_BLOCK {
            let key = &k[(b * KEY_BLOCK + l) * d..(b * KEY_BLOCK + l + 1) * d];
            for (c, &x) in key.iter().enumerate() {
                block[c * KEY_BLOCK + l] = x;
            }
        }
    }
    packed
}

/// Scores of [`ROWS`] query rows against keys `0..n_keys`:
/// `out[r·out_stride + j] = q[r]·k[j]`, from the packed keys of [`pack_keys`] (and the
/// row-major keys `k` `[n, d]` past the last full block). Entries up to the end of the last
/// block started may be written too (never past `n`).
pub fn scores_block(
    q: [&[f32]; ROWS],
    packed: &[f32],
    k: &[f32],
    n: usize,
    n_keys: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    let d = q[0].len();
    assert!(q.iter().all(|r| r.len() == d), "scores_block: query rows differ in length");
    assert!(n_keys <= n && n <= out_stride && k.len() >= n * d, "scores_block: n_keys, n or k out of range");
    assert!(packed.len() >= (n / KEY_BLOCK) * d * KEY_BLOCK, "scores_block: packed keys too short");
    assert!(out.len() >= (ROWS - 1) * out_stride + n, "scores_block: out is too short");
    // Blocks that are packed and hold at least one key below n_keys.
    let blocks = n_keys.div_ceil(KEY_BLOCK).min(n / KEY_BLOCK);
    for b in 0..blocks {
        let tile = &packed[b * d * KEY_BLOCK..(b + 1) * d * KEY_BLOCK];
        let j = b * KEY_BLOCK;
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        simd128::score_tile(q, tile, out, out_stride, j);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        {
            // The same ROWS × 8 tile in plain arrays, which LLVM vectorises on other targets.
            let mut acc = [[0.0f32; KEY_BLOCK]; ROWS];
            for (c, kc) in tile.chunks_exact(KEY_BLOCK).enumerate() {
                for (a, qr) in acc.iter_mut().zip(&q) {
                    let x = qr[c];
                    for l in 0..KEY_BLOCK {
                        a[l] += x * kc[l];
                    }
                }
            }
            for (r, a) in acc.iter().enumerate() {
                out[r * out_stride + j..r * out_stride + j + KEY_BLOCK].copy_from_slice(a);
            }
        }
    }
    for j in blocks * KEY_BLOCK..n_keys {
        let kj = &k[j * d..(j + 1) * d];
        for (r, qr) in q.iter().enumerate() {
            out[r * out_stride + j] = dot(qr, kj);
        }
    }
}

/// Keys per tile of [`weighted_sum_block`]: 512 rows of `v` at d = 64 are 128 KiB, which stay
/// in L2 while the column blocks pass over them; shorter sequences are one tile.
const VALUE_TILE: usize = 512;

/// Weighted sums of [`ROWS`] rows of weights over the values:
/// `out[r·d + c] = Σ_{j < n_keys} p[r·p_stride + j] · v[j·d + c]`.
/// Shapes: `p` is `[ROWS, p_stride]`; `v` is `[n_keys.., d]`; `out` is `[ROWS, d]`.
pub fn weighted_sum_block(p: &[f32], p_stride: usize, v: &[f32], d: usize, n_keys: usize, out: &mut [f32]) {
    assert!(n_keys <= p_stride && p.len() >= (ROWS - 1) * p_stride + n_keys, "weighted_sum_block: p is too short");
    assert!(v.len() >= n_keys * d && out.len() >= ROWS * d, "weighted_sum_block: v or out is too short");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = simd128::weighted_sum_block(p, p_stride, v, d, n_keys, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = {
        // The same tiles as the simd128 version, in plain arrays.
        let whole = d - d % 8;
        for start in (0..n_keys.max(1)).step_by(VALUE_TILE) {
            let end = (start + VALUE_TILE).min(n_keys);
            for c in (0..whole).step_by(8) {
                // The first tile starts from zero; later ones add to its partial sums.
                let mut acc = [[0.0f32; 8]; ROWS];
                if start > 0 {
                    for (r, a) in acc.iter_mut().enumerate() {
                        a.copy_from_slice(&out[r * d + c..r * d + c + 8]);
                    }
                }
                for j in start..end {
                    let vj = &v[j * d + c..j * d + c + 8];
                    for (r, a) in acc.iter_mut().enumerate() {
                        let w = p[r * p_stride + j];
                        for l in 0..8 {
                            a[l] += w * vj[l];
                        }
                    }
                }
                for (r, a) in acc.iter().enumerate() {
                    out[r * d + c..r * d + c + 8].copy_from_slice(a);
                }
            }
        }
        whole
    };
    for r in 0..ROWS {
        let o = &mut out[r * d + done..(r + 1) * d];
        o.fill(0.0);
        for j in 0..n_keys {
            let w = p[r * p_stride + j];
            if w != 0.0 {
                axpy(o, w, &v[j * d + done..(j + 1) * d]);
            }
        }
    }
}

/// Explicit simd128 versions of the blocked kernels: registers hold a [`ROWS`] × 8 tile of
/// results for the whole reduction, so every loaded vector is used four times.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::*;

    use super::ROWS;

    /// Two vectors from the first 8 values of `x`.
    #[inline(always)]
    fn load8(x: &[f32]) -> (v128, v128) {
        let x = &x[..8];
        // SAFETY: `x` is exactly 8 f32, so both 16-byte unaligned loads read inside it;
        // v128_load has no alignment requirement.
        unsafe { (v128_load(x.as_ptr() as *const v128), v128_load(x.as_ptr().add(4) as *const v128)) }
    }

    /// Writes two vectors to the first 8 values of `out`.
    #[inline(always)]
    fn store8(out: &mut [f32], (a, b): (v128, v128)) {
        let out = &mut out[..8];
        // SAFETY: `out` is exactly 8 f32; both 16-byte unaligned stores write inside it.
        unsafe {
            v128_store(out.as_mut_ptr() as *mut v128, a);
            v128_store(out.as_mut_ptr().add(4) as *mut v128, b);
        }
    }

    /// `acc[r] += s[r] · x` for each of the [`ROWS`] rows of an 8-wide tile.
    #[inline(always)]
    fn rank1_rows(acc: &mut [(v128, v128); ROWS], s: [f32; ROWS], x: (v128, v128)) {
        for (a, s) in acc.iter_mut().zip(s) {
            let s = f32x4_splat(s);
            *a = (f32x4_add(a.0, f32x4_mul(s, x.0)), f32x4_add(a.1, f32x4_mul(s, x.1)));
        }
    }

    /// One [`ROWS`] × 8 tile of scores from one packed key block (`[d, 8]`), written at
    /// column `j` of `out`.
    pub fn score_tile(q: [&[f32]; ROWS], tile: &[f32], out: &mut [f32], out_stride: usize, j: usize) {
        let mut acc = [(f32x4_splat(0.0), f32x4_splat(0.0)); ROWS];
        for (c, kc) in tile.chunks_exact(8).enumerate() {
            rank1_rows(&mut acc, std::array::from_fn(|r| q[r][c]), load8(kc));
        }
        for (r, a) in acc.into_iter().enumerate() {
            store8(&mut out[r * out_stride + j..], a);
        }
    }

    /// [`super::exp_shifted_sum`], four lanes at a time: the same polynomial and rounding as
    /// [`super::exp_nonpositive`] (each value is the same; the sum's order differs).
    pub fn exp_shifted_sum(x: &mut [f32], shift: f32) -> f32 {
        use super::elementary::{C1, C2, C3, C4, C5, EXP_LOWEST, LN2_HI, LN2_LO, LOG2E};
        let (lowest, log2e, round) = (f32x4_splat(EXP_LOWEST), f32x4_splat(LOG2E), f32x4_splat(12_582_912.0));
        let (hi, lo, one) = (f32x4_splat(LN2_HI), f32x4_splat(LN2_LO), f32x4_splat(1.0));
        let c = [f32x4_splat(C1), f32x4_splat(C2), f32x4_splat(C3), f32x4_splat(C4), f32x4_splat(C5)];
        let shift_v = f32x4_splat(shift);
        let mut sum = f32x4_splat(0.0);
        let mut chunks = x.chunks_exact_mut(4);
        for chunk in &mut chunks {
            // SAFETY: `chunk` is exactly 4 f32; the load and the store stay inside it.
            let v = unsafe { v128_load(chunk.as_ptr() as *const v128) };
            let x = f32x4_sub(v, shift_v);
            let under = f32x4_lt(x, lowest);
            let xc = v128_bitselect(lowest, x, under);
            let k = f32x4_sub(f32x4_add(f32x4_mul(xc, log2e), round), round);
            let t = f32x4_sub(f32x4_sub(xc, f32x4_mul(k, hi)), f32x4_mul(k, lo));
            let mut p = c[4];
            for &ci in c[..4].iter().rev() {
                p = f32x4_add(ci, f32x4_mul(t, p));
            }
            p = f32x4_add(one, f32x4_mul(t, p));
            let two_k = i32x4_shl(i32x4_add(i32x4_trunc_sat_f32x4(k), i32x4_splat(127)), 23);
            let e = v128_andnot(f32x4_mul(p, two_k), under);
            unsafe { v128_store(chunk.as_mut_ptr() as *mut v128, e) };
            sum = f32x4_add(sum, e);
        }
        let mut total = (f32x4_extract_lane::<0>(sum) + f32x4_extract_lane::<2>(sum))
            + (f32x4_extract_lane::<1>(sum) + f32x4_extract_lane::<3>(sum));
        for v in chunks.into_remainder() {
            *v = super::exp_nonpositive(*v - shift);
            total += *v;
        }
        total
    }

    /// [`super::axpy4`] over the first multiple of 4 of `y`; returns how far it went.
    pub fn axpy4(y: &mut [f32], a: [f32; 4], x: [&[f32]; 4]) -> usize {
        let n = y.len();
        assert!(x.iter().all(|r| r.len() >= n), "axpy4: x rows shorter than y");
        let whole = n - n % 4;
        let w = [f32x4_splat(a[0]), f32x4_splat(a[1]), f32x4_splat(a[2]), f32x4_splat(a[3])];
        for c in (0..whole).step_by(4) {
            let yc = &mut y[c..c + 4];
            // SAFETY: `yc` and each `x[r][c..c + 4]` are exactly 4 f32 (x rows are at least n
            // long, asserted above); every load and the store stay inside them.
            unsafe {
                let mut acc = v128_load(yc.as_ptr() as *const v128);
                for r in 0..4 {
                    let xr = &x[r][c..c + 4];
                    acc = f32x4_add(acc, f32x4_mul(w[r], v128_load(xr.as_ptr() as *const v128)));
                }
                v128_store(yc.as_mut_ptr() as *mut v128, acc);
            }
        }
        whole
    }

    /// [`super::axpy4_pair`] over the first multiple of 4; returns how far it went.
    pub fn axpy4_pair(y0: &mut [f32], y1: &mut [f32], a0: [f32; 4], a1: [f32; 4], x: [&[f32]; 4]) -> usize {
        let n = y0.len();
        assert!(y1.len() == n && x.iter().all(|r| r.len() >= n), "axpy4_pair: lengths differ");
        let whole = n - n % 4;
        let w0 = [f32x4_splat(a0[0]), f32x4_splat(a0[1]), f32x4_splat(a0[2]), f32x4_splat(a0[3])];
        let w1 = [f32x4_splat(a1[0]), f32x4_splat(a1[1]), f32x4_splat(a1[2]), f32x4_splat(a1[3])];
        for c in (0..whole).step_by(4) {
            let (c0, c1) = (&mut y0[c..c + 4], &mut y1[c..c + 4]);
            // SAFETY: `c0`, `c1` and each `x[r][c..c + 4]` are exactly 4 f32 (lengths asserted
            // above); every load and store stays inside them.
            unsafe {
                let mut acc0 = v128_load(c0.as_ptr() as *const v128);
                let mut acc1 = v128_load(c1.as_ptr() as *const v128);
                for r in 0..4 {
                    let xr = v128_load(x[r][c..c + 4].as_ptr() as *const v128);
                    acc0 = f32x4_add(acc0, f32x4_mul(w0[r], xr));
                    acc1 = f32x4_add(acc1, f32x4_mul(w1[r], xr));
                }
                v128_store(c0.as_mut_ptr() as *mut v128, acc0);
                v128_store(c1.as_mut_ptr() as *mut v128, acc1);
            }
        }
        whole
    }

    /// Columns 0.. of the output in blocks of 8; returns how many columns it covered. Keys
    /// go in tiles of [`super::VALUE_TILE`], so a tile of `v` stays in cache while every column
    /// block passes over it; the tile's partial sums are added to `out`.
    pub fn weighted_sum_block(
        p: &[f32],
        p_stride: usize,
        v: &[f32],
        d: usize,
        n_keys: usize,
        out: &mut [f32],
    ) -> usize {
        let whole = d - d % 8;
        for start in (0..n_keys.max(1)).step_by(super::VALUE_TILE) {
            let end = (start + super::VALUE_TILE).min(n_keys);
            for c in (0..whole).step_by(8) {
                // The first tile starts from zero; later ones add to its partial sums.
                let mut acc = [(f32x4_splat(0.0), f32x4_splat(0.0)); ROWS];
                if start > 0 {
                    for (r, a) in acc.iter_mut().enumerate() {
                        *a = load8(&out[r * d + c..]);
                    }
                }
                for j in start..end {
                    let w = std::array::from_fn(|r| p[r * p_stride + j]);
                    rank1_rows(&mut acc, w, load8(&v[j * d + c..]));
                }
                for (r, a) in acc.into_iter().enumerate() {
                    store8(&mut out[r * d + c..], a);
                }
            }
        }
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_kernels_match_plain_loops() {
        let (n, d) = (29, 12);
        let q: Vec<f32> = (0..ROWS * d).map(|i| (i as f32 * 0.31).sin()).collect();
        let k: Vec<f32> = (0..n * d).map(|i| (i as f32 * 0.17).cos()).collect();
        let packed = pack_keys(&k, n, d);
        let mut s = vec![0.0f32; ROWS * n];
        let rows: [&[f32]; ROWS] = std::array::from_fn(|r| &q[r * d..(r + 1) * d]);
        scores_block(rows, &packed, &k, n, n, &mut s, n);
        for r in 0..ROWS {
            for j in 0..n {
                assert!((s[r * n + j] - dot(rows[r], &k[j * d..(j + 1) * d])).abs() < 1e-5);
            }
        }
        let mut out = vec![0.0f32; ROWS * d];
        weighted_sum_block(&s, n, &k, d, n, &mut out);
        for r in 0..ROWS {
            let mut want = vec![0.0f32; d];
            for j in 0..n {
                axpy(&mut want, s[r * n + j], &k[j * d..(j + 1) * d]);
            }
            for (a, b) in out[r * d..(r + 1) * d].iter().zip(&want) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
        }
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
