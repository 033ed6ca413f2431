//! The Activations lab's settings: each one declared once (key, label, range), read and
//! written by the codec and shown by the controls from the same constant.

use crate::state::{
    codec::{Choice, FloatParam, QueryReader, QueryWriter},
    lab::{choice_enum, lab_settings, SEED},
};

choice_enum!(
    /// Activation functions (docs/MATH.md, “Activations”).
    Activation, key = "act", label = "Activation", default = Gelu, {
        Relu => ("relu", "ReLU"),
        LeakyRelu => ("leaky-relu", "Leaky ReLU"),
        Elu => ("elu", "ELU"),
        Gelu => ("gelu", "GELU"),
        GeluTanh => ("gelu-tanh", "GELU (tanh approximation)"),
        Silu => ("silu", "SiLU / Swish"),
        Mish => ("mish", "Mish"),
        Softplus => ("softplus", "Softplus"),
        Sigmoid => ("sigmoid", "Sigmoid"),
        Tanh => ("tanh", "tanh"),
        SquaredRelu => ("relu2", "Squared ReLU"),
        PolyRelu => ("polyrelu", "PolyReLU"),
        PolyNorm => ("polynorm", "PolyNorm"),
        CrRelu => ("crrelu", "CRReLU"),
        Rational => ("rational", "Rational (Padé 5/4)"),
        Kan => ("kan", "KAN edge (B-spline)"),
    }
);

choice_enum!(
    /// A hidden unit of the fitting race: any plotted function, or a gated unit.
    RaceUnit, key = "unit", label = "Race entrant", default = Relu, {
        Relu => ("relu", "ReLU"),
        LeakyRelu => ("leaky-relu", "Leaky ReLU"),
        Elu => ("elu", "ELU"),
        Gelu => ("gelu", "GELU"),
        GeluTanh => ("gelu-tanh", "GELU (tanh)"),
        Silu => ("silu", "SiLU / Swish"),
        Mish => ("mish", "Mish"),
        Softplus => ("softplus", "Softplus"),
        Sigmoid => ("sigmoid", "Sigmoid"),
        Tanh => ("tanh", "tanh"),
        SquaredRelu => ("relu2", "Squared ReLU"),
        PolyRelu => ("polyrelu", "PolyReLU"),
        PolyNorm => ("polynorm", "PolyNorm"),
        CrRelu => ("crrelu", "CRReLU"),
        Rational => ("rational", "Rational (Padé 5/4)"),
        Kan => ("kan", "KAN edge"),
        SwiGlu => ("swiglu", "SwiGLU"),
        GeGlu => ("geglu", "GeGLU"),
    }
);

choice_enum!(
    /// The gated unit the heatmap shows.
    GateChoice, key = "gate", label = "Gated unit", default = SwiGlu, {
        SwiGlu => ("swiglu", "SwiGLU: Swish(a)·b"),
        GeGlu => ("geglu", "GeGLU: GELU(a)·b"),
    }
);

choice_enum!(
    /// The 1-D function the race fits on [−3, 3].
    FitTarget, key = "target", label = "Target", default = Sawtooth, {
        Sine => ("sine", "Sine: sin 2x"),
        Step => ("step", "Step"),
        Abs => ("abs", "|x|"),
        Sawtooth => ("sawtooth", "Sawtooth"),
        Square => ("square", "x²"),
        Bump => ("bump", "Bump"),
        Chirp => ("chirp", "Chirp: sin 2x²"),
    }
);

pub const ACT_FNS_KEY: &str = "fns";
pub const ACT_FNS_MAX: usize = 8;
pub const ACT_RACE_KEY: &str = "race";
pub const ACT_RACE_MAX: usize = 8;
/// A group of coefficients written as one list in the URL (`pr=0,0.33,0.33,0.33`), one
/// slider each; every value within ±`limit`.
pub struct Coefficients {
    pub key: &'static str,
    pub limit: f64,
    /// Per coefficient: its own control (key for the element id, label, the same range).
    pub params: &'static [FloatParam],
}

macro_rules! coefficient {
    ($key:literal, $label:literal, $limit:expr) => {
        FloatParam { key: $key, label: $label, min: -$limit, max: $limit, unit: "", log: false }
    };
}

pub const ACT_POLYRELU: Coefficients = Coefficients {
    key: "pr",
    limit: 3.0,
    params: &[
        coefficient!("pr0", "PolyReLU a₀", 3.0),
        coefficient!("pr1", "PolyReLU a₁", 3.0),
        coefficient!("pr2", "PolyReLU a₂", 3.0),
        coefficient!("pr3", "PolyReLU a₃", 3.0),
    ],
};
pub const ACT_POLYNORM: Coefficients = Coefficients {
    key: "pn",
    limit: 3.0,
    params: &[
        coefficient!("pn0", "PolyNorm a₀", 3.0),
        coefficient!("pn1", "PolyNorm a₁", 3.0),
        coefficient!("pn2", "PolyNorm a₂", 3.0),
        coefficient!("pn3", "PolyNorm a₃", 3.0),
    ],
};
pub const ACT_RATIONAL_P: Coefficients = Coefficients {
    key: "ra",
    limit: 5.0,
    params: &[
        coefficient!("ra0", "Rational P: a₀", 5.0),
        coefficient!("ra1", "Rational P: a₁", 5.0),
        coefficient!("ra2", "Rational P: a₂", 5.0),
        coefficient!("ra3", "Rational P: a₃", 5.0),
        coefficient!("ra4", "Rational P: a₄", 5.0),
        coefficient!("ra5", "Rational P: a₅", 5.0),
    ],
};
pub const ACT_RATIONAL_Q: Coefficients = Coefficients {
    key: "rb",
    limit: 5.0,
    params: &[
        coefficient!("rb1", "Rational Q: b₁", 5.0),
        coefficient!("rb2", "Rational Q: b₂", 5.0),
        coefficient!("rb3", "Rational Q: b₃", 5.0),
        coefficient!("rb4", "Rational Q: b₄", 5.0),
    ],
};
/// The KAN spline's coefficients, edited by dragging its control points.
pub const ACT_KAN_C: Coefficients = Coefficients {
    key: "kc",
    limit: 3.0,
    params: &[
        coefficient!("kc0", "KAN c₀", 3.0),
        coefficient!("kc1", "KAN c₁", 3.0),
        coefficient!("kc2", "KAN c₂", 3.0),
        coefficient!("kc3", "KAN c₃", 3.0),
        coefficient!("kc4", "KAN c₄", 3.0),
        coefficient!("kc5", "KAN c₅", 3.0),
        coefficient!("kc6", "KAN c₆", 3.0),
        coefficient!("kc7", "KAN c₇", 3.0),
    ],
};

/// PolyCom's initialisation: bias 0, each power 1/3.
pub const POLYCOM_INIT: [f64; 4] = [0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0];
/// A least-squares fit of the rational unit to GELU on [−4, 4], within 0.04 of it there
/// (`tools/fit_rational.py`).
pub const RATIONAL_INIT_P: [f64; 6] = [0.0144, 0.5429, 0.3967, 0.0833, 0.0038, -0.0001];
pub const RATIONAL_INIT_Q: [f64; 4] = [0.1215, 0.1173, 0.0056, 0.0];
/// A wave over [−1, 1]: the spline part visibly bends the SiLU base.
pub const KAN_INIT_C: [f64; 8] = [0.0, 0.6, -0.8, 0.9, -0.9, 0.8, -0.6, 0.0];

lab_settings! {
    /// The Activations lab's settings.
    pub struct ActivationsConfig (version 2, "the Activations lab") {
        /// The functions overlaid, 1 to 8, distinct.
        shown: Vec<Activation> = vec![
            Activation::Relu,
            Activation::Gelu,
            Activation::Silu,
            Activation::PolyRelu,
            Activation::CrRelu,
            Activation::Kan,
        ] => custom(read_shown, write_shown);
        xmax: f64 = 4.0 => float(ACT_XMAX { key: "xmax", label: "Plot range ±x", min: 0.5, max: 100.0, unit: "", log: true });
        second: bool = false => flag(ACT_SECOND { key: "d2", label: "Show f″ (second derivative)" });
        leaky_alpha: f64 = 0.01 => float(ACT_LEAKY { key: "lalpha", label: "Leaky ReLU α", min: 0.0, max: 1.0, unit: "", log: false });
        elu_alpha: f64 = 1.0 => float(ACT_ELU { key: "ealpha", label: "ELU α", min: 0.01, max: 10.0, unit: "", log: true });
        silu_beta: f64 = 1.0 => float(ACT_BETA { key: "beta", label: "SiLU / SwiGLU β", min: 0.05, max: 20.0, unit: "", log: true });
        softplus_beta: f64 = 1.0 => float(ACT_SP_BETA { key: "spbeta", label: "Softplus β", min: 0.05, max: 20.0, unit: "", log: true });
        crrelu_eps: f64 = 0.01 => float(ACT_EPS { key: "eps", label: "CRReLU ε", min: -1.0, max: 1.0, unit: "", log: false });
        poly_relu: Vec<f64> = POLYCOM_INIT.to_vec() => coefficients(ACT_POLYRELU);
        poly_norm: Vec<f64> = POLYCOM_INIT.to_vec() => coefficients(ACT_POLYNORM);
        rational_p: Vec<f64> = RATIONAL_INIT_P.to_vec() => coefficients(ACT_RATIONAL_P);
        rational_q: Vec<f64> = RATIONAL_INIT_Q.to_vec() => coefficients(ACT_RATIONAL_Q);
        kan_wb: f64 = 1.0 => float(ACT_KAN_WB { key: "kwb", label: "KAN base weight w_b", min: -3.0, max: 3.0, unit: "", log: false });
        kan_ws: f64 = 1.0 => float(ACT_KAN_WS { key: "kws", label: "KAN spline weight w_s", min: -3.0, max: 3.0, unit: "", log: false });
        kan_c: Vec<f64> = KAN_INIT_C.to_vec() => coefficients(ACT_KAN_C);
        gate: GateChoice = GateChoice::SwiGlu => choice();
        gate_range: f64 = 4.0 => float(ACT_GRANGE { key: "grange", label: "Heatmap range ±", min: 0.5, max: 20.0, unit: "", log: true });
        /// The race's entrants, 1 to 8, distinct.
        race: Vec<RaceUnit> = vec![
            RaceUnit::Relu,
            RaceUnit::Gelu,
            RaceUnit::Silu,
            RaceUnit::PolyRelu,
            RaceUnit::PolyNorm,
            RaceUnit::SwiGlu,
        ] => choices(ACT_RACE_KEY, 1, ACT_RACE_MAX);
        target: FitTarget = FitTarget::Sawtooth => choice();
        width: u32 = 16 => int(ACT_WIDTH { key: "width", label: "Hidden width", min: 4, max: 64, unit: "units" });
        layers: u32 = 1 => int(ACT_LAYERS { key: "layers", label: "Hidden layers", min: 1, max: 2, unit: "" });
        steps: u32 = 2000 => int(ACT_STEPS { key: "steps", label: "Steps", min: 10, max: 20_000, unit: "" });
        lr: f64 = 0.01 => float(ACT_LR { key: "lr", label: "Learning rate (Adam)", min: 1e-4, max: 0.3, unit: "", log: true });
        seed: u32 = 7 => int(SEED);
    }
}

/// Version 1 links named one function (`act`): it is shown with the default ones.
fn read_shown(q: &mut QueryReader, version: u32, c: &mut ActivationsConfig) {
    c.shown = if version == 1 {
        let first: Activation = q.choice(c.shown[0]);
        let mut list = vec![first];
        list.extend(c.shown.iter().copied().filter(|v| *v != first).take(ACT_FNS_MAX - 1));
        list
    } else {
        q.choice_list(ACT_FNS_KEY, 1, ACT_FNS_MAX, &c.shown)
    };
}

fn write_shown(c: &ActivationsConfig, w: &mut QueryWriter) {
    w.choice_list(ACT_FNS_KEY, &c.shown);
}
