//! The labs' content files read as the page uses them: every preset link through its lab's own
//! decoder with no notice, the compare preset as the three runs it stands for, the default
//! preset as the settings' defaults, every formula as well-formed MathML and every text free of
//! the stray spaces a wrapped line can leave.

use super::{apply, Preset};
use crate::{
    labs::{
        activations::{content as activations, settings::Activation},
        alignment::{content as alignment, settings::AlignmentLoss},
        attention::{content as attention, settings::AttentionVariant},
        lab,
        model::{
            content::{self as model, presets},
            settings::{ModelConfig, Task},
        },
    },
    state::{
        codec::{parse_query, Choice},
        lab::{decode_lab, LabConfig},
    },
};
use softplay_kernels::alignment::nash::NashMethod;

/// Every link of `presets` names `page` first and reads with no notice through `C`'s decoder.
fn links_read_cleanly<C: LabConfig>(page: &str, presets: &[Preset]) -> usize {
    assert!(lab(page).is_some(), "{page} is not a lab of the registry");
    let mut count = 0;
    for preset in presets {
        for link in preset.links {
            let first = parse_query(link).into_iter().next();
            assert_eq!(first, Some(("page".to_string(), page.to_string())), "preset {}: {link}", preset.name);
            let (_, notices) = decode_lab::<C>(link);
            assert!(notices.is_empty(), "preset {}: {link} reads with notices {notices:?}", preset.name);
            count += 1;
        }
    }
    count
}

#[test]
fn every_preset_link_reads_with_no_notice_through_its_labs_decoder() {
    // The Model lab is the one with presets; a lab that gains some adds its line here.
    assert_eq!(links_read_cleanly::<ModelConfig>("model", presets::ALL), 5);
}

#[test]
fn the_compare_preset_trains_the_settings_on_screen_with_three_normalisers() {
    let current = ModelConfig {
        task: Task::Sort,
        len: 9,
        attention: AttentionVariant::Linear,
        lssar_p: 7.5,
        steps: 123,
        lr: 0.0125,
        tied: false,
        seed: 42,
        ..ModelConfig::default()
    };
    let runs: Vec<ModelConfig> = presets::COMPARE.links.iter().map(|link| apply(&current, link)).collect();
    let expected: Vec<ModelConfig> = [AttentionVariant::Softmax, AttentionVariant::Lssar, AttentionVariant::Sigmoid]
        .map(|attention| ModelConfig { attention, ..current.clone() })
        .to_vec();
    assert_eq!(runs, expected);
    assert_eq!(presets::COMPARE.label, "Train softmax, LSSAR and sigmoid");
}

#[test]
fn the_shakespeare_preset_is_a_webgpu_model_of_the_size_its_label_says() {
    use crate::labs::model::{settings::ModelBackend, spec_of, MAX_PARAMS_CPU, MAX_PARAMS_GPU};
    let c = apply(&ModelConfig::default(), presets::SHAKESPEARE.links[0]);
    let params = spec_of(&c).expect("a model the lab trains").config().layout().total;
    assert!(params > MAX_PARAMS_CPU && params <= MAX_PARAMS_GPU, "{params} parameters");
    let size = format!("{:.1} M parameters", params as f64 / 1e6);
    assert!(presets::SHAKESPEARE.label.contains(&size), "{size}: {}", presets::SHAKESPEARE.label);
    // The same settings on the CPU are refused, naming the size and the CPU's cap.
    let refused = spec_of(&ModelConfig { backend: ModelBackend::Cpu, ..c }).unwrap_err();
    assert!(refused.contains("the CPU trains up to 4\u{202f}000\u{202f}000"), "{refused}");
}

#[test]
fn the_default_preset_is_the_settings_defaults() {
    let [link] = presets::DEFAULT.links else { panic!("the default preset is one link") };
    assert_eq!(decode_lab::<ModelConfig>(link).0, ModelConfig::default());
    // Applied over other settings, it sets every one of them.
    let other = ModelConfig { task: Task::Chars, heads: 4, clip: 0.0, seed: 9, ..ModelConfig::default() };
    assert_eq!(apply(&other, link), ModelConfig::default());
}

#[test]
fn every_lab_title_is_its_registry_title() {
    for (name, title) in [
        ("attention", attention::TITLE),
        ("activations", activations::TITLE),
        ("alignment", alignment::TITLE),
        ("model", model::TITLE),
    ] {
        assert_eq!(lab(name).map(|l| l.title), Some(title));
    }
}

/// Checks that `markup` is a sequence of `<math>` elements whose tags nest.
fn well_formed(markup: &str) -> Result<(), String> {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = markup;
    while let Some(at) = rest.find('<') {
        if open.is_empty() && !rest[..at].is_empty() {
            return Err(format!("text outside <math>: {:?}", &rest[..at]));
        }
        let end = at + rest[at..].find('>').ok_or("a tag is not closed")?;
        let tag = &rest[at + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            let top = open.pop();
            if top != Some(name) {
                return Err(format!("</{name}> closes <{}>", top.unwrap_or("nothing")));
            }
        } else if !tag.ends_with('/') {
            let name = tag.split(' ').next().unwrap_or(tag);
            if open.is_empty() && tag != "math display=\"block\"" {
                return Err(format!("<{tag}> outside <math display=\"block\">"));
            }
            open.push(name);
        }
        rest = &rest[end + 1..];
    }
    match (open.last(), rest) {
        (None, "") => Ok(()),
        (Some(name), _) => Err(format!("<{name}> is never closed")),
        (None, text) => Err(format!("text after the last </math>: {text:?}")),
    }
}

#[test]
fn every_formula_is_well_formed_mathml() {
    assert!(well_formed("<math display=\"block\"><mi>x</math>").is_err());
    assert!(well_formed("<math display=\"block\"><mi>x</mi></math>x").is_err());
    let formulas = AttentionVariant::ALL
        .iter()
        .map(|&v| (format!("{v:?}"), attention::about(v).formula))
        .chain(AlignmentLoss::ALL.iter().map(|&l| (format!("{l:?}"), alignment::loss(l).formula)));
    for (name, formula) in formulas {
        assert_eq!(well_formed(formula), Ok(()), "the formula of {name}");
    }
}

/// Every text of every content file, named.
fn texts() -> Vec<(String, &'static str)> {
    let mut all = vec![
        ("attention intro".to_string(), attention::INTRO),
        ("activations intro".to_string(), activations::INTRO),
        ("alignment intro".to_string(), alignment::INTRO),
        ("model intro".to_string(), model::INTRO),
    ];
    for &v in AttentionVariant::ALL {
        let a = attention::about(v);
        all.extend([a.text, a.paper, a.link].map(|t| (format!("{v:?}"), t)));
    }
    for &a in Activation::ALL {
        let f = activations::function(a);
        all.extend([Some(f.formula), f.paper, f.parameters].into_iter().flatten().map(|t| (format!("{a:?}"), t)));
    }
    for &l in AlignmentLoss::ALL {
        all.push((format!("{l:?}"), alignment::loss(l).paper));
    }
    for m in NashMethod::ALL {
        all.push((format!("{m:?}"), alignment::method(m)));
    }
    for &t in Task::ALL {
        let text = model::task(t);
        all.extend([text.asks, text.perfect].map(|s| (format!("{t:?}"), s)));
    }
    for p in presets::ALL {
        all.extend([p.label, p.about].map(|s| (format!("preset {}", p.name), s)));
    }
    all
}

#[test]
fn no_text_has_stray_spaces() {
    for (name, text) in texts() {
        assert_eq!(text, text.trim(), "{name}: a space at an end");
        assert!(!text.contains("  ") && !text.contains('\n'), "{name}: {text:?}");
    }
}
