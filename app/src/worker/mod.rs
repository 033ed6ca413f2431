//! The page's side of the compute worker. The message types live in the `softplay-worker`
//! crate (`app/worker/src/protocol.rs`), next to the worker entry that answers them.

pub mod client;

pub use softplay_worker::protocol;
