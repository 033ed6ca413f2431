use leptos::prelude::*;

use super::shell::LabFrame;
use crate::{
    app::AppState,
    components::controls::{ChoiceControl, FloatControl, IntControl},
    state::labs::{MODEL_DMODEL, MODEL_HEADS, MODEL_LAYERS, MODEL_LR, MODEL_STEPS, SEED},
};

#[component]
pub fn ModelLab() -> impl IntoView {
    let labs = expect_context::<AppState>().labs;
    view! {
        <LabFrame
            title="Model"
            intro="Train a tiny transformer in this page with any attention normaliser and activation, \
                   on the same seed, and test how each one extrapolates to inputs 16× longer than it \
                   was trained on."
            coming="Training with live curves, the runs table, the length-extrapolation chart and \
                    checkpoints arrive with the model kernels."
        >
            <ChoiceControl
                value=Signal::derive(move || labs.with(|l| l.model.task))
                on_change=Callback::new(move |v| labs.update(|l| l.model.task = v))
            />
            <ChoiceControl
                value=Signal::derive(move || labs.with(|l| l.model.attention))
                on_change=Callback::new(move |v| labs.update(|l| l.model.attention = v))
            />
            <IntControl
                param=MODEL_LAYERS
                value=Signal::derive(move || labs.with(|l| l.model.layers))
                on_change=Callback::new(move |v| labs.update(|l| l.model.layers = v))
            />
            <IntControl
                param=MODEL_DMODEL
                value=Signal::derive(move || labs.with(|l| l.model.d_model))
                on_change=Callback::new(move |v| labs.update(|l| l.model.d_model = v))
            />
            <IntControl
                param=MODEL_HEADS
                value=Signal::derive(move || labs.with(|l| l.model.heads))
                on_change=Callback::new(move |v| labs.update(|l| l.model.heads = v))
            />
            <IntControl
                param=MODEL_STEPS
                value=Signal::derive(move || labs.with(|l| l.model.steps))
                on_change=Callback::new(move |v| labs.update(|l| l.model.steps = v))
            />
            <FloatControl
                param=MODEL_LR
                value=Signal::derive(move || labs.with(|l| l.model.lr))
                on_change=Callback::new(move |v| labs.update(|l| l.model.lr = v))
            />
            <IntControl
                param=SEED
                value=Signal::derive(move || labs.with(|l| l.model.seed))
                on_change=Callback::new(move |v| labs.update(|l| l.model.seed = v))
            />
        </LabFrame>
    }
}
