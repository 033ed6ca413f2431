//! Preference losses as functions of the log-probabilities of a pair, and as curves over the
//! margin `h`. docs/MATH.md, “Preference losses (DPO family)”.
//!
//! Each loss is written once, on a pair ([`pair_loss`]: the summed log-probabilities `ℓ_w`,
//! `ℓ_l` of the chosen and rejected responses, their reference values and lengths), with its
//! gradient with respect to `ℓ_w` and `ℓ_l` in closed form; the toy trainer chains these into
//! its policy. [`curve`] reads the same losses as functions of one margin `h`, with the gradient
//! weight `w(h) = −dL/dh`. Every form stays finite at margins of ±1000.

use super::{ln_one_minus_exp, sigmoid, softplus};

/// The losses of the Alignment lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum LossKind {
    /// Rafailov et al. 2023: `sp(−βh)`.
    Dpo,
    /// Conservative DPO (label smoothing ε): `(1−ε)·sp(−βh) + ε·sp(βh)`.
    Cdpo,
    /// Chowdhury et al. 2024: `[(1−ε)·sp(−βh) − ε·sp(βh)]/(1−2ε)`.
    RobustDpo,
    /// Azar et al. 2023: `(h̄ − 1/(2τ))²` on per-token averaged log-ratios.
    Ipo,
    /// SLiC (Zhao et al. 2023): `max(0, 1 − βh)`.
    Hinge,
    /// Meng et al. 2024, no reference: `sp(−(β_s ℓ_w/|y_w| − β_s ℓ_l/|y_l| − γ))`.
    Simpo,
    /// Hong et al. 2024: `NLL(y_w) − λ ln σ(lo_w − lo_l)`, `lo = ℓ̄ − ln(1 − e^ℓ̄)`.
    Orpo,
    /// Ethayarajh et al. 2024, unpaired: desirable `λ_D σ(−β(r − z0))`, undesirable
    /// `λ_U σ(−β(z0 − r))`.
    Kto,
}

impl LossKind {
    pub const ALL: [LossKind; 8] = [
        LossKind::Dpo,
        LossKind::Cdpo,
        LossKind::RobustDpo,
        LossKind::Ipo,
        LossKind::Hinge,
        LossKind::Simpo,
        LossKind::Orpo,
        LossKind::Kto,
    ];

    /// Whether the loss reads the margin through `β` (so Flex-DPO's `β⁺ ≠ β⁻` applies).
    pub fn is_beta_scaled(self) -> bool {
        matches!(self, LossKind::Dpo | LossKind::Cdpo | LossKind::RobustDpo | LossKind::Hinge)
    }
}

/// Every parameter of every loss, with the defaults of docs/MATH.md, “Preference losses (DPO
/// family)”.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LossParams {
    /// β of DPO, cDPO, robust DPO, hinge and KTO [0.1].
    pub beta: f64,
    /// Label-noise rate of cDPO and robust DPO, in (0, 0.5) [0.1].
    pub eps: f64,
    /// IPO's τ [0.1]; its target margin is `1/(2τ)`.
    pub tau: f64,
    /// SimPO's β \[2\] and γ \[0.5\].
    pub simpo_beta: f64,
    pub gamma: f64,
    /// Response lengths in tokens (SimPO, IPO and ORPO average over them) [10, 10].
    pub len_chosen: f64,
    pub len_rejected: f64,
    /// ORPO's λ [0.1].
    pub lambda: f64,
    /// KTO's reference point `z0` (the trainer sets it to its detached KL estimate) \[0\] and
    /// the weights of desirable and undesirable examples [1, 1].
    pub z0: f64,
    pub lambda_d: f64,
    pub lambda_u: f64,
}

impl Default for LossParams {
    fn default() -> Self {
        LossParams {
            beta: 0.1,
            eps: 0.1,
            tau: 0.1,
            simpo_beta: 2.0,
            gamma: 0.5,
            len_chosen: 10.0,
            len_rejected: 10.0,
            lambda: 0.1,
            z0: 0.0,
            lambda_d: 1.0,
            lambda_u: 1.0,
        }
    }
}

/// One preference pair: summed log-probabilities under the policy and the reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    pub chosen: f64,
    pub rejected: f64,
    pub chosen_ref: f64,
    pub rejected_ref: f64,
}

/// A loss and its gradient with respect to the two log-probabilities.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairGrad {
    pub loss: f64,
    pub d_chosen: f64,
    pub d_rejected: f64,
}

/// The largest mean token log-probability ORPO reads: `ln(1 − e^ℓ)` is `−∞` at `ℓ = 0`, and a
/// policy rounded to one-hot in f64 reaches it.
pub const ORPO_MAX_MEAN_LOGP: f64 = -1e-12;

/// `L` and `∂L/∂ℓ_w`, `∂L/∂ℓ_l` for one pair. `beta_rejected` is Flex-DPO's `β⁻` (the chosen
/// side keeps `params.beta`); it applies to the β-scaled losses only
/// ([`LossKind::is_beta_scaled`]).
pub fn pair_loss(kind: LossKind, p: &LossParams, pair: Pair, beta_rejected: f64) -> PairGrad {
    let r_w = pair.chosen - pair.chosen_ref;
    let r_l = pair.rejected - pair.rejected_ref;
    // The β-scaled losses as functions of u = β⁺ r_w − β⁻ r_l, with dL/du.
    let scaled = |loss_and_slope: fn(f64, f64) -> (f64, f64)| {
        let u = p.beta * r_w - beta_rejected * r_l;
        let (loss, slope) = loss_and_slope(u, p.eps);
        PairGrad { loss, d_chosen: slope * p.beta, d_rejected: -slope * beta_rejected }
    };
    match kind {
        LossKind::Dpo => scaled(|u, _| (softplus(-u), -sigmoid(-u))),
        LossKind::Cdpo => {
            scaled(|u, e| ((1.0 - e) * softplus(-u) + e * softplus(u), -(1.0 - e) * sigmoid(-u) + e * sigmoid(u)))
        }
        LossKind::RobustDpo => scaled(|u, e| {
            let k = 1.0 - 2.0 * e;
            (((1.0 - e) * softplus(-u) - e * softplus(u)) / k, (-(1.0 - e) * sigmoid(-u) - e * sigmoid(u)) / k)
        }),
        LossKind::Hinge => scaled(|u, _| if u < 1.0 { (1.0 - u, -1.0) } else { (0.0, 0.0) }),
        LossKind::Ipo => {
            let h = r_w / p.len_chosen - r_l / p.len_rejected;
            let gap = h - 1.0 / (2.0 * p.tau);
            PairGrad { loss: gap * gap, d_chosen: 2.0 * gap / p.len_chosen, d_rejected: -2.0 * gap / p.len_rejected }
        }
        LossKind::Simpo => {
            let m = p.simpo_beta * (pair.chosen / p.len_chosen - pair.rejected / p.len_rejected) - p.gamma;
            let slope = -sigmoid(-m);
            PairGrad {
                loss: softplus(-m),
                d_chosen: slope * p.simpo_beta / p.len_chosen,
                d_rejected: -slope * p.simpo_beta / p.len_rejected,
            }
        }
        LossKind::Orpo => {
            let mean_w = (pair.chosen / p.len_chosen).min(ORPO_MAX_MEAN_LOGP);
            let mean_l = (pair.rejected / p.len_rejected).min(ORPO_MAX_MEAN_LOGP);
            let d = log_odds(mean_w) - log_odds(mean_l);
            // −λ ln σ(d) = λ sp(−d); d/dd = −λ σ(−d); dlo/dℓ = 1/(1 − e^ℓ) = −1/expm1(ℓ).
            let slope = -p.lambda * sigmoid(-d);
            PairGrad {
                loss: -mean_w + p.lambda * softplus(-d),
                d_chosen: (-1.0 + slope * log_odds_slope(mean_w)) / p.len_chosen,
                d_rejected: -slope * log_odds_slope(mean_l) / p.len_rejected,
            }
        }
        LossKind::Kto => {
            let (des, d_des) = kto(p, r_w, true);
            let (und, d_und) = kto(p, r_l, false);
            PairGrad { loss: des + und, d_chosen: d_des, d_rejected: d_und }
        }
    }
}

/// `lo = ℓ − ln(1 − e^ℓ)`: the log-odds of a (mean token) probability `e^ℓ`.
fn log_odds(mean_logp: f64) -> f64 {
    mean_logp - ln_one_minus_exp(mean_logp)
}

fn log_odds_slope(mean_logp: f64) -> f64 {
    -1.0 / mean_logp.exp_m1()
}

/// KTO's loss for one response with implicit reward `r`, and `dL/dr` (`z0` detached).
pub fn kto(p: &LossParams, r: f64, desirable: bool) -> (f64, f64) {
    if desirable {
        let x = p.beta * (r - p.z0);
        (p.lambda_d * sigmoid(-x), -p.lambda_d * p.beta * sigmoid(x) * sigmoid(-x))
    } else {
        let y = p.beta * (r - p.z0);
        (p.lambda_u * sigmoid(y), p.lambda_u * p.beta * sigmoid(y) * sigmoid(-y))
    }
}

/// A point of a loss curve: `L(h)` and the gradient weight `w(h) = −dL/dh`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CurvePoint {
    pub loss: f64,
    pub weight: f64,
}

/// What the margin `h` of [`curve`] is for each loss.
///
/// - DPO, cDPO, robust DPO, hinge, IPO: the implicit-reward margin
///   `[ℓ_w − ℓ_w^ref] − [ℓ_l − ℓ_l^ref]` (IPO's per token: lengths 1 here).
/// - SimPO (no reference): `ℓ_w − ℓ_l`, sequence log-probabilities, with the rejected response at
///   a mean token log-probability of −1 (`ℓ_l = −|y_l|`), so its lengths matter.
/// - ORPO: the log-odds ratio `lo_w − lo_l` with the rejected response's mean token
///   log-probability at −1; the chosen one's follows (`ℓ̄_w = −sp(−lo_w)`), so the curve carries
///   its NLL term: `L = sp(−lo_w) + λ sp(−h)`.
/// - KTO: the reward `r = ℓ − ℓ^ref` of one response; `desirable` picks its side.
pub fn curve(kind: LossKind, p: &LossParams, h: f64, kto_desirable: bool) -> CurvePoint {
    let unit = LossParams { len_chosen: 1.0, len_rejected: 1.0, ..*p };
    match kind {
        LossKind::Simpo => {
            let rejected = -p.len_rejected;
            let g =
                pair_loss(kind, p, Pair { chosen: rejected + h, rejected, chosen_ref: 0.0, rejected_ref: 0.0 }, 0.0);
            CurvePoint { loss: g.loss, weight: -g.d_chosen }
        }
        LossKind::Orpo => {
            let lo_w = log_odds(ORPO_REJECTED_MEAN_LOGP) + h;
            CurvePoint {
                loss: softplus(-lo_w) + p.lambda * softplus(-h),
                weight: sigmoid(-lo_w) + p.lambda * sigmoid(-h),
            }
        }
        LossKind::Kto => {
            let (loss, slope) = kto(p, h, kto_desirable);
            CurvePoint { loss, weight: -slope }
        }
        _ => {
            let g =
                pair_loss(kind, &unit, Pair { chosen: h, rejected: 0.0, chosen_ref: 0.0, rejected_ref: 0.0 }, p.beta);
            CurvePoint { loss: g.loss, weight: -g.d_chosen }
        }
    }
}

/// The rejected response's mean token log-probability on ORPO's curve.
pub const ORPO_REJECTED_MEAN_LOGP: f64 = -1.0;

/// A margin worth marking on a loss's curve: cDPO's zero-gradient point
/// `h* = ln((1−ε)/ε)/β`, IPO's target `1/(2τ)`, the hinge's `1/β` (past it, no gradient).
pub fn marked_margin(kind: LossKind, p: &LossParams) -> Option<(&'static str, f64)> {
    match kind {
        LossKind::Cdpo => Some(("cDPO: zero gradient", ((1.0 - p.eps) / p.eps).ln() / p.beta)),
        LossKind::Ipo => Some(("IPO: target margin", 1.0 / (2.0 * p.tau))),
        LossKind::Hinge => Some(("hinge: no gradient past", 1.0 / p.beta)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_at_extreme_margins() {
        let p = LossParams::default();
        for kind in LossKind::ALL {
            for h in [-1e3, -50.0, 0.0, 50.0, 1e3] {
                for desirable in [true, false] {
                    let c = curve(kind, &p, h, desirable);
                    assert!(c.loss.is_finite() && c.weight.is_finite(), "{kind:?} at {h}: {c:?}");
                }
            }
        }
    }

    #[test]
    fn cdpo_gradient_vanishes_at_its_mark() {
        let p = LossParams { eps: 0.2, beta: 0.5, ..LossParams::default() };
        let (_, h) = marked_margin(LossKind::Cdpo, &p).unwrap();
        assert!(curve(LossKind::Cdpo, &p, h, true).weight.abs() < 1e-12);
        assert!(curve(LossKind::Cdpo, &p, h - 1.0, true).weight > 0.0);
        assert!(curve(LossKind::Cdpo, &p, h + 1.0, true).weight < 0.0);
    }
}
