//! Attention in the step: the normaliser's code, and the forward and backward dispatches,
//! which walk the keys (or the queries) in blocks so that no invocation loops too long.

use super::{
    kernels::{Grid, Kernel, Push},
    LayerRegions, NONE,
};
use crate::attention::{SoftmaxAlgorithm, Variant};
use crate::gpu::GpuError;

/// The attention kernels' normaliser code, scale and bias.
pub(super) fn attention_kind(variant: Variant) -> Result<u32, String> {
    match variant {
        Variant::Softmax(SoftmaxAlgorithm::Naive) => Err("the naive softmax has no backward pass".into()),
        Variant::Softmax(_) => Ok(0),
        Variant::Sigmoid { .. } => Ok(1),
        Variant::Relu => Ok(2),
        Variant::Linear => Ok(3),
        Variant::Lssa(_) | Variant::Lssar { .. } => {
            Err("LSSA and LSSAR have no GPU training kernel yet; the CPU trains them".into())
        }
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
    /// Keys (or queries) per dispatch.
    pub(super) block: usize,
}

impl Attention {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn params(
        &self,
        r: &LayerRegions,
        dqkv: u32,
        datt: u32,
        lo: usize,
        hi: usize,
        first: bool,
    ) -> [u32; 16] {
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
        ]
    }

    pub(super) fn blocks(&self) -> Vec<(usize, usize)> {
        let t = self.t as usize;
        (0..t).step_by(self.block).map(|lo| (lo, (lo + self.block).min(t))).collect()
    }

    pub(super) fn forward(&self, push: &mut Push, r: &LayerRegions) -> Result<(), GpuError> {
        let rows = Grid::Rows(self.rows as usize);
        for (i, (lo, hi)) in self.blocks().into_iter().enumerate() {
            push(Kernel::AttendForward, &self.params(r, NONE, NONE, lo, hi, i == 0), rows)?;
        }
        push(Kernel::AttendFinish, &self.params(r, NONE, NONE, 0, 0, false), rows)
    }

    pub(super) fn backward(&self, push: &mut Push, r: &LayerRegions, dqkv: u32, datt: u32) -> Result<(), GpuError> {
        let rows = Grid::Rows(self.rows as usize);
        for kernel in [Kernel::AttendBackwardQueries, Kernel::AttendBackwardKeys] {
            for (i, (lo, hi)) in self.blocks().into_iter().enumerate() {
                push(kernel, &self.params(r, dqkv, datt, lo, hi, i == 0), rows)?;
            }
        }
        Ok(())
    }
}
