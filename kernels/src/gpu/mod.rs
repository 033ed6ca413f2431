//! The GPU twins of the CPU kernels, through wgpu: WebGPU in the browser, Vulkan natively.
//!
//! The shape follows wgpu's `hello_compute`: adapter, device, buffers, pipeline, dispatch and
//! readback in one readable place, each shader in its own `.wgsl` file. Callers get the same
//! numbers as the CPU functions of the same name; when no adapter exists, [`GpuContext::new`]
//! says so and the caller keeps using the CPU.

use std::fmt;

use wgpu::util::DeviceExt;

/// Why the GPU path is not available or did not finish.
#[derive(Clone, Debug, PartialEq)]
pub enum GpuError {
    /// No adapter or device: the caller should use the CPU.
    Unavailable(String),
    /// The GPU ran but something failed on the way (mapping, a bad shape).
    Failed(String),
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::Unavailable(why) => write!(f, "WebGPU unavailable, using CPU ({why})"),
            GpuError::Failed(why) => write!(f, "GPU computation failed: {why}"),
        }
    }
}

impl std::error::Error for GpuError {}

/// A device and queue, with the compiled pipelines of the kernels that have a GPU twin.
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    softmax_rows: wgpu::ComputePipeline,
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
            .map_err(|e| GpuError::Unavailable(e.to_string()))?;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("softplay"),
                required_limits: wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits()),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Unavailable(e.to_string()))?;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("softmax_rows"),
            source: wgpu::ShaderSource::Wgsl(include_str!("softmax_rows.wgsl").into()),
        });
        let softmax_rows = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("softmax_rows"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        Ok(GpuContext { info: adapter.get_info(), device, queue, softmax_rows })
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
        self.read_back(&readback).await
    }

    /// Maps a `MAP_READ` buffer and copies it out as f32.
    async fn read_back(&self, buffer: &wgpu::Buffer) -> Result<Vec<f32>, GpuError> {
        let (sender, receiver) = futures_channel::oneshot::channel();
        buffer.map_async(wgpu::MapMode::Read, .., move |result| {
            let _ = sender.send(result);
        });
        // Natively this blocks until the work is done; in the browser it returns at once and
        // the map callback fires from the event loop.
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| GpuError::Failed(e.to_string()))?;
        receiver
            .await
            .map_err(|_| GpuError::Failed("the map callback was dropped".into()))?
            .map_err(|e| GpuError::Failed(e.to_string()))?;
        let view = buffer.get_mapped_range(..).map_err(|e| GpuError::Failed(e.to_string()))?;
        let values = bytemuck::cast_slice(&view).to_vec();
        drop(view);
        buffer.unmap();
        Ok(values)
    }
}
