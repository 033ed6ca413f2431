//! The DPO toy (Yan et al., ICLR 2025, "3D-properties"): a softmax policy over `V` responses
//! for one or a few prompts, its frozen reference (the initial state), and preference pairs
//! from responses marked chosen or rejected; the rest are unseen. docs/MATH.md, “Preference
//! losses (DPO family)” (the 3D-properties and the DPO toy).
//!
//! Shapes: `P` prompts, `V` responses, `F` features. Tabular: logits `θ[P][V]`. Linear: logits
//! `z[p][v] = φ_v · W[p]` with `W[P][F]` and fixed features `φ[V][F]`: Gaussian bumps along the
//! response index (responses next to each other look alike), so a push on one response moves
//! its neighbours — the dispersion the paper describes.
//!
//! Each step: log-softmax, the loss of every pair (off-policy: every chosen × rejected pair of
//! the prompt; on-policy: pairs drawn from the current policy and ranked chosen > unseen >
//! rejected), `dL/dℓ` from [`pair_loss`], back through the softmax (`dL/dz_u = g_u − π_u Σ g`)
//! and, for the linear policy, through `Φ`; then plain gradient descent.

use super::{
    log_sum_exp,
    losses::{pair_loss, LossKind, LossParams, Pair},
};
use crate::Rng;

/// How the policy's logits are parameterised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Policy {
    /// One free logit per response.
    Tabular,
    /// A shared linear model over `features` Gaussian-bump features of the response.
    Linear { features: u32 },
}

/// The toy's settings.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ToySpec {
    /// `V`, the number of responses (8–256).
    pub responses: u32,
    /// Per prompt, the chosen and the rejected responses (indices below `V`).
    pub chosen: Vec<Vec<u32>>,
    pub rejected: Vec<Vec<u32>>,
    pub policy: Policy,
    pub loss: LossKind,
    pub params: LossParams,
    /// Flex-DPO's `β⁻` for the rejected side (`params.beta` is `β⁺`).
    pub beta_rejected: f64,
    /// The SFT term's weight: `+ α·NLL(chosen)`.
    pub sft_alpha: f64,
    /// Pairs drawn from the current policy (`samples` per prompt and step) instead of the fixed set.
    pub on_policy: bool,
    pub samples: u32,
    pub lr: f64,
    /// How much more likely the reference makes the marked responses (logit offset).
    pub focus: f64,
    pub seed: u32,
}

/// What the lab draws of a run: one entry per recorded step (every step up to 500 of them,
/// then evenly spaced), means over prompts.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ToyTrace {
    pub steps: Vec<u32>,
    /// Mean `ln π` over the chosen, and over the rejected responses.
    pub log_chosen: Vec<f64>,
    pub log_rejected: Vec<f64>,
    /// Probability mass on responses neither chosen nor rejected.
    pub unseen_mass: Vec<f64>,
    /// `KL(π ‖ π_ref)`.
    pub kl: Vec<f64>,
    /// Share of the chosen × rejected pairs whose implicit reward `β ln(π/π_ref)` ranks the
    /// chosen response first.
    pub accuracy: Vec<f64>,
    /// The loss over the chosen × rejected pairs (what an off-policy run descends).
    pub loss: Vec<f64>,
    /// The final policy and the reference, `[P][V]`.
    pub policy: Vec<Vec<f64>>,
    pub reference: Vec<Vec<f64>>,
    /// The step at which a value stopped being finite, if one did.
    pub diverged_at: Option<u32>,
}

/// The most points a trace keeps per series.
pub const TRACE_POINTS: u32 = 500;

/// Gaussian bumps along the response index: `F` centres spread over `0..V`, width `V/F`.
pub fn features(responses: usize, count: usize) -> Vec<f64> {
    let width = responses as f64 / count as f64;
    let mut phi = vec![0.0; responses * count];
    for v in 0..responses {
        for k in 0..count {
            let centre = (k as f64 + 0.5) * width - 0.5;
            let d = (v as f64 - centre) / width;
            phi[v * count + k] = (-0.5 * d * d).exp();
        }
    }
    phi
}

/// The toy's state: parameters, reference log-probabilities, features.
#[derive(Clone)]
pub struct Toy {
    spec: ToySpec,
    v: usize,
    f: usize,
    phi: Vec<f64>,
    /// Per prompt: the tabular logits (`V`) or the linear weights (`F`).
    params: Vec<Vec<f64>>,
    log_ref: Vec<Vec<f64>>,
    rng: Rng,
}

impl Toy {
    pub fn new(spec: ToySpec) -> Toy {
        let v = spec.responses as usize;
        let f = match spec.policy {
            Policy::Tabular => v,
            Policy::Linear { features } => features as usize,
        };
        let phi = match spec.policy {
            Policy::Tabular => Vec::new(),
            Policy::Linear { .. } => features(v, f),
        };
        let mut rng = Rng::new(spec.seed as u64);
        let params: Vec<Vec<f64>> = (0..spec.chosen.len())
            .map(|p| {
                let marked: Vec<usize> = spec.chosen[p].iter().chain(&spec.rejected[p]).map(|&i| i as usize).collect();
                let mut w: Vec<f64> = (0..f).map(|_| 0.1 * rng.normal() as f64).collect();
                for &m in &marked {
                    // Tabular: lift the response itself; linear: the bump nearest to it.
                    let k = match spec.policy {
                        Policy::Tabular => m,
                        Policy::Linear { .. } => ((m as f64 + 0.5) * f as f64 / v as f64).floor() as usize,
                    };
                    w[k.min(f - 1)] = spec.focus;
                }
                w
            })
            .collect();
        let mut toy = Toy { spec, v, f, phi, params, log_ref: Vec::new(), rng };
        toy.log_ref = (0..toy.params.len()).map(|p| toy.log_probs(p)).collect();
        toy
    }

    fn logits(&self, p: usize) -> Vec<f64> {
        match self.spec.policy {
            Policy::Tabular => self.params[p].clone(),
            Policy::Linear { .. } => (0..self.v)
                .map(|i| self.phi[i * self.f..(i + 1) * self.f].iter().zip(&self.params[p]).map(|(a, b)| a * b).sum())
                .collect(),
        }
    }

    /// `ln π(·|prompt p)`.
    pub fn log_probs(&self, p: usize) -> Vec<f64> {
        let z = self.logits(p);
        let lse = log_sum_exp(&z);
        z.iter().map(|x| x - lse).collect()
    }

    fn pair(&self, logp: &[f64], p: usize, w: usize, l: usize) -> Pair {
        Pair { chosen: logp[w], rejected: logp[l], chosen_ref: self.log_ref[p][w], rejected_ref: self.log_ref[p][l] }
    }

    /// The pairs of prompt `p` (chosen × rejected).
    fn fixed_pairs(&self, p: usize) -> Vec<(usize, usize)> {
        let spec = &self.spec;
        spec.chosen[p].iter().flat_map(|&w| spec.rejected[p].iter().map(move |&l| (w as usize, l as usize))).collect()
    }

    /// The loss of prompt `p` over `pairs` and `dL/dℓ` (mean over pairs), with the SFT term.
    fn loss_and_grad(&self, p: usize, logp: &[f64], pairs: &[(usize, usize)]) -> (f64, Vec<f64>) {
        let spec = &self.spec;
        let mut g = vec![0.0; self.v];
        if pairs.is_empty() {
            return (0.0, g);
        }
        let mut params = spec.params;
        // Toy responses are one token long.
        params.len_chosen = 1.0;
        params.len_rejected = 1.0;
        if spec.loss == LossKind::Kto {
            params.z0 = kl(logp, &self.log_ref[p]).max(0.0);
        }
        let beta_rejected = if spec.loss.is_beta_scaled() { spec.beta_rejected } else { params.beta };
        let n = pairs.len() as f64;
        let mut loss = 0.0;
        for &(w, l) in pairs {
            let pg = pair_loss(spec.loss, &params, self.pair(logp, p, w, l), beta_rejected);
            loss += (pg.loss - spec.sft_alpha * logp[w]) / n;
            g[w] += (pg.d_chosen - spec.sft_alpha) / n;
            g[l] += pg.d_rejected / n;
        }
        (loss, g)
    }

    /// Pairs drawn from the policy: two responses each, ranked chosen > unseen > rejected; ties
    /// dropped.
    fn sampled_pairs(&mut self, p: usize, logp: &[f64]) -> Vec<(usize, usize)> {
        let rank = |i: usize| {
            let i = i as u32;
            if self.spec.chosen[p].contains(&i) {
                1
            } else if self.spec.rejected[p].contains(&i) {
                -1
            } else {
                0
            }
        };
        let mut cdf = Vec::with_capacity(self.v);
        let mut acc = 0.0;
        for x in logp {
            acc += x.exp();
            cdf.push(acc);
        }
        let draw = |rng: &mut Rng| {
            let u = (rng.next_u32() as f64 + 0.5) / 4294967296.0 * acc;
            cdf.partition_point(|&c| c < u).min(self.v - 1)
        };
        let mut pairs = Vec::new();
        for _ in 0..self.spec.samples {
            let (a, b) = (draw(&mut self.rng), draw(&mut self.rng));
            match rank(a).cmp(&rank(b)) {
                std::cmp::Ordering::Greater => pairs.push((a, b)),
                std::cmp::Ordering::Less => pairs.push((b, a)),
                std::cmp::Ordering::Equal => {}
            }
        }
        pairs
    }

    /// One step of gradient descent on every prompt.
    pub fn step(&mut self) {
        for p in 0..self.params.len() {
            let logp = self.log_probs(p);
            let pairs = if self.spec.on_policy { self.sampled_pairs(p, &logp) } else { self.fixed_pairs(p) };
            let (_, g) = self.loss_and_grad(p, &logp, &pairs);
            let grad = self.param_gradient(&g, &logp);
            let lr = self.spec.lr;
            self.params[p].iter_mut().zip(&grad).for_each(|(w, d)| *w -= lr * d);
        }
    }

    /// `dL/dθ` from `g = dL/dℓ`: back through the log-softmax (`dL/dz_u = g_u − π_u Σ g`) and,
    /// for the linear policy, through the features (`dL/dW = Φᵀ dL/dz`).
    fn param_gradient(&self, g: &[f64], logp: &[f64]) -> Vec<f64> {
        let total: f64 = g.iter().sum();
        let dz: Vec<f64> = g.iter().zip(logp).map(|(g, l)| g - l.exp() * total).collect();
        match self.spec.policy {
            Policy::Tabular => dz,
            Policy::Linear { .. } => {
                let mut dw = vec![0.0; self.f];
                for (i, d) in dz.iter().enumerate() {
                    dw.iter_mut().zip(&self.phi[i * self.f..(i + 1) * self.f]).for_each(|(w, x)| *w += d * x);
                }
                dw
            }
        }
    }

    /// The gradient of the off-policy loss with respect to the parameters of prompt `p` (for
    /// the reference test), and the loss.
    pub fn gradient(&self, p: usize) -> (f64, Vec<f64>) {
        let logp = self.log_probs(p);
        let (loss, g) = self.loss_and_grad(p, &logp, &self.fixed_pairs(p));
        (loss, self.param_gradient(&g, &logp))
    }

    /// Sets prompt `p`'s parameters (tests start from given values).
    pub fn set_params(&mut self, p: usize, values: &[f64]) {
        self.params[p].copy_from_slice(values);
    }

    /// Sets the reference to the current policy.
    pub fn freeze_reference(&mut self) {
        self.log_ref = (0..self.params.len()).map(|p| self.log_probs(p)).collect();
    }

    /// The measures of [`ToyTrace`] now: (ln π chosen, ln π rejected, unseen mass, KL,
    /// accuracy, loss), means over prompts.
    pub fn measure(&self) -> [f64; 6] {
        let mut m = [0.0; 6];
        let prompts = self.params.len() as f64;
        for p in 0..self.params.len() {
            let logp = self.log_probs(p);
            let spec = &self.spec;
            let mean = |set: &[u32]| set.iter().map(|&i| logp[i as usize]).sum::<f64>() / set.len().max(1) as f64;
            let marked = |i: u32| spec.chosen[p].contains(&i) || spec.rejected[p].contains(&i);
            let unseen: f64 = (0..self.v as u32).filter(|&i| !marked(i)).map(|i| logp[i as usize].exp()).sum();
            let pairs = self.fixed_pairs(p);
            let right =
                pairs.iter().filter(|&&(w, l)| logp[w] - self.log_ref[p][w] > logp[l] - self.log_ref[p][l]).count()
                    as f64;
            let (loss, _) = self.loss_and_grad(p, &logp, &pairs);
            let values = [
                mean(&spec.chosen[p]),
                mean(&spec.rejected[p]),
                unseen,
                kl(&logp, &self.log_ref[p]),
                right / pairs.len().max(1) as f64,
                loss,
            ];
            for (a, b) in m.iter_mut().zip(values) {
                *a += b / prompts;
            }
        }
        m
    }
}

/// `KL(π ‖ π_ref) = Σ π (ln π − ln π_ref)` from log-probabilities.
pub fn kl(logp: &[f64], log_ref: &[f64]) -> f64 {
    logp.iter().zip(log_ref).map(|(l, r)| if *l == f64::NEG_INFINITY { 0.0 } else { l.exp() * (l - r) }).sum()
}

/// A run being trained: the toy, its trace so far and the step it is at.
pub struct ToyRun {
    toy: Toy,
    trace: ToyTrace,
    step: u32,
    steps: u32,
    stride: u32,
}

impl ToyRun {
    /// A run of `steps` steps from the reference (the spec must pass [`ToySpec::check`]).
    pub fn new(spec: &ToySpec, steps: u32) -> ToyRun {
        let toy = Toy::new(spec.clone());
        let trace = ToyTrace {
            reference: (0..spec.chosen.len()).map(|p| exp(&toy.log_ref[p])).collect(),
            ..ToyTrace::default()
        };
        let mut run = ToyRun { toy, trace, step: 0, steps, stride: steps.div_ceil(TRACE_POINTS).max(1) };
        run.record();
        run
    }

    fn record(&mut self) {
        let m = self.toy.measure();
        let trace = &mut self.trace;
        if trace.diverged_at.is_none() && m.iter().any(|x| !x.is_finite()) {
            trace.diverged_at = Some(self.step);
        }
        trace.steps.push(self.step);
        for (series, value) in [
            &mut trace.log_chosen,
            &mut trace.log_rejected,
            &mut trace.unseen_mass,
            &mut trace.kl,
            &mut trace.accuracy,
            &mut trace.loss,
        ]
        .into_iter()
        .zip(m)
        {
            series.push(value);
        }
    }

    /// Trains up to `n` more steps; returns whether the run is over (all steps, or diverged).
    pub fn advance(&mut self, n: u32) -> bool {
        for _ in 0..n {
            if self.is_over() {
                break;
            }
            self.toy.step();
            self.step += 1;
            if self.step.is_multiple_of(self.stride) || self.step == self.steps {
                self.record();
            }
        }
        self.is_over()
    }

    pub fn is_over(&self) -> bool {
        self.step >= self.steps || self.trace.diverged_at.is_some()
    }

    pub fn step(&self) -> u32 {
        self.step
    }

    /// The trace so far, with the policy now (a long run's page draws it while it trains).
    pub fn snapshot(&self) -> ToyTrace {
        ToyTrace {
            policy: (0..self.toy.params.len()).map(|p| exp(&self.toy.log_probs(p))).collect(),
            ..self.trace.clone()
        }
    }

    /// The trace, with the final policy.
    pub fn finish(mut self) -> ToyTrace {
        self.trace.policy = (0..self.toy.params.len()).map(|p| exp(&self.toy.log_probs(p))).collect();
        self.trace
    }
}

/// Trains for `steps` steps from the reference and records the trace.
pub fn train(spec: &ToySpec, steps: u32) -> ToyTrace {
    let mut run = ToyRun::new(spec, steps);
    run.advance(steps);
    run.finish()
}

impl ToySpec {
    /// Checks what [`Toy::new`] assumes; the message names the value and its range.
    pub fn check(&self) -> Result<(), String> {
        let v = self.responses;
        if !(2..=4096).contains(&v) {
            return Err(format!("responses={v}: must be 2..4096"));
        }
        if let Policy::Linear { features } = self.policy {
            if !(1..=1024).contains(&features) {
                return Err(format!("features={features}: must be 1..1024"));
            }
        }
        if self.chosen.is_empty() || self.chosen.len() != self.rejected.len() {
            return Err(format!(
                "{} chosen sets for {} rejected sets: needs one of each per prompt",
                self.chosen.len(),
                self.rejected.len()
            ));
        }
        for (p, (c, r)) in self.chosen.iter().zip(&self.rejected).enumerate() {
            if c.is_empty() || r.is_empty() {
                return Err(format!("prompt {}: needs at least one chosen and one rejected response", p + 1));
            }
            if let Some(i) = c.iter().chain(r).find(|&&i| i >= v) {
                return Err(format!("prompt {}: response {i} is not below {v}", p + 1));
            }
        }
        let numbers = [self.lr, self.focus, self.sft_alpha, self.beta_rejected, self.params.beta];
        if numbers.iter().any(|x| !x.is_finite()) {
            return Err("a setting is not a finite number".into());
        }
        Ok(())
    }
}

fn exp(logp: &[f64]) -> Vec<f64> {
    logp.iter().map(|x| x.exp()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn default_spec() -> ToySpec {
        ToySpec {
            responses: 32,
            chosen: vec![vec![12]],
            rejected: vec![vec![10]],
            policy: Policy::Linear { features: 8 },
            loss: LossKind::Dpo,
            params: LossParams::default(),
            beta_rejected: 0.1,
            sft_alpha: 0.0,
            on_policy: false,
            samples: 8,
            lr: 1.0,
            focus: 2.0,
            seed: 7,
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        for policy in [Policy::Tabular, Policy::Linear { features: 6 }] {
            for loss in LossKind::ALL {
                let spec = ToySpec {
                    responses: 12,
                    chosen: vec![vec![3, 5]],
                    rejected: vec![vec![4, 9]],
                    policy,
                    loss,
                    sft_alpha: 0.3,
                    beta_rejected: 0.07,
                    ..default_spec()
                };
                // KTO's z0 is detached, which finite differences cannot see (the JAX reference
                // test checks KTO's gradient).
                if loss == LossKind::Kto {
                    continue;
                }
                let mut toy = Toy::new(spec);
                toy.step();
                let (_, g) = toy.gradient(0);
                for (k, gk) in g.iter().enumerate() {
                    let at = |d: f64| {
                        let mut t = toy.clone();
                        t.params[0][k] += d;
                        let logp = t.log_probs(0);
                        t.loss_and_grad(0, &logp, &t.fixed_pairs(0)).0
                    };
                    let h = 1e-5;
                    let fd = (at(h) - at(-h)) / (2.0 * h);
                    assert!((fd - gk).abs() < 1e-6 * (1.0 + gk.abs()), "{policy:?} {loss:?} [{k}]: {gk} vs {fd}");
                }
            }
        }
    }
}
