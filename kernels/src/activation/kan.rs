//! A KAN edge (efficient-kan's form): `w_b·SiLU(x) + w_s·Σ_i c_i B_i(x)`, cubic B-splines on a
//! uniform grid of 5 intervals over [−1, 1] (8 bases), zero outside the extended knots. Math,
//! defaults and papers: docs/MATH.md, “Activations” › “KAN edge”.
//!
//! The f64 form builds the bases by Cox–de Boor; the vectorised form finds the knot interval
//! in f64 lanes and picks each basis's cubic piece by a select (no gather, no branch).

use super::sigmoid::{sigmoid, sigmoid_f32, silu_d, silu_fast_d};

/// Cubic B-spline bases of a KAN edge: grid intervals + order.
pub const KAN_BASES: usize = KAN_GRID + KAN_ORDER;
pub(super) const KAN_GRID: usize = 5;
pub(super) const KAN_ORDER: usize = 3;
/// Knots of the extended grid: `t_j = −1 + (j − 3)·h`, `h = 2/5`, `j = 0..=11`.
pub(super) const KAN_KNOTS: usize = KAN_BASES + KAN_ORDER + 1;

/// The knots `t_j = −1 + (j − 3)·h`, `h = 2/5`.
pub(super) fn knots() -> [f64; KAN_KNOTS] {
    let h = 2.0 / KAN_GRID as f64;
    std::array::from_fn(|j| -1.0 + (j as f64 - KAN_ORDER as f64) * h)
}

/// The cubic B-spline bases of a KAN edge at `x` (and their derivatives), by Cox–de Boor on
/// the knots `t_j = −1 + (j − 3)·h`, `h = 2/5`, `j = 0..=11`.
pub fn kan_bases(x: f64) -> ([f64; KAN_BASES], [f64; KAN_BASES]) {
    let knots = knots();
    // Order 0: indicators of [t_j, t_{j+1}); each order has one basis fewer (fixed arrays, no
    // allocation: this runs per value in the race's network).
    const SLOTS: usize = KAN_BASES + KAN_ORDER;
    let mut b = [0.0f64; SLOTS];
    for (j, bj) in b.iter_mut().enumerate() {
        *bj = f64::from(knots[j] <= x && x < knots[j + 1]);
    }
    let mut lower = b;
    for k in 1..=KAN_ORDER {
        lower = b;
        for j in 0..SLOTS - k {
            let left = (x - knots[j]) / (knots[j + k] - knots[j]) * lower[j];
            let right = (knots[j + k + 1] - x) / (knots[j + k + 1] - knots[j + 1]) * lower[j + 1];
            b[j] = left + right;
        }
    }
    // B'_{j,k} = k/(t_{j+k} − t_j)·B_{j,k−1} − k/(t_{j+k+1} − t_{j+1})·B_{j+1,k−1}.
    let k = KAN_ORDER as f64;
    let values = std::array::from_fn(|j| b[j]);
    let slopes = std::array::from_fn(|j| {
        k / (knots[j + KAN_ORDER] - knots[j]) * lower[j] - k / (knots[j + KAN_ORDER + 1] - knots[j + 1]) * lower[j + 1]
    });
    (values, slopes)
}

/// `w_b·x·σ(x) + w_s·Σ c_i B_i(x)`.
#[inline]
pub(super) fn kan(x: f64, w_b: f64, w_s: f64, c: [f64; KAN_BASES]) -> f64 {
    let (bases, _) = kan_bases(x);
    w_b * x * sigmoid(x) + w_s * bases.iter().zip(&c).map(|(b, c)| b * c).sum::<f64>()
}

/// `w_b·SiLU′(x) + w_s·Σ c_i B′_i(x)`.
#[inline]
pub(super) fn kan_d(x: f64, w_b: f64, w_s: f64, c: [f64; KAN_BASES]) -> f64 {
    let (_, slopes) = kan_bases(x);
    w_b * silu_d(x, 1.0) + w_s * slopes.iter().zip(&c).map(|(b, c)| b * c).sum::<f64>()
}

/// `∂f/∂w_b = SiLU(x)`, `∂f/∂w_s = Σ c_i B_i(x)`, `∂f/∂c_i = w_s·B_i(x)`.
pub(super) fn kan_param_grads(x: f64, w_s: f64, c: [f64; KAN_BASES]) -> Vec<f64> {
    let (bases, _) = kan_bases(x);
    let spline: f64 = bases.iter().zip(&c).map(|(b, c)| b * c).sum();
    [vec![x * sigmoid(x), spline], bases.iter().map(|b| w_s * b).collect()].concat()
}

/// The interval of a KAN edge's knots that holds `x` (as an f64 index, `t_j ≤ x < t_{j+1}`,
/// `t_j = −1 + (j − 3)·h`) and the position in it, `s ∈ [0, 1)`, in f64 lanes: exact
/// enough that the bases' f32 polynomials below lose nothing to it.
#[inline(always)]
fn kan_interval(x: f32) -> (f64, f32) {
    const H: f64 = 0.4;
    let u = (x as f64 + 2.2) / H;
    let j = u.floor();
    (j, (u - j) as f32)
}

/// `Σ cᵢ·Bᵢ(x)` and its slope: of the eight cubic bases only `B_{j−3} … B_j` are non-zero
/// in interval `j`, each a cubic in `s`; every coefficient picks its piece by a select (no
/// gather, no branch), so the loop vectorises.
#[inline(always)]
fn kan_spline(x: f32, c: &[f32; KAN_BASES]) -> (f32, f32) {
    let (j, s) = kan_interval(x);
    let (s2, s3) = (s * s, s * s * s);
    let t = 1.0 - s;
    // The uniform cubic B-spline's four pieces — of the basis that ends in this interval
    // first, of the one that starts in it last — and their slopes in s.
    let pieces =
        [t * t * t / 6.0, (3.0 * s3 - 6.0 * s2 + 4.0) / 6.0, (-3.0 * s3 + 3.0 * s2 + 3.0 * s + 1.0) / 6.0, s3 / 6.0];
    let slopes = [-0.5 * t * t, 1.5 * s2 - 2.0 * s, -1.5 * s2 + s + 0.5, 0.5 * s2];
    let (mut value, mut slope) = (0.0f32, 0.0f32);
    for (i, &ci) in c.iter().enumerate() {
        // Basis i started d = j − i intervals ago: piece 3 − d.
        let d = j - i as f64;
        let (v, g) = if d == 0.0 {
            (pieces[3], slopes[3])
        } else if d == 1.0 {
            (pieces[2], slopes[2])
        } else if d == 2.0 {
            (pieces[1], slopes[1])
        } else if d == 3.0 {
            (pieces[0], slopes[0])
        } else {
            (0.0, 0.0)
        };
        value += ci * v;
        slope += ci * g;
    }
    (value, slope * 2.5) // d/dx = (d/ds)/h, h = 0.4
}

/// [`kan`] in f32: `w_b·SiLU(x) + w_s·Σ cᵢBᵢ(x)`.
#[inline(always)]
pub(super) fn kan_fast(x: f32, w_b: f32, w_s: f32, c: &[f32; KAN_BASES]) -> f32 {
    w_b * (x * sigmoid_f32(x, 0.0)) + w_s * kan_spline(x, c).0
}

#[inline(always)]
pub(super) fn kan_fast_d(x: f32, w_b: f32, w_s: f32, c: &[f32; KAN_BASES]) -> f32 {
    w_b * silu_fast_d(x, 1.0, 0.0) + w_s * kan_spline(x, c).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kan_bases_are_a_partition_of_unity_inside_the_grid() {
        for i in 0..100 {
            let x = -1.0 + i as f64 * 0.02;
            let (b, _) = kan_bases(x);
            assert!((b.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{x}");
        }
        assert_eq!(kan_bases(5.0).0, [0.0; KAN_BASES]);
    }
}
