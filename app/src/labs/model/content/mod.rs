//! The Model lab's texts and presets, from `model.toml` beside this file (made into Rust by
//! `app/build.rs`): `TITLE`, `INTRO`, [`task`] of each task and [`presets`].

use crate::labs::model::settings::Task;

/// What a task asks, and what a perfect model would do.
pub struct TaskText {
    pub asks: &'static str,
    pub perfect: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/content/model.rs"));
