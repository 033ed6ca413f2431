//! The Model lab's settings: each one declared once (key, label, range), read and written by
//! the codec and shown by the controls from the same constant.

use crate::labs::attention::settings::AttentionVariant;
use crate::state::{
    codec::{Choice, QueryReader, QueryWriter},
    lab::{choice_enum, lab_settings, SEED},
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

choice_enum!(
    /// Where the Model lab's runs train.
    ModelBackend, key = "backend", label = "Backend", default = Auto, {
        Auto => ("auto", "Auto: WebGPU where it checks out and is faster"),
        Cpu => ("cpu", "CPU (wasm simd128)"),
        Gpu => ("webgpu", "WebGPU"),
    }
);

/// The backend of a link: links of version 1 were made before the lab trained on WebGPU, so
/// one without `backend` replays on the CPU, bit for bit.
fn read_backend(q: &mut QueryReader, version: u32, c: &mut ModelConfig) {
    c.backend = q.choice(if version < 2 { ModelBackend::Cpu } else { c.backend });
}

fn write_backend(c: &ModelConfig, w: &mut QueryWriter) {
    w.choice(c.backend);
}

lab_settings! {
    /// The Model lab's settings. The default: passkey retrieval at L = 16 with RoPE, where
    /// softmax attention loses the passkey at 8× and 16× the trained length while LSSAR keeps
    /// most of it (`kernels/examples/length_sweep.rs`).
    /// Version 2 added the backend.
    pub struct ModelConfig (version 2, "the Model lab") {
        task: Task = Task::Passkey => choice();
        len: u32 = 16 => int(MODEL_LEN { key: "len", label: "Task length L", min: 1, max: 64, unit: "" });
        batch: u32 = 32 => int(MODEL_BATCH { key: "batch", label: "Batch size", min: 1, max: 128, unit: "" });
        attention: AttentionVariant = AttentionVariant::Softmax => choice();
        lssar_p: f64 = 15.0 => float(MODEL_LSSAR_P { key: "p", label: "LSSAR: re-weighting power p", min: 1.0, max: 30.0, unit: "", log: false });
        unit: ModelUnit = ModelUnit::Gelu => choice();
        norm: ModelNorm = ModelNorm::Rms => choice();
        positions: ModelPositions = ModelPositions::Rope => choice();
        tied: bool = true => flag(MODEL_TIED { key: "tied", label: "Tie input and output embeddings" });
        layers: u32 = 2 => int(MODEL_LAYERS { key: "layers", label: "Layers", min: 1, max: 8, unit: "" });
        /// The model width C (`width` in the kernels' `Config` and the run's spec; the link says `dmodel`).
        width: u32 = 32 => int(MODEL_WIDTH { key: "dmodel", label: "Model width", min: 16, max: 512, unit: "" });
        heads: u32 = 2 => int(MODEL_HEADS { key: "heads", label: "Heads", min: 1, max: 8, unit: "" });
        /// The feed-forward width as a multiple of the model width (the kernels' `ffn` is the
        /// width itself, `ffn_ratio × width`).
        ffn_ratio: u32 = 2 => int(MODEL_FFN_RATIO { key: "ffn", label: "Feed-forward width (× model width)", min: 1, max: 8, unit: "×" });
        steps: u32 = 600 => int(MODEL_STEPS { key: "steps", label: "Training steps", min: 1, max: 100_000, unit: "" });
        lr: f64 = 0.003 => float(MODEL_LR { key: "lr", label: "Learning rate", min: 1e-5, max: 1.0, unit: "", log: true });
        beta1: f64 = 0.9 => float(MODEL_BETA1 { key: "b1", label: "Adam β₁", min: 0.0, max: 0.999, unit: "", log: false });
        beta2: f64 = 0.999 => float(MODEL_BETA2 { key: "b2", label: "Adam β₂", min: 0.5, max: 0.9999, unit: "", log: false });
        weight_decay: f64 = 0.01 => float(MODEL_WD { key: "wd", label: "Weight decay", min: 0.0, max: 1.0, unit: "", log: false });
        warmup: u32 = 50 => int(MODEL_WARMUP { key: "warmup", label: "Warm-up steps", min: 0, max: 10_000, unit: "" });
        clip: f64 = 1.0 => float(MODEL_CLIP { key: "clip", label: "Gradient clipping (global norm, 0 = off)", min: 0.0, max: 100.0, unit: "", log: false });
        seed: u32 = 1 => int(SEED);
        backend: ModelBackend = ModelBackend::Auto => custom(read_backend, write_backend);
    }
}
