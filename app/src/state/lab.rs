//! What every lab's settings share: the [`LabConfig`] trait (a typed, versioned set of settings
//! with a URL form), the `choice_enum!` macro that declares a choice once, and a lab module's
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

/// The query for `config` with the defaults dropped: the same settings in a shorter link.
/// Every value is read starting from its default, so a pair the defaults write the same way can
/// be left out (a test reads 2,000 random settings back from their short links).
pub fn encode_lab_short<C: LabConfig>(page: &str, config: &C) -> String {
    let full = encode_lab(page, config);
    let default = encode_lab(page, &C::default());
    let default: Vec<&str> = default.split('&').skip(2).collect();
    let kept: Vec<&str> =
        full.split('&').enumerate().filter(|(i, pair)| *i < 2 || !default.contains(pair)).map(|(_, p)| p).collect();
    kept.join("&")
}

/// Declares a lab's settings once: one row per setting gives the field, its type, its default,
/// and how the link carries it — a parameter declared in the row (`int`, `float`, `flag`: the
/// constant with its URL key, label, range and unit, which the codec, its notices and the
/// controls all read), a [`Choice`] (`choice`), a list of choices (`choices`), a list of
/// coefficients (`coefficients`), or the lab's own reader and writer (`custom`; `with_previous`
/// for a field the custom row before it reads and writes). The macro writes the struct, its
/// `Default`, and its [`LabConfig`]: the link is read and written in the rows' order, each value
/// starting from its default, so a custom reader sees the values of the rows above it.
///
/// Adding a setting is one row here plus the code that uses it (its control, its effect).
macro_rules! lab_settings_impl {
    (
        $(#[$meta:meta])*
        pub struct $name:ident (version $version:literal, $place:literal) {
            $(
                $(#[$field_meta:meta])*
                $field:ident : $ty:ty = $default:expr => $kind:ident ( $($arg:tt)* );
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )+
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $( $field: $default, )+ }
            }
        }

        $( $crate::state::lab::lab_settings!(@const $kind ( $($arg)* )); )+

        impl $crate::state::lab::LabConfig for $name {
            const VERSION: u32 = $version;
            const PLACE: &'static str = $place;
            #[allow(unused_variables)]
            fn read(q: &mut $crate::state::codec::QueryReader, version: u32) -> Self {
                let mut c = Self::default();
                $( $crate::state::lab::lab_settings!(@read q, version, c, $field, $kind ( $($arg)* )); )+
                c
            }
            fn write(&self, w: &mut $crate::state::codec::QueryWriter) {
                $( $crate::state::lab::lab_settings!(@write w, self, $field, $kind ( $($arg)* )); )+
            }

        }
    };

    // The parameter a row declares (a row naming an existing constant declares none).
    (@const int ( $(#[$m:meta])* $p:ident { $($def:tt)* } )) => {
        $(#[$m])* pub const $p: $crate::state::codec::IntParam = $crate::state::codec::IntParam { $($def)* };
    };
    (@const float ( $(#[$m:meta])* $p:ident { $($def:tt)* } )) => {
        $(#[$m])* pub const $p: $crate::state::codec::FloatParam = $crate::state::codec::FloatParam { $($def)* };
    };
    (@const flag ( $(#[$m:meta])* $p:ident { $($def:tt)* } )) => {
        $(#[$m])* pub const $p: $crate::state::codec::FlagParam = $crate::state::codec::FlagParam { $($def)* };
    };
    (@const $kind:ident ( $($arg:tt)* )) => {};

    (@read $q:ident, $v:ident, $c:ident, $f:ident, int ( $(#[$m:meta])* $p:ident $($def:tt)* )) => {
        $c.$f = $q.int(&$p, $c.$f);
    };
    (@read $q:ident, $v:ident, $c:ident, $f:ident, float ( $(#[$m:meta])* $p:ident $($def:tt)* )) => {
        $c.$f = $q.float(&$p, $c.$f);
    };
    (@read $q:ident, $v:ident, $c:ident, $f:ident, flag ( $(#[$m:meta])* $p:ident $($def:tt)* )) => {
        $c.$f = $q.flag(&$p, $c.$f);
    };
    (@read $q:ident, $v:ident, $c:ident, $f:ident, choice ()) => {
        $c.$f = $q.choice($c.$f);
    };
    (@read $q:ident, $v:ident, $c:ident, $f:ident, choices ( $key:expr, $min:expr, $max:expr )) => {
        $c.$f = $q.choice_list($key, $min, $max, &$c.$f);
    };
    (@read $q:ident, $v:ident, $c:ident, $f:ident, coefficients ( $list:expr )) => {
        $c.$f = $q.float_list($list.key, $list.params.len(), $list.limit, &$c.$f);
    };
    (@read $q:ident, $v:ident, $c:ident, $f:ident, custom ( $read:path, $write:path )) => {
        $read($q, $v, &mut $c);
    };
    (@read $q:ident, $v:ident, $c:ident, $f:ident, with_previous ()) => {};

    (@write $w:ident, $s:ident, $f:ident, int ( $(#[$m:meta])* $p:ident $($def:tt)* )) => {
        $w.int(&$p, $s.$f);
    };
    (@write $w:ident, $s:ident, $f:ident, float ( $(#[$m:meta])* $p:ident $($def:tt)* )) => {
        $w.float(&$p, $s.$f);
    };
    (@write $w:ident, $s:ident, $f:ident, flag ( $(#[$m:meta])* $p:ident $($def:tt)* )) => {
        $w.flag(&$p, $s.$f);
    };
    (@write $w:ident, $s:ident, $f:ident, choice ()) => {
        $w.choice($s.$f);
    };
    (@write $w:ident, $s:ident, $f:ident, choices ( $key:expr, $min:expr, $max:expr )) => {
        $w.choice_list($key, &$s.$f);
    };
    (@write $w:ident, $s:ident, $f:ident, coefficients ( $list:expr )) => {
        $w.float_list($list.key, &$s.$f);
    };
    (@write $w:ident, $s:ident, $f:ident, custom ( $read:path, $write:path )) => {
        $write($s, $w);
    };
    (@write $w:ident, $s:ident, $f:ident, with_previous ()) => {};
}

pub(crate) use lab_settings_impl as lab_settings;
