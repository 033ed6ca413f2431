//! Reading activations and their parameters from the JAX fixture files (shared by the
//! activation and MLP reference tests).

use serde_json::Value;
use softplay_kernels::activation::{Activation, KAN_BASES};

pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).iter().map(|x| x.as_f64().unwrap()).collect()
}

pub fn param(case: &Value, name: &str) -> f64 {
    case["params"][name].as_f64().unwrap_or_else(|| panic!("{}: no parameter {name}", case["name"]))
}

pub fn params<const N: usize>(case: &Value, name: &str) -> [f64; N] {
    let v = floats(&case["params"][name]);
    assert_eq!(v.len(), N, "{}: {name} has {} values", case["name"], v.len());
    std::array::from_fn(|i| v[i])
}

pub fn activation_of(case: &Value) -> Activation {
    match case["function"].as_str().unwrap() {
        "relu" => Activation::Relu,
        "leaky_relu" => Activation::LeakyRelu { alpha: param(case, "alpha") },
        "elu" => Activation::Elu { alpha: param(case, "alpha") },
        "gelu" => Activation::Gelu,
        "gelu_tanh" => Activation::GeluTanh,
        "silu" => Activation::Silu { beta: param(case, "beta") },
        "softplus" => Activation::Softplus { beta: param(case, "beta") },
        "mish" => Activation::Mish,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "squared_relu" => Activation::SquaredRelu,
        "polyrelu" => Activation::PolyRelu { a: params(case, "a") },
        "crrelu" => Activation::CrRelu { eps: param(case, "eps") },
        "rational" => Activation::Rational { a: params(case, "a"), b: params(case, "b") },
        "kan" => {
            Activation::Kan { w_b: param(case, "w_b"), w_s: param(case, "w_s"), c: params::<KAN_BASES>(case, "c") }
        }
        other => panic!("unknown function {other}"),
    }
}
