//! The cases and error bounds the vectorised forms are held to, natively and in the browser
//! (`tests/web.rs`): every activation with a vector loop, with parameters that exercise it, and
//! how far its f32 value or slope may be from the f64 form. docs/MATH.md, “Activations” ›
//! “Vectorised forms”.

use super::{kan_bases, sigmoid, Activation};

/// The activations with a vectorised form, with parameters that exercise them: the cases the
/// tests check (natively and in the browser) against the f64 forms.
pub fn fast_cases() -> Vec<Activation> {
    vec![
        Activation::Relu,
        Activation::LeakyRelu { alpha: 0.01 },
        Activation::LeakyRelu { alpha: 0.3 },
        Activation::SquaredRelu,
        Activation::Sigmoid,
        Activation::Silu { beta: 1.0 },
        Activation::Silu { beta: 1.7 },
        Activation::Silu { beta: 0.3 },
        Activation::Softplus { beta: 1.0 },
        Activation::Softplus { beta: 5.0 },
        Activation::Softplus { beta: 0.05 },
        Activation::Elu { alpha: 1.0 },
        Activation::Elu { alpha: 0.1 },
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Mish,
        Activation::Tanh,
        Activation::CrRelu { eps: 0.01 },
        Activation::CrRelu { eps: -0.8 },
        Activation::PolyRelu { a: [0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0] },
        Activation::PolyRelu { a: [0.5, -1.0, 0.25, 0.1] },
        Activation::Rational { a: [0.0144, 0.5429, 0.3967, 0.0833, 0.0038, -0.0001], b: [0.1215, 0.1173, 0.0056, 0.0] },
        Activation::Rational { a: [1.0, -2.0, 0.5, 0.3, -0.1, 0.05], b: [-0.5, 1.0, 0.0, 0.2] },
        Activation::Kan { w_b: 1.0, w_s: 1.0, c: [0.0, 0.6, -0.8, 0.9, -0.9, 0.8, -0.6, 0.0] },
        Activation::Kan { w_b: -0.5, w_s: 2.0, c: [1.0, -1.0, 0.5, 0.25, -2.0, 3.0, 0.1, -0.7] },
    ]
}

/// How far a vectorised value or slope may be from the f64 form: `tol` relative (below
/// 1e-28 absolute, where `e^x` leaves f32's normal range); a slope also passes within
/// 1e-7·(1 + |x|) within 0.1·(1 + |x|) of where it crosses zero, and a polynomial's value within `tol` of the sum of
/// its terms' sizes (its f64 lanes round once; near a root only that is meaningful).
pub fn fast_error(act: Activation, x: f64, got: f32, want: f64, slope: bool) -> f64 {
    if want.abs() > f32::MAX as f64 {
        return if got.is_infinite() && got.signum() as f64 == want.signum() { 0.0 } else { f64::INFINITY };
    }
    let mut scale = want.abs().max(1e-28);
    if slope {
        let near_root = [-0.1, -0.03, -0.01, 0.01, 0.03, 0.1]
            .iter()
            .any(|&w| act.derivative_f64(x + w * (1.0 + x.abs())).signum() != want.signum());
        if near_root || want == 0.0 {
            scale = scale.max(1e-2 * (1.0 + x.abs()));
        }
    }
    if let Activation::PolyRelu { a } = act {
        let r = x.max(0.0);
        scale = scale.max(a.iter().enumerate().map(|(i, c)| (c * r.powi(i as i32)).abs()).sum());
    }
    if let Activation::Kan { w_b, w_s, c } = act {
        // A sum of the SiLU base and the spline's terms, each within a few f32 steps.
        let (bases, slopes) = kan_bases(x);
        let base = if slope { Activation::Silu { beta: 1.0 }.derivative_f64(x) } else { x * sigmoid(x) };
        let terms: f64 = if slope { slopes } else { bases }.iter().zip(&c).map(|(b, c)| (b * c).abs()).sum();
        scale = scale.max((w_b * base).abs() + (w_s * terms).abs());
    }
    if let Activation::Rational { a, b } = act {
        let p: f64 = a.iter().enumerate().map(|(i, c)| (c * x.powi(i as i32)).abs()).sum();
        let q = 1.0 + b.iter().enumerate().map(|(k, c)| (c * x.abs().powi(k as i32 + 1)).abs()).sum::<f64>();
        scale = scale.max(p / q);
    }
    (got as f64 - want).abs() / scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{activation_backward, activation_forward};

    #[test]
    fn the_vectorised_forms_are_within_1e_6_and_their_slopes_within_1e_5() {
        // Every f32 from −100 to 100 in steps of about 1e-3, and the extremes.
        let mut x: Vec<f32> = (-100_000..=100_000).map(|i| i as f32 * 1e-3).collect();
        x.extend([-1e4, -90.0, -88.0, -87.5, -30.0, 30.0, 87.5, 88.0, 90.0, 1e4, 1e-30, -1e-30, 1e35, -1e35, 3e38]);
        let (mut y, mut dx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        let ones = vec![1.0f32; x.len()];
        let mut report = Vec::new();
        for act in fast_cases() {
            activation_forward(act, &x, &mut y);
            activation_backward(act, &x, &ones, &mut dx);
            let (mut worst_value, mut worst_slope) = ((0.0f64, 0.0f32), (0.0f64, 0.0f32));
            for ((&x, &y), &g) in x.iter().zip(&y).zip(&dx) {
                if x.abs() > 1e4 && matches!(act, Activation::PolyRelu { .. } | Activation::Rational { .. }) {
                    continue; // beyond f32's range there
                }
                let e = fast_error(act, x as f64, y, act.value_f64(x as f64), false);
                if e.is_nan() || e > worst_value.0 {
                    worst_value = (e, x);
                }
                let e = fast_error(act, x as f64, g, act.derivative_f64(x as f64), true);
                if e.is_nan() || e > worst_slope.0 {
                    worst_slope = (e, x);
                }
            }
            report.push(format!(
                "{act:?}: value {:.1e} at {}, slope {:.1e} at {}",
                worst_value.0, worst_value.1, worst_slope.0, worst_slope.1
            ));
            assert!(worst_value.0 <= 1e-6 && worst_slope.0 <= 1e-5, "{}", report.last().unwrap());
        }
        println!("{}", report.join("\n"));
        // NaN stays NaN.
        for act in fast_cases() {
            activation_forward(act, &[f32::NAN], &mut y[..1]);
            activation_backward(act, &[f32::NAN], &[1.0], &mut dx[..1]);
            assert!(y[0].is_nan() && dx[0].is_nan(), "{act:?}: {} {}", y[0], dx[0]);
        }
    }

    #[test]
    fn slices_agree_with_the_scalar_forms() {
        let x: Vec<f32> = (-50..=50).map(|i| i as f32 * 0.37).collect();
        // The forms without a vector loop: β beyond ±1000, softplus with β ≤ 0.
        for act in [Activation::Silu { beta: 2e3 }, Activation::Softplus { beta: -1.0 }] {
            let mut y = vec![0.0; x.len()];
            activation_forward(act, &x, &mut y);
            let dy = vec![2.0; x.len()];
            let mut dx = vec![0.0; x.len()];
            activation_backward(act, &x, &dy, &mut dx);
            for ((&x, &y), &g) in x.iter().zip(&y).zip(&dx) {
                assert_eq!(y, act.value(x), "{act:?} at {x}");
                assert_eq!(g, 2.0 * act.derivative(x), "{act:?} at {x}");
            }
        }
    }
}
