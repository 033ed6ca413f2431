//! The labs' content as data: each lab's descriptions, formulas, papers, task texts and presets
//! live in `src/labs/<lab>/content/<lab>.toml`, which `build.rs` turns into Rust items at build
//! time (the lab's `content` module includes them). What they share is here: a [`Preset`], a
//! named set of links, and [`apply`], which applies one of its links to a lab's settings.

use crate::state::lab::{decode_lab, encode_lab, LabConfig};

/// A named set of links (`?page=<lab>&key=value…`), each naming only the settings it sets.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    pub name: &'static str,
    /// The text of its button.
    pub label: &'static str,
    /// One sentence on what it does (the button's tooltip).
    pub about: &'static str,
    pub links: &'static [&'static str],
}

/// `current` with the settings `link` names; every other setting keeps its value. The link is
/// read by the lab's own decoder, as a link a person opens would be.
pub fn apply<C: LabConfig>(current: &C, link: &str) -> C {
    let link = link.strip_prefix('?').unwrap_or(link);
    let key = |pair: &str| pair.split_once('=').map_or(pair, |(k, _)| k).to_string();
    let named: Vec<String> = link.split('&').map(key).collect();
    let kept = encode_lab("", current);
    let mut query: Vec<&str> = kept.split('&').filter(|pair| !named.contains(&key(pair))).collect();
    query.extend(link.split('&'));
    let (config, notices) = decode_lab::<C>(&query.join("&"));
    debug_assert!(notices.is_empty(), "a preset's link {link:?} reads with notices: {notices:?}");
    config
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
