//! Length extrapolation: every finished run evaluated at 1, 2, 4, 8 and 16 times the length it
//! was trained on, one line per run; and a sentence written from the numbers.

use leptos::prelude::*;

use super::{runs::Run, Lab};
use crate::components::chart::{Axis, LineChart, Series};

fn series(runs: &[Run], pick: fn(&softplay_worker::model::LengthScore) -> f64) -> Vec<Series> {
    runs.iter()
        .filter_map(|r| {
            let s = r.sweep.as_ref()?;
            Some(Series {
                name: format!("{} #{}", r.name, r.id),
                colour: r.colour,
                points: s.iter().map(|x| (x.multiple as f64, pick(x))).collect(),
                dashed: false,
            })
        })
        .collect()
}

/// What the sweeps show, from their numbers: accuracy at the trained length and at the
/// longest, per run.
pub fn summary(runs: &[Run]) -> Option<String> {
    let swept: Vec<(&Run, f32, f32, u32)> = runs
        .iter()
        .filter_map(|r| {
            let s = r.sweep.as_ref()?;
            let (first, last) = (s.first()?, s.last()?);
            Some((r, first.accuracy, last.accuracy, last.multiple))
        })
        .collect();
    if swept.is_empty() {
        return None;
    }
    let parts: Vec<String> = swept
        .iter()
        .map(|(r, a1, an, m)| format!("{} #{}: {:.0}% at 1×, {:.0}% at {m}×", r.name, r.id, 100.0 * a1, 100.0 * an))
        .collect();
    let mut text = format!("Accuracy — {}.", parts.join("; "));
    if swept.len() >= 2 {
        let best = swept.iter().max_by(|a, b| a.2.total_cmp(&b.2)).expect("not empty");
        let worst = swept.iter().min_by(|a, b| a.2.total_cmp(&b.2)).expect("not empty");
        if best.2 - worst.2 >= 0.1 {
            text += &format!(
                " At the longest length {} #{} holds best and {} #{} degrades most.",
                best.0.name, best.0.id, worst.0.name, worst.0.id
            );
        } else {
            text +=
                " At the longest length the runs are within 10 points of each other: no normaliser stands out here.";
        }
    }
    Some(text)
}

#[component]
pub fn LengthSweep() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let acc = Memo::new(move |_| lab.runs.with(|r| series(r, |x| 100.0 * x.accuracy as f64)));
    let loss = Memo::new(move |_| lab.runs.with(|r| series(r, |x| x.loss as f64)));
    let notes = Memo::new(move |_| {
        lab.runs.with(|r| {
            r.iter().filter_map(|r| Some(format!("#{}: {}", r.id, r.sweep_note.clone()?))).collect::<Vec<_>>()
        })
    });
    let tag = Signal::derive(move || lab.config.with(|c| format!("len{}-seed{}", c.len, c.seed)));
    view! {
        <section class="panel" aria-labelledby="sweep-title">
            <h2 id="sweep-title">"Length extrapolation"</h2>
            <p class="hint">
                "Each run, when it ends, is evaluated on held-out examples at 1, 2, 4, 8 and 16 times the task \
                 length it trained on (the same examples for every run). The default settings train passkey \
                 retrieval at L = 16 with RoPE: there softmax and sigmoid attention answer about 80% at the \
                 trained length and lose the passkey from 8× on, while LSSAR keeps most of it (the lab's tests \
                 check this on every build). Press “Train softmax, LSSAR and sigmoid” to see it. Learned \
                 positions past the trained length were never trained: expect them to fail there."
            </p>
            <p class="sweep-summary" data-testid="sweep-summary" role="status">
                {move || lab.runs.with(|r| summary(r)).unwrap_or_else(|| "No run has finished yet.".into())}
            </p>
            {move || (!notes.get().is_empty()).then(|| view! { <p class="hint">{notes.get().join("; ")}</p> })}
            <div class="chart-pair">
                <LineChart
                    title="Accuracy against length"
                    x=Axis { label: "length (× trained)", log: true }
                    y=Axis { label: "accuracy (%)", log: false }
                    series=acc
                    file_tag=tag
                    test_id="sweep-accuracy-chart"
                />
                <LineChart
                    title="Loss against length"
                    x=Axis { label: "length (× trained)", log: true }
                    y=Axis { label: "cross-entropy (nats)", log: true }
                    series=loss
                    file_tag=tag
                    test_id="sweep-loss-chart"
                />
            </div>
        </section>
    }
}
