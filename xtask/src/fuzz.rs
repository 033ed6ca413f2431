//! `cargo xtask fuzz [--links N] [--checkpoints N]`: the long fuzz runs, not part of every test
//! run. Each lab's link decoder gets N generated and mutated links (1,000,000 by default;
//! `app/src/labs/tests/fuzz.rs`), and the checkpoint reader N mutated files (1,000,000 by
//! default), differential against the `safetensors` crate (`kernels/tests/checkpoint_fuzz.rs`).
//! `cargo xtask test` runs the same tests with 10,000 cases each. Figures: docs/RELIABILITY.md.

use crate::{cargo, run, step, Failure, Step};

const LABS: [&str; 4] = ["attention", "activations", "alignment", "model"];

fn count(args: &[String], flag: &str) -> Result<u64, Failure> {
    match args.iter().position(|a| a == flag) {
        None => Ok(1_000_000),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.replace(['_', ','], "").parse().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| Failure(format!("{flag} needs a whole number of cases above 0"))),
    }
}

pub fn fuzz_cmd(args: &[String]) -> Step {
    if let Some(bad) = args.iter().step_by(2).find(|a| *a != "--links" && *a != "--checkpoints") {
        return Err(Failure(format!("unknown option {bad}: cargo xtask fuzz [--links N] [--checkpoints N]")));
    }
    let links = count(args, "--links")?;
    let checkpoints = count(args, "--checkpoints")?;
    for lab in LABS {
        step(&format!("{links} mutated links of the {lab} lab"), || {
            run(cargo()
                .args(["test", "--release", "-p", "softplay-app", "--lib"])
                .arg(format!("labs::tests::fuzz::fuzz_{lab}_links"))
                .args(["--", "--exact"])
                .env("SOFTPLAY_FUZZ_LINKS", links.to_string()))
        })?;
    }
    step(&format!("{checkpoints} mutated checkpoints, against the safetensors crate"), || {
        run(cargo()
            .args(["test", "--release", "-p", "softplay-kernels", "--test", "checkpoint_fuzz", "--", "--nocapture"])
            .env("SOFTPLAY_FUZZ_CHECKPOINTS", checkpoints.to_string()))
    })
}
