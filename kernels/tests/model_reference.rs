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
use softplay_kernels::{
    activation::Gate,
    attention::{Lssa, LssaScale, SoftmaxAlgorithm, Variant},
    mlp::Hidden,
    model::transformer::{backward, forward, Config, Norm, Positions, Tensor, IGNORE},
};

#[path = "shared/activation_fixtures.rs"]
mod shared;
use shared::{activation_of, floats, param};

fn count(v: &Value) -> usize {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}")) as usize
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_else(|| panic!("{field} is not a string: {v}"))
}

fn variant_of(cfg: &Value) -> Variant {
    match text(cfg, "attention") {
        "softmax" => Variant::Softmax(match text(cfg, "softmax_algorithm") {
            "three_pass" => SoftmaxAlgorithm::ThreePass,
            "online" => SoftmaxAlgorithm::Online,
            "two_pass" => SoftmaxAlgorithm::TwoPass,
            "naive" => SoftmaxAlgorithm::Naive,
            other => panic!("unknown softmax algorithm {other}"),
        }),
        "sigmoid" => Variant::Sigmoid {
            bias: match &cfg["sigmoid_bias"] {
                Value::Null => None,
                b => Some(b.as_f64().unwrap() as f32),
            },
        },
        "lssa:qknorm=0:scale=invsqrtd" => Variant::Lssa(Lssa { qk_norm: false, scale: LssaScale::InvSqrtD }),
        "lssa:qknorm=1:scale=lndlnn" => Variant::Lssa(Lssa::DEFAULT),
        "lssa:qknorm=1:scale=none" => Variant::Lssa(Lssa { qk_norm: true, scale: LssaScale::None }),
        "lssar:p=15" => Variant::LSSAR_DEFAULT,
        "relu" => Variant::Relu,
        "linear" => Variant::Linear,
        other => panic!("unknown attention {other}"),
    }
}

fn hidden_of(unit: &Value) -> Hidden {
    match text(unit, "kind") {
        "each" => Hidden::Each(activation_of(unit)),
        "polynorm" => {
            let a = floats(&unit["a"]);
            assert_eq!(a.len(), 4, "PolyNorm has four weights: {unit}");
            Hidden::PolyNorm(std::array::from_fn(|i| a[i] as f32))
        }
        "gated" => Hidden::Gated(match text(unit, "gate") {
            "swiglu" => Gate::SwiGlu { beta: param(unit, "beta") },
            "geglu" => Gate::GeGlu,
            other => panic!("unknown gate {other}"),
        }),
        other => panic!("unknown unit kind {other}"),
    }
}

fn config_of(cfg: &Value) -> Config {
    Config {
        vocab: count(&cfg["vocab"]),
        max_len: count(&cfg["max_len"]),
        layers: count(&cfg["layers"]),
        width: count(&cfg["width"]),
        heads: count(&cfg["heads"]),
        ffn: count(&cfg["ffn"]),
        attention: variant_of(cfg),
        hidden: hidden_of(&cfg["hidden"]),
        norm: match text(cfg, "norm") {
            "rms" => Norm::Rms,
            "layer" => Norm::Layer,
            other => panic!("unknown norm {other}"),
        },
        positions: match text(cfg, "positions") {
            "none" => Positions::None,
            "learned" => Positions::Learned,
            "rope" => Positions::Rope,
            other => panic!("unknown positions {other}"),
        },
        tied: cfg["tied"].as_bool().unwrap(),
    }
}

/// The fixture's tensors, `[name, shape, offset, length]` each.
fn tensors_of(v: &Value) -> Vec<Tensor> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| Tensor {
            name: t[0].as_str().unwrap().to_string(),
            shape: t[1].as_array().unwrap().iter().map(count).collect(),
            span: (count(&t[2]), count(&t[3])),
        })
        .collect()
}

/// Tokens or targets; -1 is [`IGNORE`].
fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| match x.as_i64().unwrap() {
            -1 => IGNORE,
            id => u32::try_from(id).unwrap(),
        })
        .collect()
}

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
