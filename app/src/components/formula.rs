//! Formulas in MathML (a main line, then a line of definitions), which browsers render natively
//! (no script, no font download). The markup is fixed text from the labs' content files
//! (`src/labs/<lab>/content/*.toml`), never built from input.

use leptos::prelude::*;

/// A formula, as MathML markup from a lab's content file.
#[component]
pub fn Formula(markup: &'static str) -> impl IntoView {
    // Focusable: a long formula scrolls sideways, by keyboard too.
    view! { <div class="formula" tabindex="0" role="region" aria-label="Formula" inner_html=markup></div> }
}
