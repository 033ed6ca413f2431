use proptest::prelude::*;

use super::*;
use crate::state::codec::{parse_query, Choice};

fn notices(query: &str) -> (Page, Labs, Vec<String>) {
    let mut labs = Labs::default();
    let (page, notices) = decode(query, &mut labs);
    (page, labs, notices.into_iter().map(|n| n.0).collect())
}

#[test]
fn out_of_range_value_is_named_with_its_range_and_replaced_by_the_default() {
    let (page, labs, notes) = notices("?page=attention&n=1000000000&attn=lssa");
    assert_eq!(page, Page::Attention);
    assert_eq!(labs.attention.n, 256);
    assert_eq!(labs.attention.variant, AttentionVariant::Lssa);
    assert_eq!(notes, vec!["ignored n=1000000000: must be 2..4096; using 256".to_string()]);
}

#[test]
fn malformed_unknown_repeated_and_newer_are_all_named() {
    let (_, labs, notes) = notices("page=attention&v=9&n=12x&attn=softmaxx&scale=inf&causal=maybe&n=5&zoom=3");
    assert_eq!(labs.attention, AttentionConfig::default());
    let want = [
        "this link was made by a newer version of Softplay (v=9; this page reads v=1): the settings it knows were read, the others are named below",
        "must be one of softmax, lssa, lssar, sigmoid, relu, linear; using softmax",
        "ignored repeated n=5: the first n in the link is used",
        "ignored n=12x: not a whole number (must be 2..4096); using 256",
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
        vec!["ignored page=secret: must be one of home, attention, activations, alignment, model, about; using home"]
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
    labs.attention.variant = AttentionVariant::Lssar;
    labs.attention.n = 128;
    labs.attention.seed = 7;
    assert_eq!(encode(Page::Attention, &labs), "page=attention&v=1&attn=lssar&n=128&d=64&causal=1&scale=1&seed=7");
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

fn pick<C: Choice + std::fmt::Debug>() -> impl Strategy<Value = C> {
    (0..C::ALL.len()).prop_map(|i| C::ALL[i])
}

fn int_in(p: IntParam) -> impl Strategy<Value = u32> {
    p.min..=p.max
}

/// Any value in range, log-uniform for log parameters so that small values are drawn too.
fn float_in(p: FloatParam) -> BoxedStrategy<f64> {
    if p.log {
        (p.min.ln()..=p.max.ln()).prop_map(move |l| l.exp().clamp(p.min, p.max)).boxed()
    } else {
        (p.min..=p.max).boxed()
    }
}

fn any_labs() -> impl Strategy<Value = Labs> {
    let attention = (pick(), int_in(ATTN_N), int_in(ATTN_D), any::<bool>(), float_in(ATTN_SCALE), any::<u32>())
        .prop_map(|(variant, n, d, causal, scale, seed)| AttentionConfig { variant, n, d, causal, scale, seed });
    let activations = (pick(), float_in(ACT_XMAX), float_in(ACT_BETA), any::<u32>())
        .prop_map(|(activation, xmax, beta, seed)| ActivationsConfig { activation, xmax, beta, seed });
    let alignment = (pick(), float_in(ALIGN_BETA), any::<u32>()).prop_map(|(loss, beta, seed)| AlignmentConfig {
        loss,
        beta,
        seed,
    });
    let model = (
        (pick(), pick(), int_in(MODEL_LAYERS), int_in(MODEL_DMODEL)),
        (int_in(MODEL_HEADS), int_in(MODEL_STEPS), float_in(MODEL_LR), any::<u32>()),
    )
        .prop_map(|((task, attention, layers, d_model), (heads, steps, lr, seed))| ModelConfig {
            task,
            attention,
            layers,
            d_model,
            heads,
            steps,
            lr,
            seed,
        });
    (attention, activations, alignment, model).prop_map(|(attention, activations, alignment, model)| Labs {
        attention,
        activations,
        alignment,
        model,
    })
}

fn assert_in_range(labs: &Labs) {
    let a = &labs.attention;
    assert!(ATTN_N.min <= a.n && a.n <= ATTN_N.max);
    assert!(ATTN_D.min <= a.d && a.d <= ATTN_D.max);
    assert!(ATTN_SCALE.contains(a.scale));
    assert!(ACT_XMAX.contains(labs.activations.xmax) && ACT_BETA.contains(labs.activations.beta));
    assert!(ALIGN_BETA.contains(labs.alignment.beta));
    let m = &labs.model;
    assert!(MODEL_LAYERS.min <= m.layers && m.layers <= MODEL_LAYERS.max);
    assert!(MODEL_DMODEL.min <= m.d_model && m.d_model <= MODEL_DMODEL.max);
    assert!(MODEL_HEADS.min <= m.heads && m.heads <= MODEL_HEADS.max);
    assert!(MODEL_STEPS.min <= m.steps && m.steps <= MODEL_STEPS.max);
    assert!(MODEL_LR.contains(m.lr));
}

/// Query-like text: known and unknown keys, numbers near and far outside the ranges, junk.
fn query_like() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("page".to_string()),
        Just("v".to_string()),
        Just("attn".to_string()),
        Just("n".to_string()),
        Just("d".to_string()),
        Just("scale".to_string()),
        Just("causal".to_string()),
        Just("seed".to_string()),
        Just("lr".to_string()),
        Just("steps".to_string()),
        Just("beta".to_string()),
        Just("xmax".to_string()),
        "[a-z%+=&]{0,6}",
        any::<String>(),
    ];
    let value = prop_oneof![
        Just("attention".to_string()),
        Just("model".to_string()),
        Just("activations".to_string()),
        Just("alignment".to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| v.to_string()),
        (-1e6f64..1e6).prop_map(|v| format!("{v:e}")),
        Just("NaN".to_string()),
        Just("-inf".to_string()),
        Just("%FF%FE%00".to_string()),
        "[0-9.eE+-]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec((key, value, any::<bool>()), 0..12).prop_map(|pairs| {
        let parts: Vec<String> = pairs.into_iter().map(|(k, v, eq)| if eq { format!("{k}={v}") } else { k }).collect();
        format!("?{}", parts.join("&"))
    })
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
            Page::Home | Page::About => prop_assert_eq!(&back, &Labs::default()),
        }
    }
}

proptest! {
    // The decoder's fuzz run: 100,000 crafted queries, in every test run.
    #![proptest_config(ProptestConfig { cases: 100_000, failure_persistence: None, ..ProptestConfig::default() })]

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
