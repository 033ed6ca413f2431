//! Looking at attention weights without the product with the values: the whole head's
//! weights, scores and row statistics ([`attention_probe`], half the work of
//! [`super::attention_forward`]), one row ([`attention_row`], O(n·d)) and one cell's score
//! ([`attention_score`], O(d)). docs/MATH.md, “Softmax attention” (and each normaliser's
//! section).
//!
//! Shapes: `q`, `k` are `[batch, heads, n, d]` for the probe and `[n, d]` (one head) for a row or
//! a cell; weights and scores `[batch, heads, n, n]` (masked entries 0); statistics
//! `[batch, heads, n]`.

use super::{
    check, check_len, check_queries_keys, record_rows,
    scores::{row_scale, transform_of, Scores, Transform, QK_NORM_EPS},
    weight_blocks, weights_from_scores, Attention, AttentionError, Mask, RowStats, Scratch, Shape, Variant,
};
use crate::vector::{dot, scale};

/// What [`attention_probe`] writes; each is optional.
#[derive(Default)]
pub struct Probe<'a> {
    /// `[batch, heads, n, n]`: the weights, masked entries 0.
    pub weights: Option<&'a mut [f32]>,
    /// `[batch, heads, n, n]`: the scores the normaliser saw (`c_i · q'_i·k'_j`), masked 0.
    pub scores: Option<&'a mut [f32]>,
    /// `[batch, heads, n]`: statistics of each row's weights.
    pub stats: Option<&'a mut [RowStats]>,
}

/// The attention weights alone, for looking at them: the same scores and normalisers as
/// [`attention_forward`](super::attention_forward), without the product with the values (half the work).
pub fn attention_probe(
    attention: &Attention,
    q: &[f32],
    k: &[f32],
    mut probe: Probe<'_>,
) -> Result<(), AttentionError> {
    let Attention { shape, variant, mask } = *attention;
    check_queries_keys(attention, q, k)?;
    for (name, buf) in
        [("weights", probe.weights.as_deref().map(<[f32]>::len)), ("scores", probe.scores.as_deref().map(<[f32]>::len))]
    {
        if let Some(got) = buf {
            check_len(name, got, shape.weights_len())?;
        }
    }
    if let Some(s) = &probe.stats {
        check_len("stats", s.len(), shape.rows())?;
    }
    let Shape { n, d, .. } = shape;
    let mut scratch = Scratch::new(n);
    for h in 0..shape.batch * shape.heads {
        let (qh, kh) = (&q[h * n * d..(h + 1) * n * d], &k[h * n * d..(h + 1) * n * d]);
        let mut weights = probe.weights.as_deref_mut().map(|w| &mut w[h * n * n..(h + 1) * n * n]);
        let scores = probe.scores.as_deref_mut().map(|s| &mut s[h * n * n..(h + 1) * n * n]);
        let mut stats = probe.stats.as_deref_mut().map(|s| &mut s[h * n..(h + 1) * n]);
        weight_blocks(variant, mask, n, d, qh, kh, &mut scratch, scores, |i0, rows, _, block| {
            record_rows(n, i0, rows, mask, block, weights.as_deref_mut(), stats.as_deref_mut());
        });
    }
    Ok(())
}

/// The score row `i`'s normaliser sees for key `j` (`c_i · q'_i·k'_j`) in a single head
/// (`q`, `k` are `[n, d]`), or `None` where the mask hides key `j` from row `i`. O(d): for
/// reading one cell without holding the n×n scores. Equal to [`attention_probe`]'s scores up to
/// the order of the sums.
pub fn attention_score(
    variant: Variant,
    mask: Mask,
    d: usize,
    q: &[f32],
    k: &[f32],
    i: usize,
    j: usize,
) -> Option<f32> {
    let n = q.len() / d.max(1);
    if i >= n || j >= n || k.len() != q.len() || j >= mask.visible(i, n) {
        return None;
    }
    let (qi, kj) = (&q[i * d..(i + 1) * d], &k[j * d..(j + 1) * d]);
    let s = match transform_of(variant) {
        Transform::Identity => dot(qi, kj),
        Transform::L2Norm => dot(qi, kj) / ((dot(qi, qi) + QK_NORM_EPS).sqrt() * (dot(kj, kj) + QK_NORM_EPS).sqrt()),
        Transform::EluPlusOne => {
            let phi = |v: f32| if v > 0.0 { v + 1.0 } else { v.exp() };
            qi.iter().zip(kj).map(|(&a, &b)| phi(a) * phi(b)).sum()
        }
    };
    Some(s * row_scale(variant, d, mask.visible(i, n)))
}

/// The weights of query row `i` of a single head (`q`, `k` are `[n, d]`) into `row`
/// (`[n]`, masked keys 0): one row of [`attention_probe`] at O(n·d) cost.
pub fn attention_row(
    variant: Variant,
    mask: Mask,
    d: usize,
    q: &[f32],
    k: &[f32],
    i: usize,
    row: &mut [f32],
) -> Result<(), AttentionError> {
    let n = row.len();
    check(Shape::single(n, d), variant)?;
    check_len("q", q.len(), n * d)?;
    check_len("k", k.len(), n * d)?;
    if i >= n {
        return Err(AttentionError::Parameter(format!("row {i}: must be below n = {n}")));
    }
    let scores = Scores::new(variant, n, d, q, k);
    let visible = mask.visible(i, n);
    let qi = &scores.q[i * d..(i + 1) * d];
    for (j, s) in row[..visible].iter_mut().enumerate() {
        *s = dot(qi, &scores.k[j * d..(j + 1) * d]);
    }
    row[visible..].fill(0.0);
    let mut aux = vec![0.0f32; visible];
    let row = &mut row[..visible];
    scale(row, row_scale(variant, d, visible));
    weights_from_scores(variant, n, i, row, &mut aux);
    Ok(())
}
