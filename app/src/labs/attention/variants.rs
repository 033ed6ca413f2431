//! What each compared variant is: its kernel parameters (from the lab's settings) and its title;
//! its formula, explanation and paper are data (`content/attention.toml`, [`about`]).

use softplay_kernels::attention::{Lssa, LssaScale, SoftmaxAlgorithm, Variant};

pub use super::content::{about, About};
use crate::labs::attention::settings::{AttentionConfig, AttentionVariant, LssaScaleChoice, SoftmaxAlg};

pub fn algorithm(a: SoftmaxAlg) -> SoftmaxAlgorithm {
    match a {
        SoftmaxAlg::ThreePass => SoftmaxAlgorithm::ThreePass,
        SoftmaxAlg::Online => SoftmaxAlgorithm::Online,
        SoftmaxAlg::TwoPass => SoftmaxAlgorithm::TwoPass,
        SoftmaxAlg::Naive => SoftmaxAlgorithm::Naive,
    }
}

fn lssa(c: &AttentionConfig) -> Lssa {
    let scale = match c.lssa_scale {
        LssaScaleChoice::LnDLnN => LssaScale::LnDLnN,
        LssaScaleChoice::InvSqrtD => LssaScale::InvSqrtD,
        LssaScaleChoice::Unscaled => LssaScale::None,
    };
    Lssa { qk_norm: c.qk_norm, scale }
}

/// The kernels' variant `v` with its parameters under the lab's settings (what the worker is
/// sent, as it is).
pub fn kernel(v: AttentionVariant, c: &AttentionConfig) -> Variant {
    match v {
        AttentionVariant::Softmax => Variant::Softmax(algorithm(c.algorithm)),
        AttentionVariant::Lssa => Variant::Lssa(lssa(c)),
        AttentionVariant::Lssar => Variant::Lssar { lssa: lssa(c), p: c.p as f32 },
        AttentionVariant::Sigmoid => Variant::Sigmoid { bias: (!c.sigmoid_auto).then_some(c.sigmoid_bias as f32) },
        AttentionVariant::Relu => Variant::Relu,
        AttentionVariant::Linear => Variant::Linear,
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
