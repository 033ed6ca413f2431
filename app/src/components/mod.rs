//! Pieces every page uses: labelled controls, the notices strip, the theme toggle.

pub mod controls;
pub mod notices;
pub mod theme;
