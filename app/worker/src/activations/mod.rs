//! The Activations lab's messages: the fitting race, run on in slices (a race number the worker
//! does not hold starts a new race from its spec), and what comes back of each entrant. The
//! handler is [`handler`].

pub mod handler;

use serde::{Deserialize, Serialize};
use softplay_kernels::{
    fit::{self, FitSpec},
    mlp::{Hidden, Target},
};

use crate::protocol::{Answer, Ask, F32s};

/// Work the Activations lab asks of its worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Runs the fitting race `race` (a number the page chooses) on by up to `steps` steps,
    /// answering after about `budget_ms`; a race number the worker does not hold starts a new
    /// race from `spec` (the worker holds one race at a time).
    Fit { id: u32, race: u32, spec: FitWire, steps: u32, budget_ms: f64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    Fit(FitReport),
}

/// A fitting race's settings: [`FitSpec`] on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitWire {
    pub entrants: Vec<Hidden>,
    pub hidden: Vec<u32>,
    pub target: Target,
    pub lr: f32,
    pub seed: u32,
}

impl FitWire {
    pub fn spec(&self) -> FitSpec {
        FitSpec {
            entrants: self.entrants.clone(),
            hidden: self.hidden.iter().map(|&w| w as usize).collect(),
            target: self.target,
            lr: self.lr,
            seed: self.seed as u64,
        }
    }
}

/// Most steps one [`Request::Fit`] may ask for, and the longest race.
pub const FIT_MAX_STEPS: u32 = 100_000;

/// A histogram of one hidden layer (see `softplay_kernels::fit::Histogram`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistogramWire {
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<u32>,
    pub zeros: u32,
    pub total: u32,
}

/// One entrant's trained network, as the lab shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotWire {
    pub fitted: F32s,
    pub histograms: Vec<HistogramWire>,
    pub ratio: Vec<f32>,
    pub active: Vec<f32>,
    pub top_k: Vec<(u32, f32)>,
}

impl SnapshotWire {
    pub fn of(s: fit::Snapshot) -> SnapshotWire {
        SnapshotWire {
            fitted: F32s(s.fitted),
            histograms: s
                .histograms
                .into_iter()
                .map(|h| HistogramWire { lo: h.lo, hi: h.hi, counts: h.counts, zeros: h.zeros, total: h.total })
                .collect(),
            ratio: s.ratio,
            active: s.active,
            top_k: s.top_k,
        }
    }
}

/// The answer to [`Request::Fit`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    pub id: u32,
    pub race: u32,
    /// Steps taken in all, after this run.
    pub step: u32,
    /// Per entrant, the loss before each step of this run.
    pub losses: Vec<F32s>,
    /// Per entrant, the loss of the network now (after `step` steps).
    pub current: Vec<f32>,
    /// Per entrant, the step at which it diverged.
    pub diverged: Vec<Option<u32>>,
    pub snapshots: Vec<SnapshotWire>,
    /// Time the steps of this run took in the worker.
    pub ms: f64,
}

impl Ask for Request {
    const LAB: &'static str = "activations";
    fn id(&self) -> u32 {
        match self {
            Request::Fit { id, .. } => *id,
        }
    }
    fn validate(&self) -> Result<(), String> {
        match self {
            Request::Fit { spec, steps, budget_ms, .. } => {
                if *steps > FIT_MAX_STEPS {
                    return Err(format!("steps={steps}: must be 0..{FIT_MAX_STEPS}"));
                }
                if !(budget_ms.is_finite() && *budget_ms > 0.0 && *budget_ms <= 10_000.0) {
                    return Err(format!("budget_ms={budget_ms}: must be in (0, 10000]"));
                }
                spec.spec().check()
            }
        }
    }
}

impl Answer for Done {
    fn id(&self) -> u32 {
        match self {
            Done::Fit(r) => r.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_requests_are_checked() {
        use softplay_kernels::activation::{Activation, Gate};
        let wire = FitWire {
            entrants: vec![Hidden::Each(Activation::Silu { beta: 1.0 }), Hidden::Gated(Gate::GeGlu)],
            hidden: vec![16],
            target: Target::Chirp,
            lr: 0.01,
            seed: 7,
        };
        let fit = |spec: FitWire, steps| Request::Fit { id: 1, race: 1, spec, steps, budget_ms: 50.0 };
        assert!(fit(wire.clone(), 100).validate().is_ok());
        assert_eq!(fit(wire.clone(), FIT_MAX_STEPS + 1).validate().unwrap_err(), "steps=100001: must be 0..100000");
        let mut wide = wire.clone();
        wide.hidden = vec![16, 65];
        assert_eq!(fit(wide, 10).validate().unwrap_err(), "hidden width 65: allowed 1 to 64");
        let mut bad = wire.clone();
        bad.lr = 0.0;
        assert_eq!(fit(bad, 10).validate().unwrap_err(), "learning rate 0: allowed above 0 up to 1");
        let budget = Request::Fit { id: 1, race: 1, spec: wire, steps: 1, budget_ms: f64::INFINITY };
        assert_eq!(budget.validate().unwrap_err(), "budget_ms=inf: must be in (0, 10000]");
    }
}
