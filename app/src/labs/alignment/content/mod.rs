//! The Alignment lab's texts, from `alignment.toml` beside this file (made into Rust by
//! `app/build.rs`): `TITLE`, `INTRO`, [`loss`] of each loss and [`method`], the name of each
//! Nash method.

use softplay_kernels::alignment::nash::NashMethod;

use crate::labs::alignment::settings::AlignmentLoss;

/// A loss's formula and paper.
pub struct Loss {
    /// MathML: the loss, then what h is.
    pub formula: &'static str,
    pub paper: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/content/alignment.rs"));
