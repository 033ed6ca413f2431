//! The Model lab's transformer against a float64 JAX reference (`tools/gen_model_fixtures.py`,
//! from `tools/model_reference.py`): the same parameters, tokens and targets, one fixed config
//! per case, the loss, the logits and every entry of the gradient. The cases cover softmax
//! (three-pass, online, two-pass), sigmoid (default and fixed bias), LSSA (two settings), LSSAR
//! and linear attention; GELU, ReLU, SiLU, squared ReLU, CRReLU, PolyNorm, SwiGLU and GeGLU;
//! RMSNorm and LayerNorm; learned, no or rotary positions; tied or untied output; one and two
//! layers of two heads.
//!
//! Tolerances (the worst errors seen when they were set are in brackets):
//! - the tensors: every name, shape, offset and length as `Config::tensors` has them;
//! - the loss: 1e-5 relative [1.0e-7];
//! - the logits: 1e-5 of the largest |logit| of the case [6.9e-7];
//! - the gradient: each entry within 1e-4 of the largest |entry| of its own tensor (wte, wpe,
//!   each layer's ln1, qkv, …, lnf, out), so a tensor with small gradients is held to its own
//!   scale rather than the whole vector's [2.7e-6 with LSSAR, 7.4e-7 in the other cases].
//!
//! Any non-finite loss, logit or gradient entry fails, whatever the reference says.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::Value;
use softplay_kernels::model::transformer::{backward, forward, Tensor, IGNORE};

#[path = "shared/activation_fixtures.rs"]
mod shared;
use shared::floats;

#[path = "shared/model_fixtures.rs"]
mod fixtures;
use fixtures::{config_of, count, ids, tensors_of};

#[test]
fn transformer_loss_and_gradients_match_the_jax_reference() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/model.json"))
        .expect("kernels/tests/fixtures/model.json (tools/gen_model_fixtures.py writes it)");
    let fixtures: Value = serde_json::from_str(&text).unwrap();
    let mut failures = Vec::new();
    // (error, where) of the worst loss, logit and gradient comparison, over all cases.
    let mut worst = [(0.0f64, String::new()), (0.0, String::new()), (0.0, String::new())];
    let cases = fixtures["cases"].as_array().unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let cfg = config_of(&case["config"]);
        cfg.check().unwrap_or_else(|e| panic!("{name}: {e}"));
        let params: Vec<f32> = floats(&case["params"]).into_iter().map(|x| x as f32).collect();
        assert_eq!(cfg.layout().total, params.len(), "{name}: layout total against the fixture's parameters");
        let tensors = cfg.tensors();
        let want_tensors = tensors_of(&case["tensors"]);
        if tensors != want_tensors {
            failures.push(format!("{name}: tensors {tensors:?}, reference {want_tensors:?}"));
            continue;
        }
        let (b, t) = (count(&case["batch"]), count(&case["seq_len"]));
        cfg.check_len(t).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (tokens, targets) = (ids(&case["tokens"]), ids(&case["targets"]));
        assert!(targets.contains(&IGNORE), "{name}: no ignored target");
        let fw = forward(&cfg, &params, &tokens, &targets, b, t);
        let mut grads = vec![0.0f32; params.len()];
        backward(&cfg, &params, &fw, &tokens, &targets, &mut grads);

        // The worst loss, logit and gradient error of this case.
        let mut here = [(0.0f64, String::new()), (0.0, String::new()), (0.0, String::new())];
        let mut check = |slot: usize, what: String, got: &[f32], want: &[f64], tol: f64| {
            assert_eq!(got.len(), want.len(), "{name}: {what} has {} values, the reference {}", got.len(), want.len());
            let scale = want.iter().fold(0.0f64, |m, w| m.max(w.abs())).max(1e-12);
            let (mut err, mut at) = (0.0f64, 0);
            for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
                let e = if g.is_finite() { (g as f64 - w).abs() / scale } else { f64::INFINITY };
                if e > err || e.is_nan() {
                    (err, at) = (e, i);
                }
            }
            let detail = format!("{name}: {what}[{at}] = {} vs {} ({err:.2e} of {scale:.3e})", got[at], want[at]);
            if err > here[slot].0 {
                here[slot] = (err, detail.clone());
            }
            if err > tol || err.is_nan() {
                failures.push(detail);
            }
        };
        let want_loss = case["loss"].as_f64().unwrap();
        check(0, "loss".into(), &[fw.loss], &[want_loss], 1e-5);
        check(1, "logits".into(), &fw.logits, &floats(&case["logits"]), 1e-5);
        let want_grads = floats(&case["grad"]);
        assert_eq!(want_grads.len(), grads.len(), "{name}: gradient length");
        for Tensor { name: tensor, span: (at, len), .. } in &tensors {
            check(2, format!("d{tensor}"), &grads[*at..at + len], &want_grads[*at..at + len], 1e-4);
        }
        println!(
            "{name}: worst loss {:.2e}, logits {:.2e}, gradient {:.2e} ({})",
            here[0].0, here[1].0, here[2].0, here[2].1
        );
        for (w, h) in worst.iter_mut().zip(here) {
            if h.0 > w.0 {
                *w = h;
            }
        }
    }
    for ((err, detail), what) in worst.iter().zip(["loss", "logits", "gradient"]) {
        println!("worst {what} error {err:.2e}: {detail}");
    }
    println!("{} cases", cases.len());
    assert!(cases.len() >= 10, "only {} cases", cases.len());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
