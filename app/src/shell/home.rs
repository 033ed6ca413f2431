//! The home page: a card per lab of the registry.

use leptos::prelude::*;

use super::{follow, page_href, route::Page};
use crate::{labs::LABS, worker::client::versioned};

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <section class="hero" aria-labelledby="home-title">
            <h1 id="home-title">"See how a transformer's nonlinearities behave"</h1>
            <p class="lead">
                "Softplay is a playground for the functions inside a transformer: attention \
                 normalisers, activations and preference-alignment losses. You train and probe small \
                 models right here — Rust compiled to WebAssembly with SIMD, in Web Workers — \
                 and every link replays its experiment exactly."
            </p>
        </section>
        <ul class="cards">
            {LABS
                .iter()
                .map(|lab| {
                    let page = Page::Lab(lab);
                    view! {
                        <li class="card">
                            <a href=page_href(page) on:click=follow(page)>
                                <img src=versioned(lab.icon) alt="" width="160" height="96"/>
                                <h2>{lab.title}</h2>
                                <p>{lab.blurb}</p>
                            </a>
                        </li>
                    }
                })
                .collect::<Vec<_>>()}
        </ul>
    }
}
