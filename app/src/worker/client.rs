//! Starts a compute worker, sends it one lab's typed requests and routes its answers back to
//! the component that asked, by request id. Generic over the lab's messages ([`Ask`],
//! [`Answer`]): each module links only its own lab's message code.

use std::{cell::RefCell, collections::HashMap, marker::PhantomData, rc::Rc};

use leptos::prelude::*;
use softplay_worker::protocol::{Answer, Ask, Backend, Reply};
use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{ErrorEvent, MessageEvent, Worker};

/// The worker's loader (`www/worker-loader.js`), next to `index.html`; relative, so the site
/// works from any sub-path.
const WORKER_URL: &str = "worker-loader.js";

/// The build id `www/boot.js` read from the page (`window.softplayBuild`): every file a worker
/// loads carries it, so a worker of an older build, still cached, never pairs with this page.
pub fn build_id() -> String {
    web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &"softplayBuild".into()).ok())
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// `path` (a file of the site: an icon, a data file) with the build id, as every file the page
/// loads carries it.
pub fn versioned(path: &str) -> String {
    let id = build_id();
    if id.is_empty() {
        path.to_string()
    } else {
        format!("{path}?v={id}")
    }
}

/// The worker loader's URL with `query` (`gpu=0`, `bin=model`) and the build id.
pub fn worker_url(query: &str) -> String {
    let id = build_id();
    let parts: Vec<String> = [query.to_string(), if id.is_empty() { String::new() } else { format!("v={id}") }]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        WORKER_URL.to_string()
    } else {
        format!("{WORKER_URL}?{}", parts.join("&"))
    }
}

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
            // What runs where: the labs compute on the CPU, but the Model lab trains on WebGPU
            // where its Backend setting asks (its worker checks the training kernels first).
            ComputeStatus::Ready(Backend::WebGpu { adapter, max_rel_diff }) => format!(
                "CPU (wasm simd128) in every lab; the Model lab trains on WebGPU where its Backend setting \
                 asks — WebGPU available: {adapter}; its attention kernels agree with the CPU to {max_rel_diff:.1e}"
            ),
            ComputeStatus::Ready(Backend::Cpu { reason }) => format!("CPU (wasm simd128) in every lab — {reason}"),
            ComputeStatus::Stopped(why) => format!("stopped — {why}"),
        }
    }
}

type Handler<A> = Box<dyn FnMut(Reply<A>)>;

struct Inner<A> {
    worker: Option<Worker>,
    next_id: u32,
    handlers: HashMap<u32, Handler<A>>,
    /// Requests made before the worker said it is ready: a worker that is still loading its
    /// WebAssembly has no message handler yet, and a message sent then would be lost.
    queued: Option<Vec<JsValue>>,
}

/// A compute worker for lab `Q`'s requests, answered with `A`s. `Copy`: the fields are arena
/// handles.
pub struct Compute<Q: Ask, A: Answer> {
    pub status: RwSignal<ComputeStatus>,
    /// Requests sent and not yet answered: pages use it so that leaving and coming back does
    /// not start the same long run twice.
    pub busy: RwSignal<usize>,
    /// Messages the worker could not read; the page shows them.
    pub unreadable: RwSignal<Option<String>>,
    inner: StoredValue<Rc<RefCell<Inner<A>>>, LocalStorage>,
    ask: PhantomData<fn(Q)>,
}

impl<Q: Ask, A: Answer> Clone for Compute<Q, A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<Q: Ask, A: Answer> Copy for Compute<Q, A> {}

thread_local! {
    /// Whether the lab mounted now is still there (a lab module sets it at each mount).
    static MOUNT: RefCell<Option<Rc<std::cell::Cell<bool>>>> = const { RefCell::new(None) };
}

/// A lab module's mount: requests sent while it is mounted answer only while it stays mounted.
/// Returns the flag to clear when it unmounts.
pub fn mounted_now() -> Rc<std::cell::Cell<bool>> {
    let alive = Rc::new(std::cell::Cell::new(true));
    MOUNT.with(|m| *m.borrow_mut() = Some(alive.clone()));
    alive
}

impl<Q: Ask, A: Answer> Compute<Q, A> {
    /// Starts the worker. If it cannot start, the status says so and requests fail at once.
    pub fn start() -> Self {
        Self::start_at(&worker_url(""))
    }

    /// Starts a worker for long CPU runs: it skips the GPU probe (one GPU device per page is
    /// enough).
    pub fn start_cpu_only() -> Self {
        Self::start_at(&worker_url("gpu=0"))
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
                    match serde_wasm_bindgen::from_value::<Reply<A>>(event.data()) {
                        Ok(Reply::Unreadable { message }) => unreadable.set(Some(message)),
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
        Compute { status, busy, unreadable, inner: StoredValue::new_local(inner), ask: PhantomData }
    }

    /// Sends `make(id)` and calls `on_response` with every answer for it (progress, then one
    /// result or failure).
    pub fn send(&self, make: impl FnOnce(u32) -> Q, on_response: impl FnMut(Reply<A>) + 'static) {
        let inner = self.inner.get_value();
        let mut guard = inner.borrow_mut();
        let id = guard.next_id;
        guard.next_id += 1;
        let request = make(id);
        // Answers for a lab that is gone (left while it computed; its worker lives on) are
        // dropped: the mount that asked says whether it is still there.
        let mount = MOUNT.with(|m| m.borrow().clone());
        let mut on_response = on_response;
        let mut on_response: Handler<A> = Box::new(move |reply| {
            if mount.as_ref().is_none_or(|alive| alive.get()) {
                on_response(reply);
            }
        });
        let Some(worker) = guard.worker.clone() else {
            drop(guard);
            on_response(Reply::Failed { id: Some(id), message: self.status.get_untracked().describe() });
            return;
        };
        guard.handlers.insert(id, on_response);
        drop(guard);
        self.busy.update(|b| *b += 1);
        // The lab's name beside the request: the worker hands it to that lab's handler.
        let sent = serde_wasm_bindgen::to_value(&request).map_err(|e| e.to_string()).and_then(|value| {
            js_sys::Reflect::set(&value, &"lab".into(), &Q::LAB.into()).map_err(|e| format!("{e:?}"))?;
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
                handler(Reply::Failed { id: Some(id), message });
            }
        }
    }
}

fn dispatch<A: Answer>(
    inner: &Rc<RefCell<Inner<A>>>,
    status: RwSignal<ComputeStatus>,
    busy: RwSignal<usize>,
    response: Reply<A>,
) {
    match &response {
        Reply::Listening | Reply::Ready { .. } => {
            if let Reply::Ready { backend } = &response {
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
        Reply::Failed { id: None, message } => {
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
fn stop<A: Answer>(inner: &Rc<RefCell<Inner<A>>>, message: &str) {
    if let Some(worker) = inner.borrow_mut().worker.take() {
        worker.terminate();
    }
    let handlers: Vec<(u32, Handler<A>)> = inner.borrow_mut().handlers.drain().collect();
    for (id, mut handler) in handlers {
        handler(Reply::Failed { id: Some(id), message: message.to_string() });
    }
}
