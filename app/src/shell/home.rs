use leptos::prelude::*;

use crate::{
    app::{follow, page_href},
    state::labs::Page,
};

struct Card {
    page: Page,
    title: &'static str,
    picture: &'static str,
    sentence: &'static str,
}

const CARDS: [Card; 4] = [
    Card {
        page: Page::Attention,
        title: "Attention",
        picture: "icons/lab-attention.svg",
        sentence: "Compare softmax, softplus (LSSA, LSSAR) and sigmoid attention side by side, across \
                   lengths and at the edge of numerical stability.",
    },
    Card {
        page: Page::Activations,
        title: "Activations",
        picture: "icons/lab-activations.svg",
        sentence: "Plot the activation zoo with derivatives and parameters, race small MLPs on a \
                   fitting task, and watch sparsity appear.",
    },
    Card {
        page: Page::Alignment,
        title: "Alignment",
        picture: "icons/lab-alignment.svg",
        sentence: "See DPO-family losses and their gradients, the toy where the rejected response \
                   collapses, best-of-N against KL-constrained RL, and Nash dynamics.",
    },
    Card {
        page: Page::Model,
        title: "Model",
        picture: "icons/lab-model.svg",
        sentence: "Train a tiny transformer in the page with any attention and activation, then test \
                   how far beyond its training length it still works.",
    },
];

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <section class="hero" aria-labelledby="home-title">
            <h1 id="home-title">"See how a transformer's nonlinearities behave"</h1>
            <p class="lead">
                "Softplay is a playground for the functions inside a transformer: attention \
                 normalisers, activations and preference-alignment losses. You train and probe small \
                 models right here — Rust compiled to WebAssembly, WebGPU where your browser has it — \
                 and every link replays its experiment exactly."
            </p>
        </section>
        <ul class="cards">
            {CARDS
                .iter()
                .map(|card| {
                    view! {
                        <li class="card">
                            <a href=page_href(card.page) on:click=follow(card.page)>
                                <img src=card.picture alt="" width="160" height="96"/>
                                <h2>{card.title}</h2>
                                <p>{card.sentence}</p>
                            </a>
                        </li>
                    }
                })
                .collect::<Vec<_>>()}
        </ul>
    }
}
