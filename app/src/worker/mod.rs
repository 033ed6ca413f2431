//! The page's side of the compute workers. The message types live in the `softplay-worker`
//! crate (`app/worker/src/protocol.rs`), next to the worker entry that answers them.

pub mod client;
pub mod latest;

pub use softplay_worker::protocol;

/// A second worker for long runs (length sweeps, stability scans), so that they never hold up
/// the interactive heatmaps; the machine's second core runs it.
#[derive(Clone, Copy)]
pub struct LongCompute(pub client::Compute);
