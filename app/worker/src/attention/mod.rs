//! The Attention lab's messages: each normaliser's weights on the same inputs (the heatmaps),
//! the length sweep, the stability scan and the softmax race; their limits and checks. The
//! handler is [`handler`].

pub mod handler;

use serde::{Deserialize, Serialize};
use softplay_kernels::attention::{
    stats::{StabilityPoint, SweepPoint},
    synthetic::{Needle, Synthetic},
    SoftmaxAlgorithm, Variant,
};

use crate::protocol::{Answer, Ask, F32s};

/// Largest sequence whose full weight matrices the page receives (per variant, n² values).
pub const MAPS_MAX_N: u32 = 1024;
/// Longest sequence of a length sweep.
pub const SWEEP_MAX_N: u32 = 4096;
/// Most multiply-adds (`Σ n²·d` over lengths and variants) in one sweep: the lab's largest
/// settings (base 256, d = 256, four variants) stay inside it.
pub const SWEEP_MAX_WORK: u64 = 25_000_000_000;
/// Longest sequence of the stability test (it keeps each n×n weight matrix to check it).
pub const STABILITY_MAX_N: u32 = 1024;
/// Most variants compared at once.
pub const MAX_VARIANTS: usize = 6;
/// The hand-editable example's limits.
pub const TABLE_MAX_N: u32 = 8;
pub const TABLE_MAX_D: u32 = 4;
pub const TABLE_MAX_ABS: f32 = 1e4;
/// The softmax race's vector length range and repeats.
pub const RACE_MIN_LEN: u32 = 1 << 10;
pub const RACE_MAX_LEN: u32 = 1 << 23;
pub const RACE_MAX_REPEATS: u32 = 50;

/// Where the queries and keys come from. (The Model Lab's trained model will be a third
/// source: the q and k of a chosen layer and head.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inputs {
    Synthetic(Synthetic),
    /// A hand-written example: `q`, `k` are `[n, d]` row-major.
    Table {
        n: u32,
        d: u32,
        q: Vec<f32>,
        k: Vec<f32>,
    },
}

impl Inputs {
    pub fn n(&self) -> usize {
        match self {
            Inputs::Synthetic(s) => s.n,
            Inputs::Table { n, .. } => *n as usize,
        }
    }
}

/// Work the Attention lab asks of its workers. The variants and the synthetic inputs are the
/// kernels' own types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Each variant's weights, scores and row statistics on the same inputs.
    AttentionMaps { id: u32, inputs: Inputs, variants: Vec<Variant>, causal: bool },
    /// Mean row statistics and the needle's weight at `base.n × factor` for each factor.
    LengthSweep { id: u32, base: Synthetic, variants: Vec<Variant>, causal: bool, factors: Vec<u32> },
    /// Each variant's weights with the queries multiplied by each scale.
    Stability { id: u32, inputs: Synthetic, variants: Vec<Variant>, causal: bool, scales: Vec<f32> },
    /// Times the softmax algorithms on one seeded vector of `len` values.
    SoftmaxRace { id: u32, len: u32, seed: u32, repeats: u32 },
}

/// The results, one per request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    Maps(Maps),
    Sweep(Sweep),
    Stability(Stability),
    Race(Race),
}

/// One variant's weights: `[n, n]` (masked entries 0) and per-row statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Map {
    pub weights: F32s,
    pub entropy: F32s,
    pub max_weight: F32s,
    pub sink: F32s,
    pub row_sum: F32s,
    pub support: F32s,
    /// The means over the rows, and the needle's weight.
    pub mean: SweepPoint,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Maps {
    pub id: u32,
    pub n: u32,
    pub d: u32,
    /// The queries and keys the weights came from (`[n, d]`, logit scale applied): the page
    /// reads a cell's score from them (`attention_score`) instead of receiving n² scores.
    pub q: F32s,
    pub k: F32s,
    /// Where the needle is planted.
    pub needle: Option<Needle>,
    /// One per requested variant, in order.
    pub maps: Vec<Map>,
    pub elapsed_ms: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub id: u32,
    /// One series per requested variant, one point per factor.
    pub series: Vec<Vec<SweepPoint>>,
    pub elapsed_ms: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StabilitySeries {
    pub points: Vec<StabilityPoint>,
    /// The smallest scale (to 1e-4 relative) at which a weight stops being finite.
    pub breaks_at: Option<f32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stability {
    pub id: u32,
    pub n: u32,
    pub series: Vec<StabilitySeries>,
    pub elapsed_ms: f64,
}

/// One softmax algorithm's time on the race vector.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RaceResult {
    pub algorithm: SoftmaxAlgorithm,
    pub reads: u32,
    pub writes: u32,
    /// The fastest of the repeats.
    pub best_ms: f64,
    pub median_ms: f64,
    /// `(reads + writes) × 4 bytes × len / best time`.
    pub gb_per_s: f64,
    /// Largest difference from a float64 softmax of the same values, relative to the largest
    /// weight.
    pub max_rel_error: f64,
    /// Largest absolute difference from the three-pass result.
    pub max_abs_diff: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Race {
    pub id: u32,
    pub len: u32,
    pub repeats: u32,
    pub results: Vec<RaceResult>,
}

fn check_variants(variants: &[Variant]) -> Result<(), String> {
    if variants.is_empty() || variants.len() > MAX_VARIANTS {
        return Err(format!("{} variants: must be 1..{MAX_VARIANTS}", variants.len()));
    }
    for v in variants {
        match *v {
            Variant::Lssar { p, .. } if !(p.is_finite() && (1.0..=64.0).contains(&p)) => {
                return Err(format!("p={p}: must be in 1..64"));
            }
            Variant::Sigmoid { bias: Some(b) } if !(b.is_finite() && b.abs() <= 1e4) => {
                return Err(format!("b={b}: must be a finite number in -10000..10000"));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_synthetic(s: &Synthetic, max_n: u32) -> Result<(), String> {
    if s.n < 1 || s.n > max_n as usize {
        return Err(format!("n={}: must be 1..{max_n}", s.n));
    }
    if s.d < 1 || s.d > 256 {
        return Err(format!("d={}: must be 1..256", s.d));
    }
    s.check()
}

impl Ask for Request {
    const LAB: &'static str = "attention";

    fn id(&self) -> u32 {
        match self {
            Request::AttentionMaps { id, .. }
            | Request::LengthSweep { id, .. }
            | Request::Stability { id, .. }
            | Request::SoftmaxRace { id, .. } => *id,
        }
    }

    /// The heatmaps answer at once; the rest take turns.
    fn is_long(&self) -> bool {
        !matches!(self, Request::AttentionMaps { .. })
    }

    fn validate(&self) -> Result<(), String> {
        match self {
            Request::AttentionMaps { inputs, variants, .. } => {
                check_variants(variants)?;
                match inputs {
                    Inputs::Synthetic(s) => check_synthetic(s, MAPS_MAX_N),
                    Inputs::Table { n, d, q, k } => {
                        if *n < 1 || *n > TABLE_MAX_N || *d < 1 || *d > TABLE_MAX_D {
                            return Err(format!(
                                "table {n}×{d}: must be at most {TABLE_MAX_N} rows of {TABLE_MAX_D} values"
                            ));
                        }
                        for (name, x) in [("q", q), ("k", k)] {
                            if x.len() != (n * d) as usize {
                                return Err(format!("{name} has {} values; a {n}×{d} table needs {}", x.len(), n * d));
                            }
                            if let Some(bad) = x.iter().find(|v| !(v.is_finite() && v.abs() <= TABLE_MAX_ABS)) {
                                return Err(format!(
                                    "{name} value {bad}: must be in -{TABLE_MAX_ABS}..{TABLE_MAX_ABS}"
                                ));
                            }
                        }
                        Ok(())
                    }
                }
            }
            Request::LengthSweep { base, variants, factors, .. } => {
                check_variants(variants)?;
                check_synthetic(base, SWEEP_MAX_N)?;
                if factors.is_empty() || factors.len() > 8 {
                    return Err(format!("{} lengths: must be 1..8", factors.len()));
                }
                if let Some(f) = factors.iter().find(|&&f| f == 0 || base.n as u64 * f as u64 > SWEEP_MAX_N as u64) {
                    return Err(format!("length {} × {f}: must be 1..{SWEEP_MAX_N}", base.n));
                }
                // A bound on the work: n² d per variant and length.
                let work: u64 = factors.iter().map(|&f| (base.n as u64 * f as u64).pow(2)).sum::<u64>()
                    * base.d as u64
                    * variants.len() as u64;
                if work > SWEEP_MAX_WORK {
                    return Err(format!(
                        "a sweep of {work:.1e} multiply-adds: at most {SWEEP_MAX_WORK:.0e}; use a smaller d, base length or fewer variants"
                    ));
                }
                Ok(())
            }
            Request::Stability { inputs, variants, scales, .. } => {
                check_variants(variants)?;
                check_synthetic(inputs, STABILITY_MAX_N)?;
                if scales.is_empty() || scales.len() > 64 {
                    return Err(format!("{} scales: must be 1..64", scales.len()));
                }
                if let Some(s) = scales.iter().find(|s| !(s.is_finite() && **s > 0.0 && **s <= 1e4)) {
                    return Err(format!("scale {s}: must be in (0, 10000]"));
                }
                Ok(())
            }
            &Request::SoftmaxRace { len, repeats, .. } => {
                if !(RACE_MIN_LEN..=RACE_MAX_LEN).contains(&len) {
                    return Err(format!("len={len}: must be {RACE_MIN_LEN}..{RACE_MAX_LEN}"));
                }
                if !(1..=RACE_MAX_REPEATS).contains(&repeats) {
                    return Err(format!("repeats={repeats}: must be 1..{RACE_MAX_REPEATS}"));
                }
                Ok(())
            }
        }
    }
}

impl Answer for Done {
    fn id(&self) -> u32 {
        match self {
            Done::Maps(r) => r.id,
            Done::Sweep(r) => r.id,
            Done::Stability(r) => r.id,
            Done::Race(r) => r.id,
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use softplay_kernels::attention::{Lssa, LssaScale};

    use super::*;

    fn spec(n: usize) -> Synthetic {
        Synthetic { n, d: 16, seed: 1, logit_scale: 1.0, needle: 4.0, period: 0, noise: 0.0 }
    }

    #[test]
    fn attention_requests_are_checked() {
        let softmax = Variant::Softmax(SoftmaxAlgorithm::ThreePass);
        let maps = |inputs, variants| Request::AttentionMaps { id: 1, inputs, variants, causal: true };
        assert!(maps(Inputs::Synthetic(spec(512)), vec![softmax]).validate().is_ok());
        assert_eq!(
            maps(Inputs::Synthetic(spec(2048)), vec![softmax]).validate().unwrap_err(),
            "n=2048: must be 1..1024"
        );
        assert_eq!(maps(Inputs::Synthetic(spec(8)), vec![]).validate().unwrap_err(), "0 variants: must be 1..6");
        let lssar = Variant::Lssar { lssa: Lssa { qk_norm: true, scale: LssaScale::LnDLnN }, p: 0.5 };
        assert_eq!(maps(Inputs::Synthetic(spec(8)), vec![lssar]).validate().unwrap_err(), "p=0.5: must be in 1..64");
        let table = Inputs::Table { n: 2, d: 2, q: vec![1.0, 0.0, 0.0, 1.0], k: vec![1.0, f32::INFINITY, 0.0, 1.0] };
        assert_eq!(maps(table, vec![softmax]).validate().unwrap_err(), "k value inf: must be in -10000..10000");
        let table = Inputs::Table { n: 2, d: 2, q: vec![1.0; 3], k: vec![1.0; 4] };
        assert_eq!(maps(table, vec![softmax]).validate().unwrap_err(), "q has 3 values; a 2×2 table needs 4");
        let sweep = Request::LengthSweep {
            id: 2,
            base: spec(512),
            variants: vec![softmax],
            causal: true,
            factors: vec![1, 16],
        };
        assert_eq!(sweep.validate().unwrap_err(), "length 512 × 16: must be 1..4096");
        let noisy = Synthetic { noise: 11.0, ..spec(8) };
        assert_eq!(maps(Inputs::Synthetic(noisy), vec![softmax]).validate().unwrap_err(), "noise 11: must be in 0..10");
        let race = Request::SoftmaxRace { id: 3, len: 10, seed: 1, repeats: 3 };
        assert_eq!(race.validate().unwrap_err(), "len=10: must be 1024..8388608");
    }

    #[test]
    fn kernel_variants_travel_as_they_are() {
        let json = serde_json::to_string(&Variant::LSSAR_DEFAULT).unwrap();
        assert_eq!(json, r#"{"lssar":{"lssa":{"qk_norm":true,"scale":"ln_d_ln_n"},"p":15.0}}"#);
        let request = Request::Stability {
            id: 9,
            inputs: spec(64),
            variants: vec![
                Variant::Softmax(SoftmaxAlgorithm::Naive),
                Variant::LSSAR_DEFAULT,
                Variant::Sigmoid { bias: Some(-2.5) },
                Variant::Relu,
            ],
            causal: false,
            scales: vec![1.0, 10.0],
        };
        let back: Request = serde_json::from_str(&serde_json::to_string(&request).unwrap()).unwrap();
        assert_eq!(back, request);
        let maps = Request::AttentionMaps {
            id: 10,
            inputs: Inputs::Synthetic(Synthetic { period: 3, noise: 0.5, ..spec(16) }),
            variants: vec![Variant::Lssa(Lssa { qk_norm: false, scale: LssaScale::InvSqrtD }), Variant::Linear],
            causal: true,
        };
        let json = serde_json::to_string(&maps).unwrap();
        assert!(json.starts_with(r#"{"kind":"attention_maps","id":10,"inputs":{"kind":"synthetic","n":16,"#), "{json}");
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), maps);
    }
}
