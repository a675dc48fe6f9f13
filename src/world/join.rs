//! The handle of a spawned task: its value, once it has returned.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

struct Slot<T> {
    value: Option<T>,
    done: bool,
    waiter: Option<Waker>,
}

/// The result of a task started with [`World::spawn`](super::World::spawn) or
/// [`Host::spawn`](super::Host::spawn). A test takes the value after the run with
/// [`JoinHandle::take`]; another task can `.await` it.
pub struct JoinHandle<T> {
    slot: Rc<RefCell<Slot<T>>>,
}

/// The task's side of a [`JoinHandle`].
pub(crate) struct Completer<T> {
    slot: Rc<RefCell<Slot<T>>>,
}

/// A connected pair: the task completes, the handle reads.
pub(crate) fn pair<T>() -> (Completer<T>, JoinHandle<T>) {
    let slot = Rc::new(RefCell::new(Slot { value: None, done: false, waiter: None }));
    (Completer { slot: slot.clone() }, JoinHandle { slot })
}

impl<T> Completer<T> {
    /// Stores the task's value and wakes a task awaiting it.
    pub(crate) fn complete(self, value: T) {
        let mut s = self.slot.borrow_mut();
        s.value = Some(value);
        s.done = true;
        if let Some(w) = s.waiter.take() {
            w.wake();
        }
    }
}

/// A task that hands its value to a [`JoinHandle`] when it returns. The task's own future is boxed
/// on its own: an `async move { done.complete(fut.await) }` block would keep room for the future
/// twice (as a captured value and as the awaited one), doubling every spawned task's memory.
pub(crate) struct Completing<T> {
    fut: Pin<Box<dyn Future<Output = T>>>,
    done: Option<Completer<T>>,
}

impl<T> Completing<T> {
    /// Runs `fut`, then completes `done` with its value.
    pub(crate) fn new(fut: impl Future<Output = T> + 'static, done: Completer<T>) -> Completing<T> {
        Completing { fut: Box::pin(fut), done: Some(done) }
    }
}

impl<T> Future for Completing<T> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        match this.fut.as_mut().poll(cx) {
            Poll::Ready(v) => {
                if let Some(done) = this.done.take() {
                    done.complete(v);
                }
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> JoinHandle<T> {
    /// Whether the task has returned.
    pub fn is_finished(&self) -> bool {
        self.slot.borrow().done
    }

    /// The task's value, if it has returned and the value was not taken before.
    pub fn take(&self) -> Option<T> {
        self.slot.borrow_mut().value.take()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    /// Ready with the task's value once it has returned. Awaiting a handle whose value was already
    /// taken never completes.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.slot.borrow_mut();
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waiter = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
