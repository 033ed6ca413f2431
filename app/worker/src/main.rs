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
    use softplay_kernels::{
        attention::{attention_forward, Attention, Extras, Lssa, Mask, Shape, SoftmaxAlgorithm, Variant},
        gpu::GpuContext,
        softmax, Rng,
    };
    use softplay_worker::protocol::{Backend, Request, Response, SoftmaxSummary};
    use wasm_bindgen::{prelude::*, JsCast};
    use wasm_bindgen_futures::{spawn_local, JsFuture};
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    /// Values processed between two progress messages (and two yields to the event loop).
    const CHUNK: usize = 1 << 18;

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    fn post(response: &Response) {
        match serde_wasm_bindgen::to_value(response) {
            Ok(value) => {
                if let Err(e) = scope().post_message(&value) {
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

        spawn_local(async {
            let backend = probe_gpu().await;
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

    async fn handle(request: Request) {
        let id = request.id();
        if let Err(message) = request.validate() {
            post(&Response::Failed { id: Some(id), message });
            return;
        }
        match request {
            Request::Softmax { id, len, seed, scale } => {
                let summary = softmax_demo(id, len as usize, seed, scale).await;
                post(&Response::SoftmaxDone(summary));
            }
        }
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
