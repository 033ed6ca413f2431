//! The compute worker of the page.
//!
//! [`protocol`] is the one file of message types shared by the page (which sends
//! [`protocol::Request`]s) and the worker (which answers with [`protocol::Response`]s). The
//! worker entry itself is the `softplay-worker` binary (`src/main.rs`), built by trunk as a
//! separate WebAssembly module at opt-level 3.
//!
//! The Model lab trains in a worker of its own, `softplay-model-worker` (`src/model_main.rs`),
//! with its own messages ([`model`]) and runs ([`model_runs`]).

pub mod model;
pub mod model_runs;
pub mod protocol;
