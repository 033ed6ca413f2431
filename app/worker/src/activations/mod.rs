//! The Activations lab's messages: the fitting race, run on in slices (a race number the worker
//! does not hold starts a new race from its spec), and what comes back of each entrant. The
//! handler is [`handler`].

pub mod handler;

use serde::{Deserialize, Serialize};
use softplay_kernels::{
    activation::{Activation, Properties},
    fit::{FitSpec, Snapshot},
};

use crate::protocol::{Answer, Ask, F32s};

/// Work the Activations lab asks of its worker. The race's settings are the kernels' own
/// [`FitSpec`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Runs the fitting race `race` (a number the page chooses) on by up to `steps` steps,
    /// answering after about `budget_ms`; a race number the worker does not hold starts a new
    /// race from `spec` (the worker holds one race at a time).
    Fit { id: u32, race: u32, spec: FitSpec, steps: u32, budget_ms: f64 },
    /// The property table's rows: each function's [`Properties`] (tens of thousands of values
    /// and slopes each, too long for the page's thread while a slider moves).
    Properties { id: u32, functions: Vec<Activation> },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    Fit(FitReport),
    /// The answer to [`Request::Properties`], in the order asked.
    Properties {
        id: u32,
        properties: Vec<Properties>,
    },
}

/// Most functions one [`Request::Properties`] may name.
pub const PROPERTIES_MAX: usize = 64;

/// Most steps one [`Request::Fit`] may ask for, and the longest race.
pub const FIT_MAX_STEPS: u32 = 100_000;

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
    /// Per entrant, what the lab shows of the network now (its fitted curve travels as bytes).
    pub snapshots: Vec<Snapshot>,
    /// Time the steps of this run took in the worker.
    pub ms: f64,
}

impl Ask for Request {
    const LAB: &'static str = "activations";
    fn id(&self) -> u32 {
        match self {
            Request::Fit { id, .. } | Request::Properties { id, .. } => *id,
        }
    }
    /// The property table answers between a race's slices, not after the race.
    fn is_long(&self) -> bool {
        matches!(self, Request::Fit { .. })
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
                spec.check()
            }
            Request::Properties { functions, .. } => {
                if functions.len() > PROPERTIES_MAX {
                    return Err(format!("{} functions: at most {PROPERTIES_MAX} a request", functions.len()));
                }
                for f in functions {
                    if let Some(bad) = f.params().into_iter().find(|v| !(v.is_finite() && v.abs() <= 1e3)) {
                        return Err(format!("a parameter of {f:?} is {bad}: allowed −1000 to 1000"));
                    }
                }
                Ok(())
            }
        }
    }
}

impl Answer for Done {
    fn id(&self) -> u32 {
        match self {
            Done::Fit(r) => r.id,
            Done::Properties { id, .. } => *id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_requests_are_checked() {
        use softplay_kernels::{
            activation::{Activation, Gate},
            mlp::{Hidden, Target},
        };
        let spec = FitSpec {
            entrants: vec![Hidden::Each(Activation::Silu { beta: 1.0 }), Hidden::Gated(Gate::GeGlu)],
            hidden: vec![16],
            target: Target::Chirp,
            lr: 0.01,
            seed: 7,
        };
        let fit = |spec: FitSpec, steps| Request::Fit { id: 1, race: 1, spec, steps, budget_ms: 50.0 };
        assert!(fit(spec.clone(), 100).validate().is_ok());
        assert_eq!(fit(spec.clone(), FIT_MAX_STEPS + 1).validate().unwrap_err(), "steps=100001: must be 0..100000");
        let mut wide = spec.clone();
        wide.hidden = vec![16, 65];
        assert_eq!(fit(wide, 10).validate().unwrap_err(), "hidden width 65: allowed 1 to 64");
        let mut bad = spec.clone();
        bad.lr = 0.0;
        assert_eq!(fit(bad, 10).validate().unwrap_err(), "learning rate 0: allowed above 0 up to 1");
        let budget = Request::Fit { id: 1, race: 1, spec, steps: 1, budget_ms: f64::INFINITY };
        assert_eq!(budget.validate().unwrap_err(), "budget_ms=inf: must be in (0, 10000]");
    }

    #[test]
    fn property_requests_are_checked() {
        let ask = |functions: Vec<Activation>| Request::Properties { id: 3, functions };
        assert!(ask(vec![Activation::Relu, Activation::Silu { beta: 2.0 }]).validate().is_ok());
        assert_eq!(
            ask(vec![Activation::Relu; PROPERTIES_MAX + 1]).validate().unwrap_err(),
            "65 functions: at most 64 a request"
        );
        assert_eq!(
            ask(vec![Activation::Elu { alpha: f64::NAN }]).validate().unwrap_err(),
            "a parameter of Elu { alpha: NaN } is NaN: allowed −1000 to 1000"
        );
        assert!(!ask(vec![]).is_long());
    }
}
