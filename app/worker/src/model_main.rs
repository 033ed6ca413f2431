//! The Model lab's training worker: keeps the lab's runs (a [`Trainer`](softplay_kernels::model::train::Trainer) each) and answers
//! [`ModelRequest`](softplay_worker::model::ModelRequest)s with [`ModelResponse`](softplay_worker::model::ModelResponse)s. Built by trunk as its own WebAssembly module at
//! opt-level 3; CPU only (wasm simd128).

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
    use std::cell::RefCell;

    use softplay_worker::model::{ModelRequest, ModelResponse};
    use wasm_bindgen::{prelude::*, JsCast};
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    use softplay_worker::model::runs::Runs;

    thread_local! {
        static RUNS: RefCell<Runs> = RefCell::new(Runs::default());
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

    pub fn start() {
        std::panic::set_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            post(&ModelResponse::Failed { run: None, message: format!("the training worker stopped: {info}") });
        }));
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match serde_wasm_bindgen::from_value::<ModelRequest>(event.data()) {
                Ok(request) => {
                    let answer = RUNS.with(|r| r.borrow_mut().handle(request, &now_ms));
                    post(&answer);
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
