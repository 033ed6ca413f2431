use leptos::prelude::*;

use super::shell::LabFrame;
use crate::{
    app::AppState,
    components::controls::{ChoiceControl, FloatControl, IntControl},
    state::labs::{ACT_BETA, ACT_XMAX, SEED},
};

#[component]
pub fn ActivationsLab() -> impl IntoView {
    let labs = expect_context::<AppState>().labs;
    view! {
        <LabFrame
            title="Activations"
            intro="The activation zoo — from ReLU and GELU to PolyCom, CRReLU, rational and KAN units — \
                   with derivatives, parameters, a fitting race between small MLPs, and the sparsity \
                   each one produces."
            coming="Function and derivative plots, the property table, the fitting race and the \
                    sparsity histograms arrive with the activation kernels."
        >
            <ChoiceControl
                value=Signal::derive(move || labs.with(|l| l.activations.activation))
                on_change=Callback::new(move |v| labs.update(|l| l.activations.activation = v))
            />
            <FloatControl
                param=ACT_XMAX
                value=Signal::derive(move || labs.with(|l| l.activations.xmax))
                on_change=Callback::new(move |v| labs.update(|l| l.activations.xmax = v))
            />
            <FloatControl
                param=ACT_BETA
                value=Signal::derive(move || labs.with(|l| l.activations.beta))
                on_change=Callback::new(move |v| labs.update(|l| l.activations.beta = v))
            />
            <IntControl
                param=SEED
                value=Signal::derive(move || labs.with(|l| l.activations.seed))
                on_change=Callback::new(move |v| labs.update(|l| l.activations.seed = v))
            />
        </LabFrame>
    }
}
