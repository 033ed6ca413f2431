//! Activation functions against a float64 JAX reference with autodiff
//! (`tools/activation_reference.py`, fixtures written by `tools/gen_activation_fixtures.py`):
//! values to 1e-6 and derivatives to 1e-5, relative, on a grid over [−6, 6] and at ±10…±100
//! where naive formulas overflow or cancel.
//!
//! Relative error is taken against `max(|want|, 1e-30)`: a value below that (f32 cannot hold
//! it to 1e-6 relative) is compared absolutely. Derivatives and parameter gradients the same
//! way, point by point, so the tails are checked as closely as the middle. PolyNorm's values and
//! gradients are O(1) per row after normalisation: they are compared against each row's largest.
//! (Native only: it reads the fixture file.)
#![cfg(not(target_arch = "wasm32"))]

use serde_json::Value;
use softplay_kernels::activation::{
    activation_backward, activation_forward, fast_error, polynorm_backward, polynorm_forward, Gate,
};

#[path = "shared/activation_fixtures.rs"]
mod shared;
use shared::{activation_of, floats, param, params};

const VALUE_TOL: f64 = 1e-6;
const DERIVATIVE_TOL: f64 = 1e-5;
const FLOOR: f64 = 1e-30;

fn fixtures() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/activations.json"))
        .expect("kernels/tests/fixtures/activations.json (tools/gen_activation_fixtures.py writes it)");
    serde_json::from_str(&text).expect("the fixture file is JSON")
}

/// The largest error of `got` against `want`, relative to `max(|want|, scale, FLOOR)`.
fn worst(got: &[f64], want: &[f64], scale: f64) -> (f64, usize) {
    got.iter()
        .zip(want)
        .enumerate()
        .map(|(i, (g, w))| ((g - w).abs() / w.abs().max(scale).max(FLOOR), i))
        .fold((0.0, 0), |a, b| if b.0 > a.0 || b.0.is_nan() { b } else { a })
}

/// The largest error of a PolyNorm tensor relative to the largest value of its row.
fn worst_by_row(got: &[f64], want: &[f64], h: usize) -> (f64, usize) {
    let mut worst = (0.0, 0);
    for (r, (g, w)) in got.chunks(h).zip(want.chunks(h)).enumerate() {
        let scale = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let e = self::worst(g, w, scale);
        if e.0 > worst.0 || e.0.is_nan() {
            worst = (e.0, r * h + e.1);
        }
    }
    worst
}

#[test]
fn activations_match_the_jax_reference() {
    let fixtures = fixtures();
    let mut failures = Vec::new();
    let mut checked = 0;
    let (mut worst_value, mut worst_derivative, mut worst_fast) = (0.0f64, 0.0f64, 0.0f64);
    for case in fixtures["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let function = case["function"].as_str().unwrap();
        let mut report = |what: &str, err: (f64, usize), tol: f64, at: f64| {
            if err.0 > tol || err.0.is_nan() {
                failures.push(format!("{name}: {what} off by {:.2e} (relative) at x = {at}", err.0));
            }
        };
        match function {
            "swiglu" | "geglu" => {
                let gate = if function == "swiglu" { Gate::SwiGlu { beta: param(case, "beta") } } else { Gate::GeGlu };
                let (a, b) = (floats(&case["a"]), floats(&case["b"]));
                let pairs: Vec<(f32, f32)> = a.iter().zip(&b).map(|(&a, &b)| (a as f32, b as f32)).collect();
                let f: Vec<f64> = pairs.iter().map(|&(a, b)| gate.value(a, b) as f64).collect();
                let (da, db): (Vec<f64>, Vec<f64>) =
                    pairs.iter().map(|&(a, b)| gate.gradients(a, b)).map(|(x, y)| (x as f64, y as f64)).unzip();
                let want_f = floats(&case["f"]);
                let e = worst(&f, &want_f, 0.0);
                worst_value = worst_value.max(e.0);
                report("value", e, VALUE_TOL, a[e.1]);
                for (what, got, key) in [("∂/∂a", &da, "df_da"), ("∂/∂b", &db, "df_db")] {
                    let want = floats(&case[key]);
                    let e = worst(got, &want, 0.0);
                    worst_derivative = worst_derivative.max(e.0);
                    report(what, e, DERIVATIVE_TOL, a[e.1]);
                }
                if let Some(want) = case["df_dparams"].get("beta") {
                    let want = floats(want);
                    let got: Vec<f64> = pairs.iter().map(|&(a, b)| gate.param_grads(a, b)[0] as f64).collect();
                    let e = worst(&got, &want, 0.0);
                    worst_derivative = worst_derivative.max(e.0);
                    report("∂/∂β", e, DERIVATIVE_TOL, a[e.1]);
                }
                checked += pairs.len();
            }
            "polynorm" => {
                let a: [f64; 4] = params(case, "a");
                let a = a.map(|v| v as f32);
                let h = case["h"].as_u64().unwrap() as usize;
                let x: Vec<f32> = floats(&case["x"]).iter().map(|&v| v as f32).collect();
                let dy: Vec<f32> = floats(&case["cotangent"]).iter().map(|&v| v as f32).collect();
                let mut y = vec![0.0; x.len()];
                polynorm_forward(a, &x, h, &mut y);
                let (mut dx, mut da) = (vec![0.0; x.len()], [0.0f32; 4]);
                polynorm_backward(a, &x, h, &dy, &mut dx, &mut da);
                let to64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
                // Row-wise normalised values are O(1): compare against the row's scale.
                let want_y = floats(&case["f"]);
                let e = worst_by_row(&to64(&y), &want_y, h);
                worst_value = worst_value.max(e.0);
                report("value", e, VALUE_TOL, x[e.1] as f64);
                let want_dx = floats(&case["dx"]);
                let e = worst_by_row(&to64(&dx), &want_dx, h);
                worst_derivative = worst_derivative.max(e.0);
                report("dx", e, DERIVATIVE_TOL, x[e.1] as f64);
                let want_da = floats(&case["dparams"]["a"]);
                let e = worst(&to64(&da), &want_da, 0.0);
                worst_derivative = worst_derivative.max(e.0);
                report("da", e, DERIVATIVE_TOL, e.1 as f64);
                checked += x.len();
            }
            _ => {
                let act = activation_of(case);
                let x = floats(&case["x"]);
                let f: Vec<f64> = x.iter().map(|&x| act.value(x as f32) as f64).collect();
                let df: Vec<f64> = x.iter().map(|&x| act.derivative(x as f32) as f64).collect();
                let e = worst(&f, &floats(&case["f"]), 0.0);
                worst_value = worst_value.max(e.0);
                report("value", e, VALUE_TOL, x[e.1]);
                let want = floats(&case["df_dx"]);
                let e = worst(&df, &want, 0.0);
                worst_derivative = worst_derivative.max(e.0);
                report("f'", e, DERIVATIVE_TOL, x[e.1]);
                // The vectorised loops (what the model and the benchmark run) against the same
                // reference, with the bounds of `activation::fast_error`.
                let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                let (mut y, mut dx) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
                activation_forward(act, &x32, &mut y);
                activation_backward(act, &x32, &vec![1.0; x.len()], &mut dx);
                let want_f = floats(&case["f"]);
                for i in 0..x.len() {
                    let e = fast_error(act, x[i], y[i], want_f[i], false);
                    worst_fast = worst_fast.max(e);
                    report("vectorised value", (e, i), VALUE_TOL, x[i]);
                    let e = fast_error(act, x[i], dx[i], want[i], true);
                    worst_fast = worst_fast.max(e);
                    report("vectorised f'", (e, i), DERIVATIVE_TOL, x[i]);
                }
                let names = act.param_names();
                for (p, pname) in names.iter().enumerate() {
                    let want = case["df_dparams"]
                        .get(pname)
                        .unwrap_or_else(|| panic!("{name}: the fixture has no ∂f/∂{pname}"));
                    let want = floats(want);
                    let got: Vec<f64> = x.iter().map(|&x| act.param_grads(x as f32)[p] as f64).collect();
                    let e = worst(&got, &want, 0.0);
                    worst_derivative = worst_derivative.max(e.0);
                    report(&format!("∂f/∂{pname}"), e, DERIVATIVE_TOL, x[e.1]);
                }
                checked += x.len();
            }
        }
    }
    println!(
        "{checked} points; worst value error {worst_value:.2e}, worst derivative error {worst_derivative:.2e}; \
         vectorised loops within {worst_fast:.2e} of their bounds' scale"
    );
    assert!(checked > 1000, "only {checked} points checked");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
