//! What every lab's settings share: the [`LabConfig`] trait (a typed, versioned set of settings
//! with a URL form), the [`choice_enum!`] macro that declares a choice once, and a lab module's
//! reading and writing of its own query.
//!
//! A parameter is declared once, as a constant ([`IntParam`], [`FloatParam`], …) with its key,
//! label and range; the codec and the on-screen controls both read that constant, so the
//! range shown, the range enforced and the range in a notice are the same.

#[allow(unused_imports)]
use super::codec::{Choice, FlagParam, FloatParam, IntParam, Notice, QueryReader, QueryWriter};

/// Declares a [`Choice`] enum: variants with the name written in the URL and the label shown.
macro_rules! choice_enum_impl {
    ($(#[$meta:meta])* $name:ident, key = $key:literal, label = $label:literal,
     default = $default:ident, { $($variant:ident => ($url:literal, $text:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl Choice for $name {
            const KEY: &'static str = $key;
            const LABEL: &'static str = $label;
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn name(self) -> &'static str { match self { $($name::$variant => $url),+ } }
            fn label(self) -> &'static str { match self { $($name::$variant => $text),+ } }
        }

        impl Default for $name {
            fn default() -> Self { $name::$default }
        }
    };
}
pub(crate) use choice_enum_impl as choice_enum;

/// A lab's config: a typed, versioned set of settings with a URL form.
pub trait LabConfig: Clone + PartialEq + Default + Send + Sync + 'static {
    /// The version of the URL form; bumped when a key's meaning changes.
    const VERSION: u32;
    /// Where the settings live, for notices ("the Attention lab").
    const PLACE: &'static str;
    /// Reads the settings of a link of format `version` (at most [`Self::VERSION`]).
    fn read(q: &mut QueryReader, version: u32) -> Self;
    fn write(&self, w: &mut QueryWriter);
}

pub const SEED: IntParam = IntParam { key: "seed", label: "Seed", min: 0, max: u32::MAX, unit: "" };

/// A lab module's reading of its own query (the shell kept it as written): the settings, and a
/// notice for every value not used as written. Only `C`'s codec is linked.
pub fn decode_lab<C: LabConfig>(query: &str) -> (C, Vec<Notice>) {
    let mut q = QueryReader::from_query(query);
    // The shell read the page; here it only counts as used.
    let _page = q.take("page");
    let version = q.version(C::VERSION);
    let config = C::read(&mut q, version);
    (config, q.finish(C::PLACE))
}

/// A lab module's query for its settings: `page=<lab>` first, then the version and the values.
pub fn encode_lab<C: LabConfig>(page: &str, config: &C) -> String {
    let mut w = QueryWriter::default();
    w.raw("page", page.to_string());
    w.raw("v", C::VERSION.to_string());
    config.write(&mut w);
    w.finish()
}
