//! The hand-written example: up to 8 queries and keys of up to 4 numbers, edited in a table —
//! small enough to check a weight by hand in a classroom.

use leptos::prelude::*;

use super::Lab;
use crate::{
    components::controls::IntControl,
    labs::attention::settings::{ATTN_TABLE_LIMIT, ATTN_TD, ATTN_TN},
};

/// Checks a typed cell: the value to use and, when it was not used as typed, why.
pub fn check_cell(name: &str, text: &str, current: f64) -> (f64, Option<String>) {
    let limit = ATTN_TABLE_LIMIT;
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v.abs() <= limit => (v, None),
        Ok(v) if v.is_finite() => {
            let clamped = v.clamp(-limit, limit);
            (clamped, Some(format!("{text} is outside -{limit}..{limit}: {name} set to {clamped}")))
        }
        _ => (
            current,
            Some(format!("“{}” is not a number: {name} stays {current} (allowed -{limit}..{limit})", text.trim())),
        ),
    }
}

#[component]
fn Grid(which: &'static str) -> impl IntoView {
    let config = expect_context::<Lab>().config;
    let message = RwSignal::new(None::<String>);
    let size = Memo::new(move |_| config.with(|l| (l.table_n, l.table_d)));
    let value = move |r: u32, c: u32| {
        config.with(|l| {
            let a = l;
            let values = if which == "q" { &a.table_q } else { &a.table_k };
            values.get((r * a.table_d + c) as usize).copied().unwrap_or(0.0)
        })
    };
    let set = move |r: u32, c: u32, text: String, input: Option<web_sys::HtmlInputElement>| {
        let name = format!("{which}[{r}][{c}]");
        let (v, note) = check_cell(&name, &text, value(r, c));
        message.set(note);
        config.update(|l| {
            let a = l;
            let i = (r * a.table_d + c) as usize;
            let values = if which == "q" { &mut a.table_q } else { &mut a.table_k };
            if let Some(slot) = values.get_mut(i) {
                *slot = v;
            }
        });
        if let Some(input) = input {
            input.set_value(&format!("{v}"));
        }
    };
    view! {
        <table class="edit-table" data-testid=format!("table-{which}")>
            <caption>{if which == "q" { "Queries q (one row per token)" } else { "Keys k (one row per token)" }}</caption>
            <thead>
                <tr>
                    <th scope="col">"token"</th>
                    {move || (0..size.get().1).map(|c| view! { <th scope="col">{format!("{which}·{c}")}</th> }).collect::<Vec<_>>()}
                </tr>
            </thead>
            <tbody>
                {move || {
                    let (n, d) = size.get();
                    (0..n)
                        .map(|r| {
                            view! {
                                <tr>
                                    <th scope="row">{r}</th>
                                    {(0..d)
                                        .map(|c| {
                                            view! {
                                                <td>
                                                    <input
                                                        type="text"
                                                        inputmode="decimal"
                                                        aria-label=format!("{which} row {r} column {c}")
                                                        prop:value=move || format!("{}", value(r, c))
                                                        on:change=move |ev| {
                                                            use wasm_bindgen::JsCast;
                                                            let input = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
                                                            set(r, c, event_target_value(&ev), input);
                                                        }
                                                    />
                                                </td>
                                            }
                                        })
                                        .collect::<Vec<_>>()}
                                </tr>
                            }
                        })
                        .collect::<Vec<_>>()
                }}
            </tbody>
        </table>
        <p class="control-message" role="status" data-testid=format!("table-{which}-message")>
            {move || message.get()}
        </p>
    }
}

#[component]
pub fn TableEditor() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    view! {
        <div class="table-editor">
            <div class="controls">
                <IntControl
                    param=ATTN_TN
                    value=Signal::derive(move || config.with(|l| l.table_n))
                    on_change=Callback::new(move |n| config.update(|l| {
                        let d = l.table_d;
                        l.resize_table(n, d);
                    }))
                />
                <IntControl
                    param=ATTN_TD
                    value=Signal::derive(move || config.with(|l| l.table_d))
                    on_change=Callback::new(move |d| config.update(|l| {
                        let n = l.table_n;
                        l.resize_table(n, d);
                    }))
                />
            </div>
            <div class="edit-tables">
                <div><Grid which="q"/></div>
                <div><Grid which="k"/></div>
            </div>
            <p class="hint">"The length sweep and the stability scan below use the synthetic generator: this example is too short to sweep."</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_checked_and_named() {
        assert_eq!(check_cell("q[0][1]", " 2.5 ", 0.0), (2.5, None));
        let (v, m) = check_cell("k[1][0]", "5000", 1.0);
        assert_eq!((v, m.unwrap()), (1000.0, "5000 is outside -1000..1000: k[1][0] set to 1000".to_string()));
        let (v, m) = check_cell("q[0][0]", "abc", 0.5);
        assert_eq!(
            (v, m.unwrap()),
            (0.5, "“abc” is not a number: q[0][0] stays 0.5 (allowed -1000..1000)".to_string())
        );
        assert_eq!(check_cell("q[0][0]", "inf", 0.5).0, 0.5);
    }
}
