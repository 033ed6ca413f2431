//! Messages between the page and the compute worker: plain data, serialised with
//! `serde-wasm-bindgen` into `postMessage`. Long arrays of f32 travel as bytes ([`F32s`]).
//! Requests are tagged inside (`{"kind": "attention_maps", …}`); responses, which the page
//! decodes, are tagged outside (`{"attention_maps_done": {…}}`, `"listening"`): serde decodes
//! that form without buffering, with much less code in the page's wasm.
//!
//! The page sends a [`Request`] with an `id` it chooses; the worker answers with any number of
//! [`Response::Progress`] for that id and then exactly one result (the response named after the
//! request) or [`Response::Failed`]. On start the worker sends [`Response::Ready`] once, saying
//! which backend it computes on.

use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use softplay_kernels::{
    alignment::preference_toy::{ToySpec, ToyTrace},
    attention::{synthetic::Synthetic, Lssa, LssaScale, SoftmaxAlgorithm, Variant},
    fit::{self, FitSpec},
    mlp::{Hidden, Target},
};

/// Largest vector the softmax demo accepts: 2^24 values (64 MiB of f32).
pub const SOFTMAX_DEMO_MAX_LEN: u32 = 1 << 24;
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

/// f32 values as little-endian bytes, so that postMessage copies one `Uint8Array` instead of
/// building an array of a million numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct F32s(pub Vec<f32>);

impl Serialize for F32s {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = self.0.iter().flat_map(|x| x.to_le_bytes()).collect();
        serializer.serialize_bytes(&bytes)
    }
}

/// Little-endian bytes to f32 values (`bytes.len()` a multiple of 4). One copy of memory where
/// the machine is little-endian (wasm32 always is): the page decodes a million values per
/// heatmap redraw, in a build optimised for size where a per-value loop is slow.
fn f32s_from_le_bytes(bytes: &[u8]) -> Vec<f32> {
    let mut out = vec![0.0f32; bytes.len() / 4];
    if cfg!(target_endian = "little") {
        // SAFETY: `out` holds exactly `bytes.len()` bytes (`bytes.len()` is a multiple of 4,
        // checked by the caller), the two allocations do not overlap, `u8` has no alignment
        // requirement, and every bit pattern is a valid f32; on a little-endian machine the
        // bytes are the values' own representation.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out.as_mut_ptr().cast::<u8>(), out.len() * 4) };
    } else {
        for (x, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
            *x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
    }
    out
}

impl<'de> Deserialize<'de> for F32s {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Bytes;
        impl<'de> de::Visitor<'de> for Bytes {
            type Value = F32s;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("f32 values as bytes (a multiple of 4)")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<F32s, E> {
                if !v.len().is_multiple_of(4) {
                    return Err(E::custom(format!("{} bytes are not whole f32 values", v.len())));
                }
                Ok(F32s(f32s_from_le_bytes(v)))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<F32s, E> {
                self.visit_bytes(&v)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<F32s, A::Error> {
                let mut bytes = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    bytes.push(b);
                }
                self.visit_bytes(&bytes)
            }
        }
        deserializer.deserialize_byte_buf(Bytes)
    }
}

/// A softmax algorithm, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    ThreePass,
    Online,
    TwoPass,
    Naive,
}

impl Algorithm {
    pub const ALL: [Algorithm; 4] = [Algorithm::ThreePass, Algorithm::Online, Algorithm::TwoPass, Algorithm::Naive];
    pub fn kernel(self) -> SoftmaxAlgorithm {
        match self {
            Algorithm::ThreePass => SoftmaxAlgorithm::ThreePass,
            Algorithm::Online => SoftmaxAlgorithm::Online,
            Algorithm::TwoPass => SoftmaxAlgorithm::TwoPass,
            Algorithm::Naive => SoftmaxAlgorithm::Naive,
        }
    }
}

/// LSSA's row scale, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleSpec {
    None,
    InvSqrtD,
    LnDLnN,
}

/// An attention normaliser with its parameters: the wire form of the kernels' [`Variant`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VariantSpec {
    Softmax { algorithm: Algorithm },
    Lssa { qk_norm: bool, scale: ScaleSpec },
    Lssar { qk_norm: bool, scale: ScaleSpec, p: f32 },
    Sigmoid { bias: Option<f32> },
    Relu,
    Linear,
}

impl VariantSpec {
    pub fn kernel(self) -> Variant {
        let lssa = |qk_norm, scale| Lssa {
            qk_norm,
            scale: match scale {
                ScaleSpec::None => LssaScale::None,
                ScaleSpec::InvSqrtD => LssaScale::InvSqrtD,
                ScaleSpec::LnDLnN => LssaScale::LnDLnN,
            },
        };
        match self {
            VariantSpec::Softmax { algorithm } => Variant::Softmax(algorithm.kernel()),
            VariantSpec::Lssa { qk_norm, scale } => Variant::Lssa(lssa(qk_norm, scale)),
            VariantSpec::Lssar { qk_norm, scale, p } => Variant::Lssar { lssa: lssa(qk_norm, scale), p },
            VariantSpec::Sigmoid { bias } => Variant::Sigmoid { bias },
            VariantSpec::Relu => Variant::Relu,
            VariantSpec::Linear => Variant::Linear,
        }
    }
}

/// The synthetic generator's settings (see the kernels' `attention::synthetic`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyntheticSpec {
    pub n: u32,
    pub d: u32,
    pub seed: u32,
    pub logit_scale: f32,
    pub needle: f32,
    pub period: u32,
    pub noise: f32,
}

impl SyntheticSpec {
    pub fn kernel(self) -> Synthetic {
        Synthetic {
            n: self.n as usize,
            d: self.d as usize,
            seed: self.seed as u64,
            logit_scale: self.logit_scale,
            needle: self.needle,
            period: self.period as usize,
            noise: self.noise,
        }
    }
}

/// Where the queries and keys come from. (The Model Lab's trained model will be a third
/// source: the q and k of a chosen layer and head.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inputs {
    Synthetic(SyntheticSpec),
    /// A hand-written example: `q`, `k` are `[n, d]` row-major.
    Table {
        n: u32,
        d: u32,
        q: Vec<f32>,
        k: Vec<f32>,
    },
}

impl Inputs {
    pub fn n(&self) -> u32 {
        match self {
            Inputs::Synthetic(s) => s.n,
            Inputs::Table { n, .. } => *n,
        }
    }
}

/// Work the page asks of the worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Softmax over `len` seeded `N(0, scale²)` values, in chunks, with progress: the worker's
    /// proof of life and the page's responsiveness check.
    Softmax { id: u32, len: u32, seed: u32, scale: f32 },
    /// Each variant's weights, scores and row statistics on the same inputs.
    AttentionMaps { id: u32, inputs: Inputs, variants: Vec<VariantSpec>, causal: bool },
    /// Mean row statistics and the needle's weight at `base.n × factor` for each factor.
    LengthSweep { id: u32, base: SyntheticSpec, variants: Vec<VariantSpec>, causal: bool, factors: Vec<u32> },
    /// Each variant's weights with the queries multiplied by each scale.
    Stability { id: u32, inputs: SyntheticSpec, variants: Vec<VariantSpec>, causal: bool, scales: Vec<f32> },
    /// Times the softmax algorithms on one seeded vector of `len` values.
    SoftmaxRace { id: u32, len: u32, seed: u32, repeats: u32 },
    /// Runs the fitting race `race` (a number the page chooses) on by up to `steps` steps,
    /// answering after about `budget_ms`; a race number the worker does not hold starts a new
    /// race from `spec` (the worker holds one race at a time).
    Fit { id: u32, race: u32, spec: FitWire, steps: u32, budget_ms: f64 },
    /// Trains the Alignment lab's DPO toy for `steps` steps, with progress.
    Toy { id: u32, spec: ToySpec, steps: u32 },
}

/// A fitting race's settings: [`FitSpec`] on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitWire {
    pub entrants: Vec<Hidden>,
    pub hidden: Vec<u32>,
    pub target: Target,
    pub lr: f32,
    pub seed: u32,
}

impl FitWire {
    pub fn spec(&self) -> FitSpec {
        FitSpec {
            entrants: self.entrants.clone(),
            hidden: self.hidden.iter().map(|&w| w as usize).collect(),
            target: self.target,
            lr: self.lr,
            seed: self.seed as u64,
        }
    }
}

/// Most steps one [`Request::Fit`] may ask for, and the longest race.
pub const FIT_MAX_STEPS: u32 = 100_000;

/// A histogram of one hidden layer (see `softplay_kernels::fit::Histogram`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistogramWire {
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<u32>,
    pub zeros: u32,
    pub total: u32,
}

/// One entrant's trained network, as the lab shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotWire {
    pub fitted: F32s,
    pub histograms: Vec<HistogramWire>,
    pub ratio: Vec<f32>,
    pub active: Vec<f32>,
    pub top_k: Vec<(u32, f32)>,
}

impl SnapshotWire {
    pub fn of(s: fit::Snapshot) -> SnapshotWire {
        SnapshotWire {
            fitted: F32s(s.fitted),
            histograms: s
                .histograms
                .into_iter()
                .map(|h| HistogramWire { lo: h.lo, hi: h.hi, counts: h.counts, zeros: h.zeros, total: h.total })
                .collect(),
            ratio: s.ratio,
            active: s.active,
            top_k: s.top_k,
        }
    }
}

/// The answer to [`Request::Fit`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    pub id: u32,
    pub race: u32,
    /// Steps taken in all, after this run.
    pub step: u32,
    /// Per entrant, the loss before each step of this run.
    pub losses: Vec<F32s>,
    /// Per entrant, the loss of the network now (after `step` steps).
    pub current: Vec<f32>,
    /// Per entrant, the step at which it diverged.
    pub diverged: Vec<Option<u32>>,
    pub snapshots: Vec<SnapshotWire>,
    /// Time the steps of this run took in the worker.
    pub ms: f64,
}

/// What the worker computes on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// WebGPU, with the adapter's description and the largest difference (relative to each
    /// output row) between the GPU's and the CPU's attention on the start-up check.
    WebGpu { adapter: String, max_rel_diff: f32 },
    /// The CPU (wasm simd128), and why not the GPU.
    Cpu { reason: String },
}

/// The worker's answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Sent once, as soon as the worker reads messages (before the GPU probe): requests made
    /// while it was loading can be sent now.
    Listening,
    /// Sent once at start, after the GPU probe.
    Ready {
        backend: Backend,
    },
    /// `done` of `total` units of request `id` are finished; `stage` names the current pass.
    Progress {
        id: u32,
        stage: String,
        done: u32,
        total: u32,
    },
    /// The result of [`Request::Softmax`].
    SoftmaxDone(SoftmaxSummary),
    AttentionMapsDone(Maps),
    LengthSweepDone(Sweep),
    StabilityDone(Stability),
    SoftmaxRaceDone(Race),
    FitDone(FitReport),
    ToyDone(ToyReport),
    /// Request `id` (or the worker itself, when `id` is `None`) failed; `message` says why.
    Failed {
        id: Option<u32>,
        message: String,
    },
    /// A message the worker could not read as a [`Request`] (say, from a page of another
    /// version); the worker keeps running.
    Unreadable {
        message: String,
    },
}

impl Response {
    /// The request this answers, and whether it is the last answer for it.
    pub fn request_id(&self) -> Option<(u32, bool)> {
        match self {
            Response::Progress { id, .. } => Some((*id, false)),
            Response::SoftmaxDone(r) => Some((r.id, true)),
            Response::AttentionMapsDone(r) => Some((r.id, true)),
            Response::LengthSweepDone(r) => Some((r.id, true)),
            Response::StabilityDone(r) => Some((r.id, true)),
            Response::SoftmaxRaceDone(r) => Some((r.id, true)),
            Response::FitDone(r) => Some((r.id, true)),
            Response::ToyDone(r) => Some((r.id, r.done)),
            Response::Failed { id: Some(id), .. } => Some((*id, true)),
            Response::Listening
            | Response::Ready { .. }
            | Response::Failed { id: None, .. }
            | Response::Unreadable { .. } => None,
        }
    }
}

/// The DPO toy's trace: so far (`done` false, about every 100 ms of a long run), or the whole
/// run and how long it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToyReport {
    pub id: u32,
    pub trace: ToyTrace,
    pub ms: f64,
    pub done: bool,
}

/// Most steps of one toy run.
pub const TOY_MAX_STEPS: u32 = 20_000;

/// Summary of a softmax demo run: enough to check the result without moving the vector back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoftmaxSummary {
    pub id: u32,
    pub len: u32,
    /// `Σ p`, which should be 1 up to rounding.
    pub sum: f64,
    /// The largest probability.
    pub max_prob: f32,
    /// `−Σ p ln p` in nats.
    pub entropy: f64,
    pub elapsed_ms: f64,
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
    /// (query row, key) of the planted needle.
    pub needle: Option<(u32, u32)>,
    /// One per requested variant, in order.
    pub maps: Vec<Map>,
    pub elapsed_ms: f64,
}

/// Mean row statistics at one length.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub n: u32,
    pub entropy: f64,
    pub max_weight: f64,
    pub sink: f64,
    pub row_sum: f64,
    pub support: f64,
    pub needle: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub id: u32,
    /// One series per requested variant, one point per factor.
    pub series: Vec<Vec<SweepPoint>>,
    pub elapsed_ms: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StabilityPoint {
    pub scale: f32,
    /// Means over the rows that stayed finite (NaN when none did).
    pub max_weight: f64,
    pub row_sum: f64,
    pub entropy: f64,
    pub broken_rows: u32,
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
    pub algorithm: Algorithm,
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

fn check_variants(variants: &[VariantSpec]) -> Result<(), String> {
    if variants.is_empty() || variants.len() > MAX_VARIANTS {
        return Err(format!("{} variants: must be 1..{MAX_VARIANTS}", variants.len()));
    }
    for v in variants {
        match *v {
            VariantSpec::Lssar { p, .. } if !(p.is_finite() && (1.0..=64.0).contains(&p)) => {
                return Err(format!("p={p}: must be in 1..64"));
            }
            VariantSpec::Sigmoid { bias: Some(b) } if !(b.is_finite() && b.abs() <= 1e4) => {
                return Err(format!("b={b}: must be a finite number in -10000..10000"));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_synthetic(s: &SyntheticSpec, max_n: u32) -> Result<(), String> {
    if s.n < 1 || s.n > max_n {
        return Err(format!("n={}: must be 1..{max_n}", s.n));
    }
    if s.d < 1 || s.d > 256 {
        return Err(format!("d={}: must be 1..256", s.d));
    }
    s.kernel().check()
}

impl Request {
    /// The id the page gave this request.
    pub fn id(&self) -> u32 {
        match self {
            Request::Softmax { id, .. }
            | Request::AttentionMaps { id, .. }
            | Request::LengthSweep { id, .. }
            | Request::Stability { id, .. }
            | Request::SoftmaxRace { id, .. }
            | Request::Fit { id, .. }
            | Request::Toy { id, .. } => *id,
        }
    }

    /// Checks the request's values; the message names the value and the allowed range.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            &Request::Softmax { len, scale, .. } => {
                if len == 0 || len > SOFTMAX_DEMO_MAX_LEN {
                    return Err(format!("len={len}: must be 1..{SOFTMAX_DEMO_MAX_LEN}"));
                }
                if !(scale.is_finite() && scale > 0.0 && scale <= 1e4) {
                    return Err(format!("scale={scale}: must be in (0, 10000]"));
                }
                Ok(())
            }
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
            Request::Toy { spec, steps, .. } => {
                if *steps == 0 || *steps > TOY_MAX_STEPS {
                    return Err(format!("steps={steps}: must be 1..{TOY_MAX_STEPS}"));
                }
                spec.check()
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
            Request::Fit { spec, steps, budget_ms, .. } => {
                if *steps > FIT_MAX_STEPS {
                    return Err(format!("steps={steps}: must be 0..{FIT_MAX_STEPS}"));
                }
                if !(budget_ms.is_finite() && *budget_ms > 0.0 && *budget_ms <= 10_000.0) {
                    return Err(format!("budget_ms={budget_ms}: must be in (0, 10000]"));
                }
                spec.spec().check()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_bad_value_and_the_range() {
        let bad = Request::Softmax { id: 1, len: 0, seed: 0, scale: 1.0 };
        assert_eq!(bad.validate().unwrap_err(), "len=0: must be 1..16777216");
        let bad = Request::Softmax { id: 1, len: 10, seed: 0, scale: f32::NAN };
        assert!(bad.validate().unwrap_err().starts_with("scale=NaN"));
        assert!(Request::Softmax { id: 1, len: 10, seed: 0, scale: 2.0 }.validate().is_ok());
    }

    fn spec(n: u32) -> SyntheticSpec {
        SyntheticSpec { n, d: 16, seed: 1, logit_scale: 1.0, needle: 4.0, period: 0, noise: 0.0 }
    }

    #[test]
    fn attention_requests_are_checked() {
        let softmax = VariantSpec::Softmax { algorithm: Algorithm::ThreePass };
        let maps = |inputs, variants| Request::AttentionMaps { id: 1, inputs, variants, causal: true };
        assert!(maps(Inputs::Synthetic(spec(512)), vec![softmax]).validate().is_ok());
        assert_eq!(
            maps(Inputs::Synthetic(spec(2048)), vec![softmax]).validate().unwrap_err(),
            "n=2048: must be 1..1024"
        );
        assert_eq!(maps(Inputs::Synthetic(spec(8)), vec![]).validate().unwrap_err(), "0 variants: must be 1..6");
        let lssar = VariantSpec::Lssar { qk_norm: true, scale: ScaleSpec::LnDLnN, p: 0.5 };
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
        let race = Request::SoftmaxRace { id: 3, len: 10, seed: 1, repeats: 3 };
        assert_eq!(race.validate().unwrap_err(), "len=10: must be 1024..8388608");
    }

    #[test]
    fn f32_bytes_round_trip() {
        let x = [0.0f32, -1.5, f32::MAX, f32::MIN_POSITIVE, f32::INFINITY, 1e-40];
        let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(f32s_from_le_bytes(&bytes), x.to_vec());
        let nan = f32s_from_le_bytes(&f32::NAN.to_le_bytes());
        assert!(nan[0].is_nan());
    }

    #[test]
    fn fit_requests_are_checked() {
        use softplay_kernels::activation::{Activation, Gate};
        let wire = FitWire {
            entrants: vec![Hidden::Each(Activation::Silu { beta: 1.0 }), Hidden::Gated(Gate::GeGlu)],
            hidden: vec![16],
            target: Target::Chirp,
            lr: 0.01,
            seed: 7,
        };
        let fit = |spec: FitWire, steps| Request::Fit { id: 1, race: 1, spec, steps, budget_ms: 50.0 };
        assert!(fit(wire.clone(), 100).validate().is_ok());
        assert_eq!(fit(wire.clone(), FIT_MAX_STEPS + 1).validate().unwrap_err(), "steps=100001: must be 0..100000");
        let mut wide = wire.clone();
        wide.hidden = vec![16, 65];
        assert_eq!(fit(wide, 10).validate().unwrap_err(), "hidden width 65: allowed 1 to 64");
        let mut bad = wire.clone();
        bad.lr = 0.0;
        assert_eq!(fit(bad, 10).validate().unwrap_err(), "learning rate 0: allowed above 0 up to 1");
        let budget = Request::Fit { id: 1, race: 1, spec: wire, steps: 1, budget_ms: f64::INFINITY };
        assert_eq!(budget.validate().unwrap_err(), "budget_ms=inf: must be in (0, 10000]");
    }

    #[test]
    fn variants_map_to_the_kernels() {
        let v = VariantSpec::Lssar { qk_norm: true, scale: ScaleSpec::LnDLnN, p: 15.0 }.kernel();
        assert_eq!(v, Variant::LSSAR_DEFAULT);
        assert_eq!(VariantSpec::Sigmoid { bias: None }.kernel(), Variant::Sigmoid { bias: None });
    }
}
