use leptos::prelude::*;

use super::shell::LabFrame;
use crate::{
    app::AppState,
    components::controls::{ChoiceControl, FlagControl, FloatControl, IntControl},
    state::labs::{ATTN_CAUSAL, ATTN_D, ATTN_N, ATTN_SCALE, SEED},
};

#[component]
pub fn AttentionLab() -> impl IntoView {
    let labs = expect_context::<AppState>().labs;
    view! {
        <LabFrame
            title="Attention"
            intro="Softmax, softplus (LSSA and LSSAR) and sigmoid attention side by side: the weights \
                   each normaliser gives the same queries and keys, how they change with sequence \
                   length, and where each one breaks numerically."
            coming="The kernels behind this lab are in place (every normaliser, forward and backward, \
                    checked against a float64 reference). Next: heatmaps of the weights with row \
                    statistics, the length sweep (1× to 16×) and the logit-scale stability test."
        >
            <ChoiceControl
                value=Signal::derive(move || labs.with(|l| l.attention.variant))
                on_change=Callback::new(move |v| labs.update(|l| l.attention.variant = v))
            />
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
                value=Signal::derive(move || labs.with(|l| l.attention.scale))
                on_change=Callback::new(move |v| labs.update(|l| l.attention.scale = v))
            />
            <FlagControl
                param=ATTN_CAUSAL
                value=Signal::derive(move || labs.with(|l| l.attention.causal))
                on_change=Callback::new(move |v| labs.update(|l| l.attention.causal = v))
            />
            <IntControl
                param=SEED
                value=Signal::derive(move || labs.with(|l| l.attention.seed))
                on_change=Callback::new(move |v| labs.update(|l| l.attention.seed = v))
            />
        </LabFrame>
    }
}
