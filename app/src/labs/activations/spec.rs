//! The lab's settings as kernel values: each function with its parameters, the race's
//! entrants and target. No page code: the native race runner (`examples/fit_native.rs`) uses
//! it too, so a link and a native run train the same networks.

use softplay_kernels::{
    activation::{polynorm_curve, Activation as Kernel, Gate},
    fit::FitSpec,
    mlp::{Hidden, Target},
};

use crate::labs::activations::settings::{Activation, ActivationsConfig, FitTarget, GateChoice, RaceUnit};

fn array<const N: usize>(v: &[f64]) -> [f64; N] {
    std::array::from_fn(|i| v.get(i).copied().unwrap_or(0.0))
}

/// The kernel form of `a` under the lab's parameters; `None` for PolyNorm, which works on
/// whole rows.
pub fn kernel(a: Activation, c: &ActivationsConfig) -> Option<Kernel> {
    Some(match a {
        Activation::Relu => Kernel::Relu,
        Activation::LeakyRelu => Kernel::LeakyRelu { alpha: c.leaky_alpha },
        Activation::Elu => Kernel::Elu { alpha: c.elu_alpha },
        Activation::Gelu => Kernel::Gelu,
        Activation::GeluTanh => Kernel::GeluTanh,
        Activation::Silu => Kernel::Silu { beta: c.silu_beta },
        Activation::Mish => Kernel::Mish,
        Activation::Softplus => Kernel::Softplus { beta: c.softplus_beta },
        Activation::Sigmoid => Kernel::Sigmoid,
        Activation::Tanh => Kernel::Tanh,
        Activation::SquaredRelu => Kernel::SquaredRelu,
        Activation::PolyRelu => Kernel::PolyRelu { a: array(&c.poly_relu) },
        Activation::PolyNorm => return None,
        Activation::CrRelu => Kernel::CrRelu { eps: c.crrelu_eps },
        Activation::Rational => Kernel::Rational { a: array(&c.rational_p), b: array(&c.rational_q) },
        Activation::Kan => Kernel::Kan { w_b: c.kan_wb, w_s: c.kan_ws, c: array(&c.kan_c) },
    })
}

pub fn gate(g: GateChoice, c: &ActivationsConfig) -> Gate {
    match g {
        GateChoice::SwiGlu => Gate::SwiGlu { beta: c.silu_beta },
        GateChoice::GeGlu => Gate::GeGlu,
    }
}

/// `(f, f′, f″)` of `a` at each of `xs` (f″ only when `second`, else 0); PolyNorm is applied
/// to `xs` as one row.
pub fn curves(a: Activation, c: &ActivationsConfig, xs: &[f64], second: bool) -> Vec<[f64; 3]> {
    match kernel(a, c) {
        Some(k) => xs
            .iter()
            .map(|&x| [k.value_f64(x), k.derivative_f64(x), if second { k.second_derivative_f64(x) } else { 0.0 }])
            .collect(),
        None => polynorm_curve(array(&c.poly_norm), xs),
    }
}

/// The hidden layers of a race entrant.
pub fn hidden(u: RaceUnit, c: &ActivationsConfig) -> Hidden {
    let each = |a: Activation| Hidden::Each(kernel(a, c).expect("elementwise"));
    match u {
        RaceUnit::Relu => each(Activation::Relu),
        RaceUnit::LeakyRelu => each(Activation::LeakyRelu),
        RaceUnit::Elu => each(Activation::Elu),
        RaceUnit::Gelu => each(Activation::Gelu),
        RaceUnit::GeluTanh => each(Activation::GeluTanh),
        RaceUnit::Silu => each(Activation::Silu),
        RaceUnit::Mish => each(Activation::Mish),
        RaceUnit::Softplus => each(Activation::Softplus),
        RaceUnit::Sigmoid => each(Activation::Sigmoid),
        RaceUnit::Tanh => each(Activation::Tanh),
        RaceUnit::SquaredRelu => each(Activation::SquaredRelu),
        RaceUnit::PolyRelu => each(Activation::PolyRelu),
        RaceUnit::PolyNorm => Hidden::PolyNorm(array::<4>(&c.poly_norm).map(|v| v as f32)),
        RaceUnit::CrRelu => each(Activation::CrRelu),
        RaceUnit::Rational => each(Activation::Rational),
        RaceUnit::Kan => each(Activation::Kan),
        RaceUnit::SwiGlu => Hidden::Gated(gate(GateChoice::SwiGlu, c)),
        RaceUnit::GeGlu => Hidden::Gated(gate(GateChoice::GeGlu, c)),
    }
}

pub fn target(t: FitTarget) -> Target {
    match t {
        FitTarget::Sine => Target::Sine,
        FitTarget::Step => Target::Step,
        FitTarget::Abs => Target::Abs,
        FitTarget::Sawtooth => Target::Sawtooth,
        FitTarget::Square => Target::Square,
        FitTarget::Bump => Target::Bump,
        FitTarget::Chirp => Target::Chirp,
    }
}

/// The race the lab's settings describe (what the worker is sent, as it is).
pub fn fit(c: &ActivationsConfig) -> FitSpec {
    FitSpec {
        entrants: c.race.iter().map(|&u| hidden(u, c)).collect(),
        hidden: vec![c.width as usize; c.layers as usize],
        target: target(c.target),
        lr: c.lr as f32,
        seed: c.seed as u64,
    }
}

/// The y range that keeps most curves readable: when a few curves reach far beyond the others
/// (PolyReLU's cubic at ±4 reaches 28 while ReLU, GELU and SiLU stay within 4), the range of
/// the others, padded by a tenth, and the indices of the curves that leave it. `None` when every
/// curve fits (no curve's extent is more than [`OUTLIER_FACTOR`] times the median extent).
pub fn readable_band(curves: &[Vec<f64>]) -> Option<((f64, f64), Vec<usize>)> {
    let ranges: Vec<Option<(f64, f64)>> = curves
        .iter()
        .map(|c| {
            c.iter().filter(|v| v.is_finite()).fold(None, |r, &v| match r {
                None => Some((v, v)),
                Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
            })
        })
        .collect();
    let extent = |r: &Option<(f64, f64)>| r.map(|(lo, hi)| lo.abs().max(hi.abs()));
    let mut extents: Vec<f64> = ranges.iter().filter_map(extent).collect();
    if extents.len() < 2 {
        return None;
    }
    extents.sort_by(f64::total_cmp);
    let median = extents[extents.len() / 2];
    if median <= 0.0 {
        return None;
    }
    let out: Vec<usize> =
        (0..ranges.len()).filter(|&i| extent(&ranges[i]).is_some_and(|e| e > OUTLIER_FACTOR * median)).collect();
    if out.is_empty() {
        return None;
    }
    let (lo, hi) = ranges
        .iter()
        .enumerate()
        .filter(|(i, _)| !out.contains(i))
        .filter_map(|(_, r)| *r)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (lo, hi)| (a.min(lo), b.max(hi)));
    let pad = 0.1 * (hi - lo).max(1e-9);
    Some(((lo - pad, hi + pad), out))
}

/// How far beyond the median curve a curve may reach before the y range leaves it out.
pub const OUTLIER_FACTOR: f64 = 3.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curve_far_beyond_the_others_leaves_the_band() {
        let relu = vec![0.0, 0.0, 2.0, 4.0];
        let gelu = vec![-0.1, 0.0, 1.9, 4.0];
        let cubic = vec![-20.0, 0.0, 4.6, 28.0];
        let ((lo, hi), out) = readable_band(&[relu.clone(), gelu.clone(), cubic]).unwrap();
        assert_eq!(out, vec![2]);
        assert!((lo - (-0.1 - 0.41)).abs() < 1e-12 && (hi - 4.41).abs() < 1e-12, "{lo} {hi}");
        // Curves of one size: the data's own range.
        assert!(readable_band(&[relu, gelu]).is_none());
        assert!(readable_band(&[vec![f64::NAN; 3], vec![1.0]]).is_none());
    }
}
