//! The transformer's norms, RMSNorm and LayerNorm, each a forward and a backward over rows of
//! `C` values, after llm.c. docs/MATH.md, “The transformer” (“Norms”).
//!
//! Shapes: `x`, `y`, `dx`, `dy` are `[R, C]` row-major (`R = B·T` positions); the gain `g`, the
//! bias `b` and their gradients are `[C]`; the statistics kept per row, `mean` and `rstd`, are
//! `[R]`. Sums run over each row in order, in f32.

/// Added to the mean square inside the root of both norms.
const NORM_EPS: f32 = 1e-5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Norm {
    /// `x·g/√(mean(x²) + ε)`.
    Rms,
    /// `(x − mean)·g/√(var + ε) + b`.
    Layer,
}

/// RMSNorm: `y = x·rstd·g`, `rstd = 1/√(mean(x²) + ε)`, kept per row.
pub fn rmsnorm_forward(y: &mut [f32], rstd: &mut [f32], x: &[f32], g: &[f32], c: usize) {
    for (r, s) in rstd.iter_mut().enumerate() {
        let row = &x[r * c..(r + 1) * c];
        let ms = row.iter().map(|v| v * v).sum::<f32>() / c as f32;
        *s = 1.0 / (ms + NORM_EPS).sqrt();
        for (i, (out, &v)) in y[r * c..(r + 1) * c].iter_mut().zip(row).enumerate() {
            // `+ 0.0` writes a zero as +0, as LayerNorm's bias does.
            *out = v * *s * g[i] + 0.0;
        }
    }
}

/// Back through [`rmsnorm_forward`]: with `x̂ = x·rstd` and `d̂ = dy·g`,
/// `dx += rstd·(d̂ − x̂·mean(d̂·x̂))`, `dg += Σ_rows dy·x̂`.
pub fn rmsnorm_backward(dx: &mut [f32], dg: &mut [f32], dy: &[f32], x: &[f32], g: &[f32], rstd: &[f32], c: usize) {
    for (r, &s) in rstd.iter().enumerate() {
        let (row, d) = (&x[r * c..(r + 1) * c], &dy[r * c..(r + 1) * c]);
        let xhat = |i: usize| row[i] * s;
        let mut mean_dx = 0.0f32;
        for i in 0..c {
            mean_dx += d[i] * g[i] * xhat(i);
        }
        let mean_dx = mean_dx / c as f32;
        for i in 0..c {
            let xh = xhat(i);
            dx[r * c + i] += s * (d[i] * g[i] - xh * mean_dx);
            dg[i] += d[i] * xh;
        }
    }
}

/// LayerNorm: `y = (x − μ)·rstd·g + b`, `rstd = 1/√(mean((x − μ)²) + ε)`; keeps `μ` and `rstd`
/// per row.
#[allow(clippy::too_many_arguments)]
pub fn layernorm_forward(y: &mut [f32], mean: &mut [f32], rstd: &mut [f32], x: &[f32], g: &[f32], b: &[f32], c: usize) {
    for (r, (mu, s)) in mean.iter_mut().zip(rstd.iter_mut()).enumerate() {
        let row = &x[r * c..(r + 1) * c];
        *mu = row.iter().sum::<f32>() / c as f32;
        let ms = row.iter().map(|v| (v - *mu) * (v - *mu)).sum::<f32>() / c as f32;
        *s = 1.0 / (ms + NORM_EPS).sqrt();
        for (i, (out, &v)) in y[r * c..(r + 1) * c].iter_mut().zip(row).enumerate() {
            *out = (v - *mu) * *s * g[i] + b[i];
        }
    }
}

/// Back through [`layernorm_forward`]: with `x̂ = (x − μ)·rstd` and `d̂ = dy·g`,
/// `dx += rstd·(d̂ − mean(d̂) − x̂·mean(d̂·x̂))`, `dg += Σ_rows dy·x̂`, `db += Σ_rows dy`.
#[allow(clippy::too_many_arguments)]
pub fn layernorm_backward(
    dx: &mut [f32],
    dg: &mut [f32],
    db: &mut [f32],
    dy: &[f32],
    x: &[f32],
    g: &[f32],
    (mean, rstd): (&[f32], &[f32]),
    c: usize,
) {
    for (r, (&mu, &s)) in mean.iter().zip(rstd).enumerate() {
        let (row, d) = (&x[r * c..(r + 1) * c], &dy[r * c..(r + 1) * c]);
        let xhat = |i: usize| (row[i] - mu) * s;
        let (mut mean_d, mut mean_dx) = (0.0f32, 0.0f32);
        for i in 0..c {
            let dn = d[i] * g[i];
            mean_d += dn;
            mean_dx += dn * xhat(i);
        }
        let (mean_d, mean_dx) = (mean_d / c as f32, mean_dx / c as f32);
        for i in 0..c {
            let xh = xhat(i);
            dx[r * c + i] += s * (d[i] * g[i] - mean_d - xh * mean_dx);
            dg[i] += d[i] * xh;
        }
        for (a, &v) in db.iter_mut().zip(d) {
            *a += v;
        }
    }
}

/// The norm of rows of `C`, [`rmsnorm_forward`] or [`layernorm_forward`]: `y = x̂·g (+ b)`,
/// `x̂ = (x − μ)·rstd` (`μ = 0` for RMSNorm); keeps `μ` and `rstd` per row. `b` is empty for
/// RMSNorm.
#[allow(clippy::too_many_arguments)]
pub fn norm_forward(
    kind: Norm,
    y: &mut [f32],
    mean: &mut [f32],
    rstd: &mut [f32],
    x: &[f32],
    g: &[f32],
    b: &[f32],
    c: usize,
) {
    match kind {
        Norm::Rms => {
            debug_assert!(b.is_empty(), "RMSNorm has no bias");
            mean.fill(0.0);
            rmsnorm_forward(y, rstd, x, g, c);
        }
        Norm::Layer => layernorm_forward(y, mean, rstd, x, g, b, c),
    }
}

/// Back through [`norm_forward`]: [`rmsnorm_backward`] or [`layernorm_backward`] (`db` is
/// empty for RMSNorm).
#[allow(clippy::too_many_arguments)]
pub fn norm_backward(
    kind: Norm,
    dx: &mut [f32],
    dg: &mut [f32],
    db: &mut [f32],
    dy: &[f32],
    x: &[f32],
    g: &[f32],
    stats: (&[f32], &[f32]),
    c: usize,
) {
    match kind {
        Norm::Rms => {
            debug_assert!(db.is_empty(), "RMSNorm has no bias");
            rmsnorm_backward(dx, dg, dy, x, g, stats.1, c);
        }
        Norm::Layer => layernorm_backward(dx, dg, db, dy, x, g, stats, c),
    }
}
