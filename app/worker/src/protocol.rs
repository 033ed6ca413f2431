//! What every worker and page share, whatever the lab: the envelope of a worker's answers
//! ([`Reply`]), the traits a lab's messages implement ([`Ask`], [`Answer`]), what a handler
//! needs of the worker it runs in ([`Host`]), the backend a worker computes on, and f32 arrays
//! as bytes ([`F32s`]).
//!
//! Each lab has its own messages, next to its handler: [`crate::shell`] (the About page's
//! compute check), [`crate::attention`], [`crate::activations`], [`crate::alignment`] and
//! [`crate::model`]. A page sends a lab's request with the lab's name beside it (`{"lab":
//! "attention", "kind": "attention_maps", "id": 7, …}`: requests are tagged inside); the worker
//! answers with any number of [`Reply::Progress`] for that id and then one [`Reply::Done`] or
//! [`Reply::Failed`] (answers are tagged outside, `{"done": {"maps": {…}}}`, `"listening"`:
//! serde decodes that form without buffering, with much less code in the page's wasm). On
//! start the worker sends [`Reply::Listening`], then [`Reply::Ready`] once, saying which
//! backend it computes on.

use std::future::Future;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// f32 values as little-endian bytes, so that postMessage copies one `Uint8Array` instead of
/// building an array of a million numbers: a message's own large arrays (weights, losses,
/// parameters). The form is the kernels' `f32_bytes`, which their types use for their own
/// large fields (`fit::Snapshot::fitted`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct F32s(#[serde(with = "softplay_kernels::f32_bytes")] pub Vec<f32>);

/// What the worker computes on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// WebGPU, with the adapter's description and the largest difference (relative to each
    /// output row) between the GPU's and the CPU's attention on the start-up check.
    WebGpu { adapter: String, max_rel_diff: f32 },
    /// The CPU (wasm simd128), and why not the GPU.
    Cpu { reason: String },
}

/// A lab's request: which lab's handler reads it, its id, its check, and whether it is long
/// work (long requests take turns in their worker).
pub trait Ask: Serialize + DeserializeOwned + 'static {
    /// The lab's name, sent beside the request.
    const LAB: &'static str;
    /// The id the page gave this request.
    fn id(&self) -> u32;
    /// Checks the request's values; the message names the value and the allowed range.
    fn validate(&self) -> Result<(), String>;
    /// Whether the request is long work, run after the long work before it.
    fn is_long(&self) -> bool {
        true
    }
}

/// A lab's answer to one of its requests.
pub trait Answer: Serialize + DeserializeOwned + 'static {
    /// The request this answers.
    fn id(&self) -> u32;
    /// Whether this is the last answer for it (a long run may send what it has so far first).
    fn last(&self) -> bool {
        true
    }
}

/// A worker's answers, around a lab's own ([`Answer`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply<A> {
    /// Sent once, as soon as the worker reads messages (before the GPU probe): requests made
    /// while it was loading can be sent now.
    Listening,
    /// Sent once at start, after the GPU probe.
    Ready { backend: Backend },
    /// `done` of `total` units of request `id` are finished; `stage` names the current pass.
    Progress { id: u32, stage: String, done: u32, total: u32 },
    /// A result (the last one, or one so far: [`Answer::last`]).
    Done(A),
    /// Request `id` (or the worker itself, when `id` is `None`) failed; `message` says why.
    Failed { id: Option<u32>, message: String },
    /// A message the worker could not read as a request (say, from a page of another
    /// version); the worker keeps running.
    Unreadable { message: String },
    /// The answer to the page's `{ lab: "__ping" }`: the worker still reads its messages.
    Alive,
}

/// What a worker says when it panics: the panic's message and where (`it panicked: …, at
/// file:line`), on one line for the page's notice.
pub fn panic_message(info: &std::panic::PanicHookInfo) -> String {
    let what = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    let at = info.location().map(|l| format!(", at {}:{}", l.file(), l.line())).unwrap_or_default();
    format!("it panicked: {what}{at}")
}

/// The page asks whether a worker still reads its messages (answered by [`Reply::Alive`]).
pub const PING: &str = "__ping";
/// A test's request that the worker panic (the page sends it on the window event
/// `softplay:crash-worker`), so that the e2e tests see a worker die and come back.
pub const CRASH: &str = "__crash";

impl<A: Answer> Reply<A> {
    /// The request this answers, and whether it is the last answer for it.
    pub fn request_id(&self) -> Option<(u32, bool)> {
        match self {
            Reply::Progress { id, .. } => Some((*id, false)),
            Reply::Done(answer) => Some((answer.id(), answer.last())),
            Reply::Failed { id: Some(id), .. } => Some((*id, true)),
            Reply::Listening
            | Reply::Ready { .. }
            | Reply::Failed { id: None, .. }
            | Reply::Unreadable { .. }
            | Reply::Alive => None,
        }
    }
}

/// What a handler needs of the worker it runs in: a clock, a way to send progress and the
/// results so far, and a yield to the event loop between chunks of work (in a Web Worker, so
/// that messages and the GPU's callbacks are heard; natively, in tests, nothing).
pub trait Host {
    fn now_ms(&self) -> f64;
    fn send<A: Answer>(&self, reply: &Reply<A>);
    fn yield_now(&self) -> impl Future<Output = ()>;

    fn progress(&self, id: u32, stage: &str, done: u32, total: u32) {
        self.send(&Reply::<NoAnswer>::Progress { id, stage: stage.to_string(), done, total });
    }
}

/// The answer type of a reply that carries none (progress, failures).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum NoAnswer {}

impl Answer for NoAnswer {
    fn id(&self) -> u32 {
        match *self {}
    }
}

/// A [`Host`] for native tests: a real clock, every message kept, no event loop.
#[cfg(all(test, not(target_arch = "wasm32")))]
pub mod test_host {
    use std::{cell::RefCell, time::Instant};

    use super::*;

    pub struct TestHost {
        start: Instant,
        /// Every reply sent, as JSON.
        pub sent: RefCell<Vec<String>>,
    }

    impl Default for TestHost {
        fn default() -> Self {
            TestHost { start: Instant::now(), sent: RefCell::new(Vec::new()) }
        }
    }

    impl Host for TestHost {
        fn now_ms(&self) -> f64 {
            self.start.elapsed().as_secs_f64() * 1e3
        }
        fn send<A: Answer>(&self, reply: &Reply<A>) {
            self.sent.borrow_mut().push(serde_json::to_string(reply).expect("replies serialise"));
        }
        fn yield_now(&self) -> impl Future<Output = ()> {
            std::future::ready(())
        }
    }

    /// Runs a handler's future to its end (handlers never wait on anything but their host).
    pub fn block_on<F: Future>(f: F) -> F::Output {
        pollster::block_on(f)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn replies_name_their_request_and_whether_it_is_the_last() {
        let progress = Reply::<NoAnswer>::Progress { id: 3, stage: "x".into(), done: 1, total: 2 };
        assert_eq!(progress.request_id(), Some((3, false)));
        assert_eq!(Reply::<NoAnswer>::Failed { id: Some(4), message: "m".into() }.request_id(), Some((4, true)));
        assert_eq!(Reply::<NoAnswer>::Listening.request_id(), None);
        assert_eq!(serde_json::to_string(&Reply::<NoAnswer>::Listening).unwrap(), "\"listening\"");
    }
}
