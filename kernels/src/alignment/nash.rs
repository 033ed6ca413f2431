//! Nash learning from human feedback on a preference matrix `P[K][K]`, `P[i][j] = P(i ≻ j)`,
//! `P + Pᵀ = 1`: plain self-play, Nash-MD (Munos et al. 2023) and EGPO (extragradient), and
//! the exploitability `max_π' P(π' ≻ π) − 1/2 = max_i (Pπ)_i − 1/2`. docs/MATH.md, “Nash
//! learning”.
//!
//! All three are mirror steps on the simplex (in log space, so no probability reaches 0):
//!
//! - self-play: `ln π' = ln π + η (Pπ)` — multiplicative weights against itself, no
//!   regularisation; on rock–paper–scissors it spirals around the equilibrium.
//! - Nash-MD: `π^μ ∝ π^{1−ητ} μ^{ητ}` (geometric mixture with the reference μ), then
//!   `ln π' = ln π^μ + η (P π^μ)`; the last iterate converges to the τ-regularised Nash.
//! - EGPO: look ahead `ln π^½ = (1−ητ) ln π + ητ ln μ + η Pπ`, then step from π with the
//!   look-ahead's gradient `ln π' = (1−ητ) ln π + ητ ln μ + η Pπ^½`; linear last-iterate
//!   convergence for the regularised game.

use super::{log_sum_exp, sigmoid};
use crate::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum NashMethod {
    SelfPlay,
    NashMd,
    Egpo,
}

impl NashMethod {
    pub const ALL: [NashMethod; 3] = [NashMethod::SelfPlay, NashMethod::NashMd, NashMethod::Egpo];
}

/// Preset preference matrices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Bradley–Terry with scores `0, 0.5, 1, …`: `P(i ≻ j) = σ(s_i − s_j)`; transitive.
    BradleyTerry,
    /// Rock–paper–scissors generalised to K responses: each beats the next `⌊K/2⌋` around the
    /// circle for certain (`P = 1`); `K = 3` is the classic game.
    RockPaperScissors,
    /// A seeded random game with a cycle in it: `P(i ≻ j) = σ(g_ij)`, `g_ij = −g_ji =
    /// 2.5·sin(2π(j − i)/K) + N(0, 1)` (the sine part alone is rock–paper–scissors-like, so
    /// small K stay non-transitive most of the time).
    Random,
}

/// `P` (row-major, `K × K`) for a preset.
pub fn preset(kind: Preset, k: usize, seed: u32) -> Vec<f64> {
    let mut m = vec![0.5; k * k];
    let mut rng = Rng::new(seed as u64);
    for i in 0..k {
        for j in i + 1..k {
            let pij = match kind {
                Preset::BradleyTerry => sigmoid(0.5 * (j as f64 - i as f64)),
                Preset::RockPaperScissors => {
                    let ahead = (j + k - i) % k; // how far j is after i around the circle
                    if 2 * ahead < k || (2 * ahead == k && i < j) {
                        1.0
                    } else {
                        0.0
                    }
                }
                Preset::Random => {
                    let cycle = (std::f64::consts::TAU * (j - i) as f64 / k as f64).sin();
                    sigmoid(2.5 * cycle + rng.normal() as f64)
                }
            };
            m[i * k + j] = pij;
            m[j * k + i] = 1.0 - pij;
        }
    }
    m
}

/// `(Pπ)_i = P(i ≻ π)`.
fn against(m: &[f64], pi: &[f64]) -> Vec<f64> {
    let k = pi.len();
    (0..k).map(|i| (0..k).map(|j| m[i * k + j] * pi[j]).sum()).collect()
}

/// `max_i (Pπ)_i − 1/2` (0 at a Nash equilibrium of the symmetric game).
pub fn exploitability(m: &[f64], pi: &[f64]) -> f64 {
    (against(m, pi).into_iter().fold(f64::NEG_INFINITY, f64::max) - 0.5).max(0.0)
}

/// The settings of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct NashSpec {
    /// `P`, row-major `K × K`.
    pub matrix: Vec<f64>,
    /// The start and the reference μ (each sums to 1, no zeros).
    pub start: Vec<f64>,
    pub reference: Vec<f64>,
    /// Step size η and regularisation τ (Nash-MD and EGPO; self-play has none).
    pub eta: f64,
    pub tau: f64,
    pub iterations: u32,
}

/// A run: exploitability after each iteration (index 0: the start) and the policy at each
/// recorded iteration (every iteration up to 2,000, then evenly spaced).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NashTrace {
    pub exploitability: Vec<f64>,
    pub iterations: Vec<u32>,
    pub policies: Vec<Vec<f64>>,
}

fn normalise_log(a: &mut [f64]) {
    let lse = log_sum_exp(a);
    a.iter_mut().for_each(|x| *x -= lse);
}

fn exp(a: &[f64]) -> Vec<f64> {
    a.iter().map(|x| x.exp()).collect()
}

/// One iteration of `method` from `ln π`.
pub fn step(method: NashMethod, spec: &NashSpec, log_pi: &[f64]) -> Vec<f64> {
    let (eta, tau) = (spec.eta, spec.tau);
    let log_mu: Vec<f64> = spec.reference.iter().map(|x| x.ln()).collect();
    // (1−ητ) ln π + ητ ln μ + η·grad
    let mirror = |grad: &[f64]| {
        let mut next: Vec<f64> =
            (0..log_pi.len()).map(|i| (1.0 - eta * tau) * log_pi[i] + eta * tau * log_mu[i] + eta * grad[i]).collect();
        normalise_log(&mut next);
        next
    };
    let mut next = match method {
        NashMethod::SelfPlay => {
            let grad = against(&spec.matrix, &exp(log_pi));
            log_pi.iter().zip(&grad).map(|(l, g)| l + eta * g).collect()
        }
        NashMethod::NashMd => {
            let mut mix: Vec<f64> =
                (0..log_pi.len()).map(|i| (1.0 - eta * tau) * log_pi[i] + eta * tau * log_mu[i]).collect();
            normalise_log(&mut mix);
            let grad = against(&spec.matrix, &exp(&mix));
            mix.iter().zip(&grad).map(|(l, g)| l + eta * g).collect()
        }
        NashMethod::Egpo => {
            let half = mirror(&against(&spec.matrix, &exp(log_pi)));
            mirror(&against(&spec.matrix, &exp(&half)))
        }
    };
    normalise_log(&mut next);
    next
}

/// The most policies a trace keeps.
pub const TRACE_POLICIES: u32 = 2000;

/// Runs `method` for `spec.iterations` iterations.
pub fn run(method: NashMethod, spec: &NashSpec) -> NashTrace {
    let mut log_pi: Vec<f64> = spec.start.iter().map(|x| x.ln()).collect();
    let stride = spec.iterations.div_ceil(TRACE_POLICIES).max(1);
    let mut trace = NashTrace::default();
    for t in 0..=spec.iterations {
        let pi = exp(&log_pi);
        trace.exploitability.push(exploitability(&spec.matrix, &pi));
        if t % stride == 0 || t == spec.iterations {
            trace.iterations.push(t);
            trace.policies.push(pi);
        }
        if t < spec.iterations {
            log_pi = step(method, spec, &log_pi);
        }
    }
    trace
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rps_spec() -> NashSpec {
        NashSpec {
            matrix: preset(Preset::RockPaperScissors, 3, 0),
            start: vec![0.6, 0.3, 0.1],
            reference: vec![1.0 / 3.0; 3],
            eta: 0.1,
            tau: 0.1,
            iterations: 2000,
        }
    }

    #[test]
    fn rock_paper_scissors_cycles_under_self_play_and_converges_under_egpo() {
        let spec = rps_spec();
        let sp = run(NashMethod::SelfPlay, &spec);
        let tail = &sp.exploitability[1000..];
        assert!(tail.iter().copied().fold(0.0, f64::max) > 0.1, "self-play settled");
        for method in [NashMethod::NashMd, NashMethod::Egpo] {
            let t = run(method, &spec);
            assert!(*t.exploitability.last().unwrap() < 1e-3, "{method:?}: {:?}", t.exploitability.last());
        }
    }

    #[test]
    fn presets_are_preference_matrices() {
        for kind in [Preset::BradleyTerry, Preset::RockPaperScissors, Preset::Random] {
            for k in 2..9 {
                let m = preset(kind, k, 3);
                for i in 0..k {
                    for j in 0..k {
                        assert!((m[i * k + j] + m[j * k + i] - 1.0).abs() < 1e-15);
                    }
                }
            }
        }
    }
}
