//! Inspecting a trained run on a held-out example: the attention weights of any layer and
//! head (the Attention lab's heatmap), the feed-forward unit's sparsity per layer, and greedy
//! completions next to the expected answers.

use std::sync::Arc;

use leptos::prelude::*;
use softplay_kernels::attention::stats::RowStats;
use softplay_worker::model::ModelRequest;

use super::{client::Trainer, Lab};
use crate::components::heatmap::{Heatmap, HeatmapData};

#[component]
pub fn Inspect() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let chosen = RwSignal::new(None::<u32>);
    let example = RwSignal::new(1u32);
    let layer = RwSignal::new(0usize);
    let head = RwSignal::new(0usize);
    let log = RwSignal::new(false);
    let ready = Memo::new(move |_| {
        lab.runs.with(|r| {
            r.iter()
                .filter(|r| {
                    r.params > 0 && !matches!(r.status, super::runs::Status::Training | super::runs::Status::Failed(_))
                })
                .map(|r| (r.id, format!("#{} {} (step {})", r.id, r.name, r.step)))
                .collect::<Vec<_>>()
        })
    });
    // The newest inspectable run, unless the person chose one.
    let run = Memo::new(move |_| {
        let list = ready.get();
        chosen.get().filter(|c| list.iter().any(|(id, _)| id == c)).or_else(|| list.last().map(|(id, _)| *id))
    });
    let inspect = move |_| {
        let Some(id) = run.get_untracked() else { return };
        let len = lab.runs.with_untracked(|r| r.iter().find(|r| r.id == id).map(|r| r.config.len)).unwrap_or(1);
        if let Err(e) = Trainer::get().send(&ModelRequest::Inspect { run: id, len, seed: example.get_untracked() }) {
            lab.error.set(Some(e));
        }
    };
    let current = Memo::new(move |_| lab.inspection.get());
    let data = Signal::derive(move || {
        let (_, ins) = current.get()?;
        let t = ins.tokens.len();
        let heads = ins.heads as usize;
        let maps = ins.maps.get(layer.get().min(ins.maps.len().saturating_sub(1)))?;
        let h = head.get().min(heads.saturating_sub(1));
        let values = maps.0.get(h * t * t..(h + 1) * t * t)?.to_vec();
        let row_stats = (0..t)
            .map(|r| {
                let s = RowStats::of(&values[r * t..r * t + r + 1]);
                [s.entropy, s.max_weight, s.sink, s.row_sum, s.support as f32]
            })
            .collect();
        Some(Arc::new(HeatmapData { rows: t, cols: t, values, visible: (1..=t).collect(), row_stats, mark: None }))
    });
    let stem = Signal::derive(move || {
        current.with(|c| {
            c.as_ref().map_or("model-attention".into(), |(id, _)| {
                format!("model-run{id}-layer{}-head{}", layer.get() + 1, head.get() + 1)
            })
        })
    });
    let numbers = move |n: usize| (0..n).collect::<Vec<_>>();
    view! {
        <section class="panel" aria-labelledby="inspect-title">
            <h2 id="inspect-title">"Inspect"</h2>
            <Show when=move || !ready.with(Vec::is_empty) fallback=|| view! { <p class="hint">"Train a run first (a finished, paused or stopped run can be inspected)."</p> }>
                <div class="controls">
                    <div class="control">
                        <label for="inspect-run">"Run"</label>
                        <select id="inspect-run" data-testid="inspect-run"
                            on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())>
                            <For each=move || ready.get() key=|(id, label)| (*id, label.clone()) let:item>
                                <option value=item.0.to_string() selected=move || run.get() == Some(item.0)>{item.1.clone()}</option>
                            </For>
                        </select>
                    </div>
                    <div class="control">
                        <label for="inspect-example">"Example (seed)"</label>
                        <input id="inspect-example" type="number" min="0" max="1000000" prop:value=move || example.get().to_string()
                            on:change=move |ev| {
                                match event_target_value(&ev).trim().parse::<u32>() {
                                    Ok(v) if v <= 1_000_000 => example.set(v),
                                    _ => lab.error.set(Some(format!(
                                        "“{}” is not an example number (0..1000000): the example stays {}",
                                        event_target_value(&ev), example.get_untracked()
                                    ))),
                                }
                            }/>
                    </div>
                    <button type="button" data-testid="inspect" on:click=inspect>"Inspect"</button>
                </div>
                {move || current.get().map(|(id, ins)| {
                    let layers = ins.maps.len();
                    let heads = ins.heads as usize;
                    let sparsity = ins.sparsity.clone();
                    let completions = ins.completions.clone();
                    view! {
                        <p class="hint">{format!("Run #{id}, example {}: {} tokens.", example.get_untracked(), ins.tokens.len())}</p>
                        <p class="tokens" data-testid="inspect-tokens"><code>{ins.tokens.join(" ")}</code></p>
                        <div class="controls">
                            <div class="control">
                                <label for="inspect-layer">"Layer"</label>
                                <select id="inspect-layer" on:change=move |ev| layer.set(event_target_value(&ev).parse().unwrap_or(0))>
                                    {numbers(layers).into_iter().map(|l| view! { <option value=l.to_string() selected=move || layer.get() == l>{(l + 1).to_string()}</option> }).collect_view()}
                                </select>
                            </div>
                            <div class="control">
                                <label for="inspect-head">"Head"</label>
                                <select id="inspect-head" on:change=move |ev| head.set(event_target_value(&ev).parse().unwrap_or(0))>
                                    {numbers(heads).into_iter().map(|h| view! { <option value=h.to_string() selected=move || head.get() == h>{(h + 1).to_string()}</option> }).collect_view()}
                                </select>
                            </div>
                            <div class="control">
                                <label><input type="checkbox" prop:checked=move || log.get() on:change=move |ev| log.set(event_target_checked(&ev))/>" Logarithmic colours"</label>
                            </div>
                        </div>
                        <div data-testid="inspect-heatmap">
                            <Heatmap data=data log=log file_stem=stem rows_are="query" cols_are="key"
                                label="Attention weights of the chosen layer and head: row i is query token i, column j key token j.".to_string()/>
                        </div>
                        <h3>"Feed-forward sparsity"</h3>
                        <div class="table-scroll" tabindex="0" role="region" aria-label="Sparsity">
                            <table class="data" data-testid="sparsity-table">
                                <thead><tr><th scope="col">"Layer"</th><th scope="col">"Outputs exactly 0"</th><th scope="col">"|output| ≤ 0.01"</th></tr></thead>
                                <tbody>
                                    {sparsity.iter().enumerate().map(|(l, (zero, small))| view! {
                                        <tr><th scope="row">{(l + 1).to_string()}</th><td>{format!("{:.1}%", 100.0 * zero)}</td><td>{format!("{:.1}%", 100.0 * small)}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <p class="hint">"Shares over a held-out batch. Smooth units (GELU, SiLU, gated) are rarely exactly 0; the second column counts near-zeros."</p>
                        <h3>"Completions"</h3>
                        <div class="table-scroll" tabindex="0" role="region" aria-label="Completions">
                            <table class="data completions" data-testid="completions">
                                <thead><tr><th scope="col">"Prompt"</th><th scope="col">"Expected"</th><th scope="col">"Model (greedy)"</th><th scope="col">"Right"</th></tr></thead>
                                <tbody>
                                    {completions.iter().map(|c| {
                                        let right = c.expected.chars().zip(c.got.chars()).filter(|(a, b)| a == b).count();
                                        let n = c.expected.chars().count();
                                        view! {
                                            <tr>
                                                <td><code>{c.prompt.clone()}</code></td>
                                                <td><code>{c.expected.clone()}</code></td>
                                                <td><code>{c.got.clone()}</code></td>
                                                <td>{format!("{right}/{n}")}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }
                })}
            </Show>
        </section>
    }
}
