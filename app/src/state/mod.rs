//! Experiment state: the codec that writes settings into the URL query and reads them back,
//! what every lab's settings share, and the browser's location and history.
//!
//! `codec` knows queries, parameters and notices; `lab` is the trait each lab's settings
//! implement (the settings themselves live in each lab's `settings.rs`); `url` connects them to
//! the browser's location and history.

pub mod codec;
pub mod lab;
pub mod url;
