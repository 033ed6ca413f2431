//! What of a model the GPU trains, where a step keeps its values, what it reports, and the
//! names of the places a NaN is found.

use super::{attention::attention_kind, MAX_HD};
use crate::model::train::Divergence;
use crate::{
    activation::{Activation, Gate},
    mlp::Hidden,
    model::transformer::Config,
};

/// Whether the GPU has kernels for every part of `cfg`; the error says which part it lacks
/// (the run then trains on the CPU).
pub fn supports(cfg: &Config) -> Result<(), String> {
    attention_kind(cfg.attention)?;
    unit_kind(cfg.hidden)?;
    if cfg.head_dim() > MAX_HD {
        return Err(format!("head width {}: the GPU attention takes at most {MAX_HD}", cfg.head_dim()));
    }
    Ok(())
}

/// The unit kernels' code, whether gated, and β.
pub(super) fn unit_kind(hidden: Hidden) -> Result<(u32, bool, f32), String> {
    let each = |a: Activation| match a {
        Activation::Relu => Ok((0, 1.0)),
        Activation::Gelu => Ok((1, 1.0)),
        Activation::Silu { beta } => Ok((2, beta as f32)),
        Activation::SquaredRelu => Ok((3, 1.0)),
        other => Err(format!("the {other:?} unit has no GPU training kernel; the CPU trains it")),
    };
    match hidden {
        Hidden::Each(a) => each(a).map(|(k, b)| (k, false, b)),
        Hidden::Gated(Gate::SwiGlu { beta }) => Ok((2, true, beta as f32)),
        Hidden::Gated(Gate::GeGlu) => Ok((1, true, 1.0)),
        Hidden::PolyNorm(_) => Err("PolyNorm has no GPU training kernel; the CPU trains it".into()),
    }
}

/// Where a step writes a NaN or an infinity first, by place code (the same names as the CPU).
pub(super) fn place_name(cfg: &Config, code: u32) -> String {
    let l = cfg.layers as u32;
    let grads = 3 + 2 * l;
    match code {
        0 => "the embeddings".into(),
        c if c <= 2 * l => {
            let layer = (c - 1) / 2 + 1;
            if c % 2 == 1 {
                format!("layer {layer}, attention")
            } else {
                format!("layer {layer}, feed-forward")
            }
        }
        c if c == 2 * l + 1 => "the output layer".into(),
        c if c == 2 * l + 2 => "the loss".into(),
        c => {
            let index = (c - grads) as usize;
            let tensor = cfg.tensors().into_iter().find(|t| t.span.0 <= index && index < t.span.0 + t.span.1);
            format!("the gradient of {}", tensor.map_or("a parameter".into(), |t| t.name))
        }
    }
}

/// Element offsets into the run's buffer.
pub(super) struct Memory {
    pub(super) len: usize,
}

impl Memory {
    pub(super) fn take(&mut self, len: usize) -> u32 {
        let at = self.len;
        self.len += len;
        at as u32
    }
}

/// One layer's activations.
pub(super) struct LayerRegions {
    pub(super) x_in: u32,
    pub(super) n1: u32,
    pub(super) stats1: u32,
    pub(super) qkv: u32,
    pub(super) astats: u32,
    pub(super) att: u32,
    pub(super) x_mid: u32,
    pub(super) n2: u32,
    pub(super) stats2: u32,
    pub(super) h: u32,
    pub(super) a: u32,
}

/// What a step costs the CPU side, for the benchmark and the lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepCost {
    /// Queue submits per step (the loss readback adds one every few steps).
    pub submits: usize,
    /// Compute dispatches per step.
    pub dispatches: usize,
    /// Bytes the host writes per step (the batch and the scalars).
    pub bytes_written: usize,
    /// Bytes one [`GpuTrainer::read`](super::GpuTrainer::read) maps (the loss ring and the flags).
    pub bytes_read: usize,
}

/// What [`GpuTrainer::read`](super::GpuTrainer::read) found: the losses of the steps since the last read, and the
/// divergence, if a step had a NaN or an infinity (the parameters are those before it).
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub losses: Vec<f32>,
    pub divergence: Option<Divergence>,
}
