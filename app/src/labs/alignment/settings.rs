//! The Alignment lab's settings: each one declared once (key, label, range), read and written
//! by the codec and shown by the controls from the same constant.

use softplay_worker::alignment::TOY_MAX_STEPS;

use crate::state::{
    codec::{Choice, QueryReader, QueryWriter},
    lab::{choice_enum, lab_settings, SEED},
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
pub const TOY_CHOSEN: &str = "chosen";
pub const TOY_REJECTED: &str = "rejected";
pub const TOY_PROMPTS_MAX: usize = 4;

pub const BON_P: &str = "bp";
pub const BON_R: &str = "br";
pub const BON_MAX_OUTCOMES: usize = 64;

pub const NASH_CUSTOM: &str = "pm";

lab_settings! {
    /// The Alignment lab's settings.
    pub struct AlignmentConfig (version 2, "the Alignment lab") {
        curves: Vec<AlignmentLoss> = vec![AlignmentLoss::Dpo, AlignmentLoss::Cdpo, AlignmentLoss::RobustDpo, AlignmentLoss::Hinge]
            => choices(ALIGN_CURVES_KEY, 1, ALIGN_CURVES_MAX);
        hmax: f64 = 10.0 => float(ALIGN_HMAX { key: "hmax", label: "Margin range ±", min: 1.0, max: 1000.0, unit: "", log: true });
        beta: f64 = 0.1 => float(ALIGN_BETA { key: "beta", label: "β", min: 0.001, max: 10.0, unit: "", log: true });
        eps: f64 = 0.1 => float(ALIGN_EPS { key: "eps", label: "ε (label noise)", min: 0.001, max: 0.49, unit: "", log: false });
        tau: f64 = 0.1 => float(ALIGN_TAU { key: "tau", label: "τ (IPO)", min: 0.01, max: 10.0, unit: "", log: true });
        simpo_beta: f64 = 2.0 => float(ALIGN_SBETA { key: "sbeta", label: "β (SimPO)", min: 0.01, max: 20.0, unit: "", log: true });
        gamma: f64 = 0.5 => float(ALIGN_GAMMA { key: "gamma", label: "γ (SimPO)", min: 0.0, max: 10.0, unit: "", log: false });
        len_w: f64 = 10.0 => float(ALIGN_LEN_W { key: "lw", label: "|y_w| (tokens)", min: 1.0, max: 1000.0, unit: "", log: true });
        len_l: f64 = 10.0 => float(ALIGN_LEN_L { key: "ll", label: "|y_l| (tokens)", min: 1.0, max: 1000.0, unit: "", log: true });
        lambda: f64 = 0.1 => float(ALIGN_LAMBDA { key: "lambda", label: "λ (ORPO)", min: 0.0, max: 10.0, unit: "", log: false });
        z0: f64 = 0.0 => float(ALIGN_Z0 { key: "z0", label: "z₀ (KTO)", min: 0.0, max: 20.0, unit: "", log: false });
        /// The DPO toy: its loss, policy and pairs (per prompt, the chosen and rejected responses).
        loss: AlignmentLoss = AlignmentLoss::Dpo => choice();
        responses: u32 = 32 => int(TOY_V { key: "resp", label: "Responses V", min: 8, max: 256, unit: "" });
        policy: ToyPolicy = ToyPolicy::Linear => choice();
        features: u32 = 8 => int(TOY_FEATURES { key: "feat", label: "Features", min: 2, max: 64, unit: "" });
        chosen: Vec<Vec<u32>> = vec![vec![12]] => custom(read_chosen_rejected, write_chosen_rejected);
        rejected: Vec<Vec<u32>> = vec![vec![10]] => with_previous();
        flex: bool = false => flag(TOY_FLEX { key: "flex", label: "Flex-DPO (β⁻ for the rejected side)" });
        beta_minus: f64 = 0.09 => float(TOY_BETA_MINUS { key: "bminus", label: "β⁻", min: 0.001, max: 10.0, unit: "", log: true });
        sft: f64 = 0.0 => float(TOY_SFT { key: "sft", label: "SFT weight α", min: 0.0, max: 10.0, unit: "", log: false });
        on_policy: bool = false => flag(TOY_ON_POLICY { key: "onpolicy", label: "On-policy pairs (drawn from π)" });
        samples: u32 = 8 => int(TOY_SAMPLES { key: "samples", label: "Pairs drawn per step", min: 1, max: 64, unit: "" });
        lr: f64 = 1.0 => float(TOY_LR { key: "tlr", label: "Learning rate", min: 0.001, max: 100.0, unit: "", log: true });
        steps: u32 = 1000 => int(TOY_STEPS { key: "tsteps", label: "Steps", min: 1, max: TOY_MAX_STEPS, unit: "" });
        focus: f64 = 2.0 => float(TOY_FOCUS { key: "focus", label: "Reference focus on the pairs", min: 0.0, max: 10.0, unit: "", log: false });
        /// Best-of-N: the base distribution (custom: probabilities and rewards).
        base: BaseDist = BaseDist::Normal => choice();
        base_p: Vec<f64> = vec![0.25, 0.5, 0.25] => custom(read_outcomes, write_outcomes);
        base_r: Vec<f64> = vec![0.0, 0.5, 1.0] => with_previous();
        /// Nash: the matrix (custom: `P(i ≻ j)` above the diagonal, row by row).
        pref: PrefMatrix = PrefMatrix::Rps => choice();
        k: u32 = 3 => int(NASH_K { key: "k", label: "Responses K", min: 2, max: 8, unit: "" });
        custom: Vec<f64> = vec![0.9, 0.2, 0.7] => custom(read_matrix, write_matrix);
        eta: f64 = 0.1 => float(NASH_ETA { key: "eta", label: "Step η", min: 0.001, max: 1.0, unit: "", log: true });
        nash_tau: f64 = 0.1 => float(NASH_TAU { key: "ntau", label: "Regularisation τ", min: 0.0, max: 1.0, unit: "", log: false });
        iterations: u32 = 2000 => int(NASH_ITERS { key: "iters", label: "Iterations", min: 10, max: 10_000, unit: "" });
        seed: u32 = 7 => int(SEED);
    }
}

fn read_chosen_rejected(q: &mut QueryReader, _version: u32, c: &mut AlignmentConfig) {
    (c.chosen, c.rejected) = read_pairs(q, c.responses, &AlignmentConfig::default());
}

fn write_chosen_rejected(c: &AlignmentConfig, w: &mut QueryWriter) {
    w.index_sets(TOY_CHOSEN, &c.chosen);
    w.index_sets(TOY_REJECTED, &c.rejected);
}

/// Best-of-N's custom outcomes: probabilities (not all 0) and as many rewards, read together.
fn read_outcomes(q: &mut QueryReader, _version: u32, c: &mut AlignmentConfig) {
    let d = AlignmentConfig::default();
    let base_p = q.float_vec(BON_P, 2, BON_MAX_OUTCOMES, 0.0, 1e6, &d.base_p);
    let mut base_r = q.float_vec(BON_R, 2, BON_MAX_OUTCOMES, -1e6, 1e6, &d.base_r);
    let base_p = if base_p.iter().sum::<f64>() > 0.0 {
        base_p
    } else {
        q.note("ignored bp: the probabilities add up to 0; using the defaults".into());
        d.base_p.clone()
    };
    if base_r.len() != base_p.len() {
        q.note(format!("ignored br: {} rewards for {} outcomes; using rewards 0, 1, 2, …", base_r.len(), base_p.len()));
        base_r = (0..base_p.len()).map(|i| i as f64).collect();
    }
    (c.base_p, c.base_r) = (base_p, base_r);
}

fn write_outcomes(c: &AlignmentConfig, w: &mut QueryWriter) {
    w.float_list(BON_P, &c.base_p);
    w.float_list(BON_R, &c.base_r);
}

/// The custom preference matrix: `K(K − 1)/2` values for the `K` read above.
fn read_matrix(q: &mut QueryReader, _version: u32, c: &mut AlignmentConfig) {
    let d = AlignmentConfig::default();
    let pairs = (c.k * (c.k - 1) / 2) as usize;
    let default_custom: Vec<f64> = (0..pairs).map(|i| d.custom.get(i).copied().unwrap_or(0.5)).collect();
    c.custom = q.float_vec(NASH_CUSTOM, pairs, pairs, 0.0, 1.0, &default_custom);
}

fn write_matrix(c: &AlignmentConfig, w: &mut QueryWriter) {
    w.float_list(NASH_CUSTOM, &c.custom);
}

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
