//! The Activations lab's handler: the fitting race the worker holds, run on in slices. Plain
//! Rust, generic over the worker it runs in ([`Host`]); a race's numbers do not depend on how
//! it is sliced (tested below).

use softplay_kernels::fit::{Fit, FitSpec};

use super::{Done, FitReport, Request};
use crate::protocol::{F32s, Host, Reply};

/// The race the worker holds, with the page's number for it.
#[derive(Default)]
pub struct Races {
    held: Option<(u32, Fit)>,
}

/// Answers one request (already validated).
pub fn handle<H: Host>(races: &mut Races, request: Request, host: &H) -> Reply<Done> {
    match request {
        Request::Fit { id, race, spec, steps, budget_ms } => {
            match fit(&mut races.held, host, id, race, &spec, steps, budget_ms) {
                Ok(report) => Reply::Done(Done::Fit(report)),
                Err(message) => Reply::Failed { id: Some(id), message },
            }
        }
        Request::Properties { id, functions } => {
            Reply::Done(Done::Properties { id, properties: functions.into_iter().map(|f| f.properties()).collect() })
        }
    }
}

/// Runs race `race` on by up to `steps` steps, stopping after the first chunk that ends past
/// `budget_ms`; the numbers do not depend on where a run stops.
fn fit<H: Host>(
    slot: &mut Option<(u32, Fit)>,
    host: &H,
    id: u32,
    race: u32,
    spec: &FitSpec,
    steps: u32,
    budget_ms: f64,
) -> Result<FitReport, String> {
    {
        if slot.as_ref().is_none_or(|(held, _)| *held != race) {
            *slot = Some((race, Fit::new(spec.clone())?));
        }
        let fit = &mut slot.as_mut().unwrap().1;
        let start = host.now_ms();
        let mut losses = vec![Vec::new(); fit.spec().entrants.len()];
        let mut left = steps;
        while left > 0 {
            let chunk = left.min(10);
            for (all, part) in losses.iter_mut().zip(fit.run(chunk)) {
                all.extend(part);
            }
            left -= chunk;
            if host.now_ms() - start >= budget_ms {
                break;
            }
        }
        let ms = host.now_ms() - start;
        let snapshots = fit.snapshots();
        Ok(FitReport {
            id,
            race,
            step: fit.step(),
            losses: losses.into_iter().map(F32s).collect(),
            current: snapshots.iter().map(|s| s.loss).collect(),
            diverged: fit.diverged(),
            snapshots,
            ms,
        })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use softplay_kernels::{
        activation::Activation,
        mlp::{Hidden, Target},
    };

    use super::*;
    use crate::protocol::test_host::TestHost;

    fn spec() -> FitSpec {
        FitSpec {
            entrants: vec![Hidden::Each(Activation::Relu), Hidden::Each(Activation::Silu { beta: 1.0 })],
            hidden: vec![8],
            target: Target::Sine,
            lr: 0.02,
            seed: 5,
        }
    }

    fn run(races: &mut Races, race: u32, steps: u32) -> FitReport {
        let request = Request::Fit { id: 1, race, spec: spec(), steps, budget_ms: 10_000.0 };
        match handle(races, request, &TestHost::default()) {
            Reply::Done(Done::Fit(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_race_run_in_slices_gives_the_numbers_of_one_run() {
        let (mut whole, mut sliced) = (Races::default(), Races::default());
        let one = run(&mut whole, 1, 60);
        let mut losses: Vec<Vec<f32>> = vec![Vec::new(); 2];
        for steps in [7, 23, 30] {
            let part = run(&mut sliced, 1, steps);
            for (all, l) in losses.iter_mut().zip(&part.losses) {
                all.extend(&l.0);
            }
        }
        let last = run(&mut sliced, 1, 0);
        assert_eq!(last.step, 60);
        assert_eq!(losses, one.losses.iter().map(|l| l.0.clone()).collect::<Vec<_>>());
        assert_eq!(last.current, one.current);
        assert!(one.current[0] < one.losses[0].0[0], "the race learns");
    }

    #[test]
    fn a_report_travels_whole_with_its_curves_as_bytes() {
        // A whole number of milliseconds: JSON's float parsing may move a fraction by one ulp,
        // which postMessage never does.
        let report = FitReport { ms: 12.0, ..run(&mut Races::default(), 1, 3) };
        assert_eq!(report.snapshots.len(), 2);
        assert_eq!(report.snapshots[0].fitted.len(), softplay_kernels::fit::PLOT_POINTS);
        let json = serde_json::to_string(&Reply::Done(Done::Fit(report.clone()))).unwrap();
        let back: Reply<Done> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Reply::Done(Done::Fit(report)));
    }

    #[test]
    fn a_new_race_number_starts_afresh() {
        let mut races = Races::default();
        run(&mut races, 1, 20);
        assert_eq!(run(&mut races, 2, 5).step, 5);
    }

    #[test]
    fn the_property_table_is_the_kernels_own_in_the_order_asked() {
        let functions = vec![Activation::Silu { beta: 1.0 }, Activation::Relu];
        let reply = handle(&mut Races::default(), Request::Properties { id: 9, functions }, &TestHost::default());
        let Reply::Done(Done::Properties { id: 9, properties }) = reply else { panic!("{reply:?}") };
        assert_eq!(properties, vec![Activation::Silu { beta: 1.0 }.properties(), Activation::Relu.properties()]);
        assert!(!properties[0].monotone && properties[1].monotone);
    }
}
