// Shared by tests/model_reference.rs (the CPU) and tests/gpu.rs (the GPU training step): the
// JAX fixture's configs, tensors and token ids, read into the kernels' types.

use serde_json::Value;
use softplay_kernels::{
    activation::Gate,
    attention::{Lssa, LssaScale, SoftmaxAlgorithm, Variant},
    mlp::Hidden,
    model::transformer::{Config, Norm, Positions, Tensor, IGNORE},
};

use crate::shared::{activation_of, floats, param};

pub fn count(v: &Value) -> usize {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}")) as usize
}

pub fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_else(|| panic!("{field} is not a string: {v}"))
}

pub fn variant_of(cfg: &Value) -> Variant {
    match text(cfg, "attention") {
        "softmax" => Variant::Softmax(match text(cfg, "softmax_algorithm") {
            "three_pass" => SoftmaxAlgorithm::ThreePass,
            "online" => SoftmaxAlgorithm::Online,
            "two_pass" => SoftmaxAlgorithm::TwoPass,
            "naive" => SoftmaxAlgorithm::Naive,
            other => panic!("unknown softmax algorithm {other}"),
        }),
        "sigmoid" => Variant::Sigmoid {
            bias: match &cfg["sigmoid_bias"] {
                Value::Null => None,
                b => Some(b.as_f64().unwrap() as f32),
            },
        },
        "lssa:qknorm=0:scale=invsqrtd" => Variant::Lssa(Lssa { qk_norm: false, scale: LssaScale::InvSqrtD }),
        "lssa:qknorm=1:scale=lndlnn" => Variant::Lssa(Lssa::DEFAULT),
        "lssa:qknorm=1:scale=none" => Variant::Lssa(Lssa { qk_norm: true, scale: LssaScale::None }),
        "lssar:p=15" => Variant::LSSAR_DEFAULT,
        "relu" => Variant::Relu,
        "linear" => Variant::Linear,
        other => panic!("unknown attention {other}"),
    }
}

pub fn hidden_of(unit: &Value) -> Hidden {
    match text(unit, "kind") {
        "each" => Hidden::Each(activation_of(unit)),
        "polynorm" => {
            let a = floats(&unit["a"]);
            assert_eq!(a.len(), 4, "PolyNorm has four weights: {unit}");
            Hidden::PolyNorm(std::array::from_fn(|i| a[i] as f32))
        }
        "gated" => Hidden::Gated(match text(unit, "gate") {
            "swiglu" => Gate::SwiGlu { beta: param(unit, "beta") },
            "geglu" => Gate::GeGlu,
            other => panic!("unknown gate {other}"),
        }),
        other => panic!("unknown unit kind {other}"),
    }
}

pub fn config_of(cfg: &Value) -> Config {
    Config {
        vocab: count(&cfg["vocab"]),
        max_len: count(&cfg["max_len"]),
        layers: count(&cfg["layers"]),
        width: count(&cfg["width"]),
        heads: count(&cfg["heads"]),
        ffn: count(&cfg["ffn"]),
        attention: variant_of(cfg),
        hidden: hidden_of(&cfg["hidden"]),
        norm: match text(cfg, "norm") {
            "rms" => Norm::Rms,
            "layer" => Norm::Layer,
            other => panic!("unknown norm {other}"),
        },
        positions: match text(cfg, "positions") {
            "none" => Positions::None,
            "learned" => Positions::Learned,
            "rope" => Positions::Rope,
            other => panic!("unknown positions {other}"),
        },
        tied: cfg["tied"].as_bool().unwrap(),
    }
}

/// The fixture's tensors, `[name, shape, offset, length]` each.
pub fn tensors_of(v: &Value) -> Vec<Tensor> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| Tensor {
            name: t[0].as_str().unwrap().to_string(),
            shape: t[1].as_array().unwrap().iter().map(count).collect(),
            span: (count(&t[2]), count(&t[3])),
        })
        .collect()
}

/// Tokens or targets; -1 is [`IGNORE`].
pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| match x.as_i64().unwrap() {
            -1 => IGNORE,
            id => u32::try_from(id).unwrap(),
        })
        .collect()
}
