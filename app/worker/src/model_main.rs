//! The Model lab's training worker: keeps the lab's runs (a [`Trainer`](softplay_kernels::model::train::Trainer) each, and a
//! [`GpuTrainer`](softplay_kernels::gpu::GpuTrainer) for a run on WebGPU) and answers
//! [`ModelRequest`](softplay_worker::model::ModelRequest)s with [`ModelResponse`](softplay_worker::model::ModelResponse)s, one at a time and
//! in order (a GPU slice awaits its readbacks; requests that arrive meanwhile wait their turn).
//! Built by trunk as its own WebAssembly module at opt-level 3.

#[cfg(target_arch = "wasm32")]
fn main() {
    web::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("softplay-model-worker runs as a Web Worker in the browser; build it with trunk.");
}

#[cfg(target_arch = "wasm32")]
mod web {
    use std::{cell::RefCell, collections::VecDeque};

    use softplay_worker::model::{ModelRequest, ModelResponse};
    use wasm_bindgen::{prelude::*, JsCast};
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    use softplay_worker::model::runs::Runs;

    thread_local! {
        /// The runs, taken out while a request is answered.
        static RUNS: RefCell<Option<Runs>> = RefCell::new(Some(Runs::default()));
        /// Requests not yet answered, in the order they came.
        static QUEUE: RefCell<VecDeque<ModelRequest>> = const { RefCell::new(VecDeque::new()) };
    }

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    fn post(response: &ModelResponse) {
        match serde_wasm_bindgen::to_value(response) {
            Ok(value) => {
                if let Err(e) = scope().post_message(&value) {
                    web_sys::console::error_2(&"softplay-model-worker: postMessage failed".into(), &e);
                }
            }
            Err(e) => web_sys::console::error_1(&format!("softplay-model-worker: {e}").into()),
        }
    }

    fn now_ms() -> f64 {
        scope().performance().map(|p| p.now()).unwrap_or(0.0)
    }

    /// Answers the queued requests in order, unless an answer is already under way (it
    /// goes on with the queue when it ends).
    fn drain() {
        let Some(mut runs) = RUNS.with(|r| r.borrow_mut().take()) else { return };
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(request) = QUEUE.with(|q| q.borrow_mut().pop_front()) {
                let answer = runs.handle(request, &now_ms).await;
                post(&answer);
            }
            RUNS.with(|r| *r.borrow_mut() = Some(runs));
        });
    }

    pub fn start() {
        std::panic::set_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            post(&ModelResponse::Stopped { message: softplay_worker::protocol::panic_message(info) });
        }));
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match serde_wasm_bindgen::from_value::<ModelRequest>(event.data()) {
                Ok(request) => {
                    QUEUE.with(|q| q.borrow_mut().push_back(request));
                    drain();
                }
                Err(e) => post(&ModelResponse::Failed {
                    run: None,
                    message: format!("the training worker could not read a request ({e})"),
                }),
            }
        });
        scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        post(&ModelResponse::Listening);
    }
}
