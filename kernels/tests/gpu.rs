//! The GPU path against the CPU path, natively (Vulkan; lavapipe on a machine with no GPU).
//! Built only with `--features gpu`; skipped with a message when no Vulkan adapter exists
//! unless SOFTPLAY_REQUIRE_GPU=1, which `cargo xtask test` sets after installing lavapipe.
#![cfg(all(feature = "gpu", not(target_arch = "wasm32")))]

use softplay_kernels::{
    attention::{Attention, Mask, Shape, Variant},
    gpu::GpuContext,
    softmax::softmax_rows_in_place,
    Rng,
};

#[path = "shared/gpu_attention_cases.rs"]
mod cases;

#[path = "shared/gpu_matmul_cases.rs"]
mod matmul_cases;

fn context() -> Option<GpuContext> {
    match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => Some(ctx),
        Err(e) if std::env::var("SOFTPLAY_REQUIRE_GPU").as_deref() != Ok("1") => {
            eprintln!("skipping: {e}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn gpu_attention_matches_cpu() {
    let Some(ctx) = context() else { return };
    let worst = pollster::block_on(cases::gpu_cpu_max_difference(&ctx));
    println!("GPU attention vs CPU on {}: largest difference {worst:e}", ctx.adapter_description());
}

#[test]
fn gpu_linear_layer_matches_cpu() {
    let Some(ctx) = context() else { return };
    let worst = pollster::block_on(matmul_cases::gpu_matmul_max_difference(&ctx));
    println!("GPU linear layer vs CPU on {}: largest relative difference {worst:e}", ctx.adapter_description());
}

#[test]
fn run_time_choice_uses_the_gpu_where_it_has_a_kernel_and_the_cpu_otherwise() {
    use softplay_kernels::gpu::{attention_forward_auto, ComputedOn};
    let ctx = context();
    let shape = Shape::single(33, 16);
    let mut x = vec![0.0f32; shape.qkv_len()];
    Rng::new(4).fill_normal(&mut x, 1.0);
    for (variant, on_gpu) in [(Variant::Sigmoid { bias: None }, true), (Variant::Relu, false)] {
        let a = Attention { shape, variant, mask: Mask::Causal };
        let (out, on) = pollster::block_on(attention_forward_auto(ctx.as_ref(), &a, &x, &x, &x)).unwrap();
        let want = if on_gpu && ctx.is_some() { ComputedOn::Gpu } else { ComputedOn::Cpu };
        assert_eq!(on, want, "{variant:?}");
        let (cpu, _) = pollster::block_on(attention_forward_auto(None, &a, &x, &x, &x)).unwrap();
        for (g, c) in out.iter().zip(&cpu) {
            assert!((g - c).abs() <= 1e-4 * (1.0 + c.abs()));
        }
    }
}

#[test]
fn gpu_attention_says_which_variants_it_lacks() {
    let Some(ctx) = context() else { return };
    let x = vec![0.5f32; 8];
    let a = Attention { shape: Shape::single(4, 2), variant: Variant::Relu, mask: Mask::Full };
    let err = pollster::block_on(ctx.attention_forward(&a, &x, &x, &x)).unwrap_err();
    assert!(err.to_string().contains("no GPU kernel"), "{err}");
    // Bad shapes and parameters are errors naming the value, as on the CPU, never a panic.
    let empty = Attention {
        shape: Shape { batch: 0, heads: 1, n: 4, d: 2 },
        variant: Variant::Sigmoid { bias: None },
        mask: Mask::Full,
    };
    let err = pollster::block_on(ctx.attention_forward(&empty, &[], &[], &[])).unwrap_err();
    assert!(err.to_string().contains("every dimension must be at least 1"), "{err}");
    let bad_p = Attention { variant: Variant::Lssar { lssa: Default::default(), p: 0.0 }, ..a };
    let err = pollster::block_on(ctx.attention_forward(&bad_p, &x, &x, &x)).unwrap_err();
    assert!(err.to_string().contains("p=0"), "{err}");
}

#[test]
fn gpu_softmax_rows_matches_cpu() {
    let Some(ctx) = context() else { return };
    eprintln!("adapter: {}", ctx.adapter_description());
    let (rows, cols) = (300, 257);
    let mut x = vec![0.0f32; rows * cols];
    Rng::new(42).fill_normal(&mut x, 6.0);
    x[5] = 1e4; // a huge logit must not overflow on either side
    let gpu = pollster::block_on(ctx.softmax_rows(&x, cols)).unwrap();
    let mut cpu = x.clone();
    softmax_rows_in_place(&mut cpu, cols);
    let worst = gpu.iter().zip(&cpu).map(|(g, c)| (g - c).abs() / c.abs().max(1e-6)).fold(0.0f32, f32::max);
    assert!(worst <= 1e-4, "largest relative difference {worst}");
    assert!(gpu.iter().all(|v| v.is_finite()));
}

#[test]
fn gpu_rejects_a_bad_shape_instead_of_panicking() {
    let Some(ctx) = context() else { return };
    let err = pollster::block_on(ctx.softmax_rows(&[1.0, 2.0, 3.0], 2)).unwrap_err();
    assert!(err.to_string().contains("not rows of 2"), "{err}");
}

#[path = "shared/gpu_train_cases.rs"]
mod train_cases;

#[test]
fn gpu_training_matches_the_cpu_trainer() {
    let Some(ctx) = context() else { return };
    let (loss, params) = pollster::block_on(train_cases::gpu_training_max_difference(&ctx));
    println!(
        "GPU training vs CPU on {}, {} steps of {} pairs: losses within {loss:e} relative, parameters within {params:e}",
        ctx.adapter_description(),
        train_cases::STEPS,
        train_cases::pairs().len()
    );
}

#[test]
fn a_nan_stops_a_gpu_run_naming_the_step_and_the_layer() {
    let Some(ctx) = context() else { return };
    pollster::block_on(train_cases::a_nan_stops_the_gpu_run_like_the_cpu(&ctx));
}

#[test]
fn gpu_training_carries_attention_state_across_dispatches() {
    let Some(ctx) = context() else { return };
    let (loss, params) = pollster::block_on(train_cases::gpu_trains_long_sequences_like_the_cpu(&ctx));
    println!("GPU training of 180-token sequences vs CPU: losses within {loss:e}, parameters within {params:e}");
}

#[test]
fn a_run_moves_between_the_cpu_and_the_gpu_and_ends_where_a_cpu_run_does() {
    let Some(ctx) = context() else { return };
    let (loss, params) = pollster::block_on(train_cases::a_run_moves_between_the_backends(&ctx));
    println!("CPU → GPU → CPU vs CPU alone, 20 steps: losses within {loss:e}, parameters within {params:e}");
}

#[test]
fn a_destroyed_device_is_an_error_naming_it() {
    let Some(ctx) = context() else { return };
    pollster::block_on(train_cases::a_lost_device_is_an_error_not_a_panic(&ctx));
}

#[path = "shared/activation_fixtures.rs"]
mod shared;

#[path = "shared/model_fixtures.rs"]
mod model_fixtures;

/// One GPU step against the float64 JAX reference of the model (`tools/gen_model_fixtures.py`):
/// for every fixture case the GPU trains, the loss within 1e-5 relative and every gradient entry
/// within 1e-4 of the largest entry of its tensor, as the CPU is held to in
/// `model_reference.rs`.
#[test]
fn one_gpu_step_matches_the_jax_reference() {
    use model_fixtures::{config_of, count, ids, tensors_of};
    use softplay_kernels::{
        gpu::{supports_training, GpuTrainer},
        model::train::Optimiser,
    };
    let Some(ctx) = context() else { return };
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/model.json")).unwrap();
    let fixtures: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (mut checked, mut worst_loss, mut worst_grad) = (0, 0.0f64, (0.0f64, String::new()));
    for case in fixtures["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let cfg = config_of(&case["config"]);
        if supports_training(&cfg).is_err() {
            continue;
        }
        assert_eq!(cfg.tensors(), tensors_of(&case["tensors"]), "{name}");
        let params: Vec<f32> = shared::floats(&case["params"]).into_iter().map(|x| x as f32).collect();
        let (b, t) = (count(&case["batch"]), count(&case["seq_len"]));
        let mut gpu = GpuTrainer::new(&ctx, &cfg, &Optimiser::default(), b, t, &params).unwrap();
        gpu.submit(&ids(&case["tokens"]), &ids(&case["targets"])).unwrap();
        let progress = pollster::block_on(gpu.read()).unwrap();
        assert_eq!(progress.divergence, None, "{name}");
        let want = case["loss"].as_f64().unwrap();
        let loss = (progress.losses[0] as f64 - want).abs() / want.abs();
        assert!(loss <= 1e-5, "{name}: loss {} vs {want}", progress.losses[0]);
        worst_loss = worst_loss.max(loss);
        let grads = pollster::block_on(gpu.grads()).unwrap();
        let want = shared::floats(&case["grad"]);
        for tensor in cfg.tensors() {
            let (at, len) = tensor.span;
            let scale = want[at..at + len].iter().fold(0.0f64, |m, w| m.max(w.abs())).max(1e-12);
            for i in at..at + len {
                let e = if grads[i].is_finite() { (grads[i] as f64 - want[i]).abs() / scale } else { f64::INFINITY };
                assert!(
                    e <= 1e-4,
                    "{name}: d{}[{}] = {} vs {} ({e:.2e} of {scale:.3e})",
                    tensor.name,
                    i - at,
                    grads[i],
                    want[i]
                );
                if e > worst_grad.0 {
                    worst_grad = (e, format!("{name}: d{}", tensor.name));
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} fixture cases have a GPU kernel");
    println!(
        "one GPU step vs float64 JAX on {}, {checked} cases: loss within {worst_loss:.2e}, gradients within {:.2e} ({})",
        ctx.adapter_description(),
        worst_grad.0,
        worst_grad.1
    );
}
