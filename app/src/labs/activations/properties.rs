//! The property table: each shown function's properties under its current parameters,
//! computed in the lab's worker (a function's properties read about 10⁵ of its values and
//! slopes: too long for the page's thread while a slider moves), with a CSV export.

use leptos::prelude::*;
use softplay_kernels::activation::{Activation as Kernel, Properties};
use softplay_worker::{
    activations::{Done, Request},
    protocol::Reply,
};

use super::{spec, Lab};
use crate::{
    components::{
        chart::readout_number,
        export::{csv_field, csv_number, download_text},
    },
    labs::activations::settings::Activation,
    state::codec::Choice,
};

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn saturates(p: &Properties) -> &'static str {
    match (p.saturates_left, p.saturates_right) {
        (true, true) => "both sides",
        (true, false) => "left",
        (false, true) => "right",
        (false, false) => "no",
    }
}

/// Functions whose properties are kept (the shown ones and their recent parameters); at least
/// the most the page asks for at once.
const PROPERTY_CACHE: usize = 64;

const PROPERTY_COLUMNS: [&str; 10] = [
    "monotone",
    "bounded below",
    "smooth",
    "zero-centred",
    "saturates",
    "f(0)",
    "f′(0)",
    "mean under N(0,1)",
    "sd under N(0,1)",
    "P(f(z) = 0), z ~ N(0,1)",
];

fn property_cells(p: &Properties) -> [String; 10] {
    [
        yes(p.monotone).into(),
        yes(p.bounded_below).into(),
        yes(p.smooth).into(),
        yes(p.zero_centred).into(),
        saturates(p).into(),
        readout_number(p.value_at_0),
        readout_number(p.slope_at_0),
        readout_number(p.mean),
        readout_number(p.sd),
        format!("{:.1}%", 100.0 * p.zero_fraction),
    ]
}

/// A row of the property table.
#[derive(Clone, Debug, PartialEq)]
enum Row {
    /// PolyNorm: a function of the whole row, not of x alone.
    Whole,
    /// The function's properties; `stale` while those of its new parameters are computed (the
    /// last ones known for the function are shown meanwhile).
    Known(Properties, bool),
    /// Nothing known yet.
    Computing,
}

/// The property table: computed in the lab's worker from each function under the current
/// parameters (a function's properties read tens of thousands of its values and slopes: too
/// long for the page's thread while a slider moves).
#[component]
pub fn PropertyTable() -> impl IntoView {
    let Lab { config, compute } = expect_context::<Lab>();
    let shown = Memo::new(move |_| {
        config.with(|c| c.shown.iter().map(|&a| (a, spec::kernel(a, c))).collect::<Vec<(Activation, Option<Kernel>)>>())
    });
    // Properties known, oldest first; `known` counts the answers, so that the rows follow.
    let cache = StoredValue::new(Vec::<(Kernel, Properties)>::new());
    let known = RwSignal::new(0u32);
    let in_flight = RwSignal::new(false);
    // The functions asked for when the worker failed, and why: not asked again until they change
    // or the person asks.
    let failed = RwSignal::new(None::<(Vec<Kernel>, String)>);
    let cached = move |k: &Kernel| cache.with_value(|c| c.iter().rev().find(|(held, _)| held == k).map(|(_, p)| *p));
    // One request at a time, for what is missing; the answer asks again if the settings moved on.
    Effect::new(move |_| {
        if in_flight.get() {
            return;
        }
        known.track();
        let mut missing: Vec<Kernel> = Vec::new();
        shown.with(|s| {
            for k in s.iter().filter_map(|(_, k)| *k) {
                if cached(&k).is_none() && !missing.contains(&k) {
                    missing.push(k);
                }
            }
        });
        if missing.is_empty() || failed.with(|f| f.as_ref().is_some_and(|(asked, _)| *asked == missing)) {
            return;
        }
        in_flight.set(true);
        let asked = missing.clone();
        compute.send(
            move |id| Request::Properties { id, functions: missing },
            move |reply| match reply {
                Reply::Done(Done::Properties { properties, .. }) => {
                    cache.update_value(|c| {
                        c.extend(asked.iter().copied().zip(properties));
                        let over = c.len().saturating_sub(PROPERTY_CACHE);
                        c.drain(..over);
                    });
                    failed.set(None);
                    known.update(|n| *n += 1);
                    in_flight.set(false);
                }
                Reply::Failed { message, .. } => {
                    failed.set(Some((asked.clone(), message)));
                    in_flight.set(false);
                }
                _ => {}
            },
        );
    });
    let rows = Memo::new(move |_| {
        known.track();
        shown.with(|s| {
            s.iter()
                .map(|&(a, k)| {
                    let row = match k {
                        None => Row::Whole,
                        Some(k) => match cached(&k) {
                            Some(p) => Row::Known(p, false),
                            // The last known of the same function, its parameters moved since.
                            None => cache
                                .with_value(|c| {
                                    c.iter()
                                        .rev()
                                        .find(|(held, _)| std::mem::discriminant(held) == std::mem::discriminant(&k))
                                        .map(|(_, p)| Row::Known(*p, true))
                                })
                                .unwrap_or(Row::Computing),
                        },
                    };
                    (a, row)
                })
                .collect::<Vec<_>>()
        })
    });
    let csv = move || {
        let mut out =
            format!("function,{}\n", PROPERTY_COLUMNS.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
        for (a, row) in rows.get_untracked() {
            out.push_str(&csv_field(a.label()));
            match row {
                Row::Known(p, false) => {
                    for (i, cell) in property_cells(&p).into_iter().enumerate() {
                        out.push(',');
                        out.push_str(&match i {
                            5 => csv_number(p.value_at_0),
                            6 => csv_number(p.slope_at_0),
                            7 => csv_number(p.mean),
                            8 => csv_number(p.sd),
                            9 => csv_number(p.zero_fraction),
                            _ => cell,
                        });
                    }
                }
                Row::Whole => out.push_str(&",row-wise".repeat(PROPERTY_COLUMNS.len())),
                Row::Known(_, true) | Row::Computing => out.push_str(&",computing".repeat(PROPERTY_COLUMNS.len())),
            }
            out.push('\n');
        }
        out
    };
    let message = RwSignal::new(None::<String>);
    let export = move |_| {
        let file = format!("activation-properties-{}.csv", config.with_untracked(|c| c.shown.len()));
        message.set(download_text(&csv(), "text/csv", &file).err().map(|e| format!("The export failed: {e}")));
    };
    view! {
        <section class="panel" aria-labelledby="properties-title">
            <h2 id="properties-title">"Properties"</h2>
            <p class="hint">
                "Computed from each function with its current parameters: monotone where f′ ≥ 0 everywhere \
                 checked (every 0.001 on [−50, 50] and far out); bounded below where neither tail keeps \
                 falling; smooth where the one-sided slopes agree at 0 (and at a KAN edge's knots); \
                 zero-centred where |mean| < 0.1·sd under a standard normal input; saturating where f′ \
                 vanishes at ∓10⁴. The last column is the share of N(0,1) inputs mapped to exactly 0."
            </p>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Properties">
                <table class="property-table" data-testid="property-table">
                    <thead>
                        <tr>
                            <th scope="col">"function"</th>
                            {PROPERTY_COLUMNS.iter().map(|c| view! { <th scope="col">{*c}</th> }).collect::<Vec<_>>()}
                        </tr>
                    </thead>
                    <tbody>
                        {move || rows.get().into_iter().map(|(a, row)| {
                            let stale = matches!(row, Row::Known(_, true));
                            let cells = match row {
                                Row::Known(p, _) => property_cells(&p)
                                    .into_iter()
                                    .map(|text| view! { <td>{text}</td> })
                                    .collect::<Vec<_>>()
                                    .into_any(),
                                Row::Computing => view! {
                                    <td colspan=PROPERTY_COLUMNS.len()>"Computing in the worker…"</td>
                                }
                                .into_any(),
                                Row::Whole => view! {
                                    <td colspan=PROPERTY_COLUMNS.len()>
                                        "Row-wise: PolyNorm's output for one value depends on the whole hidden vector, \
                                         so these properties are not a function's of x alone."
                                    </td>
                                }
                                .into_any(),
                            };
                            view! {
                                <tr data-function=a.name() class:stale=stale aria-busy=stale.then_some("true")>
                                    <th scope="row">{a.label()}</th>
                                    {cells}
                                </tr>
                            }
                        }).collect::<Vec<_>>()}
                    </tbody>
                </table>
            </div>
            {move || failed.get().map(|(_, why)| view! {
                <p class="notice" role="alert" data-testid="properties-failed">
                    {format!("The properties could not be computed: {why}. ")}
                    <button type="button" on:click=move |_| failed.set(None)>"Compute again"</button>
                </p>
            })}
            <div class="export">
                <span>"Export:"</span>
                <button type="button" on:click=export data-testid="properties-csv">"CSV"</button>
                <span role="status">{move || message.get()}</span>
            </div>
        </section>
    }
}
