//! The compute worker's entry: receives [`Request`]s, runs the kernels, posts [`Response`]s.
//! Built by trunk as its own WebAssembly module (`data-type="worker"`), so long work never
//! blocks the page.

#[cfg(target_arch = "wasm32")]
fn main() {
    web::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("softplay-worker runs as a Web Worker in the browser; build it with trunk.");
}

#[cfg(target_arch = "wasm32")]
mod web {
    use std::rc::Rc;

    use js_sys::Promise;
    use softplay_kernels::attention::{
        attention_probe,
        stats::{self, breaking_scale, stability_sweep, sweep_point},
        synthetic::Synthetic,
        Probe, RowStats,
    };
    use softplay_kernels::{
        alignment::preference_toy::{ToyRun, ToySpec},
        fit::Fit,
    };
    use softplay_kernels::{
        attention::{attention_forward, Attention, Extras, Lssa, Mask, Shape, SoftmaxAlgorithm, Variant},
        gpu::GpuContext,
        softmax, Rng,
    };
    use softplay_worker::protocol::{
        Algorithm, Backend, F32s, FitReport, FitWire, Inputs, Map, Maps, Race, RaceResult, Request, Response,
        SnapshotWire, SoftmaxSummary, Stability, StabilityPoint, StabilitySeries, Sweep, SweepPoint, SyntheticSpec,
        ToyReport, VariantSpec,
    };
    use wasm_bindgen::{prelude::*, JsCast};
    use wasm_bindgen_futures::{spawn_local, JsFuture};
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    /// Values processed between two progress messages (and two yields to the event loop).
    const CHUNK: usize = 1 << 18;

    /// The step of the worker's clock without cross-origin isolation.
    const CLOCK_STEP_MS: f64 = 0.1;

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    /// Collects the buffers of the byte arrays in a message (a few levels deep), to transfer
    /// them: the page then receives them without a copy.
    fn collect_buffers(value: &JsValue, out: &js_sys::Array, depth: u32) {
        if let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() {
            out.push(&bytes.buffer());
        } else if depth < 5 && value.is_object() {
            for entry in js_sys::Object::values(value.unchecked_ref()).iter() {
                collect_buffers(&entry, out, depth + 1);
            }
        }
    }

    fn post(response: &Response) {
        match serde_wasm_bindgen::to_value(response) {
            Ok(value) => {
                let transfer = js_sys::Array::new();
                collect_buffers(&value, &transfer, 0);
                if let Err(e) = scope().post_message_with_transfer(&value, &transfer) {
                    web_sys::console::error_2(&"softplay-worker: postMessage failed".into(), &e);
                }
            }
            Err(e) => web_sys::console::error_1(&format!("softplay-worker: {e}").into()),
        }
    }

    fn now_ms() -> f64 {
        scope().performance().map(|p| p.now()).unwrap_or(0.0)
    }

    /// Lets the worker's event loop run (incoming messages, the GPU's callbacks).
    async fn yield_now() {
        let promise = Promise::new(&mut |resolve, _| {
            let _ = scope().set_timeout_with_callback(&resolve);
        });
        let _ = JsFuture::from(promise).await;
    }

    pub fn start() {
        std::panic::set_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            post(&Response::Failed { id: None, message: format!("the compute worker stopped: {info}") });
        }));

        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match serde_wasm_bindgen::from_value::<Request>(event.data()) {
                Ok(request) => spawn_local(handle(request)),
                Err(e) => post(&Response::Unreadable {
                    message: format!("the compute worker could not read a request ({e})"),
                }),
            }
        });
        scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        post(&Response::Listening);

        // `?gpu=0` on the loader's URL: a worker for long CPU runs, no GPU probe.
        let cpu_only = scope().location().search().contains("gpu=0");
        spawn_local(async move {
            let backend = if cpu_only {
                Backend::Cpu { reason: "this worker runs long CPU work (sweeps, scans)".into() }
            } else {
                probe_gpu().await
            };
            post(&Response::Ready { backend });
        });
    }

    thread_local! {
        /// The GPU, once the probe has found that it agrees with the CPU; requests that run
        /// attention pass it to `gpu::attention_forward_auto`.
        static GPU: std::cell::RefCell<Option<Rc<GpuContext>>> = const { std::cell::RefCell::new(None) };
    }

    /// Opens the GPU and checks its attention kernels against the CPU ones before trusting it:
    /// WebGPU is kept for later work only where it gives the same numbers.
    async fn probe_gpu() -> Backend {
        let ctx = match GpuContext::new().await {
            Ok(ctx) => Rc::new(ctx),
            Err(e) => return Backend::Cpu { reason: e.to_string() },
        };
        let shape = Shape { batch: 1, heads: 2, n: 48, d: 16 };
        let len = shape.qkv_len();
        let mut rng = Rng::new(1);
        let (mut q, mut k, mut v) = (vec![0.0f32; len], vec![0.0f32; len], vec![0.0f32; len]);
        rng.fill_normal(&mut q, 1.5);
        rng.fill_normal(&mut k, 1.5);
        rng.fill_normal(&mut v, 1.0);
        let mut max_rel_diff = 0.0f32;
        for variant in [
            Variant::Softmax(SoftmaxAlgorithm::ThreePass),
            Variant::Lssa(Lssa::DEFAULT),
            Variant::LSSAR_DEFAULT,
            Variant::Sigmoid { bias: None },
        ] {
            let attention = Attention { shape, variant, mask: Mask::Causal };
            let gpu = match ctx.attention_forward(&attention, &q, &k, &v).await {
                Ok(values) => values,
                Err(e) => return Backend::Cpu { reason: e.to_string() },
            };
            let mut cpu = vec![0.0f32; len];
            if let Err(e) = attention_forward(&attention, &q, &k, &v, &mut cpu, Extras::default()) {
                return Backend::Cpu { reason: e.to_string() };
            }
            for (g, c) in gpu.chunks(shape.d).zip(cpu.chunks(shape.d)) {
                let size = c.iter().fold(1e-6f32, |m, x| m.max(x.abs()));
                let diff = g.iter().zip(c).fold(0.0f32, |m, (a, b)| m.max((a - b).abs())) / size;
                max_rel_diff = max_rel_diff.max(if diff.is_nan() { f32::INFINITY } else { diff });
            }
        }
        if max_rel_diff > 1e-4 {
            return Backend::Cpu {
                reason: format!("the GPU's attention differed from the CPU's by {max_rel_diff:e}; using CPU"),
            };
        }
        let adapter = ctx.adapter_description();
        GPU.with(|gpu| *gpu.borrow_mut() = Some(ctx));
        Backend::WebGpu { adapter, max_rel_diff }
    }

    thread_local! {
        /// Whether a long request (anything but the heatmaps) is running.
        static LONG_RUNNING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// A long request's turn: long requests run one after another (each yields to the event
    /// loop between steps, and two interleaved runs would each time the other's work too).
    struct Turn;

    impl Turn {
        async fn take() -> Turn {
            while LONG_RUNNING.get() {
                yield_now().await;
            }
            LONG_RUNNING.set(true);
            Turn
        }
    }

    impl Drop for Turn {
        fn drop(&mut self) {
            LONG_RUNNING.set(false);
        }
    }

    async fn handle(request: Request) {
        let id = request.id();
        if let Err(message) = request.validate() {
            post(&Response::Failed { id: Some(id), message });
            return;
        }
        let _turn = match request {
            Request::AttentionMaps { .. } => None,
            _ => Some(Turn::take().await),
        };
        match request {
            Request::Softmax { id, len, seed, scale } => {
                let summary = softmax_demo(id, len as usize, seed, scale).await;
                post(&Response::SoftmaxDone(summary));
            }
            Request::AttentionMaps { id, inputs, variants, causal } => {
                post(&match attention_maps(id, &inputs, &variants, causal) {
                    Ok(maps) => Response::AttentionMapsDone(maps),
                    Err(message) => Response::Failed { id: Some(id), message },
                });
            }
            Request::LengthSweep { id, base, variants, causal, factors } => {
                post(&match sweep(id, base, &variants, causal, &factors).await {
                    Ok(sweep) => Response::LengthSweepDone(sweep),
                    Err(message) => Response::Failed { id: Some(id), message },
                });
            }
            Request::Stability { id, inputs, variants, causal, scales } => {
                post(&match stability(id, inputs, &variants, causal, &scales).await {
                    Ok(result) => Response::StabilityDone(result),
                    Err(message) => Response::Failed { id: Some(id), message },
                });
            }
            Request::SoftmaxRace { id, len, seed, repeats } => {
                let race = softmax_race(id, len, seed, repeats).await;
                post(&Response::SoftmaxRaceDone(race));
            }
            Request::Toy { id, spec, steps } => {
                let report = toy(id, &spec, steps).await;
                post(&Response::ToyDone(report));
            }
            Request::Fit { id, race, spec, steps, budget_ms } => {
                post(&match fit(id, race, &spec, steps, budget_ms) {
                    Ok(report) => Response::FitDone(report),
                    Err(message) => Response::Failed { id: Some(id), message },
                });
            }
        }
    }

    thread_local! {
        /// The fitting race the worker holds, with the page's number for it.
        static FIT: std::cell::RefCell<Option<(u32, Fit)>> = const { std::cell::RefCell::new(None) };
    }

    /// Runs race `race` on by up to `steps` steps, stopping after the first chunk that ends past
    /// `budget_ms`; the numbers do not depend on where a run stops.
    fn fit(id: u32, race: u32, wire: &FitWire, steps: u32, budget_ms: f64) -> Result<FitReport, String> {
        FIT.with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot.as_ref().is_none_or(|(held, _)| *held != race) {
                *slot = Some((race, Fit::new(wire.spec())?));
            }
            let fit = &mut slot.as_mut().unwrap().1;
            let start = now_ms();
            let mut losses = vec![Vec::new(); fit.spec().entrants.len()];
            let mut left = steps;
            while left > 0 {
                let chunk = left.min(10);
                for (all, part) in losses.iter_mut().zip(fit.run(chunk)) {
                    all.extend(part);
                }
                left -= chunk;
                if now_ms() - start >= budget_ms {
                    break;
                }
            }
            let ms = now_ms() - start;
            let snapshots = fit.snapshots();
            Ok(FitReport {
                id,
                race,
                step: fit.step(),
                losses: losses.into_iter().map(F32s).collect(),
                current: snapshots.iter().map(|s| s.loss).collect(),
                diverged: fit.diverged(),
                snapshots: snapshots.into_iter().map(SnapshotWire::of).collect(),
                ms,
            })
        })
    }

    /// Trains the DPO toy, posting progress and the trace so far about every 100 ms of work.
    async fn toy(id: u32, spec: &ToySpec, steps: u32) -> ToyReport {
        let start = now_ms();
        let mut run = ToyRun::new(spec, steps);
        let mut last = start;
        while !run.advance(50) {
            if now_ms() - last > 100.0 {
                last = now_ms();
                post(&Response::Progress { id, stage: "training".into(), done: run.step(), total: steps });
                post(&Response::ToyDone(ToyReport { id, trace: run.snapshot(), ms: last - start, done: false }));
                yield_now().await;
            }
        }
        let ms = now_ms() - start;
        ToyReport { id, trace: run.finish(), ms, done: true }
    }

    fn wire_point(p: &stats::SweepPoint) -> SweepPoint {
        SweepPoint {
            n: p.n as u32,
            entropy: p.entropy,
            max_weight: p.max_weight,
            sink: p.sink,
            row_sum: p.row_sum,
            support: p.support,
            needle: p.needle,
        }
    }

    fn mask_of(causal: bool) -> Mask {
        if causal {
            Mask::Causal
        } else {
            Mask::Full
        }
    }

    /// Queries, keys and the needle's place (query row, key).
    type Drawn = (Vec<f32>, Vec<f32>, Option<(u32, u32)>);

    thread_local! {
        /// The last synthetic inputs drawn at logit scale 1: dragging the logit scale only
        /// rescales the queries, so they are not drawn again.
        static LAST_INPUTS: std::cell::RefCell<Option<(SyntheticSpec, Rc<Drawn>)>> =
            const { std::cell::RefCell::new(None) };
    }

    /// The synthetic inputs of `spec`: q, k and the needle's place.
    fn synthetic_inputs(spec: SyntheticSpec) -> Drawn {
        let unscaled = SyntheticSpec { logit_scale: 1.0, ..spec };
        let cached = LAST_INPUTS.with(|c| c.borrow().as_ref().filter(|(s, _)| *s == unscaled).map(|(_, x)| x.clone()));
        let base = cached.unwrap_or_else(|| {
            let x = unscaled.kernel().generate();
            let drawn = Rc::new((x.q, x.k, x.needle.map(|p| (p.query as u32, p.key as u32))));
            LAST_INPUTS.with(|c| *c.borrow_mut() = Some((unscaled, drawn.clone())));
            drawn
        });
        // The same product the generator applies last, so the numbers are those of `generate`.
        let q = base.0.iter().map(|x| x * spec.logit_scale).collect();
        (q, base.1.clone(), base.2)
    }

    /// Each variant's weights and row statistics on one set of inputs.
    fn attention_maps(id: u32, inputs: &Inputs, variants: &[VariantSpec], causal: bool) -> Result<Maps, String> {
        let start = now_ms();
        let (n, d, q, k, needle) = match inputs {
            Inputs::Synthetic(spec) => {
                let (q, k, needle) = synthetic_inputs(*spec);
                (spec.n as usize, spec.d as usize, q, k, needle)
            }
            Inputs::Table { n, d, q, k } => (*n as usize, *d as usize, q.clone(), k.clone(), None),
        };
        let mut maps = Vec::with_capacity(variants.len());
        for spec in variants {
            let attention = Attention { shape: Shape::single(n, d), variant: spec.kernel(), mask: mask_of(causal) };
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
            let mean =
                stats::SweepPoint::of(n, &stats, needle.map(|(i, j)| weights[i as usize * n + j as usize] as f64));
            maps.push(Map {
                entropy: column(|s| s.entropy),
                max_weight: column(|s| s.max_weight),
                sink: column(|s| s.sink),
                row_sum: column(|s| s.row_sum),
                support: column(|s| s.support as f32),
                mean: wire_point(&mean),
                weights: F32s(weights),
            });
        }
        Ok(Maps { id, n: n as u32, d: d as u32, q: F32s(q), k: F32s(k), needle, maps, elapsed_ms: now_ms() - start })
    }

    /// The length sweep, one length at a time (its inputs drawn once for every variant), with
    /// progress weighted by n².
    async fn sweep(
        id: u32,
        base: SyntheticSpec,
        variants: &[VariantSpec],
        causal: bool,
        factors: &[u32],
    ) -> Result<Sweep, String> {
        let start = now_ms();
        let spec: Synthetic = base.kernel();
        let total: u32 = factors.iter().map(|f| f * f).sum::<u32>() * variants.len() as u32;
        let mut done = 0;
        let mut series = vec![Vec::with_capacity(factors.len()); variants.len()];
        for &factor in factors {
            let n = spec.n * factor as usize;
            let x = Synthetic { n, ..spec }.generate();
            let needle = x.needle.map(|p| (p.query, p.key));
            for (vi, variant) in variants.iter().enumerate() {
                let p = sweep_point(variant.kernel(), mask_of(causal), spec.d, &x.q, &x.k, needle)
                    .map_err(|e| e.to_string())?;
                series[vi].push(wire_point(&p));
                done += factor * factor;
                post(&Response::Progress {
                    id,
                    stage: format!("n = {n}, variant {} of {}", vi + 1, variants.len()),
                    done,
                    total,
                });
                yield_now().await;
            }
        }
        Ok(Sweep { id, series, elapsed_ms: now_ms() - start })
    }

    /// Each variant at each logit scale, and where (if anywhere) it breaks.
    async fn stability(
        id: u32,
        inputs: SyntheticSpec,
        variants: &[VariantSpec],
        causal: bool,
        scales: &[f32],
    ) -> Result<Stability, String> {
        let start = now_ms();
        // The scale is applied here, point by point: the inputs are drawn at scale 1.
        let x = Synthetic { logit_scale: 1.0, ..inputs.kernel() }.generate();
        let (d, mask) = (inputs.d as usize, mask_of(causal));
        let lo = scales.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = scales.iter().copied().fold(0.0, f32::max);
        let mut series = Vec::with_capacity(variants.len());
        for (vi, variant) in variants.iter().enumerate() {
            let v = variant.kernel();
            let points = stability_sweep(v, mask, d, &x.q, &x.k, scales).map_err(|e| e.to_string())?;
            let breaks_at = breaking_scale(v, mask, d, &x.q, &x.k, lo, hi).map_err(|e| e.to_string())?;
            series.push(StabilitySeries {
                points: points
                    .iter()
                    .map(|p| StabilityPoint {
                        scale: p.scale,
                        max_weight: p.max_weight,
                        row_sum: p.row_sum,
                        entropy: p.entropy,
                        broken_rows: p.broken_rows as u32,
                    })
                    .collect(),
                breaks_at,
            });
            post(&Response::Progress {
                id,
                stage: format!("variant {} of {}", vi + 1, variants.len()),
                done: vi as u32 + 1,
                total: variants.len() as u32,
            });
            yield_now().await;
        }
        Ok(Stability { id, n: inputs.n, series, elapsed_ms: now_ms() - start })
    }

    /// Three-pass, online and two-pass softmax on the same vector, repeated in turns so that
    /// none of them gets a warmer or quieter moment; the best and median times are kept.
    async fn softmax_race(id: u32, len: u32, seed: u32, repeats: u32) -> Race {
        let algorithms = [Algorithm::ThreePass, Algorithm::Online, Algorithm::TwoPass];
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
                let t0 = now_ms();
                softplay_kernels::attention::softmax::row_forward(algorithm.kernel(), &mut out);
                times[a].push(now_ms() - t0);
                if r == 0 {
                    errors[a] = out
                        .iter()
                        .zip(&x)
                        .fold(0.0f64, |e, (&y, &v)| e.max((y as f64 - (v as f64 - m).exp() / z).abs()));
                    if a == 0 {
                        three_pass = out.clone();
                    }
                    diffs[a] = out.iter().zip(&three_pass).fold(0.0f64, |e, (&y, &t)| e.max((y - t).abs() as f64));
                }
            }
            post(&Response::Progress { id, stage: "timing".into(), done: r + 1, total: repeats });
            yield_now().await;
        }
        let largest = 1.0 / z; // the largest weight, e^(max − max) / z
        let results = algorithms
            .iter()
            .enumerate()
            .map(|(a, &algorithm)| {
                let mut t = times[a].clone();
                t.sort_by(f64::total_cmp);
                let (best_ms, median_ms) = (t[0], t[t.len() / 2]);
                let (reads, writes) = algorithm.kernel().memory_passes();
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

    /// Softmax over a long seeded vector, chunk by chunk, posting progress after each chunk.
    async fn softmax_demo(id: u32, len: usize, seed: u32, scale: f32) -> SoftmaxSummary {
        let start = now_ms();
        let chunks = len.div_ceil(CHUNK) as u32;
        let total = 4 * chunks;
        let mut done = 0;
        let mut step = |stage: &str| {
            done += 1;
            post(&Response::Progress { id, stage: stage.into(), done, total });
        };

        let mut x = vec![0.0f32; len];
        let mut rng = Rng::new(seed as u64);
        for chunk in x.chunks_mut(CHUNK) {
            rng.fill_normal(chunk, scale);
            step("drawing the inputs");
            yield_now().await;
        }
        let mut max = f32::NEG_INFINITY;
        for chunk in x.chunks(CHUNK) {
            max = softmax::max_pass(chunk, max);
            step("pass 1: maximum");
            yield_now().await;
        }
        let mut sum = 0.0f64;
        for chunk in x.chunks(CHUNK) {
            sum += softmax::exp_sum_pass(chunk, max);
            step("pass 2: sum of exponentials");
            yield_now().await;
        }
        let (mut total_p, mut entropy, mut max_prob) = (0.0f64, 0.0f64, 0.0f32);
        for chunk in x.chunks_mut(CHUNK) {
            softmax::normalise_pass(chunk, max, sum);
            for &p in chunk.iter() {
                total_p += p as f64;
                if p > 0.0 {
                    entropy -= p as f64 * (p as f64).ln();
                }
                max_prob = max_prob.max(p);
            }
            step("pass 3: normalise");
            yield_now().await;
        }
        SoftmaxSummary { id, len: len as u32, sum: total_p, max_prob, entropy, elapsed_ms: now_ms() - start }
    }
}
