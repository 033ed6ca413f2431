//! "QR code": the current link drawn large enough to scan from the back of a room, so that a
//! class opens the same experiment on its phones. The shell's worker makes the code (the
//! `qrcode` crate, as SVG: `softplay_worker::shell`), so the encoder is not in the shell's page
//! wasm; the link is the one the shell writes to the address bar.

use leptos::{ev, prelude::*};
use softplay_worker::{
    protocol::Reply,
    shell::{Done, Request},
};

use super::{route::encode_shell, AppState, ShellCompute};
use crate::state::url;

/// The header's "QR" button and the dialog it opens.
#[component]
pub fn ShareQr() -> impl IntoView {
    let state = expect_context::<AppState>();
    let compute = expect_context::<ShellCompute>();
    let open = RwSignal::new(false);
    let link = move || state.labs.with(|labs| url::href_for(&encode_shell(state.page.get(), labs)));
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
    let close = move || open.set(false);
    window_event_listener(ev::keydown, move |e| {
        if e.key() == "Escape" && open.get_untracked() {
            close();
        }
    });
    view! {
        <button
            type="button"
            class="qr-toggle"
            data-testid="qr"
            aria-haspopup="dialog"
            aria-label="Show a QR code of this link"
            title="Show a QR code of this link"
            on:click=move |_| open.set(true)
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
                <p class="qr-link" data-testid="qr-link">{link}</p>
                <button type="button" autofocus on:click=move |_| close()>"Close"</button>
            </div>
        </Show>
    }
}
