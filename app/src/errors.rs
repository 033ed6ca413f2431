//! Errors the person must see: a panic (a bug) shows the page's alert banner with what went
//! wrong and how to recover, besides the console message of `console_error_panic_hook`.
//! `www/boot.js` fills the same banner for errors outside Rust (a failed load, an uncaught
//! exception), so one banner tells every fatal story.

use wasm_bindgen::JsCast;

/// Installs the panic hook. Call first in `main`.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_fatal(&format!("Softplay hit a bug and stopped: {info}"));
    }));
}

/// Shows the banner `#fatal` of `index.html` with `message`. Written against the DOM directly,
/// since after a panic the reactive state cannot be trusted.
pub fn show_fatal(message: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let Some(banner) = document.get_element_by_id("fatal") else { return };
    if let Ok(Some(what)) = banner.query_selector(".what") {
        what.set_text_content(Some(message));
    }
    if let Ok(banner) = banner.dyn_into::<web_sys::HtmlElement>() {
        banner.set_hidden(false);
    }
}
