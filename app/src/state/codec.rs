//! The URL query codec: readable keys, never trusted.
//!
//! A config is written as `key=value` pairs (`?page=attention&v=1&attn=softplus&n=128`) and
//! read back with a [`QueryReader`], which takes each known key once, checks it against its
//! parameter's range and, for anything it cannot use, keeps the default and records a
//! [`Notice`] that names the value, the allowed range and what was done. Unknown keys,
//! repeated keys and links from a newer version are named too. Decoding never panics.

use std::fmt::Write as _;

/// A message for the person about a value in the link that was not used as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice(pub String);

/// A whole-number setting with its inclusive range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntParam {
    pub key: &'static str,
    pub label: &'static str,
    pub min: u32,
    pub max: u32,
    pub unit: &'static str,
}

/// A real-valued setting with its inclusive range; `log` asks the slider for a log scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloatParam {
    pub key: &'static str,
    pub label: &'static str,
    pub min: f64,
    pub max: f64,
    pub unit: &'static str,
    pub log: bool,
}

/// An on/off setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagParam {
    pub key: &'static str,
    pub label: &'static str,
}

/// A setting with a fixed set of named values, each with the name written in the URL.
pub trait Choice: Copy + PartialEq + Send + Sync + 'static {
    const KEY: &'static str;
    const LABEL: &'static str;
    const ALL: &'static [Self];
    /// The name written in the URL.
    fn name(self) -> &'static str;
    /// The name shown on screen.
    fn label(self) -> &'static str;
}

impl IntParam {
    pub fn range_text(&self) -> String {
        format!("{}..{}", self.min, self.max)
    }
    /// Clamps `value` into range; the second value says whether it had to.
    pub fn clamp(&self, value: u32) -> (u32, bool) {
        let v = value.clamp(self.min, self.max);
        (v, v != value)
    }
}

impl FloatParam {
    pub fn range_text(&self) -> String {
        format!("{}..{}", format_float(self.min), format_float(self.max))
    }
    pub fn contains(&self, value: f64) -> bool {
        value.is_finite() && value >= self.min && value <= self.max
    }
}

/// The shortest decimal text that reads back as the same f64.
pub fn format_float(x: f64) -> String {
    format!("{x}")
}

/// Parses a query string (with or without the leading `?`) into decoded pairs, in order.
/// `+` is a space; a bad `%` escape is kept literally; bytes that are not UTF-8 become U+FFFD.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    let query = query.strip_prefix('?').unwrap_or(query);
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Escapes everything but unreserved characters, the comma (which separates list items) and the
/// slash (which separates groups of them); neither needs an escape in a query, so keys and values
/// read back unchanged.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b',' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Shortens a value for a notice, so that a huge crafted value cannot flood the page.
fn shown(value: &str) -> String {
    const MAX: usize = 40;
    if value.chars().count() <= MAX {
        value.to_string()
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("{head}…")
    }
}

/// Reads typed values out of query pairs, recording a [`Notice`] for everything it rejects.
pub struct QueryReader {
    pairs: Vec<(String, String)>,
    used: Vec<bool>,
    notices: Vec<Notice>,
}

impl QueryReader {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        let used = vec![false; pairs.len()];
        QueryReader { pairs, used, notices: Vec::new() }
    }

    pub fn from_query(query: &str) -> Self {
        Self::new(parse_query(query))
    }

    /// Records a notice of the caller's (a check across several keys).
    pub fn note(&mut self, text: String) {
        self.notices.push(Notice(text));
    }

    /// The first value of `key`, marking every pair of that key as read and naming repeats.
    pub fn take(&mut self, key: &str) -> Option<String> {
        let mut first = None;
        let mut repeats = Vec::new();
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if k == key && !self.used[i] {
                self.used[i] = true;
                if first.is_none() {
                    first = Some(v.clone());
                } else {
                    repeats.push(v.clone());
                }
            }
        }
        for v in repeats {
            self.note(format!("ignored repeated {key}={}: the first {key} in the link is used", shown(&v)));
        }
        first
    }

    pub fn int(&mut self, p: &IntParam, default: u32) -> u32 {
        let Some(text) = self.take(p.key) else { return default };
        let parsed = text.trim().parse::<u64>();
        match parsed {
            Ok(v) if v >= p.min as u64 && v <= p.max as u64 => v as u32,
            Ok(_) => {
                self.note(format!("ignored {}={}: must be {}; using {default}", p.key, shown(&text), p.range_text()));
                default
            }
            Err(_) => {
                self.note(format!(
                    "ignored {}={}: not a whole number (must be {}); using {default}",
                    p.key,
                    shown(&text),
                    p.range_text()
                ));
                default
            }
        }
    }

    pub fn float(&mut self, p: &FloatParam, default: f64) -> f64 {
        let Some(text) = self.take(p.key) else { return default };
        match text.trim().parse::<f64>() {
            Ok(v) if p.contains(v) => v,
            Ok(v) if v.is_finite() => {
                self.note(format!(
                    "ignored {}={}: must be {}; using {}",
                    p.key,
                    shown(&text),
                    p.range_text(),
                    format_float(default)
                ));
                default
            }
            _ => {
                self.note(format!(
                    "ignored {}={}: not a finite number (must be {}); using {}",
                    p.key,
                    shown(&text),
                    p.range_text(),
                    format_float(default)
                ));
                default
            }
        }
    }

    pub fn flag(&mut self, p: &FlagParam, default: bool) -> bool {
        let Some(text) = self.take(p.key) else { return default };
        match text.trim() {
            "1" | "true" | "on" | "yes" => true,
            "0" | "false" | "off" | "no" => false,
            _ => {
                self.note(format!("ignored {}={}: must be 1 or 0; using {}", p.key, shown(&text), u8::from(default)));
                default
            }
        }
    }

    pub fn choice<C: Choice>(&mut self, default: C) -> C {
        let names: Vec<&str> = C::ALL.iter().map(|c| c.name()).collect();
        let at = C::ALL.iter().position(|&c| c == default).unwrap_or(0);
        C::ALL[self.one_of(C::KEY, &names, at)]
    }

    /// The index in `names` of `key`'s value; `default` (an index) when it is missing or not one
    /// of them, which is named with the list.
    pub fn one_of(&mut self, key: &str, names: &[&str], default: usize) -> usize {
        let Some(text) = self.take(key) else { return default };
        match names.iter().position(|n| *n == text.trim()) {
            Some(i) => i,
            None => {
                self.note(format!(
                    "ignored {key}={}: must be one of {}; using {}",
                    shown(&text),
                    names.join(", "),
                    names[default]
                ));
                default
            }
        }
    }

    pub fn choice_list<C: Choice>(&mut self, key: &str, min: usize, max: usize, default: &[C]) -> Vec<C> {
        let Some(text) = self.take(key) else { return default.to_vec() };
        let names: Vec<&str> = C::ALL.iter().map(|c| c.name()).collect();
        let default_text = default.iter().map(|c| c.name()).collect::<Vec<_>>().join(",");
        let mut out: Vec<C> = Vec::new();
        let mut repeated = false;
        for part in text.split(',').map(str::trim) {
            match C::ALL.iter().find(|c| c.name() == part) {
                Some(&c) if !out.contains(&c) => out.push(c),
                Some(_) => repeated = true,
                None => {
                    self.note(format!(
                        "ignored {key}={}: “{}” is not one of {}; using {default_text}",
                        shown(&text),
                        shown(part),
                        names.join(", ")
                    ));
                    return default.to_vec();
                }
            }
        }
        if out.len() < min || out.len() > max {
            self.note(format!(
                "ignored {key}={}: pick {min} to {max} different values; using {default_text}",
                shown(&text)
            ));
            return default.to_vec();
        }
        if repeated {
            let read = out.iter().map(|c| c.name()).collect::<Vec<_>>().join(",");
            self.note(format!("read {key}={} as {read}: a value named twice counts once", shown(&text)));
        }
        out
    }

    /// A comma-separated list of exactly `len` finite numbers in `-limit..=limit`.
    pub fn float_list(&mut self, key: &str, len: usize, limit: f64, default: &[f64]) -> Vec<f64> {
        let Some(text) = self.take(key) else { return default.to_vec() };
        let parsed: Result<Vec<f64>, _> = text.split(',').map(|p| p.trim().parse::<f64>()).collect();
        match parsed {
            Ok(v) if v.len() == len && v.iter().all(|x| x.is_finite() && x.abs() <= limit) => v,
            Ok(v) if v.len() != len => {
                self.note(format!(
                    "ignored {key}={}: needs {len} numbers, found {}; using the defaults",
                    shown(&text),
                    v.len()
                ));
                default.to_vec()
            }
            _ => {
                self.note(format!(
                    "ignored {key}={}: every value must be a number in -{limit}..{limit}; using the defaults",
                    shown(&text)
                ));
                default.to_vec()
            }
        }
    }

    /// A comma-separated list of `min_len..=max_len` finite numbers in `low..=high`.
    pub fn float_vec(
        &mut self,
        key: &str,
        min_len: usize,
        max_len: usize,
        low: f64,
        high: f64,
        default: &[f64],
    ) -> Vec<f64> {
        let Some(text) = self.take(key) else { return default.to_vec() };
        let parsed: Result<Vec<f64>, _> = text.split(',').map(|p| p.trim().parse::<f64>()).collect();
        let count = if min_len == max_len { format!("{min_len}") } else { format!("{min_len} to {max_len}") };
        match parsed {
            Ok(v)
                if (min_len..=max_len).contains(&v.len())
                    && v.iter().all(|x| x.is_finite() && (low..=high).contains(x)) =>
            {
                v
            }
            _ => {
                self.note(format!(
                    "ignored {key}={}: needs {count} numbers in {}..{}; using the defaults",
                    shown(&text),
                    format_float(low),
                    format_float(high)
                ));
                default.to_vec()
            }
        }
    }

    /// Sets of indices below `limit`, `1..=max_sets` of them: `12,13/4` is {12, 13} then {4}.
    /// Each set holds 1 to `limit` distinct indices.
    pub fn index_sets(&mut self, key: &str, max_sets: usize, limit: u32, default: &[Vec<u32>]) -> Vec<Vec<u32>> {
        let Some(text) = self.take(key) else { return default.to_vec() };
        let mut repeated = false;
        let sets: Option<Vec<Vec<u32>>> = text
            .split('/')
            .map(|set| {
                let mut out: Vec<u32> = Vec::new();
                for part in set.split(',') {
                    let i = part.trim().parse::<u32>().ok().filter(|&i| i < limit)?;
                    if out.contains(&i) {
                        repeated = true;
                    } else {
                        out.push(i);
                    }
                }
                Some(out)
            })
            .collect();
        match sets {
            Some(sets) if (1..=max_sets).contains(&sets.len()) => {
                if repeated {
                    let read: Vec<String> =
                        sets.iter().map(|s| s.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")).collect();
                    self.note(format!(
                        "read {key}={} as {}: a response named twice in a group counts once",
                        shown(&text),
                        read.join("/")
                    ));
                }
                sets
            }
            _ => {
                self.note(format!(
                    "ignored {key}={}: needs 1 to {max_sets} groups (separated by /) of response numbers 0..{}; using the defaults",
                    shown(&text),
                    limit - 1
                ));
                default.to_vec()
            }
        }
    }

    /// Reads the format version `v`. A link from a newer version is read as far as it can be,
    /// and says so; a missing `v` means the current version.
    pub fn version(&mut self, current: u32) -> u32 {
        let Some(text) = self.take("v") else { return current };
        match text.trim().parse::<u32>() {
            Ok(v) if v >= 1 && v <= current => v,
            Ok(v) if v > current => {
                self.note(format!(
                    "this link was made by a newer version of Softplay (v={v}; this page reads v={current}): \
                     the settings it knows were read, the others are named below"
                ));
                current
            }
            _ => {
                self.note(format!("ignored v={}: must be 1..{current}; read the link as v={current}", shown(&text)));
                current
            }
        }
    }

    /// The notices so far, leaving the other keys unread (for a lab that reads them itself).
    pub fn page_notices(self) -> Vec<Notice> {
        self.notices
    }

    /// Names every key nothing asked for, and returns all notices.
    pub fn finish(mut self, place: &str) -> Vec<Notice> {
        let unknown: Vec<(String, String)> =
            self.pairs.iter().zip(&self.used).filter(|(_, &used)| !used).map(|(kv, _)| kv.clone()).collect();
        for (k, v) in unknown {
            let what = if v.is_empty() { shown(&k) } else { format!("{}={}", shown(&k), shown(&v)) };
            self.note(format!("ignored {what}: not a setting of {place}"));
        }
        self.notices
    }
}

/// Writes typed values as query pairs, in a fixed order.
#[derive(Default)]
pub struct QueryWriter {
    pairs: Vec<(String, String)>,
}

impl QueryWriter {
    pub fn raw(&mut self, key: &str, value: String) {
        self.pairs.push((key.to_string(), value));
    }
    pub fn int(&mut self, p: &IntParam, value: u32) {
        self.raw(p.key, value.to_string());
    }
    pub fn float(&mut self, p: &FloatParam, value: f64) {
        self.raw(p.key, format_float(value));
    }
    pub fn flag(&mut self, p: &FlagParam, value: bool) {
        self.raw(p.key, u8::from(value).to_string());
    }
    pub fn choice<C: Choice>(&mut self, value: C) {
        self.raw(C::KEY, value.name().to_string());
    }
    pub fn choice_list<C: Choice>(&mut self, key: &str, values: &[C]) {
        self.raw(key, values.iter().map(|c| c.name()).collect::<Vec<_>>().join(","));
    }
    pub fn float_list(&mut self, key: &str, values: &[f64]) {
        self.raw(key, values.iter().map(|&x| format_float(x)).collect::<Vec<_>>().join(","));
    }
    pub fn index_sets(&mut self, key: &str, sets: &[Vec<u32>]) {
        let text: Vec<String> =
            sets.iter().map(|s| s.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")).collect();
        self.raw(key, text.join("/"));
    }
    /// The query string, without the leading `?`.
    pub fn finish(self) -> String {
        let parts: Vec<String> =
            self.pairs.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect();
        parts.join("&")
    }
}
