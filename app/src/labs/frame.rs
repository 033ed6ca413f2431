//! The frame every lab page shares: title, introduction, the settings panel (live in the URL)
//! with a copy-link button.

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

#[component]
pub fn LabFrame(
    title: &'static str,
    intro: &'static str,
    /// What this lab will show, while it is being built.
    #[prop(optional)]
    coming: Option<&'static str>,
    /// The lab's results, below the settings.
    #[prop(optional)]
    results: Option<Children>,
    children: Children,
) -> impl IntoView {
    view! {
        <article class="lab">
            <h1>{title}</h1>
            <p class="lead">{intro}</p>
            <section class="panel" aria-labelledby="settings-title">
                <div class="panel-head">
                    <h2 id="settings-title">"Settings"</h2>
                    <CopyLink/>
                </div>
                <p class="hint">"Every setting is part of the link: share it and the same experiment opens."</p>
                <div class="controls">{children()}</div>
            </section>
            {results.map(|r| r())}
            {coming.map(|coming| view! {
                <section class="panel placeholder" aria-label="Coming next">
                    <h2>"Being built"</h2>
                    <p>{coming}</p>
                </section>
            })}
        </article>
    }
}
