//! The Model lab's transformer against a float64 JAX reference (`tools/gen_model_fixtures.py`,
//! from `tools/model_reference.py`): the same parameters, tokens and targets, one fixed config
//! per case (softmax, sigmoid and LSSA attention; GELU, ReLU and SiLU; learned or no positions,
//! tied or untied output; one and two layers of two heads), the loss, the logits and every entry
//! of the gradient.
//!
//! Tolerances (the worst errors seen when they were set are in brackets):
//! - the layout: every tensor at the offset and of the length the reference flattens it to;
//! - the loss: 1e-5 relative [5e-8];
//! - the logits: 1e-5 of the largest |logit| of the case [2.5e-7];
//! - the gradient: each entry within 1e-4 of the largest |entry| of its own tensor (wte, wpe,
//!   each layer's ln1, qkv, …, lnf, out), so a tensor with small gradients is held to its own
//!   scale rather than the whole vector's [8.4e-7].
//!
//! Any non-finite logit or gradient entry fails, whatever the reference says.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::Value;
use softplay_kernels::{
    attention::{Lssa, LssaScale, SoftmaxAlgorithm, Variant},
    model::transformer::{backward, forward, Config, Layout, IGNORE},
};

#[path = "shared/activation_fixtures.rs"]
mod shared;
use shared::{activation_of, floats};

fn count(v: &Value) -> usize {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}")) as usize
}

fn variant_of(cfg: &Value) -> Variant {
    match cfg["attention"].as_str().unwrap() {
        "softmax" => Variant::Softmax(match cfg["softmax_algorithm"].as_str().unwrap() {
            "three_pass" => SoftmaxAlgorithm::ThreePass,
            "online" => SoftmaxAlgorithm::Online,
            "two_pass" => SoftmaxAlgorithm::TwoPass,
            "naive" => SoftmaxAlgorithm::Naive,
            other => panic!("unknown softmax algorithm {other}"),
        }),
        "sigmoid" => Variant::Sigmoid { bias: None },
        "lssa:qknorm=0:scale=invsqrtd" => Variant::Lssa(Lssa { qk_norm: false, scale: LssaScale::InvSqrtD }),
        other => panic!("unknown attention {other}"),
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
        activation: activation_of(&cfg["activation"]),
        learned_positions: cfg["learned_positions"].as_bool().unwrap(),
        tied: cfg["tied"].as_bool().unwrap(),
    }
}

/// The kernel's layout as the reference names it: `(name, offset, length)`, empty tensors left out.
fn named(layout: &Layout) -> Vec<(String, usize, usize)> {
    let mut out = vec![("wte".to_string(), layout.wte)];
    out.push(("wpe".into(), layout.wpe));
    for (i, l) in layout.layers.iter().enumerate() {
        for (name, span) in [
            ("ln1", l.ln1),
            ("qkv", l.qkv),
            ("proj", l.proj),
            ("ln2", l.ln2),
            ("fc1", l.fc1),
            ("b1", l.b1),
            ("fc2", l.fc2),
            ("b2", l.b2),
        ] {
            out.push((format!("l{i}.{name}"), span));
        }
    }
    out.push(("lnf".into(), layout.lnf));
    out.push(("out".into(), layout.out));
    out.into_iter().filter(|(_, (_, len))| *len > 0).map(|(name, (at, len))| (name, at, len)).collect()
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
    // (error, where) of the worst loss, logit and gradient comparison.
    let mut worst = [(0.0f64, String::new()), (0.0, String::new()), (0.0, String::new())];
    let cases = fixtures["cases"].as_array().unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let cfg = config_of(&case["config"]);
        let layout = cfg.layout();
        let params: Vec<f32> = floats(&case["params"]).into_iter().map(|x| x as f32).collect();
        assert_eq!(layout.total, params.len(), "{name}: layout total against the fixture's parameters");
        let want_layout: Vec<(String, usize, usize)> = case["layout"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s[0].as_str().unwrap().to_string(), count(&s[1]), count(&s[2])))
            .collect();
        let spans = named(&layout);
        if spans != want_layout {
            failures.push(format!("{name}: layout {spans:?}, reference {want_layout:?}"));
            continue;
        }
        let (b, t) = (count(&case["batch"]), count(&case["seq_len"]));
        let (tokens, targets) = (ids(&case["tokens"]), ids(&case["targets"]));
        assert!(targets.contains(&IGNORE), "{name}: no ignored target");
        let fw = forward(&cfg, &params, &tokens, &targets, b, t);
        let mut grads = vec![0.0f32; params.len()];
        backward(&cfg, &params, &fw, &tokens, &targets, &mut grads);

        let mut check = |slot: usize, what: String, got: &[f32], want: &[f64], tol: f64| {
            let scale = want.iter().fold(0.0f64, |m, w| m.max(w.abs())).max(1e-12);
            let (mut err, mut at) = (0.0f64, 0);
            for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
                let e = if g.is_finite() { (g as f64 - w).abs() / scale } else { f64::INFINITY };
                if e > err || e.is_nan() {
                    (err, at) = (e, i);
                }
            }
            let detail = format!("{name}: {what}[{at}] = {} vs {} ({err:.2e} of {scale:.3e})", got[at], want[at]);
            if err > worst[slot].0 {
                worst[slot] = (err, detail.clone());
            }
            if err > tol || err.is_nan() {
                failures.push(detail);
            }
        };
        let want_loss = case["loss"].as_f64().unwrap();
        check(0, "loss".into(), &[fw.loss], &[want_loss], 1e-5);
        assert!(fw.logits.iter().all(|z| z.is_finite()), "{name}: non-finite logits");
        check(1, "logits".into(), &fw.logits, &floats(&case["logits"]), 1e-5);
        let want_grads = floats(&case["grad"]);
        for (tensor, at, len) in &spans {
            check(2, format!("d{tensor}"), &grads[*at..at + len], &want_grads[*at..at + len], 1e-4);
        }
    }
    for ((err, detail), what) in worst.iter().zip(["loss", "logits", "gradient"]) {
        println!("worst {what} error {err:.2e}: {detail}");
    }
    println!("{} cases", cases.len());
    assert!(cases.len() >= 4, "only {} cases", cases.len());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
