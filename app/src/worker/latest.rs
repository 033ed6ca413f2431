//! Latest wins: a panel that asks the worker again while an answer is still coming (a slider
//! being dragged) keeps at most one request waiting, the newest. The worker never queues stale
//! work, and the page redraws as fast as the worker answers.
//!
//! Each request carries a tag (what was asked, in the page's terms), handed back with every
//! answer to it, so that a result is always labelled by the request that made it.

use std::{cell::RefCell, rc::Rc};

use leptos::prelude::*;

use super::{
    client::Compute,
    protocol::{Request, Response},
};

type Make = Box<dyn FnOnce(u32) -> Request>;
type OnResponse<T> = Rc<dyn Fn(&T, Response)>;

struct State<T> {
    in_flight: bool,
    waiting: Option<(T, Make)>,
    on_response: OnResponse<T>,
}

/// One panel's channel to the worker. `Copy`: arena handles.
pub struct Latest<T: 'static> {
    compute: Compute,
    state: StoredValue<Rc<RefCell<State<T>>>, LocalStorage>,
    /// Whether a request is running or waiting.
    pub busy: RwSignal<bool>,
}

impl<T> Clone for Latest<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Latest<T> {}

impl<T: 'static> Latest<T> {
    pub fn new(compute: Compute, on_response: impl Fn(&T, Response) + 'static) -> Self {
        let state = Rc::new(RefCell::new(State { in_flight: false, waiting: None, on_response: Rc::new(on_response) }));
        Latest { compute, state: StoredValue::new_local(state), busy: RwSignal::new(false) }
    }

    /// Sends `make(id)` now, or as soon as the request in flight is answered (replacing any
    /// request already waiting).
    pub fn request(&self, tag: T, make: impl FnOnce(u32) -> Request + 'static) {
        let state = self.state.get_value();
        self.busy.set(true);
        let mut s = state.borrow_mut();
        if s.in_flight {
            s.waiting = Some((tag, Box::new(make)));
            return;
        }
        s.in_flight = true;
        drop(s);
        send(self.compute, state, self.busy, tag, Box::new(make));
    }
}

fn send<T: 'static>(compute: Compute, state: Rc<RefCell<State<T>>>, busy: RwSignal<bool>, tag: T, make: Make) {
    let on_response = state.borrow().on_response.clone();
    compute.send(make, move |response| {
        let last = response.request_id().is_none_or(|(_, last)| last);
        on_response(&tag, response);
        if last {
            let next = state.borrow_mut().waiting.take();
            match next {
                Some((tag, make)) => send(compute, state.clone(), busy, tag, make),
                None => {
                    state.borrow_mut().in_flight = false;
                    busy.set(false);
                }
            }
        }
    });
}
