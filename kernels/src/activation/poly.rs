//! Polynomial and rational units: PolyCom's PolyReLU `Σ_{i=0..3} a_i ReLU(x)^i` (elementwise)
//! and PolyNorm `a_0 + Σ_{i=1..3} a_i·rms(x^i)` (row-wise), and the Padé unit `P(x)/Q(x)`.
//! Math, defaults and papers: docs/MATH.md, “Activations” › “PolyReLU, PolyNorm and the
//! rational unit”.
//!
//! The elementwise polynomials run in f64 lanes and are rounded once, so a value near a root
//! keeps the accuracy its terms allow; PolyNorm accumulates each row's mean square in f64.

use super::relu::relu;

/// `Σ_{i=0..3} a_i·ReLU(x)^i`, by Horner.
#[inline]
pub(super) fn poly_relu(x: f64, a: [f64; 4]) -> f64 {
    let r = relu(x);
    a[0] + r * (a[1] + r * (a[2] + r * a[3]))
}

/// `a_1 + 2a_2x + 3a_3x²` for `x > 0`, else 0.
#[inline]
pub(super) fn poly_relu_d(x: f64, a: [f64; 4]) -> f64 {
    if x > 0.0 {
        a[1] + x * (2.0 * a[2] + 3.0 * a[3] * x)
    } else {
        0.0
    }
}

/// `∂f/∂a_i = ReLU(x)^i`.
#[inline]
pub(super) fn poly_relu_param_grads(x: f64) -> Vec<f64> {
    let r = relu(x);
    vec![1.0, r, r * r, r * r * r]
}

/// [`poly_relu`] in f64 lanes from an f32 input, rounded once.
#[inline(always)]
pub(super) fn poly_relu_fast(x: f32, a: [f64; 4]) -> f32 {
    let r = if x <= 0.0 { 0.0 } else { x } as f64;
    (a[0] + r * (a[1] + r * (a[2] + r * a[3]))) as f32
}

#[inline(always)]
pub(super) fn poly_relu_fast_d(x: f32, a: [f64; 4]) -> f32 {
    let r = x as f64;
    let slope = (a[1] + r * (2.0 * a[2] + r * 3.0 * a[3])) as f32;
    if x > 0.0 {
        slope
    } else if x <= 0.0 {
        0.0
    } else {
        x
    }
}

/// The sign, 0 at 0 (the derivative of |x| taken as 0 there, as JAX does).
#[inline]
fn sign0(x: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else {
        x.signum()
    }
}

/// `P(x)` and `Q(x)` of the Padé unit: `P = Σ_{j=0..5} a_j x^j`,
/// `Q = 1 + Σ_{k=1..4} |b_k|·|x|^k` (the "safe" denominator, never below 1).
#[inline]
fn rational_pq(a: [f64; 6], b: [f64; 4], x: f64) -> (f64, f64) {
    let p = a[0] + x * (a[1] + x * (a[2] + x * (a[3] + x * (a[4] + x * a[5]))));
    let ax = x.abs();
    let q = 1.0 + ax * (b[0].abs() + ax * (b[1].abs() + ax * (b[2].abs() + ax * b[3].abs())));
    (p, q)
}

#[inline]
pub(super) fn rational(x: f64, a: [f64; 6], b: [f64; 4]) -> f64 {
    let (p, q) = rational_pq(a, b, x);
    p / q
}

/// `(P′Q − PQ′)/Q²`; at `x = 0` with `b_1 ≠ 0` the sign of 0 is taken as 0 (the mean of the
/// two one-sided slopes).
#[inline]
pub(super) fn rational_d(x: f64, a: [f64; 6], b: [f64; 4]) -> f64 {
    let (p, q) = rational_pq(a, b, x);
    let dp = a[1] + x * (2.0 * a[2] + x * (3.0 * a[3] + x * (4.0 * a[4] + x * 5.0 * a[5])));
    let ax = x.abs();
    let dq = sign0(x) * (b[0].abs() + ax * (2.0 * b[1].abs() + ax * (3.0 * b[2].abs() + ax * 4.0 * b[3].abs())));
    (dp * q - p * dq) / (q * q)
}

/// `∂f/∂a_j = x^j/Q`, then `∂f/∂b_k = −P/Q²·sign(b_k)·|x|^k`.
#[inline]
pub(super) fn rational_param_grads(x: f64, a: [f64; 6], b: [f64; 4]) -> Vec<f64> {
    let (p, q) = rational_pq(a, b, x);
    let ax = x.abs();
    let mut g: Vec<f64> = (0..6).map(|j| x.powi(j) / q).collect();
    g.extend((0..4).map(|k| -p / (q * q) * sign0(b[k]) * ax.powi(k as i32 + 1)));
    g
}

/// [`rational`] in f64 lanes, rounded once; `b` holds `|b_k|`.
#[inline(always)]
pub(super) fn rational_fast(x: f32, a: [f64; 6], b: [f64; 4]) -> f32 {
    let x = x as f64;
    let ax = x.abs();
    let p = a[0] + x * (a[1] + x * (a[2] + x * (a[3] + x * (a[4] + x * a[5]))));
    let q = 1.0 + ax * (b[0] + ax * (b[1] + ax * (b[2] + ax * b[3])));
    (p / q) as f32
}

/// `(P′Q − PQ′)/Q²`, `Q′ = sign(x)·(|b₁| + 2|b₂||x| + 3|b₃|x² + 4|b₄||x|³)` (0 at x = 0).
#[inline(always)]
pub(super) fn rational_fast_d(x: f32, a: [f64; 6], b: [f64; 4]) -> f32 {
    let x = x as f64;
    let ax = x.abs();
    let p = a[0] + x * (a[1] + x * (a[2] + x * (a[3] + x * (a[4] + x * a[5]))));
    let dp = a[1] + x * (2.0 * a[2] + x * (3.0 * a[3] + x * (4.0 * a[4] + x * 5.0 * a[5])));
    let q = 1.0 + ax * (b[0] + ax * (b[1] + ax * (b[2] + ax * b[3])));
    let sign = if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    };
    let dq = sign * (b[0] + ax * (2.0 * b[1] + ax * (3.0 * b[2] + ax * 4.0 * b[3])));
    ((dp * q - p * dq) / (q * q)) as f32
}

/// The `ε` inside PolyNorm's root mean square.
pub const POLYNORM_EPS: f32 = 1e-6;

/// PolyNorm (PolyCom, Zhuo et al. 2025): `y = a_0 + Σ_{i=1..3} a_i·rms(x^i)` over each row of
/// `h` values, `rms(u) = u / sqrt(mean(u²) + 1e-6)` — row-wise, not elementwise.
///
/// Shapes: `x`, `y` are `[rows, h]` row-major; `a` is `[a_0, a_1, a_2, a_3]`.
/// docs/MATH.md, “Activations” › “PolyReLU, PolyNorm and the rational unit”.
pub fn polynorm_forward(a: [f32; 4], x: &[f32], h: usize, y: &mut [f32]) {
    assert!(h > 0 && x.len() == y.len() && x.len().is_multiple_of(h), "polynorm_forward: shapes");
    for (xr, yr) in x.chunks_exact(h).zip(y.chunks_exact_mut(h)) {
        yr.fill(a[0]);
        for (i, &ai) in a.iter().enumerate().skip(1) {
            let inv = 1.0 / power_rms(xr, i as i32);
            for (y, &x) in yr.iter_mut().zip(xr) {
                *y += ai * x.powi(i as i32) * inv;
            }
        }
    }
}

/// `sqrt(mean((x^p)²) + 1e-6)` of a row, accumulated in f64.
fn power_rms(row: &[f32], p: i32) -> f32 {
    let mean = row.iter().map(|&x| (x as f64).powi(2 * p)).sum::<f64>() / row.len() as f64;
    (mean + POLYNORM_EPS as f64).sqrt() as f32
}

/// Back through [`polynorm_forward`]: `dx` (overwritten) and `da` (overwritten) from `dy`.
/// With `u = x^p`, `r = rms(u)`: `du = a_p (dy/r − u·Σ(dy·u)/(h r³))`, `dx += du·p·x^(p−1)`,
/// `da_p = Σ dy·u/r`, `da_0 = Σ dy`, each row's sums in f64.
///
/// Shapes: `x`, `dy`, `dx` are `[rows, h]` row-major.
pub fn polynorm_backward(a: [f32; 4], x: &[f32], h: usize, dy: &[f32], dx: &mut [f32], da: &mut [f32; 4]) {
    assert!(h > 0 && x.len() == dy.len() && x.len() == dx.len() && x.len().is_multiple_of(h), "polynorm_backward");
    let mut da64 = [0.0f64; 4];
    for ((xr, gr), dxr) in x.chunks_exact(h).zip(dy.chunks_exact(h)).zip(dx.chunks_exact_mut(h)) {
        dxr.fill(0.0);
        da64[0] += gr.iter().map(|&g| g as f64).sum::<f64>();
        for (i, &ai) in a.iter().enumerate().skip(1) {
            let p = i as i32;
            let r = power_rms(xr, p) as f64;
            // With u = x^p and n = u/r: dn·u summed over the row, for the rms backward.
            let gu: f64 = gr.iter().zip(xr).map(|(&g, &x)| g as f64 * (x as f64).powi(p)).sum();
            da64[i] += gu / r;
            // du = a_i (g/r − u·Σ(g u)/(h r³)); dx += du·p·x^(p−1).
            let coupling = gu / (h as f64 * r * r * r);
            for ((d, &g), &x) in dxr.iter_mut().zip(gr).zip(xr) {
                let u = (x as f64).powi(p);
                let du = ai as f64 * (g as f64 / r - u * coupling);
                *d += (du * p as f64 * (x as f64).powi(p - 1)) as f32;
            }
        }
    }
    for (d, v) in da.iter_mut().zip(da64) {
        *d = v as f32;
    }
}

/// PolyNorm over one row `x` (the plot's own x values), in f64: per element the value and
/// the first and second derivatives along the diagonal of the Jacobian (element `i` moved
/// alone, its effect on each `rms(xᵖ)` included).
pub fn polynorm_curve(a: [f64; 4], x: &[f64]) -> Vec<[f64; 3]> {
    let n = x.len().max(1) as f64;
    let rms: Vec<f64> =
        (1..=3).map(|p| (x.iter().map(|v| v.powi(2 * p)).sum::<f64>() / n + POLYNORM_EPS as f64).sqrt()).collect();
    x.iter()
        .map(|&v| {
            let mut out = [a[0], 0.0, 0.0];
            for p in 1..=3i32 {
                let (c, r, pf) = (a[p as usize], rms[p as usize - 1], p as f64);
                // u = xᵖ over r = rms(u): d(u/r) = (u′/r)(1 − q), q = u²/(n r²);
                // d²(u/r) = (1 − q)(u″/r − 3u u′²/(n r³)).
                let (u, u1, u2) = (v.powi(p), pf * v.powi(p - 1), pf * (pf - 1.0) * v.powi((p - 2).max(0)));
                let q = u * u / (n * r * r);
                out[0] += c * u / r;
                out[1] += c * u1 / r * (1.0 - q);
                out[2] += c * (1.0 - q) * (u2 / r - 3.0 * u * u1 * u1 / (n * r * r * r));
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynorm_curve_is_the_row_forward_and_its_diagonal_slope() {
        let a = [0.1, 1.0 / 3.0, 0.5, -0.25];
        let xs: Vec<f64> = (0..401).map(|i| -4.0 + 8.0 * i as f64 / 400.0).collect();
        let curve = polynorm_curve(a, &xs);
        let (a32, x32): ([f32; 4], Vec<f32>) = (a.map(|v| v as f32), xs.iter().map(|&v| v as f32).collect());
        let mut y = vec![0.0f32; xs.len()];
        polynorm_forward(a32, &x32, xs.len(), &mut y);
        for (c, &y) in curve.iter().zip(&y) {
            assert!((c[0] - y as f64).abs() < 1e-5, "{} vs {y}", c[0]);
        }
        // The diagonal slopes by central differences of the row in f64 (rms recomputed).
        let at = |row: &[f64], i: usize, k: usize| polynorm_curve(a, row)[i][k];
        for i in [0, 57, 200, 333, 400] {
            for k in [0, 1] {
                let h = 1e-4;
                let (mut up, mut down) = (xs.clone(), xs.clone());
                up[i] += h;
                down[i] -= h;
                let fd = (at(&up, i, k) - at(&down, i, k)) / (2.0 * h);
                let exact = curve[i][k + 1];
                assert!(
                    (fd - exact).abs() <= 1e-6 * fd.abs().max(1.0),
                    "x = {}, order {}: {fd} vs {exact}",
                    xs[i],
                    k + 1
                );
            }
        }
    }
}
