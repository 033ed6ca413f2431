//! The Attention lab's texts, from `attention.toml` beside this file (made into Rust by
//! `app/build.rs`): `TITLE`, `INTRO` and [`about`] of each variant.

use crate::labs::attention::settings::AttentionVariant;

/// What a compared variant is.
pub struct About {
    /// MathML: the weights, then a line of definitions (written for the default settings).
    pub formula: &'static str,
    /// One paragraph of plain explanation.
    pub text: &'static str,
    /// The paper it comes from, and its address.
    pub paper: &'static str,
    pub link: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/content/attention.rs"));
