//! The Activations lab's texts, from `activations.toml` beside this file (made into Rust by
//! `app/build.rs`): `TITLE`, `INTRO` and [`function`] of each activation.

use crate::labs::activations::settings::Activation;

/// What an activation is.
pub struct Function {
    /// Its definition, in plain text.
    pub formula: &'static str,
    /// Where it comes from, if anywhere.
    pub paper: Option<&'static str>,
    /// The hint above its parameters' controls, for a function that has parameters.
    pub parameters: Option<&'static str>,
}

include!(concat!(env!("OUT_DIR"), "/content/activations.rs"));
