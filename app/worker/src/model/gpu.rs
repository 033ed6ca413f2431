//! A run's training on the GPU: the kernels' [`GpuTrainer`] fed from the run's CPU
//! [`Trainer`], which draws the batches, validates, sweeps and keeps the state the lab has
//! (synced at every validation and at the end of every slice), so that a run whose GPU goes
//! away goes on on the CPU from the last step the lab was told of.

use softplay_kernels::{
    activation::Activation,
    attention::{SoftmaxAlgorithm, Variant},
    gpu::{GpuContext, GpuError, GpuTrainer, RING},
    mlp::Hidden,
    model::{
        tasks::Task,
        train::{Optimiser, Trainer},
        transformer::{Config, Norm, Positions},
    },
};

use super::{Backend, Point, RunSpec};

/// Tolerances of the start-up check: per-step losses (relative) and parameters (of each
/// tensor's largest entry), the agreement the GPU step is tested to natively and in Chromium.
const CHECK_LOSS: f32 = 1e-3;
const CHECK_PARAMS: f32 = 1e-3;
const CHECK_STEPS: usize = 8;
/// Steps timed on each backend when Auto chooses (after one untimed step each).
const RACE_STEPS: usize = 3;

/// The worker's GPU: opened and checked once, by the first run that asks for it.
#[derive(Default)]
pub enum Gpu {
    #[default]
    Unopened,
    Ready(&'static GpuContext),
    /// Why runs train on the CPU.
    Unavailable(String),
}

impl Gpu {
    /// The checked device, or why there is none.
    async fn get(&mut self) -> Result<&'static GpuContext, String> {
        if let Gpu::Unopened = self {
            *self = match GpuContext::new().await {
                // One device for the worker's life: runs borrow it.
                Ok(ctx) => {
                    let ctx: &'static GpuContext = Box::leak(Box::new(ctx));
                    match self_check(ctx).await {
                        Ok(()) => Gpu::Ready(ctx),
                        Err(e) => Gpu::Unavailable(format!(
                            "{} failed the start-up check of the training kernels against the CPU ({e})",
                            ctx.adapter_description()
                        )),
                    }
                }
                Err(e) => Gpu::Unavailable(inner(&e)),
            };
        }
        if let Gpu::Ready(ctx) = self {
            if let Some(trouble) = ctx.trouble() {
                // A lost device stays lost: later runs train on the CPU.
                *self = Gpu::Unavailable(format!("the GPU stopped earlier ({trouble})"));
            }
        }
        match self {
            Gpu::Ready(ctx) => Ok(*ctx),
            Gpu::Unavailable(why) => Err(why.clone()),
            Gpu::Unopened => Err("the GPU was not opened".into()),
        }
    }

    /// Destroys the device, as a driver reset would (for the tests); says what there was.
    pub fn lose(&mut self) -> String {
        match self {
            Gpu::Ready(ctx) => {
                ctx.lose();
                format!("the device of {} was destroyed", ctx.adapter_description())
            }
            Gpu::Unopened => "no GPU was open".into(),
            Gpu::Unavailable(why) => format!("no GPU was in use ({why})"),
        }
    }

    /// Where a run of `spec` trains, from `trainer`'s state: a GPU run, or none and why
    /// (the note also says what Auto measured when it chose).
    pub async fn place(
        &mut self,
        trainer: &Trainer,
        spec: &RunSpec,
        now: &dyn Fn() -> f64,
    ) -> (Option<GpuRun>, Option<String>) {
        if spec.backend == Backend::Cpu {
            return (None, None);
        }
        let asked = if spec.backend == Backend::Gpu { "WebGPU was asked for, but " } else { "Auto: " };
        let ctx = match self.get().await {
            Ok(ctx) => ctx,
            Err(why) => return (None, Some(on_cpu(asked, &why))),
        };
        let cfg = &trainer.cfg;
        let t = spec.task.seq_len(spec.len as usize);
        let make = |state: &softplay_kernels::model::train::TrainState| {
            GpuTrainer::with_state(ctx, cfg, &spec.opt, spec.batch as usize, t, state)
        };
        let gpu = match make(&trainer.state()) {
            Ok(g) => g,
            Err(e) => return (None, Some(on_cpu(asked, &inner(&e)))),
        };
        let adapter = ctx.adapter_description();
        let c = gpu.cost();
        let cost = format!(
            "a step: {} submit, {} dispatches, {} B written; then {} B of losses and {} B of weights and \
             moments read back per group of steps",
            c.submits,
            c.dispatches,
            c.bytes_written,
            c.bytes_read,
            3 * 4 * trainer.params.len()
        );
        if spec.backend == Backend::Gpu {
            return (Some(GpuRun(gpu, None)), Some(format!("on {adapter}; {cost}")));
        }
        // Auto: the faster of the two on this model, timed on copies of the run.
        let cpu_ms = {
            let mut copy = match Trainer::with_params(
                cfg.clone(),
                spec.opt,
                spec.task,
                spec.len as usize,
                spec.batch as usize,
                spec.seed,
                trainer.params.clone(),
            ) {
                Ok(c) => c,
                Err(e) => return (None, Some(on_cpu(asked, &e))),
            };
            let _ = copy.train_step();
            let start = now();
            for _ in 0..RACE_STEPS {
                let _ = copy.train_step();
            }
            (now() - start) / RACE_STEPS as f64
        };
        let gpu_ms = match race(make(&trainer.state()), trainer, now).await {
            Ok(ms) => ms,
            Err(e) => return (None, Some(on_cpu(asked, &format!("WebGPU failed its timing ({})", inner(&e))))),
        };
        let ratio = cpu_ms / gpu_ms.max(1e-6);
        let timing = format!("{gpu_ms:.1} ms a step on {adapter}, {cpu_ms:.1} ms on the CPU");
        if ratio > 1.0 {
            (
                Some(GpuRun(gpu, None)),
                Some(format!("Auto chose WebGPU, {ratio:.1}× the CPU's speed on this model ({timing})")),
            )
        } else {
            (None, Some(format!("Auto chose the CPU: WebGPU is {ratio:.2}× its speed on this model ({timing})")))
        }
    }
}

/// What went wrong, without the kind's preamble.
fn inner(e: &GpuError) -> String {
    match e {
        GpuError::Unavailable(why) | GpuError::Failed(why) | GpuError::Lost(why) => why.clone(),
    }
}

/// The note of a run that asked for WebGPU (or Auto) and trains on the CPU.
fn on_cpu(asked: &str, why: &str) -> String {
    format!("{asked}{why}. This run trains on the CPU.")
}

/// Milliseconds per step of a throwaway GPU copy of the run (batches from a copy of its stream).
async fn race(
    gpu: Result<GpuTrainer<'static>, GpuError>,
    trainer: &Trainer,
    now: &dyn Fn() -> f64,
) -> Result<f64, GpuError> {
    let mut gpu = gpu?;
    let mut data = trainer.data();
    let mut submit = |gpu: &mut GpuTrainer| {
        let (tokens, targets) = trainer.task.batch(trainer.len, trainer.batch, &mut data);
        gpu.submit(&tokens, &targets)
    };
    submit(&mut gpu)?;
    gpu.read().await?;
    let start = now();
    for _ in 0..RACE_STEPS {
        submit(&mut gpu)?;
    }
    gpu.read().await?;
    Ok((now() - start) / RACE_STEPS as f64)
}

/// The training kernels against the CPU's on a small model, once per worker: a GPU that
/// computes something else is not used.
async fn self_check(ctx: &'static GpuContext) -> Result<(), String> {
    let task = Task::Copy;
    let (len, batch, seed) = (3, 4, 7);
    let cfg = Config {
        vocab: task.vocab(),
        max_len: task.seq_len(len),
        layers: 1,
        width: 16,
        heads: 2,
        ffn: 32,
        attention: Variant::Softmax(SoftmaxAlgorithm::Online),
        hidden: Hidden::Each(Activation::Gelu),
        norm: Norm::Rms,
        positions: Positions::Rope,
        tied: true,
    };
    let opt = Optimiser { lr: 1e-2, warmup: 2, steps: CHECK_STEPS as u32, ..Optimiser::default() };
    let mut cpu = Trainer::new(cfg.clone(), opt, task, len, batch, seed)?;
    let mut feed = Trainer::new(cfg.clone(), opt, task, len, batch, seed)?;
    let mut gpu =
        GpuTrainer::new(ctx, &cfg, &opt, batch, task.seq_len(len), &feed.params).map_err(|e| e.to_string())?;
    let mut want = Vec::new();
    for _ in 0..CHECK_STEPS {
        want.push(cpu.train_step().map_err(|d| d.to_string())?);
        let (tokens, targets) = feed.next_batch();
        gpu.submit(&tokens, &targets).map_err(|e| e.to_string())?;
    }
    let got = gpu.read().await.map_err(|e| e.to_string())?.losses;
    let loss = worst(want.iter().zip(&got).map(|(a, b)| (a - b).abs() / a.abs().max(1e-6)));
    if got.len() != want.len() || loss.is_nan() || loss > CHECK_LOSS {
        return Err(format!("losses {got:?}, the CPU's {want:?}"));
    }
    let params = gpu.params().await.map_err(|e| e.to_string())?;
    for tensor in cfg.tensors() {
        let (at, len) = tensor.span;
        let (a, b) = (&cpu.params[at..at + len], &params[at..at + len]);
        let largest = a.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1e-6);
        let diff = worst(a.iter().zip(b).map(|(x, y)| (x - y).abs())) / largest;
        if diff.is_nan() || diff > CHECK_PARAMS {
            return Err(format!(
                "{} differs by {diff:.1e} of its largest entry after {CHECK_STEPS} steps",
                tensor.name
            ));
        }
    }
    Ok(())
}

/// The largest of `gaps`, NaN if one is (a NaN never passes a check).
fn worst(gaps: impl Iterator<Item = f32>) -> f32 {
    gaps.fold(0.0, |m, d| if m.is_nan() || d.is_nan() { f32::NAN } else { m.max(d) })
}

/// A run training on the GPU, and how long its last steps took (so that a slice of a slow
/// GPU still ends near its budget).
pub struct GpuRun(GpuTrainer<'static>, Option<f64>);

impl GpuRun {
    /// Trains until step `until` or for about `budget_ms`, pushing a point per step and
    /// validating every `every` steps (`validate` scores the CPU trainer, synced first). On
    /// return `trainer` holds the run's state; `Ok(Some(why))` when a NaN stopped it. An
    /// error leaves `trainer` at its state on entry, the points since then dropped.
    #[allow(clippy::too_many_arguments)]
    pub async fn train(
        &mut self,
        trainer: &mut Trainer,
        until: u32,
        every: u32,
        budget_ms: f64,
        now: &dyn Fn() -> f64,
        validate: &dyn Fn(&Trainer) -> (f32, f32),
        points: &mut Vec<Point>,
    ) -> Result<Option<String>, (String, u32)> {
        let start = now();
        let saved = (trainer.state(), trainer.data());
        let kept = points.len();
        match self.slice(trainer, until, every, start, budget_ms, now, validate, points).await {
            Ok(stopped) => Ok(stopped),
            Err(e) => {
                let at = self.0.step();
                // Back to what the lab has: a state the CPU can go on from.
                let _ = trainer.restore(saved.0, saved.1);
                points.truncate(kept);
                Err((inner(&e), at))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn slice(
        &mut self,
        trainer: &mut Trainer,
        until: u32,
        every: u32,
        start: f64,
        budget_ms: f64,
        now: &dyn Fn() -> f64,
        validate: &dyn Fn(&Trainer) -> (f32, f32),
        points: &mut Vec<Point>,
    ) -> Result<Option<String>, GpuError> {
        let every = every.max(1);
        let GpuRun(gpu, ms_per_step) = self;
        while gpu.step() < until {
            let from = gpu.step();
            let check = ((from / every + 1) * every).min(until);
            // Up to the next validation, as many steps as the budget has room for (4 at first).
            let room = ms_per_step.map_or(4.0, |ms| ((budget_ms - (now() - start)) / ms.max(1e-3)).floor());
            let n = (check - from).min(RING as u32).min(room.clamp(1.0, RING as f64) as u32);
            let began = now();
            for _ in 0..n {
                let (tokens, targets) = trainer.next_batch();
                gpu.submit(&tokens, &targets)?;
            }
            let progress = gpu.read().await?;
            *ms_per_step = Some((now() - began) / f64::from(n));
            let good = progress.divergence.as_ref().map_or(progress.losses.len(), |d| (d.step - from - 1) as usize);
            for (i, &loss) in progress.losses.iter().take(good).enumerate() {
                points.push(Point { step: from + 1 + i as u32, loss, val_loss: None, val_accuracy: None });
            }
            let state = gpu.state().await?;
            let data = trainer.data();
            trainer.restore(state, data).map_err(GpuError::Failed)?;
            if let Some(d) = progress.divergence {
                return Ok(Some(format!("{d}; training stopped there, and the run up to step {} is kept", d.step - 1)));
            }
            if gpu.step() == check {
                let (l, a) = validate(trainer);
                if let Some(p) = points.last_mut() {
                    (p.val_loss, p.val_accuracy) = (Some(l), Some(a));
                }
            }
            if now() - start >= budget_ms {
                break;
            }
        }
        Ok(None)
    }

    /// Steps taken on the GPU.
    pub fn step(&self) -> u32 {
        self.0.step()
    }
}
