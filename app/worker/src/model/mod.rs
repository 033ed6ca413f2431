//! Messages between the Model lab and its training worker (`softplay-model-worker`, built from
//! `src/model_main.rs`): plain data through `serde-wasm-bindgen`, like [`crate::protocol`],
//! but a protocol of its own, so that neither the shell nor the main worker carries it.
//!
//! The lab names each run with a number it chooses. It starts a run ([`ModelRequest::Start`],
//! from the seed or from checkpoint parameters), then asks for training in slices of a few
//! tens of milliseconds ([`ModelRequest::Train`]) until the run is done, paused or stopped:
//! between two slices the worker reads the next message, and the lab's Pause takes effect at
//! the next slice. Every answer names its run.

#[cfg(feature = "gpu")]
mod gpu;
#[cfg(not(feature = "gpu"))]
#[path = "no_gpu.rs"]
mod gpu;
pub mod runs;

use serde::{Deserialize, Serialize};
use softplay_kernels::{
    attention::Variant,
    mlp::Hidden,
    model::{
        tasks::Task,
        train::Optimiser,
        transformer::{Config, Norm, Positions},
    },
};

use crate::protocol::F32s;

/// Largest model the lab trains on the CPU (parameters): a step of it takes about a second.
pub const MAX_PARAMS_CPU: usize = 4_000_000;
/// Largest model it trains on WebGPU, where the adapter binds a buffer large enough (a run's
/// parameters, gradients, Adam moments and activations live in one buffer).
pub const MAX_PARAMS_GPU: usize = 32_000_000;

/// How long sequences of a length sweep may be, in multiples of the trained length.
pub const SWEEP_MULTIPLES: [u32; 5] = [1, 2, 4, 8, 16];

/// Everything a run is made from: the model, the task, the optimiser and the seed. Not the
/// kernels' [`Config`] itself: its vocabulary and longest sequence follow from the task and the
/// length sweep ([`RunSpec::config`]), and the run needs the task, batch and optimiser beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub task: Task,
    /// The task's size (items, pairs, characters) trained on.
    pub len: u32,
    pub batch: u32,
    pub layers: u32,
    pub width: u32,
    pub heads: u32,
    pub ffn: u32,
    pub attention: Variant,
    pub hidden: Hidden,
    pub norm: Norm,
    pub positions: Positions,
    pub tied: bool,
    pub opt: Optimiser,
    pub seed: u32,
    /// Validation every this many steps (and at the last).
    pub eval_every: u32,
    pub eval_batches: u32,
    /// Where the run asks to train (the worker answers where it does, and why).
    pub backend: Backend,
}

/// Where a run trains. [`Backend::Auto`] is WebGPU when the worker's GPU passed its start-up
/// check and trains this model faster than the CPU (timed at the run's start), else the CPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Auto,
    #[default]
    Cpu,
    Gpu,
}

impl Backend {
    /// The name the page shows.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Auto => "Auto",
            Backend::Cpu => "CPU",
            Backend::Gpu => "WebGPU",
        }
    }
}

impl RunSpec {
    /// The model. Learned positions get rows for the longest sequence of a length sweep
    /// (those past the trained length keep their initial values).
    pub fn config(&self) -> Config {
        let longest = SWEEP_MULTIPLES[SWEEP_MULTIPLES.len() - 1] as usize * self.len as usize;
        Config {
            vocab: self.task.vocab(),
            max_len: self.task.seq_len(longest).max(self.task.seq_len(self.len as usize)),
            layers: self.layers as usize,
            width: self.width as usize,
            heads: self.heads as usize,
            ffn: self.ffn as usize,
            attention: self.attention,
            hidden: self.hidden,
            norm: self.norm,
            positions: self.positions,
            tied: self.tied,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelRequest {
    /// A run from the seed, or from `params` (a checkpoint, already checked against the spec).
    Start { run: u32, spec: Box<RunSpec>, params: Option<F32s> },
    /// Trains until step `until` or for about `budget_ms`, whichever comes first.
    Train { run: u32, until: u32, budget_ms: f64 },
    /// Loss and accuracy at each multiple of the trained length.
    Sweep { run: u32 },
    /// One validation example of size `len` from `seed`: attention maps, sparsity, answers.
    Inspect { run: u32, len: u32, seed: u32 },
    /// The parameters, to save as a checkpoint.
    Export { run: u32 },
    /// Forgets the run.
    Drop { run: u32 },
    /// Moves the run to the CPU or to WebGPU from the step it has reached: weights, Adam
    /// moments and the batch stream are copied, so training goes on where it was.
    Move { run: u32, to: Backend },
    /// Destroys the worker's GPU device, as a driver reset would: for the tests of what a run
    /// does when its GPU goes away. Answered with [`ModelResponse::Moved`] for `run`.
    LoseGpu { run: u32 },
    /// Makes the worker panic, as a bug would: for the tests of a worker that dies and comes
    /// back (the page sends it on the window event `softplay:crash-worker`, detail `model`).
    Crash,
}

/// One logged step: the training batch's loss, and validation where it was measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub step: u32,
    pub loss: f32,
    pub val_loss: Option<f32>,
    pub val_accuracy: Option<f32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LengthScore {
    pub multiple: u32,
    /// The task size evaluated and the tokens per sequence.
    pub len: u32,
    pub tokens: u32,
    pub loss: f32,
    pub accuracy: f32,
}

/// An example seen through a model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    /// The tokens as text, one string each.
    pub tokens: Vec<String>,
    /// Per layer, `[heads, T, T]` attention weights.
    pub maps: Vec<F32s>,
    pub heads: u32,
    /// Per layer, the feed-forward unit's outputs exactly 0, and at most 0.01 in magnitude
    /// (shares over a validation batch).
    pub sparsity: Vec<(f32, f32)>,
    /// Greedy completions next to the expected ones.
    pub completions: Vec<Completion>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub prompt: String,
    pub expected: String,
    pub got: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelResponse {
    /// The worker reads messages from now on.
    Listening,
    /// The worker panicked and stops; `message` says where and why. The page starts a new one.
    Stopped {
        message: String,
    },
    Started {
        run: u32,
        params: u32,
        tokens_per_step: u32,
        /// Where it trains ([`Backend::Cpu`] or [`Backend::Gpu`]), and why when that is not
        /// what was asked or Auto chose.
        backend: Backend,
        note: Option<String>,
    },
    /// A slice of training: the points logged, the step reached, the milliseconds it computed;
    /// `stopped` says why training cannot go on (a NaN, named by step and layer); `backend`
    /// where it trains now, with a `note` when it moved (a lost GPU: the run goes on on the
    /// CPU from the last step the lab has).
    Trained {
        run: u32,
        points: Vec<Point>,
        step: u32,
        ms: f64,
        stopped: Option<String>,
        backend: Backend,
        note: Option<String>,
    },
    Swept {
        run: u32,
        scores: Vec<LengthScore>,
        /// Why a length could not be evaluated (none when all were).
        note: Option<String>,
    },
    Inspected {
        run: u32,
        inspection: Box<Inspection>,
    },
    Exported {
        run: u32,
        params: F32s,
        step: u32,
    },
    Dropped {
        run: u32,
    },
    /// Where the run trains after a [`ModelRequest::Move`], and what happened.
    Moved {
        run: u32,
        backend: Backend,
        note: String,
    },
    /// The request for `run` (or the worker, when `None`) failed.
    Failed {
        run: Option<u32>,
        message: String,
    },
}
