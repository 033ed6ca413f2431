//! The softmax algorithms on the person's own machine: three-pass, online and two-pass on one
//! seeded vector, timed in turns in the worker.

use leptos::prelude::*;
use softplay_kernels::attention::SoftmaxAlgorithm;

use super::Lab;
use softplay_worker::{
    attention::{Done, Race, Request},
    protocol::Reply,
};

use crate::components::{
    chart::readout_number,
    controls::ChoiceControl,
    export::{csv_number, download_text},
};

const REPEATS: u32 = 9;

fn name(a: SoftmaxAlgorithm) -> &'static str {
    match a {
        SoftmaxAlgorithm::ThreePass => "three-pass",
        SoftmaxAlgorithm::Online => "online",
        SoftmaxAlgorithm::TwoPass => "two-pass",
        SoftmaxAlgorithm::Naive => "naive",
    }
}

fn race_csv(race: &Race) -> String {
    let mut out = String::from(
        "algorithm,reads,writes,best_ms,median_ms,gb_per_s,max_rel_error_vs_float64,max_abs_diff_vs_three_pass\n",
    );
    for r in &race.results {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            name(r.algorithm),
            r.reads,
            r.writes,
            csv_number(r.best_ms),
            csv_number(r.median_ms),
            csv_number(r.gb_per_s),
            csv_number(r.max_rel_error),
            csv_number(r.max_abs_diff)
        ));
    }
    out
}

#[component]
pub fn SoftmaxRace() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    // The long-run worker: a race holds the interactive one for a second and leaves memory behind.
    let compute = expect_context::<Lab>().long;
    let result = RwSignal::new(None::<Result<Race, String>>);
    let progress = RwSignal::new(None::<(u32, u32)>);
    let run = move |_| {
        let len = config.with_untracked(|l| l.race_len.values());
        let seed = config.with_untracked(|l| l.seed);
        progress.set(Some((0, REPEATS)));
        compute.send(
            move |id| Request::SoftmaxRace { id, len, seed, repeats: REPEATS },
            move |response| match response {
                Reply::Progress { done, total, .. } => progress.set(Some((done, total))),
                Reply::Done(Done::Race(race)) => {
                    progress.set(None);
                    result.set(Some(Ok(race)));
                }
                Reply::Failed { message, .. } => {
                    progress.set(None);
                    result.set(Some(Err(message)));
                }
                _ => {}
            },
        );
    };
    let table = move || {
        result.get().map(|r| match r {
            Err(e) => view! { <p class="error" role="alert">{format!("The race failed: {e}")}</p> }.into_any(),
            Ok(race) => {
                let rows = race
                    .results
                    .iter()
                    .map(|r| {
                        view! {
                            <tr data-algorithm=name(r.algorithm)>
                                <th scope="row">{name(r.algorithm)}</th>
                                <td>{format!("{} reads + {} writes", r.reads, r.writes)}</td>
                                <td data-value=format!("{}", r.best_ms)>{readout_number(r.best_ms)}</td>
                                <td>{readout_number(r.median_ms)}</td>
                                <td data-value=format!("{}", r.gb_per_s)>{format!("{:.1}", r.gb_per_s)}</td>
                                <td data-value=format!("{}", r.max_rel_error)>{format!("{:.1e}", r.max_rel_error)}</td>
                                <td data-value=format!("{}", r.max_abs_diff)>{format!("{:.1e}", r.max_abs_diff)}</td>
                            </tr>
                        }
                    })
                    .collect::<Vec<_>>();
                let csv = race_csv(&race);
                let file = format!("softmax-algorithms-len{}-seed{}.csv", race.len, config.with_untracked(|l| l.seed));
                view! {
                    <div class="table-scroll" tabindex="0" role="region" aria-label="Race results">
                        <table class="race-table" data-testid="race-table">
                            <caption>{format!("{} values, best of {} runs each, taken in turns", race.len, race.repeats)}</caption>
                            <thead>
                                <tr>
                                    <th scope="col">"algorithm"</th>
                                    <th scope="col">"passes over memory"</th>
                                    <th scope="col">"best (ms)"</th>
                                    <th scope="col">"median (ms)"</th>
                                    <th scope="col">"GB/s"</th>
                                    <th scope="col">"largest error vs float64 (relative to the largest weight)"</th>
                                    <th scope="col">"largest |difference| from three-pass"</th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                    <div class="export">
                        <span>"Export:"</span>
                        <button type="button" on:click=move |_| { let _ = download_text(&csv, "text/csv", &file); }>"CSV"</button>
                    </div>
                }
                .into_any()
            }
        })
    };
    view! {
        <p class="hint">
            "Each algorithm turns the same vector of N(0, 9) values into weights. Three-pass reads it \
             three times (max, exponentials and sum, scale); online keeps a running max and sum, rescaling \
             the sum when the max grows, so it reads twice; two-pass stores every e^x as a mantissa and an \
             exponent and needs no max at all. GB/s counts the passes as implemented. Timings are this \
             machine's, in this page's worker, whose clock ticks in steps of about 0.1 ms."
        </p>
        <div class="controls">
            <ChoiceControl
                value=Signal::derive(move || config.with(|l| l.race_len))
                on_change=Callback::new(move |v| config.update(|l| l.race_len = v))
            />
        </div>
        <p>
            <button type="button" class="primary" on:click=run disabled=move || progress.get().is_some() data-testid="race-run">
                "Run on this machine"
            </button>
            " "
            {move || progress.get().map(|(d, t)| view! { <progress max=t value=d aria-label="Softmax race progress"></progress> })}
        </p>
        {table}
    }
}
