//! The GPU path against the CPU path, natively (Vulkan; lavapipe on a machine with no GPU).
//! Built only with `--features gpu`; skipped with a message when no Vulkan adapter exists
//! unless SOFTPLAY_REQUIRE_GPU=1, which `cargo xtask test` sets after installing lavapipe.
#![cfg(all(feature = "gpu", not(target_arch = "wasm32")))]

use softplay_kernels::{gpu::GpuContext, softmax::softmax_rows_in_place, Rng};

#[test]
fn gpu_softmax_rows_matches_cpu() {
    let ctx = match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => ctx,
        Err(e) if std::env::var("SOFTPLAY_REQUIRE_GPU").as_deref() != Ok("1") => {
            eprintln!("skipping: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
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
    let Ok(ctx) = pollster::block_on(GpuContext::new()) else { return };
    let err = pollster::block_on(ctx.softmax_rows(&[1.0, 2.0, 3.0], 2)).unwrap_err();
    assert!(err.to_string().contains("not rows of 2"), "{err}");
}
