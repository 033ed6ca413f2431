//! Pieces every lab reuses: labelled controls, charts, heatmaps, formulas, exports.

pub mod chart;
pub mod controls;
pub mod export;
pub mod formula;
pub mod heatmap;
pub mod heatmap_table;
pub mod scale;
