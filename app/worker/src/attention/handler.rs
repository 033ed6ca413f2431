//! The Attention lab's handler: plain Rust over the kernels, generic over the worker it runs
//! in ([`Host`]), so that the tests below run it natively.

use std::rc::Rc;

use softplay_kernels::{
    attention::{
        attention_probe,
        stats::{breaking_scale, stability_sweep, sweep_point, SweepPoint},
        synthetic::{Needle, Synthetic},
        Attention, Mask, Probe, RowStats, Shape, SoftmaxAlgorithm, Variant,
    },
    Rng,
};

use super::{Done, Inputs, Map, Maps, Race, RaceResult, Request, Stability, StabilitySeries, Sweep};
use crate::protocol::{F32s, Host, Reply};

/// The step of a worker's clock without cross-origin isolation.
const CLOCK_STEP_MS: f64 = 0.1;

/// Answers one request (already validated).
pub async fn handle<H: Host>(request: Request, host: &H) -> Reply<Done> {
    let id = request_id(&request);
    let done = match request {
        Request::AttentionMaps { id, inputs, variants, causal } => {
            attention_maps(host, id, &inputs, &variants, causal).map(Done::Maps)
        }
        Request::LengthSweep { id, base, variants, causal, factors } => {
            sweep(host, id, base, &variants, causal, &factors).await.map(Done::Sweep)
        }
        Request::Stability { id, inputs, variants, causal, scales } => {
            stability(host, id, inputs, &variants, causal, &scales).await.map(Done::Stability)
        }
        Request::SoftmaxRace { id, len, seed, repeats } => {
            Ok(Done::Race(softmax_race(host, id, len, seed, repeats).await))
        }
    };
    match done {
        Ok(done) => Reply::Done(done),
        Err(message) => Reply::Failed { id: Some(id), message },
    }
}

fn request_id(request: &Request) -> u32 {
    crate::protocol::Ask::id(request)
}

fn mask_of(causal: bool) -> Mask {
    if causal {
        Mask::Causal
    } else {
        Mask::Full
    }
}

/// Queries, keys and the needle's place.
type Drawn = (Vec<f32>, Vec<f32>, Option<Needle>);

thread_local! {
    /// The last synthetic inputs drawn at logit scale 1: dragging the logit scale only
    /// rescales the queries, so they are not drawn again.
    static LAST_INPUTS: std::cell::RefCell<Option<(Synthetic, Rc<Drawn>)>> =
        const { std::cell::RefCell::new(None) };
}

/// The synthetic inputs of `spec`: q, k and the needle's place.
fn synthetic_inputs(spec: Synthetic) -> Drawn {
    let unscaled = Synthetic { logit_scale: 1.0, ..spec };
    let cached = LAST_INPUTS.with(|c| c.borrow().as_ref().filter(|(s, _)| *s == unscaled).map(|(_, x)| x.clone()));
    let base = cached.unwrap_or_else(|| {
        let x = unscaled.generate();
        let drawn = Rc::new((x.q, x.k, x.needle));
        LAST_INPUTS.with(|c| *c.borrow_mut() = Some((unscaled, drawn.clone())));
        drawn
    });
    // The same product the generator applies last, so the numbers are those of `generate`.
    let q = base.0.iter().map(|x| x * spec.logit_scale).collect();
    (q, base.1.clone(), base.2)
}

/// Each variant's weights and row statistics on one set of inputs.
fn attention_maps<H: Host>(
    host: &H,
    id: u32,
    inputs: &Inputs,
    variants: &[Variant],
    causal: bool,
) -> Result<Maps, String> {
    let start = host.now_ms();
    let (n, d, q, k, needle) = match inputs {
        Inputs::Synthetic(spec) => {
            let (q, k, needle) = synthetic_inputs(*spec);
            (spec.n, spec.d, q, k, needle)
        }
        Inputs::Table { n, d, q, k } => (*n as usize, *d as usize, q.clone(), k.clone(), None),
    };
    let mut maps = Vec::with_capacity(variants.len());
    for &variant in variants {
        let attention = Attention { shape: Shape::single(n, d), variant, mask: mask_of(causal) };
        let mut weights = vec![0.0f32; n * n];
        let mut stats = vec![RowStats::default(); n];
        attention_probe(
            &attention,
            &q,
            &k,
            Probe { weights: Some(&mut weights), scores: None, stats: Some(&mut stats) },
        )
        .map_err(|e| e.to_string())?;
        let column = |f: fn(&RowStats) -> f32| F32s(stats.iter().map(f).collect());
        let mean = SweepPoint::of(n, &stats, needle.map(|p| weights[p.query * n + p.key] as f64));
        maps.push(Map {
            entropy: column(|s| s.entropy),
            max_weight: column(|s| s.max_weight),
            sink: column(|s| s.sink),
            row_sum: column(|s| s.row_sum),
            support: column(|s| s.support as f32),
            mean,
            weights: F32s(weights),
        });
    }
    Ok(Maps { id, n: n as u32, d: d as u32, q: F32s(q), k: F32s(k), needle, maps, elapsed_ms: host.now_ms() - start })
}

/// The length sweep, one length at a time (its inputs drawn once for every variant), with
/// progress weighted by n².
async fn sweep<H: Host>(
    host: &H,
    id: u32,
    spec: Synthetic,
    variants: &[Variant],
    causal: bool,
    factors: &[u32],
) -> Result<Sweep, String> {
    let start = host.now_ms();
    let total: u32 = factors.iter().map(|f| f * f).sum::<u32>() * variants.len() as u32;
    let mut done = 0;
    let mut series = vec![Vec::with_capacity(factors.len()); variants.len()];
    // A yield costs a zero-delay timer (4 ms once timers nest): the short lengths go on without
    // one, so the worker reads its messages at least every 50 ms and wastes little.
    let mut yielded = start;
    for &factor in factors {
        let n = spec.n * factor as usize;
        let x = Synthetic { n, ..spec }.generate();
        let needle = x.needle.map(|p| (p.query, p.key));
        for (vi, &variant) in variants.iter().enumerate() {
            let p = sweep_point(variant, mask_of(causal), spec.d, &x.q, &x.k, needle).map_err(|e| e.to_string())?;
            series[vi].push(p);
            done += factor * factor;
            host.progress(id, &format!("n = {n}, variant {} of {}", vi + 1, variants.len()), done, total);
            if host.now_ms() - yielded >= 50.0 {
                host.yield_now().await;
                yielded = host.now_ms();
            }
        }
    }
    Ok(Sweep { id, series, elapsed_ms: host.now_ms() - start })
}

/// Each variant at each logit scale, and where (if anywhere) it breaks.
async fn stability<H: Host>(
    host: &H,
    id: u32,
    inputs: Synthetic,
    variants: &[Variant],
    causal: bool,
    scales: &[f32],
) -> Result<Stability, String> {
    let start = host.now_ms();
    // The scale is applied here, point by point: the inputs are drawn at scale 1.
    let x = Synthetic { logit_scale: 1.0, ..inputs }.generate();
    let (d, mask) = (inputs.d, mask_of(causal));
    let lo = scales.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = scales.iter().copied().fold(0.0, f32::max);
    let mut series = Vec::with_capacity(variants.len());
    for (vi, &v) in variants.iter().enumerate() {
        let points = stability_sweep(v, mask, d, &x.q, &x.k, scales).map_err(|e| e.to_string())?;
        let breaks_at = breaking_scale(v, mask, d, &x.q, &x.k, lo, hi).map_err(|e| e.to_string())?;
        series.push(StabilitySeries { points, breaks_at });
        host.progress(id, &format!("variant {} of {}", vi + 1, variants.len()), vi as u32 + 1, variants.len() as u32);
        host.yield_now().await;
    }
    Ok(Stability { id, n: inputs.n as u32, series, elapsed_ms: host.now_ms() - start })
}

/// Three-pass, online and two-pass softmax on the same vector, repeated in turns so that
/// none of them gets a warmer or quieter moment; the best and median times are kept.
async fn softmax_race<H: Host>(host: &H, id: u32, len: u32, seed: u32, repeats: u32) -> Race {
    let algorithms = [SoftmaxAlgorithm::ThreePass, SoftmaxAlgorithm::Online, SoftmaxAlgorithm::TwoPass];
    let mut x = vec![0.0f32; len as usize];
    Rng::new(seed as u64).fill_normal(&mut x, 3.0);
    // The float64 softmax the results are compared with.
    let m = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
    let z: f64 = x.iter().map(|&v| (v as f64 - m).exp()).sum();
    let mut out = vec![0.0f32; x.len()];
    let mut times = vec![Vec::with_capacity(repeats as usize); algorithms.len()];
    let mut errors = vec![0.0f64; algorithms.len()];
    let mut diffs = vec![0.0f64; algorithms.len()];
    let mut three_pass = Vec::new();
    for r in 0..repeats {
        for (a, algorithm) in algorithms.iter().enumerate() {
            out.copy_from_slice(&x);
            let t0 = host.now_ms();
            softplay_kernels::attention::softmax::row_forward(*algorithm, &mut out);
            times[a].push(host.now_ms() - t0);
            if r == 0 {
                errors[a] =
                    out.iter().zip(&x).fold(0.0f64, |e, (&y, &v)| e.max((y as f64 - (v as f64 - m).exp() / z).abs()));
                if a == 0 {
                    three_pass = out.clone();
                }
                diffs[a] = out.iter().zip(&three_pass).fold(0.0f64, |e, (&y, &t)| e.max((y - t).abs() as f64));
            }
        }
        host.progress(id, "timing", r + 1, repeats);
        host.yield_now().await;
    }
    let largest = 1.0 / z; // the largest weight, e^(max − max) / z
    let results = algorithms
        .iter()
        .enumerate()
        .map(|(a, &algorithm)| {
            let mut t = times[a].clone();
            t.sort_by(f64::total_cmp);
            let (best_ms, median_ms) = (t[0], t[t.len() / 2]);
            let (reads, writes) = algorithm.memory_passes();
            let bytes = (reads + writes) as f64 * 4.0 * len as f64;
            RaceResult {
                algorithm,
                reads,
                writes,
                best_ms,
                median_ms,
                // A run shorter than the clock's step is reported as one step.
                gb_per_s: bytes / (best_ms.max(CLOCK_STEP_MS) * 1e6),
                max_rel_error: errors[a] / largest,
                max_abs_diff: diffs[a],
            }
        })
        .collect();
    Race { id, len, repeats, results }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::protocol::{
        test_host::{block_on, TestHost},
        Ask,
    };

    fn spec(n: usize) -> Synthetic {
        Synthetic { n, d: 8, seed: 3, logit_scale: 1.0, needle: 4.0, period: 0, noise: 0.0 }
    }

    const SOFTMAX: Variant = Variant::Softmax(SoftmaxAlgorithm::ThreePass);
    const SIGMOID: Variant = Variant::Sigmoid { bias: None };

    #[test]
    fn maps_give_rows_that_sum_to_one_and_the_inputs_they_came_from() {
        let host = TestHost::default();
        let request = Request::AttentionMaps {
            id: 4,
            inputs: Inputs::Synthetic(spec(16)),
            variants: vec![SOFTMAX, SIGMOID],
            causal: true,
        };
        assert!(!request.is_long());
        let Reply::Done(Done::Maps(maps)) = block_on(handle(request, &host)) else { panic!("no maps") };
        assert_eq!((maps.id, maps.n, maps.d, maps.maps.len()), (4, 16, 8, 2));
        assert_eq!(maps.q.0.len(), 16 * 8);
        let softmax = &maps.maps[0];
        for i in 0..16 {
            let row = &softmax.weights.0[i * 16..(i + 1) * 16];
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "row {i}");
            assert!(row[i + 1..].iter().all(|&w| w == 0.0), "row {i} sees the future");
        }
        assert!(maps.needle.is_some());
    }

    #[test]
    fn a_bad_table_fails_with_its_message() {
        let host = TestHost::default();
        let table = Inputs::Table { n: 2, d: 2, q: vec![1.0; 4], k: vec![1.0; 4] };
        let ok = block_on(handle(
            Request::AttentionMaps { id: 1, inputs: table, variants: vec![SOFTMAX], causal: false },
            &host,
        ));
        let Reply::Done(Done::Maps(maps)) = ok else { panic!("{ok:?}") };
        assert_eq!(maps.maps[0].weights.0, vec![0.5; 4]);
    }

    #[test]
    fn the_sweep_reports_progress_per_length_and_variant_and_softmax_flattens() {
        let host = TestHost::default();
        let request = Request::LengthSweep {
            id: 5,
            base: spec(8),
            variants: vec![SOFTMAX, SIGMOID],
            causal: true,
            factors: vec![1, 2, 4],
        };
        let Reply::Done(Done::Sweep(sweep)) = block_on(handle(request, &host)) else { panic!("no sweep") };
        assert_eq!(sweep.series.len(), 2);
        let ns: Vec<usize> = sweep.series[0].iter().map(|p| p.n).collect();
        assert_eq!(ns, vec![8, 16, 32]);
        // Softmax's largest weight falls as the rows grow.
        assert!(sweep.series[0][2].max_weight < sweep.series[0][0].max_weight);
        assert_eq!(host.sent.borrow().len(), 6);
    }

    #[test]
    fn the_race_times_three_algorithms_that_agree() {
        let host = TestHost::default();
        let Reply::Done(Done::Race(race)) =
            block_on(handle(Request::SoftmaxRace { id: 6, len: 4096, seed: 1, repeats: 2 }, &host))
        else {
            panic!("no race")
        };
        assert_eq!(race.results.len(), 3);
        assert!(race.results.iter().all(|r| r.max_rel_error < 1e-5 && r.best_ms >= 0.0), "{race:?}");
    }

    #[test]
    fn stability_finds_where_the_naive_softmax_breaks() {
        let host = TestHost::default();
        let naive = Variant::Softmax(SoftmaxAlgorithm::Naive);
        let request = Request::Stability {
            id: 7,
            inputs: spec(16),
            variants: vec![SOFTMAX, naive],
            causal: true,
            scales: vec![1.0, 100.0, 10_000.0],
        };
        let Reply::Done(Done::Stability(s)) = block_on(handle(request, &host)) else { panic!("no scan") };
        assert_eq!(s.series[0].breaks_at, None, "three-pass never breaks");
        assert!(s.series[1].breaks_at.is_some(), "the naive softmax overflows");
    }
}
