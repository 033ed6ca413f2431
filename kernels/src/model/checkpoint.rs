//! Checkpoints as safetensors files: an 8-byte little-endian header length, a JSON header
//! naming each tensor's dtype, shape and byte range (plus string `__metadata__`), then the
//! tensors' bytes. Only `F32` tensors are written and read.
//!
//! Reading checks everything a file could get wrong (length, JSON, dtype, ranges, shapes,
//! NaN) and says what, so that a bad upload is named and nothing is loaded from it.

use std::collections::BTreeMap;

use super::{config::all_finite, transformer::Config};

/// A checkpoint's contents: string metadata and named f32 tensors.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub metadata: BTreeMap<String, String>,
    pub tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
}

/// Largest header accepted (safetensors' own limit is 100 MB; ours are a few KB).
const MAX_HEADER: u64 = 1 << 24;

/// The parameters `params` of `cfg` as a safetensors file, with `metadata`.
pub fn write(cfg: &Config, params: &[f32], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = String::from("{");
    header += &format!("\"__metadata__\":{{{}}}", {
        let pairs: Vec<String> = metadata.iter().map(|(k, v)| format!("{}:{}", quote(k), quote(v))).collect();
        pairs.join(",")
    });
    let mut offset = 0usize;
    let tensors = cfg.tensors();
    for t in &tensors {
        let shape: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
        header += &format!(
            ",{}:{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
            quote(&t.name),
            shape.join(","),
            offset,
            offset + 4 * t.span.1
        );
        offset += 4 * t.span.1;
    }
    header.push('}');
    // The data starts 8-byte aligned, as the format recommends: pad the header with spaces.
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for t in &tensors {
        for v in &params[t.span.0..t.span.0 + t.span.1] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Reads a safetensors file of f32 tensors; an error says what is wrong with it.
pub fn read(bytes: &[u8]) -> Result<Checkpoint, String> {
    if bytes.len() < 8 {
        return Err(format!(
            "{} bytes is too short for a safetensors file (it starts with an 8-byte header length)",
            bytes.len()
        ));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if n > MAX_HEADER || 8 + n > bytes.len() as u64 {
        return Err(format!(
            "the header length {n} does not fit the file's {} bytes: not a safetensors file, or a cut-off one",
            bytes.len()
        ));
    }
    let header =
        std::str::from_utf8(&bytes[8..8 + n as usize]).map_err(|_| "the header is not UTF-8 text".to_string())?;
    let data = &bytes[8 + n as usize..];
    let Json::Object(entries) = Parser::new(header).document()? else {
        return Err("the header is not a JSON object".into());
    };
    let mut metadata = BTreeMap::new();
    let mut tensors = Vec::new();
    // Each tensor's byte range, to check that together they tile the data exactly.
    let mut ranges: Vec<(usize, usize, String)> = Vec::new();
    for (name, value) in entries {
        if name == "__metadata__" {
            let Json::Object(pairs) = value else { return Err("__metadata__ is not an object".into()) };
            for (k, v) in pairs {
                let Json::String(v) = v else { return Err(format!("metadata {k:?} is not a string")) };
                metadata.insert(k, v);
            }
            continue;
        }
        let Json::Object(fields) = value else { return Err(format!("tensor {name:?}: not an object")) };
        let field = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        match field("dtype") {
            Some(Json::String(d)) if d == "F32" => {}
            Some(Json::String(d)) => return Err(format!("tensor {name:?} is {d:?}; only F32 tensors can be read")),
            _ => return Err(format!("tensor {name:?} has no dtype")),
        }
        let shape = match field("shape") {
            Some(Json::Array(dims)) => dims.iter().map(Json::as_usize).collect::<Option<Vec<usize>>>(),
            _ => None,
        }
        .ok_or_else(|| format!("tensor {name:?} has no shape of whole numbers"))?;
        let (start, end) = match field("data_offsets") {
            Some(Json::Array(o)) if o.len() == 2 => (o[0].as_usize(), o[1].as_usize()),
            _ => (None, None),
        };
        let (Some(start), Some(end)) = (start, end) else {
            return Err(format!("tensor {name:?} has no data_offsets [start, end]"));
        };
        let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX);
        if end < start || end > data.len() || (end - start) != count.saturating_mul(4) {
            return Err(format!(
                "tensor {name:?}: bytes {start}..{end} do not hold its shape {shape:?} in the {} bytes of data",
                data.len()
            ));
        }
        ranges.push((start, end, name.clone()));
        let values: Vec<f32> =
            data[start..end].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        if !all_finite(&values) {
            return Err(format!("tensor {name:?} holds a NaN or an infinity"));
        }
        tensors.push((name, shape, values));
    }
    // The ranges, in order, must meet end to start from byte 0 to the last: no overlap (two
    // tensors sharing bytes), no gap, nothing left over.
    ranges.sort();
    let mut at = 0usize;
    for (i, (start, end, name)) in ranges.iter().enumerate() {
        if *start < at {
            let (_, prev_end, prev) = &ranges[i - 1];
            return Err(format!(
                "tensors {prev:?} (bytes ..{prev_end}) and {name:?} (bytes {start}..{end}) overlap: each byte belongs to one tensor"
            ));
        }
        if *start > at {
            return Err(format!("data bytes {at}..{start} belong to no tensor"));
        }
        at = *end;
    }
    if at != data.len() {
        return Err(format!("the tensors cover {at} of the {} data bytes", data.len()));
    }
    Ok(Checkpoint { metadata, tensors })
}

impl Checkpoint {
    /// The flat parameters of `cfg` from this checkpoint; an error names the first tensor
    /// missing, extra or of another shape.
    pub fn params_for(&self, cfg: &Config) -> Result<Vec<f32>, String> {
        let expected = cfg.tensors();
        let mut p = vec![0.0f32; cfg.layout().total];
        for t in &expected {
            let Some((_, shape, values)) = self.tensors.iter().find(|(n, _, _)| *n == t.name) else {
                return Err(format!("the file has no tensor {:?}, which this model needs", t.name));
            };
            if *shape != t.shape {
                return Err(format!("tensor {:?} is {:?} in the file, {:?} in this model", t.name, shape, t.shape));
            }
            p[t.span.0..t.span.0 + t.span.1].copy_from_slice(values);
        }
        if let Some((extra, _, _)) = self.tensors.iter().find(|(n, _, _)| !expected.iter().any(|t| t.name == *n)) {
            return Err(format!("the file has a tensor {extra:?} this model does not have"));
        }
        Ok(p)
    }
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            c if (c as u32) < 0x20 => out += &format!("\\u{:04x}", c as u32),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The JSON a safetensors header uses (numbers are kept as text).
#[derive(Debug)]
enum Json {
    Object(Vec<(String, Json)>),
    Array(Vec<Json>),
    String(String),
    Number(String),
    Other,
}

impl Json {
    fn as_usize(&self) -> Option<usize> {
        match self {
            Json::Number(n) => n.parse().ok(),
            _ => None,
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Self {
        Parser { s: s.as_bytes(), at: 0, depth: 0 }
    }

    fn fail<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("the header is not valid JSON: {what} at byte {}", self.at))
    }

    fn space(&mut self) {
        while self.at < self.s.len() && self.s[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.space();
        if self.s.get(self.at) == Some(&b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn document(&mut self) -> Result<Json, String> {
        let v = self.value()?;
        self.space();
        if self.at != self.s.len() {
            return self.fail("text after the end");
        }
        Ok(v)
    }

    fn value(&mut self) -> Result<Json, String> {
        self.space();
        self.depth += 1;
        if self.depth > 32 {
            return self.fail("nested too deep");
        }
        let v = match self.s.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut entries = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.space();
                        let key_at = self.at;
                        let key = self.string()?;
                        if entries.iter().any(|(k, _): &(String, Json)| *k == key) {
                            self.at = key_at;
                            return self.fail(&format!("the name {key:?} appears twice in one object"));
                        }
                        if !self.eat(b':') {
                            return self.fail("expected ':'");
                        }
                        entries.push((key, self.value()?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return self.fail("expected ',' or '}'");
                        }
                    }
                }
                Json::Object(entries)
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return self.fail("expected ',' or ']'");
                        }
                    }
                }
                Json::Array(items)
            }
            Some(b'"') => Json::String(self.string()?),
            Some(c) if c.is_ascii_digit() || *c == b'-' => Json::Number(self.number()?),
            _ => {
                let rest = &self.s[self.at..];
                let word = [&b"true"[..], b"false", b"null"].into_iter().find(|w| rest.starts_with(w));
                match word {
                    Some(w) => {
                        self.at += w.len();
                        Json::Other
                    }
                    None => return self.fail("unexpected character"),
                }
            }
        };
        self.depth -= 1;
        Ok(v)
    }

    /// A number as JSON writes it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<String, String> {
        let start = self.at;
        let digits = |p: &mut Self| {
            let from = p.at;
            while p.s.get(p.at).is_some_and(u8::is_ascii_digit) {
                p.at += 1;
            }
            p.at - from
        };
        if self.s.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let int_at = self.at;
        match digits(self) {
            0 => return self.fail("a number without digits"),
            n if n > 1 && self.s[int_at] == b'0' => return self.fail("a number with a leading zero"),
            _ => {}
        }
        if self.s.get(self.at) == Some(&b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return self.fail("a number without digits after its point");
            }
        }
        if matches!(self.s.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.s.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return self.fail("a number without digits in its exponent");
            }
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.at]).into_owned())
    }

    /// Four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Result<u32, String> {
        let hex = self.s.get(self.at..self.at + 4).and_then(|h| std::str::from_utf8(h).ok());
        match hex.filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit())).and_then(|h| u32::from_str_radix(h, 16).ok()) {
            Some(code) => {
                self.at += 4;
                Ok(code)
            }
            None => self.fail("bad \\u escape"),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        if self.s.get(self.at) != Some(&b'"') {
            return self.fail("expected a string");
        }
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.s.get(self.at) {
                None => return self.fail("unterminated string"),
                Some(b'"') => {
                    self.at += 1;
                    break;
                }
                Some(b'\\') => {
                    let esc = self.s.get(self.at + 1).copied();
                    self.at += 2;
                    match esc {
                        Some(b'"') => out.push(b'"'),
                        Some(b'\\') => out.push(b'\\'),
                        Some(b'/') => out.push(b'/'),
                        Some(b'n') => out.push(b'\n'),
                        Some(b't') => out.push(b'\t'),
                        Some(b'r') => out.push(b'\r'),
                        Some(b'b') => out.push(8),
                        Some(b'f') => out.push(12),
                        Some(b'u') => {
                            let mut code = self.hex4()?;
                            // A character beyond U+FFFF is written as a surrogate pair, high
                            // then low; a surrogate alone is no character.
                            if (0xD800..0xDC00).contains(&code) {
                                if self.s.get(self.at..self.at + 2) != Some(&b"\\u"[..]) {
                                    return self.fail("a \\u escape of a lone high surrogate");
                                }
                                self.at += 2;
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return self.fail("a high surrogate not followed by a low one");
                                }
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                            }
                            let Some(ch) = char::from_u32(code) else {
                                return self.fail("a \\u escape of a lone low surrogate");
                            };
                            out.extend_from_slice(ch.to_string().as_bytes());
                        }
                        _ => return self.fail("bad escape"),
                    }
                }
                Some(&c) if c < 0x20 => return self.fail("a control character inside a string"),
                Some(&c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
        String::from_utf8(out).or_else(|_| self.fail("a string that is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        activation::{Activation, Gate},
        attention::{SoftmaxAlgorithm, Variant},
        mlp::Hidden,
        model::transformer::{Norm, Positions},
    };

    fn cfg(hidden: Hidden, norm: Norm) -> Config {
        Config {
            vocab: 9,
            max_len: 8,
            layers: 2,
            width: 8,
            heads: 2,
            ffn: 12,
            attention: Variant::Softmax(SoftmaxAlgorithm::ThreePass),
            hidden,
            norm,
            positions: Positions::Learned,
            tied: false,
        }
    }

    #[test]
    fn a_checkpoint_round_trips_bit_for_bit_with_its_metadata() {
        let c = cfg(Hidden::Gated(Gate::SwiGlu { beta: 1.0 }), Norm::Layer);
        let p = c.init(4);
        let meta = BTreeMap::from([("softplay.config".to_string(), "v=1&task=copy \"q\"\\".to_string())]);
        let bytes = write(&c, &p, &meta);
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!((8 + header_len) % 8, 0, "data is 8-byte aligned");
        let back = read(&bytes).unwrap();
        assert_eq!(back.metadata, meta);
        let q = back.params_for(&c).unwrap();
        assert!(p.iter().zip(&q).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert_eq!(back.tensors.len(), c.tensors().len());
        assert_eq!(back.tensors[0].0, "wte");
    }

    #[test]
    fn bad_files_and_other_models_are_named() {
        let c = cfg(Hidden::Each(Activation::Gelu), Norm::Rms);
        let bytes = write(&c, &c.init(1), &BTreeMap::new());
        let err = |b: &[u8]| read(b).unwrap_err();
        assert!(err(b"abc").contains("too short"));
        assert!(err(&bytes[..bytes.len() - 4]).contains("do not hold its shape"), "{}", err(&bytes[..bytes.len() - 4]));
        assert!(err(&[255u8; 64]).contains("header length"));
        let mut junk = 6u64.to_le_bytes().to_vec();
        junk.extend_from_slice(b"{\"a\":x");
        assert!(err(&junk).contains("not valid JSON"));
        let mut nan = bytes.clone();
        let n = nan.len();
        nan[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(err(&nan).contains("NaN"));
        // Another model: a different width, a missing tensor, an extra one.
        let ck = read(&bytes).unwrap();
        let wider = Config { width: 16, ..c.clone() };
        assert!(ck.params_for(&wider).unwrap_err().contains("\"wte\" is [9, 8] in the file, [9, 16] in this model"));
        let layer_norm = Config { norm: Norm::Layer, ..c.clone() };
        assert!(ck.params_for(&layer_norm).unwrap_err().contains("no tensor \"layers.0.ln1_bias\""));
        let tied = Config { tied: true, ..c.clone() };
        assert!(ck.params_for(&tied).unwrap_err().contains("tensor \"out\" this model does not have"));
    }

    /// A file of f32 tensors from its header text and data bytes.
    fn raw(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn tensors_that_share_bytes_or_a_name_are_refused() {
        let data = [0u8; 16];
        // Two tensors of 8 bytes over 16 bytes, but both starting at 4: the sum of their sizes
        // is right, yet they share bytes 4..8 and bytes 0..4 belong to no tensor.
        let overlap = raw(
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#,
            &data,
        );
        let err = read(&overlap).unwrap_err();
        assert!(err.contains("data bytes 0..4 belong to no tensor"), "{err}");
        let overlap = raw(
            r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[3],"data_offsets":[4,16]}}"#,
            &data,
        );
        let err = read(&overlap).unwrap_err();
        assert!(err.contains("\"a\" (bytes ..12) and \"b\" (bytes 4..16) overlap"), "{err}");
        let twice = raw(
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#,
            &data,
        );
        let err = read(&twice).unwrap_err();
        assert!(err.contains("the name \"a\" appears twice"), "{err}");
        // In order and touching: read.
        let fine = raw(
            r#"{"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            &data,
        );
        assert_eq!(read(&fine).unwrap().tensors.len(), 2);
    }

    #[test]
    fn the_header_is_strict_json_with_surrogate_pairs_decoded() {
        let meta = |text: &str| read(&raw(&format!(r#"{{"__metadata__":{{"k":"{text}"}}}}"#), &[]));
        assert_eq!(meta(r"\ud83d\ude00 ok").unwrap().metadata["k"], "\u{1F600} ok");
        assert_eq!(meta(r"\u00e9\u4e2d").unwrap().metadata["k"], "é中");
        assert!(meta(r"\ud83d alone").unwrap_err().contains("lone high surrogate"));
        assert!(meta(r"\ude00").unwrap_err().contains("lone low surrogate"));
        assert!(meta(r"\ud83d\u0041").unwrap_err().contains("not followed by a low one"));
        assert!(meta("tab\there").unwrap_err().contains("control character"));
        assert!(meta(r"\u12zz").unwrap_err().contains("bad \\u escape"));
        let offsets = |o: &str| {
            read(&raw(&format!(r#"{{"a":{{"dtype":"F32","shape":[1],"data_offsets":[{o}]}}}}"#), &[0; 4])).map(|_| ())
        };
        assert_eq!(offsets("0,4"), Ok(()));
        assert!(offsets("00,4").unwrap_err().contains("leading zero"));
        assert!(offsets("-,4").unwrap_err().contains("without digits"));
        assert!(offsets("0,4.").unwrap_err().contains("after its point"));
        assert!(offsets("0,4e").unwrap_err().contains("exponent"));
        assert!(offsets("0,4e0").unwrap_err().contains("no data_offsets"), "a number, but not a whole one as written");
        assert!(offsets("0,-4").unwrap_err().contains("no data_offsets"));
    }
}
