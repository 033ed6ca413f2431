//! The alignment kernels against an outside reference (`tools/gen_alignment_fixtures.py`,
//! from `tools/alignment_reference.py`: float64 JAX with jax.grad for every gradient, exact
//! rational arithmetic for best-of-N): loss curves and their weights at margins up to ±1000,
//! pair losses and their two gradients, the DPO toy's loss and parameter gradient (tabular
//! and linear), best-of-N distributions with their reward and KL, the tilt, and the policies
//! and exploitability of self-play, Nash-MD and EGPO.
//!
//! Tolerances (the worst errors seen when they were set are in brackets):
//! - curves and pairs: 1e-12 relative to the reference value, in both tails [1e-14; the
//!   reference computes the margin βr_w − β⁻r_l with its own rounding, and the loss
//!   amplifies that by up to |u·L'(u)/L|];
//! - toy: the loss 1e-12 relative [1e-15], the gradient 1e-12 relative to its largest
//!   component [8e-16];
//! - best-of-N: 1e-12 relative for every probability [2e-13 at N = 1024, where `F^N` through
//!   `exp(N ln F)` carries a relative error of about `N·|ln F|·ε`], 1e-12·(1 + |x|) for the
//!   expected reward and the KL; the tilt likewise [5e-16; at β = 1e-3 the exponent `r/β`
//!   alone can carry `|r|/β·ε` ≈ 2.5e-13 on these rewards];
//! - Nash: 1e-12 absolute on the probabilities and the exploitability [1.3e-15 after 50
//!   iterations].
//!
//! Relative errors are taken against `max(|want|, 1e-300)`, so subnormal probabilities are
//! compared in absolute terms. Any non-finite Rust output fails, whatever the reference says.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::Value;
use softplay_kernels::alignment::{
    best_of_n::{best_of_n, expected_reward, frontier, kl, tilted},
    losses::{curve, pair_loss, LossKind, LossParams, Pair},
    nash::{preset, run, NashMethod, NashSpec, Preset},
    preference_toy::{Policy, Toy, ToySpec},
};

fn fixtures() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/alignment.json"))
        .expect("kernels/tests/fixtures/alignment.json (tools/gen_alignment_fixtures.py writes it)");
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).iter().map(|x| x.as_f64().unwrap()).collect()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn kind_of(name: &str) -> LossKind {
    match name {
        "dpo" => LossKind::Dpo,
        "cdpo" => LossKind::Cdpo,
        "robust_dpo" => LossKind::RobustDpo,
        "ipo" => LossKind::Ipo,
        "hinge" => LossKind::Hinge,
        "simpo" => LossKind::Simpo,
        "orpo" => LossKind::Orpo,
        "kto" => LossKind::Kto,
        other => panic!("unknown loss {other}"),
    }
}

fn params_of(v: &Value) -> LossParams {
    LossParams {
        beta: num(&v["beta"]),
        eps: num(&v["eps"]),
        tau: num(&v["tau"]),
        simpo_beta: num(&v["simpo_beta"]),
        gamma: num(&v["gamma"]),
        len_chosen: num(&v["len_chosen"]),
        len_rejected: num(&v["len_rejected"]),
        lambda: num(&v["lambda"]),
        z0: num(&v["z0"]),
        lambda_d: num(&v["lambda_d"]),
        lambda_u: num(&v["lambda_u"]),
    }
}

/// Smallest magnitude a relative error is taken against: values below it (subnormal
/// probabilities) are compared in absolute terms.
const FLOOR: f64 = 1e-300;

/// `|got − want| / max(|want|, FLOOR)`, 0 when both are equal (both 0 included).
fn relative(got: f64, want: f64) -> f64 {
    if got == want {
        0.0
    } else {
        (got - want).abs() / want.abs().max(FLOOR)
    }
}

/// One group's comparisons: the worst error, and every one over its tolerance.
struct Group {
    name: &'static str,
    checks: usize,
    worst: f64,
    worst_at: String,
    failures: Vec<String>,
}

impl Group {
    fn new(name: &'static str) -> Group {
        Group { name, checks: 0, worst: 0.0, worst_at: String::new(), failures: Vec::new() }
    }

    /// Records `err` (already scaled) for `got` against `want`; a non-finite `got` fails.
    fn record(&mut self, what: impl Fn() -> String, got: f64, want: f64, err: f64, tol: f64) {
        self.checks += 1;
        if !got.is_finite() {
            self.failures.push(format!("{}: got {got} (want {want:e})", what()));
            return;
        }
        if err > self.worst {
            self.worst = err;
            self.worst_at = what();
        }
        if err > tol || err.is_nan() {
            self.failures.push(format!("{}: got {got:e}, want {want:e} (error {err:.2e} > {tol:.0e})", what()));
        }
    }

    fn relative(&mut self, what: impl Fn() -> String, got: f64, want: f64, tol: f64) {
        self.record(what, got, want, relative(got, want), tol);
    }

    /// `|got − want| / scale`.
    fn scaled(&mut self, what: impl Fn() -> String, got: f64, want: f64, scale: f64, tol: f64) {
        self.record(what, got, want, (got - want).abs() / scale, tol);
    }

    fn finish(self, cases: usize, min_cases: usize) {
        println!(
            "{}: {cases} cases, {} checks; worst error {:.2e} at {}",
            self.name, self.checks, self.worst, self.worst_at
        );
        assert!(cases >= min_cases, "{}: only {cases} cases", self.name);
        assert!(self.failures.is_empty(), "{} failures:\n{}", self.failures.len(), self.failures.join("\n"));
    }
}

#[test]
fn loss_curves_match_the_reference() {
    let fx = fixtures();
    let params = fx["params"].as_array().unwrap();
    let cases = fx["curves"].as_array().unwrap();
    let mut g = Group::new("curves");
    for case in cases {
        let kind = kind_of(case["kind"].as_str().unwrap());
        let desirable = case["desirable"].as_bool().unwrap();
        let pi = case["params"].as_u64().unwrap() as usize;
        let p = params_of(&params[pi]);
        let (hs, loss, weight) = (floats(&case["h"]), floats(&case["loss"]), floats(&case["weight"]));
        for (i, &h) in hs.iter().enumerate() {
            let c = curve(kind, &p, h, desirable);
            let at = |what: &'static str| {
                move || format!("{kind:?}{} params {pi} h={h}: {what}", if desirable { "" } else { " undesirable" })
            };
            g.relative(at("loss"), c.loss, loss[i], TOL_LOSS);
            g.relative(at("weight"), c.weight, weight[i], TOL_LOSS);
        }
    }
    g.finish(cases.len(), 27);
}

const TOL_LOSS: f64 = 1e-12;

#[test]
fn pair_losses_and_gradients_match_the_reference() {
    let fx = fixtures();
    let params = fx["params"].as_array().unwrap();
    let cases = fx["pairs"].as_array().unwrap();
    let mut g = Group::new("pairs");
    for case in cases {
        let kind = kind_of(case["kind"].as_str().unwrap());
        let pi = case["params"].as_u64().unwrap() as usize;
        let p = params_of(&params[pi]);
        let pair = Pair {
            chosen: num(&case["chosen"]),
            rejected: num(&case["rejected"]),
            chosen_ref: num(&case["chosen_ref"]),
            rejected_ref: num(&case["rejected_ref"]),
        };
        let beta_rejected = num(&case["beta_rejected"]);
        let got = pair_loss(kind, &p, pair, beta_rejected);
        let at = |what: &'static str| move || format!("{kind:?} params {pi} {pair:?} β⁻={beta_rejected}: {what}");
        g.relative(at("loss"), got.loss, num(&case["loss"]), TOL_LOSS);
        g.relative(at("d_chosen"), got.d_chosen, num(&case["d_chosen"]), TOL_LOSS);
        g.relative(at("d_rejected"), got.d_rejected, num(&case["d_rejected"]), TOL_LOSS);
    }
    g.finish(cases.len(), 200);
}

#[test]
fn toy_loss_and_gradient_match_the_reference() {
    let fx = fixtures();
    let params = fx["params"].as_array().unwrap();
    let cases = fx["toys"].as_array().unwrap();
    let mut g = Group::new("toys");
    let indices = |v: &Value| v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect::<Vec<_>>();
    for (n, case) in cases.iter().enumerate() {
        let kind = kind_of(case["loss_kind"].as_str().unwrap());
        let pi = case["params"].as_u64().unwrap() as usize;
        let policy = match case["features"].as_u64() {
            None => Policy::Tabular,
            Some(f) => Policy::Linear { features: f as u32 },
        };
        let spec = ToySpec {
            responses: case["responses"].as_u64().unwrap() as u32,
            chosen: vec![indices(&case["chosen"])],
            rejected: vec![indices(&case["rejected"])],
            policy,
            loss: kind,
            params: params_of(&params[pi]),
            beta_rejected: num(&case["beta_rejected"]),
            sft_alpha: num(&case["sft_alpha"]),
            on_policy: false,
            samples: 8,
            lr: 1.0,
            focus: 2.0,
            seed: 7,
        };
        let mut toy = Toy::new(spec);
        toy.set_params(0, &floats(&case["theta_ref"]));
        toy.freeze_reference();
        toy.set_params(0, &floats(&case["theta"]));
        let (loss, grad) = toy.gradient(0);
        let want = floats(&case["grad"]);
        let at = |what: String| move || format!("toy {n} {kind:?} {policy:?} params {pi}: {what}");
        g.relative(at("loss".into()), loss, num(&case["loss"]), TOL_LOSS);
        assert_eq!(grad.len(), want.len(), "toy {n}: gradient length");
        let scale = want.iter().fold(0.0f64, |m, w| m.max(w.abs())).max(FLOOR);
        for (k, (&a, &b)) in grad.iter().zip(&want).enumerate() {
            g.scaled(at(format!("grad[{k}]")), a, b, scale, TOL_TOY_GRAD);
        }
    }
    g.finish(cases.len(), 40);
}

const TOL_TOY_GRAD: f64 = 1e-12;

#[test]
fn best_of_n_matches_the_exact_reference() {
    let fx = fixtures();
    let cases = fx["best_of_n"].as_array().unwrap();
    let mut g = Group::new("best_of_n");
    for (s, case) in cases.iter().enumerate() {
        let (p, r) = (floats(&case["p"]), floats(&case["r"]));
        let bon = case["bon"].as_array().unwrap();
        let ns: Vec<u32> = bon.iter().map(|b| b["n"].as_u64().unwrap() as u32).collect();
        let (front, _) = frontier(&p, &r, &ns, &[]);
        for (b, front) in bon.iter().zip(&front) {
            let n = b["n"].as_u64().unwrap() as u32;
            let q = best_of_n(&p, &r, n);
            assert_eq!(q.len(), floats(&b["q"]).len(), "set {s} N={n}: length");
            for (i, (&got, want)) in q.iter().zip(floats(&b["q"])).enumerate() {
                g.relative(|| format!("set {s} N={n}: q[{i}]"), got, want, TOL_BON);
            }
            let (reward, kl_q) = (num(&b["reward"]), num(&b["kl"]));
            g.scaled(|| format!("set {s} N={n}: reward"), expected_reward(&q, &r), reward, 1.0 + reward.abs(), TOL_BON);
            g.scaled(|| format!("set {s} N={n}: KL"), kl(&q, &p), kl_q, 1.0 + kl_q, TOL_BON);
            g.scaled(|| format!("set {s} N={n}: frontier reward"), front.reward, reward, 1.0 + reward.abs(), TOL_BON);
            g.scaled(|| format!("set {s} N={n}: frontier KL"), front.kl, kl_q, 1.0 + kl_q, TOL_BON);
        }
    }
    g.finish(cases.len(), 5);
}

const TOL_BON: f64 = 1e-12;

#[test]
fn tilt_matches_the_reference() {
    let fx = fixtures();
    let cases = fx["best_of_n"].as_array().unwrap();
    let mut g = Group::new("tilt");
    for (s, case) in cases.iter().enumerate() {
        let (p, r) = (floats(&case["p"]), floats(&case["r"]));
        let tilt = case["tilt"].as_array().unwrap();
        let betas: Vec<f64> = tilt.iter().map(|b| num(&b["beta"])).collect();
        let (_, front) = frontier(&p, &r, &[], &betas);
        for (b, front) in tilt.iter().zip(&front) {
            let beta = num(&b["beta"]);
            let q = tilted(&p, &r, beta);
            assert_eq!(q.len(), floats(&b["q"]).len(), "set {s} β={beta}: length");
            for (i, (&got, want)) in q.iter().zip(floats(&b["q"])).enumerate() {
                g.relative(|| format!("set {s} β={beta}: q[{i}]"), got, want, TOL_TILT);
            }
            let (reward, kl_q) = (num(&b["reward"]), num(&b["kl"]));
            g.scaled(|| format!("set {s} β={beta}: reward"), front.reward, reward, 1.0 + reward.abs(), TOL_TILT);
            g.scaled(|| format!("set {s} β={beta}: KL"), front.kl, kl_q, 1.0 + kl_q, TOL_TILT);
        }
    }
    g.finish(cases.len(), 5);
}

const TOL_TILT: f64 = 1e-12;

#[test]
fn nash_dynamics_match_the_reference() {
    let fx = fixtures();
    let cases = fx["nash"].as_array().unwrap();
    let mut g = Group::new("nash");
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let matrix = floats(&case["matrix"]);
        if name == "rock_paper_scissors" {
            assert_eq!(preset(Preset::RockPaperScissors, 3, 0), matrix, "the rock–paper–scissors preset");
        }
        let checkpoints: Vec<usize> =
            case["iterations"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
        let spec = NashSpec {
            matrix,
            start: floats(&case["start"]),
            reference: floats(&case["reference"]),
            eta: num(&case["eta"]),
            tau: num(&case["tau"]),
            iterations: *checkpoints.last().unwrap() as u32,
        };
        for (method, key) in
            [(NashMethod::SelfPlay, "self_play"), (NashMethod::NashMd, "nash_md"), (NashMethod::Egpo, "egpo")]
        {
            let trace = run(method, &spec);
            let want = &case["runs"][key];
            assert_eq!(
                trace.iterations.len(),
                checkpoints.last().unwrap() + 1,
                "{name} {method:?}: every iteration recorded"
            );
            for (c, &t) in checkpoints.iter().enumerate() {
                assert_eq!(trace.iterations[t] as usize, t);
                assert_eq!(trace.policies[t].len(), floats(&want["policies"][c]).len());
                for (i, (&got, w)) in trace.policies[t].iter().zip(floats(&want["policies"][c])).enumerate() {
                    g.scaled(|| format!("{name} {method:?} t={t}: π[{i}]"), got, w, 1.0, TOL_NASH);
                }
                let w = num(&want["exploitability"][c]);
                g.scaled(
                    || format!("{name} {method:?} t={t}: exploitability"),
                    trace.exploitability[t],
                    w,
                    1.0,
                    TOL_NASH,
                );
            }
        }
    }
    g.finish(cases.len(), 3);
}

const TOL_NASH: f64 = 1e-12;
