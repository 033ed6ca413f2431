//! Softplay's page: mounts the Leptos app into `#app` of `www/index.html`.

use softplay_app::{errors, shell};
use wasm_bindgen::JsCast;

fn main() {
    errors::install_panic_hook();
    shell::theme::apply_stored();
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("app"))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        errors::show_fatal("the page has no #app element to start in");
        return;
    };
    // Replace the "Loading…" placeholder.
    root.set_inner_html("");
    leptos::mount::mount_to(root, shell::App).forget();
    // The first-render budget (docs/BENCHMARKS.md) is measured to this mark.
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark("softplay-rendered");
    }
}
