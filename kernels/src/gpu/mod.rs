//! The GPU twins of the CPU kernels, through wgpu: WebGPU in the browser, Vulkan natively.
//!
//! The shape follows wgpu's `hello_compute`: adapter, device, buffers, pipeline, dispatch and
//! readback in one readable place, each shader in its own `.wgsl` file. Callers get the same
//! numbers as the CPU functions of the same name; when no adapter exists, [`GpuContext::new`]
//! says so and the caller keeps using the CPU. The math is the CPU's: docs/MATH.md, “Softmax
//! attention”, “LSSA and LSSAR (softplus attention)”, “Sigmoid attention”.

mod matmul;
mod train;

use std::{
    fmt,
    sync::{Arc, Mutex},
};

use wgpu::util::DeviceExt;

use crate::attention::{
    attention_forward, sigmoid::bias_or_default, Attention, AttentionError, Extras, LssaScale, Mask, SoftmaxAlgorithm,
    Variant,
};

pub use matmul::{MatmulGrads, MatmulShape, GEMM_K_PER_DISPATCH};
pub use train::{supports as supports_training, GpuTrainer, Progress, StepCost, RING};

/// Where a computation ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComputedOn {
    Gpu,
    Cpu,
}

/// Attention forward on the GPU when one is given and has a kernel for the variant, on the CPU
/// otherwise (also when the GPU fails): the run-time choice of backend. Returns the output and
/// where it was computed.
pub async fn attention_forward_auto(
    gpu: Option<&GpuContext>,
    attention: &Attention,
    q: &[f32],
    k: &[f32],
    v: &[f32],
) -> Result<(Vec<f32>, ComputedOn), AttentionError> {
    if let Some(ctx) = gpu {
        if let Ok(out) = ctx.attention_forward(attention, q, k, v).await {
            return Ok((out, ComputedOn::Gpu));
        }
    }
    let mut out = vec![0.0f32; attention.shape.qkv_len()];
    attention_forward(attention, q, k, v, &mut out, Extras::default())?;
    Ok((out, ComputedOn::Cpu))
}

/// Largest head dimension the GPU attention kernel takes (its accumulator is a fixed array).
pub const GPU_MAX_D: usize = 256;

/// Keys per dispatch of the GPU attention kernel for head dimension `d`: each key costs an
/// invocation about 3d + 2 loop iterations (dot product, accumulate, occasional rescale), and
/// one dispatch keeps that under ~30,000 (llvmpipe stops an invocation after 65,535; drivers
/// time out long ones).
fn keys_per_dispatch(d: usize) -> usize {
    (30_000 / (3 * d + 2)).clamp(1, 512)
}

/// Why the GPU path is not available or did not finish.
#[derive(Clone, Debug, PartialEq)]
pub enum GpuError {
    /// No adapter or device: the caller should use the CPU.
    Unavailable(String),
    /// The GPU ran but something failed on the way (mapping, a bad shape).
    Failed(String),
    /// The device is gone (lost, reset, out of memory, a failed submit): nothing more runs
    /// on it, and a run goes on on the CPU.
    Lost(String),
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::Unavailable(why) => write!(f, "WebGPU unavailable, using CPU ({why})"),
            GpuError::Failed(why) => write!(f, "GPU computation failed: {why}"),
            GpuError::Lost(why) => write!(f, "the GPU stopped: {why}"),
        }
    }
}

impl std::error::Error for GpuError {}

/// Compiles the entry point `entry` of a WGSL compute shader.
fn compute_pipeline(device: &wgpu::Device, label: &str, wgsl: &str, entry: &str) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(wgsl.into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// A device and queue, with the compiled pipelines of the kernels that have a GPU twin.
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    softmax_rows: wgpu::ComputePipeline,
    attention: wgpu::ComputePipeline,
    gemm: wgpu::ComputePipeline,
    /// The first error the device reported on its own (a lost device, an out-of-memory, a
    /// failed submit): from then on every readback fails with it.
    trouble: Arc<Mutex<Option<String>>>,
}

impl GpuContext {
    /// Finds an adapter (WebGPU in the browser, Vulkan natively), opens a device and compiles
    /// the pipelines.
    pub async fn new() -> Result<Self, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::BROWSER_WEBGPU | wgpu::Backends::VULKAN,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions::default())
            .await
            // wgpu's text lists every backend it was not built with; the person needs less.
            .map_err(|_| GpuError::Unavailable("this browser or machine offers no WebGPU adapter".into()))?;
        let offered = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("softplay"),
                // The WebGPU defaults (8 storage buffers per stage, which the attention kernel uses), which
                // every WebGPU adapter offers; but buffers as large as the adapter allows, as a training
                // run lives in one buffer (the default 128 MB holds a model of about 6 M parameters).
                required_limits: wgpu::Limits {
                    max_storage_buffer_binding_size: offered.max_storage_buffer_binding_size,
                    max_buffer_size: offered.max_buffer_size,
                    ..wgpu::Limits::default().using_resolution(offered.clone())
                },
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Unavailable(e.to_string()))?;
        // wgpu's default for an error nobody catches is a panic; here it is kept and named.
        let trouble = Arc::new(Mutex::new(None));
        let keep = |trouble: &Arc<Mutex<Option<String>>>| {
            let trouble = trouble.clone();
            move |what: String| {
                if let Ok(mut first) = trouble.lock() {
                    first.get_or_insert(what);
                }
            }
        };
        let on_error = keep(&trouble);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            on_error(match e {
                wgpu::Error::OutOfMemory { .. } => "the GPU ran out of memory".to_string(),
                other => format!("the GPU reported an error ({other})"),
            })
        }));
        let on_lost = keep(&trouble);
        device.set_device_lost_callback(move |reason, message| {
            on_lost(match reason {
                wgpu::DeviceLostReason::Destroyed => "the GPU device was destroyed".to_string(),
                _ => format!("the GPU device was lost ({message})"),
            })
        });
        let softmax_rows = compute_pipeline(&device, "softmax_rows", include_str!("softmax_rows.wgsl"), "main");
        let attention = compute_pipeline(&device, "attention", include_str!("attention.wgsl"), "main");
        let gemm_source = concat!(include_str!("train/common.wgsl"), include_str!("gemm.wgsl"));
        let gemm = compute_pipeline(&device, "gemm", gemm_source, "gemm");
        Ok(GpuContext { info: adapter.get_info(), device, queue, softmax_rows, attention, gemm, trouble })
    }

    /// What went wrong with the device, once something has.
    pub fn trouble(&self) -> Option<String> {
        self.trouble.lock().ok().and_then(|t| t.clone())
    }

    /// Destroys the device, as a driver reset or a lost GPU would: for the tests of what a
    /// run does when its GPU goes away.
    pub fn lose(&self) {
        self.device.destroy();
    }

    /// The adapter's name, kind and backend, for the page's "computing on …" line. Browsers
    /// often withhold the name; the kind (software or GPU) is then all there is to say.
    pub fn adapter_description(&self) -> String {
        let kind = match self.info.device_type {
            wgpu::DeviceType::Cpu => "software adapter",
            wgpu::DeviceType::IntegratedGpu => "integrated GPU",
            wgpu::DeviceType::DiscreteGpu => "discrete GPU",
            wgpu::DeviceType::VirtualGpu => "virtual GPU",
            wgpu::DeviceType::Other => "adapter",
        };
        let backend = match self.info.backend {
            wgpu::Backend::BrowserWebGpu => "browser WebGPU".to_string(),
            other => format!("{other:?}"),
        };
        if self.info.name.is_empty() {
            format!("{kind} ({backend}; the browser withholds its name)")
        } else {
            format!("{} ({kind}, {backend})", self.info.name)
        }
    }

    /// Row softmax of a `[rows, cols]` row-major matrix: the GPU twin of
    /// [`crate::softmax::softmax_rows_in_place`].
    pub async fn softmax_rows(&self, x: &[f32], cols: usize) -> Result<Vec<f32>, GpuError> {
        if cols == 0 || x.is_empty() || !x.len().is_multiple_of(cols) {
            return Err(GpuError::Failed(format!("{} values are not rows of {cols}", x.len())));
        }
        let rows = x.len() / cols;
        let size = std::mem::size_of_val(x) as wgpu::BufferAddress;
        let data = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("softmax_rows data"),
            contents: bytemuck::cast_slice(x),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        });
        let dims = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("softmax_rows dims"),
            contents: bytemuck::cast_slice(&[rows as u32, cols as u32]),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let readback = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("softmax_rows readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &self.softmax_rows.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: data.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: dims.as_entire_binding() },
            ],
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.softmax_rows);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups((rows as u32).div_ceil(64), 1, 1);
        }
        encoder.copy_buffer_to_buffer(&data, 0, &readback, 0, size);
        self.queue.submit([encoder.finish()]);
        self.read_back(&readback, x.len()).await
    }

    /// Attention forward on the GPU: the twin of [`crate::attention::attention_forward`] (output
    /// only) for softmax, LSSA, LSSAR and sigmoid. The GPU streams keys with the online
    /// softmax, whatever the CPU algorithm named; the naive softmax, ReLU and linear attention
    /// have no GPU kernel.
    pub async fn attention_forward(
        &self,
        attention: &Attention,
        q: &[f32],
        k: &[f32],
        v: &[f32],
    ) -> Result<Vec<f32>, GpuError> {
        let Attention { shape, variant, mask } = *attention;
        let (variant_code, lssa, p, bias) = match variant {
            Variant::Softmax(SoftmaxAlgorithm::Naive) => {
                return Err(GpuError::Failed("the naive softmax has no GPU kernel (a CPU teaching variant)".into()))
            }
            Variant::Softmax(_) => (0u32, None, 0.0, 0.0),
            Variant::Lssa(l) => (1, Some(l), 0.0, 0.0),
            Variant::Lssar { lssa, p } => (2, Some(lssa), p, 0.0),
            Variant::Sigmoid { bias } => (3, None, 0.0, bias_or_default(bias, shape.n)),
            Variant::Relu | Variant::Linear => {
                return Err(GpuError::Failed(format!("{variant:?} attention has no GPU kernel; the CPU computes it")))
            }
        };
        crate::attention::check(shape, variant).map_err(|e| GpuError::Failed(e.to_string()))?;
        if shape.d > GPU_MAX_D {
            return Err(GpuError::Failed(format!("d={}: the GPU kernel takes 1..{GPU_MAX_D}", shape.d)));
        }
        let len = shape.qkv_len();
        for (name, buf) in [("q", q), ("k", k), ("v", v)] {
            if buf.len() != len {
                return Err(GpuError::Failed(format!("{name} has {} values; the shape needs {len}", buf.len())));
            }
        }
        let heads = (shape.batch * shape.heads) as u32;
        let scale_kind = match lssa.map(|l| l.scale) {
            Some(LssaScale::None) => 0u32,
            Some(LssaScale::InvSqrtD) | None => 1,
            Some(LssaScale::LnDLnN) => 2,
        };
        let storage = |label, data: &[f32]| {
            self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::STORAGE,
            })
        };
        let scratch = |label, floats: usize, extra: wgpu::BufferUsages| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: (floats * 4) as wgpu::BufferAddress,
                usage: wgpu::BufferUsages::STORAGE | extra,
                mapped_at_creation: false,
            })
        };
        let (qb, kb, vb) = (storage("q", q), storage("k", k), storage("v", v));
        let rows = shape.batch * shape.heads * shape.n;
        let qn = scratch("q'", len, wgpu::BufferUsages::empty());
        let kn = scratch("k'", len, wgpu::BufferUsages::empty());
        let state = scratch("row state", rows * (shape.d + 4), wgpu::BufferUsages::empty());
        let out = scratch("attention out", len, wgpu::BufferUsages::COPY_SRC);
        let readback = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("attention readback"),
            size: (len * 4) as wgpu::BufferAddress,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });

        // The stages of attention.wgsl, each over every key block where it walks the keys.
        let key_stages: &[u32] = match variant_code {
            0 | 1 => &[1],
            2 => &[3, 4, 5, 6],
            _ => &[2],
        };
        let mut dispatches = vec![(0u32, 0u32, 0u32)];
        let block = keys_per_dispatch(shape.d);
        for &stage in key_stages {
            for start in (0..shape.n).step_by(block) {
                dispatches.push((stage, start as u32, (start + block).min(shape.n) as u32));
            }
        }
        dispatches.push((7, 0, 0));

        let layout = self.attention.get_bind_group_layout(0);
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.attention);
            for (stage, key_start, key_end) in dispatches {
                let params: [u32; 12] = [
                    heads,
                    shape.n as u32,
                    shape.d as u32,
                    u32::from(mask == Mask::Causal),
                    variant_code,
                    u32::from(lssa.is_some_and(|l| l.qk_norm)),
                    scale_kind,
                    stage,
                    key_start,
                    key_end,
                    f32::to_bits(p),
                    f32::to_bits(bias),
                ];
                let uniform = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("attention params"),
                    contents: bytemuck::cast_slice(&params),
                    usage: wgpu::BufferUsages::UNIFORM,
                });
                let buffers = [&qb, &kb, &vb, &qn, &kn, &state, &out, &uniform];
                let entries: Vec<wgpu::BindGroupEntry> = buffers
                    .iter()
                    .enumerate()
                    .map(|(binding, b)| wgpu::BindGroupEntry {
                        binding: binding as u32,
                        resource: b.as_entire_binding(),
                    })
                    .collect();
                let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &layout,
                    entries: &entries,
                });
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups((rows as u32).div_ceil(64), 1, 1);
            }
        }
        encoder.copy_buffer_to_buffer(&out, 0, &readback, 0, (len * 4) as wgpu::BufferAddress);
        self.queue.submit([encoder.finish()]);
        self.read_back(&readback, len).await
    }

    /// Maps a `MAP_READ` buffer and copies out its first `floats` values (a mapped range can be
    /// longer than the buffer was asked to be).
    async fn read_back(&self, buffer: &wgpu::Buffer, floats: usize) -> Result<Vec<f32>, GpuError> {
        let lost = |ctx: &GpuContext| ctx.trouble().map_or(Ok(()), |why| Err(GpuError::Lost(why)));
        lost(self)?;
        let (sender, receiver) = futures_channel::oneshot::channel();
        buffer.map_async(wgpu::MapMode::Read, .., move |result| {
            let _ = sender.send(result);
        });
        // Natively this blocks until the work is done; in the browser it returns at once and
        // the map callback fires from the event loop.
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| self.trouble().map_or(GpuError::Failed(e.to_string()), GpuError::Lost))?;
        let mapped = receiver.await.map_err(|_| GpuError::Failed("the map callback was dropped".into()))?;
        lost(self)?;
        mapped.map_err(|e| GpuError::Failed(e.to_string()))?;
        let view = buffer.get_mapped_range(..).map_err(|e| GpuError::Failed(e.to_string()))?;
        let values: &[f32] = bytemuck::cast_slice(&view);
        let values = values[..floats.min(values.len())].to_vec();
        drop(view);
        buffer.unmap();
        Ok(values)
    }
}
