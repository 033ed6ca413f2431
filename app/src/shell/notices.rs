//! The notices strip: what the page did with values it could not use (a bad link, a stopped
//! worker), each dismissable. Polite live region, so screen readers hear new ones.

use leptos::prelude::*;

use super::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    /// A value in the link was not used as written.
    Link,
    /// Something failed; the text says how to recover.
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PageNotice {
    pub id: u64,
    pub kind: NoticeKind,
    pub text: String,
}

#[component]
pub fn Notices() -> impl IntoView {
    let state = expect_context::<AppState>();
    let link_notices =
        move || state.notices.with(|n| n.iter().filter(|n| n.kind == NoticeKind::Link).cloned().collect::<Vec<_>>());
    let error_notices =
        move || state.notices.with(|n| n.iter().filter(|n| n.kind == NoticeKind::Error).cloned().collect::<Vec<_>>());
    let dismiss = move |id: u64| state.notices.update(|n| n.retain(|x| x.id != id));
    let item = move |n: PageNotice| {
        let id = n.id;
        view! {
            <li>
                <span class="notice-text">{n.text}</span>
                <button type="button" class="notice-dismiss" aria-label="Dismiss this notice" on:click=move |_| dismiss(id)>
                    "×"
                </button>
            </li>
        }
    };
    view! {
        <div class="notices" role="status" aria-live="polite">
            <Show when=move || !link_notices().is_empty()>
                <section class="notice notice-link" aria-label="Settings in the link that were not used">
                    <h2>"Some settings in the link were not used"</h2>
                    <ul>{move || link_notices().into_iter().map(item).collect::<Vec<_>>()}</ul>
                </section>
            </Show>
            <Show when=move || !error_notices().is_empty()>
                <section class="notice notice-error" aria-label="Problems">
                    <ul>{move || error_notices().into_iter().map(item).collect::<Vec<_>>()}</ul>
                </section>
            </Show>
        </div>
    }
}
