//! Formulas in MathML (a main line, then a line of definitions), which browsers render natively (no script, no font download). The
//! markup is fixed text written here, never built from input.

use leptos::prelude::*;

/// `A_{ij}`, `s_{ij}` and similar subscripted names.
macro_rules! sub {
    ($base:literal, $sub:literal) => {
        concat!("<msub><mi>", $base, "</mi><mrow>", $sub, "</mrow></msub>")
    };
}

/// `s_ij = q_i·k_j/√d`.
macro_rules! score_def {
    () => {
        "<msub><mi>s</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub><mo>=</mo><mfrac><mrow><msub><mi>q</mi><mi>i</mi></msub><mo>·</mo><msub><mi>k</mi><mi>j</mi></msub></mrow><msqrt><mi>d</mi></msqrt></mfrac>"
    };
}

pub const SOFTMAX: &str = concat!(
    "<math display=\"block\"><mrow>",
    sub!("A", "<mi>i</mi><mi>j</mi>"),
    "<mo>=</mo><mfrac><msup><mi>e</mi>",
    sub!("s", "<mi>i</mi><mi>j</mi>"),
    "</msup><mrow><munder><mo>∑</mo><mrow><mi>k</mi><mo>≤</mo><mi>i</mi></mrow></munder><msup><mi>e</mi>",
    sub!("s", "<mi>i</mi><mi>k</mi>"),
    "</msup></mrow></mfrac></mrow></math>",
    "<math display=\"block\"><mrow><mtext>where&#xA0;</mtext>",
    score_def!(),
    "</mrow></math>"
);

pub const LSSA: &str = concat!(
    "<math display=\"block\"><mrow>",
    sub!("A", "<mi>i</mi><mi>j</mi>"),
    "<mo>=</mo><mfrac><mrow><mi>sp</mi><mo>(</mo>",
    sub!("s", "<mi>i</mi><mi>j</mi>"),
    "<mo>)</mo></mrow><mrow><munder><mo>∑</mo><mi>k</mi></munder><mi>sp</mi><mo>(</mo>",
    sub!("s", "<mi>i</mi><mi>k</mi>"),
    "<mo>)</mo></mrow></mfrac></mrow></math>",
    "<math display=\"block\"><mrow><mtext>where&#xA0;</mtext>",
    sub!("s", "<mi>i</mi><mi>j</mi>"),
    "<mo>=</mo><mi>ln</mi><mi>d</mi><mo>·</mo><mi>ln</mi>",
    sub!("N", "<mi>i</mi>"),
    "<mo>·</mo>",
    "<msub><mover><mi>q</mi><mo>^</mo></mover><mi>i</mi></msub><mo>·</mo><msub><mover><mi>k</mi><mo>^</mo></mover><mi>j</mi></msub>",
    "</mrow></math>",
    "<math display=\"block\"><mrow><mtext>and&#xA0;</mtext><mi>sp</mi><mo>(</mo><mi>x</mi><mo>)</mo><mo>=</mo><mi>ln</mi><mo>(</mo><mn>1</mn><mo>+</mo><msup><mi>e</mi><mi>x</mi></msup><mo>)</mo>",
    "</mrow></math>"
);

pub const LSSAR: &str = concat!(
    "<math display=\"block\"><mrow>",
    "<msubsup><mi>A</mi><mrow><mi>i</mi><mi>j</mi></mrow><mo>′</mo></msubsup>",
    "<mo>∝</mo><mi>ReLU</mi><msup><mrow><mo>(</mo>",
    sub!("N", "<mi>i</mi>"),
    sub!("A", "<mi>i</mi><mi>j</mi>"),
    "<mo>−</mo>",
    sub!("O", "<mi>i</mi>"),
    "<mo>)</mo></mrow><mi>p</mi></msup></mrow></math>",
    "<math display=\"block\"><mrow><mtext>with&#xA0;</mtext>",
    sub!("A", "<mi>i</mi><mi>j</mi>"),
    "<mtext>&#xA0;from LSSA,&#xA0;</mtext>",
    sub!("O", "<mi>i</mi>"),
    "<mo>=</mo><mn>1</mn>",
    "</mrow></math>"
);

pub const SIGMOID: &str = concat!(
    "<math display=\"block\"><mrow>",
    sub!("A", "<mi>i</mi><mi>j</mi>"),
    "<mo>=</mo><mi>σ</mi><mo>(</mo>",
    sub!("s", "<mi>i</mi><mi>j</mi>"),
    "<mo>+</mo><mi>b</mi><mo>)</mo></mrow></math>",
    "<math display=\"block\"><mrow><mtext>where&#xA0;</mtext>",
    score_def!(),
    "<mo>,</mo><mspace width=\"0.8em\"></mspace><mi>σ</mi><mo>(</mo><mi>x</mi><mo>)</mo><mo>=</mo><mfrac><mn>1</mn><mrow><mn>1</mn><mo>+</mo><msup><mi>e</mi><mrow><mo>−</mo><mi>x</mi></mrow></msup></mrow></mfrac>",
    "<mo>,</mo><mspace width=\"1em\"></mspace><mi>b</mi><mo>=</mo><mo>−</mo><mi>ln</mi><mi>n</mi>",
    "</mrow></math>"
);

pub const RELU: &str = concat!(
    "<math display=\"block\"><mrow>",
    sub!("A", "<mi>i</mi><mi>j</mi>"),
    "<mo>=</mo><mfrac><mrow><mi>ReLU</mi><mo>(</mo>",
    sub!("s", "<mi>i</mi><mi>j</mi>"),
    "<mo>)</mo></mrow><mi>n</mi></mfrac>",
    "</mrow></math>",
    "<math display=\"block\"><mrow><mtext>where&#xA0;</mtext>",
    score_def!(),
    "</mrow></math>"
);

pub const LINEAR: &str = concat!(
    "<math display=\"block\"><mrow>",
    sub!("A", "<mi>i</mi><mi>j</mi>"),
    "<mo>=</mo><mfrac><mrow><mi>φ</mi><mo>(</mo>",
    sub!("q", "<mi>i</mi>"),
    "<mo>)</mo><mo>·</mo><mi>φ</mi><mo>(</mo>",
    sub!("k", "<mi>j</mi>"),
    "<mo>)</mo></mrow><mrow><munder><mo>∑</mo><mi>k</mi></munder><mi>φ</mi><mo>(</mo>",
    sub!("q", "<mi>i</mi>"),
    "<mo>)</mo><mo>·</mo><mi>φ</mi><mo>(</mo>",
    sub!("k", "<mi>k</mi>"),
    "<mo>)</mo></mrow></mfrac></mrow></math>",
    "<math display=\"block\"><mrow><mtext>where&#xA0;</mtext><mi>φ</mi><mo>=</mo><mi>elu</mi><mo>+</mo><mn>1</mn>",
    "</mrow></math>"
);

/// A formula, as MathML markup from this module.
#[component]
pub fn Formula(markup: &'static str) -> impl IntoView {
    view! { <div class="formula" inner_html=markup></div> }
}
