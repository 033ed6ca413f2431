//! The Activations lab's settings: each one declared once (key, label, range), read and
//! written by the codec and shown by the controls from the same constant.

use crate::state::{
    codec::{Choice, FlagParam, FloatParam, IntParam, QueryReader, QueryWriter},
    lab::{choice_enum, LabConfig, SEED},
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
pub const ACT_XMAX: FloatParam =
    FloatParam { key: "xmax", label: "Plot range ±x", min: 0.5, max: 100.0, unit: "", log: true };
pub const ACT_SECOND: FlagParam = FlagParam { key: "d2", label: "Show f″ (second derivative)" };
pub const ACT_LEAKY: FloatParam =
    FloatParam { key: "lalpha", label: "Leaky ReLU α", min: 0.0, max: 1.0, unit: "", log: false };
pub const ACT_ELU: FloatParam =
    FloatParam { key: "ealpha", label: "ELU α", min: 0.01, max: 10.0, unit: "", log: true };
pub const ACT_BETA: FloatParam =
    FloatParam { key: "beta", label: "SiLU / SwiGLU β", min: 0.05, max: 20.0, unit: "", log: true };
pub const ACT_SP_BETA: FloatParam =
    FloatParam { key: "spbeta", label: "Softplus β", min: 0.05, max: 20.0, unit: "", log: true };
pub const ACT_EPS: FloatParam =
    FloatParam { key: "eps", label: "CRReLU ε", min: -1.0, max: 1.0, unit: "", log: false };
pub const ACT_KAN_WB: FloatParam =
    FloatParam { key: "kwb", label: "KAN base weight w_b", min: -3.0, max: 3.0, unit: "", log: false };
pub const ACT_KAN_WS: FloatParam =
    FloatParam { key: "kws", label: "KAN spline weight w_s", min: -3.0, max: 3.0, unit: "", log: false };
pub const ACT_GRANGE: FloatParam =
    FloatParam { key: "grange", label: "Heatmap range ±", min: 0.5, max: 20.0, unit: "", log: true };
pub const ACT_WIDTH: IntParam = IntParam { key: "width", label: "Hidden width", min: 4, max: 64, unit: "units" };
pub const ACT_LAYERS: IntParam = IntParam { key: "layers", label: "Hidden layers", min: 1, max: 2, unit: "" };
pub const ACT_STEPS: IntParam = IntParam { key: "steps", label: "Steps", min: 10, max: 20_000, unit: "" };
pub const ACT_LR: FloatParam =
    FloatParam { key: "lr", label: "Learning rate (Adam)", min: 1e-4, max: 0.3, unit: "", log: true };

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

#[derive(Clone, Debug, PartialEq)]
pub struct ActivationsConfig {
    /// The functions overlaid, 1 to 8, distinct.
    pub shown: Vec<Activation>,
    pub xmax: f64,
    pub second: bool,
    pub leaky_alpha: f64,
    pub elu_alpha: f64,
    pub silu_beta: f64,
    pub softplus_beta: f64,
    pub crrelu_eps: f64,
    pub poly_relu: Vec<f64>,
    pub poly_norm: Vec<f64>,
    pub rational_p: Vec<f64>,
    pub rational_q: Vec<f64>,
    pub kan_wb: f64,
    pub kan_ws: f64,
    pub kan_c: Vec<f64>,
    pub gate: GateChoice,
    pub gate_range: f64,
    /// The race's entrants, 1 to 8, distinct.
    pub race: Vec<RaceUnit>,
    pub target: FitTarget,
    pub width: u32,
    pub layers: u32,
    pub steps: u32,
    pub lr: f64,
    pub seed: u32,
}

impl Default for ActivationsConfig {
    fn default() -> Self {
        ActivationsConfig {
            shown: vec![
                Activation::Relu,
                Activation::Gelu,
                Activation::Silu,
                Activation::PolyRelu,
                Activation::CrRelu,
                Activation::Kan,
            ],
            xmax: 4.0,
            second: false,
            leaky_alpha: 0.01,
            elu_alpha: 1.0,
            silu_beta: 1.0,
            softplus_beta: 1.0,
            crrelu_eps: 0.01,
            poly_relu: POLYCOM_INIT.to_vec(),
            poly_norm: POLYCOM_INIT.to_vec(),
            rational_p: RATIONAL_INIT_P.to_vec(),
            rational_q: RATIONAL_INIT_Q.to_vec(),
            kan_wb: 1.0,
            kan_ws: 1.0,
            kan_c: KAN_INIT_C.to_vec(),
            gate: GateChoice::SwiGlu,
            gate_range: 4.0,
            race: vec![
                RaceUnit::Relu,
                RaceUnit::Gelu,
                RaceUnit::Silu,
                RaceUnit::PolyRelu,
                RaceUnit::PolyNorm,
                RaceUnit::SwiGlu,
            ],
            target: FitTarget::Sawtooth,
            width: 16,
            layers: 1,
            steps: 2000,
            lr: 0.01,
            seed: 7,
        }
    }
}

impl LabConfig for ActivationsConfig {
    const VERSION: u32 = 2;
    const PLACE: &'static str = "the Activations lab";
    fn read(q: &mut QueryReader, version: u32) -> Self {
        let d = Self::default();
        let list = |q: &mut QueryReader, c: &Coefficients, default: &[f64]| {
            q.float_list(c.key, c.params.len(), c.limit, default)
        };
        let shown = if version == 1 {
            // Version 1 links named one function (`act`): show it with the default ones.
            let first: Activation = q.choice(d.shown[0]);
            let mut list = vec![first];
            list.extend(d.shown.iter().copied().filter(|v| *v != first).take(ACT_FNS_MAX - 1));
            list
        } else {
            q.choice_list(ACT_FNS_KEY, 1, ACT_FNS_MAX, &d.shown)
        };
        ActivationsConfig {
            shown,
            xmax: q.float(&ACT_XMAX, d.xmax),
            second: q.flag(&ACT_SECOND, d.second),
            leaky_alpha: q.float(&ACT_LEAKY, d.leaky_alpha),
            elu_alpha: q.float(&ACT_ELU, d.elu_alpha),
            silu_beta: q.float(&ACT_BETA, d.silu_beta),
            softplus_beta: q.float(&ACT_SP_BETA, d.softplus_beta),
            crrelu_eps: q.float(&ACT_EPS, d.crrelu_eps),
            poly_relu: list(q, &ACT_POLYRELU, &d.poly_relu),
            poly_norm: list(q, &ACT_POLYNORM, &d.poly_norm),
            rational_p: list(q, &ACT_RATIONAL_P, &d.rational_p),
            rational_q: list(q, &ACT_RATIONAL_Q, &d.rational_q),
            kan_wb: q.float(&ACT_KAN_WB, d.kan_wb),
            kan_ws: q.float(&ACT_KAN_WS, d.kan_ws),
            kan_c: list(q, &ACT_KAN_C, &d.kan_c),
            gate: q.choice(d.gate),
            gate_range: q.float(&ACT_GRANGE, d.gate_range),
            race: q.choice_list(ACT_RACE_KEY, 1, ACT_RACE_MAX, &d.race),
            target: q.choice(d.target),
            width: q.int(&ACT_WIDTH, d.width),
            layers: q.int(&ACT_LAYERS, d.layers),
            steps: q.int(&ACT_STEPS, d.steps),
            lr: q.float(&ACT_LR, d.lr),
            seed: q.int(&SEED, d.seed),
        }
    }
    fn write(&self, w: &mut QueryWriter) {
        w.choice_list(ACT_FNS_KEY, &self.shown);
        w.float(&ACT_XMAX, self.xmax);
        w.flag(&ACT_SECOND, self.second);
        w.float(&ACT_LEAKY, self.leaky_alpha);
        w.float(&ACT_ELU, self.elu_alpha);
        w.float(&ACT_BETA, self.silu_beta);
        w.float(&ACT_SP_BETA, self.softplus_beta);
        w.float(&ACT_EPS, self.crrelu_eps);
        w.float_list(ACT_POLYRELU.key, &self.poly_relu);
        w.float_list(ACT_POLYNORM.key, &self.poly_norm);
        w.float_list(ACT_RATIONAL_P.key, &self.rational_p);
        w.float_list(ACT_RATIONAL_Q.key, &self.rational_q);
        w.float(&ACT_KAN_WB, self.kan_wb);
        w.float(&ACT_KAN_WS, self.kan_ws);
        w.float_list(ACT_KAN_C.key, &self.kan_c);
        w.choice(self.gate);
        w.float(&ACT_GRANGE, self.gate_range);
        w.choice_list(ACT_RACE_KEY, &self.race);
        w.choice(self.target);
        w.int(&ACT_WIDTH, self.width);
        w.int(&ACT_LAYERS, self.layers);
        w.int(&ACT_STEPS, self.steps);
        w.float(&ACT_LR, self.lr);
        w.int(&SEED, self.seed);
    }
}
