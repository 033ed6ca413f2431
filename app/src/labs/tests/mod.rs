//! The settings of every lab read as a whole link reads them: the shell names the page, the
//! lab's module reads the rest ([`decode_lab`]). Round trips, every notice, the decoder's fuzz
//! run ([`fuzz`]), and the links captured from an earlier build (`tests/fixtures/links.tsv`)
//! read exactly as that build read them.

use proptest::prelude::*;

mod fuzz;
mod lessons;
mod strategies;
use strategies::{any_labs, assert_in_range, pick, query_like};

use super::{activations::settings::*, alignment::settings::*, attention::settings::*, model::settings::*};
use crate::{
    shell::route::{decode_shell, LabQueries},
    state::{
        codec::{parse_query, Choice, FloatParam, IntParam, Notice},
        lab::{choice_enum, decode_lab, encode_lab, encode_lab_short},
    },
};

choice_enum!(
    /// The pages, as the links name them.
    Page, key = "page", label = "Page", default = Home, {
        Home => ("home", "Home"),
        Attention => ("attention", "Attention"),
        Activations => ("activations", "Activations"),
        Alignment => ("alignment", "Alignment"),
        Model => ("model", "Model"),
        Lessons => ("lessons", "Lessons"),
        About => ("about", "About"),
    }
);

/// Every lab's settings at once.
#[derive(Clone, Debug, Default, PartialEq)]
struct Labs {
    attention: AttentionConfig,
    activations: ActivationsConfig,
    alignment: AlignmentConfig,
    model: ModelConfig,
}

/// A whole link as the page reads it: the page from the shell, then that lab's settings (and
/// notices) from the lab; the other labs keep theirs.
fn decode(query: &str, labs: &mut Labs) -> (Page, Vec<Notice>) {
    let (page, _, shell_notices) = decode_shell(query, &mut LabQueries::default());
    let page = *Page::ALL.iter().find(|p| p.name() == page.name()).expect("every page is listed");
    let notices = match page {
        Page::Attention => lab_into(query, &mut labs.attention),
        Page::Activations => lab_into(query, &mut labs.activations),
        Page::Alignment => lab_into(query, &mut labs.alignment),
        Page::Model => lab_into(query, &mut labs.model),
        Page::Home | Page::Lessons | Page::About => shell_notices,
    };
    (page, notices)
}

fn lab_into<C: crate::state::lab::LabConfig>(query: &str, config: &mut C) -> Vec<Notice> {
    let (read, notices) = decode_lab::<C>(query);
    *config = read;
    notices
}

/// The link of `page` with its lab's settings.
fn encode(page: Page, labs: &Labs) -> String {
    match page {
        Page::Home => String::new(),
        Page::About => "page=about".into(),
        Page::Lessons => "page=lessons".into(),
        Page::Attention => encode_lab(page.name(), &labs.attention),
        Page::Activations => encode_lab(page.name(), &labs.activations),
        Page::Alignment => encode_lab(page.name(), &labs.alignment),
        Page::Model => encode_lab(page.name(), &labs.model),
    }
}

fn notices(query: &str) -> (Page, Labs, Vec<String>) {
    let mut labs = Labs::default();
    let (page, notices) = decode(query, &mut labs);
    (page, labs, notices.into_iter().map(|n| n.0).collect())
}

#[test]
fn out_of_range_value_is_named_with_its_range_and_replaced_by_the_default() {
    let (page, labs, notes) = notices("?page=attention&n=1000000000&cmp=lssa,sigmoid");
    assert_eq!(page, Page::Attention);
    assert_eq!(labs.attention.n, 128);
    assert_eq!(labs.attention.compare, vec![AttentionVariant::Lssa, AttentionVariant::Sigmoid]);
    assert_eq!(notes, vec!["ignored n=1000000000: must be 2..1024; using 128".to_string()]);
}

#[test]
fn a_version_1_link_shows_its_variant_first() {
    let (_, labs, notes) = notices("?page=attention&v=1&attn=relu&n=64");
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(labs.attention.n, 64);
    assert_eq!(
        labs.attention.compare,
        vec![AttentionVariant::Relu, AttentionVariant::Softmax, AttentionVariant::Lssa, AttentionVariant::Lssar]
    );
}

#[test]
fn activation_links_old_and_new() {
    // Version 1 named one function and one β (SiLU's).
    let (_, labs, notes) = notices("?page=activations&v=1&act=tanh&beta=2");
    assert!(notes.is_empty(), "{notes:?}");
    let a = &labs.activations;
    assert_eq!(a.shown[0], Activation::Tanh);
    assert_eq!(a.shown.len(), 7);
    assert_eq!(a.silu_beta, 2.0);
    let (_, labs, notes) = notices("?page=activations&pr=9,0,0,0&race=relu,silu,relu&lr=5");
    assert_eq!(labs.activations.poly_relu, POLYCOM_INIT.to_vec());
    assert_eq!(labs.activations.race, vec![RaceUnit::Relu, RaceUnit::Silu]);
    assert_eq!(labs.activations.lr, 0.01);
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes[0].starts_with("ignored pr=9,0,0,0: every value must be a number in -3..3"), "{notes:?}");
    assert!(notes.contains(&"read race=relu,silu,relu as relu,silu: a value named twice counts once".to_string()));
}

#[test]
fn variant_lists_and_tables_are_checked() {
    let (_, labs, notes) = notices("?page=attention&cmp=softmax");
    assert_eq!(labs.attention.compare, AttentionConfig::default().compare);
    assert_eq!(notes, vec!["ignored cmp=softmax: pick 2 to 4 different values; using softmax,lssa,lssar,sigmoid"]);
    let (_, _, notes) = notices("?page=attention&cmp=softmax,flash");
    assert!(notes[0].contains("“flash” is not one of softmax, lssa"), "{notes:?}");
    let (_, labs, notes) = notices("?page=attention&tn=2&td=2&tq=1,2,3&tk=1,0,0,1");
    assert_eq!(labs.attention.table_k, vec![1.0, 0.0, 0.0, 1.0]);
    assert_eq!(labs.attention.table_q, vec![1.0, 0.0, 0.0, 1.0]);
    assert_eq!(notes, vec!["ignored tq=1,2,3: needs 4 numbers, found 3; using the defaults"]);
    let (_, _, notes) = notices("?page=attention&tn=1&td=1&tq=1e9&tk=NaN");
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[1].contains("every value must be a number in -1000..1000"), "{notes:?}");
}

#[test]
fn malformed_unknown_repeated_and_newer_are_all_named() {
    let (_, labs, notes) = notices("page=attention&v=9&n=12x&alg=fast&scale=inf&causal=maybe&n=5&zoom=3");
    assert_eq!(labs.attention, AttentionConfig::default());
    let want = [
        "this link was made by a newer version of Softplay (v=9; this page reads v=2): the settings it knows were read, the others are named below",
        "must be one of three-pass, online, two-pass, naive; using three-pass",
        "ignored repeated n=5: the first n in the link is used",
        "ignored n=12x: not a whole number (must be 2..1024); using 128",
        "ignored causal=maybe: must be 1 or 0; using 1",
        "ignored scale=inf: not a finite number (must be 0.01..10000); using 1",
        "ignored zoom=3: not a setting of the Attention lab",
    ];
    for w in want {
        assert!(notes.iter().any(|n| n.contains(w)), "missing {w:?} in {notes:#?}");
    }
    assert_eq!(notes.len(), want.len(), "{notes:#?}");
}

#[test]
fn unknown_page_falls_back_to_home_and_says_so() {
    let (page, _, notes) = notices("?page=secret");
    assert_eq!(page, Page::Home);
    assert_eq!(
        notes,
        vec!["ignored page=secret: must be one of home, attention, activations, alignment, model, lessons, about; using home"]
    );
}

#[test]
fn huge_values_are_shortened_in_notices() {
    let long = "9".repeat(5000);
    let (_, _, notes) = notices(&format!("?page=model&steps={long}"));
    assert_eq!(notes.len(), 1);
    assert!(notes[0].len() < 200, "{}", notes[0]);
}

#[test]
fn a_written_link_is_readable_and_minimal() {
    let mut labs = Labs::default();
    labs.attention.compare = vec![AttentionVariant::Lssar, AttentionVariant::Softmax];
    labs.attention.n = 64;
    assert_eq!(
        encode(Page::Attention, &labs),
        "page=attention&v=2&cmp=lssar,softmax&alg=three-pass&qknorm=1&lscale=lnd-lnn&p=15&sigauto=1&sigb=-4\
         &src=synthetic&n=64&d=32&causal=1&scale=1&needle=4&period=0&noise=0&seed=7&tn=4&td=2\
         &tq=1,0,0,1,2,0,-1,1&tk=1,0,0,1,0.5,0.5,-1,-1&color=log&base=256&rlen=4m"
    );
    assert_eq!(encode(Page::Home, &labs), "");
    assert_eq!(encode(Page::About, &labs), "page=about");
}

#[test]
fn percent_escapes_and_plus_decode() {
    assert_eq!(
        parse_query("?a=b%20c+d&%6e=1&bad=%zz&cut=%4"),
        vec![
            ("a".into(), "b c d".into()),
            ("n".into(), "1".into()),
            ("bad".into(), "%zz".into()),
            ("cut".into(), "%4".into()),
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn config_to_url_to_config_is_the_identity(labs in any_labs(), page in pick::<Page>()) {
        let query = encode(page, &labs);
        let mut back = Labs::default();
        let (read_page, notes) = decode(&query, &mut back);
        prop_assert_eq!(read_page, page);
        prop_assert!(notes.is_empty(), "{:?} gave notices {:?}", query, notes);
        match page {
            Page::Attention => prop_assert_eq!(&back.attention, &labs.attention),
            Page::Activations => prop_assert_eq!(&back.activations, &labs.activations),
            Page::Alignment => prop_assert_eq!(&back.alignment, &labs.alignment),
            Page::Model => prop_assert_eq!(&back.model, &labs.model),
            Page::Home | Page::Lessons | Page::About => prop_assert_eq!(&back, &Labs::default()),
        }
    }
}

/// The link of `page` with its lab's settings at their defaults left out.
fn encode_short(page: Page, labs: &Labs) -> String {
    match page {
        Page::Attention => encode_lab_short(page.name(), &labs.attention),
        Page::Activations => encode_lab_short(page.name(), &labs.activations),
        Page::Alignment => encode_lab_short(page.name(), &labs.alignment),
        Page::Model => encode_lab_short(page.name(), &labs.model),
        other => encode(other, labs),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// The short link (a QR code's, a lesson step's) opens exactly the settings of the full one.
    #[test]
    fn the_short_link_reads_back_to_the_same_settings(labs in any_labs(), page in pick::<Page>()) {
        let short = encode_short(page, &labs);
        let mut back = Labs::default();
        let (read_page, notes) = decode(&short, &mut back);
        prop_assert_eq!(read_page, page);
        prop_assert!(notes.is_empty(), "{:?} gave notices {:?}", short, notes);
        prop_assert_eq!(encode(page, &back), encode(page, &labs));
        prop_assert!(short.len() <= encode(page, &labs).len());
    }
}

#[test]
fn the_short_link_of_the_defaults_names_only_the_lab() {
    let labs = Labs::default();
    for page in [Page::Attention, Page::Activations, Page::Alignment, Page::Model] {
        assert_eq!(encode_short(page, &labs), format!("page={}&v=2", page.name()));
    }
}

proptest! {
    // Crafted queries of any page (the lab-by-lab fuzz run is in `fuzz`).
    #![proptest_config(ProptestConfig { cases: 20_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn decoding_any_query_never_panics_and_stays_in_range(query in query_like()) {
        let mut labs = Labs::default();
        let (page, notes) = decode(&query, &mut labs);
        assert_in_range(&labs);
        // Whatever was not used as written is named: a decoded lab that differs from its
        // default came from the link, and a non-empty link either set something or said why.
        let again = encode(page, &labs);
        let mut relabs = Labs::default();
        let (repage, renotes) = decode(&again, &mut relabs);
        prop_assert_eq!(repage, page);
        prop_assert!(renotes.is_empty());
        prop_assert_eq!(encode(repage, &relabs), again);
        for n in &notes {
            prop_assert!(n.0.len() < 400, "notice too long: {}", n.0.len());
        }
    }
}

#[test]
fn alignment_pairs_are_checked_together_and_named() {
    let (_, labs, notes) = notices("?page=alignment&resp=16&chosen=3,20&rejected=4");
    assert_eq!((labs.alignment.chosen.clone(), labs.alignment.rejected.clone()), (vec![vec![12]], vec![vec![4]]));
    assert_eq!(
        notes,
        vec!["ignored chosen=3,20: needs 1 to 4 groups (separated by /) of response numbers 0..15; using the defaults"]
    );
    let (_, labs, notes) = notices("?page=alignment&chosen=3,4/5&rejected=4/6");
    assert_eq!(labs.alignment.chosen, vec![vec![12]]);
    assert_eq!(notes, vec!["ignored chosen/rejected: response 4 is both chosen and rejected for prompt 1; using chosen=12, rejected=10"]);
    let (_, labs, notes) = notices("?page=alignment&chosen=1/2&rejected=3");
    assert_eq!(labs.alignment.rejected, vec![vec![10]]);
    assert_eq!(notes, vec!["ignored chosen/rejected: 2 prompts chosen but 1 rejected; using chosen=12, rejected=10"]);
    let (_, labs, notes) = notices("?page=alignment&chosen=1,2/5&rejected=3/0");
    assert_eq!(
        (labs.alignment.chosen.clone(), labs.alignment.rejected.clone()),
        (vec![vec![1, 2], vec![5]], vec![vec![3], vec![0]])
    );
    assert!(notes.is_empty(), "{notes:?}");
    let (_, labs, notes) = notices("?page=alignment&chosen=3,3,4&rejected=5");
    assert_eq!(labs.alignment.chosen, vec![vec![3, 4]]);
    assert_eq!(notes, vec!["read chosen=3,3,4 as 3,4: a response named twice in a group counts once"]);
    let (_, labs, notes) = notices("?page=alignment&resp=8");
    assert_eq!((labs.alignment.chosen.clone(), labs.alignment.rejected.clone()), (vec![vec![0]], vec![vec![1]]));
    assert_eq!(notes, vec!["ignored chosen/rejected: response 12 is not below resp=8; using chosen=0, rejected=1"]);
}

#[test]
fn alignment_lists_name_what_is_wrong() {
    let (_, labs, notes) = notices("?page=alignment&bp=0.5,0.5&br=1,2,3&pref=custom&k=3&pm=0.5,2,0.1");
    assert_eq!(labs.alignment.base_r, vec![0.0, 1.0]);
    assert_eq!(labs.alignment.custom, vec![0.9, 0.2, 0.7]);
    assert_eq!(
        notes,
        vec![
            "ignored br: 3 rewards for 2 outcomes; using rewards 0, 1, 2, …",
            "ignored pm=0.5,2,0.1: needs 3 numbers in 0..1; using the defaults",
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]
    #[test]
    fn the_shell_reads_any_query_without_panicking(query in query_like()) {
        let mut labs = LabQueries::default();
        let (page, view, _) = decode_shell(&query, &mut labs);
        let again = crate::shell::route::encode_shell(page, &labs, &view);
        let mut relabs = LabQueries::default();
        let (repage, review, _) = decode_shell(&again, &mut relabs);
        prop_assert_eq!(repage, page);
        prop_assert_eq!(review, view);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    /// A module lab reads its own query as the whole-URL codec does, and writes it back.
    #[test]
    fn a_module_lab_reads_its_query_as_the_whole_codec_does(labs in any_labs(), query in query_like()) {
        let a = encode_lab("activations", &labs.activations);
        prop_assert_eq!(&decode_lab::<ActivationsConfig>(&a).0, &labs.activations);
        let b = encode_lab("alignment", &labs.alignment);
        prop_assert_eq!(&decode_lab::<AlignmentConfig>(&b).0, &labs.alignment);
        let query = format!("page=alignment&{query}");
        let mut whole = Labs::default();
        let (_, notices) = decode(&query, &mut whole);
        let (alone, own) = decode_lab::<AlignmentConfig>(&query);
        prop_assert_eq!(alone, whole.alignment);
        prop_assert_eq!(own, notices);
    }
}

/// Links captured from the build before every lab became a module of its own (the whole-URL
/// codec of that build wrote `tests/fixtures/links.tsv`): each still opens the same page with
/// the same values (written out in full) and the same notices. The Model lab's links were
/// version 1: the lab now writes version 2; a link that says v=1 reads as the CPU backend, one
/// with no version as the current version's default (Auto).
#[test]
fn captured_links_read_as_they_did() {
    let text = include_str!("../../../tests/fixtures/links.tsv");
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (link, page, values, notices) = (cols[0], cols[1], cols[2], cols[3]);
        let mut labs = Labs::default();
        let (read, notes) = decode(link, &mut labs);
        // The same notices (each lab now reads its settings in the order it writes them, so
        // two notices of one link may come in another order).
        let mut notes: Vec<String> = notes.into_iter().map(|n| n.0).collect();
        let mut want: Vec<&str> = notices.split(" | ").filter(|n| !n.is_empty()).collect();
        notes.sort();
        want.sort_unstable();
        assert_eq!(read.name(), page, "{link}");
        // A link that says v=1 reads as the CPU; one with no version is of the current one.
        let backend = if link.split(['?', '&']).any(|p| p == "v=1") { "cpu" } else { "auto" };
        let values = match values.strip_prefix("page=model&v=1&") {
            Some(rest) => format!("page=model&v=2&{rest}&backend={backend}"),
            None => values.to_string(),
        };
        assert_eq!(encode(read, &labs), values, "{link}");
        assert_eq!(notes, want, "{link}");
        checked += 1;
    }
    assert!(checked >= 80, "only {checked} links");
}
