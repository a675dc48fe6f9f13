//! A small deterministic executor for application tasks written as `async fn`s.
//!
//! Tasks run on the simulated clock: a task that waits (for data on a socket, for a timer) returns
//! `Pending` after registering its waker; whatever makes progress possible (a segment arriving, a
//! timer event) wakes it, and the world polls woken tasks in the order they were woken. There are no
//! threads and no OS time, so the interleaving of tasks is a pure function of the event order.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// A task's index in its executor, in spawn order (the first task is 0).
pub type TaskId = usize;

#[derive(Default)]
struct ReadyState {
    queue: VecDeque<TaskId>,
    queued: Vec<bool>,
}

/// Woken tasks, in wake order, each at most once.
#[derive(Default)]
struct ReadyQueue(Mutex<ReadyState>);

impl ReadyQueue {
    fn push(&self, id: TaskId) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if s.queued.len() <= id {
            s.queued.resize(id + 1, false);
        }
        if !s.queued[id] {
            s.queued[id] = true;
            s.queue.push_back(id);
        }
    }
    fn pop(&self) -> Option<TaskId> {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let id = s.queue.pop_front()?;
        s.queued[id] = false;
        Some(id)
    }
}

struct TaskWaker {
    id: TaskId,
    ready: Arc<ReadyQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.ready.push(self.id);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.push(self.id);
    }
}

type BoxedTask = Pin<Box<dyn Future<Output = ()>>>;

struct Task {
    future: Option<BoxedTask>,
    waker: Waker,
}

/// Runs spawned tasks when they are woken. Single-threaded by design.
#[derive(Default)]
pub struct Executor {
    tasks: Vec<Task>,
    ready: Arc<ReadyQueue>,
    live: usize,
}

impl Executor {
    /// An executor with no tasks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a task; it is polled for the first time on the next `run_ready`.
    pub fn spawn(&mut self, fut: impl Future<Output = ()> + 'static) -> TaskId {
        let id = self.tasks.len();
        let waker = Waker::from(Arc::new(TaskWaker { id, ready: self.ready.clone() }));
        self.tasks.push(Task { future: Some(Box::pin(fut)), waker });
        self.live += 1;
        self.ready.push(id);
        id
    }

    /// The waker of a task, for code that wants to wake it from outside (e.g. a timer event).
    pub fn waker(&self, id: TaskId) -> Option<Waker> {
        self.tasks.get(id).map(|t| t.waker.clone())
    }

    /// Polls woken tasks until none is ready. Returns how many polls were made.
    pub fn run_ready(&mut self) -> usize {
        let mut polls = 0;
        while let Some(id) = self.ready.pop() {
            let Some(task) = self.tasks.get_mut(id) else {
                continue;
            };
            let Some(fut) = task.future.as_mut() else {
                continue;
            };
            let waker = task.waker.clone();
            let mut cx = Context::from_waker(&waker);
            polls += 1;
            if fut.as_mut().poll(&mut cx).is_ready() {
                task.future = None;
                self.live -= 1;
            }
        }
        polls
    }

    /// Number of tasks not yet finished.
    pub fn live(&self) -> usize {
        self.live
    }
}

/// A future that is pending exactly once: lets other tasks run at the same simulated instant.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn tasks_interleave_in_wake_order() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut ex = Executor::new();
        for name in ["a", "b"] {
            let log = log.clone();
            ex.spawn(async move {
                for i in 0..3 {
                    log.borrow_mut().push(format!("{name}{i}"));
                    yield_now().await;
                }
            });
        }
        assert_eq!(ex.live(), 2);
        ex.run_ready();
        assert_eq!(ex.live(), 0);
        assert_eq!(*log.borrow(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
    }
}
