//! The Alignment lab as a module of its own: the shell loads it when a person opens the lab
//! (`www/boot.js`), then calls `mount`, `load` and `unmount`.

use softplay_app::{
    errors,
    labs::{alignment, mounted},
};
use wasm_bindgen::prelude::*;

fn main() {
    errors::install_panic_hook();
}

/// Shows the lab in `host` with the settings of `query`; `on_query` hears every change.
/// Returns a notice for every value of `query` not used as written.
#[wasm_bindgen]
pub fn mount(host: web_sys::HtmlElement, query: String, on_query: js_sys::Function) -> Vec<String> {
    alignment::mount(host, query, on_query)
}

/// Shows the settings of `query` (Back and Forward); returns its notices.
#[wasm_bindgen]
pub fn load(query: String) -> Vec<String> {
    mounted::load(query)
}

/// The settings on screen with the defaults dropped (a shorter link, for a QR code or a lesson).
#[wasm_bindgen]
pub fn short() -> String {
    mounted::short()
}

#[wasm_bindgen]
pub fn unmount() {
    mounted::unmount();
}
