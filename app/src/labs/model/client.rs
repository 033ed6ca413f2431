//! The Model lab's training worker (`softplay-model-worker`): started once per page, sent
//! [`ModelRequest`]s, its [`ModelResponse`]s handed to one listener (the lab's runs).

use std::{cell::RefCell, rc::Rc};

use softplay_worker::model::{ModelRequest, ModelResponse};

use crate::worker::client::{one_line, Stops, MAX_STOPS_PER_MINUTE};
use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{ErrorEvent, MessageEvent, Worker};

type Listener = Rc<RefCell<Option<Box<dyn FnMut(ModelResponse)>>>>;

struct Inner {
    worker: Option<Worker>,
    /// Requests made before the worker listens (its WebAssembly is still loading).
    queued: Option<Vec<JsValue>>,
    listener: Listener,
    /// Which start of the worker this is (events of a stopped one are ignored), and when it
    /// stopped within the last minute.
    generation: u32,
    stops: Stops,
}

/// The worker, kept while the page lives (the lab's runs live in it). One that dies (a panic,
/// a failed load) is started again; the runs it was training are marked stopped at their step,
/// and the page keeps every run's settings, curve and sweep.
#[derive(Clone)]
pub struct Trainer(Rc<RefCell<Inner>>);

thread_local! {
    static WORKER: RefCell<Option<Trainer>> = const { RefCell::new(None) };
}

/// Hands `response` to the listener (taken out while it runs, so that it may send requests).
fn tell(listener: &Listener, response: ModelResponse) {
    let taken = listener.borrow_mut().take();
    if let Some(mut f) = taken {
        f(response);
        listener.borrow_mut().get_or_insert(f);
    }
}

/// Starts (or starts again) the training worker and listens to it.
fn spawn(inner: &Rc<RefCell<Inner>>) {
    let (listener, generation) = {
        let mut i = inner.borrow_mut();
        i.generation += 1;
        (i.listener.clone(), i.generation)
    };
    let worker = match Worker::new(&crate::worker::client::worker_url("bin=model")) {
        Ok(w) => w,
        Err(e) => return web_sys::console::error_1(&format!("could not start the training worker: {e:?}").into()),
    };
    let weak = Rc::downgrade(inner);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(inner) = weak.upgrade() else { return };
        if inner.borrow().generation != generation {
            return;
        }
        let response =
            serde_wasm_bindgen::from_value::<ModelResponse>(event.data()).unwrap_or_else(|e| ModelResponse::Failed {
                run: None,
                message: format!("an unreadable message from the training worker ({e})"),
            });
        match response {
            ModelResponse::Listening => {
                let (worker, queued) = {
                    let mut i = inner.borrow_mut();
                    (i.worker.clone(), i.queued.take().unwrap_or_default())
                };
                for value in queued {
                    if let Some(w) = &worker {
                        let _ = w.post_message(&value);
                    }
                }
            }
            ModelResponse::Stopped { message } => stopped(&inner, &message),
            response => tell(&listener, response),
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let weak = Rc::downgrade(inner);
    let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
        event.prevent_default();
        let Some(inner) = weak.upgrade() else { return };
        if inner.borrow().generation != generation {
            return;
        }
        stopped(&inner, &event.message());
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    let mut i = inner.borrow_mut();
    i.worker = Some(worker);
    i.queued = Some(Vec::new());
}

/// The worker stopped (`why`): the runs hear it (those training are marked stopped at their
/// step) and a new worker starts, unless this one stopped too often.
fn stopped(inner: &Rc<RefCell<Inner>>, why: &str) {
    let why = one_line(why);
    let (listener, never_listened) = {
        let mut i = inner.borrow_mut();
        if let Some(w) = i.worker.take() {
            w.terminate();
        }
        (i.listener.clone(), i.queued.is_some())
    };
    // A worker that never read a message could not load: loading it again would fail again.
    if never_listened {
        let message = format!("the training worker failed ({why}); reload the page to restart it");
        return tell(&listener, ModelResponse::Failed { run: None, message });
    }
    let stops = inner.borrow_mut().stops.count();
    let message = if stops >= MAX_STOPS_PER_MINUTE {
        format!(
            "the training worker stopped {stops} times within a minute (the last time: {why}); it was not started \
             again: reload the page to restart it (the link keeps your settings)"
        )
    } else {
        format!(
            "the training worker stopped ({why}) and was started again. Every run's settings, curve and sweep are \
             kept; a run that was training is marked stopped at its step. The weights were in the stopped worker: \
             train a run again to inspect, download or continue it"
        )
    };
    tell(&listener, ModelResponse::Failed { run: None, message });
    if stops < MAX_STOPS_PER_MINUTE {
        spawn(inner);
    }
}

impl Trainer {
    /// The page's training worker, started on first use.
    pub fn get() -> Trainer {
        WORKER.with(|w| w.borrow_mut().get_or_insert_with(Trainer::start).clone())
    }

    fn start() -> Trainer {
        let inner = Rc::new(RefCell::new(Inner {
            worker: None,
            queued: Some(Vec::new()),
            listener: Rc::new(RefCell::new(None)),
            generation: 0,
            stops: Stops::default(),
        }));
        spawn(&inner);
        // For the tests of a GPU that goes away mid-run: the event `softplay:lose-gpu` on the
        // window destroys the worker's GPU device. `softplay:crash-worker` with the detail
        // `model` makes the worker panic.
        let weak = Rc::downgrade(&inner);
        let on_test = Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
            let Some(inner) = weak.upgrade() else { return };
            let request = match e.type_().as_str() {
                "softplay:lose-gpu" => ModelRequest::LoseGpu { run: 0 },
                _ if e.detail().as_string().as_deref() == Some("model") => ModelRequest::Crash,
                _ => return,
            };
            let worker = inner.borrow().worker.clone();
            if let (Some(worker), Ok(v)) = (worker, serde_wasm_bindgen::to_value(&request)) {
                let _ = worker.post_message(&v);
            }
        });
        if let Some(window) = web_sys::window() {
            for event in ["softplay:lose-gpu", "softplay:crash-worker"] {
                let _ = window.add_event_listener_with_callback(event, on_test.as_ref().unchecked_ref());
            }
        }
        on_test.forget();
        Trainer(inner)
    }

    /// The one listener of the worker's answers (a new mount replaces the old one).
    pub fn listen(&self, f: impl FnMut(ModelResponse) + 'static) {
        let listener = self.0.borrow().listener.clone();
        *listener.borrow_mut() = Some(Box::new(f));
    }

    /// Sends `request`; an error says why it could not be sent.
    pub fn send(&self, request: &ModelRequest) -> Result<(), String> {
        let value = serde_wasm_bindgen::to_value(request).map_err(|e| e.to_string())?;
        let mut inner = self.0.borrow_mut();
        let running = inner.worker.is_some();
        if let Some(queue) = inner.queued.as_mut() {
            if !running {
                return Err("the training worker is not running; reload the page to restart it".into());
            }
            queue.push(value);
            return Ok(());
        }
        match &inner.worker {
            Some(w) => w.post_message(&value).map_err(|e| format!("{e:?}")),
            None => Err("the training worker is not running; reload the page to restart it".into()),
        }
    }
}
