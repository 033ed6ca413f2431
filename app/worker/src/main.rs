//! The compute worker's entry: reads each message's `lab`, hands the request to that lab's
//! handler (`softplay_worker::{shell, attention, activations, alignment}`), posts its replies.
//! Built by trunk as its own WebAssembly module (`data-type="worker"`), so long work never
//! blocks the page. Everything a lab computes lives in its handler, tested natively; this file
//! is the Web Worker around them.

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
    use std::{cell::RefCell, future::Future, rc::Rc};

    use js_sys::Promise;
    use softplay_kernels::{
        attention::{attention_forward, Attention, Extras, Lssa, Mask, Shape, SoftmaxAlgorithm, Variant},
        gpu::GpuContext,
        Rng,
    };
    use softplay_worker::{
        activations, alignment, attention,
        protocol::{self, Answer, Ask, Backend, Host, NoAnswer, Reply},
        shell,
    };
    use wasm_bindgen::{prelude::*, JsCast};
    use wasm_bindgen_futures::{spawn_local, JsFuture};
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    /// Collects the buffers of the byte arrays in a message (a few levels deep), to transfer
    /// them: the page then receives them without a copy.
    fn collect_buffers(value: &JsValue, out: &js_sys::Array, depth: u32) {
        if let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() {
            out.push(&bytes.buffer());
        } else if depth < 6 && value.is_object() {
            for entry in js_sys::Object::values(value.unchecked_ref()).iter() {
                collect_buffers(&entry, out, depth + 1);
            }
        }
    }

    /// The worker as handlers see it: the clock, `postMessage`, and the event loop.
    struct Worker;

    impl Host for Worker {
        fn now_ms(&self) -> f64 {
            scope().performance().map(|p| p.now()).unwrap_or(0.0)
        }

        fn send<A: Answer>(&self, reply: &Reply<A>) {
            match serde_wasm_bindgen::to_value(reply) {
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

        /// Lets the worker's event loop run (incoming messages, the GPU's callbacks).
        fn yield_now(&self) -> impl Future<Output = ()> {
            let promise = Promise::new(&mut |resolve, _| {
                let _ = scope().set_timeout_with_callback(&resolve);
            });
            async move {
                let _ = JsFuture::from(promise).await;
            }
        }
    }

    fn post<A: Answer>(reply: &Reply<A>) {
        Worker.send(reply)
    }

    pub fn start() {
        std::panic::set_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            post(&Reply::<NoAnswer>::Failed { id: None, message: protocol::panic_message(info) });
        }));

        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let lab = js_sys::Reflect::get(&data, &"lab".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
            match lab.as_str() {
                protocol::PING => post(&Reply::<NoAnswer>::Alive),
                protocol::CRASH => panic!("a test asked this worker to stop (softplay:crash-worker)"),
                shell::Request::LAB => read(data, |r, h| async move { shell::handle(r, h).await }),
                attention::Request::LAB => read(data, |r, h| async move { attention::handler::handle(r, h).await }),
                alignment::Request::LAB => read(data, |r, h| async move { alignment::handler::handle(r, h).await }),
                activations::Request::LAB => read(data, |r, h| async move {
                    RACES.with(|races| activations::handler::handle(&mut races.borrow_mut(), r, h))
                }),
                other => post(&Reply::<NoAnswer>::Unreadable {
                    message: format!("the compute worker has no lab “{other}”; reload the page"),
                }),
            }
        });
        scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        post(&Reply::<NoAnswer>::Listening);

        // `?gpu=0` on the loader's URL: a worker for a lab's work, no GPU probe.
        let cpu_only = scope().location().search().contains("gpu=0");
        spawn_local(async move {
            let backend = if cpu_only {
                Backend::Cpu { reason: "this worker runs a lab's work on the CPU".into() }
            } else {
                probe_gpu().await
            };
            post(&Reply::<NoAnswer>::Ready { backend });
        });
    }

    thread_local! {
        /// The GPU, once the probe has found that it agrees with the CPU.
        static GPU: RefCell<Option<Rc<GpuContext>>> = const { RefCell::new(None) };
        /// The fitting race the worker holds.
        static RACES: RefCell<activations::handler::Races> = RefCell::new(Default::default());
        /// Whether a long request (anything but the heatmaps) is running.
        static LONG_RUNNING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Reads a lab's request, checks it, and runs its handler (long work after the long work
    /// before it), posting the reply.
    fn read<Q, A, F, Fut>(data: JsValue, handler: F)
    where
        Q: Ask,
        A: Answer,
        F: FnOnce(Q, &'static Worker) -> Fut + 'static,
        Fut: Future<Output = Reply<A>> + 'static,
    {
        let request = match serde_wasm_bindgen::from_value::<Q>(data) {
            Ok(request) => request,
            Err(e) => {
                return post(&Reply::<NoAnswer>::Unreadable {
                    message: format!("the compute worker could not read a request ({e})"),
                })
            }
        };
        let id = request.id();
        if let Err(message) = request.validate() {
            return post(&Reply::<NoAnswer>::Failed { id: Some(id), message });
        }
        spawn_local(async move {
            let _turn = if request.is_long() { Some(Turn::take().await) } else { None };
            post(&handler(request, &Worker).await);
        });
    }

    /// A long request's turn: long requests run one after another (each yields to the event
    /// loop between steps, and two interleaved runs would each time the other's work too).
    struct Turn;

    impl Turn {
        async fn take() -> Turn {
            while LONG_RUNNING.get() {
                Worker.yield_now().await;
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
}
