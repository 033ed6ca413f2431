//! Pieces every page uses: labelled controls, charts, heatmaps, formulas, exports, the notices
//! strip, the theme toggle.

pub mod chart;
pub mod controls;
pub mod export;
pub mod formula;
pub mod heatmap;
pub mod notices;
pub mod theme;
