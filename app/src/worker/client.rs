//! Starts a compute worker, sends it one lab's typed requests and routes its answers back to
//! the component that asked, by request id. Generic over the lab's messages ([`Ask`],
//! [`Answer`]): each module links only its own lab's message code.

use std::{cell::RefCell, collections::HashMap, marker::PhantomData, rc::Rc};

use leptos::prelude::*;
use softplay_worker::protocol::{Answer, Ask, Backend, Reply, CRASH, PING};
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

/// How often the page checks that a ready worker still reads its messages, and how long a
/// worker may stay silent after being asked before it counts as stopped. Long work yields to
/// the worker's event loop between chunks, so a living worker answers within a chunk.
const CHECK_MS: i32 = 2_000;
const SILENT_MS: f64 = 15_000.0;
/// A worker that stops this many times within a minute is not started again.
pub(crate) const MAX_STOPS_PER_MINUTE: usize = 3;

/// When a worker stopped, within the last minute.
#[derive(Default)]
pub(crate) struct Stops(Vec<f64>);

impl Stops {
    /// Counts a stop now; returns the stops within the last minute, this one included.
    pub(crate) fn count(&mut self) -> usize {
        let t = now();
        self.0.retain(|s| t - s < 60_000.0);
        self.0.push(t);
        self.0.len()
    }
}

/// Why a worker's error event says it stopped, on one line (a panic's report spans lines).
pub(crate) fn one_line(why: &str) -> String {
    if why.trim().is_empty() {
        "it could not load".into()
    } else {
        why.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

struct Inner<A> {
    worker: Option<Worker>,
    next_id: u32,
    handlers: HashMap<u32, Handler<A>>,
    /// Requests made before the worker said it is ready: a worker that is still loading its
    /// WebAssembly has no message handler yet, and a message sent then would be lost.
    queued: Option<Vec<JsValue>>,
    /// The lab whose requests it answers, and where its loader is.
    lab: &'static str,
    url: String,
    /// Which start of the worker this is (events of an earlier, stopped one are ignored).
    generation: u32,
    /// When it last said anything, when it was asked whether it is alive (unanswered), and
    /// when it stopped within the last minute.
    heard: f64,
    pinged: Option<f64>,
    stops: Stops,
}

/// The signals a worker's events update.
#[derive(Clone, Copy)]
struct Signals {
    status: RwSignal<ComputeStatus>,
    busy: RwSignal<usize>,
    unreadable: RwSignal<Option<String>>,
}

/// A compute worker for lab `Q`'s requests, answered with `A`s. `Copy`: the fields are arena
/// handles. A worker that dies (a panic, a failed load, killed by the browser) or stops
/// answering is started again: the requests it had in hand fail with a message that says so,
/// and the page's notice names the lab; everything on the page stays.
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

fn now() -> f64 {
    js_sys::Date::now()
}

/// The worker, as a person would name it.
fn who(lab: &str) -> String {
    match lab {
        "shell" => "the page's compute worker".into(),
        lab => {
            let mut name = lab.to_string();
            name[..1].make_ascii_uppercase();
            format!("the {name} lab's worker")
        }
    }
}

/// The window event the shell turns into a notice: a worker stopped and was started again.
pub const RESTARTED_EVENT: &str = "softplay:worker-restarted";

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
        let sig = Signals {
            status: RwSignal::new(ComputeStatus::Starting),
            busy: RwSignal::new(0usize),
            unreadable: RwSignal::new(None::<String>),
        };
        let inner = Rc::new(RefCell::new(Inner {
            worker: None,
            next_id: 1,
            handlers: HashMap::new(),
            queued: None,
            lab: Q::LAB,
            url: url.to_string(),
            generation: 0,
            heard: now(),
            pinged: None,
            stops: Stops::default(),
        }));
        spawn(&inner, sig);
        watch(&inner, sig);
        Compute {
            status: sig.status,
            busy: sig.busy,
            unreadable: sig.unreadable,
            inner: StoredValue::new_local(inner),
            ask: PhantomData,
        }
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

/// Starts (or starts again) `inner`'s worker and listens to it.
fn spawn<A: Answer>(inner: &Rc<RefCell<Inner<A>>>, sig: Signals) {
    let (url, generation) = {
        let mut i = inner.borrow_mut();
        i.generation += 1;
        (i.url.clone(), i.generation)
    };
    let worker = match Worker::new(&url) {
        Ok(w) => w,
        Err(e) => return sig.status.set(ComputeStatus::Stopped(format!("could not start the compute worker: {e:?}"))),
    };
    let weak = Rc::downgrade(inner);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(inner) = weak.upgrade() else { return };
        if inner.borrow().generation != generation {
            return;
        }
        {
            let mut i = inner.borrow_mut();
            i.heard = now();
            i.pinged = None;
        }
        match serde_wasm_bindgen::from_value::<Reply<A>>(event.data()) {
            Ok(Reply::Alive) => {}
            Ok(Reply::Unreadable { message }) => sig.unreadable.set(Some(message)),
            Ok(Reply::Failed { id: None, message }) => failed(&inner, sig, &message),
            Ok(response) => dispatch(&inner, sig.status, sig.busy, response),
            Err(e) => web_sys::console::error_1(&format!("unreadable worker message: {e}").into()),
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let weak = Rc::downgrade(inner);
    let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
        // A worker that already said why it stopped (a panic posts `Failed` before it traps) has
        // been replaced: the trap's own error, from the old worker, adds nothing.
        event.prevent_default();
        let Some(inner) = weak.upgrade() else { return };
        if inner.borrow().generation != generation {
            return;
        }
        failed(&inner, sig, &event.message());
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    let mut i = inner.borrow_mut();
    i.worker = Some(worker);
    i.queued = Some(Vec::new());
    i.heard = now();
    i.pinged = None;
}

/// Every `CHECK_MS`, asks a ready, quiet worker whether it still reads its messages; one that
/// stays silent for `SILENT_MS` after being asked counts as stopped. Also hears the tests'
/// window events `softplay:crash-worker` (the worker panics) and `softplay:kill-worker` (the page
/// ends it without a word, as a browser ending it would), each with the lab's name as detail.
fn watch<A: Answer>(inner: &Rc<RefCell<Inner<A>>>, sig: Signals) {
    let Some(window) = web_sys::window() else { return };
    let weak = Rc::downgrade(inner);
    let tick = Closure::<dyn FnMut()>::new(move || {
        let Some(inner) = weak.upgrade() else { return };
        let t = now();
        let ping = {
            let i = inner.borrow();
            let ready = i.worker.is_some() && i.queued.is_none();
            match i.pinged {
                _ if !ready => None,
                Some(asked) if t - asked > SILENT_MS => {
                    drop(i);
                    return failed(&inner, sig, "it stopped answering");
                }
                Some(_) => None,
                None if t - i.heard >= f64::from(CHECK_MS) => i.worker.clone(),
                None => None,
            }
        };
        if let Some(worker) = ping {
            let message = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&message, &"lab".into(), &PING.into());
            if worker.post_message(&message).is_ok() {
                inner.borrow_mut().pinged = Some(t);
            }
        }
    });
    let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), CHECK_MS);
    tick.forget();
    for (event, crash) in [("softplay:crash-worker", true), ("softplay:kill-worker", false)] {
        let weak = Rc::downgrade(inner);
        let on_test = Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
            let Some(inner) = weak.upgrade() else { return };
            if e.detail().as_string().as_deref() != Some(inner.borrow().lab) {
                return;
            }
            let worker = inner.borrow().worker.clone();
            if let Some(worker) = worker {
                if crash {
                    let message = js_sys::Object::new();
                    let _ = js_sys::Reflect::set(&message, &"lab".into(), &CRASH.into());
                    let _ = worker.post_message(&message);
                } else {
                    worker.terminate();
                }
            }
        });
        let _ = window.add_event_listener_with_callback(event, on_test.as_ref().unchecked_ref());
        on_test.forget();
    }
}

/// The worker stopped (`why`): the requests it had in hand fail, saying so; a new worker starts
/// unless this one stopped `MAX_STOPS_PER_MINUTE` times within a minute; the page hears of it.
fn failed<A: Answer>(inner: &Rc<RefCell<Inner<A>>>, sig: Signals, why: &str) {
    let why = &one_line(why);
    let (name, in_hand, never_listened) = {
        let i = inner.borrow();
        (who(i.lab), i.handlers.len(), i.queued.is_some())
    };
    // A worker that never read a message could not load: loading it again would fail again.
    if never_listened {
        let said = format!("{why}; reload the page to restart it");
        stop(inner, &said);
        sig.busy.set(0);
        sig.status.set(ComputeStatus::Stopped(said));
        return;
    }
    stop(inner, &format!("{name} stopped ({why}) before it answered; a new one has started: ask again"));
    sig.busy.set(0);
    let stops = inner.borrow_mut().stops.count();
    if stops >= MAX_STOPS_PER_MINUTE {
        let said = format!(
            "{name} stopped {stops} times within a minute (the last time: {why}); it was not started again: \
             reload the page to restart it (the link keeps your settings)"
        );
        // The shell shows its own worker's status as a notice already.
        if inner.borrow().lab != "shell" {
            announce(&said);
        }
        sig.status.set(ComputeStatus::Stopped(said));
        return;
    }
    let mut said = format!("{name} stopped ({why}) and was started again; your settings and results are kept");
    if in_hand > 0 {
        said += &format!(", and the {in_hand} computation(s) it had in hand say so: run them again");
    }
    announce(&said);
    sig.status.set(ComputeStatus::Starting);
    spawn(inner, sig);
}

/// Tells the page (the shell shows it as a notice) that a worker came back.
fn announce(message: &str) {
    let init = web_sys::CustomEventInit::new();
    init.set_detail(&message.into());
    if let (Some(window), Ok(event)) =
        (web_sys::window(), web_sys::CustomEvent::new_with_event_init_dict(RESTARTED_EVENT, &init))
    {
        let _ = window.dispatch_event(&event);
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

/// Ends a worker that failed: the requests waiting now fail with `message`.
fn stop<A: Answer>(inner: &Rc<RefCell<Inner<A>>>, message: &str) {
    if let Some(worker) = inner.borrow_mut().worker.take() {
        worker.terminate();
    }
    let handlers: Vec<(u32, Handler<A>)> = inner.borrow_mut().handlers.drain().collect();
    for (id, mut handler) in handlers {
        handler(Reply::Failed { id: Some(id), message: message.to_string() });
    }
}
