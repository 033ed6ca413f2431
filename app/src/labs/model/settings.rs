//! The Model lab's settings: each one declared once (key, label, range), read and written by
//! the codec and shown by the controls from the same constant.

use crate::labs::attention::settings::AttentionVariant;
use crate::state::{
    codec::{Choice, FlagParam, FloatParam, IntParam, QueryReader, QueryWriter},
    lab::{choice_enum, LabConfig, SEED},
};

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
/// The model width C (`width` in the kernels' `Config` and the run's spec); the link says `dmodel`.
pub const MODEL_WIDTH: IntParam = IntParam { key: "dmodel", label: "Model width", min: 16, max: 256, unit: "" };
pub const MODEL_HEADS: IntParam = IntParam { key: "heads", label: "Heads", min: 1, max: 8, unit: "" };
pub const MODEL_FFN_RATIO: IntParam =
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
    pub width: u32,
    pub heads: u32,
    /// The feed-forward width as a multiple of the model width (the kernels' `ffn` is the width
    /// itself, `ffn_ratio × width`).
    pub ffn_ratio: u32,
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
            width: 32,
            heads: 2,
            ffn_ratio: 2,
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
            width: q.int(&MODEL_WIDTH, d.width),
            heads: q.int(&MODEL_HEADS, d.heads),
            ffn_ratio: q.int(&MODEL_FFN_RATIO, d.ffn_ratio),
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
        w.int(&MODEL_WIDTH, self.width);
        w.int(&MODEL_HEADS, self.heads);
        w.int(&MODEL_FFN_RATIO, self.ffn_ratio);
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
