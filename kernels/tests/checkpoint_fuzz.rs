//! The checkpoint reader's fuzz run, differential against the `safetensors` crate (native
//! tests only: none of it is in the page).
//!
//! Valid files (a real model's checkpoint and generated ones: tensors in any order, zero-sized
//! tensors, metadata with escapes and characters beyond U+FFFF) are mutated: bits flipped, cut
//! short, extended, the header length set huge, negative (as two's complement) or off by a few,
//! the header edited (numbers swapped for huge, negative, fractional or leading-zero ones; offsets
//! made to overlap or leave the data; names duplicated; dtypes and shapes changed; deep nesting,
//! non-UTF-8 bytes, control characters and lone surrogates inserted), NaN written into the data.
//! For each: no panic; a rejection is a named message; an accepted file holds finite values in
//! the shapes it names, with distinct names; every file `safetensors` rejects, ours rejects; every
//! file both accept decodes to the same tensors and metadata.
//!
//! `SOFTPLAY_FUZZ_CHECKPOINTS` sets the number of cases (10,000 when unset; `cargo xtask fuzz`
//! runs 100,000) and `SOFTPLAY_FUZZ_SEED` the seed.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, HashMap};

use safetensors::{Dtype, SafeTensors};
use softplay_kernels::{
    activation::Activation,
    attention::{SoftmaxAlgorithm, Variant},
    mlp::Hidden,
    model::{
        checkpoint::{read, write},
        transformer::{Config, Norm, Positions},
    },
};

fn env(key: &str, default: u64) -> u64 {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// splitmix64: a small, seeded generator, so that a failing case can be made again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

/// A safetensors file of f32 tensors, written here (not by the reader's own writer), in the
/// order given, with `pad` spaces after the header.
fn file(tensors: &[(String, Vec<usize>, Vec<f32>)], meta: &[(String, String)], pad: usize) -> Vec<u8> {
    let mut parts = Vec::new();
    if !meta.is_empty() {
        let pairs: Vec<String> = meta.iter().map(|(k, v)| format!("{}:{}", quote(k), quote(v))).collect();
        parts.push(format!("\"__metadata__\":{{{}}}", pairs.join(",")));
    }
    let mut offset = 0;
    for (name, shape, values) in tensors {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        parts.push(format!(
            "{}:{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
            quote(name),
            dims.join(","),
            offset,
            offset + 4 * values.len()
        ));
        offset += 4 * values.len();
    }
    let header = format!("{{{}}}{}", parts.join(","), " ".repeat(pad));
    assemble(header.as_bytes(), header.len() as u64, &data_of(tensors))
}

fn data_of(tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    tensors.iter().flat_map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes())).collect()
}

fn assemble(header: &[u8], length: u64, data: &[u8]) -> Vec<u8> {
    let mut out = length.to_le_bytes().to_vec();
    out.extend_from_slice(header);
    out.extend_from_slice(data);
    out
}

/// A valid file to start from.
fn seed_file(rng: &mut Rng, model: &[u8]) -> Vec<u8> {
    if rng.below(4) == 0 {
        return model.to_vec();
    }
    let names = ["wte", "wpe", "layers.0.qkv", "a", "é", "\u{1F600}x", "q\"uote", "back\\slash", "tab\tname", "out"];
    let count = 1 + rng.below(5);
    let mut tensors = Vec::new();
    for i in 0..count {
        let shape: Vec<usize> = (0..rng.below(4)).map(|_| rng.below(4)).collect();
        let n: usize = shape.iter().product();
        let values = (0..n).map(|_| (rng.next() as i32 as f32) / 1e9).collect();
        tensors.push((format!("{}{i}", rng.pick(&names)), shape, values));
    }
    let keys = ["softplay.config", "format", "k\u{10348}", "x"];
    let meta: Vec<(String, String)> =
        (0..rng.below(3)).map(|i| (format!("{}{i}", rng.pick(&keys)), format!("v=1&\"q\"\\\u{1F600}{i}"))).collect();
    file(&tensors, &meta, rng.below(9))
}

/// Splits a file into header text and data; `None` when it has no readable header.
fn split(bytes: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    let header = bytes.get(8..8usize.checked_add(n)?)?.to_vec();
    Some((header, bytes[8 + n..].to_vec()))
}

/// Replaces the `k`-th number in the header text with `with`.
fn swap_number(header: &[u8], k: usize, with: &str) -> Vec<u8> {
    let mut spans = Vec::new();
    let mut i = 0;
    let mut in_string = false;
    while i < header.len() {
        let c = header[i];
        if c == b'"' && (i == 0 || header[i - 1] != b'\\') {
            in_string = !in_string;
        }
        if !in_string && c.is_ascii_digit() {
            let s = i;
            while i < header.len() && header[i].is_ascii_digit() {
                i += 1;
            }
            spans.push((s, i));
            continue;
        }
        i += 1;
    }
    if spans.is_empty() {
        return header.to_vec();
    }
    let (s, e) = spans[k % spans.len()];
    [&header[..s], with.as_bytes(), &header[e..]].concat()
}

fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) -> &'static str {
    let numbers = [
        "0",
        "1",
        "4",
        "7",
        "-1",
        "-4",
        "01",
        "1.0",
        "4e0",
        "1e400",
        "18446744073709551615",
        "18446744073709551616",
        "4294967296",
        "9223372036854775807",
        "-0",
        "1.",
        "-",
        "00",
    ];
    let inserts: [&[u8]; 14] = [
        b"\xff",
        b"\xc3\x28",
        b"\x01",
        b"\\ud83d",
        b"\\ude00",
        b"\\ud83d\\ude00",
        b"\\u12",
        b"\\x",
        b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        b"{",
        b"}",
        b",",
        b"\"",
        b"null",
    ];
    if bytes.len() < 8 {
        return "none";
    }
    match rng.below(12) {
        0 => {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
            "bit flips"
        }
        1 => {
            let at = rng.below(bytes.len() + 1);
            bytes.truncate(at);
            "cut short"
        }
        2 => {
            let extra: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
            bytes.extend(extra);
            "extended"
        }
        3 => {
            let n = u64::from_le_bytes(bytes[..8].try_into().unwrap());
            let lengths = [
                u64::MAX,
                1 << 63,
                (-8i64) as u64,
                0,
                1 << 24,
                (1 << 24) + 1,
                n.wrapping_add(1 + rng.below(8) as u64),
                n.wrapping_sub(1 + rng.below(8) as u64),
            ];
            bytes[..8].copy_from_slice(&rng.pick(&lengths).to_le_bytes());
            "header length"
        }
        4..=6 => {
            let Some((header, data)) = split(bytes) else { return "none" };
            let header = swap_number(&header, rng.below(64), rng.pick::<&str>(&numbers));
            *bytes = assemble(&header, header.len() as u64, &data);
            "a number in the header"
        }
        7 => {
            // Offsets that overlap: one tensor's range copied onto the next's.
            let Some((header, data)) = split(bytes) else { return "none" };
            let text = String::from_utf8_lossy(&header).into_owned();
            let ranges: Vec<&str> = text.match_indices("\"data_offsets\":[").map(|(i, _)| &text[i..]).collect();
            if ranges.len() < 2 {
                return "none";
            }
            let (Some(a), Some(b)) = (ranges[0].find(']'), ranges[1].find(']')) else { return "none" };
            let (first, second) = (&ranges[0][..a + 1], &ranges[1][..b + 1]);
            let header = text.replacen(second, first, 1);
            *bytes = assemble(header.as_bytes(), header.len() as u64, &data);
            "overlapping offsets"
        }
        8 => {
            // A name twice: a tensor's entry repeated, or a second name made equal to the first.
            let Some((header, data)) = split(bytes) else { return "none" };
            let text = String::from_utf8_lossy(&header).into_owned();
            let Some(start) = text.find("},\"").map(|i| i + 2).or_else(|| text.find("{\"").map(|i| i + 1)) else {
                return "none";
            };
            let Some(end) = text[start..].find('}').map(|i| start + i + 1) else { return "none" };
            let entry = text[start..end].to_string();
            let Some((close, _)) = text.trim_end().char_indices().last() else { return "none" };
            let header = format!("{},{}{}", &text[..close], entry, &text[close..]);
            *bytes = assemble(header.as_bytes(), header.len() as u64, &data);
            "duplicate name"
        }
        9 => {
            let Some((header, data)) = split(bytes) else { return "none" };
            let text = String::from_utf8_lossy(&header).into_owned();
            let edits = [
                ("\"F32\"", "\"F16\""),
                ("\"F32\"", "\"I64\""),
                ("\"F32\"", "\"f32\""),
                ("\"F32\"", "\"BOOL\""),
                ("\"F32\"", "32"),
                ("\"shape\":[", "\"shape\":[2,"),
                ("\"shape\":[", "\"shape\":[0,"),
                ("\"shape\":[", "\"shape\":[-1,"),
                ("\"shape\":[", "\"shape\":{},\"s\":["),
                ("\"data_offsets\":[", "\"data_offsets\":[0,"),
                ("\"dtype\"", "\"dtype\":\"F32\",\"dtype\""),
                ("\"__metadata__\":{", "\"__metadata__\":{\"n\":1,"),
                ("\"__metadata__\":{", "\"__metadata__\":{\"deep\":[[[[{}]]]],"),
                ("{", "{\"__metadata__\":null,"),
                ("{", "{\"extra\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,0]},"),
                ("}", "}}"),
                ("\"", ""),
                (":", ": \n\t"),
            ];
            let (from, to) = *rng.pick(&edits);
            let header = text.replacen(from, to, 1);
            *bytes = assemble(header.as_bytes(), header.len() as u64, &data);
            "header edit"
        }
        10 => {
            let Some((mut header, data)) = split(bytes) else { return "none" };
            let at = rng.below(header.len() + 1);
            let what = rng.pick(&inserts);
            header.splice(at..at, what.iter().copied());
            *bytes = assemble(&header, header.len() as u64, &data);
            "bytes inserted in the header"
        }
        _ => {
            let Some((header, mut data)) = split(bytes) else { return "none" };
            if data.len() < 4 {
                return "none";
            }
            let at = 4 * rng.below(data.len() / 4);
            let special = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, f32::MIN_POSITIVE, -0.0];
            data[at..at + 4].copy_from_slice(&rng.pick(&special).to_le_bytes());
            *bytes = assemble(&header, header.len() as u64, &data);
            "a special value in the data"
        }
    }
}

/// A message's kind: its quoted names (Rust's debug form), numbers and lists left out.
fn kind(why: &str) -> String {
    let mut out = String::new();
    let (mut quoted, mut escaped, mut depth) = (false, false, 0u32);
    for c in why.chars() {
        if quoted {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                out.push('…');
            }
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            // A number goes; a digit in a word (F32, UTF-8) stays.
            _ if c.is_ascii_digit() && !out.ends_with(|p: char| p.is_ascii_alphanumeric() || p == '-') => {}
            _ => out.push(c),
        }
    }
    out.replace("  ", " ")
}

#[test]
fn fuzz_checkpoints_against_the_safetensors_crate() {
    let cases = env("SOFTPLAY_FUZZ_CHECKPOINTS", 10_000);
    let seed = env("SOFTPLAY_FUZZ_SEED", 20_261_207);
    let cfg = Config {
        vocab: 7,
        max_len: 4,
        layers: 1,
        width: 4,
        heads: 2,
        ffn: 8,
        attention: Variant::Softmax(SoftmaxAlgorithm::ThreePass),
        hidden: Hidden::Each(Activation::Gelu),
        norm: Norm::Rms,
        positions: Positions::Learned,
        tied: false,
    };
    let meta = BTreeMap::from([("softplay.config".to_string(), "v=1&task=copy".to_string())]);
    let model = write(&cfg, &cfg.init(3), &meta);
    let start = std::time::Instant::now();
    let mut rng = Rng(seed);
    let (mut both_accept, mut both_reject, mut only_ours_reject) = (0u64, 0u64, 0u64);
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut stricter: BTreeMap<String, u64> = BTreeMap::new();
    let mut mutations: BTreeMap<&str, u64> = BTreeMap::new();
    for case in 0..cases {
        let mut bytes = seed_file(&mut rng, &model);
        for _ in 0..1 + rng.below(3) {
            *mutations.entry(mutate(&mut rng, &mut bytes)).or_default() += 1;
        }
        let ours = std::panic::catch_unwind(|| read(&bytes))
            .unwrap_or_else(|_| panic!("case {case} (seed {seed}) panicked on {:?}", String::from_utf8_lossy(&bytes)));
        let theirs = SafeTensors::deserialize(&bytes);
        match (&ours, &theirs) {
            (Err(why), _) => {
                assert!(!why.is_empty() && why.len() < 400 && why.is_char_boundary(why.len()), "case {case}: {why:?}");
                let kind = kind(why);
                *reasons.entry(kind.clone()).or_default() += 1;
                if theirs.is_ok() {
                    only_ours_reject += 1;
                    *stricter.entry(kind).or_default() += 1;
                } else {
                    both_reject += 1;
                }
            }
            (Ok(_), Err(e)) => panic!(
                "case {case} (seed {seed}): safetensors rejects ({e}) what ours accepts: {:?}",
                String::from_utf8_lossy(&bytes)
            ),
            (Ok(ck), Ok(st)) => {
                both_accept += 1;
                let mut names = std::collections::HashSet::new();
                for (name, shape, values) in &ck.tensors {
                    assert!(names.insert(name), "case {case}: {name:?} twice");
                    assert_eq!(shape.iter().product::<usize>(), values.len(), "case {case}: {name:?}");
                    assert!(values.iter().all(|v| v.is_finite()), "case {case}: {name:?} not finite");
                    let view =
                        st.tensor(name).unwrap_or_else(|e| panic!("case {case}: safetensors has no {name:?}: {e}"));
                    assert_eq!(view.dtype(), Dtype::F32, "case {case}");
                    assert_eq!(view.shape(), &shape[..], "case {case}: {name:?}");
                    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                    assert_eq!(view.data(), &bytes[..], "case {case}: {name:?}");
                }
                assert_eq!(st.len(), ck.tensors.len(), "case {case}");
                let (_, header) = SafeTensors::read_metadata(&bytes).expect("read above");
                let theirs: HashMap<String, String> = header.metadata().clone().unwrap_or_default();
                assert_eq!(ck.metadata, theirs.into_iter().collect::<BTreeMap<_, _>>(), "case {case}");
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "checkpoint fuzz: {cases} cases (seed {seed}) in {secs:.1} s: {both_accept} accepted by both and equal, \
         {both_reject} rejected by both, {only_ours_reject} rejected by ours only, 0 accepted by ours only, 0 panics"
    );
    println!("mutations: {mutations:?}");
    for (what, counts) in [("our rejections", &reasons), ("rejected by ours only", &stricter)] {
        println!("{what}:");
        for (k, n) in counts {
            println!("  {n:>8}  {k}");
        }
    }
    // The run must reach both sides of the comparison, or it proves little.
    if cases >= 1_000 {
        assert!(both_accept > cases / 50 && both_reject > cases / 4, "{both_accept} accepted, {both_reject} rejected");
    }
}
