//! The Alignment lab's settings: each one declared once (key, label, range), read and written
//! by the codec and shown by the controls from the same constant.

use softplay_worker::alignment::TOY_MAX_STEPS;

use crate::state::{
    codec::{Choice, FlagParam, FloatParam, IntParam, QueryReader, QueryWriter},
    lab::{choice_enum, LabConfig, SEED},
};

choice_enum!(
    /// Preference-alignment losses (docs/MATH.md, “Preference losses”): the toy's (`loss`) and the
    /// loss panel's curves (`curves`; KTO draws its desirable and undesirable sides).
    AlignmentLoss, key = "loss", label = "Loss", default = Dpo, {
        Dpo => ("dpo", "DPO"),
        Cdpo => ("cdpo", "cDPO (label smoothing)"),
        RobustDpo => ("rdpo", "Robust DPO"),
        Ipo => ("ipo", "IPO"),
        Hinge => ("hinge", "Hinge / SLiC"),
        Simpo => ("simpo", "SimPO"),
        Orpo => ("orpo", "ORPO"),
        Kto => ("kto", "KTO"),
    }
);

choice_enum!(
    /// How the DPO toy's policy is parameterised.
    ToyPolicy, key = "policy", label = "Policy", default = Linear, {
        Linear => ("linear", "Linear over response features (shared)"),
        Tabular => ("tabular", "Tabular logits (one per response)"),
    }
);

choice_enum!(
    /// The base distribution and rewards of the best-of-N panel.
    BaseDist, key = "base", label = "Base distribution", default = Normal, {
        Normal => ("normal", "Normal (33 outcomes, reward = outcome)"),
        Uniform => ("uniform", "Uniform (16 outcomes, rewards 0…1)"),
        Skewed => ("skewed", "Skewed (rare high rewards)"),
        Ties => ("ties", "Ties (4 reward levels)"),
        Custom => ("custom", "Custom (edit below)"),
    }
);

choice_enum!(
    /// The preference matrix of the Nash panel.
    PrefMatrix, key = "pref", label = "Preferences", default = Rps, {
        Rps => ("rps", "Rock–paper–scissors (non-transitive)"),
        BradleyTerry => ("bt", "Bradley–Terry (transitive)"),
        Random => ("random", "Random (seeded, non-transitive)"),
        Custom => ("custom", "Custom (edit below)"),
    }
);

pub const ALIGN_CURVES_KEY: &str = "curves";
pub const ALIGN_CURVES_MAX: usize = 8;
pub const ALIGN_HMAX: FloatParam =
    FloatParam { key: "hmax", label: "Margin range ±", min: 1.0, max: 1000.0, unit: "", log: true };
pub const ALIGN_BETA: FloatParam = FloatParam { key: "beta", label: "β", min: 0.001, max: 10.0, unit: "", log: true };
pub const ALIGN_EPS: FloatParam =
    FloatParam { key: "eps", label: "ε (label noise)", min: 0.001, max: 0.49, unit: "", log: false };
pub const ALIGN_TAU: FloatParam =
    FloatParam { key: "tau", label: "τ (IPO)", min: 0.01, max: 10.0, unit: "", log: true };
pub const ALIGN_SBETA: FloatParam =
    FloatParam { key: "sbeta", label: "β (SimPO)", min: 0.01, max: 20.0, unit: "", log: true };
pub const ALIGN_GAMMA: FloatParam =
    FloatParam { key: "gamma", label: "γ (SimPO)", min: 0.0, max: 10.0, unit: "", log: false };
pub const ALIGN_LEN_W: FloatParam =
    FloatParam { key: "lw", label: "|y_w| (tokens)", min: 1.0, max: 1000.0, unit: "", log: true };
pub const ALIGN_LEN_L: FloatParam =
    FloatParam { key: "ll", label: "|y_l| (tokens)", min: 1.0, max: 1000.0, unit: "", log: true };
pub const ALIGN_LAMBDA: FloatParam =
    FloatParam { key: "lambda", label: "λ (ORPO)", min: 0.0, max: 10.0, unit: "", log: false };
pub const ALIGN_Z0: FloatParam =
    FloatParam { key: "z0", label: "z₀ (KTO)", min: 0.0, max: 20.0, unit: "", log: false };

pub const TOY_V: IntParam = IntParam { key: "resp", label: "Responses V", min: 8, max: 256, unit: "" };
pub const TOY_FEATURES: IntParam = IntParam { key: "feat", label: "Features", min: 2, max: 64, unit: "" };
pub const TOY_CHOSEN: &str = "chosen";
pub const TOY_REJECTED: &str = "rejected";
pub const TOY_PROMPTS_MAX: usize = 4;
pub const TOY_FLEX: FlagParam = FlagParam { key: "flex", label: "Flex-DPO (β⁻ for the rejected side)" };
pub const TOY_BETA_MINUS: FloatParam =
    FloatParam { key: "bminus", label: "β⁻", min: 0.001, max: 10.0, unit: "", log: true };
pub const TOY_SFT: FloatParam =
    FloatParam { key: "sft", label: "SFT weight α", min: 0.0, max: 10.0, unit: "", log: false };
pub const TOY_ON_POLICY: FlagParam = FlagParam { key: "onpolicy", label: "On-policy pairs (drawn from π)" };
pub const TOY_SAMPLES: IntParam = IntParam { key: "samples", label: "Pairs drawn per step", min: 1, max: 64, unit: "" };
pub const TOY_LR: FloatParam =
    FloatParam { key: "tlr", label: "Learning rate", min: 0.001, max: 100.0, unit: "", log: true };
pub const TOY_STEPS: IntParam = IntParam { key: "tsteps", label: "Steps", min: 1, max: TOY_MAX_STEPS, unit: "" };
pub const TOY_FOCUS: FloatParam =
    FloatParam { key: "focus", label: "Reference focus on the pairs", min: 0.0, max: 10.0, unit: "", log: false };

pub const BON_P: &str = "bp";
pub const BON_R: &str = "br";
pub const BON_MAX_OUTCOMES: usize = 64;

pub const NASH_K: IntParam = IntParam { key: "k", label: "Responses K", min: 2, max: 8, unit: "" };
pub const NASH_CUSTOM: &str = "pm";
pub const NASH_ETA: FloatParam = FloatParam { key: "eta", label: "Step η", min: 0.001, max: 1.0, unit: "", log: true };
pub const NASH_TAU: FloatParam =
    FloatParam { key: "ntau", label: "Regularisation τ", min: 0.0, max: 1.0, unit: "", log: false };
pub const NASH_ITERS: IntParam = IntParam { key: "iters", label: "Iterations", min: 10, max: 10_000, unit: "" };

#[derive(Clone, Debug, PartialEq)]
pub struct AlignmentConfig {
    pub curves: Vec<AlignmentLoss>,
    pub hmax: f64,
    pub beta: f64,
    pub eps: f64,
    pub tau: f64,
    pub simpo_beta: f64,
    pub gamma: f64,
    pub len_w: f64,
    pub len_l: f64,
    pub lambda: f64,
    pub z0: f64,
    /// The DPO toy: its loss, policy and pairs (per prompt, the chosen and rejected responses).
    pub loss: AlignmentLoss,
    pub responses: u32,
    pub policy: ToyPolicy,
    pub features: u32,
    pub chosen: Vec<Vec<u32>>,
    pub rejected: Vec<Vec<u32>>,
    pub flex: bool,
    pub beta_minus: f64,
    pub sft: f64,
    pub on_policy: bool,
    pub samples: u32,
    pub lr: f64,
    pub steps: u32,
    pub focus: f64,
    /// Best-of-N: the base distribution (custom: probabilities and rewards).
    pub base: BaseDist,
    pub base_p: Vec<f64>,
    pub base_r: Vec<f64>,
    /// Nash: the matrix (custom: `P(i ≻ j)` above the diagonal, row by row).
    pub pref: PrefMatrix,
    pub k: u32,
    pub custom: Vec<f64>,
    pub eta: f64,
    pub nash_tau: f64,
    pub iterations: u32,
    pub seed: u32,
}

impl Default for AlignmentConfig {
    fn default() -> Self {
        AlignmentConfig {
            curves: vec![AlignmentLoss::Dpo, AlignmentLoss::Cdpo, AlignmentLoss::RobustDpo, AlignmentLoss::Hinge],
            hmax: 10.0,
            beta: 0.1,
            eps: 0.1,
            tau: 0.1,
            simpo_beta: 2.0,
            gamma: 0.5,
            len_w: 10.0,
            len_l: 10.0,
            lambda: 0.1,
            z0: 0.0,
            loss: AlignmentLoss::Dpo,
            responses: 32,
            policy: ToyPolicy::Linear,
            features: 8,
            chosen: vec![vec![12]],
            rejected: vec![vec![10]],
            flex: false,
            beta_minus: 0.09,
            sft: 0.0,
            on_policy: false,
            samples: 8,
            lr: 1.0,
            steps: 1000,
            focus: 2.0,
            base: BaseDist::Normal,
            base_p: vec![0.25, 0.5, 0.25],
            base_r: vec![0.0, 0.5, 1.0],
            pref: PrefMatrix::Rps,
            k: 3,
            custom: vec![0.9, 0.2, 0.7],
            eta: 0.1,
            nash_tau: 0.1,
            iterations: 2000,
            seed: 7,
        }
    }
}

/// The chosen and rejected sets of the DPO toy, checked together: every index below `V`, as
/// many prompts on both sides, a response never both chosen and rejected for one prompt.
fn read_pairs(q: &mut QueryReader, responses: u32, d: &AlignmentConfig) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    let chosen = q.index_sets(TOY_CHOSEN, TOY_PROMPTS_MAX, responses, &d.chosen);
    let rejected = q.index_sets(TOY_REJECTED, TOY_PROMPTS_MAX, responses, &d.rejected);
    let too_big = |sets: &[Vec<u32>]| sets.iter().flatten().copied().find(|&i| i >= responses);
    let fits = |sets: &[Vec<u32>]| too_big(sets).is_none();
    let problem = if chosen.len() != rejected.len() {
        Some(format!("{} prompts chosen but {} rejected", chosen.len(), rejected.len()))
    } else if let Some((p, i)) = chosen
        .iter()
        .zip(&rejected)
        .enumerate()
        .find_map(|(p, (c, r))| c.iter().find(|i| r.contains(i)).map(|&i| (p, i)))
    {
        Some(format!("response {i} is both chosen and rejected for prompt {}", p + 1))
    } else {
        too_big(&chosen).or(too_big(&rejected)).map(|i| format!("response {i} is not below resp={responses}"))
    };
    match problem {
        None => (chosen, rejected),
        Some(why) => {
            let (c, r) = if fits(&d.chosen) && fits(&d.rejected) {
                (d.chosen.clone(), d.rejected.clone())
            } else {
                (vec![vec![0]], vec![vec![1]])
            };
            q.note(format!("ignored chosen/rejected: {why}; using chosen={}, rejected={}", c[0][0], r[0][0]));
            (c, r)
        }
    }
}

impl LabConfig for AlignmentConfig {
    const VERSION: u32 = 2;
    const PLACE: &'static str = "the Alignment lab";
    fn read(q: &mut QueryReader, _version: u32) -> Self {
        let d = Self::default();
        let responses = q.int(&TOY_V, d.responses);
        let (chosen, rejected) = read_pairs(q, responses, &d);
        let base_p = q.float_vec(BON_P, 2, BON_MAX_OUTCOMES, 0.0, 1e6, &d.base_p);
        let mut base_r = q.float_vec(BON_R, 2, BON_MAX_OUTCOMES, -1e6, 1e6, &d.base_r);
        let base_p = if base_p.iter().sum::<f64>() > 0.0 {
            base_p
        } else {
            q.note("ignored bp: the probabilities add up to 0; using the defaults".into());
            d.base_p.clone()
        };
        if base_r.len() != base_p.len() {
            q.note(format!(
                "ignored br: {} rewards for {} outcomes; using rewards 0, 1, 2, …",
                base_r.len(),
                base_p.len()
            ));
            base_r = (0..base_p.len()).map(|i| i as f64).collect();
        }
        let k = q.int(&NASH_K, d.k);
        let pairs = (k * (k - 1) / 2) as usize;
        let default_custom: Vec<f64> = (0..pairs).map(|i| d.custom.get(i).copied().unwrap_or(0.5)).collect();
        let custom = q.float_vec(NASH_CUSTOM, pairs, pairs, 0.0, 1.0, &default_custom);
        AlignmentConfig {
            curves: q.choice_list(ALIGN_CURVES_KEY, 1, ALIGN_CURVES_MAX, &d.curves),
            hmax: q.float(&ALIGN_HMAX, d.hmax),
            beta: q.float(&ALIGN_BETA, d.beta),
            eps: q.float(&ALIGN_EPS, d.eps),
            tau: q.float(&ALIGN_TAU, d.tau),
            simpo_beta: q.float(&ALIGN_SBETA, d.simpo_beta),
            gamma: q.float(&ALIGN_GAMMA, d.gamma),
            len_w: q.float(&ALIGN_LEN_W, d.len_w),
            len_l: q.float(&ALIGN_LEN_L, d.len_l),
            lambda: q.float(&ALIGN_LAMBDA, d.lambda),
            z0: q.float(&ALIGN_Z0, d.z0),
            loss: q.choice(d.loss),
            responses,
            policy: q.choice(d.policy),
            features: q.int(&TOY_FEATURES, d.features),
            chosen,
            rejected,
            flex: q.flag(&TOY_FLEX, d.flex),
            beta_minus: q.float(&TOY_BETA_MINUS, d.beta_minus),
            sft: q.float(&TOY_SFT, d.sft),
            on_policy: q.flag(&TOY_ON_POLICY, d.on_policy),
            samples: q.int(&TOY_SAMPLES, d.samples),
            lr: q.float(&TOY_LR, d.lr),
            steps: q.int(&TOY_STEPS, d.steps),
            focus: q.float(&TOY_FOCUS, d.focus),
            base: q.choice(d.base),
            base_p,
            base_r,
            pref: q.choice(d.pref),
            k,
            custom,
            eta: q.float(&NASH_ETA, d.eta),
            nash_tau: q.float(&NASH_TAU, d.nash_tau),
            iterations: q.int(&NASH_ITERS, d.iterations),
            seed: q.int(&SEED, d.seed),
        }
    }
    fn write(&self, w: &mut QueryWriter) {
        w.choice_list(ALIGN_CURVES_KEY, &self.curves);
        w.float(&ALIGN_HMAX, self.hmax);
        w.float(&ALIGN_BETA, self.beta);
        w.float(&ALIGN_EPS, self.eps);
        w.float(&ALIGN_TAU, self.tau);
        w.float(&ALIGN_SBETA, self.simpo_beta);
        w.float(&ALIGN_GAMMA, self.gamma);
        w.float(&ALIGN_LEN_W, self.len_w);
        w.float(&ALIGN_LEN_L, self.len_l);
        w.float(&ALIGN_LAMBDA, self.lambda);
        w.float(&ALIGN_Z0, self.z0);
        w.choice(self.loss);
        w.int(&TOY_V, self.responses);
        w.choice(self.policy);
        w.int(&TOY_FEATURES, self.features);
        w.index_sets(TOY_CHOSEN, &self.chosen);
        w.index_sets(TOY_REJECTED, &self.rejected);
        w.flag(&TOY_FLEX, self.flex);
        w.float(&TOY_BETA_MINUS, self.beta_minus);
        w.float(&TOY_SFT, self.sft);
        w.flag(&TOY_ON_POLICY, self.on_policy);
        w.int(&TOY_SAMPLES, self.samples);
        w.float(&TOY_LR, self.lr);
        w.int(&TOY_STEPS, self.steps);
        w.float(&TOY_FOCUS, self.focus);
        w.choice(self.base);
        w.float_list(BON_P, &self.base_p);
        w.float_list(BON_R, &self.base_r);
        w.choice(self.pref);
        w.int(&NASH_K, self.k);
        w.float_list(NASH_CUSTOM, &self.custom);
        w.float(&NASH_ETA, self.eta);
        w.float(&NASH_TAU, self.nash_tau);
        w.int(&NASH_ITERS, self.iterations);
        w.int(&SEED, self.seed);
    }
}
