//! How the page is shown for a class: presenter mode (`present=1`: large type, thick lines, a
//! high-contrast palette), only the controls a teacher chose (`show=`, TensorFlow Playground's
//! "hide controls, then save the link"), and one panel alone for an iframe (`embed=1&panel=…`).
//!
//! The page's classes carry the fixed part (styles.css); the rules that name the chosen
//! controls and panel are a constructed style sheet (CSSOM, which the page's CSP allows, unlike
//! inline styles). After a lab mounts, the names it does not have are named in a notice.

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use super::{
    notices::NoticeKind,
    route::{encode_shell, Page, ShellView},
    AppState,
};
use crate::state::url;

/// The rules for a view: the chosen controls and the embedded panel.
pub fn rules(view: &ShellView) -> String {
    let mut css = String::new();
    if let Some(show) = &view.show {
        if show.is_empty() {
            css.push_str(".show-filter .lab .control { display: none !important; }\n");
        } else {
            // The names were checked (a–z, 0–9, -, _), so they are safe in a selector.
            let keys: Vec<String> = show.iter().map(|k| format!("[data-key=\"{k}\"]")).collect();
            let keys = keys.join(", ");
            css.push_str(&format!(".show-filter .lab .control:not(:is({keys})) {{ display: none !important; }}\n"));
            css.push_str(&format!(
                ".show-filter .lab .control-group:not(:has(:is({keys}))) {{ display: none !important; }}\n"
            ));
        }
    }
    if view.embed {
        match view.panel.as_deref() {
            None | Some("main") => css.push_str(".embed .tabs { display: none !important; }\n"),
            Some(panel) => css.push_str(&format!(
                ".embed .bench-view, .embed .tab-list, .embed .tab-panel {{ display: none !important; }}\n\
                 .embed .tab-panel[data-panel=\"{panel}\"] {{ display: block !important; }}\n"
            )),
        }
    }
    css
}

fn root() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.document_element()
}

/// Puts the view's classes on the page and its rules in the page's constructed style sheet.
pub fn apply(view: &ShellView) {
    let Some(root) = root() else { return };
    let classes = root.class_list();
    let _ = classes.toggle_with_force("present", view.present);
    let _ = classes.toggle_with_force("embed", view.embed);
    let _ = classes.toggle_with_force("show-filter", view.show.is_some());
    let _ = classes.toggle_with_force(
        "show-none",
        view.show.as_ref().is_some_and(Vec::is_empty) || (view.embed && view.show.is_none()),
    );
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    let Ok(sheet) = web_sys::CssStyleSheet::new() else { return };
    sheet.replace_sync(&rules(view)).ok();
    let sheets = js_sys::Array::of1(&sheet);
    let _ = js_sys::Reflect::set(&doc, &JsValue::from_str("adoptedStyleSheets"), &sheets);
}

/// After a lab mounted: names the `show=` controls and the `panel=` it does not have.
pub fn check_lab(state: AppState, lab_title: &str) {
    let view = state.view.get_untracked();
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    let names = |selector: &str, attr: &str| -> Vec<String> {
        let Ok(list) = doc.query_selector_all(selector) else { return Vec::new() };
        let mut out: Vec<String> = (0..list.length())
            .filter_map(|i| list.item(i)?.dyn_into::<web_sys::Element>().ok()?.get_attribute(attr))
            .collect();
        out.dedup();
        out
    };
    if let Some(show) = &view.show {
        let keys = names(".lab .control[data-key]", "data-key");
        let missing: Vec<&str> = show.iter().map(String::as_str).filter(|k| !keys.iter().any(|x| x == k)).collect();
        if !missing.is_empty() {
            state.notify(
                NoticeKind::Link,
                format!(
                    "ignored show={}: the {lab_title} lab has no such control; its controls are {}",
                    missing.join(","),
                    keys.join(", ")
                ),
            );
        }
    }
    if let (true, Some(panel)) = (view.embed, view.panel.as_deref()) {
        let mut panels = vec!["main".to_string()];
        panels.extend(names("[role=tabpanel][data-panel]", "data-panel"));
        if !panels.iter().any(|p| p == panel) {
            state.notify(
                NoticeKind::Link,
                format!("ignored panel={panel}: the {lab_title} lab's panels are {}; showing main", panels.join(", ")),
            );
            state.view.update(|v| v.panel = None);
        }
    }
}

/// The link of the page on screen without the embed keys: "open in Softplay".
pub fn open_href(state: AppState) -> String {
    let mut view = state.view.get();
    view.embed = false;
    view.panel = None;
    view.show = None;
    url::href_for(&encode_shell(state.page.get(), &state.labs.get(), &view))
}

/// The iframe snippet for the lab on screen showing `panel`.
pub fn embed_code(state: AppState, panel: &str) -> String {
    let mut view = state.view.get_untracked();
    view.embed = true;
    view.panel = (panel != "main").then(|| panel.to_string());
    view.notes = false;
    view.present = false;
    let page = state.page.get_untracked();
    let src = url::href_for(&encode_shell(page, &state.labs.get_untracked(), &view));
    let title = match page {
        Page::Lab(lab) => format!("Softplay: the {} lab", lab.title),
        _ => "Softplay".into(),
    };
    let src = src.replace('&', "&amp;").replace('"', "&quot;");
    format!("<iframe src=\"{src}\" title=\"{title}\" width=\"600\" height=\"400\" style=\"border:0\" loading=\"lazy\"></iframe>")
}

/// The panels of the lab on screen: `main` and its tabs, with their labels.
pub fn panels() -> Vec<(String, String)> {
    let mut out = vec![("main".to_string(), "Main view".to_string())];
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return out };
    if let Ok(list) = doc.query_selector_all("[role=tab][data-tab]") {
        for i in 0..list.length() {
            if let Some(el) = list.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
                if let Some(id) = el.get_attribute("data-tab") {
                    out.push((id, el.text_content().unwrap_or_default()));
                }
            }
        }
    }
    out
}

/// The controls of the lab on screen: each one's URL key and label, in the page's order.
pub fn controls() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return out };
    if let Ok(list) = doc.query_selector_all(".lab .control[data-key]") {
        for i in 0..list.length() {
            let Some(el) = list.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) else { continue };
            let Some(key) = el.get_attribute("data-key") else { continue };
            let label = el
                .query_selector("label, legend")
                .ok()
                .flatten()
                .and_then(|l| l.text_content())
                .unwrap_or_else(|| key.clone());
            if !out.iter().any(|(k, _)| *k == key) {
                out.push((key, label));
            }
        }
    }
    out
}

/// The link of the page on screen in presenter mode, showing the controls `show` only.
pub fn present_href(state: AppState, show: Option<Vec<String>>) -> String {
    let mut view = state.view.get();
    view.present = true;
    view.show = show;
    view.embed = false;
    view.panel = None;
    url::href_for(&encode_shell(state.page.get(), &state.labs.get(), &view))
}

/// The narrowest an embedded panel is made to fit its frame.
pub const FIT_MIN_PX: f64 = 300.0;

/// Fits an embedded panel into its frame without scrolling: its figures take their width and
/// keep their shape, so the panel is narrowed (centred) until its height fits, by bisection, down
/// to [`FIT_MIN_PX`]; a panel that fits with room to spare widens again. Runs while the page is embedded, as the
/// panel's content arrives and the frame changes.
pub fn fit_embed() {
    let Some(window) = web_sys::window() else { return };
    let Some(doc) = window.document() else { return };
    let (Some(main), Some(lab)) = (
        doc.get_element_by_id("main"),
        doc.query_selector("#main .lab").ok().flatten().and_then(|l| l.dyn_into::<web_sys::HtmlElement>().ok()),
    ) else {
        return;
    };
    let room = window.inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(400.0) - 30.0;
    let full = f64::from(main.client_width()) - 16.0;
    let style = lab.style();
    let now = style
        .get_property_value("max-width")
        .ok()
        .and_then(|w| w.trim_end_matches("px").parse::<f64>().ok())
        .unwrap_or(full);
    let height = |width: f64| {
        let _ = style.set_property("max-width", &format!("{width:.0}px"));
        f64::from(main.scroll_height())
    };
    let fits_now = height(now) <= room;
    if fits_now && (now >= full - 1.0 || height(full) > room) {
        let _ = height(now);
        return;
    }
    // Narrower than this a panel is no longer readable: one too tall even so keeps its full
    // width and scrolls inside the frame (the page itself never scrolls).
    let (mut lo, mut hi) = (FIT_MIN_PX.min(full), full);
    if height(hi) <= room || height(lo) > room {
        lo = hi;
    } else {
        while hi - lo > 8.0 {
            let mid = (lo + hi) / 2.0;
            if height(mid) <= room {
                lo = mid;
            } else {
                hi = mid;
            }
        }
    }
    let _ = height(lo);
}

/// "Open in Softplay": the small link an embedded panel carries.
#[component]
pub fn OpenInSoftplay() -> impl IntoView {
    let state = expect_context::<AppState>();
    let fit = set_interval_with_handle(fit_embed, std::time::Duration::from_millis(400));
    on_cleanup(move || {
        if let Ok(fit) = fit {
            fit.clear();
        }
    });
    view! {
        <a class="open-in-softplay" data-testid="open-in-softplay" href=move || open_href(state) target="_blank" rel="noopener">
            "Open in Softplay ↗"
        </a>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_name_the_chosen_controls_and_panel() {
        let view = ShellView { show: Some(vec!["n".into(), "cmp".into()]), ..ShellView::default() };
        let css = rules(&view);
        assert!(css.contains(".show-filter .lab .control:not(:is([data-key=\"n\"], [data-key=\"cmp\"]))"), "{css}");
        let view = ShellView { embed: true, panel: Some("sweep".into()), ..ShellView::default() };
        assert!(rules(&view).contains(".embed .tab-panel[data-panel=\"sweep\"] { display: block !important; }"));
        assert_eq!(rules(&ShellView::default()), "");
    }
}
