//! Training the transformer: AdamW with decoupled weight decay, linear warm-up then cosine
//! decay, gradient clipping by global norm; evaluation by loss and answer accuracy.
//! docs/MATH.md, “AdamW and the schedule”.

use super::{
    tasks::{Part, Task},
    transformer::{backward, forward, Config, IGNORE},
};
use crate::Rng;

/// The optimiser and schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Optimiser {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub warmup: u32,
    pub steps: u32,
    /// Largest global gradient norm (0: no clipping).
    pub clip: f32,
}

impl Default for Optimiser {
    fn default() -> Self {
        Optimiser {
            lr: 3e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            warmup: 100,
            steps: 2000,
            clip: 1.0,
        }
    }
}

impl Optimiser {
    /// The learning rate at `step` (0-based): linear warm-up over `warmup` steps, then cosine
    /// decay to a tenth of `lr` at `steps`.
    pub fn lr_at(&self, step: u32) -> f32 {
        if step < self.warmup {
            return self.lr * (step + 1) as f32 / self.warmup as f32;
        }
        let span = self.steps.saturating_sub(self.warmup).max(1) as f32;
        let done = ((step - self.warmup) as f32 / span).min(1.0);
        let min = 0.1 * self.lr;
        min + 0.5 * (self.lr - min) * (1.0 + (std::f32::consts::PI * done).cos())
    }
}

/// Scales `grads` so that their global norm is at most `max`; returns the norm before.
pub fn clip_grad_norm(grads: &mut [f32], max: f32) -> f32 {
    let norm = grads.iter().map(|g| (*g as f64) * (*g as f64)).sum::<f64>().sqrt() as f32;
    if max > 0.0 && norm > max {
        let s = max / norm;
        grads.iter_mut().for_each(|g| *g *= s);
    }
    norm
}

/// One AdamW update of `params` (weight decay on every tensor, as llm.c does for matrices and
/// here for all, for simplicity). `t` is the 1-based step count for the bias corrections.
pub fn adamw_update(params: &mut [f32], grads: &[f32], m: &mut [f32], v: &mut [f32], o: &Optimiser, lr: f32, t: u32) {
    let (c1, c2) = (1.0 - o.beta1.powi(t as i32), 1.0 - o.beta2.powi(t as i32));
    for i in 0..params.len() {
        let g = grads[i];
        m[i] = o.beta1 * m[i] + (1.0 - o.beta1) * g;
        v[i] = o.beta2 * v[i] + (1.0 - o.beta2) * g * g;
        let (mh, vh) = (m[i] / c1, v[i] / c2);
        params[i] -= lr * (mh / (vh.sqrt() + o.eps) + o.weight_decay * params[i]);
    }
}

/// Loss and answer accuracy (share of target positions whose most likely token is right).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Score {
    pub loss: f32,
    pub accuracy: f32,
}

/// A model being trained on a task.
/// Why a run stopped: a NaN or an infinity, where it appeared, at which step (1-based). The
/// parameters are those before that step.
#[derive(Clone, Debug, PartialEq)]
pub struct Divergence {
    pub step: u32,
    pub place: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "step {}: a NaN or an infinity appeared in {}", self.step, self.place)
    }
}

/// A run's state between two steps: what another backend needs to go on from here (the
/// batches come from [`Trainer::data`]).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    pub params: Vec<f32>,
    /// Adam's first and second moments.
    pub m: Vec<f32>,
    pub v: Vec<f32>,
    /// Steps taken.
    pub step: u32,
}

pub struct Trainer {
    pub cfg: Config,
    pub opt: Optimiser,
    pub task: Task,
    pub len: usize,
    pub batch: usize,
    pub params: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    step: u32,
    data: Rng,
}

impl Trainer {
    /// A seeded model (weights from `seed`, batches from `seed + 1`); an error when the task's
    /// sequences do not fit the model.
    pub fn new(
        cfg: Config,
        opt: Optimiser,
        task: Task,
        len: usize,
        batch: usize,
        seed: u32,
    ) -> Result<Trainer, String> {
        let params = cfg.init(seed);
        Trainer::with_params(cfg, opt, task, len, batch, seed, params)
    }

    /// A model with the given parameters (a checkpoint), fresh optimiser moments, counting
    /// steps from 0; batches from `seed + 1`.
    pub fn with_params(
        cfg: Config,
        opt: Optimiser,
        task: Task,
        len: usize,
        batch: usize,
        seed: u32,
        params: Vec<f32>,
    ) -> Result<Trainer, String> {
        cfg.check()?;
        cfg.check_len(task.seq_len(len))?;
        if cfg.vocab < task.vocab() {
            return Err(format!("the task has {} tokens, the model's vocabulary {}", task.vocab(), cfg.vocab));
        }
        if params.len() != cfg.layout().total {
            return Err(format!("{} parameters given, the model has {}", params.len(), cfg.layout().total));
        }
        let n = params.len();
        Ok(Trainer {
            cfg,
            opt,
            task,
            len,
            batch,
            params,
            m: vec![0.0; n],
            v: vec![0.0; n],
            step: 0,
            data: Rng::new(seed as u64 + 1),
        })
    }

    pub fn step(&self) -> u32 {
        self.step
    }

    /// The next step's batch (`[batch, T]` tokens and targets), drawn from the run's stream:
    /// [`Trainer::train_step`] draws the same, so a step taken elsewhere sees the same data.
    pub fn next_batch(&mut self) -> (Vec<u32>, Vec<u32>) {
        self.task.batch(self.len, self.batch, &mut self.data)
    }

    /// The stream of batches where it is now.
    pub fn data(&self) -> Rng {
        self.data.clone()
    }

    /// The parameters, moments and step, to go on elsewhere.
    pub fn state(&self) -> TrainState {
        TrainState { params: self.params.clone(), m: self.m.clone(), v: self.v.clone(), step: self.step }
    }

    /// Goes on from `state` with batches from `data` (both taken elsewhere); an error when
    /// the state is not of this model.
    pub fn restore(&mut self, state: TrainState, data: Rng) -> Result<(), String> {
        let n = self.params.len();
        if state.params.len() != n || state.m.len() != n || state.v.len() != n {
            return Err(format!(
                "a state of {}, {} and {} values given, the model has {n} parameters",
                state.params.len(),
                state.m.len(),
                state.v.len()
            ));
        }
        (self.params, self.m, self.v, self.step, self.data) = (state.params, state.m, state.v, state.step, data);
        Ok(())
    }

    /// One training step; returns the batch's loss (before the update). A NaN or an
    /// infinity in the pass or the gradients stops it before the update, saying where.
    pub fn train_step(&mut self) -> Result<f32, Divergence> {
        let t = self.task.seq_len(self.len);
        let (tokens, targets) = self.next_batch();
        let fw = forward(&self.cfg, &self.params, &tokens, &targets, self.batch, t);
        let diverged = |place: String| Divergence { step: self.step + 1, place };
        if let Some(place) = fw.nonfinite.clone() {
            return Err(diverged(place));
        }
        let mut grads = vec![0.0f32; self.params.len()];
        backward(&self.cfg, &self.params, &fw, &tokens, &targets, &mut grads);
        if let Some(name) = self.cfg.first_nonfinite(&grads) {
            return Err(diverged(format!("the gradient of {name}")));
        }
        clip_grad_norm(&mut grads, self.opt.clip);
        self.step += 1;
        let lr = self.opt.lr_at(self.step - 1);
        adamw_update(&mut self.params, &grads, &mut self.m, &mut self.v, &self.opt, lr, self.step);
        Ok(fw.loss)
    }

    /// Tokens per training step.
    pub fn tokens_per_step(&self) -> usize {
        self.batch * self.task.seq_len(self.len)
    }

    /// Loss and accuracy on `batches` fresh batches of size `len` from `seed` (the same
    /// examples every call with the same seed); an error for a length the model cannot run.
    pub fn evaluate(&self, len: usize, batches: usize, seed: u32) -> Result<Score, String> {
        let mut rng = Rng::new(seed as u64);
        let t = self.task.seq_len(len);
        self.cfg.check_len(t)?;
        let (mut loss, mut right, mut counted) = (0.0f64, 0usize, 0usize);
        for _ in 0..batches {
            let (tokens, targets) = self.task.batch_from(len, self.batch, &mut rng, Part::Validation);
            let fw = forward(&self.cfg, &self.params, &tokens, &targets, self.batch, t);
            loss += fw.loss as f64;
            let v = self.cfg.vocab;
            for (r, &y) in targets.iter().enumerate() {
                if y == IGNORE {
                    continue;
                }
                let row = &fw.logits[r * v..(r + 1) * v];
                let best = (0..v).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0);
                right += usize::from(best as u32 == y);
                counted += 1;
            }
        }
        Ok(Score { loss: (loss / batches.max(1) as f64) as f32, accuracy: right as f32 / counted.max(1) as f32 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        activation::Activation,
        attention::{SoftmaxAlgorithm, Variant},
        mlp::Hidden,
        model::{
            tasks::VOCAB,
            transformer::{Norm, Positions},
        },
    };

    #[test]
    fn schedule_warms_up_then_decays_to_a_tenth() {
        let o = Optimiser { lr: 1.0, warmup: 10, steps: 110, ..Optimiser::default() };
        assert_eq!(o.lr_at(0), 0.1);
        assert_eq!(o.lr_at(9), 1.0);
        assert!((o.lr_at(60) - 0.55).abs() < 1e-6);
        assert!((o.lr_at(110) - 0.1).abs() < 1e-6);
    }

    #[test]
    fn adamw_first_step_moves_each_weight_by_lr_against_its_gradient_sign() {
        let o = Optimiser { weight_decay: 0.0, ..Optimiser::default() };
        let mut p = vec![1.0, -2.0, 0.5];
        let (mut m, mut v) = (vec![0.0; 3], vec![0.0; 3]);
        adamw_update(&mut p, &[0.3, -4.0, 0.0], &mut m, &mut v, &o, 0.1, 1);
        // m̂ = g, v̂ = g²: the step is lr·g/(|g| + ε).
        assert!((p[0] - 0.9).abs() < 1e-6 && (p[1] + 1.9).abs() < 1e-6 && p[2] == 0.5, "{p:?}");
        let mut g = vec![3.0, 4.0];
        assert_eq!(clip_grad_norm(&mut g, 1.0), 5.0);
        assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
    }

    #[test]
    fn a_small_model_learns_to_copy() {
        let cfg = Config {
            vocab: VOCAB,
            max_len: 8,
            layers: 2,
            width: 32,
            heads: 2,
            ffn: 64,
            attention: Variant::Softmax(SoftmaxAlgorithm::ThreePass),
            hidden: Hidden::Each(Activation::Gelu),
            norm: Norm::Rms,
            positions: Positions::Learned,
            tied: true,
        };
        let opt = Optimiser { lr: 1e-2, warmup: 20, steps: 300, ..Optimiser::default() };
        let mut trainer = Trainer::new(cfg, opt, Task::Copy, 4, 16, 7).unwrap();
        let before = trainer.evaluate(4, 4, 99).unwrap();
        for _ in 0..300 {
            trainer.train_step().unwrap();
        }
        let after = trainer.evaluate(4, 4, 99).unwrap();
        assert!(trainer.evaluate(8, 1, 99).unwrap_err().contains("learned positions cover 8"));
        assert!(after.loss < 0.5 * before.loss && after.accuracy > 0.5, "{before:?} → {after:?}");
    }

    #[test]
    fn a_nan_stops_the_run_naming_the_step_and_the_layer_and_keeps_the_weights() {
        let cfg = Config {
            vocab: VOCAB,
            max_len: 8,
            layers: 2,
            width: 16,
            heads: 2,
            ffn: 32,
            attention: Variant::Softmax(SoftmaxAlgorithm::ThreePass),
            hidden: Hidden::Each(Activation::Relu),
            norm: Norm::Rms,
            positions: Positions::None,
            tied: true,
        };
        let mut trainer = Trainer::new(cfg.clone(), Optimiser::default(), Task::Copy, 3, 4, 1).unwrap();
        trainer.train_step().unwrap();
        // Poison layer 2's FFN output weights.
        let span = cfg.layout().layers[1].fc2;
        trainer.params[span.0 + 3] = f32::NAN;
        let before = trainer.params.clone();
        let err = trainer.train_step().unwrap_err();
        assert_eq!(err, Divergence { step: 2, place: "layer 2, feed-forward".into() });
        assert_eq!(err.to_string(), "step 2: a NaN or an infinity appeared in layer 2, feed-forward");
        assert_eq!(trainer.step(), 1);
        assert!(trainer.params.iter().zip(&before).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
