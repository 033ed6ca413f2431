//! Starts the compute worker, sends it typed requests and routes its answers back to the
//! component that asked, by request id.

use std::{cell::RefCell, collections::HashMap, rc::Rc};

use leptos::prelude::*;
use softplay_worker::protocol::{Backend, Request, Response};
use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{ErrorEvent, MessageEvent, Worker};

/// The worker's loader (`www/worker-loader.js`), next to `index.html`; relative, so the site
/// works from any sub-path.
const WORKER_URL: &str = "worker-loader.js";

/// What the page knows of the worker.
#[derive(Clone, Debug, PartialEq)]
pub enum ComputeStatus {
    Starting,
    Ready(Backend),
    /// The worker could not start or stopped; the text says why and what to do.
    Stopped(String),
}

impl ComputeStatus {
    /// One line for the footer.
    pub fn describe(&self) -> String {
        match self {
            ComputeStatus::Starting => "starting the compute worker…".into(),
            ComputeStatus::Ready(Backend::WebGpu { adapter, max_rel_diff }) => format!(
                "CPU (wasm simd128) and WebGPU — {adapter}; its attention kernels agree with the CPU to {max_rel_diff:.1e}"
            ),
            ComputeStatus::Ready(Backend::Cpu { reason }) => format!("CPU (wasm simd128) — {reason}"),
            ComputeStatus::Stopped(why) => format!("stopped — {why}"),
        }
    }
}

type Handler = Box<dyn FnMut(Response)>;

struct Inner {
    worker: Option<Worker>,
    next_id: u32,
    handlers: HashMap<u32, Handler>,
    /// Requests made before the worker said it is ready: a worker that is still loading its
    /// WebAssembly has no message handler yet, and a message sent then would be lost.
    queued: Option<Vec<JsValue>>,
}

/// The compute worker, shared through context. `Copy`: the fields are arena handles.
#[derive(Clone, Copy)]
pub struct Compute {
    pub status: RwSignal<ComputeStatus>,
    /// Requests sent and not yet answered: pages use it so that leaving and coming back does
    /// not start the same long run twice.
    pub busy: RwSignal<usize>,
    /// Messages the worker could not read; the page shows them.
    pub unreadable: RwSignal<Option<String>>,
    inner: StoredValue<Rc<RefCell<Inner>>, LocalStorage>,
}

impl Compute {
    /// Starts the worker. If it cannot start, the status says so and requests fail at once.
    pub fn start() -> Self {
        Self::start_at(WORKER_URL)
    }

    /// Starts a worker for long CPU runs: it skips the GPU probe (one GPU device per page is
    /// enough).
    pub fn start_cpu_only() -> Self {
        Self::start_at(&format!("{WORKER_URL}?gpu=0"))
    }

    fn start_at(url: &str) -> Self {
        let status = RwSignal::new(ComputeStatus::Starting);
        let (busy, unreadable) = (RwSignal::new(0usize), RwSignal::new(None::<String>));
        let inner = Rc::new(RefCell::new(Inner {
            worker: None,
            next_id: 1,
            handlers: HashMap::new(),
            queued: Some(Vec::new()),
        }));
        match Worker::new(url) {
            Ok(worker) => {
                let weak = Rc::downgrade(&inner);
                let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                    let Some(inner) = weak.upgrade() else { return };
                    match serde_wasm_bindgen::from_value::<Response>(event.data()) {
                        Ok(Response::Unreadable { message }) => unreadable.set(Some(message)),
                        Ok(response) => dispatch(&inner, status, busy, response),
                        Err(e) => web_sys::console::error_1(&format!("unreadable worker message: {e}").into()),
                    }
                });
                worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                on_message.forget();
                let weak = Rc::downgrade(&inner);
                let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
                    // A worker that already said why it stopped (a panic posts `Failed` before it
                    // traps) keeps that message; the trap's own error adds nothing.
                    event.prevent_default();
                    if matches!(status.get_untracked(), ComputeStatus::Stopped(_)) {
                        return;
                    }
                    let why = format!(
                        "the compute worker failed ({}); reload the page to restart it",
                        if event.message().is_empty() { "could not load it".to_string() } else { event.message() }
                    );
                    status.set(ComputeStatus::Stopped(why.clone()));
                    if let Some(inner) = weak.upgrade() {
                        stop(&inner, &why);
                    }
                    busy.set(0);
                });
                worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
                on_error.forget();
                inner.borrow_mut().worker = Some(worker);
            }
            Err(e) => status.set(ComputeStatus::Stopped(format!("could not start the compute worker: {e:?}"))),
        }
        Compute { status, busy, unreadable, inner: StoredValue::new_local(inner) }
    }

    /// Sends `make(id)` and calls `on_response` with every answer for it (progress, then one
    /// result or failure).
    pub fn send(&self, make: impl FnOnce(u32) -> Request, on_response: impl FnMut(Response) + 'static) {
        let inner = self.inner.get_value();
        let mut guard = inner.borrow_mut();
        let id = guard.next_id;
        guard.next_id += 1;
        let request = make(id);
        let mut on_response: Handler = Box::new(on_response);
        let Some(worker) = guard.worker.clone() else {
            drop(guard);
            on_response(Response::Failed { id: Some(id), message: self.status.get_untracked().describe() });
            return;
        };
        guard.handlers.insert(id, on_response);
        drop(guard);
        self.busy.update(|b| *b += 1);
        let sent = serde_wasm_bindgen::to_value(&request).map_err(|e| e.to_string()).and_then(|value| {
            match inner.borrow_mut().queued.as_mut() {
                Some(queue) => {
                    queue.push(value);
                    Ok(())
                }
                None => worker.post_message(&value).map_err(|e| format!("{e:?}")),
            }
        });
        if let Err(message) = sent {
            let handler = inner.borrow_mut().handlers.remove(&id);
            if let Some(mut handler) = handler {
                self.busy.update(|b| *b = b.saturating_sub(1));
                handler(Response::Failed { id: Some(id), message });
            }
        }
    }
}

fn dispatch(inner: &Rc<RefCell<Inner>>, status: RwSignal<ComputeStatus>, busy: RwSignal<usize>, response: Response) {
    match &response {
        Response::Listening | Response::Ready { .. } => {
            if let Response::Ready { backend } = &response {
                status.set(ComputeStatus::Ready(backend.clone()));
            }
            let (worker, queued) = {
                let mut guard = inner.borrow_mut();
                (guard.worker.clone(), guard.queued.take().unwrap_or_default())
            };
            for value in queued {
                if let Some(worker) = &worker {
                    if let Err(e) = worker.post_message(&value) {
                        web_sys::console::error_2(&"could not send a queued request".into(), &e);
                    }
                }
            }
            return;
        }
        Response::Failed { id: None, message } => {
            status.set(ComputeStatus::Stopped(format!("{message}; reload the page to restart it")));
            stop(inner, message);
            busy.set(0);
            return;
        }
        _ => {}
    }
    let Some((id, last)) = response.request_id() else { return };
    // Take the handler out while it runs, so it may send new requests.
    let handler = inner.borrow_mut().handlers.remove(&id);
    if let Some(mut handler) = handler {
        if last {
            busy.update(|b| *b = b.saturating_sub(1));
        }
        handler(response);
        if !last {
            inner.borrow_mut().handlers.insert(id, handler);
        }
    }
}

/// Ends a worker that failed: later requests fail at once with the status, and the ones
/// waiting now fail with `message`.
fn stop(inner: &Rc<RefCell<Inner>>, message: &str) {
    if let Some(worker) = inner.borrow_mut().worker.take() {
        worker.terminate();
    }
    let handlers: Vec<(u32, Handler)> = inner.borrow_mut().handlers.drain().collect();
    for (id, mut handler) in handlers {
        handler(Response::Failed { id: Some(id), message: message.to_string() });
    }
}
