//! Without the `gpu` feature every run trains on the CPU, and a run that asks for WebGPU is
//! told so.

use softplay_kernels::model::train::Trainer;

use super::{Backend, Point, RunSpec};

#[derive(Default)]
pub struct Gpu;

impl Gpu {
    pub fn lose(&mut self) -> String {
        "this worker was built without the GPU path".into()
    }

    pub async fn place(
        &mut self,
        _trainer: &Trainer,
        spec: &RunSpec,
        _now: &dyn Fn() -> f64,
    ) -> (Option<GpuRun>, Option<String>) {
        match spec.backend {
            Backend::Cpu => (None, None),
            _ => (None, Some("this worker was built without the GPU path; trains on the CPU".into())),
        }
    }
}

/// No GPU run exists without the feature.
pub enum GpuRun {}

impl GpuRun {
    #[allow(clippy::too_many_arguments)]
    pub async fn train(
        &mut self,
        _trainer: &mut Trainer,
        _until: u32,
        _every: u32,
        _budget_ms: f64,
        _now: &dyn Fn() -> f64,
        _validate: &dyn Fn(&Trainer) -> (f32, f32),
        _points: &mut Vec<Point>,
    ) -> Result<Option<String>, (String, u32)> {
        match *self {}
    }

    pub fn step(&self) -> u32 {
        match *self {}
    }
}
