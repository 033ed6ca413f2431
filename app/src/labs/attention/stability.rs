//! Stability: the logit scale from 1 to 10⁴, the naive softmax beside the compared variants.
//! The naive softmax computes `e^s` without subtracting the row's max, which overflows to
//! infinity once a score passes ~88.7 — and every weight of that row becomes NaN.

use leptos::prelude::*;
use softplay_kernels::attention::{synthetic::Synthetic, SoftmaxAlgorithm, Variant};

use super::Lab;
use super::{
    maps::synthetic,
    variants::{kernel, title},
};
use softplay_worker::{
    attention::{Done as Answered, Request, StabilitySeries},
    protocol::Reply,
};

use crate::{
    components::chart::{readout_number, short_number, Axis, LineChart, Marker, Series},
    worker::latest::Latest,
};

/// The naive softmax's colour in the chart (after the compared variants').
const NAIVE_COLOUR: usize = 5;

/// Largest sequence the stability scan uses (it checks every weight at 25 scales).
pub const STABILITY_N: u32 = 256;

/// 1 to 10⁴, six points per decade, and the decades exactly.
pub fn scales() -> Vec<f32> {
    (0..=24).map(|i| 10f64.powf(i as f64 / 6.0) as f32).collect()
}

/// The table's columns: the decades.
const TABLE_SCALES: [f32; 5] = [1.0, 10.0, 100.0, 1000.0, 10000.0];

#[derive(Clone, Debug, PartialEq)]
struct Done {
    /// Each series' name and colour.
    names: Vec<(String, usize)>,
    series: Vec<StabilitySeries>,
    n: u32,
}

#[component]
pub fn Stability() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    let compute = expect_context::<Lab>().long;
    let done = RwSignal::new(None::<Done>);
    let error = RwSignal::new(None::<String>);
    let latest = Latest::new(compute, move |names: &Vec<(String, usize)>, response| match response {
        Reply::Done(Answered::Stability(s)) => {
            error.set(None);
            done.set(Some(Done { names: names.clone(), series: s.series, n: s.n }));
        }
        Reply::Failed { message, .. } => error.set(Some(message)),
        _ => {}
    });
    let ask = Memo::new(move |_| {
        config.with(|l| {
            let c = l;
            let naive = Variant::Softmax(SoftmaxAlgorithm::Naive);
            // (name, variant, colour): the compared variants keep their panels' colours.
            let mut variants: Vec<(String, Variant, usize)> = vec![("Softmax (naive)".into(), naive, NAIVE_COLOUR)];
            variants.extend(
                c.compare
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (title(v, c), kernel(v, c), i))
                    .filter(|(_, s, _)| *s != naive),
            );
            // The scan applies the scales itself: the lab's logit scale does not enter it.
            let inputs = Synthetic { logit_scale: 1.0, ..synthetic(c, c.n.min(STABILITY_N)) };
            (inputs, variants, c.causal)
        })
    });
    Effect::new(move |_| {
        let (inputs, variants, causal) = ask.get();
        let names = variants.iter().map(|v| (v.0.clone(), v.2)).collect();
        latest.request_when_still(super::sweep::QUIET_MS, names, move |id| Request::Stability {
            id,
            inputs,
            variants: variants.iter().map(|v| v.1).collect(),
            causal,
            scales: scales(),
        });
    });

    let series = Signal::derive(move || {
        done.get()
            .map(|d| {
                d.names
                    .iter()
                    .zip(&d.series)
                    .enumerate()
                    .map(|(i, ((name, colour), s))| Series {
                        name: name.clone(),
                        colour: *colour,
                        // A scale where some row broke has no point: the line ends at the break.
                        points: s
                            .points
                            .iter()
                            .map(|p| (p.scale as f64, if p.broken_rows > 0 { f64::NAN } else { p.max_weight }))
                            .collect(),
                        dashed: i == 0,
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let markers = Signal::derive(move || {
        done.get()
            .map(|d| {
                d.names
                    .iter()
                    .zip(&d.series)
                    .filter_map(|((name, colour), s)| {
                        s.breaks_at.map(|at| Marker {
                            x: at as f64,
                            label: format!("{name} breaks from × {}", short_number(at as f64)),
                            colour: *colour,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let file_tag =
        Signal::derive(move || config.with(|l| format!("n{}-d{}-seed{}", l.n.min(STABILITY_N), l.d, l.seed)));
    let verdict = move || {
        if let Some(e) = error.get() {
            return format!("The stability scan failed: {e}");
        }
        let Some(d) = done.get() else { return "Scanning the logit scale…".into() };
        let broken: Vec<String> = d
            .names
            .iter()
            .zip(&d.series)
            .filter_map(|((name, _), s)| {
                s.breaks_at.map(|at| format!("{name} breaks from a logit scale of {}", readout_number(at as f64)))
            })
            .collect();
        let holding = d.series.iter().filter(|s| s.breaks_at.is_none()).count();
        if broken.is_empty() {
            format!("Every variant stays finite up to a logit scale of 10⁴ (n = {}).", d.n)
        } else {
            format!(
                "{} (its largest score passes ln(f32::MAX) ≈ 88.7 there, and e^s or the row's sum overflows: \
                 NaN or all-zero rows); {holding} of {} stay finite up to 10⁴ (n = {}).",
                broken.join("; "),
                d.series.len(),
                d.n
            )
        }
    };
    let table = move || {
        let d = done.get()?;
        let rows = d
            .names
            .iter()
            .zip(&d.series)
            .map(|((name, _), s)| {
                let cells = TABLE_SCALES
                    .iter()
                    .map(|&at| {
                        let p = s
                            .points
                            .iter()
                            .min_by(|a, b| (a.scale / at - 1.0).abs().total_cmp(&(b.scale / at - 1.0).abs()));
                        let (text, value, broken) = match p {
                            Some(p) if p.broken_rows > 0 => {
                                (format!("broken in {} of {} rows", p.broken_rows, d.n), "NaN".to_string(), true)
                            }
                            Some(p) => (format!("{:.4}", p.row_sum), format!("{}", p.row_sum), false),
                            None => ("—".into(), String::new(), false),
                        };
                        view! { <td class:broken=broken data-scale=format!("{at}") data-value=value>{text}</td> }
                    })
                    .collect::<Vec<_>>();
                view! {
                    <tr data-series=name.clone()>
                        <th scope="row">{name.clone()}</th>
                        {cells}
                    </tr>
                }
            })
            .collect::<Vec<_>>();
        Some(view! {
            <div class="table-scroll" tabindex="0" role="region" aria-label="Stability">
                <table class="stability-table" data-testid="stability-table">
                    <caption>"Mean row sum at each logit scale (broken: NaN weights, or a row that should sum to 1 and does not)"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"variant"</th>
                            {TABLE_SCALES.iter().map(|s| view! { <th scope="col">{format!("×{}", s)}</th> }).collect::<Vec<_>>()}
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        })
    };
    view! {
        <p class="hint">
            "The queries are multiplied by the logit scale, so every score grows with it. Stable softmax \
             subtracts each row's largest score before exponentiating; the two-pass algorithm keeps \
             exponents apart from mantissas; softplus grows only linearly. The naive softmax has none of \
             these and breaks. LSSA and LSSAR normalise q and k, so the logit scale does not reach them: \
             turn their qk-norm off to see softplus itself hold. Computed at n = min(n, 256) on the \
             synthetic inputs."
        </p>
        <p role="status" data-testid="stability-verdict">{verdict}</p>
        <LineChart
            title="Mean max weight against logit scale"
            x=Axis { label: "logit scale", log: true }
            y=Axis { label: "mean max weight", log: false }
            series=series
            markers=markers
            file_tag=file_tag
            test_id="stability-chart"
        />
        {table}
    }
}
