use leptos::prelude::*;

use super::shell::LabFrame;
use crate::{
    app::AppState,
    components::controls::{ChoiceControl, FloatControl, IntControl},
    state::labs::{ALIGN_BETA, SEED},
};

#[component]
pub fn AlignmentLab() -> impl IntoView {
    let labs = expect_context::<AppState>().labs;
    view! {
        <LabFrame
            title="Alignment"
            intro="Preference-alignment losses (DPO, IPO, SimPO, ORPO, KTO and friends) and their \
                   gradients; a DPO toy that shows the rejected response collapsing; best-of-N against \
                   KL-constrained RL; and Nash dynamics on non-transitive preferences."
            coming="Loss and gradient-weight curves, the DPO toy, the best-of-N frontier and the Nash \
                    trajectories arrive with the alignment kernels."
        >
            <ChoiceControl
                value=Signal::derive(move || labs.with(|l| l.alignment.loss))
                on_change=Callback::new(move |v| labs.update(|l| l.alignment.loss = v))
            />
            <FloatControl
                param=ALIGN_BETA
                value=Signal::derive(move || labs.with(|l| l.alignment.beta))
                on_change=Callback::new(move |v| labs.update(|l| l.alignment.beta = v))
            />
            <IntControl
                param=SEED
                value=Signal::derive(move || labs.with(|l| l.alignment.seed))
                on_change=Callback::new(move |v| labs.update(|l| l.alignment.seed = v))
            />
        </LabFrame>
    }
}
