//! Each lab's typed, versioned config, and the page (route) the URL names.
//!
//! A parameter is declared once, as a constant ([`IntParam`], [`FloatParam`], …) with its key,
//! label and range; the codec and the on-screen controls both read that constant, so the
//! range shown, the range enforced and the range in a notice are the same.

use super::codec::{Choice, FlagParam, FloatParam, IntParam, Notice, QueryReader, QueryWriter};

/// Declares a [`Choice`] enum: variants with the name written in the URL and the label shown.
macro_rules! choice_enum {
    ($(#[$meta:meta])* $name:ident, key = $key:literal, label = $label:literal,
     default = $default:ident, { $($variant:ident => ($url:literal, $text:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl Choice for $name {
            const KEY: &'static str = $key;
            const LABEL: &'static str = $label;
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn name(self) -> &'static str { match self { $($name::$variant => $url),+ } }
            fn label(self) -> &'static str { match self { $($name::$variant => $text),+ } }
        }

        impl Default for $name {
            fn default() -> Self { $name::$default }
        }
    };
}

choice_enum!(
    /// The page the URL shows.
    Page, key = "page", label = "Page", default = Home, {
        Home => ("home", "Home"),
        Attention => ("attention", "Attention"),
        Activations => ("activations", "Activations"),
        Alignment => ("alignment", "Alignment"),
        Model => ("model", "Model"),
        About => ("about", "About"),
    }
);

choice_enum!(
    /// How attention scores become weights (shared/reference/formulas.md §1).
    AttentionVariant, key = "attn", label = "Attention normaliser", default = Softmax, {
        Softmax => ("softmax", "Softmax"),
        Lssa => ("lssa", "Softplus, length-scaled (LSSA)"),
        Lssar => ("lssar", "Softplus, re-weighted (LSSAR)"),
        Sigmoid => ("sigmoid", "Sigmoid"),
        Relu => ("relu", "ReLU / n"),
        Linear => ("linear", "Linear (elu + 1)"),
    }
);

choice_enum!(
    /// Activation functions (shared/reference/formulas.md §2).
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
    /// Preference-alignment losses (shared/reference/formulas.md §4): the toy's (`loss`) and the
    /// loss panel's curves (`curves`; KTO draws its desirable and undesirable sides).
    AlignmentLoss, key = "loss", label = "Loss", default = Dpo, {
        Dpo => ("dpo", "DPO"),
        Cdpo => ("cdpo", "cDPO (label smoothing)"),
        RobustDpo => ("rdpo", "Robust DPO"),
        Ipo => ("ipo", "IPO"),
        Hinge => ("hinge", "Hinge / SLiC"),
        Simpo => ("simpo", "SimPO"),
        Orpo => ("orpo", "ORPO"),
        Kto => ("kto", "KTO"),
    }
);

choice_enum!(
    /// Tasks the Model Lab trains on.
    Task, key = "task", label = "Task", default = Recall, {
        Copy => ("copy", "Copy"),
        Reverse => ("reverse", "Reverse"),
        Sort => ("sort", "Sort"),
        Recall => ("recall", "Associative recall"),
        Passkey => ("passkey", "Passkey retrieval"),
        ModAdd => ("modadd", "Modular addition"),
        Parity => ("parity", "Parity"),
        Dyck => ("dyck", "Balanced parentheses"),
        Count => ("count", "Counting"),
        Chars => ("chars", "Character-level text"),
    }
);

/// A lab's config: a typed, versioned set of settings with a URL form.
pub trait LabConfig: Clone + PartialEq + Default + Send + Sync + 'static {
    /// The version of the URL form; bumped when a key's meaning changes.
    const VERSION: u32;
    /// Where the settings live, for notices ("the Attention lab").
    const PLACE: &'static str;
    /// Reads the settings of a link of format `version` (at most [`Self::VERSION`]).
    fn read(q: &mut QueryReader, version: u32) -> Self;
    fn write(&self, w: &mut QueryWriter);
}

pub const SEED: IntParam = IntParam { key: "seed", label: "Seed", min: 0, max: u32::MAX, unit: "" };

// ---- Attention ----

choice_enum!(
    /// The softmax algorithm of the softmax panel.
    SoftmaxAlg, key = "alg", label = "Softmax algorithm", default = ThreePass, {
        ThreePass => ("three-pass", "Three-pass (max, sum, normalise)"),
        Online => ("online", "Online (running max and sum)"),
        TwoPass => ("two-pass", "Two-pass (mantissa–exponent pairs)"),
        Naive => ("naive", "Naive (no max: overflows)"),
    }
);

choice_enum!(
    /// LSSA's row scale `c_i`.
    LssaScaleChoice, key = "lscale", label = "LSSA score scale", default = LnDLnN, {
        LnDLnN => ("lnd-lnn", "ln d · ln Nᵢ (the paper's)"),
        InvSqrtD => ("inv-sqrt-d", "1/√d (as softmax)"),
        Unscaled => ("none", "none (1)"),
    }
);

choice_enum!(
    /// Where the attention lab's queries and keys come from.
    Source, key = "src", label = "Inputs", default = Synthetic, {
        Synthetic => ("synthetic", "Synthetic (seeded)"),
        Table => ("table", "Hand-written example"),
    }
);

choice_enum!(
    /// How weights map to colours.
    ColourScale, key = "color", label = "Colour scale", default = Log, {
        Linear => ("linear", "Linear"),
        Log => ("log", "Logarithmic (6 decades)"),
    }
);

choice_enum!(
    /// Length of the vector the softmax algorithms race on.
    RaceLen, key = "rlen", label = "Vector length", default = M4, {
        M1 => ("1m", "1,048,576 (4 MiB)"),
        M4 => ("4m", "4,194,304 (16 MiB)"),
        M8 => ("8m", "8,388,608 (32 MiB)"),
    }
);

impl RaceLen {
    /// The number of values in the vector.
    pub fn values(self) -> u32 {
        match self {
            RaceLen::M1 => 1 << 20,
            RaceLen::M4 => 1 << 22,
            RaceLen::M8 => 1 << 23,
        }
    }
}

pub const ATTN_CMP_KEY: &str = "cmp";
pub const ATTN_CMP_MIN: usize = 2;
pub const ATTN_CMP_MAX: usize = 4;
pub const ATTN_N: IntParam = IntParam { key: "n", label: "Sequence length n", min: 2, max: 1024, unit: "tokens" };
pub const ATTN_D: IntParam = IntParam { key: "d", label: "Head dimension d", min: 1, max: 256, unit: "" };
pub const ATTN_CAUSAL: FlagParam = FlagParam { key: "causal", label: "Causal mask" };
pub const ATTN_SCALE: FloatParam =
    FloatParam { key: "scale", label: "Logit scale", min: 0.01, max: 10000.0, unit: "×", log: true };
pub const ATTN_NEEDLE: FloatParam =
    FloatParam { key: "needle", label: "Needle strength", min: 0.0, max: 20.0, unit: "σ", log: false };
pub const ATTN_PERIOD: IntParam =
    IntParam { key: "period", label: "Repeat every", min: 0, max: 256, unit: "tokens (0: off)" };
pub const ATTN_NOISE: FloatParam =
    FloatParam { key: "noise", label: "Noise", min: 0.0, max: 2.0, unit: "σ", log: false };
pub const ATTN_QKNORM: FlagParam = FlagParam { key: "qknorm", label: "LSSA: l2-normalise q and k" };
pub const ATTN_P: FloatParam =
    FloatParam { key: "p", label: "LSSAR power p", min: 1.0, max: 64.0, unit: "", log: false };
pub const ATTN_SIGB_AUTO: FlagParam = FlagParam { key: "sigauto", label: "Sigmoid: b = −ln n" };
pub const ATTN_SIGB: FloatParam =
    FloatParam { key: "sigb", label: "Sigmoid bias b", min: -20.0, max: 20.0, unit: "", log: false };
pub const ATTN_BASE: IntParam = IntParam { key: "base", label: "Sweep base length", min: 8, max: 256, unit: "tokens" };
pub const ATTN_TN: IntParam = IntParam { key: "tn", label: "Example rows n", min: 1, max: 8, unit: "" };
pub const ATTN_TD: IntParam = IntParam { key: "td", label: "Example width d", min: 1, max: 4, unit: "" };
/// Largest magnitude of a hand-written value.
pub const ATTN_TABLE_LIMIT: f64 = 1000.0;

/// The classroom example: four tokens of width 2; the third query matches the first key.
pub const TABLE_DEFAULT_Q: [f64; 8] = [1.0, 0.0, 0.0, 1.0, 2.0, 0.0, -1.0, 1.0];
pub const TABLE_DEFAULT_K: [f64; 8] = [1.0, 0.0, 0.0, 1.0, 0.5, 0.5, -1.0, -1.0];

#[derive(Clone, Debug, PartialEq)]
pub struct AttentionConfig {
    /// The variants compared side by side, 2 to 4, distinct.
    pub compare: Vec<AttentionVariant>,
    pub algorithm: SoftmaxAlg,
    pub qk_norm: bool,
    pub lssa_scale: LssaScaleChoice,
    pub p: f64,
    pub sigmoid_auto: bool,
    pub sigmoid_bias: f64,
    pub source: Source,
    pub n: u32,
    pub d: u32,
    pub causal: bool,
    pub scale: f64,
    pub needle: f64,
    pub period: u32,
    pub noise: f64,
    pub seed: u32,
    pub table_n: u32,
    pub table_d: u32,
    /// `[table_n, table_d]` row-major.
    pub table_q: Vec<f64>,
    pub table_k: Vec<f64>,
    pub colour: ColourScale,
    pub base: u32,
    pub race_len: RaceLen,
}

impl Default for AttentionConfig {
    fn default() -> Self {
        AttentionConfig {
            compare: vec![
                AttentionVariant::Softmax,
                AttentionVariant::Lssa,
                AttentionVariant::Lssar,
                AttentionVariant::Sigmoid,
            ],
            algorithm: SoftmaxAlg::ThreePass,
            qk_norm: true,
            lssa_scale: LssaScaleChoice::LnDLnN,
            p: 15.0,
            sigmoid_auto: true,
            sigmoid_bias: -4.0,
            source: Source::Synthetic,
            n: 128,
            d: 32,
            causal: true,
            scale: 1.0,
            needle: 4.0,
            period: 0,
            noise: 0.0,
            seed: 7,
            table_n: 4,
            table_d: 2,
            table_q: TABLE_DEFAULT_Q.to_vec(),
            table_k: TABLE_DEFAULT_K.to_vec(),
            colour: ColourScale::Log,
            base: 256,
            race_len: RaceLen::M4,
        }
    }
}

impl AttentionConfig {
    /// A table of `n × d` values: the default example where it fits, else token `t` is the unit
    /// vector along axis `t mod d`.
    pub fn table_default(n: u32, d: u32, default: &[f64]) -> Vec<f64> {
        if n == 4 && d == 2 {
            return default.to_vec();
        }
        (0..n * d).map(|i| if i / d % d == i % d { 1.0 } else { 0.0 }).collect()
    }

    /// Changes the example's size, keeping every value that still has a place.
    pub fn resize_table(&mut self, n: u32, d: u32) {
        let resize = |old: &[f64], old_d: u32| -> Vec<f64> {
            (0..n * d)
                .map(|i| {
                    let (r, c) = (i / d, i % d);
                    if r < self.table_n && c < old_d {
                        old[(r * old_d + c) as usize]
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let (q, k) = (resize(&self.table_q, self.table_d), resize(&self.table_k, self.table_d));
        self.table_q = q;
        self.table_k = k;
        self.table_n = n;
        self.table_d = d;
    }
}

impl LabConfig for AttentionConfig {
    const VERSION: u32 = 2;
    const PLACE: &'static str = "the Attention lab";
    fn read(q: &mut QueryReader, version: u32) -> Self {
        let d = Self::default();
        let compare = if version == 1 {
            // Version 1 links named one variant (`attn`); show it beside the default ones.
            let first: AttentionVariant = q.choice(d.compare[0]);
            let mut list = vec![first];
            list.extend(d.compare.iter().copied().filter(|v| *v != first).take(ATTN_CMP_MAX - 1));
            list
        } else {
            q.choice_list(ATTN_CMP_KEY, ATTN_CMP_MIN, ATTN_CMP_MAX, &d.compare)
        };
        let table_n = q.int(&ATTN_TN, d.table_n);
        let table_d = q.int(&ATTN_TD, d.table_d);
        let cells = (table_n * table_d) as usize;
        let table_q =
            q.float_list("tq", cells, ATTN_TABLE_LIMIT, &Self::table_default(table_n, table_d, &TABLE_DEFAULT_Q));
        let table_k =
            q.float_list("tk", cells, ATTN_TABLE_LIMIT, &Self::table_default(table_n, table_d, &TABLE_DEFAULT_K));
        AttentionConfig {
            compare,
            algorithm: q.choice(d.algorithm),
            qk_norm: q.flag(&ATTN_QKNORM, d.qk_norm),
            lssa_scale: q.choice(d.lssa_scale),
            p: q.float(&ATTN_P, d.p),
            sigmoid_auto: q.flag(&ATTN_SIGB_AUTO, d.sigmoid_auto),
            sigmoid_bias: q.float(&ATTN_SIGB, d.sigmoid_bias),
            source: q.choice(d.source),
            n: q.int(&ATTN_N, d.n),
            d: q.int(&ATTN_D, d.d),
            causal: q.flag(&ATTN_CAUSAL, d.causal),
            scale: q.float(&ATTN_SCALE, d.scale),
            needle: q.float(&ATTN_NEEDLE, d.needle),
            period: q.int(&ATTN_PERIOD, d.period),
            noise: q.float(&ATTN_NOISE, d.noise),
            seed: q.int(&SEED, d.seed),
            table_n,
            table_d,
            table_q,
            table_k,
            colour: q.choice(d.colour),
            base: q.int(&ATTN_BASE, d.base),
            race_len: q.choice(d.race_len),
        }
    }
    fn write(&self, w: &mut QueryWriter) {
        w.choice_list(ATTN_CMP_KEY, &self.compare);
        w.choice(self.algorithm);
        w.flag(&ATTN_QKNORM, self.qk_norm);
        w.choice(self.lssa_scale);
        w.float(&ATTN_P, self.p);
        w.flag(&ATTN_SIGB_AUTO, self.sigmoid_auto);
        w.float(&ATTN_SIGB, self.sigmoid_bias);
        w.choice(self.source);
        w.int(&ATTN_N, self.n);
        w.int(&ATTN_D, self.d);
        w.flag(&ATTN_CAUSAL, self.causal);
        w.float(&ATTN_SCALE, self.scale);
        w.float(&ATTN_NEEDLE, self.needle);
        w.int(&ATTN_PERIOD, self.period);
        w.float(&ATTN_NOISE, self.noise);
        w.int(&SEED, self.seed);
        w.int(&ATTN_TN, self.table_n);
        w.int(&ATTN_TD, self.table_d);
        w.float_list("tq", &self.table_q);
        w.float_list("tk", &self.table_k);
        w.choice(self.colour);
        w.int(&ATTN_BASE, self.base);
        w.choice(self.race_len);
    }
}

// ---- Activations ----

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

// ---- Alignment ----

choice_enum!(
    /// How the DPO toy's policy is parameterised.
    ToyPolicy, key = "policy", label = "Policy", default = Linear, {
        Linear => ("linear", "Linear over response features (shared)"),
        Tabular => ("tabular", "Tabular logits (one per response)"),
    }
);

choice_enum!(
    /// The base distribution and rewards of the best-of-N panel.
    BaseDist, key = "base", label = "Base distribution", default = Normal, {
        Normal => ("normal", "Normal (33 outcomes, reward = outcome)"),
        Uniform => ("uniform", "Uniform (16 outcomes, rewards 0…1)"),
        Skewed => ("skewed", "Skewed (rare high rewards)"),
        Ties => ("ties", "Ties (4 reward levels)"),
        Custom => ("custom", "Custom (edit below)"),
    }
);

choice_enum!(
    /// The preference matrix of the Nash panel.
    PrefMatrix, key = "pref", label = "Preferences", default = Rps, {
        Rps => ("rps", "Rock–paper–scissors (non-transitive)"),
        BradleyTerry => ("bt", "Bradley–Terry (transitive)"),
        Random => ("random", "Random (seeded, non-transitive)"),
        Custom => ("custom", "Custom (edit below)"),
    }
);

pub const ALIGN_CURVES_KEY: &str = "curves";
pub const ALIGN_CURVES_MAX: usize = 8;
pub const ALIGN_HMAX: FloatParam =
    FloatParam { key: "hmax", label: "Margin range ±", min: 1.0, max: 1000.0, unit: "", log: true };
pub const ALIGN_BETA: FloatParam = FloatParam { key: "beta", label: "β", min: 0.001, max: 10.0, unit: "", log: true };
pub const ALIGN_EPS: FloatParam =
    FloatParam { key: "eps", label: "ε (label noise)", min: 0.001, max: 0.49, unit: "", log: false };
pub const ALIGN_TAU: FloatParam =
    FloatParam { key: "tau", label: "τ (IPO)", min: 0.01, max: 10.0, unit: "", log: true };
pub const ALIGN_SBETA: FloatParam =
    FloatParam { key: "sbeta", label: "β (SimPO)", min: 0.01, max: 20.0, unit: "", log: true };
pub const ALIGN_GAMMA: FloatParam =
    FloatParam { key: "gamma", label: "γ (SimPO)", min: 0.0, max: 10.0, unit: "", log: false };
pub const ALIGN_LEN_W: FloatParam =
    FloatParam { key: "lw", label: "|y_w| (tokens)", min: 1.0, max: 1000.0, unit: "", log: true };
pub const ALIGN_LEN_L: FloatParam =
    FloatParam { key: "ll", label: "|y_l| (tokens)", min: 1.0, max: 1000.0, unit: "", log: true };
pub const ALIGN_LAMBDA: FloatParam =
    FloatParam { key: "lambda", label: "λ (ORPO)", min: 0.0, max: 10.0, unit: "", log: false };
pub const ALIGN_Z0: FloatParam =
    FloatParam { key: "z0", label: "z₀ (KTO)", min: 0.0, max: 20.0, unit: "", log: false };

pub const TOY_V: IntParam = IntParam { key: "resp", label: "Responses V", min: 8, max: 256, unit: "" };
pub const TOY_FEATURES: IntParam = IntParam { key: "feat", label: "Features", min: 2, max: 64, unit: "" };
pub const TOY_CHOSEN: &str = "chosen";
pub const TOY_REJECTED: &str = "rejected";
pub const TOY_PROMPTS_MAX: usize = 4;
pub const TOY_FLEX: FlagParam = FlagParam { key: "flex", label: "Flex-DPO (β⁻ for the rejected side)" };
pub const TOY_BETA_MINUS: FloatParam =
    FloatParam { key: "bminus", label: "β⁻", min: 0.001, max: 10.0, unit: "", log: true };
pub const TOY_SFT: FloatParam =
    FloatParam { key: "sft", label: "SFT weight α", min: 0.0, max: 10.0, unit: "", log: false };
pub const TOY_ON_POLICY: FlagParam = FlagParam { key: "onpolicy", label: "On-policy pairs (drawn from π)" };
pub const TOY_SAMPLES: IntParam = IntParam { key: "samples", label: "Pairs drawn per step", min: 1, max: 64, unit: "" };
pub const TOY_LR: FloatParam =
    FloatParam { key: "tlr", label: "Learning rate", min: 0.001, max: 100.0, unit: "", log: true };
pub const TOY_STEPS: IntParam = IntParam { key: "tsteps", label: "Steps", min: 1, max: 20_000, unit: "" };
pub const TOY_FOCUS: FloatParam =
    FloatParam { key: "focus", label: "Reference focus on the pairs", min: 0.0, max: 10.0, unit: "", log: false };

pub const BON_P: &str = "bp";
pub const BON_R: &str = "br";
pub const BON_MAX_OUTCOMES: usize = 64;

pub const NASH_K: IntParam = IntParam { key: "k", label: "Responses K", min: 2, max: 8, unit: "" };
pub const NASH_CUSTOM: &str = "pm";
pub const NASH_ETA: FloatParam = FloatParam { key: "eta", label: "Step η", min: 0.001, max: 1.0, unit: "", log: true };
pub const NASH_TAU: FloatParam =
    FloatParam { key: "ntau", label: "Regularisation τ", min: 0.0, max: 1.0, unit: "", log: false };
pub const NASH_ITERS: IntParam = IntParam { key: "iters", label: "Iterations", min: 10, max: 10_000, unit: "" };

#[derive(Clone, Debug, PartialEq)]
pub struct AlignmentConfig {
    pub curves: Vec<AlignmentLoss>,
    pub hmax: f64,
    pub beta: f64,
    pub eps: f64,
    pub tau: f64,
    pub simpo_beta: f64,
    pub gamma: f64,
    pub len_w: f64,
    pub len_l: f64,
    pub lambda: f64,
    pub z0: f64,
    /// The DPO toy: its loss, policy and pairs (per prompt, the chosen and rejected responses).
    pub loss: AlignmentLoss,
    pub responses: u32,
    pub policy: ToyPolicy,
    pub features: u32,
    pub chosen: Vec<Vec<u32>>,
    pub rejected: Vec<Vec<u32>>,
    pub flex: bool,
    pub beta_minus: f64,
    pub sft: f64,
    pub on_policy: bool,
    pub samples: u32,
    pub lr: f64,
    pub steps: u32,
    pub focus: f64,
    /// Best-of-N: the base distribution (custom: probabilities and rewards).
    pub base: BaseDist,
    pub base_p: Vec<f64>,
    pub base_r: Vec<f64>,
    /// Nash: the matrix (custom: `P(i ≻ j)` above the diagonal, row by row).
    pub pref: PrefMatrix,
    pub k: u32,
    pub custom: Vec<f64>,
    pub eta: f64,
    pub nash_tau: f64,
    pub iterations: u32,
    pub seed: u32,
}

impl Default for AlignmentConfig {
    fn default() -> Self {
        AlignmentConfig {
            curves: vec![AlignmentLoss::Dpo, AlignmentLoss::Cdpo, AlignmentLoss::RobustDpo, AlignmentLoss::Hinge],
            hmax: 10.0,
            beta: 0.1,
            eps: 0.1,
            tau: 0.1,
            simpo_beta: 2.0,
            gamma: 0.5,
            len_w: 10.0,
            len_l: 10.0,
            lambda: 0.1,
            z0: 0.0,
            loss: AlignmentLoss::Dpo,
            responses: 32,
            policy: ToyPolicy::Linear,
            features: 8,
            chosen: vec![vec![12]],
            rejected: vec![vec![10]],
            flex: false,
            beta_minus: 0.09,
            sft: 0.0,
            on_policy: false,
            samples: 8,
            lr: 1.0,
            steps: 1000,
            focus: 2.0,
            base: BaseDist::Normal,
            base_p: vec![0.25, 0.5, 0.25],
            base_r: vec![0.0, 0.5, 1.0],
            pref: PrefMatrix::Rps,
            k: 3,
            custom: vec![0.9, 0.2, 0.7],
            eta: 0.1,
            nash_tau: 0.1,
            iterations: 2000,
            seed: 7,
        }
    }
}

/// The chosen and rejected sets of the DPO toy, checked together: every index below `V`, as
/// many prompts on both sides, a response never both chosen and rejected for one prompt.
fn read_pairs(q: &mut QueryReader, responses: u32, d: &AlignmentConfig) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    let chosen = q.index_sets(TOY_CHOSEN, TOY_PROMPTS_MAX, responses, &d.chosen);
    let rejected = q.index_sets(TOY_REJECTED, TOY_PROMPTS_MAX, responses, &d.rejected);
    let too_big = |sets: &[Vec<u32>]| sets.iter().flatten().copied().find(|&i| i >= responses);
    let fits = |sets: &[Vec<u32>]| too_big(sets).is_none();
    let problem = if chosen.len() != rejected.len() {
        Some(format!("{} prompts chosen but {} rejected", chosen.len(), rejected.len()))
    } else if let Some((p, i)) = chosen
        .iter()
        .zip(&rejected)
        .enumerate()
        .find_map(|(p, (c, r))| c.iter().find(|i| r.contains(i)).map(|&i| (p, i)))
    {
        Some(format!("response {i} is both chosen and rejected for prompt {}", p + 1))
    } else {
        too_big(&chosen).or(too_big(&rejected)).map(|i| format!("response {i} is not below resp={responses}"))
    };
    match problem {
        None => (chosen, rejected),
        Some(why) => {
            let (c, r) = if fits(&d.chosen) && fits(&d.rejected) {
                (d.chosen.clone(), d.rejected.clone())
            } else {
                (vec![vec![0]], vec![vec![1]])
            };
            q.note(format!("ignored chosen/rejected: {why}; using chosen={}, rejected={}", c[0][0], r[0][0]));
            (c, r)
        }
    }
}

impl LabConfig for AlignmentConfig {
    const VERSION: u32 = 2;
    const PLACE: &'static str = "the Alignment lab";
    fn read(q: &mut QueryReader, _version: u32) -> Self {
        let d = Self::default();
        let responses = q.int(&TOY_V, d.responses);
        let (chosen, rejected) = read_pairs(q, responses, &d);
        let base_p = q.float_vec(BON_P, 2, BON_MAX_OUTCOMES, 0.0, 1e6, &d.base_p);
        let mut base_r = q.float_vec(BON_R, 2, BON_MAX_OUTCOMES, -1e6, 1e6, &d.base_r);
        let base_p = if base_p.iter().sum::<f64>() > 0.0 {
            base_p
        } else {
            q.note("ignored bp: the probabilities add up to 0; using the defaults".into());
            d.base_p.clone()
        };
        if base_r.len() != base_p.len() {
            q.note(format!(
                "ignored br: {} rewards for {} outcomes; using rewards 0, 1, 2, …",
                base_r.len(),
                base_p.len()
            ));
            base_r = (0..base_p.len()).map(|i| i as f64).collect();
        }
        let k = q.int(&NASH_K, d.k);
        let pairs = (k * (k - 1) / 2) as usize;
        let default_custom: Vec<f64> = (0..pairs).map(|i| d.custom.get(i).copied().unwrap_or(0.5)).collect();
        let custom = q.float_vec(NASH_CUSTOM, pairs, pairs, 0.0, 1.0, &default_custom);
        AlignmentConfig {
            curves: q.choice_list(ALIGN_CURVES_KEY, 1, ALIGN_CURVES_MAX, &d.curves),
            hmax: q.float(&ALIGN_HMAX, d.hmax),
            beta: q.float(&ALIGN_BETA, d.beta),
            eps: q.float(&ALIGN_EPS, d.eps),
            tau: q.float(&ALIGN_TAU, d.tau),
            simpo_beta: q.float(&ALIGN_SBETA, d.simpo_beta),
            gamma: q.float(&ALIGN_GAMMA, d.gamma),
            len_w: q.float(&ALIGN_LEN_W, d.len_w),
            len_l: q.float(&ALIGN_LEN_L, d.len_l),
            lambda: q.float(&ALIGN_LAMBDA, d.lambda),
            z0: q.float(&ALIGN_Z0, d.z0),
            loss: q.choice(d.loss),
            responses,
            policy: q.choice(d.policy),
            features: q.int(&TOY_FEATURES, d.features),
            chosen,
            rejected,
            flex: q.flag(&TOY_FLEX, d.flex),
            beta_minus: q.float(&TOY_BETA_MINUS, d.beta_minus),
            sft: q.float(&TOY_SFT, d.sft),
            on_policy: q.flag(&TOY_ON_POLICY, d.on_policy),
            samples: q.int(&TOY_SAMPLES, d.samples),
            lr: q.float(&TOY_LR, d.lr),
            steps: q.int(&TOY_STEPS, d.steps),
            focus: q.float(&TOY_FOCUS, d.focus),
            base: q.choice(d.base),
            base_p,
            base_r,
            pref: q.choice(d.pref),
            k,
            custom,
            eta: q.float(&NASH_ETA, d.eta),
            nash_tau: q.float(&NASH_TAU, d.nash_tau),
            iterations: q.int(&NASH_ITERS, d.iterations),
            seed: q.int(&SEED, d.seed),
        }
    }
    fn write(&self, w: &mut QueryWriter) {
        w.choice_list(ALIGN_CURVES_KEY, &self.curves);
        w.float(&ALIGN_HMAX, self.hmax);
        w.float(&ALIGN_BETA, self.beta);
        w.float(&ALIGN_EPS, self.eps);
        w.float(&ALIGN_TAU, self.tau);
        w.float(&ALIGN_SBETA, self.simpo_beta);
        w.float(&ALIGN_GAMMA, self.gamma);
        w.float(&ALIGN_LEN_W, self.len_w);
        w.float(&ALIGN_LEN_L, self.len_l);
        w.float(&ALIGN_LAMBDA, self.lambda);
        w.float(&ALIGN_Z0, self.z0);
        w.choice(self.loss);
        w.int(&TOY_V, self.responses);
        w.choice(self.policy);
        w.int(&TOY_FEATURES, self.features);
        w.index_sets(TOY_CHOSEN, &self.chosen);
        w.index_sets(TOY_REJECTED, &self.rejected);
        w.flag(&TOY_FLEX, self.flex);
        w.float(&TOY_BETA_MINUS, self.beta_minus);
        w.float(&TOY_SFT, self.sft);
        w.flag(&TOY_ON_POLICY, self.on_policy);
        w.int(&TOY_SAMPLES, self.samples);
        w.float(&TOY_LR, self.lr);
        w.int(&TOY_STEPS, self.steps);
        w.float(&TOY_FOCUS, self.focus);
        w.choice(self.base);
        w.float_list(BON_P, &self.base_p);
        w.float_list(BON_R, &self.base_r);
        w.choice(self.pref);
        w.int(&NASH_K, self.k);
        w.float_list(NASH_CUSTOM, &self.custom);
        w.float(&NASH_ETA, self.eta);
        w.float(&NASH_TAU, self.nash_tau);
        w.int(&NASH_ITERS, self.iterations);
        w.int(&SEED, self.seed);
    }
}

// ---- Model ----

choice_enum!(
    /// The feed-forward unit of the Model lab's transformer.
    ModelUnit, key = "act", label = "Feed-forward unit", default = Gelu, {
        Relu => ("relu", "ReLU"),
        Gelu => ("gelu", "GELU"),
        Silu => ("silu", "SiLU"),
        SquaredRelu => ("relu2", "Squared ReLU"),
        CrRelu => ("crrelu", "CRReLU (ε = 0.01)"),
        Mish => ("mish", "Mish"),
        PolyNorm => ("polynorm", "PolyNorm (per token)"),
        SwiGlu => ("swiglu", "SwiGLU (gated)"),
        GeGlu => ("geglu", "GeGLU (gated)"),
    }
);

choice_enum!(
    /// The transformer's norm (before attention, before the feed-forward block, at the end).
    ModelNorm, key = "norm", label = "Norm", default = Rms, {
        Rms => ("rms", "RMSNorm"),
        Layer => ("layer", "LayerNorm"),
    }
);

choice_enum!(
    /// How the transformer knows positions.
    ModelPositions, key = "pos", label = "Positions", default = Rope, {
        Rope => ("rope", "RoPE (rotary)"),
        Learned => ("learned", "Learned, absolute"),
        None => ("none", "None (NoPE)"),
    }
);

pub const MODEL_LEN: IntParam = IntParam { key: "len", label: "Task length L", min: 1, max: 64, unit: "" };
pub const MODEL_BATCH: IntParam = IntParam { key: "batch", label: "Batch size", min: 1, max: 128, unit: "" };
pub const MODEL_LAYERS: IntParam = IntParam { key: "layers", label: "Layers", min: 1, max: 4, unit: "" };
pub const MODEL_DMODEL: IntParam = IntParam { key: "dmodel", label: "Model width", min: 16, max: 256, unit: "" };
pub const MODEL_HEADS: IntParam = IntParam { key: "heads", label: "Heads", min: 1, max: 8, unit: "" };
pub const MODEL_FFN: IntParam =
    IntParam { key: "ffn", label: "Feed-forward width (× model width)", min: 1, max: 8, unit: "×" };
pub const MODEL_TIED: FlagParam = FlagParam { key: "tied", label: "Tie input and output embeddings" };
pub const MODEL_LSSAR_P: FloatParam =
    FloatParam { key: "p", label: "LSSAR: re-weighting power p", min: 1.0, max: 30.0, unit: "", log: false };
pub const MODEL_STEPS: IntParam = IntParam { key: "steps", label: "Training steps", min: 1, max: 100_000, unit: "" };
pub const MODEL_LR: FloatParam =
    FloatParam { key: "lr", label: "Learning rate", min: 1e-5, max: 1.0, unit: "", log: true };
pub const MODEL_BETA1: FloatParam =
    FloatParam { key: "b1", label: "Adam β₁", min: 0.0, max: 0.999, unit: "", log: false };
pub const MODEL_BETA2: FloatParam =
    FloatParam { key: "b2", label: "Adam β₂", min: 0.5, max: 0.9999, unit: "", log: false };
pub const MODEL_WD: FloatParam =
    FloatParam { key: "wd", label: "Weight decay", min: 0.0, max: 1.0, unit: "", log: false };
pub const MODEL_WARMUP: IntParam = IntParam { key: "warmup", label: "Warm-up steps", min: 0, max: 10_000, unit: "" };
pub const MODEL_CLIP: FloatParam = FloatParam {
    key: "clip",
    label: "Gradient clipping (global norm, 0 = off)",
    min: 0.0,
    max: 100.0,
    unit: "",
    log: false,
};

#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    pub task: Task,
    pub len: u32,
    pub batch: u32,
    pub attention: AttentionVariant,
    pub lssar_p: f64,
    pub unit: ModelUnit,
    pub norm: ModelNorm,
    pub positions: ModelPositions,
    pub tied: bool,
    pub layers: u32,
    pub d_model: u32,
    pub heads: u32,
    pub ffn: u32,
    pub steps: u32,
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub weight_decay: f64,
    pub warmup: u32,
    pub clip: f64,
    pub seed: u32,
}

impl Default for ModelConfig {
    /// Passkey retrieval at L = 16 with RoPE: softmax attention loses the passkey at 8× and
    /// 16× the trained length while LSSAR keeps most of it (`kernels/examples/length_sweep.rs`).
    fn default() -> Self {
        ModelConfig {
            task: Task::Passkey,
            len: 16,
            batch: 32,
            attention: AttentionVariant::Softmax,
            lssar_p: 15.0,
            unit: ModelUnit::Gelu,
            norm: ModelNorm::Rms,
            positions: ModelPositions::Rope,
            tied: true,
            layers: 2,
            d_model: 32,
            heads: 2,
            ffn: 2,
            steps: 600,
            lr: 0.003,
            beta1: 0.9,
            beta2: 0.999,
            weight_decay: 0.01,
            warmup: 50,
            clip: 1.0,
            seed: 1,
        }
    }
}

impl LabConfig for ModelConfig {
    const VERSION: u32 = 1;
    const PLACE: &'static str = "the Model lab";
    fn read(q: &mut QueryReader, _version: u32) -> Self {
        let d = Self::default();
        ModelConfig {
            task: q.choice(d.task),
            len: q.int(&MODEL_LEN, d.len),
            batch: q.int(&MODEL_BATCH, d.batch),
            attention: q.choice(d.attention),
            lssar_p: q.float(&MODEL_LSSAR_P, d.lssar_p),
            unit: q.choice(d.unit),
            norm: q.choice(d.norm),
            positions: q.choice(d.positions),
            tied: q.flag(&MODEL_TIED, d.tied),
            layers: q.int(&MODEL_LAYERS, d.layers),
            d_model: q.int(&MODEL_DMODEL, d.d_model),
            heads: q.int(&MODEL_HEADS, d.heads),
            ffn: q.int(&MODEL_FFN, d.ffn),
            steps: q.int(&MODEL_STEPS, d.steps),
            lr: q.float(&MODEL_LR, d.lr),
            beta1: q.float(&MODEL_BETA1, d.beta1),
            beta2: q.float(&MODEL_BETA2, d.beta2),
            weight_decay: q.float(&MODEL_WD, d.weight_decay),
            warmup: q.int(&MODEL_WARMUP, d.warmup),
            clip: q.float(&MODEL_CLIP, d.clip),
            seed: q.int(&SEED, d.seed),
        }
    }
    fn write(&self, w: &mut QueryWriter) {
        w.choice(self.task);
        w.int(&MODEL_LEN, self.len);
        w.int(&MODEL_BATCH, self.batch);
        w.choice(self.attention);
        w.float(&MODEL_LSSAR_P, self.lssar_p);
        w.choice(self.unit);
        w.choice(self.norm);
        w.choice(self.positions);
        w.flag(&MODEL_TIED, self.tied);
        w.int(&MODEL_LAYERS, self.layers);
        w.int(&MODEL_DMODEL, self.d_model);
        w.int(&MODEL_HEADS, self.heads);
        w.int(&MODEL_FFN, self.ffn);
        w.int(&MODEL_STEPS, self.steps);
        w.float(&MODEL_LR, self.lr);
        w.float(&MODEL_BETA1, self.beta1);
        w.float(&MODEL_BETA2, self.beta2);
        w.float(&MODEL_WD, self.weight_decay);
        w.int(&MODEL_WARMUP, self.warmup);
        w.float(&MODEL_CLIP, self.clip);
        w.int(&SEED, self.seed);
    }
}

/// Every lab's config: the whole experiment state behind the URL.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Labs {
    pub attention: AttentionConfig,
    pub activations: ActivationsConfig,
    pub alignment: AlignmentConfig,
    pub model: ModelConfig,
    /// The shell's copy of a module lab's settings: its query as the lab last wrote it (or as
    /// the link gave it), read and checked by the lab itself ([`decode_shell`]).
    pub module_queries: ModuleQueries,
}

/// The query of each lab loaded as a module.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModuleQueries {
    pub activations: String,
    pub alignment: String,
    pub model: String,
}

impl ModuleQueries {
    fn slot(&mut self, page: Page) -> Option<&mut String> {
        match page {
            Page::Activations => Some(&mut self.activations),
            Page::Alignment => Some(&mut self.alignment),
            Page::Model => Some(&mut self.model),
            _ => None,
        }
    }

    /// Keeps `query` (without `?`) as the settings of module lab `page`.
    pub fn keep(&mut self, page: Page, query: &str) {
        if let Some(slot) = self.slot(page) {
            *slot = query.trim_start_matches('?').to_string();
        }
    }
}

/// Whether `page` is a lab loaded as its own module (its settings are read by the module).
pub fn is_module(page: Page) -> bool {
    matches!(page, Page::Activations | Page::Alignment | Page::Model)
}

/// The shell's reading of a URL: the page, and the settings of the shell's own labs; a module
/// lab's query is kept as written (the module reads it and names what it cannot use), so the
/// shell carries no module lab's codec.
pub fn decode_shell(query: &str, labs: &mut Labs) -> (Page, Vec<Notice>) {
    let mut q = QueryReader::from_query(query);
    let page = q.choice(Page::Home);
    if is_module(page) {
        let notices = q.page_notices();
        labs.module_queries.keep(page, query);
        return (page, notices);
    }
    let place = match page {
        Page::Attention => {
            labs.attention = read_lab(&mut q);
            AttentionConfig::PLACE
        }
        _ => return (page, q.finish(if page == Page::About { "the About page" } else { "the home page" })),
    };
    (page, q.finish(place))
}

/// The shell's URL query for `page`: a module lab's as it last wrote it.
pub fn encode_shell(page: Page, labs: &Labs) -> String {
    let mut w = QueryWriter::default();
    match page {
        Page::Home => {}
        Page::About => w.choice(page),
        Page::Attention => {
            w.choice(page);
            write_lab(&labs.attention, &mut w);
        }
        Page::Activations | Page::Alignment | Page::Model => {
            let kept = match page {
                Page::Activations => &labs.module_queries.activations,
                Page::Alignment => &labs.module_queries.alignment,
                _ => &labs.module_queries.model,
            };
            if !kept.is_empty() {
                return kept.clone();
            }
            w.choice(page);
        }
    }
    w.finish()
}

/// A module lab's reading of its own query (the shell kept it as written): the settings, and a
/// notice for every value not used as written. Only `C`'s codec is linked.
pub fn decode_lab<C: LabConfig>(query: &str) -> (C, Vec<Notice>) {
    let mut q = QueryReader::from_query(query);
    let _page: Page = q.choice(Page::Home);
    let config = read_lab(&mut q);
    (config, q.finish(C::PLACE))
}

/// A module lab's query for its settings.
pub fn encode_lab<C: LabConfig>(page: Page, config: &C) -> String {
    let mut w = QueryWriter::default();
    w.choice(page);
    write_lab(config, &mut w);
    w.finish()
}

fn read_lab<C: LabConfig>(q: &mut QueryReader) -> C {
    let version = q.version(C::VERSION);
    C::read(q, version)
}

fn write_lab<C: LabConfig>(config: &C, w: &mut QueryWriter) {
    w.raw("v", C::VERSION.to_string());
    config.write(w);
}

/// Reads a URL query: the page, and the settings of that page's lab into `labs` (the other
/// labs keep theirs). Returns the page and a notice for every value not used as written.
pub fn decode(query: &str, labs: &mut Labs) -> (Page, Vec<Notice>) {
    let mut q = QueryReader::from_query(query);
    let page = q.choice(Page::Home);
    let place = match page {
        Page::Attention => {
            labs.attention = read_lab(&mut q);
            AttentionConfig::PLACE
        }
        Page::Activations => {
            labs.activations = read_lab(&mut q);
            ActivationsConfig::PLACE
        }
        Page::Alignment => {
            labs.alignment = read_lab(&mut q);
            AlignmentConfig::PLACE
        }
        Page::Model => {
            labs.model = read_lab(&mut q);
            ModelConfig::PLACE
        }
        Page::Home => "the home page",
        Page::About => "the About page",
    };
    (page, q.finish(place))
}

/// Writes the URL query (without `?`) for `page`, with that page's lab settings.
pub fn encode(page: Page, labs: &Labs) -> String {
    let mut w = QueryWriter::default();
    if page != Page::Home {
        w.choice(page);
    }
    match page {
        Page::Attention => write_lab(&labs.attention, &mut w),
        Page::Activations => write_lab(&labs.activations, &mut w),
        Page::Alignment => write_lab(&labs.alignment, &mut w),
        Page::Model => write_lab(&labs.model, &mut w),
        Page::Home | Page::About => {}
    }
    w.finish()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
