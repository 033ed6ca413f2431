//! The Attention lab's settings: each one declared once (key, label, range), read and written
//! by the codec and shown by the controls from the same constant.

use softplay_worker::attention::{MAPS_MAX_N, TABLE_MAX_D, TABLE_MAX_N};

use crate::state::{
    codec::{Choice, QueryReader, QueryWriter},
    lab::{choice_enum, lab_settings, SEED},
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
/// Largest magnitude of a hand-written value.
pub const ATTN_TABLE_LIMIT: f64 = 1000.0;

/// The classroom example: four tokens of width 2; the third query matches the first key.
pub const TABLE_DEFAULT_Q: [f64; 8] = [1.0, 0.0, 0.0, 1.0, 2.0, 0.0, -1.0, 1.0];
pub const TABLE_DEFAULT_K: [f64; 8] = [1.0, 0.0, 0.0, 1.0, 0.5, 0.5, -1.0, -1.0];

lab_settings! {
    /// The Attention lab's settings.
    pub struct AttentionConfig (version 2, "the Attention lab") {
        /// The variants compared side by side, 2 to 4, distinct.
        compare: Vec<AttentionVariant> = vec![
            AttentionVariant::Softmax,
            AttentionVariant::Lssa,
            AttentionVariant::Lssar,
            AttentionVariant::Sigmoid,
        ] => custom(read_compare, write_compare);
        algorithm: SoftmaxAlg = SoftmaxAlg::ThreePass => choice();
        qk_norm: bool = true => flag(ATTN_QKNORM { key: "qknorm", label: "LSSA: l2-normalise q and k" });
        lssa_scale: LssaScaleChoice = LssaScaleChoice::LnDLnN => choice();
        p: f64 = 15.0 => float(ATTN_P { key: "p", label: "LSSAR power p", min: 1.0, max: 64.0, unit: "", log: false });
        sigmoid_auto: bool = true => flag(ATTN_SIGB_AUTO { key: "sigauto", label: "Sigmoid: b = −ln n" });
        sigmoid_bias: f64 = -4.0 => float(ATTN_SIGB { key: "sigb", label: "Sigmoid bias b", min: -20.0, max: 20.0, unit: "", log: false });
        source: Source = Source::Synthetic => choice();
        n: u32 = 128 => int(
            /// As long as the worker sends whole weight matrices for (the limit is written once, there).
            ATTN_N { key: "n", label: "Sequence length n", min: 2, max: MAPS_MAX_N, unit: "tokens" });
        d: u32 = 32 => int(ATTN_D { key: "d", label: "Head dimension d", min: 1, max: 256, unit: "" });
        causal: bool = true => flag(ATTN_CAUSAL { key: "causal", label: "Causal mask" });
        scale: f64 = 1.0 => float(ATTN_SCALE { key: "scale", label: "Logit scale", min: 0.01, max: 10000.0, unit: "×", log: true });
        needle: f64 = 4.0 => float(ATTN_NEEDLE { key: "needle", label: "Needle strength", min: 0.0, max: 20.0, unit: "σ", log: false });
        period: u32 = 0 => int(ATTN_PERIOD { key: "period", label: "Repeat every", min: 0, max: 256, unit: "tokens (0: off)" });
        noise: f64 = 0.0 => float(ATTN_NOISE { key: "noise", label: "Noise", min: 0.0, max: 2.0, unit: "σ", log: false });
        seed: u32 = 7 => int(SEED);
        table_n: u32 = 4 => int(ATTN_TN { key: "tn", label: "Example rows n", min: 1, max: TABLE_MAX_N, unit: "" });
        table_d: u32 = 2 => int(ATTN_TD { key: "td", label: "Example width d", min: 1, max: TABLE_MAX_D, unit: "" });
        /// `[table_n, table_d]` row-major.
        table_q: Vec<f64> = TABLE_DEFAULT_Q.to_vec() => custom(read_table, write_table);
        table_k: Vec<f64> = TABLE_DEFAULT_K.to_vec() => with_previous();
        colour: ColourScale = ColourScale::Log => choice();
        base: u32 = 256 => int(ATTN_BASE { key: "base", label: "Sweep base length", min: 8, max: 256, unit: "tokens" });
        race_len: RaceLen = RaceLen::M4 => choice();
    }
}

/// Version 1 links named one variant (`attn`): it is shown beside the default ones.
fn read_compare(q: &mut QueryReader, version: u32, c: &mut AttentionConfig) {
    c.compare = if version == 1 {
        let first: AttentionVariant = q.choice(c.compare[0]);
        let mut list = vec![first];
        list.extend(c.compare.iter().copied().filter(|v| *v != first).take(ATTN_CMP_MAX - 1));
        list
    } else {
        q.choice_list(ATTN_CMP_KEY, ATTN_CMP_MIN, ATTN_CMP_MAX, &c.compare)
    };
}

fn write_compare(c: &AttentionConfig, w: &mut QueryWriter) {
    w.choice_list(ATTN_CMP_KEY, &c.compare);
}

/// The hand-written queries and keys, as many values as the example's size (read above) needs.
fn read_table(q: &mut QueryReader, _version: u32, c: &mut AttentionConfig) {
    let (n, d) = (c.table_n, c.table_d);
    let cells = (n * d) as usize;
    c.table_q = q.float_list("tq", cells, ATTN_TABLE_LIMIT, &AttentionConfig::table_default(n, d, &TABLE_DEFAULT_Q));
    c.table_k = q.float_list("tk", cells, ATTN_TABLE_LIMIT, &AttentionConfig::table_default(n, d, &TABLE_DEFAULT_K));
}

fn write_table(c: &AttentionConfig, w: &mut QueryWriter) {
    w.float_list("tq", &c.table_q);
    w.float_list("tk", &c.table_k);
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
