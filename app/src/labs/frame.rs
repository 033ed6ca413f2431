//! The frame every lab page shares, a workbench: the title and aim, the settings in a column of
//! their own (live in the URL, with a copy-link button), the main view beside them, and the
//! secondary panels as tabs.

use leptos::prelude::*;

use crate::state::url;

/// The query of the experiment on screen (without `?`): the shell and a lab loaded on demand
/// each provide it, and "Copy link" writes it.
#[derive(Clone, Copy)]
pub struct PageLink(pub Callback<(), String>);

/// Copies the page's link; if the clipboard is not available, shows the link to copy by hand.
#[component]
pub fn CopyLink() -> impl IntoView {
    let message = RwSignal::new(None::<String>);
    let copy = move |_| {
        // From the state, not the address bar: the address bar follows a moving slider a
        // moment late.
        let href = url::href_for(&expect_context::<PageLink>().0.run(()));
        let clipboard = web_sys::window().map(|w| w.navigator().clipboard());
        match clipboard {
            Some(clipboard) => {
                let promise = clipboard.write_text(&href);
                leptos::task::spawn_local(async move {
                    match wasm_bindgen_futures::JsFuture::from(promise).await {
                        Ok(_) => message.set(Some("Link copied: it replays these settings exactly.".into())),
                        Err(_) => message.set(Some(format!("Copying was not allowed; the link is: {href}"))),
                    }
                });
            }
            None => message.set(Some(format!("The link is: {href}"))),
        }
    };
    view! {
        <div class="copy-link">
            <button type="button" on:click=copy>"Copy link"</button>
            <span role="status">{move || message.get()}</span>
        </div>
    }
}

/// A group of settings in the controls column: collapsible, open at first.
#[component]
pub fn Group(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <details class="control-group" open>
            <summary>{title}</summary>
            <div class="group-body">{children()}</div>
        </details>
    }
}

/// A secondary panel of a lab: a tab of the main area, below the main view.
pub struct Tab {
    /// For the tab's element ids and tests (`sweep`).
    pub id: &'static str,
    pub label: &'static str,
    pub body: AnyView,
}

impl Tab {
    pub fn new(id: &'static str, label: &'static str, body: impl IntoView + 'static) -> Self {
        Self { id, label, body: body.into_any() }
    }
}

/// The lab's tabs, for a part of the main view that leads to a panel (a run saved in the browser
/// shows the checkpoints).
#[derive(Clone, Copy)]
pub struct Tabs {
    selected: RwSignal<usize>,
    ids: StoredValue<Vec<&'static str>>,
}

impl Tabs {
    /// Shows the panel `id`, if the lab has one.
    pub fn show(&self, id: &str) {
        if let Some(i) = self.ids.with_value(|ids| ids.iter().position(|t| *t == id)) {
            self.selected.set(i);
        }
    }
}

/// Which secondary panel each lab showed last, so that coming back to a lab shows it again.
static LAST_TAB: std::sync::Mutex<Vec<(&'static str, usize)>> = std::sync::Mutex::new(Vec::new());

fn last_tab(title: &'static str) -> usize {
    LAST_TAB.lock().ok().and_then(|t| t.iter().find(|(k, _)| *k == title).map(|(_, i)| *i)).unwrap_or(0)
}

fn remember_tab(title: &'static str, index: usize) {
    if let Ok(mut t) = LAST_TAB.lock() {
        t.retain(|(k, _)| *k != title);
        t.push((title, index));
    }
}

/// A lab as a workbench: its settings in a column of their own (a bottom sheet on a narrow
/// screen), its main view beside them, always in view, and its secondary panels as tabs under
/// the main view. Every panel stays mounted while hidden, so that work in one goes on while
/// another is shown.
#[component]
pub fn LabFrame(
    title: &'static str,
    /// The lab's aim in a sentence, above its view.
    aim: &'static str,
    /// The lab's main view: the figure that a change of the settings moves.
    main: Children,
    /// The secondary panels, each a tab.
    #[prop(optional)]
    tabs: Vec<Tab>,
    /// The settings.
    children: Children,
) -> impl IntoView {
    let sheet_open = RwSignal::new(false);
    let view_ref = NodeRef::<leptos::html::Div>::new();
    // A printed page lists the settings (from the link) instead of the controls.
    let printed = RwSignal::new(String::new());
    let link = use_context::<PageLink>();
    // Window listeners outlive the view unless removed: one per visit would pile up (and call
    // into a lab that is gone).
    let print = window_event_listener_untyped("beforeprint", move |_| {
        if let Some(link) = link {
            printed.set(link.0.run(()));
        }
    });
    on_cleanup(move || print.remove());
    let selected = RwSignal::new(last_tab(title).min(tabs.len().saturating_sub(1)));
    Effect::new(move |_| remember_tab(title, selected.get()));
    let count = tabs.len();
    provide_context(Tabs { selected, ids: StoredValue::new(tabs.iter().map(|t| t.id).collect()) });
    let tab_ref: Vec<NodeRef<leptos::html::Button>> = (0..count).map(|_| NodeRef::new()).collect();
    // Arrow keys move between tabs (and focus follows), as a tab list does.
    let on_key = {
        let tab_ref = tab_ref.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            let now = selected.get_untracked();
            let next = match ev.key().as_str() {
                "ArrowRight" => (now + 1) % count.max(1),
                "ArrowLeft" => (now + count.max(1) - 1) % count.max(1),
                "Home" => 0,
                "End" => count.saturating_sub(1),
                _ => return,
            };
            ev.prevent_default();
            selected.set(next);
            if let Some(button) = tab_ref.get(next).and_then(|r| r.get_untracked()) {
                let _ = button.focus();
            }
        }
    };
    let (buttons, panels): (Vec<_>, Vec<_>) = tabs
        .into_iter()
        .enumerate()
        .map(|(i, tab)| {
            let tab_id = format!("tab-{}", tab.id);
            let panel_id = format!("panel-{}", tab.id);
            let button = view! {
                <button
                    type="button"
                    role="tab"
                    node_ref=tab_ref[i]
                    id=tab_id.clone()
                    data-tab=tab.id
                    aria-controls=panel_id.clone()
                    aria-selected=move || if selected.get() == i { "true" } else { "false" }
                    tabindex=move || if selected.get() == i { "0" } else { "-1" }
                    on:click=move |_| selected.set(i)
                >
                    {tab.label}
                </button>
            };
            let panel = view! {
                <div
                    class="tab-panel"
                    role="tabpanel"
                    id=panel_id
                    data-panel=tab.id
                    aria-labelledby=tab_id
                    hidden=move || selected.get() != i
                >
                    {tab.body}
                </div>
            };
            (button, panel)
        })
        .unzip();
    view! {
        <article class="lab">
            <div class="bench">
                <div class="lab-head">
                    <h1>{title}</h1>
                    <p class="lead">{aim}</p>
                </div>
                <aside class="bench-controls" class:open=move || sheet_open.get() aria-labelledby="settings-title">
                    <div class="sheet-bar">
                        <h2 id="settings-title">"Settings"</h2>
                        <button
                            type="button"
                            class="sheet-toggle"
                            data-testid="settings-toggle"
                            aria-controls="settings-body"
                            aria-expanded=move || if sheet_open.get() { "true" } else { "false" }
                            on:click=move |_| {
                                sheet_open.update(|o| *o = !*o);
                                // The sheet covers the lower part of the screen: the main
                                // view's first figure moves to the top, so that it stays in sight.
                                if sheet_open.get_untracked() {
                                    if let Some(view) = view_ref.get_untracked() {
                                        let first = view.query_selector("figure").ok().flatten();
                                        first.unwrap_or_else(|| view.into()).scroll_into_view();
                                    }
                                }
                            }
                        >
                            {move || if sheet_open.get() { "Close" } else { "Open" }}
                        </button>
                    </div>
                    <div class="bench-controls-body" id="settings-body">
                        <CopyLink/>
                        <p class="hint">"Every setting is part of the link: share it and the same experiment opens."</p>
                        <div class="controls">{children()}</div>
                    </div>
                </aside>
                <section class="print-only" aria-hidden="true">
                    <h2>"Settings"</h2>
                    <p>{move || url::href_for(&printed.get())}</p>
                    <ul class="print-settings">
                        {move || printed.get().split('&').filter(|kv| !kv.is_empty()).map(|kv| {
                            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                            let v = js_sys::decode_uri_component(v).map(String::from).unwrap_or_else(|_| v.to_string());
                            view! { <li><strong>{k.to_string()}</strong>" = "{v}</li> }
                        }).collect::<Vec<_>>()}
                    </ul>
                </section>
                <div class="bench-main">
                    <div class="bench-view" data-testid="main-view" node_ref=view_ref>{main()}</div>
                    {(count > 0).then(|| view! {
                        <div class="tabs">
                            <div class="tab-list" role="tablist" aria-label="More panels" on:keydown=on_key>
                                {buttons}
                            </div>
                            {panels}
                        </div>
                    })}
                </div>
            </div>
        </article>
    }
}
