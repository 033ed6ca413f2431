//! Statistics of attention rows, for the lab: how peaked, how long-tailed, how much mass the
//! first key (the "attention sink") takes. And the length sweep: the mean of each statistic
//! as the sequence grows from 1× to 16× a base length; and the stability scan. docs/MATH.md,
//! “Row statistics”.

use crate::vector::ln_positive;

use super::{attention_probe, attention_row, Attention, AttentionError, Mask, Probe, Shape, Variant};

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

/// Weights per block of [`RowStats::of`]: each block is summed in f32 lanes and folded into f64
/// totals, so rounding does not grow with the row.
const STATS_BLOCK: usize = 1024;

impl RowStats {
    pub fn of(row: &[f32]) -> RowStats {
        let uniform = 1.0 / row.len() as f32;
        let mut s = RowStats { sink: row.first().copied().unwrap_or(0.0), ..RowStats::default() };
        let (mut entropy, mut sum) = (0.0f64, 0.0f64);
        for block in row.chunks(STATS_BLOCK) {
            // Eight lanes of (−a ln a, a, max, count above uniform), written so the loop vectorises.
            let (mut h, mut t, mut m, mut c) = ([0.0f32; 8], [0.0f32; 8], [0.0f32; 8], [0u32; 8]);
            let mut lanes = block.chunks_exact(8);
            for chunk in &mut lanes {
                for l in 0..8 {
                    let a = chunk[l];
                    let term = a * ln_positive(a);
                    h[l] -= if a > 0.0 { term } else { 0.0 };
                    t[l] += a;
                    m[l] = m[l].max(a);
                    c[l] += u32::from(a > uniform);
                }
            }
            for &a in lanes.remainder() {
                h[0] -= if a > 0.0 { a * ln_positive(a) } else { 0.0 };
                t[0] += a;
                m[0] = m[0].max(a);
                c[0] += u32::from(a > uniform);
            }
            entropy += h.iter().map(|&v| v as f64).sum::<f64>();
            sum += t.iter().map(|&v| v as f64).sum::<f64>();
            s.max_weight = m.iter().fold(s.max_weight, |x, &v| x.max(v));
            s.support += c.iter().sum::<u32>();
        }
        s.entropy = entropy as f32;
        s.row_sum = sum as f32;
        s
    }
}

/// Mean row statistics at one sequence length.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SweepPoint {
    pub n: usize,
    pub entropy: f64,
    pub max_weight: f64,
    pub sink: f64,
    pub row_sum: f64,
    pub support: f64,
    /// The weight the needle query gives the needle key, where the inputs have a needle.
    pub needle: Option<f64>,
}

impl SweepPoint {
    /// Means over the rows of one head.
    pub fn of(n: usize, stats: &[RowStats], needle: Option<f64>) -> SweepPoint {
        let mean = |f: fn(&RowStats) -> f64| stats.iter().map(f).sum::<f64>() / stats.len().max(1) as f64;
        SweepPoint {
            n,
            entropy: mean(|s| s.entropy as f64),
            max_weight: mean(|s| s.max_weight as f64),
            sink: mean(|s| s.sink as f64),
            row_sum: mean(|s| s.row_sum as f64),
            support: mean(|s| s.support as f64),
            needle,
        }
    }
}

/// For each `factor`, draws `q`, `k` (each `[n, d]`, `n = base_n · factor`) and the needle's
/// place (query row, key) from `inputs`, and averages the row statistics of the weights over
/// all rows. `on_point` is called after each length (for progress).
pub fn length_sweep(
    variant: Variant,
    mask: Mask,
    d: usize,
    base_n: usize,
    factors: &[usize],
    mut inputs: impl FnMut(usize) -> (Vec<f32>, Vec<f32>, Option<(usize, usize)>),
    mut on_point: impl FnMut(&SweepPoint),
) -> Result<Vec<SweepPoint>, AttentionError> {
    factors
        .iter()
        .map(|&factor| {
            let n = base_n * factor;
            let (q, k, needle) = inputs(n);
            let point = sweep_point(variant, mask, d, &q, &k, needle)?;
            on_point(&point);
            Ok(point)
        })
        .collect()
}

/// One point of a length sweep: the mean row statistics of `q`, `k` (each `[n, d]`) and the
/// weight at `needle` (query row, key) if given.
pub fn sweep_point(
    variant: Variant,
    mask: Mask,
    d: usize,
    q: &[f32],
    k: &[f32],
    needle: Option<(usize, usize)>,
) -> Result<SweepPoint, AttentionError> {
    let n = q.len() / d.max(1);
    let mut stats = vec![RowStats::default(); n];
    let attention = Attention { shape: Shape::single(n, d), variant, mask };
    attention_probe(&attention, q, k, Probe { stats: Some(&mut stats), ..Probe::default() })?;
    let needle = match needle {
        Some((i, j)) => {
            let mut row = vec![0.0f32; n];
            attention_row(variant, mask, d, q, k, i, &mut row)?;
            Some(row[j] as f64)
        }
        None => None,
    };
    Ok(SweepPoint::of(n, &stats, needle))
}

/// One variant at one logit scale: mean row statistics and how many rows were not finite.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StabilityPoint {
    pub scale: f32,
    /// Means over the rows that stayed finite (NaN when none did).
    pub max_weight: f64,
    pub row_sum: f64,
    pub entropy: f64,
    /// Rows whose weights contain NaN or an infinity, or (for a variant whose rows sum to 1)
    /// do not sum to 1: the naive softmax's sum can overflow while every term is finite, and
    /// then the whole row is 0.
    pub broken_rows: usize,
}

/// Multiplies the queries by each scale and reports each variant's weights: where the naive
/// softmax overflows (`e^s` is infinite in f32 once a score passes ~88.7), the stable
/// algorithms and softplus keep finite rows. `q`, `k` are `[n, d]`.
pub fn stability_sweep(
    variant: Variant,
    mask: Mask,
    d: usize,
    q: &[f32],
    k: &[f32],
    scales: &[f32],
) -> Result<Vec<StabilityPoint>, AttentionError> {
    scales.iter().map(|&scale| stability_point(variant, mask, d, q, k, scale)).collect()
}

fn stability_point(
    variant: Variant,
    mask: Mask,
    d: usize,
    q: &[f32],
    k: &[f32],
    scale: f32,
) -> Result<StabilityPoint, AttentionError> {
    let n = q.len() / d.max(1);
    let scaled: Vec<f32> = q.iter().map(|x| x * scale).collect();
    let mut weights = vec![0.0f32; n * n];
    let mut stats = vec![RowStats::default(); n];
    let attention = Attention { shape: Shape::single(n, d), variant, mask };
    attention_probe(
        &attention,
        &scaled,
        k,
        Probe { weights: Some(&mut weights), stats: Some(&mut stats), ..Probe::default() },
    )?;
    let broken = |row: &[f32]| {
        row.iter().any(|w| !w.is_finite())
            || (variant.is_normalised() && (row.iter().map(|&w| w as f64).sum::<f64>() - 1.0).abs() > 1e-3)
    };
    let broken_rows = weights.chunks_exact(n).filter(|row| broken(row)).count();
    let finite: Vec<RowStats> =
        stats.iter().zip(weights.chunks_exact(n)).filter(|(_, row)| !broken(row)).map(|(s, _)| *s).collect();
    // The means over the rows that stayed finite (NaN when none did).
    let mean = (!finite.is_empty()).then(|| SweepPoint::of(n, &finite, None));
    Ok(StabilityPoint {
        scale,
        max_weight: mean.map_or(f64::NAN, |m| m.max_weight),
        row_sum: mean.map_or(f64::NAN, |m| m.row_sum),
        entropy: mean.map_or(f64::NAN, |m| m.entropy),
        broken_rows,
    })
}

/// The smallest logit scale in `lo..=hi` at which `variant` breaks a row (see
/// [`StabilityPoint::broken_rows`]), to a relative precision of about 1e-4 (bisection on a log
/// scale), or `None` if it never does.
pub fn breaking_scale(
    variant: Variant,
    mask: Mask,
    d: usize,
    q: &[f32],
    k: &[f32],
    lo: f32,
    hi: f32,
) -> Result<Option<f32>, AttentionError> {
    let broken = |s: f32| stability_point(variant, mask, d, q, k, s).map(|p| p.broken_rows > 0);
    if !broken(hi)? {
        return Ok(None);
    }
    if broken(lo)? {
        return Ok(Some(lo));
    }
    let (mut a, mut b) = (lo.ln(), hi.ln());
    while b - a > 1e-4 {
        let mid = 0.5 * (a + b);
        if broken(mid.exp())? {
            b = mid;
        } else {
            a = mid;
        }
    }
    Ok(Some(b.exp()))
}
