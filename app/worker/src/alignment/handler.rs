//! The Alignment lab's handler: trains the DPO toy, sending progress and the trace so far about
//! every 100 ms of work. Plain Rust, generic over the worker it runs in ([`Host`]).

use softplay_kernels::alignment::preference_toy::{ToyRun, ToySpec};

use super::{Done, Request, ToyReport};
use crate::protocol::{Host, Reply};

/// Answers one request (already validated).
pub async fn handle<H: Host>(request: Request, host: &H) -> Reply<Done> {
    match request {
        Request::Toy { id, spec, steps } => Reply::Done(Done::Toy(toy(host, id, &spec, steps).await)),
    }
}

async fn toy<H: Host>(host: &H, id: u32, spec: &ToySpec, steps: u32) -> ToyReport {
    let start = host.now_ms();
    let mut run = ToyRun::new(spec, steps);
    let mut last = start;
    while !run.advance(50) {
        if host.now_ms() - last > 100.0 {
            last = host.now_ms();
            host.progress(id, "training", run.step(), steps);
            host.send(&Reply::Done(Done::Toy(ToyReport { id, trace: run.snapshot(), ms: last - start, done: false })));
            host.yield_now().await;
        }
    }
    let ms = host.now_ms() - start;
    ToyReport { id, trace: run.finish(), ms, done: true }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use softplay_kernels::alignment::{
        losses::{LossKind, LossParams},
        preference_toy::Policy,
    };

    use super::*;
    use crate::protocol::{
        test_host::{block_on, TestHost},
        Ask,
    };

    /// The kernels' toy at their defaults: 32 responses, one prompt, response 12 chosen over 10,
    /// a linear policy over 8 features, DPO.
    fn spec() -> ToySpec {
        ToySpec {
            responses: 32,
            chosen: vec![vec![12]],
            rejected: vec![vec![10]],
            policy: Policy::Linear { features: 8 },
            loss: LossKind::Dpo,
            params: LossParams::default(),
            beta_rejected: 0.1,
            sft_alpha: 0.0,
            on_policy: false,
            samples: 8,
            lr: 1.0,
            focus: 2.0,
            seed: 7,
        }
    }

    fn answers(host: &TestHost) -> Vec<Reply<Done>> {
        host.sent.borrow().iter().map(|json| serde_json::from_str(json).expect("replies read back")).collect()
    }

    #[test]
    fn a_short_run_ends_done_with_the_rejected_response_pushed_down() {
        let host = TestHost::default();
        let request = Request::Toy { id: 3, spec: spec(), steps: 200 };
        assert!(request.validate().is_ok());
        let Reply::Done(Done::Toy(report)) = block_on(handle(request, &host)) else { panic!("no toy") };
        assert!(report.done);
        assert_eq!(report.id, 3);
        let trace = &report.trace;
        assert_eq!((trace.steps.first(), trace.steps.last()), (Some(&0), Some(&200)));
        let rejected = &trace.log_rejected;
        assert!(
            rejected.last().unwrap() < &(rejected[0] - 1.0),
            "ln π(rejected): {} → {:?}",
            rejected[0],
            rejected.last()
        );
        assert!(trace.diverged_at.is_none());
        assert_eq!(trace.policy.len(), 1);
        assert!((trace.policy[0].iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_long_run_sends_its_trace_so_far_first() {
        // Four prompts over 1024 responses for the most steps: about a second here, many times
        // the 100 ms between partial answers.
        let marked = |i: u32| vec![vec![i], vec![i + 7], vec![i + 300], vec![i + 900]];
        let spec =
            ToySpec { responses: 1024, chosen: marked(12), rejected: marked(10), policy: Policy::Tabular, ..spec() };
        let steps = crate::alignment::TOY_MAX_STEPS;
        let host = TestHost::default();
        let last = block_on(handle(Request::Toy { id: 5, spec, steps }, &host));
        let Reply::Done(Done::Toy(report)) = &last else { panic!("no toy") };
        assert!(report.done && report.trace.steps.last() == Some(&steps));
        let sent = answers(&host);
        let partial: Vec<&ToyReport> = sent
            .iter()
            .filter_map(|r| match r {
                Reply::Done(Done::Toy(t)) => Some(t),
                _ => None,
            })
            .collect();
        assert!(!partial.is_empty(), "{} ms without a partial answer", report.ms);
        assert!(partial.iter().all(|t| !t.done && t.id == 5));
        let reached: Vec<u32> = partial.iter().map(|t| *t.trace.steps.last().unwrap()).collect();
        assert!(reached.windows(2).all(|w| w[0] < w[1]) && reached.last() < Some(&steps), "{reached:?}");
        // Each partial answer follows its progress message, and every reply names the request.
        assert!(sent.iter().all(|r| r.request_id().is_some_and(|(id, _)| id == 5)));
        assert!(matches!(sent[0], Reply::Progress { id: 5, .. }));
        assert_eq!(sent.iter().filter(|r| matches!(r, Reply::Progress { .. })).count(), partial.len());
    }
}
