//! Every attention variant against the outside reference: JAX in float64 with autodiff
//! (`tools/attention_reference.py`; fixtures written by `tools/gen_attention_fixtures.py`).
//! Inputs are not stored: both sides draw them from the same PCG32 stream (integer arithmetic
//! only, so bit-identical), and each case records its first values as a check.
//!
//! Error measure: `max |got − want| / max(max |want|, floor)` over a row of `out` or of the
//! weights (each row is a weighted average, well conditioned), over the whole tensor for
//! `dq`, `dk`, `dv` (a gradient row can be small by cancellation in an exact sum), and per
//! value for the row statistics. The floor is 1e-6, so float32 subnormals and the gradients of
//! one-hot rows are compared absolutely; for the statistics, O(1) quantities, it is 1. Forward (outputs, weights, statistics) must be within 1e-5, gradients within
//! 1e-4. `support` counts weights above 1/N_i and may differ by one where a weight sits within
//! rounding of that threshold.
//!
//! The "large" inputs are integers `floor(128 x)` for q and k: the scores (about ±1e4) are then
//! exact in float32 (1/√d is a power of two for d = 16, 64), so the test measures the
//! normalisers at extreme logits rather than the rounding of float32 dot products.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::Value;
use softplay_kernels::{
    attention::{
        attention_backward, attention_forward, attention_probe, attention_row, Attention, Extras, Gradients, Lssa,
        LssaScale, Mask, Probe, RowStats, Shape, SoftmaxAlgorithm, Variant,
    },
    Rng,
};

const FORWARD_TOL: f64 = 1e-5;
const GRADIENT_TOL: f64 = 1e-4;

fn variants_for(name: &str) -> Vec<Variant> {
    let lssa = |qk_norm, scale| Variant::Lssa(Lssa { qk_norm, scale });
    match name {
        "softmax" => vec![
            Variant::Softmax(SoftmaxAlgorithm::ThreePass),
            Variant::Softmax(SoftmaxAlgorithm::Online),
            Variant::Softmax(SoftmaxAlgorithm::TwoPass),
        ],
        "lssa:qknorm=1:scale=lndlnn" => vec![lssa(true, LssaScale::LnDLnN)],
        "lssa:qknorm=0:scale=invsqrtd" => vec![lssa(false, LssaScale::InvSqrtD)],
        "lssa:qknorm=1:scale=none" => vec![lssa(true, LssaScale::None)],
        "lssar:p=15" => vec![Variant::LSSAR_DEFAULT],
        "sigmoid" => vec![Variant::Sigmoid { bias: None }],
        "relu" => vec![Variant::Relu],
        "linear" => vec![Variant::Linear],
        other => panic!("fixture names an unknown variant {other}"),
    }
}

/// `2u − 1` for uniform `u`, as `tools/attention_reference.py` draws it.
fn symmetric(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| 2.0 * rng.uniform() - 1.0).collect()
}

/// The largest error of `got` against `want`, row by row (rows of `row_len`), as above.
fn max_error(got: &[f32], want: &[f32], row_len: usize) -> f64 {
    max_error_floor(got, want, row_len, 1e-6)
}

fn max_error_floor(got: &[f32], want: &[f32], row_len: usize, floor: f64) -> f64 {
    assert_eq!(got.len(), want.len());
    got.chunks(row_len)
        .zip(want.chunks(row_len))
        .map(|(g, w)| {
            if g.iter().any(|x| !x.is_finite()) {
                return f64::INFINITY;
            }
            let size = w.iter().fold(floor, |m, &x| m.max((x as f64).abs()));
            let err = g.iter().zip(w).fold(0.0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()));
            err / size
        })
        .fold(0.0, f64::max)
}

#[test]
fn attention_matches_the_jax_reference() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    let index: Value = serde_json::from_str(&std::fs::read_to_string(format!("{dir}attention.json")).unwrap()).unwrap();
    let bin = std::fs::read(format!("{dir}attention.bin")).unwrap();
    let values: Vec<f32> = bin.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let cases = index["cases"].as_array().unwrap();
    assert!(cases.len() >= 200, "expected the full fixture set, found {} cases", cases.len());

    let mut worst: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (n, d) = (case["n"].as_u64().unwrap() as usize, case["d"].as_u64().unwrap() as usize);
        let mask = if case["mask"] == "causal" { Mask::Causal } else { Mask::Full };
        let tensor = |key: &str| -> Option<&[f32]> {
            let t = case["tensors"].get(key)?;
            let (offset, len) = (t[0].as_u64().unwrap() as usize, t[1].as_u64().unwrap() as usize);
            Some(&values[offset..offset + len])
        };

        let mut rng = Rng::new(case["seed"].as_u64().unwrap());
        let (mut q, mut k) = (symmetric(&mut rng, n * d), symmetric(&mut rng, n * d));
        let (v, dout) = (symmetric(&mut rng, n * d), symmetric(&mut rng, n * d));
        if case["kind"] == "large" {
            q.iter_mut().chain(k.iter_mut()).for_each(|x| *x = (*x * 128.0).floor());
        }
        let check: Vec<f32> =
            case["rng_check"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        assert_eq!(&q[..check.len()], &check[..], "{name}: the input stream differs from the reference's");

        for variant in variants_for(case["variant"].as_str().unwrap()) {
            let a = Attention { shape: Shape::single(n, d), variant, mask };
            let mut out = vec![0.0; n * d];
            let mut weights = vec![0.0; n * n];
            let mut stats = vec![RowStats::default(); n];
            attention_forward(
                &a,
                &q,
                &k,
                &v,
                &mut out,
                Extras { weights: Some(&mut weights), stats: Some(&mut stats) },
            )
            .unwrap();
            let (mut dq, mut dk, mut dv) = (vec![0.0; n * d], vec![0.0; n * d], vec![0.0; n * d]);
            attention_backward(&a, &q, &k, &v, &dout, Gradients { dq: &mut dq, dk: &mut dk, dv: &mut dv }).unwrap();

            if variant == Variant::Softmax(SoftmaxAlgorithm::Online) {
                // Without extras the online softmax takes its own streaming path.
                let mut streamed = vec![0.0; n * d];
                attention_forward(&a, &q, &k, &v, &mut streamed, Extras::default()).unwrap();
                let err = max_error(&streamed, tensor("out").unwrap(), d);
                if err > FORWARD_TOL {
                    failures.push(format!("{name} streaming online softmax: forward error {err:.2e}"));
                }
            }
            // The lab's paths: weights without the values (all rows, and one row at a time).
            let mut probed = vec![0.0; n * n];
            attention_probe(&a, &q, &k, Probe { weights: Some(&mut probed), ..Probe::default() }).unwrap();
            let mut one_row = vec![0.0; n * n];
            for (i, row) in one_row.chunks_exact_mut(n).enumerate() {
                attention_row(variant, mask, d, &q, &k, i, row).unwrap();
            }
            let stat = |f: fn(&RowStats) -> f32| stats.iter().map(f).collect::<Vec<f32>>();
            let mut forward_err = max_error(&out, tensor("out").unwrap(), d);
            if let Some(w) = tensor("weights") {
                forward_err = forward_err.max(max_error(&weights, w, n));
                forward_err = forward_err.max(max_error(&probed, w, n));
                forward_err = forward_err.max(max_error(&one_row, w, n));
            }
            for (key, got) in [
                ("entropy", stat(|s| s.entropy)),
                ("max_weight", stat(|s| s.max_weight)),
                ("sink", stat(|s| s.sink)),
                ("row_sum", stat(|s| s.row_sum)),
            ] {
                // Statistics are O(1) quantities: absolute error below 1, relative above.
                forward_err = forward_err.max(max_error_floor(&got, tensor(key).unwrap(), 1, 1.0));
            }
            for (r, (s, &want)) in stats.iter().zip(tensor("support").unwrap()).enumerate() {
                if (s.support as f32 - want).abs() > 1.0 {
                    failures.push(format!("{name} {variant:?}: row {r} support {} vs {want}", s.support));
                }
            }
            let gradient_err = [("dq", &dq), ("dk", &dk), ("dv", &dv)]
                .iter()
                .map(|(key, got)| max_error(got, tensor(key).unwrap(), got.len()))
                .fold(0.0, f64::max);

            if forward_err > FORWARD_TOL {
                failures.push(format!("{name} {variant:?}: forward error {forward_err:.2e}"));
            }
            if gradient_err > GRADIENT_TOL {
                failures.push(format!("{name} {variant:?}: gradient error {gradient_err:.2e}"));
            }
            let entry = worst.entry(format!("{variant:?} ({})", case["kind"].as_str().unwrap())).or_default();
            entry.0 = entry.0.max(forward_err);
            entry.1 = entry.1.max(gradient_err);
        }
    }
    println!("worst errors against the JAX reference (forward, gradients):");
    for (variant, (f, g)) in &worst {
        println!("  {f:9.2e} {g:9.2e}  {variant}");
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
