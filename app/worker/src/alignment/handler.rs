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
