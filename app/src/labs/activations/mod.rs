//! The Activations lab: functions and their derivatives with live parameters, a property
//! table computed from the functions, the gated units as a heatmap, a fitting race between
//! small MLPs in the worker, and the sparsity of their hidden layers.
//!
//! Loaded on demand (`src/bin/lab_activations.rs`): the shell calls [`mount`] with the query
//! of the lab's settings and hears every change back.

mod gate;
mod plots;
mod race;
pub mod spec;

use std::{any::Any, cell::RefCell};

use leptos::prelude::*;
use wasm_bindgen::JsValue;

use super::shell::{LabFrame, PageLink};
use crate::{
    components::controls::{FlagControl, FloatControl, IntControl, ListPicker},
    state::labs::{decode, encode, ActivationsConfig, Labs, Page, ACT_FNS_MAX, ACT_SECOND, ACT_XMAX, SEED},
    worker::client::Compute,
};

/// The lab's settings and its worker, shared through context.
#[derive(Clone, Copy)]
pub struct Lab {
    pub config: RwSignal<ActivationsConfig>,
    pub compute: Compute,
}

fn query_of(config: &ActivationsConfig) -> String {
    encode(Page::Activations, &Labs { activations: config.clone(), ..Labs::default() })
}

fn config_of(query: &str) -> ActivationsConfig {
    let mut labs = Labs::default();
    decode(query, &mut labs);
    labs.activations
}

/// The mounted view (dropping it unmounts) and its settings.
struct Mounted {
    _view: Box<dyn Any>,
    config: RwSignal<ActivationsConfig>,
}

thread_local! {
    static MOUNTED: RefCell<Option<Mounted>> = const { RefCell::new(None) };
    /// The lab's worker: started once, kept while the page lives (coming back reuses it).
    static COMPUTE: RefCell<Option<Compute>> = const { RefCell::new(None) };
}

fn compute() -> Compute {
    COMPUTE.with(|c| {
        *c.borrow_mut().get_or_insert_with(|| {
            let owner = Owner::new();
            let compute = owner.with(Compute::start_cpu_only);
            // The worker outlives every mount: its owner is never disposed.
            std::mem::forget(owner);
            compute
        })
    })
}

/// Mounts the lab into `host` with the settings of `query`; `on_query` hears the query of
/// every change.
pub fn mount(host: web_sys::HtmlElement, query: String, on_query: js_sys::Function) {
    unmount();
    let compute = compute();
    let config_cell = std::rc::Rc::new(std::cell::Cell::new(None));
    let cell = config_cell.clone();
    let handle = leptos::mount::mount_to(host, move || {
        let config = RwSignal::new(config_of(&query));
        cell.set(Some(config));
        provide_context(Lab { config, compute });
        provide_context(PageLink(Callback::new(move |_| config.with_untracked(query_of))));
        Effect::new(move |_| {
            let query = config.with(query_of);
            let _ = on_query.call1(&JsValue::NULL, &query.into());
        });
        view! { <ActivationsLab/> }
    });
    let config = config_cell.get().expect("the lab's view was built");
    MOUNTED.with(|m| *m.borrow_mut() = Some(Mounted { _view: Box::new(handle), config }));
}

/// Shows the settings of `query` (the shell's Back and Forward).
pub fn load(query: String) {
    MOUNTED.with(|m| {
        if let Some(Mounted { config, .. }) = m.borrow().as_ref() {
            let next = config_of(&query);
            if config.with_untracked(|c| *c != next) {
                config.set(next);
            }
        }
    });
}

pub fn unmount() {
    let mounted = MOUNTED.with(|m| m.borrow_mut().take());
    drop(mounted);
}

#[component]
pub fn ActivationsLab() -> impl IntoView {
    let config = expect_context::<Lab>().config;
    view! {
        <LabFrame
            title="Activations"
            intro="The activation zoo — from ReLU and GELU to PolyCom, CRReLU, rational and KAN units — \
                   with derivatives, parameters, a fitting race between small MLPs, and the sparsity \
                   each one produces."
            results=Box::new(move || view! {
                <plots::Curves/>
                <plots::PropertyTable/>
                <gate::GateMap/>
                <race::Race/>
            }.into_any())
        >
            <ListPicker
                legend=format!("Functions (1 to {ACT_FNS_MAX})")
                id_prefix="fn"
                noun_one="function"
                noun="functions"
                min=1
                max=ACT_FNS_MAX
                value=Signal::derive(move || config.with(|c| c.shown.clone()))
                on_change=Callback::new(move |v| config.update(|c| c.shown = v))
                test_id="function-picker"
            />
            <FloatControl
                param=ACT_XMAX
                value=Signal::derive(move || config.with(|c| c.xmax))
                on_change=Callback::new(move |v| config.update(|c| c.xmax = v))
            />
            <FlagControl
                param=ACT_SECOND
                value=Signal::derive(move || config.with(|c| c.second))
                on_change=Callback::new(move |v| config.update(|c| c.second = v))
            />
            <IntControl
                param=SEED
                value=Signal::derive(move || config.with(|c| c.seed))
                on_change=Callback::new(move |v| config.update(|c| c.seed = v))
            />
        </LabFrame>
    }
}
