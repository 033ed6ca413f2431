//! The GPU twins of [`crate::model::matmul::matmul_forward`] and [`crate::model::matmul::matmul_backward`]:
//! the three products of a linear layer as one WGSL kernel (`gemm.wgsl`) read through strides,
//! as the CPU's `gemm` is. The first piece of the GPU training path: these functions upload,
//! compute and read back once per call (for the twin tests); the training step will keep its
//! buffers on the GPU and encode the same dispatches.

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

/// One product `c (+)= a·b` as gemm.wgsl reads it.
#[derive(Clone, Copy)]
struct Gemm {
    m: usize,
    n: usize,
    k: usize,
    a_row: usize,
    a_col: usize,
    b_row: usize,
    b_col: usize,
    accumulate: bool,
}

/// The layer's gradients, as [`GpuContext::matmul_backward`] returns them.
#[derive(Clone, Debug, PartialEq)]
pub struct MatmulGrads {
    pub dinp: Vec<f32>,
    pub dw: Vec<f32>,
    pub dbias: Option<Vec<f32>>,
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
        let start: Vec<f32> = match bias {
            Some(b) => b.iter().copied().cycle().take(s.n * s.o).collect(),
            None => vec![0.0; s.n * s.o],
        };
        let (a, b, c) = (self.input("inp", inp), self.input("w", w), self.output("out", &start));
        let product =
            Gemm { m: s.n, n: s.o, k: s.i, a_row: s.i, a_col: 1, b_row: s.o, b_col: 1, accumulate: bias.is_some() };
        let mut encoder = self.device.create_command_encoder(&Default::default());
        self.encode_gemm(&mut encoder, &a, &b, &c, product)?;
        self.read(encoder, &c, s.n * s.o).await
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
        let (dout_b, inp_b, w_b) = (self.input("dout", dout), self.input("inp", inp), self.input("w", w));
        let (dinp_b, dw_b) = (self.output("dinp", dinp), self.output("dw", dw));
        let mut encoder = self.device.create_command_encoder(&Default::default());
        // dinp[n][i] += Σ_o dout[n][o]·w[i][o]: b(p, j) = w[j][p].
        let to_inputs = Gemm { m: s.n, n: s.i, k: s.o, a_row: s.o, a_col: 1, b_row: 1, b_col: s.o, accumulate: true };
        self.encode_gemm(&mut encoder, &dout_b, &w_b, &dinp_b, to_inputs)?;
        // dw[i][o] += Σ_n inp[n][i]·dout[n][o]: a(r, p) = inp[p][r].
        let to_weights = Gemm { m: s.i, n: s.o, k: s.n, a_row: 1, a_col: s.i, b_row: s.o, b_col: 1, accumulate: true };
        self.encode_gemm(&mut encoder, &inp_b, &dout_b, &dw_b, to_weights)?;
        // dbias[o] += Σ_n 1·dout[n][o]: a is a single one, read with zero strides.
        let dbias_b = match dbias {
            Some(db) => {
                let (ones, out) = (self.input("one", &[1.0]), self.output("dbias", db));
                let sum = Gemm { m: 1, n: s.o, k: s.n, a_row: 0, a_col: 0, b_row: s.o, b_col: 1, accumulate: true };
                self.encode_gemm(&mut encoder, &ones, &dout_b, &out, sum)?;
                Some(out)
            }
            None => None,
        };
        let size = |floats: usize| (floats * 4) as wgpu::BufferAddress;
        let readback = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("matmul_backward readback"),
            size: size(s.n * s.i + s.i * s.o + s.o),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_buffer_to_buffer(&dinp_b, 0, &readback, 0, size(s.n * s.i));
        encoder.copy_buffer_to_buffer(&dw_b, 0, &readback, size(s.n * s.i), size(s.i * s.o));
        if let Some(db) = &dbias_b {
            encoder.copy_buffer_to_buffer(db, 0, &readback, size(s.n * s.i + s.i * s.o), size(s.o));
        }
        self.queue.submit([encoder.finish()]);
        let mut all = self.read_back(&readback, s.n * s.i + s.i * s.o + s.o).await?;
        let bias_values = all.split_off(s.n * s.i + s.i * s.o);
        let dbias = dbias.map(|_| bias_values);
        let dw = all.split_off(s.n * s.i);
        Ok(MatmulGrads { dinp: all, dw, dbias })
    }

    /// Encodes `c (+)= a·b`, split along the reduction into dispatches of at most
    /// [`GEMM_K_PER_DISPATCH`] steps (each after the first accumulates).
    fn encode_gemm(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        a: &wgpu::Buffer,
        b: &wgpu::Buffer,
        c: &wgpu::Buffer,
        g: Gemm,
    ) -> Result<(), GpuError> {
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
            let accumulate = g.accumulate || index > 0;
            let params: [u32; 12] =
                [g.m, g.n, k0, k1, g.a_row, g.a_col, g.b_row, g.b_col, usize::from(accumulate), 0, 0, 0]
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
                    wgpu::BindGroupEntry { binding: 0, resource: a.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 1, resource: b.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 2, resource: c.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 3, resource: uniform.as_entire_binding() },
                ],
            });
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        Ok(())
    }

    fn input(&self, label: &str, data: &[f32]) -> wgpu::Buffer {
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(data),
            usage: wgpu::BufferUsages::STORAGE,
        })
    }

    fn output(&self, label: &str, start: &[f32]) -> wgpu::Buffer {
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(start),
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
