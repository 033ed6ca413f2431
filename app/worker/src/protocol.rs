//! Messages between the page and the compute worker: plain data, serialised with
//! `serde-wasm-bindgen` into `postMessage`.
//!
//! The page sends a [`Request`] with an `id` it chooses; the worker answers with any number of
//! [`Response::Progress`] for that id and then exactly one [`Response::SoftmaxDone`] (or the
//! result type of the request) or [`Response::Failed`]. On start the worker sends
//! [`Response::Ready`] once, saying which backend it computes on.

use serde::{Deserialize, Serialize};

/// Largest vector the softmax demo accepts: 2^24 values (64 MiB of f32).
pub const SOFTMAX_DEMO_MAX_LEN: u32 = 1 << 24;

/// Work the page asks of the worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Softmax over `len` seeded `N(0, scale²)` values, in chunks, with progress: the worker's
    /// proof of life and the page's responsiveness check.
    Softmax { id: u32, len: u32, seed: u32, scale: f32 },
}

/// What the worker computes on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backend {
    /// WebGPU, with the adapter's description and the largest difference (relative to each
    /// output row) between the GPU's and the CPU's attention on the start-up check.
    WebGpu { adapter: String, max_rel_diff: f32 },
    /// The CPU (wasm simd128), and why not the GPU.
    Cpu { reason: String },
}

/// The worker's answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    /// Sent once at start, after the GPU probe.
    Ready { backend: Backend },
    /// `done` of `total` units of request `id` are finished; `stage` names the current pass.
    Progress { id: u32, stage: String, done: u32, total: u32 },
    /// The result of [`Request::Softmax`].
    SoftmaxDone(SoftmaxSummary),
    /// Request `id` (or the worker itself, when `id` is `None`) failed; `message` says why.
    Failed { id: Option<u32>, message: String },
    /// A message the worker could not read as a [`Request`] (say, from a page of another
    /// version); the worker keeps running.
    Unreadable { message: String },
}

/// Summary of a softmax demo run: enough to check the result without moving the vector back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoftmaxSummary {
    pub id: u32,
    pub len: u32,
    /// `Σ p`, which should be 1 up to rounding.
    pub sum: f64,
    /// The largest probability.
    pub max_prob: f32,
    /// `−Σ p ln p` in nats.
    pub entropy: f64,
    pub elapsed_ms: f64,
}

impl Request {
    /// The id the page gave this request.
    pub fn id(&self) -> u32 {
        match self {
            Request::Softmax { id, .. } => *id,
        }
    }

    /// Checks the request's values; the message names the value and the allowed range.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Request::Softmax { len, scale, .. } => {
                if len == 0 || len > SOFTMAX_DEMO_MAX_LEN {
                    return Err(format!("len={len}: must be 1..{SOFTMAX_DEMO_MAX_LEN}"));
                }
                if !(scale.is_finite() && scale > 0.0 && scale <= 1e4) {
                    return Err(format!("scale={scale}: must be in (0, 10000]"));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_bad_value_and_the_range() {
        let bad = Request::Softmax { id: 1, len: 0, seed: 0, scale: 1.0 };
        assert_eq!(bad.validate().unwrap_err(), "len=0: must be 1..16777216");
        let bad = Request::Softmax { id: 1, len: 10, seed: 0, scale: f32::NAN };
        assert!(bad.validate().unwrap_err().starts_with("scale=NaN"));
        assert!(Request::Softmax { id: 1, len: 10, seed: 0, scale: 2.0 }.validate().is_ok());
    }
}
