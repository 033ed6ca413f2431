//! The side-by-side panels: each compared variant's weights on the same queries and keys, as a
//! heatmap with its row statistics, formula, explanation and paper.

use std::sync::Arc;

use leptos::prelude::*;
use softplay_kernels::attention::{
    attention_probe, attention_score, stats::SweepPoint, synthetic::Needle, synthetic::Synthetic, Attention, Mask,
    Probe, Shape, Variant,
};

use super::variants::{about, as_set, kernel, title};
use super::Lab;
use softplay_worker::{
    attention::{Done, Inputs, Map, Request},
    protocol::Reply,
};

use crate::{
    components::{
        chart::readout_number,
        export::download_text,
        formula::Formula,
        heatmap::{heatmap_csv, Heatmap, HeatmapData},
    },
    labs::attention::settings::{AttentionConfig, AttentionVariant, ColourScale, Source},
    state::codec::Choice,
    worker::latest::Latest,
};

/// The inputs the lab's settings describe (synthetic or the hand-written example).
pub fn inputs(c: &AttentionConfig) -> Inputs {
    match c.source {
        Source::Synthetic => Inputs::Synthetic(synthetic(c, c.n)),
        Source::Table => Inputs::Table {
            n: c.table_n,
            d: c.table_d,
            q: c.table_q.iter().map(|&x| x as f32).collect(),
            k: c.table_k.iter().map(|&x| x as f32).collect(),
        },
    }
}

/// The synthetic generator's settings at length `n`.
pub fn synthetic(c: &AttentionConfig, n: u32) -> Synthetic {
    Synthetic {
        n: n as usize,
        d: c.d as usize,
        seed: c.seed as u64,
        logit_scale: c.scale as f32,
        needle: c.needle as f32,
        period: c.period as usize,
        noise: c.noise as f32,
    }
}

/// What the panels ask the worker for; a new request goes out only when this changes.
#[derive(Clone, Debug, PartialEq)]
struct Ask {
    inputs: Inputs,
    variants: Vec<(AttentionVariant, Variant)>,
    causal: bool,
}

/// The queries and keys behind a result, `[n, d]` each, as the kernels saw them.
#[derive(Clone, Debug, PartialEq)]
pub struct QueriesKeys {
    pub d: usize,
    pub q: Vec<f32>,
    pub k: Vec<f32>,
}

/// Compared by identity: a new answer is a new `Arc`, and comparing n² weights by value on
/// every redraw would cost more than drawing them.
#[derive(Clone, Debug)]
pub struct Shown {
    pub variant: AttentionVariant,
    /// The kernels' form of the variant, with its parameters.
    pub kernel: Variant,
    pub mask: Mask,
    pub data: Arc<HeatmapData>,
    /// Row means of the weights (and the needle's weight), shown under the heatmap.
    pub summary: SweepPoint,
    pub inputs: Arc<QueriesKeys>,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Result {
    shown: Vec<Shown>,
    elapsed_ms: f64,
    n: u32,
}

impl PartialEq for Shown {
    fn eq(&self, other: &Self) -> bool {
        self.variant == other.variant
            && Arc::ptr_eq(&self.data, &other.data)
            && Arc::ptr_eq(&self.inputs, &other.inputs)
    }
}

fn shown(
    (variant, kernel): (AttentionVariant, Variant),
    n: usize,
    causal: bool,
    needle: Option<Needle>,
    map: Map,
    inputs: Arc<QueriesKeys>,
) -> Shown {
    let row_stats = (0..n)
        .map(|i| [map.entropy.0[i], map.max_weight.0[i], map.sink.0[i], map.row_sum.0[i], map.support.0[i]])
        .collect();
    let data = HeatmapData {
        rows: n,
        cols: n,
        visible: (0..n).map(|i| if causal { i + 1 } else { n }).collect(),
        values: map.weights.0,
        row_stats,
        mark: needle.map(|p| (p.query, p.key)),
    };
    let mask = if causal { Mask::Causal } else { Mask::Full };
    Shown { variant, kernel, mask, data: Arc::new(data), summary: map.mean, inputs }
}

#[component]
pub fn ComparePanels() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    let compute = expect_context::<Lab>().compute;
    let result = RwSignal::new(Result::default());
    let error = RwSignal::new(None::<String>);
    let latest = Latest::pipelined(compute, move |ask: &Ask, response| match response {
        Reply::Done(Done::Maps(maps)) => {
            let n = maps.n as usize;
            let inputs = Arc::new(QueriesKeys { d: maps.d as usize, q: maps.q.0, k: maps.k.0 });
            let shown = ask
                .variants
                .iter()
                .zip(maps.maps)
                .map(|(&v, map)| shown(v, n, ask.causal, maps.needle, map, inputs.clone()))
                .collect();
            error.set(None);
            result.set(Result { shown, elapsed_ms: maps.elapsed_ms, n: maps.n });
        }
        Reply::Failed { message, .. } => error.set(Some(message)),
        _ => {}
    });
    let ask = Memo::new(move |_| {
        config.with(|l| {
            let c = l;
            Ask {
                inputs: inputs(c),
                variants: c.compare.iter().map(|&v| (v, kernel(v, c))).collect(),
                causal: c.causal,
            }
        })
    });
    Effect::new(move |_| {
        let a = ask.get();
        let (inputs, variants, causal) = (a.inputs.clone(), a.variants.iter().map(|v| v.1).collect(), a.causal);
        latest.request(a, move |id| Request::AttentionMaps { id, inputs, variants, causal });
    });

    let compare = Memo::new(move |_| config.with(|l| l.compare.clone()));
    let status = move || {
        if let Some(e) = error.get() {
            return format!("Could not compute the weights: {e}");
        }
        let r = result.get();
        if r.shown.is_empty() {
            return "Computing the weights…".into();
        }
        format!(
            "{} variants at n = {} computed in {:.1} ms in the worker{}",
            r.shown.len(),
            r.n,
            r.elapsed_ms,
            if latest.busy.get() { "; updating…" } else { "" }
        )
    };
    view! {
        <p class="status" role="status" data-testid="maps-status">{status}</p>
        <div class="variant-grid">
            <For each=move || compare.get() key=|v| *v let:variant>
                <VariantPanel variant=variant result=result/>
            </For>
        </div>
    }
}

#[component]
fn VariantPanel(variant: AttentionVariant, result: RwSignal<Result>) -> impl IntoView {
    let config = expect_context::<Lab>().config;
    let info = about(variant);
    let shown = Memo::new(move |_| result.with(|r| r.shown.iter().find(|s| s.variant == variant).cloned()));
    let data = Signal::derive(move || shown.get().map(|s| s.data));
    // Memos, so that a change elsewhere in the settings does not redraw the heatmap.
    let log = Memo::new(move |_| config.with(|l| l.colour == ColourScale::Log));
    let heading = move || config.with(|l| title(variant, l));
    let file_stem = Memo::new(move |_| {
        config.with(|l| {
            let c = l;
            let source = match c.source {
                Source::Synthetic => format!("n{}-d{}-seed{}", c.n, c.d, c.seed),
                Source::Table => format!("example-{}x{}", c.table_n, c.table_d),
            };
            format!("attention-weights-{}-{source}", crate::components::export::slug(&title(variant, c)))
        })
    });
    // The score behind a cell, from the queries and keys (O(d) per cell).
    let cell_note = Callback::new(move |(i, j): (usize, usize)| {
        let s = shown.get_untracked()?;
        let x = &s.inputs;
        attention_score(s.kernel, s.mask, x.d, &x.q, &x.k, i, j)
            .map(|score| format!("score {}", readout_number(score as f64)))
    });
    let scores_message = RwSignal::new(None::<String>);
    let export_scores = move |_| {
        let Some(s) = shown.get_untracked() else { return };
        let (x, n) = (&s.inputs, s.data.rows);
        let mut scores = vec![0.0f32; n * n];
        let attention = Attention { shape: Shape::single(n, x.d), variant: s.kernel, mask: s.mask };
        let done = attention_probe(&attention, &x.q, &x.k, Probe { scores: Some(&mut scores), ..Probe::default() })
            .map_err(|e| e.to_string())
            .and_then(|()| {
                let csv = heatmap_csv(&s.data, &scores, "query\\key");
                let name = file_stem.get_untracked().replacen("weights", "scores", 1);
                download_text(&csv, "text/csv", &format!("{name}.csv"))
            });
        scores_message.set(done.err().map(|e| format!("The export failed: {e}")));
    };
    let stat = move |label: &'static str, key: &'static str, pick: fn(&SweepPoint) -> Option<f64>| {
        view! {
            <div>
                <dt>{label}</dt>
                <dd data-stat=key data-value=move || shown.get().and_then(|s| pick(&s.summary)).map(|v| format!("{v}")).unwrap_or_default()>
                    {move || shown.get().and_then(|s| pick(&s.summary)).map(readout_number).unwrap_or_else(|| "—".into())}
                </dd>
            </div>
        }
    };
    view! {
        <section class="variant-panel" data-variant=move || variant_name(variant) aria-label=heading>
            <h3>{heading}</h3>
            <Heatmap
                data=data
                log=log
                file_stem=file_stem
                rows_are="query"
                cols_are="key"
                label=format!("Attention weights of {}", variant.label())
                cell_note=cell_note
                extra_export=Box::new(move || view! {
                    <button type="button" on:click=export_scores>"CSV (scores)"</button>
                    <span role="status">{move || scores_message.get()}</span>
                }.into_any())
            />
            {move || shown.get().and_then(|s| s.data.mark).map(|(i, j)| view! {
                <p class="hint">{format!("The ring marks the needle: query {i} matches key {j}.")}</p>
            })}
            <dl class="summary">
                {stat("mean entropy (nats)", "entropy", |s| Some(s.entropy))}
                {stat("mean max weight", "max_weight", |s| Some(s.max_weight))}
                {stat("needle weight", "needle", |s| s.needle)}
                {stat("mean sink mass", "sink", |s| Some(s.sink))}
                {stat("mean row sum", "row_sum", |s| Some(s.row_sum))}
                {stat("mean support", "support", |s| Some(s.support))}
            </dl>
            <Formula markup=info.formula/>
            {move || config.with(|l| as_set(variant, l)).map(|text| view! { <p class="as-set">{text}</p> })}
            <p>{info.text}</p>
            <p class="paper">
                "From: " <a href=info.link rel="noopener" target="_blank">{info.paper}</a>
            </p>
        </section>
    }
}

fn variant_name(v: AttentionVariant) -> &'static str {
    v.name()
}
