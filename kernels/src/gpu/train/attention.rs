//! Attention in the step: the normaliser's code, and the forward and backward dispatches,
//! which walk the keys (or the queries) in blocks so that no invocation loops too long.

use super::{
    kernels::{Grid, Kernel, Push},
    LayerRegions, LOOP_BUDGET, NONE,
};
use crate::attention::{sigmoid::bias_or_default, Lssa, LssaScale, SoftmaxAlgorithm, Variant};
use crate::gpu::GpuError;

/// LSSAR's normaliser code.
const LSSAR: u32 = 5;

/// The attention kernels' normaliser code, scale and bias.
pub(super) fn attention_kind(variant: Variant) -> Result<u32, String> {
    match variant {
        Variant::Softmax(SoftmaxAlgorithm::Naive) => Err("the naive softmax has no backward pass".into()),
        Variant::Softmax(_) => Ok(0),
        Variant::Sigmoid { .. } => Ok(1),
        Variant::Relu => Ok(2),
        Variant::Linear => Ok(3),
        Variant::Lssa(_) => Ok(4),
        Variant::Lssar { .. } => Ok(5),
    }
}

/// The attention kernels' shared parameters.
pub(super) struct Attention {
    pub(super) rows: u32,
    pub(super) t: u32,
    pub(super) hd: u32,
    pub(super) heads: u32,
    pub(super) c: u32,
    pub(super) kind: u32,
    pub(super) scale: f32,
    pub(super) bias: f32,
    /// LSSAR's re-weighting power (0 for the others).
    pub(super) power: f32,
    /// LSSA's qk-norm: q and k l2-normalised in place before the scores.
    pub(super) qk_norm: bool,
    /// Keys (or queries) per dispatch.
    pub(super) block: usize,
}

impl Attention {
    /// The attention of `variant` over `batch` sequences of `t` tokens, `heads` heads of `hd`
    /// values in a model of width `c`.
    pub(super) fn new(
        variant: Variant,
        batch: usize,
        t: usize,
        heads: usize,
        hd: usize,
        c: usize,
    ) -> Result<Self, GpuError> {
        let kind = attention_kind(variant).map_err(GpuError::Failed)?;
        let inv_sqrt_d = 1.0 / (hd as f32).sqrt();
        // The row scale `scale`, times ln N_i where `bias` is 1 (LSSA's ln d · ln N_i).
        let lssa = |l: Lssa| match l.scale {
            LssaScale::None => (1.0, 0.0, l.qk_norm),
            LssaScale::InvSqrtD => (inv_sqrt_d, 0.0, l.qk_norm),
            LssaScale::LnDLnN => ((hd as f32).ln(), 1.0, l.qk_norm),
        };
        let (scale, bias, qk_norm) = match variant {
            Variant::Linear => (1.0, 0.0, false),
            Variant::Sigmoid { bias } => (inv_sqrt_d, bias_or_default(bias, t), false),
            Variant::Lssa(l) | Variant::Lssar { lssa: l, .. } => lssa(l),
            _ => (inv_sqrt_d, 0.0, false),
        };
        let power = if let Variant::Lssar { p, .. } = variant { p } else { 0.0 };
        Ok(Attention {
            rows: (batch * heads * t) as u32,
            t: t as u32,
            hd: hd as u32,
            heads: heads as u32,
            c: c as u32,
            kind,
            scale,
            bias,
            power,
            qk_norm,
            block: (LOOP_BUDGET / (3 * hd + 8)).max(1),
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn params(
        &self,
        r: &LayerRegions,
        dqkv: u32,
        datt: u32,
        lo: usize,
        hi: usize,
        first: bool,
    ) -> [u32; 17] {
        [
            self.rows,
            self.t,
            self.hd,
            self.heads,
            self.c,
            r.qkv,
            r.att,
            r.astats,
            dqkv,
            datt,
            self.kind,
            lo as u32,
            hi as u32,
            u32::from(first),
            self.scale.to_bits(),
            self.bias.to_bits(),
            self.power.to_bits(),
        ]
    }

    pub(super) fn blocks(&self) -> Vec<(usize, usize)> {
        let t = self.t as usize;
        (0..t).step_by(self.block).map(|lo| (lo, (lo + self.block).min(t))).collect()
    }

    pub(super) fn forward(&self, push: &mut Push, r: &LayerRegions) -> Result<(), GpuError> {
        let rows = Grid::Rows(self.rows as usize);
        if self.qk_norm {
            push(Kernel::QkNorm, &self.params(r, NONE, NONE, 0, 0, false), Grid::Rows(2 * self.rows as usize))?;
        }
        // LSSAR: a second pass over the keys, once the first has the rows' LSSA statistics.
        let passes: &[Kernel] = if self.kind == LSSAR {
            &[Kernel::AttendForward, Kernel::AttendReweight]
        } else {
            &[Kernel::AttendForward]
        };
        for &kernel in passes {
            for (i, (lo, hi)) in self.blocks().into_iter().enumerate() {
                push(kernel, &self.params(r, NONE, NONE, lo, hi, i == 0), rows)?;
            }
        }
        push(Kernel::AttendFinish, &self.params(r, NONE, NONE, 0, 0, false), rows)
    }

    pub(super) fn backward(&self, push: &mut Push, r: &LayerRegions, dqkv: u32, datt: u32) -> Result<(), GpuError> {
        let rows = Grid::Rows(self.rows as usize);
        // LSSAR: first the row sums its gradient needs.
        let passes: &[Kernel] = if self.kind == LSSAR {
            &[Kernel::AttendBackwardRows, Kernel::AttendBackwardQueries, Kernel::AttendBackwardKeys]
        } else {
            &[Kernel::AttendBackwardQueries, Kernel::AttendBackwardKeys]
        };
        for &kernel in passes {
            for (i, (lo, hi)) in self.blocks().into_iter().enumerate() {
                push(kernel, &self.params(r, dqkv, datt, lo, hi, i == 0), rows)?;
            }
        }
        if self.qk_norm {
            push(Kernel::QkNormBackward, &self.params(r, dqkv, datt, 0, 0, false), Grid::Rows(2 * self.rows as usize))?;
        }
        Ok(())
    }
}
