//! The Model lab's training worker, apart from the messaging (`src/model_main.rs`): the runs
//! it keeps and how it answers each [`ModelRequest`]: on the CPU, or on the GPU where the run
//! asks for it and the worker's GPU passed its check (`gpu.rs`). Native code, tested without a
//! browser (the GPU on lavapipe).

use std::collections::HashMap;

use super::gpu::{Gpu, GpuRun};
use crate::{
    model::{
        Backend, Completion, Inspection, LengthScore, ModelRequest, ModelResponse, Point, RunSpec, MAX_PARAMS_CPU,
        SWEEP_MULTIPLES,
    },
    protocol::F32s,
};
use softplay_kernels::{
    model::{
        tasks::{Part, Task},
        train::Trainer,
        transformer::{forward, forward_with_maps, IGNORE},
    },
    Rng,
};

/// Most tokens in one evaluation batch of a sweep (longer sequences get smaller batches).
const SWEEP_TOKENS: usize = 8192;
/// Seeds of the held-out examples (validation, sweeps, inspection): fixed, so that every run
/// of a comparison is scored on the same examples.
const VALIDATION_SEED: u32 = 0x5eed;

pub struct Run {
    /// The run's state as the lab knows it (the GPU run's, synced after every slice), its
    /// batches, and everything that is not a training step: validation, sweeps, inspection.
    trainer: Trainer,
    spec: RunSpec,
    gpu: Option<GpuRun>,
}

#[derive(Default)]
pub struct Runs {
    runs: HashMap<u32, Run>,
    gpu: Gpu,
}

impl Runs {
    /// Answers `request`; `now` reads a clock in milliseconds (for the training slices and
    /// Auto's timing). Requests are answered one at a time, in order.
    pub async fn handle(&mut self, request: ModelRequest, now: &dyn Fn() -> f64) -> ModelResponse {
        let failed = |run: u32, message: String| ModelResponse::Failed { run: Some(run), message };
        match request {
            ModelRequest::Start { run, spec, params } => {
                let cfg = spec.config();
                let made = match params {
                    Some(p) => Trainer::with_params(
                        cfg,
                        spec.opt,
                        spec.task,
                        spec.len as usize,
                        spec.batch as usize,
                        spec.seed,
                        p.0,
                    ),
                    None => Trainer::new(cfg, spec.opt, spec.task, spec.len as usize, spec.batch as usize, spec.seed),
                };
                match made {
                    Ok(trainer) => {
                        let big = trainer.params.len() > MAX_PARAMS_CPU;
                        if big && spec.backend == Backend::Cpu {
                            return failed(
                                run,
                                too_big_for_the_cpu(trainer.params.len(), Some("the run asked for the CPU".into())),
                            );
                        }
                        // Above the CPU's cap a run trains on WebGPU or not at all (Auto does not race).
                        let placed =
                            RunSpec { backend: if big { Backend::Gpu } else { spec.backend }, ..(*spec).clone() };
                        let (gpu, note) = self.gpu.place(&trainer, &placed, now).await;
                        if big && gpu.is_none() {
                            return failed(run, too_big_for_the_cpu(trainer.params.len(), note));
                        }
                        let answer = ModelResponse::Started {
                            run,
                            params: trainer.params.len() as u32,
                            tokens_per_step: trainer.tokens_per_step() as u32,
                            backend: if gpu.is_some() { Backend::Gpu } else { Backend::Cpu },
                            note,
                        };
                        self.runs.insert(run, Run { trainer, spec: *spec, gpu });
                        answer
                    }
                    Err(e) => failed(run, e),
                }
            }
            ModelRequest::Move { run, to } => {
                let Runs { runs, gpu } = self;
                match runs.get_mut(&run) {
                    Some(r) => r.move_to(run, to, gpu, now).await,
                    None => failed(run, format!("run {run} is not in the worker")),
                }
            }
            ModelRequest::Crash => panic!("a test asked this worker to stop (softplay:crash-worker)"),
            ModelRequest::LoseGpu { run } => {
                let note = self.gpu.lose();
                let backend = self.runs.get(&run).map_or(Backend::Cpu, Run::backend);
                ModelResponse::Moved { run, backend, note }
            }
            ModelRequest::Drop { run } => {
                self.runs.remove(&run);
                ModelResponse::Dropped { run }
            }
            ModelRequest::Train { run, until, budget_ms } => match self.runs.get_mut(&run) {
                Some(r) => r.train(run, until, budget_ms, now).await,
                None => failed(run, format!("run {run} is not in the worker (it was deleted or the page reloaded)")),
            },
            ModelRequest::Sweep { run } => match self.runs.get(&run) {
                Some(r) => r.sweep(run),
                None => failed(run, format!("run {run} is not in the worker")),
            },
            ModelRequest::Inspect { run, len, seed } => match self.runs.get(&run) {
                Some(r) => r.inspect(run, len as usize, seed),
                None => failed(run, format!("run {run} is not in the worker")),
            },
            ModelRequest::Export { run } => match self.runs.get(&run) {
                Some(r) => {
                    ModelResponse::Exported { run, params: F32s(r.trainer.params.clone()), step: r.trainer.step() }
                }
                None => failed(run, format!("run {run} is not in the worker")),
            },
        }
    }
}

/// Why a model above [`MAX_PARAMS_CPU`] does not train here.
fn too_big_for_the_cpu(params: usize, why: Option<String>) -> String {
    let why = why.map_or(String::new(), |w| format!(" ({w})"));
    format!(
        "a model of {params} parameters trains only on WebGPU (the CPU trains up to {MAX_PARAMS_CPU}), and it could \
         not be placed there{why}"
    )
}

/// Validation loss and accuracy of `trainer` on the run's held-out batches.
fn validate(trainer: &Trainer, spec: &RunSpec) -> (f32, f32) {
    match trainer.evaluate(spec.len as usize, spec.eval_batches as usize, VALIDATION_SEED) {
        Ok(s) => (s.loss, s.accuracy),
        Err(_) => (f32::NAN, f32::NAN),
    }
}

impl Run {
    fn backend(&self) -> Backend {
        if self.gpu.is_some() {
            Backend::Gpu
        } else {
            Backend::Cpu
        }
    }

    /// Moves the run to `to` from its last step (its CPU trainer holds the state the lab has:
    /// the GPU's is copied into it after every slice).
    async fn move_to(&mut self, run: u32, to: Backend, gpu: &mut Gpu, now: &dyn Fn() -> f64) -> ModelResponse {
        let step = self.trainer.step();
        let note = match (to, self.backend()) {
            (Backend::Auto, _) => "a run moves to the CPU or to WebGPU, not to Auto: it stays where it is".into(),
            (to, at) if to == at => format!("already on {}", to.name()),
            (Backend::Cpu, _) if self.trainer.params.len() > MAX_PARAMS_CPU => format!(
                "a model of {} parameters trains only on WebGPU (the CPU trains up to {MAX_PARAMS_CPU}): it stays",
                self.trainer.params.len()
            ),
            (Backend::Cpu, _) => {
                self.gpu = None;
                self.spec.backend = Backend::Cpu;
                format!("moved to the CPU at step {step}: weights, Adam moments and the batch stream copied")
            }
            (_, _) if step >= self.spec.opt.steps => format!("the run is done (step {step}): nothing left to train"),
            (_, _) => {
                let spec = RunSpec { backend: Backend::Gpu, ..self.spec.clone() };
                match gpu.place(&self.trainer, &spec, now).await {
                    (Some(g), why) => {
                        self.gpu = Some(g);
                        self.spec.backend = Backend::Gpu;
                        let on = why.map(|w| format!("; {w}")).unwrap_or_default();
                        format!("moved to WebGPU at step {step}: weights, Adam moments and the batch stream copied{on}")
                    }
                    (None, why) => format!("stays on the CPU at step {step}: {}", why.unwrap_or_default()),
                }
            }
        };
        ModelResponse::Moved { run, backend: self.backend(), note }
    }

    async fn train(&mut self, run: u32, until: u32, budget_ms: f64, now: &dyn Fn() -> f64) -> ModelResponse {
        let start = now();
        let mut points = Vec::new();
        let mut stopped = None;
        let mut note = None;
        if self.trainer.step() == 0 && until > 0 {
            // Validation before the first step: the curve starts at the initial model.
            let (l, a) = validate(&self.trainer, &self.spec);
            points.push(Point { step: 0, loss: l, val_loss: Some(l), val_accuracy: Some(a) });
        }
        let every = self.spec.eval_every.max(1);
        if let Some(gpu) = self.gpu.as_mut() {
            let spec = &self.spec;
            let score = |t: &Trainer| validate(t, spec);
            match gpu.train(&mut self.trainer, until, every, budget_ms, now, &score, &mut points).await {
                Ok(why) => stopped = why,
                Err((why, at)) => {
                    note = Some(format!(
                        "the GPU stopped at step {at} ({why}); the run goes on on the CPU from step {}",
                        self.trainer.step()
                    ));
                    self.gpu = None;
                }
            }
            if self.gpu.as_ref().is_some_and(|g| g.step() >= self.spec.opt.steps) {
                // Done: its buffers go (sweeps and inspection run on the CPU copy).
                self.gpu = None;
            }
            let backend = if note.is_some() { Backend::Cpu } else { Backend::Gpu };
            return ModelResponse::Trained {
                run,
                points,
                step: self.trainer.step(),
                ms: now() - start,
                stopped,
                backend,
                note,
            };
        }
        while self.trainer.step() < until {
            match self.trainer.train_step() {
                Ok(loss) => {
                    let step = self.trainer.step();
                    let (val_loss, val_accuracy) = if step.is_multiple_of(every) || step == until {
                        let (l, a) = validate(&self.trainer, &self.spec);
                        (Some(l), Some(a))
                    } else {
                        (None, None)
                    };
                    points.push(Point { step, loss, val_loss, val_accuracy });
                }
                Err(d) => {
                    stopped =
                        Some(format!("{d}; training stopped there, and the run up to step {} is kept", d.step - 1));
                    break;
                }
            }
            if now() - start >= budget_ms {
                break;
            }
        }
        ModelResponse::Trained {
            run,
            points,
            step: self.trainer.step(),
            ms: now() - start,
            stopped,
            backend: Backend::Cpu,
            note: None,
        }
    }

    fn sweep(&self, run: u32) -> ModelResponse {
        let mut scores = Vec::new();
        let mut notes = Vec::new();
        let task = self.spec.task;
        for m in SWEEP_MULTIPLES {
            let len = (self.spec.len * m) as usize;
            let tokens = task.seq_len(len);
            // About the same number of tokens at every length (at least 4 sequences).
            let batches = (SWEEP_TOKENS / (tokens * self.spec.batch as usize).max(1)).clamp(1, 4);
            match self.trainer.evaluate(len, batches, VALIDATION_SEED + m) {
                Ok(s) => scores.push(LengthScore {
                    multiple: m,
                    len: len as u32,
                    tokens: tokens as u32,
                    loss: s.loss,
                    accuracy: s.accuracy,
                }),
                Err(e) => notes.push(format!("{m}×: {e}")),
            }
        }
        ModelResponse::Swept { run, scores, note: (!notes.is_empty()).then(|| notes.join("; ")) }
    }

    fn inspect(&self, run: u32, len: usize, seed: u32) -> ModelResponse {
        let task = self.spec.task;
        let cfg = &self.trainer.cfg;
        let t = task.seq_len(len);
        if let Err(e) = cfg.check_len(t) {
            return ModelResponse::Failed { run: Some(run), message: e };
        }
        let mut rng = Rng::new(seed as u64);
        let (tokens, targets) = task.batch_from(len, 1, &mut rng, Part::Validation);
        let (_, maps) = forward_with_maps(cfg, &self.trainer.params, &tokens, &targets, 1, t);
        // Sparsity over a validation batch (one example is too few for a share).
        let mut brng = Rng::new(VALIDATION_SEED as u64);
        let (bt, btar) = task.batch_from(len, self.spec.batch as usize, &mut brng, Part::Validation);
        let sparsity = forward(cfg, &self.trainer.params, &bt, &btar, self.spec.batch as usize, t).sparsity();
        let show = |toks: &[u32]| toks.iter().map(|&x| task.token_text(x)).collect::<String>();
        let mut completions = Vec::new();
        let mut crng = Rng::new(seed as u64 + 1);
        for _ in 0..4 {
            let (tok, tar) = task.batch_from(len, 1, &mut crng, Part::Validation);
            // The answer starts at the first position with a target; the prompt is what
            // comes before it, and the model continues greedily.
            let first = tar.iter().position(|&y| y != IGNORE).unwrap_or(0);
            let answer_len = if task == Task::Text { t.min(40) } else { tar.iter().filter(|&&y| y != IGNORE).count() };
            let (prompt_end, expected): (usize, Vec<u32>) = if task == Task::Text {
                let keep = t.saturating_sub(answer_len).max(1);
                (keep, tok[keep..].iter().copied().chain(std::iter::once(tar[t - 1])).take(answer_len).collect())
            } else {
                (first + 1, tar[first..first + answer_len].to_vec())
            };
            let mut seq = tok[..prompt_end].to_vec();
            let mut got = Vec::new();
            for _ in 0..expected.len() {
                let n = seq.len();
                let none = vec![IGNORE; n];
                let fw = forward(cfg, &self.trainer.params, &seq, &none, 1, n);
                let v = cfg.vocab;
                let row = &fw.logits[(n - 1) * v..n * v];
                let best = (0..v).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0) as u32;
                got.push(best);
                seq.push(best);
            }
            completions.push(Completion {
                prompt: show(&tok[..prompt_end]),
                expected: show(&expected),
                got: show(&got),
            });
        }
        ModelResponse::Inspected {
            run,
            inspection: Box::new(Inspection {
                tokens: tokens.iter().map(|&x| task.token_text(x)).collect(),
                maps: maps.into_iter().map(F32s).collect(),
                heads: cfg.heads as u32,
                sparsity,
                completions,
            }),
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
