//! The Model lab's training worker (`softplay-model-worker`): started once per page, sent
//! [`ModelRequest`]s, its [`ModelResponse`]s handed to one listener (the lab's runs).

use std::{cell::RefCell, rc::Rc};

use softplay_worker::model::{ModelRequest, ModelResponse};
use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{ErrorEvent, MessageEvent, Worker};

type Listener = Rc<RefCell<Option<Box<dyn FnMut(ModelResponse)>>>>;

struct Inner {
    worker: Option<Worker>,
    /// Requests made before the worker listens (its WebAssembly is still loading).
    queued: Option<Vec<JsValue>>,
    listener: Listener,
}

/// The worker, kept while the page lives (the lab's runs live in it).
#[derive(Clone)]
pub struct Trainer(Rc<RefCell<Inner>>);

thread_local! {
    static WORKER: RefCell<Option<Trainer>> = const { RefCell::new(None) };
}

impl Trainer {
    /// The page's training worker, started on first use.
    pub fn get() -> Trainer {
        WORKER.with(|w| w.borrow_mut().get_or_insert_with(Trainer::start).clone())
    }

    fn start() -> Trainer {
        let listener: Listener = Rc::new(RefCell::new(None));
        let inner = Rc::new(RefCell::new(Inner { worker: None, queued: Some(Vec::new()), listener: listener.clone() }));
        let tell = {
            let listener = listener.clone();
            move |response: ModelResponse| {
                // Take the listener out while it runs, so it may send new requests.
                let taken = listener.borrow_mut().take();
                if let Some(mut f) = taken {
                    f(response);
                    listener.borrow_mut().get_or_insert(f);
                }
            }
        };
        match Worker::new(&crate::worker::client::worker_url("bin=model")) {
            Ok(worker) => {
                let weak = Rc::downgrade(&inner);
                let tell_message = tell.clone();
                let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                    let response = serde_wasm_bindgen::from_value::<ModelResponse>(event.data()).unwrap_or_else(|e| {
                        ModelResponse::Failed {
                            run: None,
                            message: format!("an unreadable message from the training worker ({e})"),
                        }
                    });
                    if response == ModelResponse::Listening {
                        let Some(inner) = weak.upgrade() else { return };
                        let (worker, queued) = {
                            let mut i = inner.borrow_mut();
                            (i.worker.clone(), i.queued.take().unwrap_or_default())
                        };
                        for value in queued {
                            if let Some(w) = &worker {
                                let _ = w.post_message(&value);
                            }
                        }
                        return;
                    }
                    tell_message(response);
                });
                worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                on_message.forget();
                let weak = Rc::downgrade(&inner);
                let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
                    event.prevent_default();
                    if let Some(inner) = weak.upgrade() {
                        if let Some(w) = inner.borrow_mut().worker.take() {
                            w.terminate();
                        }
                    }
                    let why =
                        if event.message().is_empty() { "could not load it".to_string() } else { event.message() };
                    tell(ModelResponse::Failed {
                        run: None,
                        message: format!("the training worker failed ({why}); reload the page to restart it"),
                    });
                });
                worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
                on_error.forget();
                // For the tests of a GPU that goes away mid-run: the event
                // `softplay:lose-gpu` on the window destroys the worker's GPU device.
                let lose = Closure::<dyn FnMut()>::new({
                    let worker = worker.clone();
                    move || {
                        if let Ok(v) = serde_wasm_bindgen::to_value(&ModelRequest::LoseGpu { run: 0 }) {
                            let _ = worker.post_message(&v);
                        }
                    }
                });
                if let Some(window) = web_sys::window() {
                    let _ = window.add_event_listener_with_callback("softplay:lose-gpu", lose.as_ref().unchecked_ref());
                }
                lose.forget();
                inner.borrow_mut().worker = Some(worker);
            }
            Err(e) => web_sys::console::error_1(&format!("could not start the training worker: {e:?}").into()),
        }
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
