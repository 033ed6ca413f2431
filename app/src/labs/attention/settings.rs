//! The Attention lab's settings: each one declared once (key, label, range), read and written
//! by the codec and shown by the controls from the same constant.

use softplay_worker::attention::{MAPS_MAX_N, TABLE_MAX_D, TABLE_MAX_N};

use crate::state::{
    codec::{Choice, FlagParam, FloatParam, IntParam, QueryReader, QueryWriter},
    lab::{choice_enum, LabConfig, SEED},
};

choice_enum!(
    /// How attention scores become weights (docs/MATH.md, “Attention”).
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
/// As long as the worker sends whole weight matrices for (the limit is written once, there).
pub const ATTN_N: IntParam = IntParam { key: "n", label: "Sequence length n", min: 2, max: MAPS_MAX_N, unit: "tokens" };
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
pub const ATTN_TN: IntParam = IntParam { key: "tn", label: "Example rows n", min: 1, max: TABLE_MAX_N, unit: "" };
pub const ATTN_TD: IntParam = IntParam { key: "td", label: "Example width d", min: 1, max: TABLE_MAX_D, unit: "" };
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
