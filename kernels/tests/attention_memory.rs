//! Without a request for the weights, softmax, LSSA and sigmoid attention at n = 4096, d = 64
//! must not hold the n×n matrix: this counts every byte the forward pass allocates.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicUsize, Ordering},
};

use softplay_kernels::{
    attention::{attention_forward, Attention, Extras, Lssa, Mask, Shape, SoftmaxAlgorithm, Variant},
    Rng,
};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn n4096_forward_uses_order_n_d_extra_memory() {
    let (n, d) = (4096, 64);
    let shape = Shape::single(n, d);
    let mut x = vec![0.0f32; n * d];
    Rng::new(1).fill_normal(&mut x, 1.0);
    let mut out = vec![0.0f32; n * d];
    let qkv_bytes = n * d * 4;
    for variant in [
        Variant::Softmax(SoftmaxAlgorithm::ThreePass),
        Variant::Softmax(SoftmaxAlgorithm::Online),
        Variant::Lssa(Lssa::DEFAULT),
        Variant::Sigmoid { bias: None },
    ] {
        let a = Attention { shape, variant, mask: Mask::Causal };
        let before = CURRENT.load(Ordering::SeqCst);
        PEAK.store(before, Ordering::SeqCst);
        attention_forward(&a, &x, &x, &x, &mut out, Extras::default()).unwrap();
        let extra = PEAK.load(Ordering::SeqCst) - before;
        println!(
            "{variant:?}: peak extra memory {extra} bytes = {:.2} × one [n, d] tensor",
            extra as f64 / qkv_bytes as f64
        );
        // At most: transformed q and k and the keys transposed (3 × n·d), the norms, a block of
        // four score rows and a scratch row (8 × n), a block of outputs: O(n·d), far below the
        // n² weights (64 MiB).
        assert!(extra <= 3 * qkv_bytes + 8 * n * 4 + 4 * d * 4, "{variant:?}: {extra} bytes");
        assert!(extra * 16 < n * n * 4);
    }
}
