//! A lab loaded on demand: its own WebAssembly module (`src/bin/lab_*.rs`, built from this
//! library), fetched the first time a person opens it, so the shell stays small.
//!
//! The shell keeps owning the URL: it gives the lab the query of its settings when mounting it,
//! shows the notices the lab returns (the lab reads and checks its own settings, so the shell
//! carries no lab's codec), keeps the query of every change the lab reports, and passes on a
//! query the lab did not write (Back and Forward).

use leptos::{html::Div, prelude::*};
use wasm_bindgen::{prelude::*, JsCast};

use super::{
    notices::NoticeKind,
    route::{encode_page, Page},
    AppState,
};
use crate::labs::LabEntry;

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Loading,
    Ready,
    Failed(String),
}

/// Loads `softplay-lab-<name>.js` through `www/boot.js` (once per page) and returns its exports.
async fn load(name: &str) -> Result<JsValue, String> {
    let window = web_sys::window().ok_or("no window")?;
    let loader = js_sys::Reflect::get(&window, &"softplayLab".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("the page's loader (boot.js) is missing")?;
    let promise = loader.call1(&JsValue::NULL, &name.into()).map_err(|e| format!("{e:?}"))?;
    let promise: js_sys::Promise = promise.dyn_into().map_err(|_| "the loader did not return a promise")?;
    wasm_bindgen_futures::JsFuture::from(promise).await.map_err(|e| {
        e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_else(|| format!("{e:?}"))
    })
}

/// Calls `export` of the lab; returns the notices it answers with (an array of strings).
fn call(module: &JsValue, export: &str, args: &[JsValue]) -> Result<Vec<String>, String> {
    let f = js_sys::Reflect::get(module, &export.into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| format!("the lab has no `{export}`"))?;
    let args: js_sys::Array = args.iter().collect();
    let answer = f.apply(&JsValue::NULL, &args).map_err(|e| format!("{e:?}"))?;
    Ok(answer.dyn_into::<js_sys::Array>().map(|a| a.iter().filter_map(|v| v.as_string()).collect()).unwrap_or_default())
}

thread_local! {
    /// The lab mounted now, with its module's exports.
    static CURRENT: std::cell::RefCell<Option<(&'static str, JsValue)>> = const { std::cell::RefCell::new(None) };
}

/// The settings of the lab `name` on screen with its defaults dropped (`page=…&v=…` and the
/// values that differ): a shorter link that opens the same experiment.
pub fn short_query(name: &str) -> Option<String> {
    CURRENT.with(|c| {
        let c = c.borrow();
        let (mounted, module) = c.as_ref()?;
        if *mounted != name {
            return None;
        }
        let f = js_sys::Reflect::get(module, &"short".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
        f.call0(&JsValue::NULL).ok()?.as_string()
    })
}

#[component]
pub fn LabModule(lab: &'static LabEntry) -> impl IntoView {
    let page = Page::Lab(lab);
    let state = expect_context::<AppState>();
    let host = NodeRef::<Div>::new();
    let status = RwSignal::new(Status::Loading);
    let module = StoredValue::new_local(None::<JsValue>);
    // The last query exchanged with the lab: a different one comes from Back or Forward.
    let last = StoredValue::new(String::new());
    let disposed = StoredValue::new(false);
    let on_query = StoredValue::new_local(None::<Closure<dyn Fn(String)>>);
    let name = lab.name;

    let query_now = move || state.labs.with_untracked(|labs| encode_page(page, labs));
    let show = move |notices: Vec<String>| {
        for n in notices {
            state.notify(NoticeKind::Link, n);
        }
    };

    let start = move || {
        leptos::task::spawn_local(async move {
            status.set(Status::Loading);
            match load(name).await {
                Ok(exports) if !disposed.get_value() => {
                    let Some(el) = host.get_untracked() else { return };
                    let hear = Closure::<dyn Fn(String)>::new(move |query: String| {
                        if disposed.get_value() {
                            return;
                        }
                        last.set_value(query.clone());
                        state.labs.update(|labs| labs.keep(lab, &query));
                    });
                    let query = query_now();
                    last.set_value(query.clone());
                    let mounted = call(&exports, "mount", &[el.into(), query.into(), hear.as_ref().clone()]);
                    on_query.set_value(Some(hear));
                    CURRENT.with(|c| *c.borrow_mut() = Some((name, exports.clone())));
                    module.set_value(Some(exports));
                    status.set(match mounted {
                        Ok(notices) => {
                            show(notices);
                            super::present::check_lab(state, lab.title);
                            Status::Ready
                        }
                        Err(e) => Status::Failed(format!("the {name} lab could not start ({e})")),
                    });
                }
                Ok(_) => {}
                Err(e) => status.set(Status::Failed(format!("the {name} lab could not be loaded ({e})"))),
            }
        });
    };
    Effect::new(move |done: Option<()>| {
        if done.is_none() && host.get().is_some() {
            start();
        }
    });

    // Back and Forward change the shell's state; the lab follows.
    Effect::new(move |_| {
        state.labs.track();
        let query = query_now();
        if status.get_untracked() == Status::Ready && query != last.get_value() {
            last.set_value(query.clone());
            if let Some(Ok(notices)) = module.with_value(|m| m.as_ref().map(|m| call(m, "load", &[query.into()]))) {
                show(notices);
            }
        }
    });

    on_cleanup(move || {
        disposed.set_value(true);
        CURRENT.with(|c| c.borrow_mut().take());
        module.with_value(|m| m.as_ref().map(|m| call(m, "unmount", &[])));
    });

    view! {
        {move || match status.get() {
            Status::Loading => Some(view! { <p class="lab-loading" role="status">"Loading the lab…"</p> }.into_any()),
            Status::Ready => None,
            Status::Failed(why) => Some(view! {
                <div class="notice notice-error lab-failed" role="alert">
                    <p>{format!("Sorry: {why}. Your settings are kept in the link.")}</p>
                    <button type="button" on:click=move |_| start()>"Try again"</button>
                </div>
            }.into_any()),
        }}
        <div class="lab-host" node_ref=host></div>
    }
}
