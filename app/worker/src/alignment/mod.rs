//! The Alignment lab's messages: the DPO toy, trained for a number of steps with progress and
//! the trace so far. The handler is [`handler`].

pub mod handler;

use serde::{Deserialize, Serialize};
use softplay_kernels::alignment::preference_toy::{ToySpec, ToyTrace};

use crate::protocol::{Answer, Ask};

/// Work the Alignment lab asks of its worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Trains the DPO toy for `steps` steps, with progress.
    Toy { id: u32, spec: ToySpec, steps: u32 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    Toy(ToyReport),
}

/// The DPO toy's trace: so far (`done` false, about every 100 ms of a long run), or the whole
/// run and how long it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToyReport {
    pub id: u32,
    pub trace: ToyTrace,
    pub ms: f64,
    pub done: bool,
}

/// Most steps of one toy run.
pub const TOY_MAX_STEPS: u32 = 20_000;

impl Ask for Request {
    const LAB: &'static str = "alignment";
    fn id(&self) -> u32 {
        match self {
            Request::Toy { id, .. } => *id,
        }
    }
    fn validate(&self) -> Result<(), String> {
        match self {
            Request::Toy { spec, steps, .. } => {
                if *steps == 0 || *steps > TOY_MAX_STEPS {
                    return Err(format!("steps={steps}: must be 1..{TOY_MAX_STEPS}"));
                }
                spec.check()
            }
        }
    }
}

impl Answer for Done {
    fn id(&self) -> u32 {
        match self {
            Done::Toy(r) => r.id,
        }
    }
    /// A long run sends its trace so far first.
    fn last(&self) -> bool {
        match self {
            Done::Toy(r) => r.done,
        }
    }
}
