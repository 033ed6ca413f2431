//! The Attention lab: softmax, softplus (LSSA, LSSAR), sigmoid, ReLU and linear attention side by
//! side on the same queries and keys; how they change with length; where they break.

mod maps;
mod race;
mod stability;
mod sweep;
mod table;
pub mod variants;

use leptos::prelude::*;

use super::shell::LabFrame;
use crate::{
    app::AppState,
    components::controls::{ChoiceControl, FlagControl, FloatControl, IntControl, ListPicker},
    state::labs::{
        AttentionVariant, Source, ATTN_BASE, ATTN_CAUSAL, ATTN_CMP_MAX, ATTN_CMP_MIN, ATTN_D, ATTN_N, ATTN_NEEDLE,
        ATTN_NOISE, ATTN_P, ATTN_PERIOD, ATTN_QKNORM, ATTN_SCALE, ATTN_SIGB, ATTN_SIGB_AUTO, SEED,
    },
};

#[component]
pub fn AttentionLab() -> impl IntoView {
    let labs = expect_context::<AppState>().labs;
    let a = move |f: fn(&crate::state::labs::AttentionConfig) -> f64| {
        Signal::derive(move || labs.with(|l| f(&l.attention)))
    };
    let shows = move |v: AttentionVariant| labs.with(|l| l.attention.compare.contains(&v));
    let synthetic = move || labs.with(|l| l.attention.source == Source::Synthetic);
    view! {
        <LabFrame
            title="Attention"
            intro="Softmax, softplus (LSSA and LSSAR), sigmoid, ReLU and linear attention side by side: \
                   the weights each normaliser gives the same queries and keys, how they change with \
                   sequence length, and where each one breaks numerically."
            results=Box::new(move || view! {
                <section class="panel" aria-labelledby="weights-title">
                    <h2 id="weights-title">"Weights side by side"</h2>
                    <maps::ComparePanels/>
                </section>
                <section class="panel" aria-labelledby="sweep-title">
                    <h2 id="sweep-title">"Length sweep: 1× to 16×"</h2>
                    <sweep::LengthSweep/>
                </section>
                <section class="panel" aria-labelledby="stability-title">
                    <h2 id="stability-title">"Stability: logit scale 1 to 10⁴"</h2>
                    <stability::Stability/>
                </section>
                <section class="panel" aria-labelledby="race-title">
                    <h2 id="race-title">"Softmax algorithms on this machine"</h2>
                    <race::SoftmaxRace/>
                </section>
            }.into_any())
        >
            <div class="control-group">
                <h3>"Variants"</h3>
                <ListPicker
                    legend=format!("Compare ({ATTN_CMP_MIN} to {ATTN_CMP_MAX})")
                    id_prefix="cmp"
                    noun_one="variant"
                    noun="variants side by side"
                    min=ATTN_CMP_MIN
                    max=ATTN_CMP_MAX
                    value=Signal::derive(move || labs.with(|l| l.attention.compare.clone()))
                    on_change=Callback::new(move |v| labs.update(|l| l.attention.compare = v))
                />
                <Show when=move || shows(AttentionVariant::Softmax)>
                    <ChoiceControl
                        value=Signal::derive(move || labs.with(|l| l.attention.algorithm))
                        on_change=Callback::new(move |v| labs.update(|l| l.attention.algorithm = v))
                    />
                </Show>
                <Show when=move || shows(AttentionVariant::Lssa) || shows(AttentionVariant::Lssar)>
                    <FlagControl
                        param=ATTN_QKNORM
                        value=Signal::derive(move || labs.with(|l| l.attention.qk_norm))
                        on_change=Callback::new(move |v| labs.update(|l| l.attention.qk_norm = v))
                    />
                    <ChoiceControl
                        value=Signal::derive(move || labs.with(|l| l.attention.lssa_scale))
                        on_change=Callback::new(move |v| labs.update(|l| l.attention.lssa_scale = v))
                    />
                </Show>
                <Show when=move || shows(AttentionVariant::Lssar)>
                    <FloatControl
                        param=ATTN_P
                        value=a(|c| c.p)
                        on_change=Callback::new(move |v| labs.update(|l| l.attention.p = v))
                    />
                </Show>
                <Show when=move || shows(AttentionVariant::Sigmoid)>
                    <FlagControl
                        param=ATTN_SIGB_AUTO
                        value=Signal::derive(move || labs.with(|l| l.attention.sigmoid_auto))
                        on_change=Callback::new(move |v| labs.update(|l| l.attention.sigmoid_auto = v))
                    />
                    <Show when=move || !labs.with(|l| l.attention.sigmoid_auto)>
                        <FloatControl
                            param=ATTN_SIGB
                            value=a(|c| c.sigmoid_bias)
                            on_change=Callback::new(move |v| labs.update(|l| l.attention.sigmoid_bias = v))
                        />
                    </Show>
                </Show>
            </div>
            <div class="control-group">
                <h3>"Inputs"</h3>
                <ChoiceControl
                    value=Signal::derive(move || labs.with(|l| l.attention.source))
                    on_change=Callback::new(move |v| labs.update(|l| l.attention.source = v))
                />
                <p class="hint">"A trained model's queries and keys become a third source when the Model lab arrives."</p>
                <FlagControl
                    param=ATTN_CAUSAL
                    value=Signal::derive(move || labs.with(|l| l.attention.causal))
                    on_change=Callback::new(move |v| labs.update(|l| l.attention.causal = v))
                />
                <Show when=synthetic fallback=|| view! { <table::TableEditor/> }>
                    <IntControl
                        param=ATTN_N
                        value=Signal::derive(move || labs.with(|l| l.attention.n))
                        on_change=Callback::new(move |v| labs.update(|l| l.attention.n = v))
                    />
                    <IntControl
                        param=ATTN_D
                        value=Signal::derive(move || labs.with(|l| l.attention.d))
                        on_change=Callback::new(move |v| labs.update(|l| l.attention.d = v))
                    />
                    <FloatControl
                        param=ATTN_SCALE
                        value=a(|c| c.scale)
                        on_change=Callback::new(move |v| labs.update(|l| l.attention.scale = v))
                    />
                    <FloatControl
                        param=ATTN_NEEDLE
                        value=a(|c| c.needle)
                        on_change=Callback::new(move |v| labs.update(|l| l.attention.needle = v))
                    />
                    <IntControl
                        param=ATTN_PERIOD
                        value=Signal::derive(move || labs.with(|l| l.attention.period))
                        on_change=Callback::new(move |v| labs.update(|l| l.attention.period = v))
                    />
                    <FloatControl
                        param=ATTN_NOISE
                        value=a(|c| c.noise)
                        on_change=Callback::new(move |v| labs.update(|l| l.attention.noise = v))
                    />
                    <IntControl
                        param=SEED
                        value=Signal::derive(move || labs.with(|l| l.attention.seed))
                        on_change=Callback::new(move |v| labs.update(|l| l.attention.seed = v))
                    />
                </Show>
            </div>
            <div class="control-group">
                <h3>"View"</h3>
                <ChoiceControl
                    value=Signal::derive(move || labs.with(|l| l.attention.colour))
                    on_change=Callback::new(move |v| labs.update(|l| l.attention.colour = v))
                />
                <IntControl
                    param=ATTN_BASE
                    value=Signal::derive(move || labs.with(|l| l.attention.base))
                    on_change=Callback::new(move |v| labs.update(|l| l.attention.base = v))
                />
            </div>
        </LabFrame>
    }
}
