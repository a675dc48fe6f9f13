//! The world: a built network with tasks running on its hosts, driven by one event loop. This is
//! netlab's library face: build a world ([`WorldBuilder`]), start your own async code on its hosts
//! ([`World::spawn`], with a [`Host`] inside the task), run it ([`World::run`],
//! [`World::run_until`], [`World::step`]), break and repair links while it runs
//! ([`World::link_down`], [`World::partition`], [`World::set_impairments`]), and read typed
//! results ([`World::link_stats`], [`World::connections`], [`World::apps`], [`JoinHandle::take`]).
//!
//! The network, the task engine and the trace are private to the world: nobody else holds them.

mod builder;
mod core;
mod driver;
mod host;
mod join;
mod results;
mod router_paths;
mod socket;

pub use builder::{BuildError, WorldBuilder, host_key};
pub use core::AppReport;
#[cfg(any(feature = "live", test))]
pub(crate) use driver::Clock;
pub use driver::{RunLimits, RunOutcome, StopReason};
pub use host::{Host, IcmpKind, IcmpMessage};
pub use join::JoinHandle;
pub use results::{LinkReport, NodeReport, NodeRoutes, RouteReport};
pub use socket::{TcpListener, TcpStream};

use crate::net::faults::{FaultAction, TimedFault};
#[cfg(feature = "live")]
use crate::net::network::Network;
use crate::net::{Dir, Impairments, LinkId, NodeId};
use crate::sim::{Executor, Instant};
use core::Core;
use std::cell::Cell;
use std::future::Future;
use std::net::Ipv4Addr;
use std::rc::Rc;

/// A built network with its tasks, ready to run.
pub struct World {
    core: Rc<Core>,
    executor: Executor,
    events: u64,
    /// Every application before this index is finished or a daemon (neither ever changes back),
    /// so `apps_done` looks at each application once over the whole run, not once per event.
    apps_checked: Cell<usize>,
}

impl World {
    /// The current simulated time.
    pub fn now(&self) -> Instant {
        self.core.net.borrow().fab.now
    }

    /// Events executed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.core.seed
    }

    /// The index of the node called `name`.
    pub fn node(&self, name: &str) -> Option<NodeId> {
        self.core.net.borrow().node_id(name)
    }

    /// The first interface address of the node called `name`.
    pub fn host_addr(&self, name: &str) -> Option<Ipv4Addr> {
        let net = self.core.net.borrow();
        let n = net.node_id(name)?;
        net.nodes[n].ifaces.first().map(|i| i.addr.addr)
    }

    /// The index of the link called `name`.
    pub fn link(&self, name: &str) -> Option<LinkId> {
        self.core.net.borrow().fab.links.iter().position(|l| l.name == name)
    }

    // ------------------------------------------------------------------------------ tasks

    /// Starts `make(host)` on host `host` now, as a task of kind "task"; its value comes through
    /// the handle. Panics if there is no node of that name (a bug in the calling test).
    pub fn spawn<T, F, Fut>(&mut self, host: &str, make: F) -> JoinHandle<T>
    where
        T: 'static,
        F: FnOnce(Host) -> Fut + 'static,
        Fut: Future<Output = T> + 'static,
    {
        let node = self.node(host).unwrap_or_else(|| panic!("World::spawn: no host named {host:?}"));
        let n = self.core.apps.borrow().len();
        let (done, handle) = join::pair();
        let start = self.now();
        self.spawn_app(&format!("{host}.task{n}"), "task", node, false, start, move |h| async move {
            done.complete(make(h).await);
            Ok(())
        });
        handle
    }

    /// Registers an application (its record appears in [`World::apps`] and the summary) and
    /// spawns its task, which starts at `start`. A `daemon` (a server) does not hold the run open.
    pub fn spawn_app<F, Fut>(
        &mut self,
        name: &str,
        kind: &str,
        node: NodeId,
        daemon: bool,
        start: Instant,
        make: F,
    ) -> usize
    where
        F: FnOnce(Host) -> Fut,
        Fut: Future<Output = Result<(), String>> + 'static,
    {
        let host = self.core.net.borrow().nodes[node].name.clone();
        let index = {
            let mut apps = self.core.apps.borrow_mut();
            apps.push(AppReport { name: name.to_string(), kind: kind.to_string(), host, daemon, ..Default::default() });
            apps.len() - 1
        };
        let ctx = Host::new(self.core.clone(), node, index);
        let fut = make(ctx.clone());
        self.executor.spawn(async move {
            ctx.sleep_until(start).await;
            ctx.core.apps.borrow_mut()[index].started = true;
            let result = fut.await;
            let now = ctx.now();
            let mut apps = ctx.core.apps.borrow_mut();
            let rep = &mut apps[index];
            rep.finished = true;
            rep.finished_at = Some(now);
            if let Err(e) = result {
                rep.error = Some(e);
            }
        });
        index
    }

    /// Polls every woken task, including tasks that running tasks spawn, until none is ready.
    fn run_tasks(&mut self) {
        loop {
            self.executor.run_ready();
            let new: Vec<_> = self.core.spawned.borrow_mut().drain(..).collect();
            if new.is_empty() {
                break;
            }
            for fut in new {
                self.executor.spawn(fut);
            }
        }
    }

    fn apps_done(&self) -> bool {
        let apps = self.core.apps.borrow();
        let done = apps.iter().skip(self.apps_checked.get()).take_while(|a| a.finished || a.daemon).count();
        self.apps_checked.set(self.apps_checked.get() + done);
        self.apps_checked.get() == apps.len()
    }

    fn outcome(&self, reason: StopReason) -> RunOutcome {
        let (sim_time, error) = {
            let net = self.core.net.borrow();
            (net.fab.now, net.stack_failure.clone())
        };
        let unfinished =
            self.core.apps.borrow().iter().filter(|a| !a.finished && !a.daemon).map(|a| a.name.clone()).collect();
        RunOutcome { reason, sim_time, events: self.events, unfinished, error }
    }

    // ------------------------------------------------------------------------------ running

    /// Runs until nothing is left to happen or every task started with [`World::spawn`] (and every
    /// non-daemon application) has finished, for at most 600 s of simulated time.
    pub fn run(&mut self) -> RunOutcome {
        self.run_with(RunLimits { stop_when_apps_done: true, ..RunLimits::default() })
    }

    /// Runs until a stop condition of `limits` holds.
    pub fn run_with(&mut self, limits: RunLimits) -> RunOutcome {
        self.run_with_progress(limits, &mut |_| {}, &|| false)
    }

    /// Runs every event up to and including time `t`; the clock then reads `t` (unless nothing
    /// at all is left to happen).
    pub fn run_until(&mut self, t: Instant) -> RunOutcome {
        self.run_with(RunLimits { stop_at: t, ..RunLimits::default() })
    }

    /// Runs exactly one event (and the tasks it wakes); false when nothing is left to happen.
    pub fn step(&mut self) -> bool {
        let limits = RunLimits { stop_at: Instant::MAX, max_events: self.events + 1, stop_when_apps_done: false };
        let before = self.events;
        self.run_with(limits);
        self.events > before
    }

    /// Like [`World::run_with`], calling `progress(now)` every 65536 events and stopping (as
    /// `Interrupted`) once `interrupted()` returns true; both are asked between events.
    pub fn run_with_progress(
        &mut self,
        limits: RunLimits,
        progress: &mut dyn FnMut(Instant),
        interrupted: &dyn Fn() -> bool,
    ) -> RunOutcome {
        self.drive(limits, &mut driver::Simulated { progress, interrupted })
    }

    /// Writes out captures and the trace. Call once after the last run; the first error, if any.
    pub fn finish(&mut self) -> Result<(), String> {
        let mut net = self.core.net.borrow_mut();
        let mut err = None;
        for c in &mut net.fab.recorders {
            if let Err(e) = c.finish() {
                err.get_or_insert(e);
            }
        }
        if let Err(e) = net.fab.sink.finish() {
            err.get_or_insert(e);
        }
        err.map_or(Ok(()), Err)
    }

    // ------------------------------------------------------------------------------ faults

    /// Applies `action` to link `link` now (it shows in the trace as a fault).
    fn apply_now(&mut self, link: LinkId, action: FaultAction) {
        let mut net = self.core.net.borrow_mut();
        let at = net.fab.now;
        net.faults.push(TimedFault { at, link, action });
        let index = net.faults.len() - 1;
        net.apply_fault(index);
    }

    fn link_id(&self, name: &str) -> Result<LinkId, String> {
        self.link(name).ok_or_else(|| format!("no link named {name:?}"))
    }

    /// Takes link `name` down now: frames offered to it are dropped (cause `down`).
    pub fn link_down(&mut self, name: &str) -> Result<(), String> {
        let l = self.link_id(name)?;
        self.apply_now(l, FaultAction::Down);
        Ok(())
    }

    /// Brings link `name` back up now.
    pub fn link_up(&mut self, name: &str) -> Result<(), String> {
        let l = self.link_id(name)?;
        self.apply_now(l, FaultAction::Up);
        Ok(())
    }

    /// Gives link `name` new impairments now, in direction `dir` (a->b from its first end), or in
    /// both when `dir` is `None`.
    pub fn set_impairments(&mut self, name: &str, dir: Option<Dir>, imp: Impairments) -> Result<(), String> {
        let l = self.link_id(name)?;
        self.apply_now(l, FaultAction::Set { dir, params: Box::new([imp.clone(), imp]) });
        Ok(())
    }

    /// The links joining nodes `a` and `b` directly.
    fn links_between(&self, a: &str, b: &str) -> Result<Vec<LinkId>, String> {
        let (na, nb) = (self.node(a), self.node(b));
        let (Some(na), Some(nb)) = (na, nb) else {
            return Err(format!("no node named {:?}", if na.is_none() { a } else { b }));
        };
        let net = self.core.net.borrow();
        let joins = |l: &crate::net::link::Link| {
            let ends = [l.ends[0].0, l.ends[1].0];
            ends == [na, nb] || ends == [nb, na]
        };
        let links: Vec<LinkId> = net.fab.links.iter().enumerate().filter(|(_, l)| joins(l)).map(|(i, _)| i).collect();
        if links.is_empty() {
            return Err(format!("no link joins {a} and {b}"));
        }
        Ok(links)
    }

    /// Cuts nodes `a` and `b` apart now: every link that joins them directly goes down.
    pub fn partition(&mut self, a: &str, b: &str) -> Result<(), String> {
        for l in self.links_between(a, b)? {
            self.apply_now(l, FaultAction::Down);
        }
        Ok(())
    }

    /// Undoes [`World::partition`]: every link that joins `a` and `b` directly comes back up.
    pub fn heal(&mut self, a: &str, b: &str) -> Result<(), String> {
        for l in self.links_between(a, b)? {
            self.apply_now(l, FaultAction::Up);
        }
        Ok(())
    }

    /// Puts the raw Ethernet frame `frame` on link `link` from its end `side` (0: a, 1: b) now, as a
    /// device outside the process would (mark that end [`WorldBuilder::external`] so that what
    /// arrives there is dropped instead of reaching its node): it crosses the link with the link's
    /// impairments and arrives at the other end like any frame. For tests and fuzzing of what a node
    /// does with arbitrary frames.
    #[cfg(feature = "live")]
    pub fn inject_frame(&mut self, link: &str, side: usize, frame: &[u8]) -> Result<(), String> {
        let id = self.link(link).ok_or_else(|| format!("no link \"{link}\""))?;
        if side > 1 {
            return Err(format!("a link has ends 0 and 1, not {side}"));
        }
        self.network().inject(id, side, frame);
        Ok(())
    }

    /// The network, for the live bridges.
    #[cfg(feature = "live")]
    pub(crate) fn network(&self) -> std::cell::RefMut<'_, Network> {
        self.core.net.borrow_mut()
    }
}

#[cfg(test)]
mod driver_tests;
