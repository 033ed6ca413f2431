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
    /// Preference-alignment losses (shared/reference/formulas.md §4).
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
    fn read(q: &mut QueryReader) -> Self;
    fn write(&self, w: &mut QueryWriter);
}

pub const SEED: IntParam = IntParam { key: "seed", label: "Seed", min: 0, max: u32::MAX, unit: "" };

// ---- Attention ----

pub const ATTN_N: IntParam = IntParam { key: "n", label: "Sequence length n", min: 2, max: 4096, unit: "tokens" };
pub const ATTN_D: IntParam = IntParam { key: "d", label: "Head dimension d", min: 1, max: 256, unit: "" };
pub const ATTN_CAUSAL: FlagParam = FlagParam { key: "causal", label: "Causal mask" };
pub const ATTN_SCALE: FloatParam =
    FloatParam { key: "scale", label: "Logit scale", min: 0.01, max: 10000.0, unit: "×", log: true };

#[derive(Clone, Debug, PartialEq)]
pub struct AttentionConfig {
    pub variant: AttentionVariant,
    pub n: u32,
    pub d: u32,
    pub causal: bool,
    pub scale: f64,
    pub seed: u32,
}

impl Default for AttentionConfig {
    fn default() -> Self {
        AttentionConfig { variant: AttentionVariant::Softmax, n: 256, d: 64, causal: true, scale: 1.0, seed: 7 }
    }
}

impl LabConfig for AttentionConfig {
    const VERSION: u32 = 1;
    const PLACE: &'static str = "the Attention lab";
    fn read(q: &mut QueryReader) -> Self {
        let d = Self::default();
        AttentionConfig {
            variant: q.choice(d.variant),
            n: q.int(&ATTN_N, d.n),
            d: q.int(&ATTN_D, d.d),
            causal: q.flag(&ATTN_CAUSAL, d.causal),
            scale: q.float(&ATTN_SCALE, d.scale),
            seed: q.int(&SEED, d.seed),
        }
    }
    fn write(&self, w: &mut QueryWriter) {
        w.choice(self.variant);
        w.int(&ATTN_N, self.n);
        w.int(&ATTN_D, self.d);
        w.flag(&ATTN_CAUSAL, self.causal);
        w.float(&ATTN_SCALE, self.scale);
        w.int(&SEED, self.seed);
    }
}

// ---- Activations ----

pub const ACT_XMAX: FloatParam =
    FloatParam { key: "xmax", label: "Plot range ±x", min: 0.5, max: 100.0, unit: "", log: true };
pub const ACT_BETA: FloatParam = FloatParam { key: "beta", label: "β", min: 0.05, max: 20.0, unit: "", log: true };

#[derive(Clone, Debug, PartialEq)]
pub struct ActivationsConfig {
    pub activation: Activation,
    pub xmax: f64,
    pub beta: f64,
    pub seed: u32,
}

impl Default for ActivationsConfig {
    fn default() -> Self {
        ActivationsConfig { activation: Activation::Gelu, xmax: 6.0, beta: 1.0, seed: 7 }
    }
}

impl LabConfig for ActivationsConfig {
    const VERSION: u32 = 1;
    const PLACE: &'static str = "the Activations lab";
    fn read(q: &mut QueryReader) -> Self {
        let d = Self::default();
        ActivationsConfig {
            activation: q.choice(d.activation),
            xmax: q.float(&ACT_XMAX, d.xmax),
            beta: q.float(&ACT_BETA, d.beta),
            seed: q.int(&SEED, d.seed),
        }
    }
    fn write(&self, w: &mut QueryWriter) {
        w.choice(self.activation);
        w.float(&ACT_XMAX, self.xmax);
        w.float(&ACT_BETA, self.beta);
        w.int(&SEED, self.seed);
    }
}

// ---- Alignment ----

pub const ALIGN_BETA: FloatParam = FloatParam { key: "beta", label: "β", min: 0.001, max: 10.0, unit: "", log: true };

#[derive(Clone, Debug, PartialEq)]
pub struct AlignmentConfig {
    pub loss: AlignmentLoss,
    pub beta: f64,
    pub seed: u32,
}

impl Default for AlignmentConfig {
    fn default() -> Self {
        AlignmentConfig { loss: AlignmentLoss::Dpo, beta: 0.1, seed: 7 }
    }
}

impl LabConfig for AlignmentConfig {
    const VERSION: u32 = 1;
    const PLACE: &'static str = "the Alignment lab";
    fn read(q: &mut QueryReader) -> Self {
        let d = Self::default();
        AlignmentConfig { loss: q.choice(d.loss), beta: q.float(&ALIGN_BETA, d.beta), seed: q.int(&SEED, d.seed) }
    }
    fn write(&self, w: &mut QueryWriter) {
        w.choice(self.loss);
        w.float(&ALIGN_BETA, self.beta);
        w.int(&SEED, self.seed);
    }
}

// ---- Model ----

pub const MODEL_LAYERS: IntParam = IntParam { key: "layers", label: "Layers", min: 1, max: 4, unit: "" };
pub const MODEL_DMODEL: IntParam = IntParam { key: "dmodel", label: "Model width", min: 16, max: 256, unit: "" };
pub const MODEL_HEADS: IntParam = IntParam { key: "heads", label: "Heads", min: 1, max: 8, unit: "" };
pub const MODEL_STEPS: IntParam = IntParam { key: "steps", label: "Training steps", min: 1, max: 100_000, unit: "" };
pub const MODEL_LR: FloatParam =
    FloatParam { key: "lr", label: "Learning rate", min: 1e-5, max: 1.0, unit: "", log: true };

#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    pub task: Task,
    pub attention: AttentionVariant,
    pub layers: u32,
    pub d_model: u32,
    pub heads: u32,
    pub steps: u32,
    pub lr: f64,
    pub seed: u32,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            task: Task::Recall,
            attention: AttentionVariant::Softmax,
            layers: 2,
            d_model: 64,
            heads: 4,
            steps: 2000,
            lr: 0.003,
            seed: 7,
        }
    }
}

impl LabConfig for ModelConfig {
    const VERSION: u32 = 1;
    const PLACE: &'static str = "the Model lab";
    fn read(q: &mut QueryReader) -> Self {
        let d = Self::default();
        ModelConfig {
            task: q.choice(d.task),
            attention: q.choice(d.attention),
            layers: q.int(&MODEL_LAYERS, d.layers),
            d_model: q.int(&MODEL_DMODEL, d.d_model),
            heads: q.int(&MODEL_HEADS, d.heads),
            steps: q.int(&MODEL_STEPS, d.steps),
            lr: q.float(&MODEL_LR, d.lr),
            seed: q.int(&SEED, d.seed),
        }
    }
    fn write(&self, w: &mut QueryWriter) {
        w.choice(self.task);
        w.choice(self.attention);
        w.int(&MODEL_LAYERS, self.layers);
        w.int(&MODEL_DMODEL, self.d_model);
        w.int(&MODEL_HEADS, self.heads);
        w.int(&MODEL_STEPS, self.steps);
        w.float(&MODEL_LR, self.lr);
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
}

fn read_lab<C: LabConfig>(q: &mut QueryReader) -> C {
    q.version(C::VERSION);
    C::read(q)
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
