//! What each compared variant is: its kernel parameters (from the lab's settings) and its title;
//! its formula, explanation and paper are data (`content/attention.toml`, [`about`]).

use softplay_worker::attention::{Algorithm, ScaleSpec, VariantSpec};

pub use super::content::{about, About};
use crate::labs::attention::settings::{AttentionConfig, AttentionVariant, LssaScaleChoice, SoftmaxAlg};

pub fn algorithm(a: SoftmaxAlg) -> Algorithm {
    match a {
        SoftmaxAlg::ThreePass => Algorithm::ThreePass,
        SoftmaxAlg::Online => Algorithm::Online,
        SoftmaxAlg::TwoPass => Algorithm::TwoPass,
        SoftmaxAlg::Naive => Algorithm::Naive,
    }
}

fn scale(s: LssaScaleChoice) -> ScaleSpec {
    match s {
        LssaScaleChoice::LnDLnN => ScaleSpec::LnDLnN,
        LssaScaleChoice::InvSqrtD => ScaleSpec::InvSqrtD,
        LssaScaleChoice::Unscaled => ScaleSpec::None,
    }
}

/// The kernel parameters of `v` under the lab's settings.
pub fn spec(v: AttentionVariant, c: &AttentionConfig) -> VariantSpec {
    match v {
        AttentionVariant::Softmax => VariantSpec::Softmax { algorithm: algorithm(c.algorithm) },
        AttentionVariant::Lssa => VariantSpec::Lssa { qk_norm: c.qk_norm, scale: scale(c.lssa_scale) },
        AttentionVariant::Lssar => VariantSpec::Lssar { qk_norm: c.qk_norm, scale: scale(c.lssa_scale), p: c.p as f32 },
        AttentionVariant::Sigmoid => VariantSpec::Sigmoid { bias: (!c.sigmoid_auto).then_some(c.sigmoid_bias as f32) },
        AttentionVariant::Relu => VariantSpec::Relu,
        AttentionVariant::Linear => VariantSpec::Linear,
    }
}

/// A short name with the parameters that matter: "Softmax (online)", "LSSAR (p = 15)".
pub fn title(v: AttentionVariant, c: &AttentionConfig) -> String {
    let lssa = || {
        let norm = if c.qk_norm { "qk-norm" } else { "no qk-norm" };
        let scale = match c.lssa_scale {
            LssaScaleChoice::LnDLnN => "ln d·ln N",
            LssaScaleChoice::InvSqrtD => "1/√d",
            LssaScaleChoice::Unscaled => "unscaled",
        };
        format!("{norm}, {scale}")
    };
    match v {
        AttentionVariant::Softmax => format!(
            "Softmax ({})",
            match c.algorithm {
                SoftmaxAlg::ThreePass => "three-pass",
                SoftmaxAlg::Online => "online",
                SoftmaxAlg::TwoPass => "two-pass",
                SoftmaxAlg::Naive => "naive",
            }
        ),
        AttentionVariant::Lssa => format!("LSSA ({})", lssa()),
        AttentionVariant::Lssar => format!("LSSAR (p = {}, {})", c.p, lssa()),
        AttentionVariant::Sigmoid if c.sigmoid_auto => "Sigmoid (b = −ln n)".into(),
        AttentionVariant::Sigmoid => format!("Sigmoid (b = {})", c.sigmoid_bias),
        AttentionVariant::Relu => "ReLU / n".into(),
        AttentionVariant::Linear => "Linear (elu + 1)".into(),
    }
}

/// What the formula shows differently under the current settings, if anything: the formulas
/// are written for the defaults.
pub fn as_set(v: AttentionVariant, c: &AttentionConfig) -> Option<String> {
    let d = match c.source {
        crate::labs::attention::settings::Source::Synthetic => c.d,
        crate::labs::attention::settings::Source::Table => c.table_d,
    };
    let mut notes = Vec::new();
    if !c.causal && matches!(v, AttentionVariant::Softmax) {
        notes.push("no causal mask: the sum runs over every key, and Nᵢ = n".to_string());
    }
    if matches!(v, AttentionVariant::Lssa | AttentionVariant::Lssar) {
        if !c.qk_norm {
            notes.push("qk-norm off: q and k are used as they are (scores are not cosines)".into());
        }
        match c.lssa_scale {
            LssaScaleChoice::InvSqrtD => notes.push("scale 1/√d in place of ln d · ln Nᵢ".into()),
            LssaScaleChoice::Unscaled => notes.push("no scale in place of ln d · ln Nᵢ".into()),
            LssaScaleChoice::LnDLnN if d == 1 => {
                notes.push("d = 1, so ln d = 0: every score is 0 and the weights are uniform".into())
            }
            LssaScaleChoice::LnDLnN => {}
        }
    }
    if matches!(v, AttentionVariant::Lssar) && c.p != 15.0 {
        notes.push(format!("p = {}", c.p));
    }
    if matches!(v, AttentionVariant::Sigmoid) && !c.sigmoid_auto {
        notes.push(format!("b = {} (set by hand) in place of −ln n", c.sigmoid_bias));
    }
    (!notes.is_empty()).then(|| format!("As set here: {}.", notes.join("; ")))
}
