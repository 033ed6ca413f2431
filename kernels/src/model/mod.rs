//! The Model lab's decoder-only transformer (llm.c style: each layer a forward and a backward
//! over caller-visible buffers, shapes written once at the top). docs/MATH.md, “The
//! transformer”, “AdamW and the schedule”.
//!
//! `transformer.rs` chains the layers: `embedding.rs` (`embedding_forward`/`_backward`),
//! `norm.rs` (`rmsnorm_*`, `layernorm_*`), `matmul.rs`, `rope.rs` (`rope_forward`/`_backward`),
//! the attention of [`crate::attention`], the unit of [`crate::mlp`] and `output.rs`
//! (`logits_*`, `crossentropy_*`); `config.rs` holds the shape and the flat parameter layout,
//! `train.rs` AdamW and the schedule, `tasks.rs` the data, `checkpoint.rs` safetensors files.

pub mod checkpoint;
pub mod config;
pub mod embedding;
pub mod matmul;
pub mod norm;
pub mod output;
pub mod rope;
pub mod tasks;
pub mod train;
pub mod transformer;
