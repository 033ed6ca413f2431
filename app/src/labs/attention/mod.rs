//! The Attention lab: softmax, softplus (LSSA, LSSAR), sigmoid, ReLU and linear attention side by
//! side on the same queries and keys; how they change with length; where they break.

mod maps;
mod race;
mod stability;
mod sweep;
mod table;
pub mod variants;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::shell::LabFrame;
use crate::{
    app::AppState,
    components::controls::{ChoiceControl, FlagControl, FloatControl, IntControl},
    state::{
        codec::Choice,
        labs::{
            AttentionVariant, Source, ATTN_BASE, ATTN_CAUSAL, ATTN_CMP_MAX, ATTN_CMP_MIN, ATTN_D, ATTN_N, ATTN_NEEDLE,
            ATTN_NOISE, ATTN_P, ATTN_PERIOD, ATTN_QKNORM, ATTN_SCALE, ATTN_SIGB, ATTN_SIGB_AUTO, SEED,
        },
    },
};

/// Checkboxes for the variants compared: 2 to 4, in the order picked.
#[component]
fn VariantPicker() -> impl IntoView {
    let labs = expect_context::<AppState>().labs;
    let message = RwSignal::new(None::<String>);
    let toggle = move |v: AttentionVariant, on: bool, ev: web_sys::Event| {
        let current = labs.with_untracked(|l| l.attention.compare.clone());
        let refused = if on && current.len() >= ATTN_CMP_MAX {
            Some(format!("At most {ATTN_CMP_MAX} variants side by side: uncheck one before adding {}.", v.label()))
        } else if !on && current.len() <= ATTN_CMP_MIN {
            Some(format!("At least {ATTN_CMP_MIN} variants are compared: check another before removing {}.", v.label()))
        } else {
            None
        };
        if let Some(why) = refused {
            message.set(Some(why));
            if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                input.set_checked(!on);
            }
            return;
        }
        message.set(None);
        labs.update(|l| {
            let list = &mut l.attention.compare;
            if on {
                if !list.contains(&v) {
                    list.push(v);
                }
            } else {
                list.retain(|x| *x != v);
            }
        });
    };
    view! {
        <fieldset class="control variant-picker">
            <legend>{format!("Compare ({ATTN_CMP_MIN} to {ATTN_CMP_MAX})")}</legend>
            {AttentionVariant::ALL
                .iter()
                .map(|&v| {
                    let id = format!("cmp-{}", v.name());
                    view! {
                        <div class="control-flag">
                            <input
                                type="checkbox"
                                id=id.clone()
                                prop:checked=move || labs.with(|l| l.attention.compare.contains(&v))
                                on:change=move |ev| toggle(v, event_target_checked(&ev), ev)
                            />
                            <label for=id>{v.label()}</label>
                        </div>
                    }
                })
                .collect::<Vec<_>>()}
            <p class="control-message" role="status">{move || message.get()}</p>
        </fieldset>
    }
}

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
                <VariantPicker/>
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
