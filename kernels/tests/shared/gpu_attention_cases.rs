// Shared by tests/gpu.rs (native, lavapipe) and tests/web.rs (Chromium, SwiftShader): the
// GPU attention kernels against the CPU ones, within 1e-4 (row-relative, as in
// attention_reference.rs), over every GPU variant, both masks, several heads.

use softplay_kernels::{
    attention::{attention_forward, Attention, Extras, Lssa, LssaScale, Mask, Shape, SoftmaxAlgorithm, Variant},
    gpu::GpuContext,
    Rng,
};

pub fn gpu_variants() -> Vec<Variant> {
    vec![
        Variant::Softmax(SoftmaxAlgorithm::ThreePass),
        Variant::Lssa(Lssa::DEFAULT),
        Variant::Lssa(Lssa { qk_norm: false, scale: LssaScale::InvSqrtD }),
        Variant::Lssa(Lssa { qk_norm: true, scale: LssaScale::None }),
        Variant::LSSAR_DEFAULT,
        Variant::Sigmoid { bias: None },
        Variant::Sigmoid { bias: Some(1.5) },
    ]
}

/// Largest row-relative difference between GPU and CPU outputs over all cases; panics with
/// the case on a GPU error.
pub async fn gpu_cpu_max_difference(ctx: &GpuContext) -> f32 {
    let mut worst = 0.0f32;
    for (n, d, scale) in
        [(1usize, 16usize, 1.0f32), (37, 16, 2.0), (130, 64, 1.0), (64, 8, 30.0), (520, 64, 1.0), (40, 256, 1.0)]
    {
        let shape = Shape { batch: 1, heads: 2, n, d };
        let len = shape.qkv_len();
        let mut rng = Rng::new((n * d) as u64);
        let (mut q, mut k, mut v) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
        rng.fill_normal(&mut q, scale);
        rng.fill_normal(&mut k, scale);
        rng.fill_normal(&mut v, 1.0);
        for variant in gpu_variants() {
            for mask in [Mask::Causal, Mask::Full] {
                let a = Attention { shape, variant, mask };
                let gpu = ctx
                    .attention_forward(&a, &q, &k, &v)
                    .await
                    .unwrap_or_else(|e| panic!("{variant:?} {mask:?} n={n} d={d}: {e}"));
                let mut cpu = vec![0.0; len];
                attention_forward(&a, &q, &k, &v, &mut cpu, Extras::default()).unwrap();
                for (g, c) in gpu.chunks(d).zip(cpu.chunks(d)) {
                    let size = c.iter().fold(1e-6f32, |m, x| m.max(x.abs()));
                    let err = g.iter().zip(c).fold(0.0f32, |m, (a, b)| m.max((a - b).abs())) / size;
                    assert!(err <= 1e-4, "{variant:?} {mask:?} n={n} d={d} scale={scale}: GPU differs by {err:e}");
                    worst = worst.max(err);
                }
            }
        }
    }
    worst
}
