//! A heatmap's table view: the same numbers as the picture, for screen readers and for reading
//! exact values. Built only while open; a large map shows its first [`TABLE_MAX`] rows and
//! columns (the CSV export has every cell).

use std::sync::Arc;

use leptos::prelude::*;

use super::{chart::readout_number, heatmap::HeatmapData};

/// Rows and columns the table view shows at most.
pub const TABLE_MAX: usize = 32;

#[component]
pub fn HeatmapTable(
    #[prop(into)] data: Signal<Option<Arc<HeatmapData>>>,
    rows_are: &'static str,
    cols_are: &'static str,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let table = move || {
        let d = data.get()?;
        let (rows, cols) = (d.rows.min(TABLE_MAX), d.cols.min(TABLE_MAX));
        let note = (d.rows > rows || d.cols > cols).then(|| {
            format!(
                "The first {rows} {rows_are}s and {cols} {cols_are}s of {} × {}; the CSV export has every cell.",
                d.rows, d.cols
            )
        });
        let head = (0..cols).map(|c| view! { <th scope="col">{c}</th> }).collect::<Vec<_>>();
        let body = (0..rows)
            .map(|r| {
                let cells = (0..cols)
                    .map(|c| {
                        let text = if c < d.visible[r] {
                            readout_number(d.values[r * d.cols + c] as f64)
                        } else {
                            "masked".to_string()
                        };
                        view! { <td>{text}</td> }
                    })
                    .collect::<Vec<_>>();
                view! { <tr><th scope="row">{r}</th>{cells}</tr> }
            })
            .collect::<Vec<_>>();
        Some(view! {
            {note.map(|n| view! { <p class="hint">{n}</p> })}
            <table data-testid="heatmap-table">
                <thead><tr><th scope="col">{format!("{rows_are} \\ {cols_are}")}</th>{head}</tr></thead>
                <tbody>{body}</tbody>
            </table>
        })
    };
    view! {
        <details class="data-table heatmap-table" on:toggle=move |ev| {
            let el: web_sys::HtmlDetailsElement = event_target(&ev);
            open.set(el.open());
        }>
            <summary>"Table view"</summary>
            {move || open.get().then(table)}
        </details>
    }
}
