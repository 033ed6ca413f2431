//! Latest wins: a panel that asks the worker again while answers are still coming (a slider
//! being dragged) keeps at most one request waiting, the newest. Two requests may be in flight,
//! so that the worker starts the next one while the page is still reading and drawing the last
//! answer; the worker never holds more than one stale request, and the page redraws as fast as
//! the worker answers.
//!
//! Each request carries a tag (what was asked, in the page's terms), handed back with every
//! answer to it, so that a result is always labelled by the request that made it.

use std::{cell::RefCell, rc::Rc};

use leptos::prelude::*;

use softplay_worker::protocol::{Answer, Ask, Reply};

use super::client::Compute;

type Make<Q> = Box<dyn FnOnce(u32) -> Q>;
type OnResponse<T, A> = Rc<dyn Fn(&T, Reply<A>)>;

/// A panel's state, shared by the panel and the answers still coming to it.
type Shared<T, Q, A> = Rc<RefCell<State<T, Q, A>>>;

struct State<T, Q, A> {
    /// Counts debounced requests, so that a timer fires only for the newest.
    generation: u64,
    in_flight: usize,
    /// How many requests may be in flight: 1, or 2 for a panel that redraws while dragging.
    depth: usize,
    waiting: Option<(T, Make<Q>)>,
    on_response: OnResponse<T, A>,
}

/// One panel's channel to the worker. `Copy`: arena handles.
pub struct Latest<T: 'static, Q: Ask, A: Answer> {
    compute: Compute<Q, A>,
    state: StoredValue<Shared<T, Q, A>, LocalStorage>,
    /// Whether a request is running or waiting.
    pub busy: RwSignal<bool>,
}

impl<T, Q: Ask, A: Answer> Clone for Latest<T, Q, A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, Q: Ask, A: Answer> Copy for Latest<T, Q, A> {}

impl<T: 'static, Q: Ask, A: Answer> Latest<T, Q, A> {
    /// One request in flight at a time (long runs).
    pub fn new(compute: Compute<Q, A>, on_response: impl Fn(&T, Reply<A>) + 'static) -> Self {
        Self::with_depth(compute, 1, on_response)
    }

    /// Two requests in flight: the worker computes the next answer while the page draws the
    /// last one (panels redrawn while a slider is dragged).
    pub fn pipelined(compute: Compute<Q, A>, on_response: impl Fn(&T, Reply<A>) + 'static) -> Self {
        Self::with_depth(compute, 2, on_response)
    }

    fn with_depth(compute: Compute<Q, A>, depth: usize, on_response: impl Fn(&T, Reply<A>) + 'static) -> Self {
        let state = Rc::new(RefCell::new(State {
            generation: 0,
            in_flight: 0,
            depth,
            waiting: None,
            on_response: Rc::new(on_response),
        }));
        Latest { compute, state: StoredValue::new_local(state), busy: RwSignal::new(false) }
    }

    /// Like [`Latest::request`], once the settings have been still for `quiet_ms`: long runs
    /// (sweeps) wait until a slider is let go, leaving the machine to the interactive panels.
    pub fn request_when_still(&self, quiet_ms: i32, tag: T, make: impl FnOnce(u32) -> Q + 'static) {
        let state = self.state.get_value();
        self.busy.set(true);
        let generation = {
            let mut s = state.borrow_mut();
            s.generation += 1;
            s.generation
        };
        let (compute, busy) = (self.compute, self.busy);
        // The timer holds the state itself: the panel may be gone when it fires (the person
        // left the page), and then nothing is sent.
        let fire = wasm_bindgen::closure::Closure::once_into_js(move || {
            if state.borrow().generation == generation && !busy.is_disposed() {
                submit(compute, state, busy, tag, Box::new(make));
            }
        });
        if let Some(window) = web_sys::window() {
            use wasm_bindgen::JsCast;
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(fire.unchecked_ref(), quiet_ms);
        }
    }

    /// Sends `make(id)` now, or as soon as the request in flight is answered (replacing any
    /// request already waiting).
    pub fn request(&self, tag: T, make: impl FnOnce(u32) -> Q + 'static) {
        submit(self.compute, self.state.get_value(), self.busy, tag, Box::new(make));
    }
}

fn submit<T: 'static, Q: Ask, A: Answer>(
    compute: Compute<Q, A>,
    state: Shared<T, Q, A>,
    busy: RwSignal<bool>,
    tag: T,
    make: Make<Q>,
) {
    busy.set(true);
    let mut s = state.borrow_mut();
    if s.in_flight >= s.depth {
        s.waiting = Some((tag, make));
        return;
    }
    s.in_flight += 1;
    drop(s);
    send(compute, state, busy, tag, make);
}

fn send<T: 'static, Q: Ask, A: Answer>(
    compute: Compute<Q, A>,
    state: Shared<T, Q, A>,
    busy: RwSignal<bool>,
    tag: T,
    make: Make<Q>,
) {
    let on_response = state.borrow().on_response.clone();
    compute.send(make, move |response| {
        let last = response.request_id().is_none_or(|(_, last)| last);
        on_response(&tag, response);
        if last {
            let next = state.borrow_mut().waiting.take();
            match next {
                // The finished request's place goes to the waiting one.
                Some((tag, make)) => send(compute, state.clone(), busy, tag, make),
                None => {
                    let idle = {
                        let mut s = state.borrow_mut();
                        s.in_flight = s.in_flight.saturating_sub(1);
                        s.in_flight == 0
                    };
                    if idle {
                        busy.set(false);
                    }
                }
            }
        }
    });
}
