//! The Attention lab: softmax, softplus (LSSA, LSSAR), sigmoid, ReLU and linear attention side by
//! side on the same queries and keys; how they change with length; where they break.
//!
//! Loaded on demand (`src/bin/lab_attention.rs`): the shell calls [`mount`] with the query of
//! the lab's settings and hears every change back. The heatmaps ask the lab's interactive
//! worker; the sweep, the stability scan and the softmax race its worker for long runs, so that
//! they never hold up a redraw.

pub mod content;
mod maps;
mod race;
pub mod settings;
mod stability;
mod sweep;
mod table;
pub mod variants;

use leptos::prelude::*;
use softplay_worker::attention;

use self::settings::AttentionConfig;
use super::{
    frame::{Group, LabFrame, Tab},
    mounted::{self, Slot},
};
use crate::{
    components::controls::{ChoiceControl, FlagControl, FloatControl, IntControl, ListPicker},
    labs::attention::settings::{
        AttentionVariant, Source, ATTN_BASE, ATTN_CAUSAL, ATTN_CMP_MAX, ATTN_CMP_MIN, ATTN_D, ATTN_N, ATTN_NEEDLE,
        ATTN_NOISE, ATTN_P, ATTN_PERIOD, ATTN_QKNORM, ATTN_SCALE, ATTN_SIGB, ATTN_SIGB_AUTO,
    },
    state::lab::SEED,
    worker::client::Compute,
};

/// The lab's settings and its two workers, shared through context.
#[derive(Clone, Copy)]
pub struct Lab {
    pub config: RwSignal<AttentionConfig>,
    /// The heatmaps' worker.
    pub compute: AttentionCompute,
    /// Long runs: the length sweep, the stability scan, the softmax race.
    pub long: AttentionCompute,
}

/// A worker answering the lab's messages.
pub type AttentionCompute = Compute<attention::Request, attention::Done>;

static SLOT: Slot<AttentionConfig> = Slot::new("attention");

thread_local! {
    /// The heatmaps' worker: started once, kept while the page lives (coming back reuses it).
    static INTERACTIVE: std::cell::RefCell<Option<AttentionCompute>> = const { std::cell::RefCell::new(None) };
}

/// Mounts the lab into `host` with the settings of `query`; `on_query` hears the query of
/// every change.
pub fn mount(host: web_sys::HtmlElement, query: String, on_query: js_sys::Function) -> Vec<String> {
    mounted::mount(host, query, on_query, &SLOT, |config| {
        let compute = INTERACTIVE.with(|c| *c.borrow_mut().get_or_insert_with(mounted::start_worker));
        provide_context(Lab { config, compute, long: mounted::worker() });
        view! { <AttentionLab/> }.into_any()
    })
}

#[component]
pub fn AttentionLab() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    let a = move |f: fn(&AttentionConfig) -> f64| Signal::derive(move || config.with(f));
    let shows = move |v: AttentionVariant| config.with(|l| l.compare.contains(&v));
    let synthetic = move || config.with(|l| l.source == Source::Synthetic);
    view! {
        <LabFrame
            title=content::TITLE
            aim=content::INTRO
            main=Box::new(move || view! {
                <section class="panel" aria-labelledby="weights-title">
                    <h2 id="weights-title">"Weights side by side"</h2>
                    <maps::ComparePanels/>
                </section>
            }.into_any())
            tabs=vec![
                Tab::new("sweep", "Length sweep", view! {
                    <section class="panel" aria-labelledby="sweep-title">
                        <h2 id="sweep-title">"Length sweep: 1× to 16×"</h2>
                        <sweep::LengthSweep/>
                    </section>
                }),
                Tab::new("stability", "Stability", view! {
                    <section class="panel" aria-labelledby="stability-title">
                        <h2 id="stability-title">"Stability: logit scale 1 to 10⁴"</h2>
                        <stability::Stability/>
                    </section>
                }),
                Tab::new("race", "Softmax race", view! {
                    <section class="panel" aria-labelledby="race-title">
                        <h2 id="race-title">"Softmax algorithms on this machine"</h2>
                        <race::SoftmaxRace/>
                    </section>
                }),
            ]
        >
            <Group title="Variants">
                <ListPicker
                    legend=format!("Compare ({ATTN_CMP_MIN} to {ATTN_CMP_MAX})")
                    id_prefix="cmp"
                    key=crate::labs::attention::settings::ATTN_CMP_KEY
                    noun_one="variant"
                    noun="variants side by side"
                    min=ATTN_CMP_MIN
                    max=ATTN_CMP_MAX
                    value=Signal::derive(move || config.with(|l| l.compare.clone()))
                    on_change=Callback::new(move |v| config.update(|l| l.compare = v))
                />
                <Show when=move || shows(AttentionVariant::Softmax)>
                    <ChoiceControl
                        value=Signal::derive(move || config.with(|l| l.algorithm))
                        on_change=Callback::new(move |v| config.update(|l| l.algorithm = v))
                    />
                </Show>
                <Show when=move || shows(AttentionVariant::Lssa) || shows(AttentionVariant::Lssar)>
                    <FlagControl
                        param=ATTN_QKNORM
                        value=Signal::derive(move || config.with(|l| l.qk_norm))
                        on_change=Callback::new(move |v| config.update(|l| l.qk_norm = v))
                    />
                    <ChoiceControl
                        value=Signal::derive(move || config.with(|l| l.lssa_scale))
                        on_change=Callback::new(move |v| config.update(|l| l.lssa_scale = v))
                    />
                </Show>
                <Show when=move || shows(AttentionVariant::Lssar)>
                    <FloatControl
                        param=ATTN_P
                        value=a(|c| c.p)
                        on_change=Callback::new(move |v| config.update(|l| l.p = v))
                    />
                </Show>
                <Show when=move || shows(AttentionVariant::Sigmoid)>
                    <FlagControl
                        param=ATTN_SIGB_AUTO
                        value=Signal::derive(move || config.with(|l| l.sigmoid_auto))
                        on_change=Callback::new(move |v| config.update(|l| l.sigmoid_auto = v))
                    />
                    <Show when=move || !config.with(|l| l.sigmoid_auto)>
                        <FloatControl
                            param=ATTN_SIGB
                            value=a(|c| c.sigmoid_bias)
                            on_change=Callback::new(move |v| config.update(|l| l.sigmoid_bias = v))
                        />
                    </Show>
                </Show>
            </Group>
            <Group title="Inputs">
                <ChoiceControl
                    value=Signal::derive(move || config.with(|l| l.source))
                    on_change=Callback::new(move |v| config.update(|l| l.source = v))
                />
                <p class="hint">"A trained model's queries and keys become a third source when the Model lab arrives."</p>
                <FlagControl
                    param=ATTN_CAUSAL
                    value=Signal::derive(move || config.with(|l| l.causal))
                    on_change=Callback::new(move |v| config.update(|l| l.causal = v))
                />
                <Show when=synthetic fallback=|| view! { <table::TableEditor/> }>
                    <IntControl
                        param=ATTN_N
                        value=Signal::derive(move || config.with(|l| l.n))
                        on_change=Callback::new(move |v| config.update(|l| l.n = v))
                    />
                    <IntControl
                        param=ATTN_D
                        value=Signal::derive(move || config.with(|l| l.d))
                        on_change=Callback::new(move |v| config.update(|l| l.d = v))
                    />
                    <FloatControl
                        param=ATTN_SCALE
                        value=a(|c| c.scale)
                        on_change=Callback::new(move |v| config.update(|l| l.scale = v))
                    />
                    <FloatControl
                        param=ATTN_NEEDLE
                        value=a(|c| c.needle)
                        on_change=Callback::new(move |v| config.update(|l| l.needle = v))
                    />
                    <IntControl
                        param=ATTN_PERIOD
                        value=Signal::derive(move || config.with(|l| l.period))
                        on_change=Callback::new(move |v| config.update(|l| l.period = v))
                    />
                    <FloatControl
                        param=ATTN_NOISE
                        value=a(|c| c.noise)
                        on_change=Callback::new(move |v| config.update(|l| l.noise = v))
                    />
                    <IntControl
                        param=SEED
                        value=Signal::derive(move || config.with(|l| l.seed))
                        on_change=Callback::new(move |v| config.update(|l| l.seed = v))
                    />
                </Show>
            </Group>
            <Group title="View">
                <ChoiceControl
                    value=Signal::derive(move || config.with(|l| l.colour))
                    on_change=Callback::new(move |v| config.update(|l| l.colour = v))
                />
                <IntControl
                    param=ATTN_BASE
                    value=Signal::derive(move || config.with(|l| l.base))
                    on_change=Callback::new(move |v| config.update(|l| l.base = v))
                />
            </Group>
        </LabFrame>
    }
}
