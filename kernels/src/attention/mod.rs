//! Attention with a choice of normaliser: softmax (three algorithms, and a naive teaching
//! variant), softplus (LSSA, LSSAR), sigmoid, ReLU and linear. Math, defaults and traps:
//! docs/MATH.md, “Softmax attention” and the sections after it; each normaliser's file names
//! its paper and its section.
//!
//! Shapes, for every function here: `q`, `k`, `v`, `out` and their gradients are
//! `[batch, heads, n, d]` row-major f32; the optional weights are `[batch, heads, n, n]`; the
//! optional row statistics are `[batch, heads, n]`. Row `i` (0-based) of a causal mask sees keys
//! `j <= i` (`N_i = i + 1` keys); a full mask sees all `n` (`N_i = n`).
//!
//! Query rows are computed four at a time: their scores go into a block of four row buffers
//! (from keys packed in transposed blocks, see [`crate::vector::scores_block`]), each row's
//! normaliser turns its scores into weights in place, and `out_i = Σ_j A_ij v_j`. Extra memory
//! is O(n·d) (transformed and packed keys and queries) plus O(n); the n×n weights exist only
//! when the caller asks for them. The online softmax goes further and never holds a row: it streams the keys
//! with a running max and sum (the form that tiles). Backward recomputes each row from q, k, v.

pub mod linear;
mod probe;
pub mod relu;
mod scores;
pub mod sigmoid;
pub mod softmax;
pub mod softplus;
pub mod stats;
pub mod synthetic;

use std::fmt;

pub use probe::{attention_probe, attention_row, attention_score, Probe};
pub use scores::QK_NORM_EPS;
pub use softmax::SoftmaxAlgorithm;
pub use softplus::{Lssa, LssaScale};
pub use stats::RowStats;

use crate::vector::{axpy4, axpy4_pair, pack_keys, scale, scores_block, weighted_sum_block, ROWS};
use scores::{row_scale, Scores};

/// How scores become weights.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Variant {
    /// `softmax(q·k/√d)`, by the chosen algorithm.
    Softmax(SoftmaxAlgorithm),
    /// Length-scaled softplus attention (Gao & Spratling 2025).
    Lssa(Lssa),
    /// LSSA re-weighted by `ReLU(N_i·A − O_i)^p` (Gao & Spratling 2025); `p` default 15.
    Lssar { lssa: Lssa, p: f32 },
    /// `σ(q·k/√d + b)`, no normalisation (Ramapuram et al. 2025); `None` means `b = −ln n`.
    Sigmoid { bias: Option<f32> },
    /// `ReLU(q·k/√d) / n`, no normalisation.
    Relu,
    /// `φ(q)·φ(k) / Σ φ(q)·φ(k)` with `φ = elu + 1` (Katharopoulos et al. 2020).
    Linear,
}

impl Variant {
    /// LSSAR with the paper's defaults (LSSA with q/k norm and `ln d · ln N_i`, `p = 15`).
    pub const LSSAR_DEFAULT: Variant = Variant::Lssar { lssa: Lssa::DEFAULT, p: 15.0 };

    /// Whether each row's weights sum to 1.
    pub fn is_normalised(&self) -> bool {
        !matches!(self, Variant::Sigmoid { .. } | Variant::Relu)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mask {
    Causal,
    Full,
}

impl Mask {
    /// Number of keys row `i` sees.
    #[inline]
    pub fn visible(self, i: usize, n: usize) -> usize {
        match self {
            Mask::Causal => i + 1,
            Mask::Full => n,
        }
    }
}

/// One attention computation: the shape, the normaliser and the mask. The one value a caller
/// passes to either direction, so that sweeping variants is a loop over `variant`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Attention {
    pub shape: Shape,
    pub variant: Variant,
    pub mask: Mask,
}

/// Where the backward pass writes: `∂L/∂q`, `∂L/∂k`, `∂L/∂v`, each `[batch, heads, n, d]`.
pub struct Gradients<'a> {
    pub dq: &'a mut [f32],
    pub dk: &'a mut [f32],
    pub dv: &'a mut [f32],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub batch: usize,
    pub heads: usize,
    pub n: usize,
    pub d: usize,
}

impl Shape {
    /// One head of one sequence.
    pub fn single(n: usize, d: usize) -> Shape {
        Shape { batch: 1, heads: 1, n, d }
    }
    pub fn qkv_len(&self) -> usize {
        self.batch * self.heads * self.n * self.d
    }
    pub fn weights_len(&self) -> usize {
        self.batch * self.heads * self.n * self.n
    }
    pub fn rows(&self) -> usize {
        self.batch * self.heads * self.n
    }
}

/// A request the kernels cannot carry out; the message names the value and what is allowed.
#[derive(Clone, Debug, PartialEq)]
pub enum AttentionError {
    /// A buffer has the wrong length for the shape.
    Length { buffer: &'static str, expected: usize, got: usize },
    /// A parameter is outside its range.
    Parameter(String),
    /// The naive softmax is a teaching variant with no backward pass.
    NoBackward,
}

impl fmt::Display for AttentionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttentionError::Length { buffer, expected, got } => {
                write!(f, "{buffer} has {got} values; the shape needs {expected}")
            }
            AttentionError::Parameter(why) => f.write_str(why),
            AttentionError::NoBackward => f.write_str("the naive softmax is forward-only (a teaching variant)"),
        }
    }
}

impl std::error::Error for AttentionError {}

fn check_len(buffer: &'static str, got: usize, expected: usize) -> Result<(), AttentionError> {
    if got == expected {
        Ok(())
    } else {
        Err(AttentionError::Length { buffer, expected, got })
    }
}

/// Checks a shape and the variant's parameters (also used by the GPU path).
pub(crate) fn check(shape: Shape, variant: Variant) -> Result<(), AttentionError> {
    if shape.n == 0 || shape.d == 0 || shape.batch == 0 || shape.heads == 0 {
        return Err(AttentionError::Parameter(format!(
            "shape {}×{}×{}×{}: every dimension must be at least 1",
            shape.batch, shape.heads, shape.n, shape.d
        )));
    }
    match variant {
        Variant::Lssar { p, .. } if !(1.0..=64.0).contains(&p) => {
            Err(AttentionError::Parameter(format!("p={p}: must be in 1..64")))
        }
        Variant::Sigmoid { bias: Some(b) } if !b.is_finite() => {
            Err(AttentionError::Parameter(format!("b={b}: must be a finite number")))
        }
        _ => Ok(()),
    }
}

/// Checks the shape, the variant's parameters and the lengths of `q` and `k`.
fn check_queries_keys(attention: &Attention, q: &[f32], k: &[f32]) -> Result<(), AttentionError> {
    check(attention.shape, attention.variant)?;
    let len = attention.shape.qkv_len();
    check_len("q", q.len(), len)?;
    check_len("k", k.len(), len)
}

/// What a forward pass writes besides `out`.
#[derive(Default)]
pub struct Extras<'a> {
    /// `[batch, heads, n, n]`: the weights, masked entries 0.
    pub weights: Option<&'a mut [f32]>,
    /// `[batch, heads, n]`: statistics of each row's weights.
    pub stats: Option<&'a mut [RowStats]>,
}

/// Turns a row of scores into weights in place; `aux` is scratch of the same length.
fn weights_from_scores(variant: Variant, n: usize, i: usize, row: &mut [f32], aux: &mut [f32]) {
    match variant {
        Variant::Softmax(algorithm) => softmax::row_forward(algorithm, row),
        Variant::Lssa(_) => softplus::lssa_row_forward(row),
        Variant::Lssar { p, .. } => softplus::lssar_row_forward(row, aux, i, p),
        Variant::Sigmoid { bias } => sigmoid::row_forward(row, sigmoid::bias_or_default(bias, n)),
        Variant::Relu => relu::row_forward(row, n),
        Variant::Linear => linear::row_forward(row),
    }
}

/// Forward attention: `out = A v` with the variant's weights `A`, and the extras asked for.
pub fn attention_forward(
    attention: &Attention,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    out: &mut [f32],
    mut extras: Extras<'_>,
) -> Result<(), AttentionError> {
    let Attention { shape, variant, mask } = *attention;
    check_queries_keys(attention, q, k)?;
    let len = shape.qkv_len();
    check_len("v", v.len(), len)?;
    check_len("out", out.len(), len)?;
    if let Some(w) = &extras.weights {
        check_len("weights", w.len(), shape.weights_len())?;
    }
    if let Some(s) = &extras.stats {
        check_len("stats", s.len(), shape.rows())?;
    }
    let Shape { n, d, .. } = shape;
    let mut out_block = vec![0.0f32; ROWS * d];
    let mut scratch = Scratch::new(n);
    for h in 0..shape.batch * shape.heads {
        let (qh, kh, vh) =
            (&q[h * n * d..(h + 1) * n * d], &k[h * n * d..(h + 1) * n * d], &v[h * n * d..(h + 1) * n * d]);
        let outh = &mut out[h * n * d..(h + 1) * n * d];
        let mut weights = extras.weights.as_deref_mut().map(|w| &mut w[h * n * n..(h + 1) * n * n]);
        let mut stats = extras.stats.as_deref_mut().map(|s| &mut s[h * n..(h + 1) * n]);
        if variant == Variant::Softmax(SoftmaxAlgorithm::Online) && weights.is_none() && stats.is_none() {
            softmax::online_fused_forward(mask, n, d, qh, kh, vh, outh);
            continue;
        }
        weight_blocks(variant, mask, n, d, qh, kh, &mut scratch, None, |i0, rows, block_keys, block| {
            record_rows(n, i0, rows, mask, block, weights.as_deref_mut(), stats.as_deref_mut());
            weighted_sum_block(block, n, vh, d, block_keys, &mut out_block);
            outh[i0 * d..(i0 + rows) * d].copy_from_slice(&out_block[..rows * d]);
        });
    }
    Ok(())
}

/// Copies the weights of the rows `i0..i0 + rows` of a block (row stride `n`) into `weights`
/// and their statistics into `stats`, where asked.
fn record_rows(
    n: usize,
    i0: usize,
    rows: usize,
    mask: Mask,
    block: &[f32],
    mut weights: Option<&mut [f32]>,
    mut stats: Option<&mut [RowStats]>,
) {
    for r in 0..rows {
        let i = i0 + r;
        let visible = mask.visible(i, n);
        let row = &block[r * n..r * n + visible];
        if let Some(w) = weights.as_deref_mut() {
            let wi = &mut w[i * n..(i + 1) * n];
            wi[..visible].copy_from_slice(row);
            wi[visible..].fill(0.0);
        }
        if let Some(s) = stats.as_deref_mut() {
            s[i] = RowStats::of(row);
        }
    }
}

/// The weights of one head, four query rows at a time: calls `per_block(i0, rows, block_keys,
/// block)` with the weights of rows `i0..i0 + rows` in `block` (row stride `n`, the first
/// `block_keys` columns set, masked keys 0). Where `scores` is given (`[n, n]`) it receives the
/// scores each row's normaliser saw (`c_i · q'_i·k'_j`; masked entries 0).
#[allow(clippy::too_many_arguments)]
fn weight_blocks(
    variant: Variant,
    mask: Mask,
    n: usize,
    d: usize,
    qh: &[f32],
    kh: &[f32],
    scratch: &mut Scratch,
    mut scores_out: Option<&mut [f32]>,
    mut per_block: impl FnMut(usize, usize, usize, &mut [f32]),
) {
    let Scratch { block, aux } = scratch;
    let scores = Scores::new(variant, n, d, qh, kh);
    // Keys packed in transposed blocks, so the blocked score kernel runs SIMD across keys.
    let packed = pack_keys(&scores.k, n, d);
    for i0 in (0..n).step_by(ROWS) {
        let rows = ROWS.min(n - i0);
        let block_keys = mask.visible(i0 + rows - 1, n);
        // A short last block repeats its last row; those results are not used.
        let q_rows: [&[f32]; ROWS] = std::array::from_fn(|r| {
            let i = (i0 + r).min(n - 1);
            &scores.q[i * d..(i + 1) * d]
        });
        scores_block(q_rows, &packed, &scores.k, n, block_keys, block, n);
        for r in 0..ROWS {
            let row = &mut block[r * n..r * n + block_keys];
            if r >= rows {
                row.fill(0.0);
                continue;
            }
            let i = i0 + r;
            let visible = mask.visible(i, n);
            let (row, hidden) = row.split_at_mut(visible);
            hidden.fill(0.0); // keys of this block that row i must not see
            scale(row, row_scale(variant, d, visible));
            if let Some(s) = scores_out.as_deref_mut() {
                let si = &mut s[i * n..(i + 1) * n];
                si[..visible].copy_from_slice(row);
                si[visible..].fill(0.0);
            }
            weights_from_scores(variant, n, i, row, &mut aux[..visible]);
        }
        per_block(i0, rows, block_keys, block);
    }
}

/// The row buffers of [`weight_blocks`], allocated once per call and reused for every head.
struct Scratch {
    /// [`ROWS`] rows of scores, then weights.
    block: Vec<f32>,
    /// The normaliser's scratch row.
    aux: Vec<f32>,
}

impl Scratch {
    fn new(n: usize) -> Scratch {
        Scratch { block: vec![0.0; ROWS * n], aux: vec![0.0; n] }
    }
}

/// Backward attention: given `dout = ∂L/∂out`, writes the gradients (overwriting them).
pub fn attention_backward(
    attention: &Attention,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    dout: &[f32],
    grads: Gradients<'_>,
) -> Result<(), AttentionError> {
    let Attention { shape, variant, mask } = *attention;
    let Gradients { dq, dk, dv } = grads;
    check(shape, variant)?;
    if variant == Variant::Softmax(SoftmaxAlgorithm::Naive) {
        return Err(AttentionError::NoBackward);
    }
    let len = shape.qkv_len();
    for (name, buf) in [("q", q.len()), ("k", k.len()), ("v", v.len()), ("dout", dout.len())] {
        check_len(name, buf, len)?;
    }
    for (name, buf) in [("dq", dq.len()), ("dk", dk.len()), ("dv", dv.len())] {
        check_len(name, buf, len)?;
    }
    let Shape { n, d, .. } = shape;
    // Per block of ROWS query rows: scaled scores, weights, the normaliser's scratch, and dA
    // (which becomes dS, the gradient with respect to the scores).
    let (mut s_block, mut a_block) = (vec![0.0f32; ROWS * n], vec![0.0f32; ROWS * n]);
    let (mut aux, mut ds_block) = (vec![0.0f32; n], vec![0.0f32; ROWS * n]);
    let mut dq_block = vec![0.0f32; ROWS * d];
    dq.fill(0.0);
    dk.fill(0.0);
    dv.fill(0.0);
    for h in 0..shape.batch * shape.heads {
        let r = h * n * d..(h + 1) * n * d;
        let (qh, kh, vh, douth) = (&q[r.clone()], &k[r.clone()], &v[r.clone()], &dout[r.clone()]);
        let (dqh, dkh, dvh) = (&mut dq[r.clone()], &mut dk[r.clone()], &mut dv[r]);
        let scores = Scores::new(variant, n, d, qh, kh);
        let (packed_k, packed_v) = (pack_keys(&scores.k, n, d), pack_keys(vh, n, d));
        for i0 in (0..n).step_by(ROWS) {
            let rows = ROWS.min(n - i0);
            let block_keys = mask.visible(i0 + rows - 1, n);
            // A short last block repeats its last row with zero weights and gradients.
            let row_of = |r: usize| (i0 + r).min(n - 1);
            let q_rows: [&[f32]; ROWS] = std::array::from_fn(|r| &scores.q[row_of(r) * d..(row_of(r) + 1) * d]);
            let dout_rows: [&[f32]; ROWS] = std::array::from_fn(|r| &douth[row_of(r) * d..(row_of(r) + 1) * d]);
            scores_block(q_rows, &packed_k, &scores.k, n, block_keys, &mut s_block, n);
            scores_block(dout_rows, &packed_v, vh, n, block_keys, &mut ds_block, n);
            for r in 0..ROWS {
                let (s, a, ds) = (
                    &mut s_block[r * n..r * n + block_keys],
                    &mut a_block[r * n..r * n + block_keys],
                    &mut ds_block[r * n..r * n + block_keys],
                );
                let i = i0 + r;
                let visible = if r < rows { mask.visible(i, n) } else { 0 };
                a[visible..].fill(0.0);
                ds[visible..].fill(0.0);
                if visible == 0 {
                    continue;
                }
                let (s, a, da) = (&mut s[..visible], &mut a[..visible], &mut ds[..visible]);
                let c = row_scale(variant, d, visible);
                scale(s, c);
                a.copy_from_slice(s);
                let aux = &mut aux[..visible];
                weights_from_scores(variant, n, i, a, aux);
                match variant {
                    Variant::Softmax(_) => softmax::row_backward(a, da),
                    Variant::Lssa(_) => softplus::lssa_row_backward(s, a, da),
                    Variant::Lssar { p, .. } => softplus::lssar_row_backward(s, a, aux, da, i, p),
                    Variant::Sigmoid { bias } => sigmoid::row_backward(s, da, sigmoid::bias_or_default(bias, n)),
                    Variant::Relu => relu::row_backward(s, da, n),
                    Variant::Linear => linear::row_backward(s, a, da),
                }
                // s_ij = c_i · q'_i·k'_j: the scale goes into dS once.
                scale(da, c);
            }
            // dq'_i = Σ_j dS_ij k'_j, for the rows of the block.
            weighted_sum_block(&ds_block, n, &scores.k, d, block_keys, &mut dq_block);
            dqh[i0 * d..(i0 + rows) * d].copy_from_slice(&dq_block[..rows * d]);
            // dv_j += Σ_r A_rj dout_r and dk'_j += Σ_r dS_rj q'_r: each key's rows are loaded
            // and stored once for the whole block.
            let column = |m: &[f32], j: usize| -> [f32; ROWS] { std::array::from_fn(|r| m[r * n + j]) };
            let mut j = 0;
            while j + 1 < block_keys {
                // Two keys at a time share the loads of the four dout and q' rows.
                let (dv0, dv1) = dvh[j * d..(j + 2) * d].split_at_mut(d);
                axpy4_pair(dv0, dv1, column(&a_block, j), column(&a_block, j + 1), dout_rows);
                let (dk0, dk1) = dkh[j * d..(j + 2) * d].split_at_mut(d);
                axpy4_pair(dk0, dk1, column(&ds_block, j), column(&ds_block, j + 1), q_rows);
                j += 2;
            }
            if j < block_keys {
                axpy4(&mut dvh[j * d..(j + 1) * d], column(&a_block, j), dout_rows);
                axpy4(&mut dkh[j * d..(j + 1) * d], column(&ds_block, j), q_rows);
            }
        }
        scores.backward(variant, qh, kh, dqh, dkh);
    }
    Ok(())
}
