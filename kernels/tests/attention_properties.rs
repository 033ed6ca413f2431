//! Properties every attention variant must have, and gradients checked by finite differences.
//! (Agreement with the outside JAX reference is in `attention_reference.rs`.)

use softplay_kernels::{
    attention::{
        attention_backward, attention_forward, Attention, Extras, Gradients, Lssa, LssaScale, Mask, RowStats, Shape,
        SoftmaxAlgorithm, Variant,
    },
    Rng,
};

fn all_variants() -> Vec<Variant> {
    vec![
        Variant::Softmax(SoftmaxAlgorithm::ThreePass),
        Variant::Softmax(SoftmaxAlgorithm::Online),
        Variant::Softmax(SoftmaxAlgorithm::TwoPass),
        Variant::Lssa(Lssa::DEFAULT),
        Variant::Lssa(Lssa { qk_norm: false, scale: LssaScale::InvSqrtD }),
        Variant::Lssa(Lssa { qk_norm: true, scale: LssaScale::None }),
        Variant::LSSAR_DEFAULT,
        Variant::Lssar { lssa: Lssa::DEFAULT, p: 3.0 },
        Variant::Sigmoid { bias: None },
        Variant::Sigmoid { bias: Some(0.5) },
        Variant::Relu,
        Variant::Linear,
    ]
}

fn random(len: usize, scale: f32, seed: u64) -> Vec<f32> {
    let mut x = vec![0.0; len];
    Rng::new(seed).fill_normal(&mut x, scale);
    x
}

struct Run {
    out: Vec<f32>,
    weights: Vec<f32>,
    stats: Vec<RowStats>,
}

fn forward(a: &Attention, q: &[f32], k: &[f32], v: &[f32]) -> Run {
    let mut out = vec![0.0; a.shape.qkv_len()];
    let mut weights = vec![0.0; a.shape.weights_len()];
    let mut stats = vec![RowStats::default(); a.shape.rows()];
    attention_forward(a, q, k, v, &mut out, Extras { weights: Some(&mut weights), stats: Some(&mut stats) }).unwrap();
    Run { out, weights, stats }
}

fn out_only(a: &Attention, q: &[f32], k: &[f32], v: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; a.shape.qkv_len()];
    attention_forward(a, q, k, v, &mut out, Extras::default()).unwrap();
    out
}

#[test]
fn normalised_rows_sum_to_one_and_stats_agree_with_the_weights() {
    let shape = Shape { batch: 2, heads: 2, n: 37, d: 8 };
    let (q, k, v) = (random(shape.qkv_len(), 1.5, 1), random(shape.qkv_len(), 1.5, 2), random(shape.qkv_len(), 1.0, 3));
    for variant in all_variants() {
        for mask in [Mask::Causal, Mask::Full] {
            let a = Attention { shape, variant, mask };
            let run = forward(&a, &q, &k, &v);
            for (r, (row, st)) in run.weights.chunks(shape.n).zip(&run.stats).enumerate() {
                let sum: f32 = row.iter().sum();
                assert!((st.row_sum - sum).abs() < 1e-5, "{variant:?}: stats row_sum {} vs {sum}", st.row_sum);
                if variant.is_normalised() {
                    assert!((sum - 1.0).abs() < 1e-5, "{variant:?} {mask:?} row {r} sums to {sum}");
                }
                assert!(row.iter().all(|w| w.is_finite() && *w >= 0.0));
            }
        }
    }
}

#[test]
fn causal_rows_ignore_future_keys_and_values() {
    let shape = Shape::single(20, 6);
    let (q, k, v) = (random(120, 1.0, 4), random(120, 1.0, 5), random(120, 1.0, 6));
    for variant in all_variants() {
        let a = Attention { shape, variant, mask: Mask::Causal };
        let base = out_only(&a, &q, &k, &v);
        // Change keys and values from position 12 on: rows 0..12 must not move at all.
        let (mut k2, mut v2) = (k.clone(), v.clone());
        for x in k2[12 * 6..].iter_mut().chain(v2[12 * 6..].iter_mut()) {
            *x = -3.0 * *x + 1.0;
        }
        let moved = out_only(&a, &q, &k2, &v2);
        assert_eq!(&base[..12 * 6], &moved[..12 * 6], "{variant:?}: an early row saw a future key");
        assert_ne!(&base[12 * 6..], &moved[12 * 6..], "{variant:?}: the change should show in later rows");
    }
}

#[test]
fn permuting_keys_with_their_values_leaves_full_mask_outputs_unchanged() {
    let (n, d) = (23, 5);
    let shape = Shape::single(n, d);
    let (q, k, v) = (random(n * d, 1.2, 7), random(n * d, 1.2, 8), random(n * d, 1.0, 9));
    let mut rng = Rng::new(10);
    let mut perm: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        perm.swap(i, rng.below(i as u32 + 1) as usize);
    }
    let permute = |x: &[f32]| -> Vec<f32> { perm.iter().flat_map(|&j| x[j * d..(j + 1) * d].to_vec()).collect() };
    let (kp, vp) = (permute(&k), permute(&v));
    for variant in all_variants() {
        let a = Attention { shape, variant, mask: Mask::Full };
        let base = out_only(&a, &q, &k, &v);
        let permuted = out_only(&a, &q, &kp, &vp);
        for (x, y) in base.iter().zip(&permuted) {
            assert!((x - y).abs() <= 1e-5 * (1.0 + x.abs()), "{variant:?}: {x} vs {y}");
        }
    }
}

#[test]
fn heads_and_batches_are_independent() {
    let shape = Shape { batch: 2, heads: 3, n: 9, d: 4 };
    let len = shape.qkv_len();
    let (q, k, v) = (random(len, 1.0, 11), random(len, 1.0, 12), random(len, 1.0, 13));
    for variant in all_variants() {
        let all = out_only(&Attention { shape, variant, mask: Mask::Causal }, &q, &k, &v);
        let one = Attention { shape: Shape::single(9, 4), variant, mask: Mask::Causal };
        for h in 0..6 {
            let r = h * 36..(h + 1) * 36;
            let single = out_only(&one, &q[r.clone()], &k[r.clone()], &v[r.clone()]);
            assert_eq!(&all[r], &single[..], "{variant:?} head {h}");
        }
    }
}

#[test]
fn online_fused_path_matches_the_row_path() {
    let shape = Shape::single(300, 16);
    let (q, k, v) = (random(4800, 3.0, 14), random(4800, 3.0, 15), random(4800, 1.0, 16));
    for mask in [Mask::Causal, Mask::Full] {
        let online = Attention { shape, variant: Variant::Softmax(SoftmaxAlgorithm::Online), mask };
        let fused = out_only(&online, &q, &k, &v); // no extras: the streaming path
        let rows = forward(&online, &q, &k, &v).out; // with extras: the row path
        let three =
            out_only(&Attention { variant: Variant::Softmax(SoftmaxAlgorithm::ThreePass), ..online }, &q, &k, &v);
        for ((a, b), c) in fused.iter().zip(&rows).zip(&three) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()) && (a - c).abs() <= 1e-5 * (1.0 + c.abs()));
        }
    }
}

#[test]
fn no_nan_or_inf_from_huge_finite_inputs_except_the_naive_softmax() {
    let shape = Shape::single(64, 16);
    for scale in [1e2f32, 1e4, 1e6] {
        let (q, k, v) = (random(1024, scale, 17), random(1024, scale, 18), random(1024, 1.0, 19));
        let dout = random(1024, 1.0, 20);
        for variant in all_variants() {
            for mask in [Mask::Causal, Mask::Full] {
                let a = Attention { shape, variant, mask };
                let run = forward(&a, &q, &k, &v);
                assert!(
                    run.out.iter().chain(&run.weights).all(|x| x.is_finite()),
                    "{variant:?} {mask:?} scale {scale}"
                );
                let (mut dq, mut dk, mut dv) = (vec![0.0; 1024], vec![0.0; 1024], vec![0.0; 1024]);
                attention_backward(&a, &q, &k, &v, &dout, Gradients { dq: &mut dq, dk: &mut dk, dv: &mut dv }).unwrap();
                assert!(
                    dq.iter().chain(&dk).chain(&dv).all(|x| x.is_finite()),
                    "{variant:?} {mask:?} scale {scale}: non-finite gradient"
                );
            }
        }
    }
    let naive = Attention { shape, variant: Variant::Softmax(SoftmaxAlgorithm::Naive), mask: Mask::Full };
    let (q, k, v) = (random(1024, 1e2, 17), random(1024, 1e2, 18), random(1024, 1.0, 19));
    assert!(out_only(&naive, &q, &k, &v).iter().any(|x| x.is_nan()), "the naive softmax should overflow here");
}

/// `L = Σ dout ⊙ out`, in f64 for the finite differences.
fn loss(a: &Attention, q: &[f32], k: &[f32], v: &[f32], dout: &[f32]) -> f64 {
    out_only(a, q, k, v).iter().zip(dout).map(|(o, g)| *o as f64 * *g as f64).sum()
}

#[test]
fn gradients_match_finite_differences() {
    let (n, d) = (6, 4);
    let shape = Shape::single(n, d);
    let (q, k, v, dout) = (random(24, 0.8, 21), random(24, 0.8, 22), random(24, 1.0, 23), random(24, 1.0, 24));
    for variant in all_variants() {
        for mask in [Mask::Causal, Mask::Full] {
            let a = Attention { shape, variant, mask };
            let (mut dq, mut dk, mut dv) = (vec![0.0; 24], vec![0.0; 24], vec![0.0; 24]);
            attention_backward(&a, &q, &k, &v, &dout, Gradients { dq: &mut dq, dk: &mut dk, dv: &mut dv }).unwrap();
            for (which, grad) in [(0, &dq), (1, &dk), (2, &dv)] {
                let largest = grad.iter().fold(0.0f32, |m, g| m.max(g.abs())).max(1e-3);
                for idx in 0..24 {
                    let eps = 1e-2f32;
                    let bumped = |delta: f32| {
                        let (mut q2, mut k2, mut v2) = (q.clone(), k.clone(), v.clone());
                        [&mut q2, &mut k2, &mut v2][which][idx] += delta;
                        loss(&a, &q2, &k2, &v2, &dout)
                    };
                    let numeric = ((bumped(eps) - bumped(-eps)) / (2.0 * eps as f64)) as f32;
                    let analytic = grad[idx];
                    assert!(
                        (numeric - analytic).abs() <= 2e-2 * largest,
                        "{variant:?} {mask:?} d{}[{idx}]: analytic {analytic} vs numeric {numeric}",
                        ["q", "k", "v"][which]
                    );
                }
            }
        }
    }
}

#[test]
fn bad_requests_are_errors_that_name_the_value() {
    let a = Attention {
        shape: Shape::single(4, 2),
        variant: Variant::Lssar { lssa: Lssa::DEFAULT, p: 0.5 },
        mask: Mask::Full,
    };
    let x = vec![0.0; 8];
    let mut out = vec![0.0; 8];
    let err = attention_forward(&a, &x, &x, &x, &mut out, Extras::default()).unwrap_err();
    assert_eq!(err.to_string(), "p=0.5: must be in 1..64");
    let a = Attention { variant: Variant::Softmax(SoftmaxAlgorithm::ThreePass), ..a };
    let err = attention_forward(&a, &x[..7], &x, &x, &mut out, Extras::default()).unwrap_err();
    assert_eq!(err.to_string(), "q has 7 values; the shape needs 8");
    let naive = Attention { variant: Variant::Softmax(SoftmaxAlgorithm::Naive), ..a };
    let (mut g1, mut g2, mut g3) = (vec![0.0; 8], vec![0.0; 8], vec![0.0; 8]);
    let err =
        attention_backward(&naive, &x, &x, &x, &x, Gradients { dq: &mut g1, dk: &mut g2, dv: &mut g3 }).unwrap_err();
    assert!(err.to_string().contains("forward-only"));
}

#[test]
fn length_sweep_reports_each_length_and_softmax_flattens_as_rows_grow() {
    use softplay_kernels::attention::stats::length_sweep;
    let d = 32;
    let inputs = |n: usize| (random(n * d, 1.0, n as u64), random(n * d, 1.0, n as u64 + 1), None);
    let factors = [1, 2, 4, 8, 16];
    let softmax =
        length_sweep(Variant::Softmax(SoftmaxAlgorithm::ThreePass), Mask::Full, d, 16, &factors, inputs, |_| {})
            .unwrap();
    let lssa = length_sweep(Variant::Lssa(Lssa::DEFAULT), Mask::Full, d, 16, &factors, inputs, |_| {}).unwrap();
    assert_eq!(softmax.iter().map(|p| p.n).collect::<Vec<_>>(), vec![16, 32, 64, 128, 256]);
    for pair in softmax.windows(2) {
        assert!(pair[1].entropy > pair[0].entropy, "softmax entropy should grow with length: {softmax:?}");
        assert!(pair[1].max_weight < pair[0].max_weight);
    }
    for p in softmax.iter().chain(&lssa) {
        assert!((p.row_sum - 1.0).abs() < 1e-5);
    }
    println!(
        "entropy growth 1x→16x: softmax {:.3} nats, LSSA {:.3} nats",
        softmax[4].entropy - softmax[0].entropy,
        lssa[4].entropy - lssa[0].entropy
    );
}

#[test]
fn naive_softmax_breaks_where_a_score_passes_88_and_the_others_hold() {
    use softplay_kernels::attention::{
        stats::{breaking_scale, stability_sweep},
        synthetic::Synthetic,
    };
    let (n, d) = (64, 16);
    let x = Synthetic { n, d, seed: 9, logit_scale: 1.0, needle: 4.0, period: 0, noise: 0.0 }.generate();
    let scales = [1.0, 10.0, 100.0, 1000.0, 10000.0];
    let naive = Variant::Softmax(SoftmaxAlgorithm::Naive);
    let points = stability_sweep(naive, Mask::Causal, d, &x.q, &x.k, &scales).unwrap();
    assert_eq!(points[0].broken_rows, 0);
    assert!(points[4].broken_rows > 0, "{points:?}");
    // The break is where the largest score of some row reaches ln(f32::MAX) ≈ 88.72.
    let at = breaking_scale(naive, Mask::Causal, d, &x.q, &x.k, 1.0, 1e4).unwrap().unwrap();
    let mut largest = 0.0f32;
    for i in 0..n {
        for j in 0..=i {
            let s: f32 = x.q[i * d..(i + 1) * d].iter().zip(&x.k[j * d..(j + 1) * d]).map(|(a, b)| a * b).sum();
            largest = largest.max(s / (d as f32).sqrt());
        }
    }
    let predicted = 88.72 / largest;
    assert!((at / predicted - 1.0).abs() < 0.01, "broke at {at}, predicted {predicted}");
    for variant in all_variants() {
        let points = stability_sweep(variant, Mask::Causal, d, &x.q, &x.k, &scales).unwrap();
        assert!(points.iter().all(|p| p.broken_rows == 0 && p.max_weight.is_finite()), "{variant:?}: {points:?}");
        assert_eq!(breaking_scale(variant, Mask::Causal, d, &x.q, &x.k, 1.0, 1e4).unwrap(), None);
    }
}

#[test]
fn the_needle_sweep_reports_the_needle_weight_and_lssar_keeps_it() {
    use softplay_kernels::attention::{stats::length_sweep, synthetic::Synthetic};
    let d = 16;
    let spec = Synthetic { n: 0, d, seed: 2, logit_scale: 1.0, needle: 5.0, period: 0, noise: 0.0 };
    let inputs = |n: usize| {
        let x = Synthetic { n, ..spec }.generate();
        let needle = x.needle.map(|p| (p.query, p.key));
        (x.q, x.k, needle)
    };
    let mut seen = Vec::new();
    let mut sweep = |variant| length_sweep(variant, Mask::Causal, d, 32, &[1, 2, 4, 8], inputs, |p| seen.push(p.n));
    let softmax = sweep(Variant::Softmax(SoftmaxAlgorithm::ThreePass)).unwrap();
    assert_eq!(seen, vec![32, 64, 128, 256]);
    let lssar = length_sweep(Variant::LSSAR_DEFAULT, Mask::Causal, d, 32, &[1, 2, 4, 8], inputs, |_| {}).unwrap();
    let needle = |s: &[softplay_kernels::attention::stats::SweepPoint], i: usize| s[i].needle.unwrap();
    // A 5σ needle: softmax gives it e^5 against n others, so its weight falls as n grows.
    assert!(needle(&softmax, 3) < needle(&softmax, 0), "{softmax:?}");
    assert!(needle(&lssar, 3) > needle(&softmax, 3), "LSSAR {lssar:?} vs softmax {softmax:?}");
}

#[test]
fn one_score_matches_the_probed_scores() {
    use softplay_kernels::attention::{attention_probe, attention_score, Probe};
    let (n, d) = (37, 5);
    let (q, k) = (random(n * d, 1.5, 21), random(n * d, 1.5, 22));
    for variant in all_variants() {
        for mask in [Mask::Causal, Mask::Full] {
            let mut scores = vec![0.0; n * n];
            let a = Attention { shape: Shape::single(n, d), variant, mask };
            attention_probe(&a, &q, &k, Probe { scores: Some(&mut scores), ..Probe::default() }).unwrap();
            for i in 0..n {
                for j in 0..n {
                    match attention_score(variant, mask, d, &q, &k, i, j) {
                        Some(s) => {
                            let want = scores[i * n + j];
                            assert!(
                                (s - want).abs() <= 1e-5 * want.abs().max(1.0),
                                "{variant:?} {i},{j}: {s} vs {want}"
                            );
                        }
                        None => assert!(mask == Mask::Causal && j > i),
                    }
                }
            }
        }
    }
}

#[test]
fn a_million_value_row_is_accurate_with_every_stable_algorithm() {
    use softplay_kernels::attention::softmax::row_forward;
    let x = random(1 << 20, 3.0, 8);
    let m = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
    let z: f64 = x.iter().map(|&v| (v as f64 - m).exp()).sum();
    for algorithm in [SoftmaxAlgorithm::ThreePass, SoftmaxAlgorithm::Online, SoftmaxAlgorithm::TwoPass] {
        let mut y = x.clone();
        row_forward(algorithm, &mut y);
        let (mut worst, mut top) = (0.0f64, 0.0f64);
        for (&got, &v) in y.iter().zip(&x) {
            let want = (v as f64 - m).exp() / z;
            worst = worst.max((got as f64 - want).abs());
            top = top.max(want);
        }
        assert!(worst / top < 2e-6, "{algorithm:?}: largest error {worst:e} against a largest weight of {top:e}");
    }
}

#[test]
fn a_naive_row_whose_sum_overflows_counts_as_broken() {
    use softplay_kernels::attention::stats::stability_sweep;
    // Three tied keys at score 88: each e^88 is finite, their sum is not, and the naive row
    // comes out all zero (or NaN) — broken either way.
    let (n, d) = (3, 1);
    let (q, k) = (vec![88.0f32; n], vec![1.0f32; n]);
    let p = stability_sweep(Variant::Softmax(SoftmaxAlgorithm::Naive), Mask::Full, d, &q, &k, &[1.0]).unwrap();
    assert_eq!(p[0].broken_rows, 3, "{p:?}");
    let p = stability_sweep(Variant::Softmax(SoftmaxAlgorithm::ThreePass), Mask::Full, d, &q, &k, &[1.0]).unwrap();
    assert_eq!(p[0].broken_rows, 0);
}
