//! Softplay kernels: the math behind every curve and heatmap in the playground.
//!
//! Plain Rust with no dependency on the web, the page or the URL. It builds and tests
//! natively and on `wasm32-unknown-unknown` (with `+simd128`). The GPU path (wgpu: WebGPU in
//! the browser, Vulkan natively) sits behind the `gpu` feature, with the same numbers as the
//! CPU path.
//!
//! Layout, after llm.c: each operation is a plain function over caller-owned buffers, with
//! the shapes written once at the top of its doc comment. What each kernel computes, its
//! defaults, numerical traps and papers: `docs/MATH.md`, cited by section in each module.

pub mod activation;
pub mod alignment;
pub mod attention;
#[cfg(feature = "serde")]
pub mod f32_bytes;
pub mod fit;
pub mod mlp;
pub mod model;
pub mod rng;
pub mod softmax;
pub mod vector;

#[cfg(feature = "gpu")]
pub mod gpu;

pub use rng::Rng;
