//! The Activation lab's fitting race: one small MLP per entrant, the same seed, data and
//! optimiser for each, trained full-batch on a 1-D target; and what the lab shows of the
//! trained networks (fitted curves, hidden-activation histograms, activation ratios, the loss
//! under top-k sparsification). docs/MATH.md, “The fitting race”, “Activations” › “Top-k
//! sparsity”.
//!
//! A race is a pure function of its [`FitSpec`]: running it in chunks of any size gives the
//! same numbers as running it at once, so a link replays the same curves.

use crate::{
    activation::Gate,
    mlp::{Adam, Hidden, Mlp, Target},
    Rng,
};

/// Largest hidden width, number of hidden layers, entrants and steps a race may ask for.
pub const MAX_WIDTH: usize = 64;
pub const MAX_LAYERS: usize = 2;
pub const MAX_ENTRANTS: usize = 8;
/// Training points over the target's range.
pub const SAMPLES: usize = 256;
/// Points at which the fitted curves are drawn.
pub const PLOT_POINTS: usize = 241;
/// Bins of a histogram of hidden activations.
pub const HIST_BINS: usize = 32;
/// A hidden value counts as "practically active" above this magnitude.
pub const ACTIVE_ABOVE: f32 = 0.01;
/// An entrant has diverged, and stops training, when its loss is not finite or goes above
/// this many times its starting loss (and above [`DIVERGED_ABOVE`]: the targets lie within
/// ±1.5). A network that starts far off (a stack of cubic units) may still train down.
pub const DIVERGED_GROWTH: f32 = 1e3;
pub const DIVERGED_ABOVE: f32 = 1e6;

#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FitSpec {
    pub entrants: Vec<Hidden>,
    /// Hidden widths, one or two layers.
    pub hidden: Vec<usize>,
    pub target: Target,
    pub lr: f32,
    pub seed: u64,
}

impl FitSpec {
    /// Names the first thing out of range.
    pub fn check(&self) -> Result<(), String> {
        if self.entrants.is_empty() || self.entrants.len() > MAX_ENTRANTS {
            return Err(format!("{} entrants: allowed 1 to {MAX_ENTRANTS}", self.entrants.len()));
        }
        if self.hidden.is_empty() || self.hidden.len() > MAX_LAYERS {
            return Err(format!("{} hidden layers: allowed 1 to {MAX_LAYERS}", self.hidden.len()));
        }
        if let Some(w) = self.hidden.iter().find(|&&w| !(1..=MAX_WIDTH).contains(&w)) {
            return Err(format!("hidden width {w}: allowed 1 to {MAX_WIDTH}"));
        }
        for hidden in &self.entrants {
            let (name, params): (String, Vec<f64>) = match *hidden {
                Hidden::Each(act) => (format!("{act:?}"), act.params()),
                Hidden::PolyNorm(a) => ("PolyNorm".into(), a.iter().map(|&v| v as f64).collect()),
                Hidden::Gated(Gate::SwiGlu { beta }) => ("SwiGLU".into(), vec![beta]),
                Hidden::Gated(Gate::GeGlu) => ("GeGLU".into(), Vec::new()),
            };
            if let Some(bad) = params.iter().find(|v| !(v.is_finite() && v.abs() <= 1e3)) {
                return Err(format!("a parameter of {name} is {bad}: allowed −1000 to 1000"));
            }
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= 1.0) {
            return Err(format!("learning rate {}: allowed above 0 up to 1", self.lr));
        }
        Ok(())
    }
}

/// Histogram of one hidden layer's outputs over the training batch.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Histogram {
    /// The range the bins split evenly (the smallest and largest value seen).
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<u32>,
    /// Values exactly 0 (also counted in their bin).
    pub zeros: u32,
    pub total: u32,
}

impl Histogram {
    pub fn of(values: &[f32]) -> Histogram {
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (0.0, 0.0) };
        let width = (hi - lo).max(f32::MIN_POSITIVE);
        let mut counts = vec![0u32; HIST_BINS];
        for &v in values.iter().filter(|v| v.is_finite()) {
            let bin = (((v - lo) / width) * HIST_BINS as f32) as usize;
            counts[bin.min(HIST_BINS - 1)] += 1;
        }
        Histogram {
            lo,
            hi,
            counts,
            zeros: values.iter().filter(|&&v| v == 0.0).count() as u32,
            total: values.len() as u32,
        }
    }
}

/// What the lab shows of one trained network.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Snapshot {
    /// The mean squared error now (as [`Fit::losses`]).
    pub loss: f32,
    /// The prediction at [`plot_x`]. As bytes in serde: a report carries one per entrant, and
    /// a run sends reports many times a second.
    #[cfg_attr(feature = "serde", serde(with = "crate::f32_bytes"))]
    pub fitted: Vec<f32>,
    /// Per hidden layer.
    pub histograms: Vec<Histogram>,
    /// Per hidden layer: the fraction of outputs that are not 0 (the activation ratio), and the
    /// fraction above [`ACTIVE_ABOVE`] in magnitude.
    pub ratio: Vec<f32>,
    pub active: Vec<f32>,
    /// `(k, loss)` with every hidden layer cut to its `k` largest outputs per example, for
    /// k = 1, 2, 4, … up to the width.
    pub top_k: Vec<(u32, f32)>,
}

struct Entrant {
    mlp: Mlp,
    adam: Adam,
    /// Set when the loss stopped being finite or grew past the limit, with the step.
    diverged: Option<u32>,
    /// The loss before the first step.
    start: Option<f32>,
}

pub struct Fit {
    spec: FitSpec,
    x: Vec<f32>,
    y: Vec<f32>,
    entrants: Vec<Entrant>,
    step: u32,
}

/// The x values of the fitted curves: evenly over the target's range.
pub fn plot_x() -> Vec<f32> {
    Target::Sine.samples(PLOT_POINTS).0
}

impl Fit {
    /// Every entrant starts from a generator seeded alike, so networks of the same shape start
    /// from the same weights.
    pub fn new(spec: FitSpec) -> Result<Fit, String> {
        spec.check()?;
        let (x, y) = spec.target.samples(SAMPLES);
        let mut widths = vec![1];
        widths.extend(&spec.hidden);
        widths.push(1);
        let entrants = spec
            .entrants
            .iter()
            .map(|&hidden| {
                let mlp = Mlp::new(&widths, hidden, &mut Rng::new(spec.seed))?;
                let adam = Adam::new(&mlp, spec.lr);
                Ok(Entrant { mlp, adam, diverged: None, start: None })
            })
            .collect::<Result<_, String>>()?;
        Ok(Fit { spec, x, y, entrants, step: 0 })
    }

    pub fn spec(&self) -> &FitSpec {
        &self.spec
    }

    /// Steps taken so far.
    pub fn step(&self) -> u32 {
        self.step
    }

    /// The step at which each entrant diverged (see [`DIVERGED_GROWTH`]); it then stops
    /// training.
    pub fn diverged(&self) -> Vec<Option<u32>> {
        self.entrants.iter().map(|e| e.diverged).collect()
    }

    /// Takes `steps` Adam steps for every entrant; returns, per entrant, the loss before each
    /// step (NaN after it has diverged).
    pub fn run(&mut self, steps: u32) -> Vec<Vec<f32>> {
        let mut losses = vec![Vec::with_capacity(steps as usize); self.entrants.len()];
        for _ in 0..steps {
            for (e, out) in self.entrants.iter_mut().zip(&mut losses) {
                if e.diverged.is_some() {
                    out.push(f32::NAN);
                    continue;
                }
                let (loss, grads, _) = e.mlp.loss_and_grads(&self.x, &self.y);
                out.push(loss);
                let start = *e.start.get_or_insert(loss);
                let limit = DIVERGED_ABOVE.max(DIVERGED_GROWTH * start);
                if !loss.is_finite() || loss > limit || grads.weights.iter().flatten().any(|g| !g.is_finite()) {
                    e.diverged = Some(self.step);
                    continue;
                }
                e.adam.update(&mut e.mlp, &grads);
            }
            self.step += 1;
        }
        losses
    }

    /// Each entrant's mean squared error now.
    pub fn losses(&self) -> Vec<f32> {
        self.entrants.iter().map(|e| mse(e.mlp.forward(&self.x).post.last().unwrap(), &self.y)).collect()
    }

    pub fn snapshots(&self) -> Vec<Snapshot> {
        let plot = plot_x();
        self.entrants
            .iter()
            .map(|e| {
                let trace = e.mlp.forward(&self.x);
                let hidden = &trace.post[..trace.post.len() - 1];
                let fraction = |pred: &dyn Fn(f32) -> bool, h: &Vec<f32>| {
                    h.iter().filter(|&&v| pred(v)).count() as f32 / h.len().max(1) as f32
                };
                let width = *self.spec.hidden.iter().max().unwrap();
                let mut ks = Vec::new();
                let mut k = 1;
                while k < width {
                    ks.push(k);
                    k *= 2;
                }
                ks.push(width);
                Snapshot {
                    loss: mse(trace.post.last().unwrap(), &self.y),
                    fitted: e.mlp.forward(&plot).post.pop().unwrap(),
                    histograms: hidden.iter().map(|h| Histogram::of(h)).collect(),
                    ratio: hidden.iter().map(|h| fraction(&|v| v != 0.0, h)).collect(),
                    active: hidden.iter().map(|h| fraction(&|v| v.abs() > ACTIVE_ABOVE, h)).collect(),
                    top_k: ks
                        .into_iter()
                        .map(|k| {
                            let pred = e.mlp.forward_top_k(&self.x, Some(k)).post.pop().unwrap();
                            (k as u32, mse(&pred, &self.y))
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

fn mse(pred: &[f32], y: &[f32]) -> f32 {
    (pred.iter().zip(y).map(|(&p, &t)| ((p - t) as f64).powi(2)).sum::<f64>() / y.len() as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;

    fn spec() -> FitSpec {
        FitSpec {
            entrants: vec![
                Hidden::Each(Activation::Relu),
                Hidden::Each(Activation::Silu { beta: 1.0 }),
                Hidden::PolyNorm([0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]),
                Hidden::Gated(Gate::GeGlu),
            ],
            hidden: vec![16, 8],
            target: Target::Sine,
            lr: 0.01,
            seed: 7,
        }
    }

    #[test]
    fn chunks_do_not_change_the_numbers_and_training_lowers_the_loss() {
        let mut once = Fit::new(spec()).unwrap();
        let all = once.run(60);
        let mut chunked = Fit::new(spec()).unwrap();
        let mut joined = vec![Vec::new(); 4];
        for n in [1, 7, 30, 22] {
            for (j, part) in joined.iter_mut().zip(chunked.run(n)) {
                j.extend(part);
            }
        }
        assert_eq!(all, joined);
        assert_eq!(once.losses(), chunked.losses());
        assert_eq!(chunked.step(), 60);
        for (e, l) in all.iter().enumerate() {
            assert!(l[59] < 0.8 * l[0], "entrant {e}: {} → {}", l[0], l[59]);
        }
    }

    #[test]
    fn entrants_alike_train_alike() {
        let mut s = spec();
        s.entrants = vec![Hidden::Each(Activation::Relu), Hidden::Each(Activation::Relu)];
        let losses = Fit::new(s).unwrap().run(10);
        assert_eq!(losses[0], losses[1]);
    }

    #[test]
    fn snapshots_count_what_they_say() {
        let mut fit = Fit::new(spec()).unwrap();
        fit.run(20);
        let snaps = fit.snapshots();
        assert_eq!(snaps.len(), 4);
        for s in &snaps {
            assert_eq!(s.fitted.len(), PLOT_POINTS);
            assert_eq!(s.histograms.len(), 2);
            for (h, width) in s.histograms.iter().zip([16u32, 8]) {
                assert_eq!(h.counts.iter().sum::<u32>(), SAMPLES as u32 * width);
                assert_eq!(h.total, SAMPLES as u32 * width);
            }
            assert_eq!(s.loss, fit.losses()[snaps.iter().position(|t| t == s).unwrap()]);
            // Cutting to the full width changes nothing.
            let full = s.top_k.last().unwrap();
            assert_eq!(full.0, 16);
            assert_eq!(full.1, fit.losses()[snaps.iter().position(|t| t == s).unwrap()]);
            assert_eq!(s.top_k.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1, 2, 4, 8, 16]);
        }
        // ReLU outputs exact zeros; SiLU almost never does.
        assert!(snaps[0].ratio[0] < 0.9, "ReLU ratio {}", snaps[0].ratio[0]);
        assert_eq!(snaps[0].histograms[0].zeros as f32, (1.0 - snaps[0].ratio[0]) * (SAMPLES * 16) as f32);
        assert!(snaps[1].ratio[0] > 0.99, "SiLU ratio {}", snaps[1].ratio[0]);
    }

    #[test]
    fn a_diverging_entrant_stops_and_is_named() {
        let mut s = spec();
        s.lr = 1.0;
        s.entrants = vec![Hidden::Each(Activation::PolyRelu { a: [0.0, 4.0, 4.0, 4.0] })];
        s.hidden = vec![64, 64];
        s.target = Target::Chirp;
        let mut fit = Fit::new(s).unwrap();
        let losses = fit.run(200);
        let at = fit.diverged()[0].expect("this race diverges") as usize;
        assert!(
            !losses[0][at].is_finite() || losses[0][at] > DIVERGED_GROWTH * losses[0][0],
            "{} from {}",
            losses[0][at],
            losses[0][0]
        );
        assert!(losses[0][at + 1..].iter().all(|l| l.is_nan()));
        assert!(losses[0][..at].iter().all(|l| l.is_finite()));
    }

    #[test]
    fn bad_specs_are_refused_with_the_value() {
        let mut s = spec();
        s.hidden = vec![65];
        assert_eq!(Fit::new(s).err().unwrap(), "hidden width 65: allowed 1 to 64");
        let mut s = spec();
        s.entrants.clear();
        assert!(Fit::new(s).err().unwrap().starts_with("0 entrants"));
        let mut s = spec();
        s.lr = f32::NAN;
        assert!(Fit::new(s).err().unwrap().starts_with("learning rate NaN"));
        let mut s = spec();
        s.entrants[1] = Hidden::Each(Activation::Silu { beta: f64::INFINITY });
        assert_eq!(Fit::new(s).err().unwrap(), "a parameter of Silu { beta: inf } is inf: allowed −1000 to 1000");
    }
}
