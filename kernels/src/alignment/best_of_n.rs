//! Best-of-N against the KL-constrained optimum ("Asymptotics of language model alignment",
//! Yang et al. 2024), exactly, on a discrete outcome set with base probabilities `p` and
//! rewards `r`. docs/MATH.md, “Best-of-N and the KL-regularised tilt”.
//!
//! Best-of-N draws N outcomes from `p` and keeps the one of highest reward (ties broken
//! uniformly at random among the tied draws). With outcomes grouped by reward and `F(r)` the
//! probability of a reward at most `r`, a group of reward `r` wins with probability
//! `F(r)^N − F(r⁻)^N`, shared within the group in proportion to `p`. The KL-constrained optimum
//! `max E_q[r] − β KL(q ‖ p)` is the tilt `q ∝ p·e^{r/β}`.

use super::log_sum_exp;

/// The best-of-N distribution. `p` must sum to 1 (outcomes with `p = 0` get 0).
///
/// `F^N − G^N` is computed as `F^N · (−expm1(−N·ln1p((F − G)/G)))`, so a group far below the
/// top, where both powers are tiny, keeps its relative accuracy, the top group's `1 − G^N` does
/// not cancel, and no factor overflows (a form with `G^N` in front gives 0·∞ at N = 1024).
pub fn best_of_n(p: &[f64], r: &[f64], n: u32) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| r[a].total_cmp(&r[b]));
    let mut q = vec![0.0; p.len()];
    let n = n as f64;
    let mut below: f64 = 0.0; // G = P(reward < this group's)
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        let mut mass = 0.0;
        while end < order.len() && r[order[end]].total_cmp(&r[order[start]]).is_eq() {
            mass += p[order[end]];
            end += 1;
        }
        // F^N·(1 − (G/F)^N): neither factor overflows, and (G/F)^N = e^{−N·ln1p(m/G)} keeps its
        // accuracy when m ≪ G.
        let win = if below > 0.0 {
            ((below + mass).ln() * n).exp() * -(-n * (mass / below).ln_1p()).exp_m1()
        } else {
            mass.powf(n)
        };
        if mass > 0.0 {
            for &i in &order[start..end] {
                q[i] = win * p[i] / mass;
            }
        }
        below += mass;
        start = end;
    }
    q
}

/// The tilted distribution `q ∝ p·e^{r/β}`, through log-sum-exp (β down to 1e-6 and rewards
/// of any size).
pub fn tilted(p: &[f64], r: &[f64], beta: f64) -> Vec<f64> {
    let a: Vec<f64> =
        p.iter().zip(r).map(|(p, r)| if *p > 0.0 { p.ln() + r / beta } else { f64::NEG_INFINITY }).collect();
    let lse = log_sum_exp(&a);
    a.iter().map(|x| (x - lse).exp()).collect()
}

/// `E_q[r]`.
pub fn expected_reward(q: &[f64], r: &[f64]) -> f64 {
    q.iter().zip(r).map(|(q, r)| q * r).sum()
}

/// `KL(q ‖ p)` (terms with `q = 0` count 0).
pub fn kl(q: &[f64], p: &[f64]) -> f64 {
    q.iter().zip(p).filter(|(q, _)| **q > 0.0).map(|(q, p)| q * (q / p).ln()).sum::<f64>().max(0.0)
}

/// The continuous-reward formula `KL(BoN ‖ p) = ln N − (N−1)/N`.
pub fn bon_kl_formula(n: u32) -> f64 {
    let n = n as f64;
    n.ln() - (n - 1.0) / n
}

/// One point of a frontier: the knob (N or β), the KL and the expected reward.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FrontierPoint {
    pub knob: f64,
    pub kl: f64,
    pub reward: f64,
}

/// Best-of-N for each N in `ns`, and the tilt for each β in `betas`.
pub fn frontier(p: &[f64], r: &[f64], ns: &[u32], betas: &[f64]) -> (Vec<FrontierPoint>, Vec<FrontierPoint>) {
    let bon = ns
        .iter()
        .map(|&n| {
            let q = best_of_n(p, r, n);
            FrontierPoint { knob: n as f64, kl: kl(&q, p), reward: expected_reward(&q, r) }
        })
        .collect();
    let tilt = betas
        .iter()
        .map(|&b| {
            let q = tilted(p, r, b);
            FrontierPoint { knob: b, kl: kl(&q, p), reward: expected_reward(&q, r) }
        })
        .collect();
    (bon, tilt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Enumerates every N-tuple of draws (tiny sets only).
    fn brute(p: &[f64], r: &[f64], n: u32) -> Vec<f64> {
        let k = p.len();
        let mut q = vec![0.0; k];
        let total = k.pow(n);
        for code in 0..total {
            let mut c = code;
            let mut draws = Vec::new();
            let mut prob = 1.0;
            for _ in 0..n {
                draws.push(c % k);
                prob *= p[c % k];
                c /= k;
            }
            let best = draws.iter().map(|&i| r[i]).fold(f64::NEG_INFINITY, f64::max);
            let tied: Vec<usize> = draws.iter().copied().filter(|&i| r[i] == best).collect();
            for i in &tied {
                q[*i] += prob / tied.len() as f64;
            }
        }
        q
    }

    #[test]
    fn matches_enumeration_with_ties() {
        let p = [0.1, 0.25, 0.05, 0.3, 0.2, 0.1];
        let r = [0.0, 1.0, 1.0, -2.0, 0.5, 1.0];
        for n in 1..=5 {
            let exact = best_of_n(&p, &r, n);
            let b = brute(&p, &r, n);
            for (a, b) in exact.iter().zip(&b) {
                assert!((a - b).abs() < 1e-12, "N={n}: {a} vs {b}");
            }
        }
    }
}
