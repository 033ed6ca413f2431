//! The compute workers: each lab's messages and handler, one folder (or file) per lab, and the
//! Web Worker entries that only dispatch to them.
//!
//! [`protocol`] is what every lab shares (the envelope of a worker's answers, the traits a
//! lab's messages implement, the [`protocol::Host`] a handler runs in). Each lab's module holds
//! its requests and answers, their checks, and its handler as plain Rust with native tests:
//! [`shell`] (the About page's compute check), [`attention`], [`activations`], [`alignment`].
//! The entry `softplay-worker` (`src/main.rs`, built by trunk as its own WebAssembly module at
//! opt-level 3) reads a message's `lab` and hands it to that lab's handler.
//!
//! The Model lab trains in a worker of its own, `softplay-model-worker` (`src/model_main.rs`),
//! with its own messages and runs ([`model`], [`model::runs`]).

pub mod activations;
pub mod alignment;
pub mod attention;
pub mod model;
pub mod protocol;
pub mod shell;
