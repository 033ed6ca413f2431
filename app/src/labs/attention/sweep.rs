//! The length sweep: mean entropy, max weight, needle weight and sink mass of each variant at
//! 1×, 2×, 4×, 8× and 16× a base length, in the long-run worker, with progress.

use leptos::prelude::*;
use softplay_kernels::attention::stats::SweepPoint;

use super::Lab;
use super::{maps::synthetic, variants::title};
use softplay_worker::{
    attention::{Done as Answered, Request},
    protocol::Reply,
};

use crate::{
    components::chart::{readout_number, Axis, LineChart, Series},
    worker::latest::Latest,
};

pub const FACTORS: [u32; 5] = [1, 2, 4, 8, 16];

/// How long the settings must be still before a sweep or scan starts.
pub const QUIET_MS: i32 = 250;

#[derive(Clone, Debug, PartialEq)]
struct Done {
    names: Vec<String>,
    series: Vec<Vec<SweepPoint>>,
    elapsed_ms: f64,
    base: u32,
}

#[component]
pub fn LengthSweep() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    let compute = expect_context::<Lab>().long;
    let done = RwSignal::new(None::<Done>);
    let progress = RwSignal::new(None::<(String, u32, u32)>);
    let error = RwSignal::new(None::<String>);
    let latest = Latest::new(compute, move |(names, base): &(Vec<String>, u32), response| match response {
        Reply::Progress { stage, done, total, .. } => progress.set(Some((stage, done, total))),
        Reply::Done(Answered::Sweep(sweep)) => {
            progress.set(None);
            error.set(None);
            done.set(Some(Done {
                names: names.clone(),
                series: sweep.series,
                elapsed_ms: sweep.elapsed_ms,
                base: *base,
            }));
        }
        Reply::Failed { message, .. } => {
            progress.set(None);
            error.set(Some(message));
        }
        _ => {}
    });
    let ask = Memo::new(move |_| {
        config.with(|l| {
            let c = l;
            let variants: Vec<(String, _)> =
                c.compare.iter().map(|&v| (title(v, c), super::variants::kernel(v, c))).collect();
            (synthetic(c, c.base), variants, c.causal)
        })
    });
    Effect::new(move |_| {
        let (base, variants, causal) = ask.get();
        let names = variants.iter().map(|v| v.0.clone()).collect();
        latest.request_when_still(QUIET_MS, (names, base.n as u32), move |id| Request::LengthSweep {
            id,
            base,
            variants: variants.iter().map(|v| v.1).collect(),
            causal,
            factors: FACTORS.to_vec(),
        });
    });

    let chart_series = move |pick: fn(&SweepPoint) -> Option<f64>| {
        Signal::derive(move || {
            done.get()
                .map(|d| {
                    d.names
                        .iter()
                        .zip(&d.series)
                        .enumerate()
                        .map(|(i, (name, points))| Series {
                            name: name.clone(),
                            colour: i,
                            points: points.iter().map(|p| (p.n as f64, pick(p).unwrap_or(f64::NAN))).collect(),
                            dashed: false,
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
    };
    let file_tag = Signal::derive(move || {
        config.with(|l| {
            let c = l;
            format!("base{}-d{}-seed{}", c.base, c.d, c.seed)
        })
    });
    let has_needle = Signal::derive(move || config.with(|l| l.needle > 0.0));
    let x = Axis { label: "sequence length n", log: true };
    let status = move || {
        if let Some(e) = error.get() {
            return format!("The sweep failed: {e}");
        }
        let running = latest.busy.get();
        match (done.get(), progress.get()) {
            (_, Some((stage, d, t))) if running => {
                format!("Sweeping… {}% ({stage})", (100 * d).checked_div(t).unwrap_or(0))
            }
            (Some(d), _) => format!(
                "Lengths {}–{} for {} variants: {} ms in the long-run worker{}",
                d.base,
                d.base * 16,
                d.names.len(),
                readout_number(d.elapsed_ms),
                if running { "; updating…" } else { "" }
            ),
            (None, _) => "Starting the sweep…".into(),
        }
    };
    let fraction = move || match progress.get() {
        Some((_, d, t)) if latest.busy.get() && t > 0 => d as f64 / t as f64,
        _ if latest.busy.get() => 0.0,
        _ => 1.0,
    };
    view! {
        <p class="hint">
            "The queries and keys grow as one sequence (the first n tokens are the same at every length), \
             with the needle a quarter of the way in and the last query matching it. Each point is the mean \
             over all rows. With the default inputs, softmax rows flatten as they get longer: entropy grows like ln n and the needle's \
             weight falls. On these random keys LSSA flattens too — softplus grows linearly, so its ln N \
             sharpening moves the scores more than the weights — while LSSAR's re-weighting keeps nearly all \
             of the last row on the needle at every length."
        </p>
        <div class="progress-line">
            <progress max="1" value=fraction data-testid="sweep-progress" aria-label="Length sweep progress"></progress>
            <span role="status" data-testid="sweep-status">{status}</span>
        </div>
        <div class="chart-grid">
            <LineChart
                title="Mean entropy"
                x=x
                y=Axis { label: "entropy (nats)", log: false }
                series=chart_series(|p| Some(p.entropy))
                file_tag=file_tag
                test_id="sweep-entropy"
            />
            <LineChart
                title="Mean max weight"
                x=x
                y=Axis { label: "max weight", log: true }
                series=chart_series(|p| Some(p.max_weight))
                file_tag=file_tag
                test_id="sweep-max"
            />
            <LineChart
                title="Weight on the needle"
                x=x
                y=Axis { label: "needle weight", log: true }
                series=chart_series(|p| p.needle)
                file_tag=file_tag
                test_id="sweep-needle"
            />
            <LineChart
                title="Mean sink mass"
                x=x
                y=Axis { label: "weight on key 0", log: true }
                series=chart_series(|p| Some(p.sink))
                file_tag=file_tag
                test_id="sweep-sink"
            />
        </div>
        {move || (!has_needle.get()).then(|| view! {
            <p class="hint">"No needle planted (strength 0): the needle chart stays empty."</p>
        })}
    }
}
