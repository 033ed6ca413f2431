//! The browser's side of the URL state: read the query, replace it (settings) or push it
//! (navigation between pages).

fn location_query() -> Option<String> {
    web_sys::window()?.location().search().ok()
}

/// The current query string, with its leading `?` (empty when there is none).
pub fn current_query() -> String {
    location_query().unwrap_or_default()
}

fn url_for(query: &str) -> String {
    let path = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default();
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

/// Rewrites the query in place, without a new history entry (moving a slider).
pub fn replace_query(query: &str) {
    if current_query().trim_start_matches('?') == query {
        return;
    }
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url_for(query)));
    }
}

/// Adds a history entry for `query` (going to another page), so Back returns.
pub fn push_query(query: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url_for(query)));
    }
}

/// The full link for `query` on this page's path, for "copy link".
pub fn href_for(query: &str) -> String {
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    format!("{origin}{}", url_for(query))
}
