//! What each compared variant is: its kernel parameters (from the lab's settings), its title,
//! formula, one paragraph of plain explanation and the paper it comes from.

use crate::{
    components::formula,
    state::labs::{AttentionConfig, AttentionVariant, LssaScaleChoice, SoftmaxAlg},
    worker::protocol::{Algorithm, ScaleSpec, VariantSpec},
};

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

pub struct About {
    pub formula: &'static str,
    pub text: &'static str,
    pub paper: &'static str,
    pub link: &'static str,
}

pub fn about(v: AttentionVariant) -> About {
    match v {
        AttentionVariant::Softmax => About {
            formula: formula::SOFTMAX,
            text: "Each query spreads one unit of attention over the keys it sees, in proportion to \
                   e to the power of each score. Exponentials exaggerate differences, so one key can \
                   take nearly everything — but as a row gets longer, more keys share the unit and the \
                   row flattens. The three stable algorithms give the same weights; the naive one skips \
                   the max and overflows once a score passes about 88.7.",
            paper: "Vaswani et al., Attention Is All You Need (2017); online softmax: Milakov & \
                    Gimelshein (2018); two-pass: Dukhan & Ablavatski (2020)",
            link: "https://arxiv.org/abs/1706.03762",
        },
        AttentionVariant::Lssa => About {
            formula: formula::LSSA,
            text: "Length-scaled softplus attention replaces the exponential with softplus, which grows \
                   only linearly, and normalises queries and keys so every score is a cosine between \
                   −1 and 1. The ln N factor is meant to sharpen longer rows so that their entropy does \
                   not grow with length. Because softplus is nearly linear above 0, a sharper score \
                   does not concentrate the weights the way an exponential would: on random keys \
                   LSSA's rows are about as flat as softmax's (see the length sweep); the \
                   concentration comes from LSSAR's re-weighting.",
            paper: "Gao & Spratling, Softplus Attention with Re-weighting Boosts Length Extrapolation \
                    in Large Language Models (2025)",
            link: "https://arxiv.org/abs/2501.13428",
        },
        AttentionVariant::Lssar => About {
            formula: formula::LSSAR,
            text: "LSSAR re-weights each LSSA row: Nᵢ·Aᵢⱼ is 1 for a key with an average share, so \
                   subtracting 1 and keeping the positive part drops every below-average key, and the \
                   power p sharpens what is left. With p = 15 a row keeps a handful of keys; as p grows \
                   it tends to the single best key. The first three rows use Oᵢ = 0 (their weights are \
                   LSSA's raised to the power p), so that no row is left empty.",
            paper: "Gao & Spratling, Softplus Attention with Re-weighting Boosts Length Extrapolation \
                    in Large Language Models (2025)",
            link: "https://arxiv.org/abs/2501.13428",
        },
        AttentionVariant::Sigmoid => About {
            formula: formula::SIGMOID,
            text: "Sigmoid attention scores each key on its own, between 0 and 1, with no competition \
                   between keys: a row's weights need not sum to 1 (see Σ in the strip). The bias \
                   b = −ln n keeps the row's total near 1 at the start of training; without it the \
                   output grows with the length and training is unstable.",
            paper: "Ramapuram et al., Theory, Analysis, and Best Practices for Sigmoid Self-Attention \
                    (ICLR 2025)",
            link: "https://arxiv.org/abs/2409.04431",
        },
        AttentionVariant::Relu => About {
            formula: formula::RELU,
            text: "ReLU attention keeps positive scores as they are and drops the rest, divided by the \
                   length so that the row's total stays bounded. No exponentials, no normalisation: \
                   many keys get exactly zero weight.",
            paper: "Wortsman et al., Replacing softmax with ReLU in Vision Transformers (2023)",
            link: "https://arxiv.org/abs/2309.08586",
        },
        AttentionVariant::Linear => About {
            formula: formula::LINEAR,
            text: "Linear attention maps queries and keys through a positive feature map and \
                   normalises the dot products. Because the weights factor as φ(q)·φ(k), the output \
                   can be computed without ever forming the n×n matrix — at the price of much flatter \
                   rows than softmax gives.",
            paper: "Katharopoulos et al., Transformers are RNNs: Fast Autoregressive Transformers \
                    with Linear Attention (2020)",
            link: "https://arxiv.org/abs/2006.16236",
        },
    }
}

/// What the formula shows differently under the current settings, if anything: the formulas
/// are written for the defaults.
pub fn as_set(v: AttentionVariant, c: &AttentionConfig) -> Option<String> {
    let d = match c.source {
        crate::state::labs::Source::Synthetic => c.d,
        crate::state::labs::Source::Table => c.table_d,
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
