//! Properties of an activation, computed from its values and derivatives (never typed in):
//! monotone, bounded below, smooth, zero-centred, saturating, and the exactly-zero fraction
//! under N(0, 1). docs/MATH.md, “Activations” › “Properties”.

use super::{kan::knots, Activation};

/// Properties of an activation, computed from its values and derivatives (never typed in).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Properties {
    /// `f' ≥ 0` on [−50, 50] (every 10⁻³) and at ±10³, ±10⁴, ±10⁶.
    pub monotone: bool,
    /// Neither tail keeps falling: `f` at ±10³, ±10⁴, ±10⁶ is not decreasing outwards (and the
    /// values on [−50, 50] are finite).
    pub bounded_below: bool,
    /// `f'` is continuous: no jump between the one-sided slopes at the places where these
    /// functions can have a kink (0, and a KAN edge's knots).
    pub smooth: bool,
    /// `|E f(z)| < 0.1 · sd f(z)` for `z ~ N(0, 1)`.
    pub zero_centred: bool,
    /// `f'` vanishes far out (`|f'| < 10⁻⁶` at x = ∓10⁴).
    pub saturates_left: bool,
    pub saturates_right: bool,
    pub value_at_0: f64,
    /// At a kink, the slope [`Activation::derivative`] takes there.
    pub slope_at_0: f64,
    /// `E f(z)` and `sd f(z)` for `z ~ N(0, 1)`.
    pub mean: f64,
    pub sd: f64,
    /// `P(f(z) = 0)` exactly, in f32 as a network computes it, for `z ~ N(0, 1)`.
    pub zero_fraction: f64,
}

impl Activation {
    /// `f''(x)`, by a central difference of the exact `f'` (for plots; 0 across a kink's
    /// neighbourhood is not claimed, the jump shows as a spike).
    pub fn second_derivative_f64(self, x: f64) -> f64 {
        let h = 1e-5 * x.abs().max(1.0);
        (self.derivative_f64(x + h) - self.derivative_f64(x - h)) / (2.0 * h)
    }

    /// The function's [`Properties`], from values on grids and a Gaussian quadrature by the
    /// midpoint rule on [−8, 8] (the mass outside is below 10⁻¹⁴).
    pub fn properties(self) -> Properties {
        let grid = |lo: f64, hi: f64, step: f64| {
            let n = ((hi - lo) / step).round() as usize;
            (0..=n).map(move |i| lo + i as f64 * step)
        };
        const FAR: [f64; 3] = [1e3, 1e4, 1e6];
        let monotone =
            grid(-50.0, 50.0, 1e-3).chain(FAR.iter().flat_map(|&x| [x, -x])).all(|x| self.derivative_f64(x) >= -1e-12);
        // A tail that keeps falling outwards is unbounded below.
        let falls = |side: f64| {
            let f = FAR.map(|x| self.value_f64(side * x));
            f[1] < f[0] - 1e-9 * f[0].abs().max(1.0) && f[2] < f[1] - 1e-9 * f[1].abs().max(1.0)
        };
        let bounded_below =
            !falls(-1.0) && !falls(1.0) && grid(-50.0, 50.0, 1e-2).all(|x| self.value_f64(x).is_finite());
        // One-sided slopes a hair either side of each possible kink.
        let kinks = std::iter::once(0.0).chain(knots());
        let smooth = kinks.into_iter().all(|k: f64| {
            let eps = 1e-9 * k.abs().max(1.0);
            (self.derivative_f64(k + eps) - self.derivative_f64(k - eps)).abs() <= 1e-6
        });
        let (mut m0, mut m1, mut m2, mut zero) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        // The midpoint rule: no sample at exactly 0, where a point of zero measure would count.
        let step = 1e-3;
        for z in grid(-8.0 + step / 2.0, 8.0 - step / 2.0, step) {
            let w = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt() * step;
            let f = self.value_f64(z);
            m0 += w;
            m1 += w * f;
            m2 += w * f * f;
            zero += w * f64::from(self.value(z as f32) == 0.0);
        }
        let mean = m1 / m0;
        let sd = (m2 / m0 - mean * mean).max(0.0).sqrt();
        Properties {
            monotone,
            bounded_below,
            smooth,
            zero_centred: mean.abs() < 0.1 * sd,
            saturates_left: self.derivative_f64(-1e4).abs() < 1e-6,
            saturates_right: self.derivative_f64(1e4).abs() < 1e-6,
            value_at_0: self.value_f64(0.0),
            slope_at_0: self.derivative_f64(0.0),
            mean,
            sd,
            zero_fraction: zero / m0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_the_known_ones() {
        let relu = Activation::Relu.properties();
        assert!(relu.monotone && relu.bounded_below && !relu.smooth && !relu.zero_centred);
        assert!(relu.saturates_left && !relu.saturates_right);
        assert!((relu.zero_fraction - 0.5).abs() < 1e-3, "{relu:?}");
        // E ReLU(z) = 1/√(2π).
        assert!((relu.mean - 0.398_942_28).abs() < 1e-4, "{relu:?}");
        let tanh = Activation::Tanh.properties();
        assert!(tanh.monotone && tanh.bounded_below && tanh.smooth && tanh.zero_centred);
        assert!(tanh.saturates_left && tanh.saturates_right && tanh.zero_fraction == 0.0);
        assert_eq!((tanh.value_at_0, tanh.slope_at_0), (0.0, 1.0));
        let gelu = Activation::Gelu.properties();
        assert!(!gelu.monotone && gelu.bounded_below && gelu.smooth && !gelu.zero_centred);
        assert!((gelu.slope_at_0 - 0.5).abs() < 1e-12);
        assert!(!Activation::LeakyRelu { alpha: 0.01 }.properties().bounded_below);
        assert!(Activation::Elu { alpha: 1.0 }.properties().smooth);
        assert!(!Activation::CrRelu { eps: 0.01 }.properties().smooth);
        assert!(Activation::SquaredRelu.properties().smooth);
        // The cases a fixed threshold gets wrong.
        assert!(!Activation::LeakyRelu { alpha: 1e-4 }.properties().bounded_below);
        assert!(!Activation::Elu { alpha: 1.005 }.properties().smooth);
        assert!(!Activation::LeakyRelu { alpha: 0.995 }.properties().smooth);
        assert!(Activation::Silu { beta: 300.0 }.properties().smooth);
        assert!(Activation::Softplus { beta: 0.1 }.properties().saturates_left);
        let c = [0.2, -0.5, 1.0, 0.3, -0.8, 0.6, -0.1, 0.4];
        let kan = Activation::Kan { w_b: -1.0, w_s: 1.0, c }.properties();
        assert!(!kan.bounded_below && kan.smooth, "{kan:?}");
        let poly = Activation::PolyRelu { a: [0.0, 1.0, 0.0, -1e-6] }.properties();
        assert!(!poly.bounded_below && !poly.monotone, "{poly:?}");
        // f'' of tanh at 0.5: −2 tanh(0.5) sech²(0.5).
        let t = 0.5f64.tanh();
        assert!((Activation::Tanh.second_derivative_f64(0.5) + 2.0 * t * (1.0 - t * t)).abs() < 1e-6);
    }
}
