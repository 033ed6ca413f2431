//! The Model lab's decoder-only transformer (llm.c style: each layer a forward and a backward
//! over caller-visible buffers, shapes written once at the top).

pub mod checkpoint;
pub mod matmul;
pub mod tasks;
pub mod train;
pub mod transformer;
