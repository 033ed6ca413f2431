//! The labs, and the registry the shell is made from: one row per lab gives its name (the
//! `page=` of its links and the `softplay-lab-<name>` module), title, one-line description and
//! icon. The home cards, the navigation and the lab loader all read [`LABS`]; adding a lab is
//! one row here, its folder, its `src/bin/lab_<name>.rs` and its line in `www/index.html`.
//!
//! Each lab is one folder: `settings.rs` (its settings, declared once), its page components,
//! and, where it has one, its worker client; its messages and handler live in the worker
//! crate's folder of the same name.

pub mod activations;
pub mod alignment;
pub mod attention;
pub mod frame;
pub mod model;
pub mod mounted;

/// One lab of the registry.
#[derive(Debug, PartialEq, Eq)]
pub struct LabEntry {
    /// The `page=` value of the lab's links, and its module `softplay-lab-<name>`.
    pub name: &'static str,
    pub title: &'static str,
    /// One sentence for the home card.
    pub blurb: &'static str,
    /// The card's picture, relative to the site.
    pub icon: &'static str,
}

/// Every lab, in the order of the navigation and the home cards.
pub static LABS: [LabEntry; 4] = [
    LabEntry {
        name: "attention",
        title: "Attention",
        blurb: "Compare softmax, softplus (LSSA, LSSAR) and sigmoid attention side by side, across \
                lengths and at the edge of numerical stability.",
        icon: "icons/lab-attention.svg",
    },
    LabEntry {
        name: "activations",
        title: "Activations",
        blurb: "Plot the activation zoo with derivatives and parameters, race small MLPs on a \
                fitting task, and watch sparsity appear.",
        icon: "icons/lab-activations.svg",
    },
    LabEntry {
        name: "alignment",
        title: "Alignment",
        blurb: "See DPO-family losses and their gradients, the toy where the rejected response \
                collapses, best-of-N against KL-constrained RL, and Nash dynamics.",
        icon: "icons/lab-alignment.svg",
    },
    LabEntry {
        name: "model",
        title: "Model",
        blurb: "Train a tiny transformer in the page with any attention and activation, then test \
                how far beyond its training length it still works.",
        icon: "icons/lab-model.svg",
    },
];

/// The registry's row for `name`.
pub fn lab(name: &str) -> Option<&'static LabEntry> {
    LABS.iter().find(|l| l.name == name)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
