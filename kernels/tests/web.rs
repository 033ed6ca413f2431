//! Kernels in a real browser (headless Chromium through wasm-bindgen-test-runner), including
//! the WebGPU path (`--enable-unsafe-webgpu` gives Chromium a SwiftShader adapter).
#![cfg(target_arch = "wasm32")]

use softplay_kernels::{softmax::softmax_in_place, Rng};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn softmax_in_the_browser_sums_to_one() {
    let mut x = vec![0.0f32; 4096];
    Rng::new(9).fill_normal(&mut x, 10.0);
    softmax_in_place(&mut x);
    let total: f64 = x.iter().map(|&v| v as f64).sum();
    assert!((total - 1.0).abs() < 1e-5, "sum {total}");
}

#[wasm_bindgen_test]
fn rng_stream_is_the_same_as_natively() {
    // The first draws of seed 7, as printed by the native build (integer arithmetic only).
    let mut r = Rng::new(7);
    let got: Vec<u32> = (0..4).map(|_| r.next_u32()).collect();
    assert_eq!(got, [1272886081, 2559268596, 3744202375, 949846691]);
}

#[wasm_bindgen_test]
fn attention_in_the_browser_matches_a_float64_softmax_attention() {
    // The simd128 kernels run only here; this checks them against a plain f64 computation.
    use softplay_kernels::attention::{attention_forward, Attention, Extras, Mask, Shape, SoftmaxAlgorithm, Variant};
    for (n, d) in [(1usize, 8usize), (13, 16), (70, 64), (67, 37)] {
        let mut rng = Rng::new((n + d) as u64);
        let (mut q, mut k, mut v) = (vec![0.0f32; n * d], vec![0.0f32; n * d], vec![0.0f32; n * d]);
        rng.fill_normal(&mut q, 1.0);
        rng.fill_normal(&mut k, 1.0);
        rng.fill_normal(&mut v, 1.0);
        for mask in [Mask::Causal, Mask::Full] {
            let a =
                Attention { shape: Shape::single(n, d), variant: Variant::Softmax(SoftmaxAlgorithm::ThreePass), mask };
            let mut out = vec![0.0f32; n * d];
            attention_forward(&a, &q, &k, &v, &mut out, Extras::default()).unwrap();
            for i in 0..n {
                let visible = if mask == Mask::Causal { i + 1 } else { n };
                let s: Vec<f64> = (0..visible)
                    .map(|j| (0..d).map(|c| q[i * d + c] as f64 * k[j * d + c] as f64).sum::<f64>() / (d as f64).sqrt())
                    .collect();
                let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
                for c in 0..d {
                    let want: f64 = (0..visible).map(|j| (s[j] - m).exp() / z * v[j * d + c] as f64).sum();
                    let got = out[i * d + c] as f64;
                    assert!(
                        (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                        "n={n} d={d} {mask:?} [{i},{c}]: {got} vs {want}"
                    );
                }
            }
        }
    }
}

#[wasm_bindgen_test]
fn attention_backward_in_the_browser_matches_finite_differences() {
    use softplay_kernels::attention::{
        attention_backward, attention_forward, Attention, Extras, Gradients, Lssa, Mask, Shape, SoftmaxAlgorithm,
        Variant,
    };
    let (n, d) = (11, 8);
    let mut rng = Rng::new(21);
    let mut draw = |scale: f32| {
        let mut x = vec![0.0f32; n * d];
        rng.fill_normal(&mut x, scale);
        x
    };
    let (q, k, v, dout) = (draw(0.8), draw(0.8), draw(1.0), draw(1.0));
    for variant in
        [Variant::Softmax(SoftmaxAlgorithm::ThreePass), Variant::Lssa(Lssa::DEFAULT), Variant::Sigmoid { bias: None }]
    {
        let a = Attention { shape: Shape::single(n, d), variant, mask: Mask::Causal };
        let loss = |q: &[f32], k: &[f32], v: &[f32]| -> f64 {
            let mut out = vec![0.0f32; n * d];
            attention_forward(&a, q, k, v, &mut out, Extras::default()).unwrap();
            out.iter().zip(&dout).map(|(o, g)| *o as f64 * *g as f64).sum()
        };
        let (mut dq, mut dk, mut dv) = (vec![0.0; n * d], vec![0.0; n * d], vec![0.0; n * d]);
        attention_backward(&a, &q, &k, &v, &dout, Gradients { dq: &mut dq, dk: &mut dk, dv: &mut dv }).unwrap();
        for (which, grad) in [(0, &dq), (1, &dk), (2, &dv)] {
            let largest = grad.iter().fold(1e-3f32, |m, g| m.max(g.abs()));
            for idx in (0..n * d).step_by(7) {
                let bumped = |delta: f32| {
                    let (mut q2, mut k2, mut v2) = (q.clone(), k.clone(), v.clone());
                    [&mut q2, &mut k2, &mut v2][which][idx] += delta;
                    loss(&q2, &k2, &v2)
                };
                let numeric = ((bumped(1e-2) - bumped(-1e-2)) / 2e-2) as f32;
                assert!(
                    (numeric - grad[idx]).abs() <= 2e-2 * largest,
                    "{variant:?} grad {which}[{idx}]: {} vs {numeric}",
                    grad[idx]
                );
            }
        }
    }
}

#[cfg(feature = "gpu")]
#[path = "shared/gpu_attention_cases.rs"]
mod cases;

#[cfg(feature = "gpu")]
#[wasm_bindgen_test]
async fn webgpu_attention_matches_cpu() {
    let ctx = softplay_kernels::gpu::GpuContext::new().await.expect("a WebGPU adapter");
    let worst = cases::gpu_cpu_max_difference(&ctx).await;
    web_sys_log(&format!("WebGPU attention vs CPU: largest difference {worst:e}"));
}

#[cfg(feature = "gpu")]
#[path = "shared/gpu_matmul_cases.rs"]
mod matmul_cases;

#[cfg(feature = "gpu")]
#[wasm_bindgen_test]
async fn webgpu_linear_layer_matches_cpu() {
    let ctx = softplay_kernels::gpu::GpuContext::new().await.expect("a WebGPU adapter");
    let worst = matmul_cases::gpu_matmul_max_difference(&ctx).await;
    web_sys_log(&format!("WebGPU linear layer vs CPU: largest relative difference {worst:e}"));
}

#[cfg(feature = "gpu")]
fn web_sys_log(message: &str) {
    wasm_bindgen_test::console_log!("{message}");
}

#[cfg(feature = "gpu")]
#[wasm_bindgen_test]
async fn webgpu_softmax_rows_matches_cpu() {
    use softplay_kernels::{gpu::GpuContext, softmax::softmax_rows_in_place};
    let ctx = GpuContext::new().await.expect("headless Chromium with --enable-unsafe-webgpu has an adapter");
    let cols = 100;
    let mut x = vec![0.0f32; 64 * cols];
    Rng::new(3).fill_normal(&mut x, 5.0);
    let gpu = ctx.softmax_rows(&x, cols).await.unwrap();
    let mut cpu = x.clone();
    softmax_rows_in_place(&mut cpu, cols);
    for (g, c) in gpu.iter().zip(&cpu) {
        assert!((g - c).abs() <= 1e-4 * c.abs().max(1e-6), "{g} vs {c}");
    }
}

#[wasm_bindgen_test]
fn activation_fast_paths_in_the_browser_are_within_1e_6() {
    // The loops are vectorised only here (simd128): they must keep the accuracy of the f64
    // forms the JAX reference checks natively (the same cases and bounds as the native test).
    use softplay_kernels::activation::{activation_backward, activation_forward, fast_cases, fast_error};
    let mut x: Vec<f32> = (-20_000..=20_000).map(|i| i as f32 * 5e-3).collect();
    x.extend([-1e4, -90.0, -87.5, -50.0, 50.0, 87.5, 90.0, 1e4]);
    let (mut y, mut dx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    let ones = vec![1.0f32; x.len()];
    for act in fast_cases() {
        activation_forward(act, &x, &mut y);
        activation_backward(act, &x, &ones, &mut dx);
        for ((&x, &y), &g) in x.iter().zip(&y).zip(&dx) {
            let e = fast_error(act, x as f64, y, act.value_f64(x as f64), false);
            assert!(e <= 1e-6, "{act:?} at {x}: {y} vs {} ({e:.1e})", act.value_f64(x as f64));
            let e = fast_error(act, x as f64, g, act.derivative_f64(x as f64), true);
            assert!(e <= 1e-5, "{act:?} slope at {x}: {g} vs {} ({e:.1e})", act.derivative_f64(x as f64));
        }
    }
}

#[cfg(feature = "gpu")]
#[path = "shared/gpu_train_cases.rs"]
mod train_cases;

#[cfg(feature = "gpu")]
#[wasm_bindgen_test]
async fn webgpu_training_matches_the_cpu_trainer() {
    let ctx = softplay_kernels::gpu::GpuContext::new().await.expect("a WebGPU adapter");
    let (loss, params) = train_cases::gpu_training_max_difference(&ctx).await;
    web_sys_log(&format!(
        "WebGPU training vs CPU, {} steps of {} pairs: losses within {loss:e} relative, parameters within {params:e}",
        train_cases::STEPS,
        train_cases::pairs().len()
    ));
    let (loss, params) = train_cases::gpu_trains_long_sequences_like_the_cpu(&ctx).await;
    web_sys_log(&format!(
        "WebGPU training of 180-token sequences: losses within {loss:e}, parameters within {params:e}"
    ));
    train_cases::a_nan_stops_the_gpu_run_like_the_cpu(&ctx).await;
    let (loss, params) = train_cases::a_run_moves_between_the_backends(&ctx).await;
    web_sys_log(&format!("CPU → WebGPU → CPU vs CPU alone: losses within {loss:e}, parameters within {params:e}"));
}

#[cfg(feature = "gpu")]
#[wasm_bindgen_test]
async fn a_destroyed_webgpu_device_is_an_error_naming_it() {
    let ctx = softplay_kernels::gpu::GpuContext::new().await.expect("a WebGPU adapter");
    train_cases::a_lost_device_is_an_error_not_a_panic(&ctx).await;
}
