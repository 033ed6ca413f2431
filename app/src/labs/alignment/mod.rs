//! The Alignment lab: preference losses and their gradient weights, the DPO toy that shows the
//! 3D-properties, best-of-N against KL-constrained RL, and Nash dynamics on non-transitive
//! preferences.
//!
//! Loaded on demand (`src/bin/lab_alignment.rs`). The loss curves, best-of-N and Nash panels
//! compute in the page (a few thousand f64 operations); the toy trains in the lab's worker.

mod bon;
pub mod content;
mod losses;
mod nash;
pub mod settings;
mod toy;

use leptos::prelude::*;
use softplay_worker::alignment;

use self::settings::AlignmentConfig;
use super::{
    frame::{Group, LabFrame, Tab},
    mounted::{self, Slot},
};
use crate::{components::controls::int_field, state::lab::SEED, worker::client::Compute};

/// The lab's settings and its worker, shared through context.
#[derive(Clone, Copy)]
pub struct Lab {
    pub config: RwSignal<AlignmentConfig>,
    pub compute: Compute<alignment::Request, alignment::Done>,
}

static SLOT: Slot<AlignmentConfig> = Slot::new("alignment");

/// Mounts the lab into `host` with the settings of `query`; `on_query` hears the query of
/// every change.
pub fn mount(host: web_sys::HtmlElement, query: String, on_query: js_sys::Function) -> Vec<String> {
    mounted::mount(host, query, on_query, &SLOT, |config| {
        provide_context(Lab { config, compute: mounted::worker() });
        view! { <AlignmentLab/> }.into_any()
    })
}

/// Milliseconds since the page started (for the "computed in" notes).
pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

#[component]
pub fn AlignmentLab() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    view! {
        <LabFrame
            title=content::TITLE
            aim=content::INTRO
            main=Box::new(move || view! { <losses::LossCurves/> }.into_any())
            tabs=vec![
                Tab::new("toy", "DPO toy", view! { <toy::Toy/> }),
                Tab::new("bon", "Best-of-N", view! { <bon::BestOfN/> }),
                Tab::new("nash", "Nash", view! { <nash::Nash/> }),
            ]
        >
            <Group title="Losses">
                <losses::LossSettings/>
            </Group>
            <Group title="Seed">
                <p class="hint">
                    "The toy, best-of-N and Nash panels have their own settings beside their figures; the loss \
                     settings above are also the toy's. The seed draws the toy's reference and on-policy pairs \
                     and the random preference matrix."
                </p>
                {int_field(config, SEED, |c| c.seed, |c, v| c.seed = v)}
            </Group>
        </LabFrame>
    }
}
