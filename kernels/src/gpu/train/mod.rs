//! The transformer's training step on the GPU: the twin of [`crate::model::train::Trainer`]'s
//! step ([`crate::model::transformer::forward`], `backward`, clipping and AdamW), with
//! parameters, gradients, Adam moments and activations resident in one GPU buffer.
//!
//! A run builds its step once: every kernel's parameters (element offsets into the buffer and
//! shapes) go into one uniform buffer, each dispatch gets its bind group, and a step is that
//! fixed list of dispatches in one compute pass. Per step the host writes the batch and the
//! step's scalars (one `write_buffer`) and submits once; the loss goes into a ring on the GPU
//! that [`GpuTrainer::read`] maps every few steps, so the host never waits on a step. A NaN
//! or an infinity sets a flag that skips every later update and names the place, as the CPU's
//! `Divergence` does. docs/ARCHITECTURE.md, “The GPU training step”.

mod attention;
mod kernels;
mod parts;

use wgpu::util::DeviceExt;

use self::{
    attention::Attention,
    kernels::{compile, Grid, Kernel, Op, Push, KERNELS, PARAMS},
    parts::{place_name, unit_kind, LayerRegions, Memory},
};
use super::{GpuContext, GpuError, GEMM_K_PER_DISPATCH};
use crate::model::{
    rope,
    train::{Divergence, Optimiser, TrainState},
    transformer::{Config, Norm, Positions, IGNORE},
};

pub use parts::{supports, Progress, StepCost};

/// Steps the loss ring holds: [`GpuTrainer::read`] must run at least this often.
pub const RING: usize = 256;
/// Largest head width the attention kernels take (their accumulators are fixed arrays).
const MAX_HD: usize = 256;
/// Loop iterations one invocation may run: llvmpipe stops one after 65,535 and drivers time
/// out long ones, so attention walks its keys in blocks of about this much work.
pub(super) const LOOP_BUDGET: usize = 30_000;
/// "No such tensor" in a kernel's parameters (`NONE` in the shaders).
const NONE: u32 = u32::MAX;
/// The step's scalars (common.wgsl's `S_…`).
const SCALARS: usize = 16;

/// A model training on the GPU.
pub struct GpuTrainer<'a> {
    ctx: &'a GpuContext,
    cfg: Config,
    opt: Optimiser,
    batch: usize,
    t: usize,
    total: usize,
    mem: wgpu::Buffer,
    flags: wgpu::Buffer,
    staging: wgpu::Buffer,
    _uniforms: wgpu::Buffer,
    pipelines: Vec<wgpu::ComputePipeline>,
    ops: Vec<(usize, wgpu::BindGroup, (u32, u32))>,
    input: u32,
    ring: u32,
    step: u32,
    read_through: u32,
    /// The step a NaN or an infinity stopped, once [`GpuTrainer::read`] has seen it.
    diverged: Option<u32>,
}

impl<'a> GpuTrainer<'a> {
    /// Uploads `params` (the layout of `cfg`) and builds the step for batches of `batch`
    /// sequences of `t` tokens; an error when the GPU lacks a kernel for a part of `cfg`, the
    /// shapes do not fit one buffer or a dispatch, or `params` has the wrong length.
    pub fn new(
        ctx: &'a GpuContext,
        cfg: &Config,
        opt: &Optimiser,
        batch: usize,
        t: usize,
        params: &[f32],
    ) -> Result<Self, GpuError> {
        cfg.check().map_err(GpuError::Failed)?;
        cfg.check_len(t).map_err(GpuError::Failed)?;
        supports(cfg).map_err(GpuError::Failed)?;
        let layout = cfg.layout();
        if params.len() != layout.total {
            return Err(GpuError::Failed(format!("{} parameters given, the model has {}", params.len(), layout.total)));
        }
        if batch == 0 || t == 0 {
            return Err(GpuError::Failed(format!("batch {batch} of {t} tokens: each must be at least 1")));
        }
        let (v, c, nh, hd, f) = (cfg.vocab, cfg.width, cfg.heads, cfg.head_dim(), cfg.ffn);
        let fw = cfg.fc1_width();
        let bt = batch * t;
        let total = layout.total;

        // The buffer: parameters, gradients, moments, the step's input, activations.
        let mut mem = Memory { len: 0 };
        let params_at = mem.take(total);
        let grads_at = mem.take(total);
        let m_at = mem.take(total);
        let v_at = mem.take(total);
        let input = mem.take(SCALARS + 2 * bt);
        let (scalars, tokens, targets) = (input, input + SCALARS as u32, input + (SCALARS + bt) as u32);
        let ring = mem.take(RING);
        let one = mem.take(1);
        let turns = if cfg.positions == Positions::Rope { rope::turns(t, hd) } else { Vec::new() };
        let turns_at = mem.take(2 * turns.len());
        let layers: Vec<LayerRegions> = (0..cfg.layers)
            .map(|_| LayerRegions {
                x_in: mem.take(bt * c),
                n1: mem.take(bt * c),
                stats1: mem.take(2 * bt),
                qkv: mem.take(bt * 3 * c),
                // Per head row: max, sum, LSSAR's Σ r, D and LSSAR's E; then the l2 norms of q
                // and k (LSSA, LSSAR).
                astats: mem.take(7 * batch * nh * t),
                att: mem.take(bt * c),
                x_mid: mem.take(bt * c),
                n2: mem.take(bt * c),
                stats2: mem.take(2 * bt),
                h: mem.take(bt * fw),
                a: mem.take(bt * f),
            })
            .collect();
        let x_last = mem.take(bt * c);
        let nf = mem.take(bt * c);
        let statsf = mem.take(2 * bt);
        let logits = mem.take(bt * v);
        let row_loss = mem.take(bt);
        let dres = mem.take(bt * c);
        let dn = mem.take(bt * c);
        let datt = mem.take(bt * c);
        let dqkv = mem.take(bt * 3 * c);
        let da = mem.take(bt * f);
        let dh = mem.take(bt * fw);
        let per_thread = total.div_ceil(256 * 4096).max(1);
        let norm_groups = total.div_ceil(256 * per_thread);
        let partials = mem.take(norm_groups);
        let limits = ctx.device.limits();
        let bytes = (mem.len * 4) as u64;
        let limit = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        if bytes > limit || mem.len >= NONE as usize {
            return Err(GpuError::Failed(format!(
                "the run needs {} MB on the GPU in one buffer; this adapter binds at most {} MB",
                bytes >> 20,
                limit >> 20
            )));
        }

        let span = |s: (usize, usize)| s.0 as u32;
        let opt_span = |s: (usize, usize)| if s.1 == 0 { NONE } else { s.0 as u32 };
        let (bt32, c32, v32) = (bt as u32, c as u32, v as u32);
        let layer_norm = u32::from(cfg.norm == Norm::Layer);
        let mut ops: Vec<Op> = Vec::new();
        let mut push = |kernel: Kernel, params: &[u32], grid: Grid| -> Result<(), GpuError> {
            let mut p = [0u32; PARAMS];
            p[..params.len()].copy_from_slice(params);
            ops.push(Op { kernel, params: p, grid: grid.workgroups()? });
            Ok(())
        };
        // c (+)= a·b (+ bias) (+ resid): m × n over k, with strides; split along k.
        let gemm = |push: &mut Push,
                    (m, n, k): (usize, usize, usize),
                    (a, a_row, a_col): (u32, usize, usize),
                    (b, b_row, b_col): (u32, usize, usize),
                    out: u32,
                    bias: u32,
                    resid: u32,
                    accumulate: bool|
         -> Result<(), GpuError> {
            let groups = |len: usize| u32::try_from(len.div_ceil(16)).ok().filter(|&x| x <= 65_535);
            let (Some(gx), Some(gy)) = (groups(n), groups(m)) else {
                return Err(GpuError::Failed(format!("a {m} × {n} product is too large for one dispatch")));
            };
            for (index, k0) in (0..k.max(1)).step_by(GEMM_K_PER_DISPATCH).enumerate() {
                let k1 = (k0 + GEMM_K_PER_DISPATCH).min(k);
                let first = index == 0;
                let params = [
                    m as u32,
                    n as u32,
                    k0 as u32,
                    k1 as u32,
                    a_row as u32,
                    a_col as u32,
                    b_row as u32,
                    b_col as u32,
                    a,
                    b,
                    out,
                    if first { bias } else { NONE },
                    if first { resid } else { NONE },
                    u32::from(accumulate || !first),
                ];
                push(Kernel::Gemm, &params, Grid::Groups(gx, gy))?;
            }
            Ok(())
        };
        let check = |push: &mut Push, at: u32, len: usize, code: u32, indexed: bool| {
            push(Kernel::Check, &[at, len as u32, code, u32::from(indexed), scalars], Grid::Elements(len))
        };
        let attention = Attention::new(cfg.attention, batch, t, nh, hd, c)?;
        let (unit, gated, beta) = unit_kind(cfg.hidden).map_err(GpuError::Failed)?;
        let rope = |push: &mut Push, at: u32, sign: f32| {
            let mut p = [0u32; PARAMS];
            p[0] = bt32;
            p[1] = t as u32;
            p[2] = hd as u32;
            p[3] = nh as u32;
            p[4] = c32;
            p[5] = at;
            p[6] = turns_at;
            p[15] = sign.to_bits();
            push(Kernel::Rope, &p, Grid::Rows(bt * 2 * nh * (hd / 2)))
        };
        let norm = |push: &mut Push, (x, y, g, b, stats): (u32, u32, u32, u32, u32)| {
            push(Kernel::NormForward, &[bt32, c32, layer_norm, x, y, g, b, stats], Grid::Rows(bt))
        };
        let norm_back = |push: &mut Push,
                         (x, g, stats): (u32, u32, u32),
                         (dy, dx, dg, db): (u32, u32, u32, u32),
                         accumulate: bool|
         -> Result<(), GpuError> {
            let p = [bt32, c32, layer_norm, x, NONE, g, NONE, stats, dy, dx, dg, db, u32::from(accumulate)];
            push(Kernel::NormBackwardInput, &p, Grid::Rows(bt))?;
            push(Kernel::NormBackwardParams, &p, Grid::Rows(c))
        };

        // Forward.
        let wte = span(layout.wte);
        let wpe = if cfg.positions == Positions::Learned { span(layout.wpe) } else { NONE };
        push(
            Kernel::EmbedForward,
            &[bt32, c32, t as u32, v32, layers.first().map_or(x_last, |l| l.x_in), tokens, params_at + wte, {
                if wpe == NONE {
                    NONE
                } else {
                    params_at + wpe
                }
            }],
            Grid::Elements(bt * c),
        )?;
        check(&mut push, layers.first().map_or(x_last, |l| l.x_in), bt * c, 0, false)?;
        let p = |s: (usize, usize)| params_at + span(s);
        let p_opt = |s: (usize, usize)| if s.1 == 0 { NONE } else { params_at + span(s) };
        for (li, (r, l)) in layers.iter().zip(&layout.layers).enumerate() {
            let x_out = layers.get(li + 1).map_or(x_last, |n| n.x_in);
            norm(&mut push, (r.x_in, r.n1, p(l.ln1), p_opt(l.ln1_b), r.stats1))?;
            gemm(&mut push, (bt, 3 * c, c), (r.n1, c, 1), (p(l.qkv), 3 * c, 1), r.qkv, NONE, NONE, false)?;
            if cfg.positions == Positions::Rope {
                rope(&mut push, r.qkv, 1.0)?;
            }
            attention.forward(&mut push, r)?;
            gemm(&mut push, (bt, c, c), (r.att, c, 1), (p(l.proj), c, 1), r.x_mid, NONE, r.x_in, false)?;
            check(&mut push, r.x_mid, bt * c, 1 + 2 * li as u32, false)?;
            norm(&mut push, (r.x_mid, r.n2, p(l.ln2), p_opt(l.ln2_b), r.stats2))?;
            gemm(&mut push, (bt, fw, c), (r.n2, c, 1), (p(l.fc1), fw, 1), r.h, p(l.b1), NONE, false)?;
            push(Kernel::UnitForward, &[bt32, f as u32, unit, u32::from(gated), r.h, r.a, 0, 0, beta.to_bits()], {
                Grid::Elements(bt * f)
            })?;
            gemm(&mut push, (bt, c, f), (r.a, f, 1), (p(l.fc2), c, 1), x_out, p(l.b2), r.x_mid, false)?;
            check(&mut push, x_out, bt * c, 2 + 2 * li as u32, false)?;
        }
        let l_count = cfg.layers as u32;
        norm(&mut push, (x_last, nf, p(layout.lnf), p_opt(layout.lnf_b), statsf))?;
        let out_span = if cfg.tied { layout.wte } else { layout.out };
        let w_out = p(out_span);
        gemm(&mut push, (bt, v, c), (nf, c, 1), (w_out, 1, c), logits, NONE, NONE, false)?;
        check(&mut push, logits, bt * v, 1 + 2 * l_count, false)?;
        let loss_params = [bt32, v32, logits, targets, row_loss, scalars, ring];
        push(Kernel::LossRows, &loss_params, Grid::Rows(bt))?;
        push(Kernel::LossSum, &loss_params, Grid::Groups(1, 1))?;
        check(&mut push, scalars + 8, 1, 2 + 2 * l_count, false)?;

        // Backward.
        let g = |s: (usize, usize)| grads_at + span(s);
        let g_opt = |s: (usize, usize)| if s.1 == 0 { NONE } else { grads_at + span(s) };
        push(Kernel::LossBackward, &loss_params, Grid::Elements(bt * v))?;
        gemm(&mut push, (bt, c, v), (logits, v, 1), (w_out, c, 1), dn, NONE, NONE, false)?;
        gemm(&mut push, (v, c, bt), (logits, 1, v), (nf, c, 1), g(out_span), NONE, NONE, false)?;
        norm_back(&mut push, (x_last, p(layout.lnf), statsf), (dn, dres, g(layout.lnf), g_opt(layout.lnf_b)), false)?;
        for (r, l) in layers.iter().zip(&layout.layers).rev() {
            // x_out = x_mid + unit(n2·W₁ + b₁)·W₂ + b₂; dres is ∂L/∂x_out.
            gemm(&mut push, (bt, f, c), (dres, c, 1), (p(l.fc2), 1, c), da, NONE, NONE, false)?;
            gemm(&mut push, (f, c, bt), (r.a, 1, f), (dres, c, 1), g(l.fc2), NONE, NONE, false)?;
            gemm(&mut push, (1, c, bt), (one, 0, 0), (dres, c, 1), g(l.b2), NONE, NONE, false)?;
            push(Kernel::UnitBackward, &[bt32, f as u32, unit, u32::from(gated), r.h, r.a, da, dh, beta.to_bits()], {
                Grid::Elements(bt * f)
            })?;
            gemm(&mut push, (bt, c, fw), (dh, fw, 1), (p(l.fc1), 1, fw), dn, NONE, NONE, false)?;
            gemm(&mut push, (c, fw, bt), (r.n2, 1, c), (dh, fw, 1), g(l.fc1), NONE, NONE, false)?;
            gemm(&mut push, (1, fw, bt), (one, 0, 0), (dh, fw, 1), g(l.b1), NONE, NONE, false)?;
            norm_back(&mut push, (r.x_mid, p(l.ln2), r.stats2), (dn, dres, g(l.ln2), g_opt(l.ln2_b)), true)?;
            // x_mid = x_in + attention(rope(n1·W_qkv))·W_proj; dres is ∂L/∂x_mid.
            gemm(&mut push, (bt, c, c), (dres, c, 1), (p(l.proj), 1, c), datt, NONE, NONE, false)?;
            gemm(&mut push, (c, c, bt), (r.att, 1, c), (dres, c, 1), g(l.proj), NONE, NONE, false)?;
            attention.backward(&mut push, r, dqkv, datt)?;
            if cfg.positions == Positions::Rope {
                rope(&mut push, dqkv, -1.0)?;
            }
            gemm(&mut push, (bt, c, 3 * c), (dqkv, 3 * c, 1), (p(l.qkv), 1, 3 * c), dn, NONE, NONE, false)?;
            gemm(&mut push, (c, 3 * c, bt), (r.n1, 1, c), (dqkv, 3 * c, 1), g(l.qkv), NONE, NONE, false)?;
            norm_back(&mut push, (r.x_in, p(l.ln1), r.stats1), (dn, dres, g(l.ln1), g_opt(l.ln1_b)), true)?;
        }
        let embed_back =
            [bt32, c32, t as u32, v32, dres, tokens, grads_at + wte, opt_span(layout.wpe), batch as u32, 0];
        let mut tokens_back = embed_back;
        tokens_back[9] = u32::from(cfg.tied);
        push(Kernel::EmbedBackwardTokens, &tokens_back, Grid::Elements(v * c))?;
        if wpe != NONE {
            let mut positions_back = embed_back;
            positions_back[7] = grads_at + wpe;
            push(Kernel::EmbedBackwardPositions, &positions_back, Grid::Elements(t * c))?;
        }

        // The update.
        check(&mut push, grads_at, total, 3 + 2 * l_count, true)?;
        let optim = |at: u32, len: usize, groups: usize| -> [u32; 16] {
            [
                at,
                len as u32,
                0,
                per_thread as u32,
                scalars,
                partials,
                groups as u32,
                m_at,
                v_at,
                grads_at,
                opt.beta1.to_bits(),
                opt.beta2.to_bits(),
                opt.eps.to_bits(),
                opt.weight_decay.to_bits(),
                opt.clip.to_bits(),
                0,
            ]
        };
        push(Kernel::NormPartial, &optim(grads_at, total, norm_groups), Grid::Groups(norm_groups as u32, 1))?;
        push(Kernel::NormFinish, &optim(grads_at, total, norm_groups), Grid::Groups(1, 1))?;
        push(Kernel::Adamw, &optim(params_at, total, norm_groups), Grid::Elements(total))?;

        // Buffers, the uniforms of every dispatch (256 bytes apart) and their bind groups.
        let device = &ctx.device;
        let mem_buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("training memory"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        ctx.queue.write_buffer(&mem_buffer, u64::from(params_at) * 4, bytemuck::cast_slice(params));
        ctx.queue.write_buffer(&mem_buffer, u64::from(one) * 4, bytemuck::cast_slice(&[1.0f32]));
        if !turns.is_empty() {
            let table: Vec<f32> = turns.iter().flat_map(|&(c, s)| [c, s]).collect();
            ctx.queue.write_buffer(&mem_buffer, u64::from(turns_at) * 4, bytemuck::cast_slice(&table));
        }
        let flags = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("divergence flags"),
            contents: bytemuck::cast_slice(&[NONE; 4]),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        });
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("training readback"),
            size: ((RING + 4) * 4).max(3 * total * 4) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let stride = 256usize;
        let mut uniform_bytes = vec![0u8; ops.len() * stride];
        for (i, op) in ops.iter().enumerate() {
            uniform_bytes[i * stride..i * stride + 4 * PARAMS].copy_from_slice(bytemuck::cast_slice(&op.params));
        }
        let uniforms = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("training step parameters"),
            contents: &uniform_bytes,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let pipelines = compile(device);
        let ops = ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let index = KERNELS.iter().position(|k| *k == op.kernel).expect("every kernel is listed");
                let mut entries = vec![
                    wgpu::BindGroupEntry { binding: 0, resource: mem_buffer.as_entire_binding() },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: &uniforms,
                            offset: (i * stride) as u64,
                            size: std::num::NonZeroU64::new(4 * PARAMS as u64),
                        }),
                    },
                ];
                if op.kernel.uses_flags() {
                    entries.push(wgpu::BindGroupEntry { binding: 2, resource: flags.as_entire_binding() });
                }
                let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &pipelines[index].get_bind_group_layout(0),
                    entries: &entries,
                });
                (index, bind_group, op.grid)
            })
            .collect();
        Ok(GpuTrainer {
            ctx,
            cfg: cfg.clone(),
            opt: *opt,
            batch,
            t,
            total,
            mem: mem_buffer,
            flags,
            staging,
            _uniforms: uniforms,
            pipelines,
            ops,
            input,
            ring,
            step: 0,
            read_through: 0,
            diverged: None,
        })
    }

    /// A run that goes on from `state` (taken on the CPU or another GPU run): its parameters,
    /// Adam moments and step count.
    pub fn with_state(
        ctx: &'a GpuContext,
        cfg: &Config,
        opt: &Optimiser,
        batch: usize,
        t: usize,
        state: &TrainState,
    ) -> Result<Self, GpuError> {
        let mut run = GpuTrainer::new(ctx, cfg, opt, batch, t, &state.params)?;
        run.load(state)?;
        Ok(run)
    }

    /// Goes on from `state` instead of where the run is (its parameters, Adam moments and step
    /// count), without building the step again. Losses not read back yet are dropped.
    pub fn load(&mut self, state: &TrainState) -> Result<(), GpuError> {
        let n = self.total;
        if state.params.len() != n || state.m.len() != n || state.v.len() != n {
            return Err(GpuError::Failed(format!(
                "a state of {} parameters and moments of {} and {} values for a model of {n}",
                state.params.len(),
                state.m.len(),
                state.v.len()
            )));
        }
        // The parameters first in the buffer, then their gradients, then the moments.
        let queue = &self.ctx.queue;
        queue.write_buffer(&self.mem, 0, bytemuck::cast_slice(&state.params));
        queue.write_buffer(&self.mem, (2 * n * 4) as u64, bytemuck::cast_slice(&state.m));
        queue.write_buffer(&self.mem, (3 * n * 4) as u64, bytemuck::cast_slice(&state.v));
        self.step = state.step;
        self.read_through = state.step;
        Ok(())
    }

    /// Steps submitted so far.
    pub fn step(&self) -> u32 {
        self.step
    }

    /// What a step costs the CPU side.
    pub fn cost(&self) -> StepCost {
        StepCost {
            submits: 1,
            dispatches: self.ops.len(),
            bytes_written: (SCALARS + 2 * self.batch * self.t) * 4,
            bytes_read: (RING + 4) * 4,
        }
    }

    /// Submits one training step on `tokens`, `targets` (`[batch, t]`, [`IGNORE`] where no
    /// target); returns at once. An error when the ring would overwrite losses not yet read.
    pub fn submit(&mut self, tokens: &[u32], targets: &[u32]) -> Result<(), GpuError> {
        let bt = self.batch * self.t;
        if tokens.len() != bt || targets.len() != bt {
            return Err(GpuError::Failed(format!(
                "{} tokens and {} targets given; the step takes {bt} of each",
                tokens.len(),
                targets.len()
            )));
        }
        if let Some(&bad) =
            tokens.iter().chain(targets.iter().filter(|&&y| y != IGNORE)).find(|&&x| x as usize >= self.cfg.vocab)
        {
            return Err(GpuError::Failed(format!("token {bad}: the vocabulary is 0..{}", self.cfg.vocab)));
        }
        if (self.step - self.read_through) as usize >= RING {
            return Err(GpuError::Failed(format!("{RING} steps not read back: read the losses first")));
        }
        self.step += 1;
        let t = self.step;
        let o = &self.opt;
        let count = targets.iter().filter(|&&y| y != IGNORE).count().max(1);
        let mut input = vec![0.0f32; SCALARS + 2 * bt];
        input[0] = o.lr_at(t - 1);
        input[1] = 1.0 - o.beta1.powi(t as i32);
        input[2] = 1.0 - o.beta2.powi(t as i32);
        input[3] = count as f32;
        input[4] = t as f32;
        input[5] = ((t - 1) as usize % RING) as f32;
        for (i, &x) in tokens.iter().enumerate() {
            input[SCALARS + i] = x as f32;
        }
        for (i, &y) in targets.iter().enumerate() {
            input[SCALARS + bt + i] = if y == IGNORE { -1.0 } else { y as f32 };
        }
        self.ctx.queue.write_buffer(&self.mem, u64::from(self.input) * 4, bytemuck::cast_slice(&input));
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for (pipeline, bind_group, (x, y)) in &self.ops {
                pass.set_pipeline(&self.pipelines[*pipeline]);
                pass.set_bind_group(0, bind_group, &[]);
                pass.dispatch_workgroups(*x, *y, 1);
            }
        }
        self.ctx.queue.submit([encoder.finish()]);
        Ok(())
    }

    /// The losses of the steps submitted since the last read, and the divergence if one
    /// happened (waits for those steps to finish).
    pub async fn read(&mut self) -> Result<Progress, GpuError> {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.mem, u64::from(self.ring) * 4, &self.staging, 0, (RING * 4) as u64);
        encoder.copy_buffer_to_buffer(&self.flags, 0, &self.staging, (RING * 4) as u64, 16);
        self.ctx.queue.submit([encoder.finish()]);
        let values = self.ctx.read_back(&self.staging, RING + 4).await?;
        let flag = |i: usize| values[RING + i].to_bits();
        let divergence = (flag(1) != NONE).then(|| Divergence { step: flag(1), place: place_name(&self.cfg, flag(0)) });
        if let Some(d) = &divergence {
            self.diverged.get_or_insert(d.step);
        }
        let losses = (self.read_through..self.step).map(|s| values[s as usize % RING]).collect();
        self.read_through = self.step;
        Ok(Progress { losses, divergence })
    }

    /// The current parameters (waits for the submitted steps).
    pub async fn params(&self) -> Result<Vec<f32>, GpuError> {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.mem, 0, &self.staging, 0, (self.total * 4) as u64);
        self.ctx.queue.submit([encoder.finish()]);
        self.ctx.read_back(&self.staging, self.total).await
    }

    /// The gradients of the last submitted step (before clipping), for the reference tests.
    pub async fn grads(&self) -> Result<Vec<f32>, GpuError> {
        let n = (self.total * 4) as u64;
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.mem, n, &self.staging, 0, n);
        self.ctx.queue.submit([encoder.finish()]);
        self.ctx.read_back(&self.staging, self.total).await
    }

    /// The parameters, moments and step after the submitted steps (waits for them), to go
    /// on elsewhere. After a divergence [`GpuTrainer::read`] found, they are those before it.
    pub async fn state(&self) -> Result<TrainState, GpuError> {
        let step = self.diverged.map_or(self.step, |d| d - 1);
        let n = self.total;
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.mem, 0, &self.staging, 0, (n * 4) as u64);
        encoder.copy_buffer_to_buffer(&self.mem, (2 * n * 4) as u64, &self.staging, (n * 4) as u64, (2 * n * 4) as u64);
        self.ctx.queue.submit([encoder.finish()]);
        let mut values = self.ctx.read_back(&self.staging, 3 * n).await?;
        let v = values.split_off(2 * n);
        let m = values.split_off(n);
        Ok(TrainState { params: values, m, v, step })
    }
}
