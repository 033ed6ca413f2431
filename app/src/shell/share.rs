//! "Share": the current link drawn as a QR code large enough to scan from the back of a room, so
//! that a class opens the same experiment on its phones, and the iframe snippet that embeds one
//! of the lab's panels in a course page or slides. The shell's worker makes the code (the
//! `qrcode` crate, as SVG: `softplay_worker::shell`), so the encoder is not in the shell's page
//! wasm. A link too long for a QR code is named, and its short form (the settings at their
//! defaults left out, which the lab fills in again) offered.

use leptos::{ev, prelude::*};
use softplay_worker::{
    protocol::Reply,
    shell::{Done, Request, QR_MAX_CHARS},
};

use super::{
    loader, present,
    route::{encode_page, encode_view, Page},
    AppState, ShellCompute,
};
use crate::state::url;

/// The page's link with its lab's settings at their defaults left out.
fn short_link(state: AppState) -> String {
    let page = state.page.get();
    let view = state.view.get();
    let lab = match page {
        Page::Lab(lab) => loader::short_query(lab.name),
        _ => None,
    }
    .unwrap_or_else(|| state.labs.with(|labs| encode_page(page, labs)));
    let view = encode_view(&view);
    url::href_for(&[lab, view].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("&"))
}

/// The header's "QR" button and the dialog it opens.
#[component]
pub fn ShareQr() -> impl IntoView {
    let state = expect_context::<AppState>();
    let compute = expect_context::<ShellCompute>();
    let open = RwSignal::new(false);
    let short = RwSignal::new(false);
    let full = move || {
        state.page.track();
        state.labs.track();
        state.view.track();
        url::href_for(&state.query())
    };
    let too_long = move || full().chars().count() > QR_MAX_CHARS;
    let link = move || if short.get() || too_long() { short_link(state) } else { full() };
    // None while the worker draws it; then the SVG, or why there is none.
    let code = RwSignal::new(None::<Result<String, String>>);
    Effect::new(move |_| {
        if !open.get() {
            return;
        }
        let link = link();
        code.set(None);
        compute.send(
            move |id| Request::Qr { id, link },
            move |reply| match reply {
                Reply::Done(Done::Qr { svg, .. }) => code.set(Some(Ok(svg))),
                Reply::Failed { message, .. } => code.set(Some(Err(format!("No QR code: {message}.")))),
                _ => {}
            },
        );
    });
    let panel = RwSignal::new("main".to_string());
    let panels = RwSignal::new(Vec::<(String, String)>::new());
    let copied = RwSignal::new(None::<String>);
    let embed = move || {
        state.labs.track();
        present::embed_code(state, &panel.get())
    };
    let copy_embed = move |_| {
        let code = embed();
        if let Some(w) = web_sys::window() {
            let promise = w.navigator().clipboard().write_text(&code);
            leptos::task::spawn_local(async move {
                copied.set(Some(match wasm_bindgen_futures::JsFuture::from(promise).await {
                    Ok(_) => "Copied: paste it into a page or slides.".into(),
                    Err(_) => "Copying was not allowed: select the code above and copy it.".into(),
                }));
            });
        }
    };
    // Presenter mode: the controls the teacher keeps on screen (all, at first).
    let controls = RwSignal::new(Vec::<(String, String)>::new());
    let keep = RwSignal::new(Vec::<String>::new());
    let present_link = move || {
        let all = controls.with(|c| c.len());
        let kept = keep.get();
        present::present_href(state, (kept.len() < all).then_some(kept))
    };
    let close = move || open.set(false);
    let escape = window_event_listener(ev::keydown, move |e| {
        if e.key() == "Escape" && open.get_untracked() {
            close();
        }
    });
    on_cleanup(move || escape.remove());
    view! {
        <button
            type="button"
            class="qr-toggle"
            data-testid="qr"
            aria-haspopup="dialog"
            aria-label="Share: a QR code of this link, and embed code"
            title="Share: a QR code of this link, and embed code"
            on:click=move |_| {
                panels.set(present::panels());
                let found = present::controls();
                let shown = state.view.with_untracked(|v| v.show.clone());
                keep.set(found.iter().map(|(k, _)| k.clone()).filter(|k| shown.as_ref().is_none_or(|s| s.contains(k))).collect());
                controls.set(found);
                panel.set("main".into());
                copied.set(None);
                open.set(true);
            }
        >
            "QR"
        </button>
        <Show when=move || open.get()>
            <div class="qr-backdrop" on:click=move |_| close()></div>
            <div class="qr-dialog" role="dialog" aria-modal="true" aria-labelledby="qr-title" data-testid="qr-dialog">
                <h2 id="qr-title">"Open this experiment on a phone"</h2>
                {move || match code.get() {
                    Some(Ok(svg)) => view! {
                        <div class="qr-code" role="img" aria-label="QR code of the link below" inner_html=svg></div>
                    }
                    .into_any(),
                    Some(Err(why)) => view! { <p class="qr-error" role="alert">{why}</p> }.into_any(),
                    None => view! { <p class="qr-wait">"Drawing the code…"</p> }.into_any(),
                }}
                {move || too_long().then(|| view! {
                    <p class="qr-note" role="status" data-testid="qr-long">
                        {format!(
                            "The full link has {} characters, more than a QR code holds ({QR_MAX_CHARS}): this is its short form, with the settings at their defaults left out.",
                            full().chars().count()
                        )}
                    </p>
                })}
                <p class="qr-link" data-testid="qr-link">{link}</p>
                {move || (!too_long() && matches!(state.page.get(), Page::Lab(_))).then(|| view! {
                    <label class="control-flag">
                        <input type="checkbox" data-testid="qr-short" prop:checked=move || short.get() on:change=move |e| short.set(event_target_checked(&e))/>
                        "Short link: leave out the settings at their defaults"
                    </label>
                })}
                {move || matches!(state.page.get(), Page::Lab(_)).then(|| view! {
                    <div class="embed-code">
                        <h3>"Embed a panel"</h3>
                        <label>
                            "Panel "
                            <select data-testid="embed-panel" on:change=move |e| panel.set(event_target_value(&e))>
                                {move || panels.get().into_iter().map(|(id, label)| {
                                    let selected = panel.get_untracked() == id;
                                    view! { <option value=id selected=selected>{label}</option> }
                                }).collect::<Vec<_>>()}
                            </select>
                        </label>
                        <textarea readonly rows="3" data-testid="embed-code" prop:value=embed></textarea>
                        <button type="button" data-testid="copy-embed" on:click=copy_embed>"Copy embed code"</button>
                        <span role="status">{move || copied.get()}</span>
                    </div>
                })}
                {move || matches!(state.page.get(), Page::Lab(_)).then(|| view! {
                    <details class="present-pick" data-testid="present-pick">
                        <summary>"Present to a room"</summary>
                        <p class="hint">"Large type, thick lines, high contrast, and only the controls you tick. Save the link to open it so again."</p>
                        <div class="present-controls">
                            {move || controls.get().into_iter().map(|(key, label)| {
                                let k = key.clone();
                                view! {
                                    <label class="control-flag">
                                        <input
                                            type="checkbox"
                                            data-show=key.clone()
                                            prop:checked=move || keep.with(|s| s.contains(&key))
                                            on:change=move |e| {
                                                let on = event_target_checked(&e);
                                                let k = k.clone();
                                                keep.update(|s| if on { if !s.contains(&k) { s.push(k) } } else { s.retain(|x| *x != k) });
                                            }
                                        />
                                        {label}
                                    </label>
                                }
                            }).collect::<Vec<_>>()}
                        </div>
                        <a class="button" data-testid="present-link" href=present_link>"Present"</a>
                    </details>
                })}
                <button type="button" autofocus on:click=move |_| close()>"Close"</button>
            </div>
        </Show>
    }
}
