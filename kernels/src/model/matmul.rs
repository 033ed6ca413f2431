//! The transformer's matrix products, forward and backward (row-major, as llm.c's `matmul`).
//! docs/MATH.md, “The transformer”.
//!
//! All three products are one kernel, `gemm`: `c[r][j] += Σ_p a(r, p)·b[p][j]` with `b`
//! row-major (rows as wide as `c`'s) and `a` read through two strides, so `inpᵀ` of the weight
//! gradient is read in place. Outputs are computed in tiles of `MR` rows × `NR` columns
//! that stay in registers over a block of `KC` reduction steps: each vector of `b` loaded
//! serves `MR` rows and each value of `a` (splat) `NR / 4` vectors, nine independent
//! accumulator chains. The tile was chosen by measurement (shapes of the model, wasm32 in
//! Chromium and x86-64): 3 × 12 ran at about 50 GFLOP/s on wasm32 and 43 natively; tiles of
//! twelve chains (4 × 12, 3 × 16) ran at 30, the accumulators, the loaded vectors and the splat
//! no longer fitting the sixteen vector registers. A block of `a` (`MR × KC`) and a panel of
//! `b` (`KC × NR`) stay in L1 while a tile is computed.
//!
//! Numbers: every output is its start value plus the products in the order of `p`, each
//! product and each sum rounded once (no fused multiply-add). Tiles and blocks only choose
//! which outputs are computed together and when, so the result is the same bits for every
//! shape of tile, natively and on wasm32 with or without simd128.

/// Rows of a tile.
const MR: usize = 3;
/// Columns of a tile (`NR / 4` vectors).
const NR: usize = 12;
/// Reduction steps per block: `MR × KC` of `a` and `KC × NR` of `b` stay in L1.
const KC: usize = 96;

/// `out[N][O] = inp[N][I]·w[I][O] + bias[O]`.
pub fn matmul_forward(out: &mut [f32], inp: &[f32], w: &[f32], bias: Option<&[f32]>, n: usize, i: usize, o: usize) {
    assert!(out.len() >= n * o && inp.len() >= n * i && w.len() >= i * o, "matmul_forward: a buffer is too short");
    for row in out[..n * o].chunks_exact_mut(o.max(1)) {
        match bias {
            Some(b) => row.copy_from_slice(&b[..o]),
            None => row.fill(0.0),
        }
    }
    gemm(&mut out[..n * o], Strided { data: inp, row: i, col: 1 }, w, n, i, o);
}

/// `dinp += dout·wᵀ`, `dw += inpᵀ·dout`, `dbias += Σ_n dout`.
#[allow(clippy::too_many_arguments)]
pub fn matmul_backward(
    dinp: &mut [f32],
    dw: &mut [f32],
    dbias: Option<&mut [f32]>,
    dout: &[f32],
    inp: &[f32],
    w: &[f32],
    n: usize,
    i: usize,
    o: usize,
) {
    assert!(
        dinp.len() >= n * i && dw.len() >= i * o && dout.len() >= n * o && inp.len() >= n * i && w.len() >= i * o,
        "matmul_backward: a buffer is too short"
    );
    // dinp[n][i] += Σ_o dout[n][o]·wᵀ[o][i], with wᵀ copied once (O·I values against N·I·O
    // products) so that `b` is read along its rows.
    let wt = transpose(&w[..i * o], i, o);
    gemm(&mut dinp[..n * i], Strided { data: dout, row: o, col: 1 }, &wt, n, o, i);
    // dw[i][o] += Σ_n inp[n][i]·dout[n][o]: `a` is inpᵀ, read in place.
    gemm(&mut dw[..i * o], Strided { data: inp, row: 1, col: i }, dout, i, n, o);
    if let Some(db) = dbias {
        for r in 0..n {
            for (g, &dv) in db[..o].iter_mut().zip(&dout[r * o..(r + 1) * o]) {
                *g += dv;
            }
        }
    }
}

/// `[rows][cols]` → `[cols][rows]`, in 8 × 8 blocks.
fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const B: usize = 8;
    let mut t = vec![0.0f32; rows * cols];
    for r0 in (0..rows).step_by(B) {
        for c0 in (0..cols).step_by(B) {
            for r in r0..(r0 + B).min(rows) {
                for c in c0..(c0 + B).min(cols) {
                    t[c * rows + r] = x[r * cols + c];
                }
            }
        }
    }
    t
}

/// A matrix read through strides: element `(r, p)` is `data[r·row + p·col]`.
#[derive(Clone, Copy)]
struct Strided<'a> {
    data: &'a [f32],
    row: usize,
    col: usize,
}

/// `c[m][n] += a[m][k]·b[k][n]` (`c` and `b` row-major, `a` strided).
fn gemm(c: &mut [f32], a: Strided, b: &[f32], m: usize, k: usize, n: usize) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(c.len() >= m * n && b.len() >= k * n, "gemm: c or b is too short");
    assert!((m - 1) * a.row + (k - 1) * a.col < a.data.len(), "gemm: a is too short");
    for p0 in (0..k).step_by(KC) {
        let block = Block { p0, p1: (p0 + KC).min(k), n };
        let mut r = 0;
        while r + MR <= m {
            rows::<MR>(c, a, b, r, block);
            r += MR;
        }
        match m - r {
            0 => {}
            1 => rows::<1>(c, a, b, r, block),
            2 => rows::<2>(c, a, b, r, block),
            _ => unreachable!("MR is 3"),
        }
    }
}

/// The reduction steps `p0..p1` of a product whose `c` and `b` are `n` wide.
#[derive(Clone, Copy)]
struct Block {
    p0: usize,
    p1: usize,
    n: usize,
}

/// Rows `r0..r0 + R` of `c` over one block: tiles of [`NR`] columns, then of 4, then single
/// columns (the same order of operations in each).
#[inline(always)]
fn rows<const R: usize>(c: &mut [f32], a: Strided, b: &[f32], r0: usize, block: Block) {
    let n = block.n;
    let mut j = 0;
    while j + NR <= n {
        // SAFETY: `gemm` checked that c holds m·n values, b k·n and a every (r, p) with
        // r < m, p < k; here r0 + R <= m, j + NR <= n and p1 <= k.
        unsafe { tile::<R, { NR / 4 }>(c, a, b, r0, j, block) };
        j += NR;
    }
    while j + 4 <= n {
        // SAFETY: as above, with j + 4 <= n.
        unsafe { tile::<R, 1>(c, a, b, r0, j, block) };
        j += 4;
    }
    for j in j..n {
        for r in r0..r0 + R {
            let mut acc = c[r * n + j];
            for p in block.p0..block.p1 {
                acc += a.data[r * a.row + p * a.col] * b[p * n + j];
            }
            c[r * n + j] = acc;
        }
    }
}

/// One tile: rows `r0..r0 + R`, columns `j..j + 4V`, reduction steps `p0..p1`.
///
/// # Safety
/// `c` holds rows `r0..r0 + R` of width `n` and `b` rows `p0..p1` of width `n`, both with
/// `j + 4V <= n`; `a` holds `(r, p)` for those rows and steps.
#[inline(always)]
unsafe fn tile<const R: usize, const V: usize>(
    c: &mut [f32],
    a: Strided,
    b: &[f32],
    r0: usize,
    j: usize,
    block: Block,
) {
    let Block { p0, p1, n } = block;
    let cp = c.as_mut_ptr();
    let mut acc = [[F4::splat(0.0); V]; R];
    for (r, row) in acc.iter_mut().enumerate() {
        for (v, x) in row.iter_mut().enumerate() {
            *x = F4::load(cp.add((r0 + r) * n + j + 4 * v));
        }
    }
    let ap = a.data.as_ptr().add(r0 * a.row);
    let bp = b.as_ptr().add(j);
    for p in p0..p1 {
        let bv: [F4; V] = std::array::from_fn(|v| F4::load(bp.add(p * n + 4 * v)));
        let ar = ap.add(p * a.col);
        for (r, row) in acc.iter_mut().enumerate() {
            let s = F4::splat(*ar.add(r * a.row));
            for (x, &bv) in row.iter_mut().zip(&bv) {
                *x = x.mul_add(s, bv);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, x) in row.iter().enumerate() {
            x.store(cp.add((r0 + r) * n + j + 4 * v));
        }
    }
}

/// Four f32 lanes: simd128 on wasm32, elsewhere an array LLVM keeps in vector registers.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod lanes {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct F4(v128);

    impl F4 {
        #[inline(always)]
        pub fn splat(x: f32) -> F4 {
            F4(f32x4_splat(x))
        }

        /// # Safety
        /// `p` points at 4 readable f32 (no alignment needed).
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> F4 {
            F4(v128_load(p as *const v128))
        }

        /// # Safety
        /// `p` points at 4 writable f32 (no alignment needed).
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }

        /// `self + a·b`, rounded after the product and after the sum.
        #[inline(always)]
        pub fn mul_add(self, a: F4, b: F4) -> F4 {
            F4(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod lanes {
    #[derive(Clone, Copy)]
    pub struct F4([f32; 4]);

    impl F4 {
        #[inline(always)]
        pub fn splat(x: f32) -> F4 {
            F4([x; 4])
        }

        /// # Safety
        /// `p` points at 4 readable f32.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> F4 {
            F4(core::ptr::read_unaligned(p as *const [f32; 4]))
        }

        /// # Safety
        /// `p` points at 4 writable f32.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            core::ptr::write_unaligned(p as *mut [f32; 4], self.0)
        }

        /// `self + a·b`, rounded after the product and after the sum.
        #[inline(always)]
        pub fn mul_add(self, a: F4, b: F4) -> F4 {
            F4(std::array::from_fn(|l| self.0[l] + a.0[l] * b.0[l]))
        }
    }
}

use lanes::F4;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    fn filled(len: usize, seed: u64) -> Vec<f32> {
        let mut x = vec![0.0f32; len];
        Rng::new(seed).fill_normal(&mut x, 1.0);
        x
    }

    /// The largest `|got − want|` relative to `Σ|terms|` of each output (the size of an f32
    /// sum's rounding error).
    fn worst(got: &[f32], want: &[(f64, f64)]) -> f64 {
        got.iter().zip(want).map(|(&g, &(w, scale))| (g as f64 - w).abs() / scale.max(1e-30)).fold(0.0, f64::max)
    }

    /// Odd shapes (every edge path), exact multiples of the tile and block, and a reduction
    /// longer than one block.
    const SHAPES: [(usize, usize, usize); 6] =
        [(7, 13, 29), (1, 1, 1), (MR, KC, NR), (2 * MR, 2 * KC, 3 * NR), (9, 300, 37), (5, 3, 4)];

    #[test]
    fn forward_matches_float64() {
        for (s, &(n, i, o)) in SHAPES.iter().enumerate() {
            let (inp, w, bias) = (filled(n * i, s as u64), filled(i * o, 100 + s as u64), filled(o, 200 + s as u64));
            for with_bias in [false, true] {
                let mut out = vec![f32::NAN; n * o];
                matmul_forward(&mut out, &inp, &w, with_bias.then_some(&bias[..]), n, i, o);
                let want: Vec<(f64, f64)> = (0..n * o)
                    .map(|e| {
                        let (r, c) = (e / o, e % o);
                        let b = if with_bias { bias[c] as f64 } else { 0.0 };
                        let terms = (0..i).map(|k| inp[r * i + k] as f64 * w[k * o + c] as f64);
                        (b + terms.clone().sum::<f64>(), b.abs() + terms.map(f64::abs).sum::<f64>())
                    })
                    .collect();
                let err = worst(&out, &want);
                assert!(err < 1e-6 * (i as f64).sqrt().max(1.0), "n={n} i={i} o={o} bias={with_bias}: {err:e}");
            }
        }
    }

    #[test]
    fn backward_matches_float64() {
        for (s, &(n, i, o)) in SHAPES.iter().enumerate() {
            let (inp, w, dout) =
                (filled(n * i, s as u64), filled(i * o, 100 + s as u64), filled(n * o, 300 + s as u64));
            // Start from nonzero gradients: the backward pass adds to them.
            let (dinp0, dw0, db0) = (filled(n * i, 400 + s as u64), filled(i * o, 500 + s as u64), filled(o, 600));
            let (mut dinp, mut dw, mut db) = (dinp0.clone(), dw0.clone(), db0.clone());
            matmul_backward(&mut dinp, &mut dw, Some(&mut db), &dout, &inp, &w, n, i, o);
            let want_dinp: Vec<(f64, f64)> = (0..n * i)
                .map(|e| {
                    let (r, k) = (e / i, e % i);
                    let terms = (0..o).map(|c| dout[r * o + c] as f64 * w[k * o + c] as f64);
                    let start = dinp0[e] as f64;
                    (start + terms.clone().sum::<f64>(), start.abs() + terms.map(f64::abs).sum::<f64>())
                })
                .collect();
            let want_dw: Vec<(f64, f64)> = (0..i * o)
                .map(|e| {
                    let (k, c) = (e / o, e % o);
                    let terms = (0..n).map(|r| inp[r * i + k] as f64 * dout[r * o + c] as f64);
                    let start = dw0[e] as f64;
                    (start + terms.clone().sum::<f64>(), start.abs() + terms.map(f64::abs).sum::<f64>())
                })
                .collect();
            let want_db: Vec<(f64, f64)> = (0..o)
                .map(|c| {
                    let terms = (0..n).map(|r| dout[r * o + c] as f64);
                    (db0[c] as f64 + terms.clone().sum::<f64>(), db0[c].abs() as f64 + terms.map(f64::abs).sum::<f64>())
                })
                .collect();
            let tol = |len: usize| 1e-6 * (len as f64).sqrt().max(1.0);
            for (name, got, want, len) in
                [("dinp", &dinp, &want_dinp, o), ("dw", &dw, &want_dw, n), ("dbias", &db, &want_db, n)]
            {
                let err = worst(got, want);
                assert!(err < tol(len), "{name}, n={n} i={i} o={o}: {err:e}");
            }
        }
    }

    /// Each output is its start plus the products in order, rounded once each: the tiled
    /// kernel gives exactly the bits of the plain loop in that order.
    #[test]
    fn tiles_give_the_bits_of_the_plain_loop() {
        let (n, i, o) = (11, 2 * KC + 7, 2 * NR + 5);
        let (inp, w, bias) = (filled(n * i, 1), filled(i * o, 2), filled(o, 3));
        let mut out = vec![0.0f32; n * o];
        matmul_forward(&mut out, &inp, &w, Some(&bias), n, i, o);
        for r in 0..n {
            for c in 0..o {
                let mut acc = bias[c];
                for k in 0..i {
                    acc += inp[r * i + k] * w[k * o + c];
                }
                assert_eq!(out[r * o + c].to_bits(), acc.to_bits(), "({r}, {c})");
            }
        }
    }
}
