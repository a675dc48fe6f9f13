//! The event loop, one for both kinds of run. A `Clock` says what time it is and waits; in a
//! simulated run time jumps to the next event at once, in a live run (src/bridge/) it is the wall
//! clock and frames cross "external" link ends (a TUN device, a UDP tunnel). Everything else —
//! running woken tasks, flushing nodes, stop conditions, dispatching events — is the same code.
//! This module never reads the OS clock: a live `Clock` does.

use super::World;
use crate::net::LinkId;
use crate::net::fabric::Frame;
use crate::net::network::Network;
use crate::sim::{Duration, Instant};

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Nothing was left to happen: no events, every application finished or waiting forever.
    Idle,
    /// Every (non-daemon) application finished and `stop_when_apps_done` was set.
    AppsFinished,
    /// The time limit was reached.
    TimeLimit,
    /// The event budget was used up.
    EventBudget,
    /// The run was stopped from outside (Ctrl-C, SIGTERM).
    Interrupted,
    /// A stack under test failed (an external process crashed, hung or spoke garbage); the
    /// outcome's `error` says which and how.
    StackFailed,
}

/// How a run ended.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunOutcome {
    /// Why it stopped.
    pub reason: StopReason,
    /// The simulated time when it stopped.
    pub sim_time: Instant,
    /// Events executed since the world was built.
    pub events: u64,
    /// Applications not finished when the run stopped (names).
    pub unfinished: Vec<String>,
    /// Why a stack under test failed (with `StopReason::StackFailed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// When a run stops.
#[derive(Clone, Copy, Debug)]
pub struct RunLimits {
    /// No event after this time runs; the clock stops here.
    pub stop_at: Instant,
    /// At most this many events run (counted since the world was built).
    pub max_events: u64,
    /// Stop once every non-daemon application has finished.
    pub stop_when_apps_done: bool,
}

impl Default for RunLimits {
    /// 600 s of simulated time, no event budget, run until nothing is left to happen.
    fn default() -> Self {
        RunLimits { stop_at: Instant::from_nanos(600_000_000_000), max_events: u64::MAX, stop_when_apps_done: false }
    }
}

/// Time and the outside world, as the event loop sees them.
pub(crate) trait Clock {
    /// The current time, given the time of the next event (`None`: none is scheduled). A simulated
    /// clock answers that time itself (time jumps); a live one answers the wall clock.
    fn now(&mut self, next_event: Option<Instant>) -> Instant;
    /// Whether the run ends when nothing is scheduled (simulated), rather than waiting for input.
    fn stops_when_idle(&self) -> bool;
    /// How long a live run goes on after its applications are done, so that their last frames
    /// still cross the bridges. Zero stops at once.
    fn linger(&self) -> Duration;
    /// Blocks until input may be waiting or `deadline` has come (live runs only).
    fn wait(&mut self, deadline: Instant);
    /// Hands every input waiting now to the network without blocking; how many there were.
    fn deliver(&mut self, net: &mut Network) -> usize;
    /// A frame reached the external end `side` of `link`; the clock's I/O sends it out and gives
    /// the buffer back with `net.fab.recycle`.
    fn output(&mut self, net: &mut Network, link: LinkId, side: usize, frame: Frame);
    /// True once the run should stop (Ctrl-C). Asked between events.
    fn interrupted(&mut self) -> bool;
    /// Called every 65536 events with the simulated time (a progress bar).
    fn progress(&mut self, now: Instant);
}

/// The simulated clock: time jumps from event to event; `progress` and `interrupted` are the
/// caller's.
pub(crate) struct Simulated<'a> {
    pub(crate) progress: &'a mut dyn FnMut(Instant),
    pub(crate) interrupted: &'a dyn Fn() -> bool,
}

impl Clock for Simulated<'_> {
    fn now(&mut self, next_event: Option<Instant>) -> Instant {
        next_event.unwrap_or(Instant::MAX)
    }
    fn stops_when_idle(&self) -> bool {
        true
    }
    fn linger(&self) -> Duration {
        Duration::ZERO
    }
    fn wait(&mut self, _deadline: Instant) {}
    fn deliver(&mut self, _net: &mut Network) -> usize {
        0
    }
    fn output(&mut self, net: &mut Network, _link: LinkId, _side: usize, frame: Frame) {
        net.fab.recycle(frame);
    }
    fn interrupted(&mut self) -> bool {
        (self.interrupted)()
    }
    fn progress(&mut self, now: Instant) {
        (self.progress)(now)
    }
}

impl World {
    /// Runs until a stop condition of `limits` holds, with time and I/O from `clock`.
    pub(crate) fn drive<C: Clock>(&mut self, limits: RunLimits, clock: &mut C) -> RunOutcome {
        let mut stop_at = limits.stop_at;
        let mut finishing = false;
        let reason = loop {
            self.run_tasks();
            let mut net = self.core.net.borrow_mut();
            net.flush();
            if net.stack_failure.is_some() {
                break StopReason::StackFailed;
            }
            if limits.stop_when_apps_done && !finishing && self.apps_done() {
                let linger = clock.linger();
                if linger == Duration::ZERO {
                    break StopReason::AppsFinished;
                }
                finishing = true;
                stop_at = stop_at.min(net.fab.now + linger);
            }
            let next = net.fab.queue.peek_time();
            if next.is_none() && clock.stops_when_idle() {
                break StopReason::Idle;
            }
            if clock.interrupted() {
                break StopReason::Interrupted;
            }
            let now = clock.now(next);
            if let Some(t) = next
                && t <= now
                && t <= stop_at
            {
                if self.events >= limits.max_events {
                    break StopReason::EventBudget;
                }
                let Some((t, ev)) = net.fab.queue.pop() else { continue };
                net.fab.now = t.max(net.fab.now);
                let t = net.fab.now;
                self.events += 1;
                if self.events & 0xffff == 0 {
                    clock.progress(t);
                }
                net.dispatch(t, ev, &mut |net: &mut Network, link, side, frame| clock.output(net, link, side, frame));
                continue;
            }
            // Nothing is due: take the outside's input at the current time, else wait for it.
            net.fab.now = now.min(stop_at).max(net.fab.now);
            if clock.deliver(&mut net) > 0 {
                continue;
            }
            if now >= stop_at {
                net.fab.now = stop_at.max(net.fab.now);
                break if finishing { StopReason::AppsFinished } else { StopReason::TimeLimit };
            }
            drop(net);
            clock.wait(next.unwrap_or(Instant::MAX).min(stop_at));
        };
        self.outcome(reason)
    }
}
