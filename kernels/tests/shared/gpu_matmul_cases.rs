// Shared by tests/gpu.rs (native, lavapipe) and tests/web.rs (Chromium, SwiftShader): the GPU
// linear layer (gemm.wgsl) against the CPU's matmul_forward and matmul_backward, forward and
// every gradient, with and without bias, on shapes that cut tiles of 16 and, for the weight
// gradient, a reduction longer than one dispatch.

use softplay_kernels::{
    gpu::{GpuContext, MatmulShape, GEMM_K_PER_DISPATCH},
    model::matmul::{matmul_backward, matmul_forward},
    Rng,
};

fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut x = vec![0.0f32; len];
    Rng::new(seed).fill_normal(&mut x, 1.0);
    x
}

/// Largest |gpu − cpu| over the largest |cpu| of one tensor.
fn relative(gpu: &[f32], cpu: &[f32]) -> f32 {
    assert_eq!(gpu.len(), cpu.len());
    let top = cpu.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-30);
    gpu.iter().zip(cpu).fold(0.0f32, |m, (g, c)| m.max((g - c).abs())) / top
}

/// Runs every case and returns the largest relative difference; panics above 1e-5.
pub async fn gpu_matmul_max_difference(ctx: &GpuContext) -> f32 {
    let shapes = [
        MatmulShape { n: 1, i: 1, o: 1 },
        MatmulShape { n: 7, i: 5, o: 3 },
        MatmulShape { n: 33, i: 17, o: 48 },
        MatmulShape { n: 64, i: 32, o: 128 },
        // The weight gradient's reduction runs over n: longer than one dispatch.
        MatmulShape { n: GEMM_K_PER_DISPATCH + 40, i: 3, o: 5 },
    ];
    let mut worst = 0.0f32;
    for (case, s) in shapes.into_iter().enumerate() {
        for with_bias in [false, true] {
            let seed = 10 * case as u64 + u64::from(with_bias);
            let (inp, w, bias) = (random(s.n * s.i, seed), random(s.i * s.o, seed + 100), random(s.o, seed + 200));
            let bias = with_bias.then_some(bias.as_slice());
            let mut cpu = vec![0.0f32; s.n * s.o];
            matmul_forward(&mut cpu, &inp, &w, bias, s.n, s.i, s.o);
            let gpu = ctx.matmul_forward(&inp, &w, bias, s).await.expect("the GPU forward");
            let d = relative(&gpu, &cpu);
            assert!(d <= 1e-5, "forward {s:?} bias {with_bias}: {d:e}");
            worst = worst.max(d);

            // The gradients accumulate into what is there, as on the CPU.
            let dout = random(s.n * s.o, seed + 300);
            let (mut dinp, mut dw) = (random(s.n * s.i, seed + 400), random(s.i * s.o, seed + 500));
            let mut dbias = random(s.o, seed + 600);
            let (dinp0, dw0, dbias0) = (dinp.clone(), dw.clone(), dbias.clone());
            matmul_backward(&mut dinp, &mut dw, with_bias.then_some(&mut dbias[..]), &dout, &inp, &w, s.n, s.i, s.o);
            let g = ctx
                .matmul_backward(&dinp0, &dw0, with_bias.then_some(&dbias0[..]), &dout, &inp, &w, s)
                .await
                .expect("the GPU backward");
            for (name, gpu, cpu) in [("dinp", &g.dinp, &dinp), ("dw", &g.dw, &dw)] {
                let d = relative(gpu, cpu);
                assert!(d <= 1e-5, "{name} {s:?} bias {with_bias}: {d:e}");
                worst = worst.max(d);
            }
            match (&g.dbias, with_bias) {
                (Some(gpu), true) => {
                    let d = relative(gpu, &dbias);
                    assert!(d <= 1e-5, "dbias {s:?}: {d:e}");
                    worst = worst.max(d);
                }
                (None, false) => {}
                (got, _) => panic!("dbias {got:?} with bias {with_bias}"),
            }
        }
    }
    // Bad shapes are errors naming the value, never a panic.
    let err = ctx.matmul_forward(&[1.0; 3], &[1.0; 4], None, MatmulShape { n: 2, i: 2, o: 2 }).await.unwrap_err();
    assert!(err.to_string().contains("inp has 3 values; the shape needs 4"), "{err}");
    worst
}
