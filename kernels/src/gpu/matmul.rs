//! The GPU twins of [`crate::model::matmul::matmul_forward`] and [`crate::model::matmul::matmul_backward`]:
//! the three products of a linear layer as one WGSL kernel (`gemm.wgsl`) read through strides,
//! as the CPU's `gemm` is. These functions upload, compute and read back once per call (for
//! the twin tests); the training step ([`super::train`]) keeps its tensors in one GPU buffer
//! and encodes the same kernel.

use wgpu::util::DeviceExt;

use super::{GpuContext, GpuError};

/// A linear layer's shape: `n` rows of `i` inputs to `o` outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulShape {
    pub n: usize,
    pub i: usize,
    pub o: usize,
}

/// Reduction steps per dispatch: an invocation runs about 17/16 loop iterations per step, and
/// llvmpipe stops an invocation after 65,535.
pub const GEMM_K_PER_DISPATCH: usize = 16_384;

/// Rows and columns of the tile of one workgroup (`gemm.wgsl`'s `T`).
const TILE: usize = 16;

/// One product `c (+)= a·b` as gemm.wgsl reads it: `a`, `b`, `c` are element offsets into
/// one buffer.
#[derive(Clone, Copy)]
struct Gemm {
    m: usize,
    n: usize,
    k: usize,
    a: usize,
    a_row: usize,
    a_col: usize,
    b: usize,
    b_row: usize,
    b_col: usize,
    c: usize,
    bias: Option<usize>,
    accumulate: bool,
}

/// The layer's gradients, as [`GpuContext::matmul_backward`] returns them.
#[derive(Clone, Debug, PartialEq)]
pub struct MatmulGrads {
    pub dinp: Vec<f32>,
    pub dw: Vec<f32>,
    pub dbias: Option<Vec<f32>>,
}

/// Tensors laid end to end in one buffer, as the training step keeps them.
struct Packed {
    data: Vec<f32>,
}

impl Packed {
    fn put(&mut self, values: &[f32]) -> usize {
        let at = self.data.len();
        self.data.extend_from_slice(values);
        at
    }
}

impl GpuContext {
    /// `out[N][O] = inp[N][I]·w[I][O] + bias[O]`, on the GPU.
    pub async fn matmul_forward(
        &self,
        inp: &[f32],
        w: &[f32],
        bias: Option<&[f32]>,
        s: MatmulShape,
    ) -> Result<Vec<f32>, GpuError> {
        check(s, &[("inp", inp, s.n * s.i), ("w", w, s.i * s.o)])?;
        if let Some(b) = bias {
            check(s, &[("bias", b, s.o)])?;
        }
        let mut mem = Packed { data: Vec::new() };
        let (a, b) = (mem.put(inp), mem.put(w));
        let bias = bias.map(|b| mem.put(b));
        let c = mem.put(&vec![0.0; s.n * s.o]);
        let product = Gemm {
            m: s.n,
            n: s.o,
            k: s.i,
            a,
            a_row: s.i,
            a_col: 1,
            b,
            b_row: s.o,
            b_col: 1,
            c,
            bias,
            accumulate: false,
        };
        let buffer = self.packed(&mem.data);
        let mut encoder = self.device.create_command_encoder(&Default::default());
        self.encode_gemm(&mut encoder, &buffer, product)?;
        let mut out = self.read(encoder, &buffer, mem.data.len()).await?;
        Ok(out.split_off(c))
    }

    /// `dinp += dout·wᵀ`, `dw += inpᵀ·dout`, `dbias += Σ_n dout`, on the GPU: returns the
    /// updated gradients (one submit, three products and the bias sum).
    #[allow(clippy::too_many_arguments)]
    pub async fn matmul_backward(
        &self,
        dinp: &[f32],
        dw: &[f32],
        dbias: Option<&[f32]>,
        dout: &[f32],
        inp: &[f32],
        w: &[f32],
        s: MatmulShape,
    ) -> Result<MatmulGrads, GpuError> {
        check(
            s,
            &[
                ("dinp", dinp, s.n * s.i),
                ("dw", dw, s.i * s.o),
                ("dout", dout, s.n * s.o),
                ("inp", inp, s.n * s.i),
                ("w", w, s.i * s.o),
            ],
        )?;
        if let Some(db) = dbias {
            check(s, &[("dbias", db, s.o)])?;
        }
        let mut mem = Packed { data: Vec::new() };
        let (dout_at, inp_at, w_at, one) = (mem.put(dout), mem.put(inp), mem.put(w), mem.put(&[1.0]));
        let (dinp_at, dw_at) = (mem.put(dinp), mem.put(dw));
        let dbias_at = dbias.map(|db| mem.put(db));
        let buffer = self.packed(&mem.data);
        let mut encoder = self.device.create_command_encoder(&Default::default());
        let product = |m, n, k, (a, a_row, a_col), (b, b_row, b_col), c| Gemm {
            m,
            n,
            k,
            a,
            a_row,
            a_col,
            b,
            b_row,
            b_col,
            c,
            bias: None,
            accumulate: true,
        };
        // dinp[n][i] += Σ_o dout[n][o]·w[i][o]: b(p, j) = w[j][p].
        self.encode_gemm(&mut encoder, &buffer, product(s.n, s.i, s.o, (dout_at, s.o, 1), (w_at, 1, s.o), dinp_at))?;
        // dw[i][o] += Σ_n inp[n][i]·dout[n][o]: a(r, p) = inp[p][r].
        self.encode_gemm(&mut encoder, &buffer, product(s.i, s.o, s.n, (inp_at, 1, s.i), (dout_at, s.o, 1), dw_at))?;
        // dbias[o] += Σ_n 1·dout[n][o]: a is a single one, read with zero strides.
        if let Some(db) = dbias_at {
            self.encode_gemm(&mut encoder, &buffer, product(1, s.o, s.n, (one, 0, 0), (dout_at, s.o, 1), db))?;
        }
        let mut all = self.read(encoder, &buffer, mem.data.len()).await?;
        let dbias = dbias_at.map(|at| all[at..at + s.o].to_vec());
        Ok(MatmulGrads {
            dinp: all[dinp_at..dinp_at + s.n * s.i].to_vec(),
            dw: all.split_off(dw_at).into_iter().take(s.i * s.o).collect(),
            dbias,
        })
    }

    /// Encodes `c (+)= a·b`, split along the reduction into dispatches of at most
    /// [`GEMM_K_PER_DISPATCH`] steps (each after the first accumulates).
    fn encode_gemm(&self, encoder: &mut wgpu::CommandEncoder, mem: &wgpu::Buffer, g: Gemm) -> Result<(), GpuError> {
        let groups = |len: usize| u32::try_from(len.div_ceil(TILE)).ok().filter(|&x| x <= 65_535);
        let (Some(gx), Some(gy)) = (groups(g.n), groups(g.m)) else {
            return Err(GpuError::Failed(format!("a {} × {} product is too large for one dispatch", g.m, g.n)));
        };
        let layout = self.gemm.get_bind_group_layout(0);
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&self.gemm);
        let starts: Vec<usize> = (0..g.k.max(1)).step_by(GEMM_K_PER_DISPATCH).collect();
        for (index, &k0) in starts.iter().enumerate() {
            let k1 = (k0 + GEMM_K_PER_DISPATCH).min(g.k);
            let first = index == 0;
            let none = u32::MAX as usize;
            let params: [u32; 16] = [
                g.m,
                g.n,
                k0,
                k1,
                g.a_row,
                g.a_col,
                g.b_row,
                g.b_col,
                g.a,
                g.b,
                g.c,
                g.bias.filter(|_| first).unwrap_or(none),
                none,
                usize::from(g.accumulate || !first),
                0,
                0,
            ]
            .map(|x| x as u32);
            let uniform = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("gemm params"),
                contents: bytemuck::cast_slice(&params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
            let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &layout,
                entries: &[
                    wgpu::BindGroupEntry { binding: 0, resource: mem.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 1, resource: uniform.as_entire_binding() },
                ],
            });
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        Ok(())
    }

    fn packed(&self, data: &[f32]) -> wgpu::Buffer {
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("gemm memory"),
            contents: bytemuck::cast_slice(data),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        })
    }

    /// Submits `encoder` with a copy of `c`'s first `floats` values and reads them back.
    async fn read(
        &self,
        mut encoder: wgpu::CommandEncoder,
        c: &wgpu::Buffer,
        floats: usize,
    ) -> Result<Vec<f32>, GpuError> {
        let size = (floats * 4) as wgpu::BufferAddress;
        let readback = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gemm readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_buffer_to_buffer(c, 0, &readback, 0, size);
        self.queue.submit([encoder.finish()]);
        self.read_back(&readback, floats).await
    }
}

/// Every buffer has exactly the length the shape needs, and the shape is not empty.
fn check(s: MatmulShape, buffers: &[(&str, &[f32], usize)]) -> Result<(), GpuError> {
    if s.n == 0 || s.i == 0 || s.o == 0 {
        return Err(GpuError::Failed(format!("n={}, i={}, o={}: each must be at least 1", s.n, s.i, s.o)));
    }
    for &(name, buffer, want) in buffers {
        if buffer.len() != want {
            return Err(GpuError::Failed(format!("{name} has {} values; the shape needs {want}", buffer.len())));
        }
    }
    Ok(())
}
