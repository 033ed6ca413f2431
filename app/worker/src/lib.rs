//! The compute worker of the page.
//!
//! [`protocol`] is the one file of message types shared by the page (which sends
//! [`protocol::Request`]s) and the worker (which answers with [`protocol::Response`]s). The
//! worker entry itself is the `softplay-worker` binary (`src/main.rs`), built by trunk as a
//! separate WebAssembly module at opt-level 3.

pub mod protocol;
