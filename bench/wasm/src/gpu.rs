//! `cargo xtask bench model --gpu`: the transformer's training step on the GPU
//! ([`GpuTrainer`]), fed the batches that [`crate::ModelBench`]'s CPU trainer draws from the same
//! seed, from the same initial weights. In the page it runs on WebGPU (`GpuModelBench`),
//! natively on Vulkan (`src/bin/model.rs --gpu`).

use std::cell::RefCell;

use softplay_kernels::gpu::{GpuContext, GpuTrainer, StepCost, RING};
use softplay_kernels::model::tasks::Task;
use softplay_kernels::model::train::{Optimiser, Trainer};

use crate::{copy_len, model_config};

thread_local! {
    /// The page's (or process's) one device: a trainer borrows it for its whole life.
    static CONTEXT: RefCell<Option<&'static GpuContext>> = const { RefCell::new(None) };
}

/// The device, opened on first use and kept.
pub async fn context() -> Result<&'static GpuContext, String> {
    if let Some(ctx) = CONTEXT.with(|c| *c.borrow()) {
        return Ok(ctx);
    }
    let ctx: &'static GpuContext = Box::leak(Box::new(GpuContext::new().await.map_err(|e| e.to_string())?));
    CONTEXT.with(|c| *c.borrow_mut() = Some(ctx));
    Ok(ctx)
}

/// A model training on the GPU, and the CPU trainer that draws its batches (its own weights
/// are not trained: it is the batch stream and the initial weights of the seed).
pub struct GpuModel {
    gpu: GpuTrainer<'static>,
    feed: Trainer,
}

impl GpuModel {
    /// The benchmark's model ([`model_config`]) on the copy task, initial weights and batches
    /// from `seed`, as [`crate::ModelBench::new`] makes them.
    pub async fn new(
        layers: usize,
        width: usize,
        heads: usize,
        ffn: usize,
        batch: usize,
        seq_len: usize,
        seed: u32,
    ) -> Result<GpuModel, String> {
        let cfg = model_config(layers, width, heads, ffn, seq_len);
        let opt = Optimiser::default();
        let feed = Trainer::new(cfg.clone(), opt, Task::Copy, copy_len(seq_len)?, batch, seed)?;
        let ctx = context().await?;
        let gpu = GpuTrainer::new(ctx, &cfg, &opt, batch, seq_len, &feed.params).map_err(|e| e.to_string())?;
        Ok(GpuModel { gpu, feed })
    }

    /// Submits `n` training steps (1..=[`RING`]) without waiting, then reads their losses back
    /// once: the way the Model lab trains a slice. An error names a NaN's step and place.
    pub async fn steps(&mut self, n: u32) -> Result<Vec<f32>, String> {
        if n == 0 || n as usize > RING {
            return Err(format!("steps({n}): a group is 1..={RING} steps"));
        }
        for _ in 0..n {
            let (tokens, targets) = self.feed.next_batch();
            self.gpu.submit(&tokens, &targets).map_err(|e| e.to_string())?;
        }
        let progress = self.gpu.read().await.map_err(|e| e.to_string())?;
        match progress.divergence {
            Some(d) => Err(d.to_string()),
            None => Ok(progress.losses),
        }
    }

    pub fn param_count(&self) -> usize {
        self.feed.params.len()
    }

    pub fn tokens_per_step(&self) -> usize {
        self.feed.tokens_per_step()
    }

    /// What a step costs the CPU side (submits, dispatches, bytes written and read).
    pub fn cost(&self) -> StepCost {
        self.gpu.cost()
    }
}

/// The device's adapter, as the Model lab names it.
pub async fn adapter_description() -> Result<String, String> {
    Ok(context().await?.adapter_description())
}

#[cfg(target_arch = "wasm32")]
pub use web::*;

#[cfg(target_arch = "wasm32")]
mod web {
    use std::{cell::RefCell, rc::Rc};

    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::future_to_promise;

    use super::GpuModel;

    /// [`GpuModel`] for the page. Its steps are a promise; the model is taken out of its cell
    /// while they run, so that no borrow is held across an `await` (a second call meanwhile
    /// is an error, not a panic).
    #[wasm_bindgen]
    pub struct GpuModelBench {
        model: Rc<RefCell<Option<GpuModel>>>,
    }

    impl GpuModelBench {
        fn with<T>(&self, f: impl FnOnce(&GpuModel) -> T) -> Result<T, String> {
            self.model.borrow().as_ref().map(f).ok_or_else(|| "the steps have not finished".to_string())
        }
    }

    /// A [`GpuModelBench`] (a promise: the device opens and the pipelines compile first).
    #[wasm_bindgen]
    pub async fn gpu_model_bench(
        layers: usize,
        width: usize,
        heads: usize,
        ffn: usize,
        batch: usize,
        seq_len: usize,
        seed: u32,
    ) -> Result<GpuModelBench, String> {
        let model = GpuModel::new(layers, width, heads, ffn, batch, seq_len, seed).await?;
        Ok(GpuModelBench { model: Rc::new(RefCell::new(Some(model))) })
    }

    /// The adapter's description (a promise).
    #[wasm_bindgen]
    pub async fn gpu_adapter() -> Result<String, String> {
        super::adapter_description().await
    }

    #[wasm_bindgen]
    impl GpuModelBench {
        /// `n` steps ([`GpuModel::steps`]); resolves to their losses (a `Float32Array`).
        pub fn steps(&self, n: u32) -> js_sys::Promise {
            let cell = self.model.clone();
            future_to_promise(async move {
                let mut model = cell.borrow_mut().take().ok_or("the previous steps have not finished")?;
                let losses = model.steps(n).await;
                *cell.borrow_mut() = Some(model);
                Ok(js_sys::Float32Array::from(losses?.as_slice()).into())
            })
        }

        pub fn param_count(&self) -> Result<usize, String> {
            self.with(GpuModel::param_count)
        }

        pub fn tokens_per_step(&self) -> Result<usize, String> {
            self.with(GpuModel::tokens_per_step)
        }

        /// `{"submits", "dispatches", "bytesWritten", "bytesRead"}` of a step.
        pub fn cost_json(&self) -> Result<String, String> {
            self.with(|m| {
                let c = m.cost();
                format!(
                    "{{\"submits\": {}, \"dispatches\": {}, \"bytesWritten\": {}, \"bytesRead\": {}}}",
                    c.submits, c.dispatches, c.bytes_written, c.bytes_read
                )
            })
        }
    }
}
