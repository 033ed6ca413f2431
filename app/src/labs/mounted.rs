//! The lab module's side of the shell's lab loader (`shell/loader.rs`): mounting a lab with its own Leptos runtime,
//! telling the shell the query of every change, and following the shell's Back and Forward.

use std::{any::Any, cell::RefCell, rc::Rc};

use leptos::prelude::*;
use softplay_worker::protocol::{Answer, Ask};
use wasm_bindgen::JsValue;

use super::frame::PageLink;
use crate::{
    state::lab::{decode_lab, encode_lab, encode_lab_short, LabConfig},
    worker::client::Compute,
};

/// A lab module's name in the registry (its `page=`), with the type of its settings.
pub struct Slot<C> {
    pub page: &'static str,
    pub config: std::marker::PhantomData<C>,
}

impl<C: LabConfig> Slot<C> {
    pub const fn new(page: &'static str) -> Self {
        Slot { page, config: std::marker::PhantomData }
    }

    fn query_of(&self, config: &C) -> String {
        encode_lab(self.page, config)
    }

    fn short_of(&self, config: &C) -> String {
        encode_lab_short(self.page, config)
    }

    /// The settings of `query`, and a notice for every value not used as written.
    fn config_of(&self, query: &str) -> (C, Vec<String>) {
        let (config, notices) = decode_lab(query);
        (config, notices.into_iter().map(|n| n.0).collect())
    }
}

/// Shows another query's settings; returns its notices.
type Load = Box<dyn Fn(&str) -> Vec<String>>;

/// The mounted view (dropping it unmounts) and how to show another query.
struct Mounted {
    /// Cleared when the lab unmounts: answers still coming for it are dropped.
    alive: Rc<std::cell::Cell<bool>>,
    _view: Box<dyn Any>,
    load: Load,
    short: Box<dyn Fn() -> String>,
}

thread_local! {
    static MOUNTED: RefCell<Option<Mounted>> = const { RefCell::new(None) };
    /// The owner of what outlives every mount (the lab's worker). Made on the first `mount`,
    /// outside any view, so that it has no parent: an owner made inside a view is that view's
    /// child and is disposed with it, which left a lab opened a second time with a worker whose
    /// signals were gone.
    static ROOT: Owner = Owner::new();
    /// The lab's worker: started once, kept while the page lives (coming back reuses it). A
    /// module is one lab, so it holds one lab's kind of worker.
    static WORKER: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// The lab module's own worker for long runs (no GPU probe), started on first use.
pub fn worker<Q: Ask, A: Answer>() -> Compute<Q, A> {
    WORKER.with(|c| {
        let mut c = c.borrow_mut();
        let held = c.get_or_insert_with(|| Box::new(start_worker::<Q, A>()));
        *held.downcast_ref::<Compute<Q, A>>().expect("a lab module starts one kind of worker")
    })
}

/// Starts a compute worker (no GPU probe: the shell's worker probes the GPU once per page)
/// that outlives every mount of the lab.
pub fn start_worker<Q: Ask, A: Answer>() -> Compute<Q, A> {
    // The worker outlives every mount: its owner is the module's root, never disposed.
    ROOT.with(|root| root.with(Compute::start_cpu_only))
}

/// Mounts `view` into `host` with the settings of `query`; `on_query` hears the query of every
/// change. `view` gets the settings as a signal (and may provide its own context). Returns the
/// notices of the query's values not used as written (the shell shows them).
pub fn mount<C: LabConfig>(
    host: web_sys::HtmlElement,
    query: String,
    on_query: js_sys::Function,
    slot: &'static Slot<C>,
    view: fn(RwSignal<C>) -> AnyView,
) -> Vec<String> {
    unmount();
    ROOT.with(|_| {});
    let alive = crate::worker::client::mounted_now();
    let (first, notices) = slot.config_of(&query);
    let on_query_again = on_query.clone();
    let cell = Rc::new(std::cell::Cell::new(None));
    let config_cell = cell.clone();
    let handle = leptos::mount::mount_to(host, move || {
        let config = RwSignal::new(first);
        config_cell.set(Some(config));
        provide_context(PageLink(Callback::new(move |_| config.with_untracked(|c| slot.query_of(c)))));
        Effect::new(move |_| {
            let query = config.with(|c| slot.query_of(c));
            let _ = on_query.call1(&JsValue::NULL, &query.into());
        });
        view(config)
    });
    let config = cell.get().expect("the lab's view was built");
    let load = Box::new(move |query: &str| {
        let (next, notices) = slot.config_of(query);
        if config.with_untracked(|c| *c != next) {
            config.set(next);
        } else {
            // Same settings, other text (a value the lab could not use): the shell hears the
            // lab's own query, so that the address bar shows what is on screen.
            let _ = on_query_again.call1(&JsValue::NULL, &config.with_untracked(|c| slot.query_of(c)).into());
        }
        notices
    });
    let short = Box::new(move || config.with_untracked(|c| slot.short_of(c)));
    MOUNTED.with(|m| *m.borrow_mut() = Some(Mounted { alive, _view: Box::new(handle), load, short }));
    notices
}

/// Shows the settings of `query` (the shell's Back and Forward); returns its notices.
pub fn load(query: String) -> Vec<String> {
    MOUNTED.with(|m| m.borrow().as_ref().map(|mounted| (mounted.load)(&query)).unwrap_or_default())
}

/// The settings on screen with the defaults dropped: a shorter link to the same experiment.
pub fn short() -> String {
    MOUNTED.with(|m| m.borrow().as_ref().map(|mounted| (mounted.short)()).unwrap_or_default())
}

pub fn unmount() {
    let mounted = MOUNTED.with(|m| m.borrow_mut().take());
    if let Some(m) = &mounted {
        m.alive.set(false);
    }
    drop(mounted);
}
