//! The runs table: each run's status, step, size, validation, speed and backend, with its
//! actions (its settings as a link, download, save, delete), and the notes on where each run
//! trained.

use leptos::prelude::*;
use softplay_worker::model::Backend;

use super::{
    runs::{delete, Run},
    Lab,
};
use crate::components::chart::colour;

/// A row of the runs table as text.
#[derive(Clone, Debug, PartialEq)]
struct RowText {
    status: String,
    step: String,
    params: String,
    val_loss: String,
    accuracy: String,
    tokens_per_s: String,
    backend: String,
    backend_note: String,
}

impl RowText {
    fn of(r: &Run) -> RowText {
        let (val_loss, accuracy) = r
            .last_val()
            .map_or(("–".to_string(), "–".to_string()), |(l, a)| (format!("{l:.3}"), format!("{:.1}%", 100.0 * a)));
        RowText {
            status: r.status.describe(),
            step: format!("{} / {}", r.step, r.total),
            params: super::group(r.params as f64),
            val_loss,
            accuracy,
            tokens_per_s: if r.compute_ms > 0.0 { super::group(r.tokens_per_s()) } else { "–".into() },
            backend: r.backend.map_or("–", Backend::name).to_string(),
            backend_note: r.backend_note.clone().unwrap_or_default(),
        }
    }
}

#[component]
pub fn RunsTable() -> impl IntoView {
    let tabs = use_context::<crate::labs::frame::Tabs>();
    let lab = expect_context::<Lab>();
    view! {
        <section class="panel" aria-labelledby="runs-title">
            <h2 id="runs-title">"Runs"</h2>
            <Show when=move || lab.runs.with(|r| !r.is_empty()) fallback=|| view! { <p class="hint">"No runs yet."</p> }>
                <div class="table-scroll" tabindex="0" role="region" aria-label="Runs">
                    <table class="data runs" data-testid="runs-table">
                        <thead>
                            <tr>
                                <th scope="col">"Run"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Step"</th>
                                <th scope="col">"Parameters"</th>
                                <th scope="col">"Validation loss"</th>
                                <th scope="col">"Accuracy"</th>
                                <th scope="col">"Tokens/s"</th>
                                <th scope="col">"Backend"</th>
                                <th scope="col">"Actions"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <For each=move || lab.runs.with(|r| r.iter().map(|r| r.id).collect::<Vec<_>>()) key=|id| *id let:id>
                                {
                                    // The row stays; its cells follow the run (a slice changes text, not rows).
                                    let row = Memo::new(move |_| lab.runs.with(|r| r.iter().find(|r| r.id == id).map(RowText::of)));
                                    let cell = move |f: fn(&RowText) -> String| move || row.with(|r| r.as_ref().map(f).unwrap_or_default());
                                    let fixed = lab.runs.with_untracked(|r| r.iter().find(|r| r.id == id).map(|r| (r.colour, format!("#{} {}", r.id, r.name), r.loaded_from.clone(), format!("?{}", r.query()), r.config.clone())));
                                    let Some((colour_index, title, loaded_from, href, config)) = fixed else { return ().into_any() };
                                    view! {
                                        <tr data-run=id>
                                            <th scope="row">
                                                <svg class="swatch" width="12" height="12" aria-hidden="true"><rect width="12" height="12" rx="2" fill=colour(colour_index)></rect></svg>
                                                {title}
                                                {loaded_from.map(|f| view! { <br/><small>{format!("from {f}")}</small> })}
                                            </th>
                                            <td>{cell(|r| r.status.clone())}</td>
                                            <td>{cell(|r| r.step.clone())}</td>
                                            <td>{cell(|r| r.params.clone())}</td>
                                            <td>{cell(|r| r.val_loss.clone())}</td>
                                            <td>{cell(|r| r.accuracy.clone())}</td>
                                            <td>{cell(|r| r.tokens_per_s.clone())}</td>
                                            <td data-testid="run-backend" title=cell(|r| r.backend_note.clone())>{cell(|r| r.backend.clone())}</td>
                                            <td class="actions">
                                                <a href=href title="This run's settings as a link"
                                                    on:click=move |ev| { ev.prevent_default(); lab.config.set(config.clone()); }>
                                                    "Settings"
                                                </a>
                                                <button type="button" class="small" on:click=move |_| super::store::download(lab, id)>"Download"</button>
                                                <button type="button" class="small" on:click=move |_| {
                                                    super::store::save(lab, id);
                                                    if let Some(tabs) = tabs { tabs.show("checkpoints"); }
                                                }>"Save in browser"</button>
                                                <button type="button" class="small" data-testid="delete-run" on:click=move |_| delete(lab, id)>"Delete"</button>
                                            </td>
                                        </tr>
                                    }.into_any()
                                }
                            </For>
                        </tbody>
                    </table>
                </div>
                <ul class="hint backend-notes" data-testid="backend-notes">
                    <For each=move || lab.runs.with(|r| r.iter().filter_map(|r| Some((r.id, r.backend.map_or("–", Backend::name), r.backend_note.clone()?))).collect::<Vec<_>>()) key=|n| n.clone() let:n>
                        <li data-run=n.0>{format!("#{} ({}): {}", n.0, n.1, n.2)}</li>
                    </For>
                </ul>
                <p class="hint">"“Settings” puts a run's settings back into the controls (and the link)."</p>
            </Show>
        </section>
    }
}
