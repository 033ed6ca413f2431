//! The step's kernels: each an entry point of one of the WGSL files, compiled once per run,
//! and the grid each dispatch needs.

use super::GpuError;

/// The kernels of a step, each an entry point of one of the WGSL files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kernel {
    Gemm,
    EmbedForward,
    EmbedBackwardTokens,
    EmbedBackwardPositions,
    NormForward,
    NormBackwardInput,
    NormBackwardParams,
    AttendForward,
    AttendReweight,
    AttendFinish,
    AttendBackwardRows,
    AttendBackwardQueries,
    AttendBackwardKeys,
    QkNorm,
    QkNormBackward,
    Rope,
    UnitForward,
    UnitBackward,
    LossRows,
    LossSum,
    LossBackward,
    Check,
    NormPartial,
    NormFinish,
    Adamw,
}

pub(super) const KERNELS: [Kernel; 25] = [
    Kernel::Gemm,
    Kernel::EmbedForward,
    Kernel::EmbedBackwardTokens,
    Kernel::EmbedBackwardPositions,
    Kernel::NormForward,
    Kernel::NormBackwardInput,
    Kernel::NormBackwardParams,
    Kernel::AttendForward,
    Kernel::AttendReweight,
    Kernel::AttendFinish,
    Kernel::AttendBackwardRows,
    Kernel::AttendBackwardQueries,
    Kernel::AttendBackwardKeys,
    Kernel::QkNorm,
    Kernel::QkNormBackward,
    Kernel::Rope,
    Kernel::UnitForward,
    Kernel::UnitBackward,
    Kernel::LossRows,
    Kernel::LossSum,
    Kernel::LossBackward,
    Kernel::Check,
    Kernel::NormPartial,
    Kernel::NormFinish,
    Kernel::Adamw,
];

macro_rules! shader {
    ($file:literal) => {
        concat!(include_str!("common.wgsl"), include_str!($file))
    };
}

impl Kernel {
    /// The WGSL source (common.wgsl, then the kernel's file) and the entry point.
    pub(super) fn source(self) -> (&'static str, &'static str) {
        use Kernel::*;
        let file = match self {
            Gemm => shader!("../gemm.wgsl"),
            EmbedForward | EmbedBackwardTokens | EmbedBackwardPositions => shader!("embed.wgsl"),
            NormForward | NormBackwardInput | NormBackwardParams => shader!("norm.wgsl"),
            AttendForward
            | AttendReweight
            | AttendFinish
            | AttendBackwardRows
            | AttendBackwardQueries
            | AttendBackwardKeys
            | QkNorm
            | QkNormBackward
            | Rope => {
                shader!("attend.wgsl")
            }
            UnitForward | UnitBackward => shader!("unit.wgsl"),
            LossRows | LossSum | LossBackward => shader!("loss.wgsl"),
            Check | NormPartial | NormFinish | Adamw => shader!("optim.wgsl"),
        };
        let entry = match self {
            Gemm => "gemm",
            EmbedForward => "embed_forward",
            EmbedBackwardTokens => "embed_backward_tokens",
            EmbedBackwardPositions => "embed_backward_positions",
            NormForward => "norm_forward",
            NormBackwardInput => "norm_backward_input",
            NormBackwardParams => "norm_backward_params",
            AttendForward => "attend_forward",
            AttendReweight => "attend_reweight",
            AttendFinish => "attend_finish",
            AttendBackwardRows => "attend_backward_rows",
            AttendBackwardQueries => "attend_backward_queries",
            AttendBackwardKeys => "attend_backward_keys",
            QkNorm => "qk_norm",
            QkNormBackward => "qk_norm_backward",
            Rope => "rope",
            UnitForward => "unit_forward",
            UnitBackward => "unit_backward",
            LossRows => "loss_rows",
            LossSum => "loss_sum",
            LossBackward => "loss_backward",
            Check => "check",
            NormPartial => "norm_partial",
            NormFinish => "norm_finish",
            Adamw => "adamw",
        };
        (file, entry)
    }

    /// Whether the entry point binds the divergence flags (binding 2).
    pub(super) fn uses_flags(self) -> bool {
        matches!(self, Kernel::Check | Kernel::Adamw)
    }
}

/// Compiles the step's kernels (one pipeline per entry point, each module once).
pub(super) fn compile(device: &wgpu::Device) -> Vec<wgpu::ComputePipeline> {
    let mut modules: Vec<(&'static str, wgpu::ShaderModule)> = Vec::new();
    KERNELS
        .iter()
        .map(|&k| {
            let (source, entry) = k.source();
            let module = match modules.iter().find(|(s, _)| std::ptr::eq(*s, source)) {
                Some((_, m)) => m.clone(),
                None => {
                    let m = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(entry),
                        source: wgpu::ShaderSource::Wgsl(source.into()),
                    });
                    modules.push((source, m.clone()));
                    m
                }
            };
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        })
        .collect()
}

/// How many workgroups a dispatch needs.
#[derive(Clone, Copy)]
pub(super) enum Grid {
    /// One invocation per element, workgroups of 256 (spread over y past 65,535).
    Elements(usize),
    /// One invocation per row, workgroups of 64.
    Rows(usize),
    /// Exactly these workgroups.
    Groups(u32, u32),
}

impl Grid {
    pub(super) fn workgroups(self) -> Result<(u32, u32), GpuError> {
        let spread = |groups: usize| -> Result<(u32, u32), GpuError> {
            let x = groups.clamp(1, 65_535);
            let y = groups.div_ceil(x);
            if y > 65_535 {
                return Err(GpuError::Failed(format!("{groups} workgroups are more than one dispatch takes")));
            }
            Ok((x as u32, y as u32))
        };
        match self {
            Grid::Elements(n) => spread(n.div_ceil(256)),
            Grid::Rows(n) => spread(n.div_ceil(64)),
            Grid::Groups(x, y) => Ok((x, y)),
        }
    }
}

/// Words of a dispatch's parameters (the largest `Params` of the shaders: the attention's 17,
/// rounded up to a uniform's 16-byte alignment).
pub(super) const PARAMS: usize = 20;

/// One dispatch of the step: a kernel, its parameters and its grid.
pub(super) struct Op {
    pub(super) kernel: Kernel,
    pub(super) params: [u32; PARAMS],
    pub(super) grid: (u32, u32),
}

/// Records one dispatch of a kernel with its parameters over a grid (building a step).
pub(super) type Push<'p> = dyn FnMut(Kernel, &[u32], Grid) -> Result<(), GpuError> + 'p;
