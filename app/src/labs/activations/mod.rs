//! The Activations lab: functions and their derivatives with live parameters, a property
//! table computed from the functions, the gated units as a heatmap, a fitting race between
//! small MLPs in the worker, and the sparsity of their hidden layers.
//!
//! Loaded on demand (`src/bin/lab_activations.rs`): the shell calls [`mount`] with the query
//! of the lab's settings and hears every change back.

pub mod content;
mod gate;
mod plots;
mod properties;
mod race;
pub mod settings;
pub mod spec;

use leptos::prelude::*;
use softplay_worker::activations;

use super::{
    frame::{Group, LabFrame, Tab},
    mounted::{self, Slot},
};
use crate::{
    components::controls::{flag_field, float_field, int_field, ListPicker},
    labs::activations::settings::{ActivationsConfig, ACT_FNS_MAX, ACT_SECOND, ACT_XMAX},
    state::lab::SEED,
    worker::client::Compute,
};

/// The lab's settings and its worker, shared through context.
#[derive(Clone, Copy)]
pub struct Lab {
    pub config: RwSignal<ActivationsConfig>,
    pub compute: Compute<activations::Request, activations::Done>,
}

static SLOT: Slot<ActivationsConfig> = Slot::new("activations");

/// Mounts the lab into `host` with the settings of `query`; `on_query` hears the query of
/// every change.
pub fn mount(host: web_sys::HtmlElement, query: String, on_query: js_sys::Function) -> Vec<String> {
    mounted::mount(host, query, on_query, &SLOT, |config| {
        provide_context(Lab { config, compute: mounted::worker() });
        view! { <ActivationsLab/> }.into_any()
    })
}

#[component]
pub fn ActivationsLab() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    view! {
        <LabFrame
            title=content::TITLE
            aim=content::INTRO
            main=Box::new(move || view! { <plots::Curves/> }.into_any())
            tabs=vec![
                Tab::new("properties", "Properties", view! { <properties::PropertyTable/> }),
                Tab::new("gate", "Gated units", view! { <gate::GateMap/> }),
                Tab::new("race", "Fitting race", view! { <race::Race/> }),
            ]
        >
            <Group title="Functions">
            <ListPicker
                legend=format!("Functions (1 to {ACT_FNS_MAX})")
                id_prefix="fn"
                key=crate::labs::activations::settings::ACT_FNS_KEY
                noun_one="function"
                noun="functions"
                min=1
                max=ACT_FNS_MAX
                value=Signal::derive(move || config.with(|c| c.shown.clone()))
                on_change=Callback::new(move |v| config.update(|c| c.shown = v))
                test_id="function-picker"
            />
            {float_field(config, ACT_XMAX, |c| c.xmax, |c, v| c.xmax = v)}
            {flag_field(config, ACT_SECOND, |c| c.second, |c, v| c.second = v)}
            {int_field(config, SEED, |c| c.seed, |c, v| c.seed = v)}
            </Group>
            <Group title="Parameters">
                <plots::Parameters/>
            </Group>
        </LabFrame>
    }
}
