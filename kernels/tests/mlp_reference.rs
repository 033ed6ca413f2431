//! The fitting race's MLP against a float64 JAX reference (`tools/gen_mlp_fixtures.py`): the
//! same weights, loss and every gradient, for each activation, one and two hidden layers.
//! Gradients are compared relative to the largest of their layer (to within 1e-4).
#![cfg(not(target_arch = "wasm32"))]

use serde_json::Value;
use softplay_kernels::mlp::{Hidden, Mlp};

#[path = "shared/activation_fixtures.rs"]
mod shared;
use shared::{activation_of, floats, params};

fn f32s(v: &Value) -> Vec<f32> {
    floats(v).into_iter().map(|x| x as f32).collect()
}

fn nested(v: &Value) -> Vec<Vec<f32>> {
    v.as_array().unwrap().iter().map(f32s).collect()
}

#[test]
fn mlp_loss_and_gradients_match_the_jax_reference() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mlp.json"))
        .expect("kernels/tests/fixtures/mlp.json (tools/gen_mlp_fixtures.py writes it)");
    let fixtures: Value = serde_json::from_str(&text).unwrap();
    let mut failures = Vec::new();
    let mut worst = 0.0f64;
    let cases = fixtures["cases"].as_array().unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let act = &case["activation"];
        let hidden = if act["function"] == "polynorm" {
            Hidden::PolyNorm(params::<4>(act, "a").map(|a| a as f32))
        } else {
            Hidden::Each(activation_of(act))
        };
        let widths: Vec<usize> =
            case["widths"].as_array().unwrap().iter().map(|w| w.as_u64().unwrap() as usize).collect();
        let mlp = Mlp { widths, weights: nested(&case["weights"]), biases: nested(&case["biases"]), hidden };
        let (x, y) = (f32s(&case["x"]), f32s(&case["y"]));
        let (loss, grads, trace) = mlp.loss_and_grads(&x, &y);
        let want_loss = case["loss"].as_f64().unwrap();
        let mut check = |what: String, got: &[f32], want: &[f64], tol: f64| {
            let scale = want.iter().fold(0.0f64, |m, w| m.max(w.abs())).max(1e-12);
            let err = got.iter().zip(want).map(|(&g, &w)| (g as f64 - w).abs() / scale).fold(0.0, f64::max);
            worst = worst.max(err);
            if err > tol || err.is_nan() {
                failures.push(format!("{name}: {what} off by {err:.2e} of its largest value"));
            }
        };
        check("loss".into(), &[loss], &[want_loss], 1e-5);
        check("prediction".into(), trace.post.last().unwrap(), &floats(&case["prediction"]), 1e-5);
        for (l, (gw, gb)) in grads.weights.iter().zip(&grads.biases).enumerate() {
            check(format!("dW{l}"), gw, &floats(&case["grad_weights"][l]), 1e-4);
            check(format!("db{l}"), gb, &floats(&case["grad_biases"][l]), 1e-4);
        }
    }
    println!("{} cases; worst relative error {worst:.2e}", cases.len());
    assert!(cases.len() >= 20, "only {} cases", cases.len());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
