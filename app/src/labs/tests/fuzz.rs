//! The link decoder's fuzz run, lab by lab: valid links of each lab (any settings, written as the
//! page writes them), then mutated — a value swapped for junk, a pair dropped, repeated, moved or
//! cut, a byte changed, an escape or an unknown pair added. Whatever comes in, the decoder must
//! not panic, every decoded value must be in range, every notice must be short and named, and the
//! link written back must read back to itself.
//!
//! `SOFTPLAY_FUZZ_LINKS` sets the number of cases per lab: 10,000 in every test run; `cargo
//! xtask fuzz` runs 1,000,000 each (docs/RELIABILITY.md).

use proptest::prelude::*;

use super::{decode, encode, strategies, Labs, Page};
use crate::labs::tests::strategies::assert_in_range;

/// The number of cases per lab, from `SOFTPLAY_FUZZ_LINKS` (10,000 when unset).
fn cases() -> u32 {
    std::env::var("SOFTPLAY_FUZZ_LINKS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

/// One change to a link's `key=value` pairs; indices wrap around the pairs there are.
#[derive(Clone, Debug)]
enum Edit {
    Value(usize, String),
    Drop(usize),
    Repeat(usize),
    Move(usize, usize),
    Cut(usize, usize),
    Byte(usize, usize, u8),
    Escape(usize, usize, u8),
    Add(String, String),
    NoEquals(usize),
}

fn junk() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| v.to_string()),
        (-1e9f64..1e9).prop_map(|v| format!("{v:e}")),
        Just(String::new()),
        Just("NaN".into()),
        Just("-inf".into()),
        Just("1e308".into()),
        Just("-0".into()),
        Just("0x10".into()),
        Just("%FF%FE%00".into()),
        Just("%".into()),
        Just("%zz".into()),
        Just("<b>x</b>".into()),
        Just(",,,".into()),
        Just("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17".into()),
        Just("3/4/5/6/7/8/9".into()),
        Just("relu,relu,relu".into()),
        Just("attention".into()),
        Just("model".into()),
        "[0-9.eE+,/-]{0,16}",
        "[a-z,]{0,24}",
        any::<String>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), junk()).prop_map(|(i, v)| Edit::Value(i, v)),
        1 => any::<usize>().prop_map(Edit::Drop),
        1 => any::<usize>().prop_map(Edit::Repeat),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Edit::Move(i, j)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(i, at)| Edit::Cut(i, at)),
        2 => (any::<usize>(), any::<usize>(), any::<u8>()).prop_map(|(i, at, b)| Edit::Byte(i, at, b)),
        1 => (any::<usize>(), any::<usize>(), any::<u8>()).prop_map(|(i, at, b)| Edit::Escape(i, at, b)),
        1 => ("[a-z]{1,6}|page|v", junk()).prop_map(|(k, v)| Edit::Add(k, v)),
        1 => any::<usize>().prop_map(Edit::NoEquals),
    ]
}

/// Cuts `s` at the char boundary at or before byte `at`.
fn floor(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(pairs: &mut Vec<String>, edit: &Edit) {
    if pairs.is_empty() {
        pairs.push(String::new());
    }
    let n = pairs.len();
    match edit {
        Edit::Value(i, v) => {
            let p = &mut pairs[i % n];
            let key = p.split('=').next().unwrap_or_default().to_string();
            *p = format!("{key}={v}");
        }
        Edit::Drop(i) => {
            pairs.remove(i % n);
        }
        Edit::Repeat(i) => pairs.push(pairs[i % n].clone()),
        Edit::Move(i, j) => pairs.swap(i % n, j % n),
        Edit::Cut(i, at) => {
            let p = &mut pairs[i % n];
            let at = floor(p, at % (p.len() + 1));
            p.truncate(at);
        }
        Edit::Byte(i, at, b) => {
            let p = &mut pairs[i % n];
            let at = floor(p, at % (p.len() + 1));
            // A byte as text: printable ASCII as itself, anything else escaped.
            let c = if b.is_ascii_graphic() { (*b as char).to_string() } else { format!("%{b:02X}") };
            p.insert_str(at, &c);
        }
        Edit::Escape(i, at, b) => {
            let p = &mut pairs[i % n];
            let at = floor(p, at % (p.len() + 1));
            p.insert_str(at, &format!("%{b:02x}"));
        }
        Edit::Add(k, v) => pairs.push(format!("{k}={v}")),
        Edit::NoEquals(i) => {
            let p = &mut pairs[i % n];
            *p = p.replacen('=', "", 1);
        }
    }
}

/// Any settings of `page`'s lab (the other labs keep their defaults).
fn any_lab(page: Page) -> BoxedStrategy<Labs> {
    match page {
        Page::Attention => {
            strategies::any_attention().prop_map(|attention| Labs { attention, ..Labs::default() }).boxed()
        }
        Page::Activations => {
            strategies::any_activations().prop_map(|activations| Labs { activations, ..Labs::default() }).boxed()
        }
        Page::Alignment => {
            strategies::any_alignment().prop_map(|alignment| Labs { alignment, ..Labs::default() }).boxed()
        }
        Page::Model => strategies::any_model().prop_map(|model| Labs { model, ..Labs::default() }).boxed(),
        _ => Just(Labs::default()).boxed(),
    }
}

/// A lab's link, any settings, then 0 to 6 edits (a seventh of the cases stay unedited).
fn mutated_link(page: Page) -> impl Strategy<Value = (String, usize)> {
    (any_lab(page), prop::collection::vec(edit(), 0..=6)).prop_map(move |(labs, edits)| {
        let mut pairs: Vec<String> = encode(page, &labs).split('&').map(String::from).collect();
        for e in &edits {
            apply(&mut pairs, e);
        }
        (format!("?{}", pairs.join("&")), edits.len())
    })
}

/// The checks every decoded link passes.
fn check(query: &str, edits: usize) -> Result<(), TestCaseError> {
    let mut labs = Labs::default();
    let (page, notes) = decode(query, &mut labs);
    assert_in_range(&labs);
    if edits == 0 {
        prop_assert!(notes.is_empty(), "a link as the page writes it reads without notice: {:?}", notes);
    }
    for n in &notes {
        prop_assert!(!n.0.is_empty() && n.0.len() < 400, "a notice of {} bytes: {:?}", n.0.len(), n.0);
        prop_assert!(
            ["ignored", "read", "="].iter().any(|w| n.0.contains(w)),
            "a notice that names nothing: {:?}",
            n.0
        );
    }
    // What was decoded writes a link that reads back to the same settings, without notice.
    let again = encode(page, &labs);
    let mut relabs = Labs::default();
    let (repage, renotes) = decode(&again, &mut relabs);
    prop_assert_eq!(repage, page);
    prop_assert!(renotes.is_empty(), "{:?}", renotes);
    prop_assert_eq!(encode(repage, &relabs), again);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_attention_links((query, edits) in mutated_link(Page::Attention)) {
        check(&query, edits)?;
    }

    #[test]
    fn fuzz_activations_links((query, edits) in mutated_link(Page::Activations)) {
        check(&query, edits)?;
    }

    #[test]
    fn fuzz_alignment_links((query, edits) in mutated_link(Page::Alignment)) {
        check(&query, edits)?;
    }

    #[test]
    fn fuzz_model_links((query, edits) in mutated_link(Page::Model)) {
        check(&query, edits)?;
    }
}
