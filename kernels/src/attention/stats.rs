//! Statistics of attention rows, for the lab: how peaked, how long-tailed, how much mass the
//! first key (the "attention sink") takes. And the length sweep: the mean of each statistic
//! as the sequence grows from 1× to 16× a base length.

use super::{attention_forward, Attention, AttentionError, Extras, Mask, Shape, Variant};

/// Statistics of one row of weights over its visible keys.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RowStats {
    /// `−Σ A ln A` (nats), with `0 ln 0 = 0`. Meaningful for normalised variants.
    pub entropy: f32,
    pub max_weight: f32,
    /// Weight on key 0.
    pub sink: f32,
    /// `Σ A`: 1 for normalised variants, anything for sigmoid and ReLU.
    pub row_sum: f32,
    /// `#{j : A_ij > 1/N_i}`: how many keys get more than a uniform share.
    pub support: u32,
}

impl RowStats {
    pub fn of(row: &[f32]) -> RowStats {
        let uniform = 1.0 / row.len() as f32;
        let mut s = RowStats { sink: row.first().copied().unwrap_or(0.0), ..RowStats::default() };
        let mut entropy = 0.0f64;
        let mut sum = 0.0f64;
        for &a in row {
            if a > 0.0 {
                entropy -= a as f64 * (a as f64).ln();
            }
            sum += a as f64;
            s.max_weight = s.max_weight.max(a);
            s.support += u32::from(a > uniform);
        }
        s.entropy = entropy as f32;
        s.row_sum = sum as f32;
        s
    }
}

/// Mean row statistics at one sequence length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SweepPoint {
    pub n: usize,
    pub entropy: f64,
    pub max_weight: f64,
    pub sink: f64,
    pub row_sum: f64,
    pub support: f64,
}

/// For each `factor`, draws `(q, k, v)` of length `base_n · factor` (each `[n, d]`) from
/// `inputs`, runs the forward pass and averages the row statistics over all rows.
pub fn length_sweep(
    variant: Variant,
    mask: Mask,
    d: usize,
    base_n: usize,
    factors: &[usize],
    mut inputs: impl FnMut(usize) -> (Vec<f32>, Vec<f32>, Vec<f32>),
) -> Result<Vec<SweepPoint>, AttentionError> {
    factors
        .iter()
        .map(|&factor| {
            let n = base_n * factor;
            let (q, k, v) = inputs(n);
            let mut out = vec![0.0; n * d];
            let mut stats = vec![RowStats::default(); n];
            attention_forward(
                &Attention { shape: Shape::single(n, d), variant, mask },
                &q,
                &k,
                &v,
                &mut out,
                Extras { weights: None, stats: Some(&mut stats) },
            )?;
            let mean = |f: fn(&RowStats) -> f64| stats.iter().map(f).sum::<f64>() / n as f64;
            Ok(SweepPoint {
                n,
                entropy: mean(|s| s.entropy as f64),
                max_weight: mean(|s| s.max_weight as f64),
                sink: mean(|s| s.sink as f64),
                row_sum: mean(|s| s.row_sum as f64),
                support: mean(|s| s.support as f64),
            })
        })
        .collect()
}
