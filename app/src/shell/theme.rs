//! Light and dark themes. The page follows `prefers-color-scheme` until the person picks one
//! with the toggle; the pick is remembered in `localStorage` and set as `data-theme` on
//! `<html>`, which the stylesheet reads.

use leptos::prelude::*;

const STORAGE_KEY: &str = "softplay-theme";

fn root() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.document_element()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn system_prefers_dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .map(|m| m.matches())
        .unwrap_or(false)
}

/// Whether the page shows the dark theme now.
pub fn is_dark() -> bool {
    match root().and_then(|r| r.get_attribute("data-theme")).as_deref() {
        Some("dark") => true,
        Some("light") => false,
        _ => system_prefers_dark(),
    }
}

fn apply(dark: bool) {
    if let Some(root) = root() {
        let _ = root.set_attribute("data-theme", if dark { "dark" } else { "light" });
    }
}

/// Applies a remembered pick, if any. Called once at start.
pub fn apply_stored() {
    match storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()).as_deref() {
        Some("dark") => apply(true),
        Some("light") => apply(false),
        _ => {}
    }
}

/// Calls `on_change` when the system's colour scheme changes.
fn watch_system_scheme(on_change: impl Fn() + 'static) {
    use wasm_bindgen::{prelude::Closure, JsCast};
    let Some(query) = web_sys::window().and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
    else {
        return;
    };
    let callback = Closure::<dyn Fn()>::new(on_change);
    let _ = query.add_event_listener_with_callback("change", callback.as_ref().unchecked_ref());
    callback.forget();
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let dark = RwSignal::new(is_dark());
    // Without a remembered pick the page follows the system, and so does the toggle's state.
    watch_system_scheme(move || dark.set(is_dark()));
    let toggle = move |_| {
        let next = !is_dark();
        dark.set(next);
        apply(next);
        if let Some(s) = storage() {
            let _ = s.set_item(STORAGE_KEY, if next { "dark" } else { "light" });
        }
    };
    view! {
        <button
            type="button"
            class="theme-toggle"
            aria-pressed=move || if dark.get() { "true" } else { "false" }
            title=move || if dark.get() { "Switch to the light theme" } else { "Switch to the dark theme" }
            on:click=toggle
        >
            <span aria-hidden="true">"☾"</span>
            <span class="theme-label">" Dark theme"</span>
        </button>
    }
}
