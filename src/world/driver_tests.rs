//! The event loop with a live-style clock (`World::drive` with a `Clock` that does not stop when
//! idle) and a fake time: no OS time, no devices. It must
//! run the same protocol code to the same results as the simulated loop, stop when the applications
//! are done (after its short linger), at the time limit, or when interrupted.

use super::driver::Clock;
use super::{AppReport, RunLimits, StopReason};
use crate::net::LinkId;
use crate::net::fabric::Frame;
use crate::net::network::Network;
use crate::scenario::{BuildOptions, Scenario};
use crate::sim::{Duration, Instant};
use std::path::Path;

/// A clock that jumps to each deadline at once; `interrupt_at` plays Ctrl-C.
struct FakeIo {
    now: Instant,
    waits: u64,
    interrupt_at: Option<Instant>,
}

impl Clock for FakeIo {
    fn now(&mut self, _next: Option<Instant>) -> Instant {
        self.now
    }
    fn stops_when_idle(&self) -> bool {
        false
    }
    fn linger(&self) -> Duration {
        Duration::from_secs(2)
    }
    fn progress(&mut self, _now: Instant) {}
    fn wait(&mut self, deadline: Instant) {
        self.waits += 1;
        // Like the real one: never more than 250 ms at once.
        self.now = deadline.min(self.now + Duration::from_millis(250)).max(self.now);
    }
    fn deliver(&mut self, _net: &mut Network) -> usize {
        0
    }
    fn output(&mut self, net: &mut Network, _link: LinkId, _side: usize, frame: Frame) {
        net.fab.recycle(frame);
    }
    fn interrupted(&mut self) -> bool {
        self.interrupt_at.is_some_and(|t| self.now >= t)
    }
}

fn echo() -> Scenario {
    Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/echo.toml")).expect("echo.toml")
}

#[test]
fn same_results_as_the_simulated_loop() {
    let sc = echo();
    let opts = BuildOptions::default();
    let mut sim = sc.build(&opts, None).expect("build");
    let limits = crate::run::limits(&sc, None);
    sim.run_with(limits);
    let mut live = sc.build(&opts, None).expect("build");
    let mut io = FakeIo { now: Instant::ZERO, waits: 0, interrupt_at: None };
    let limits = RunLimits { stop_when_apps_done: true, ..limits };
    let out = live.drive(limits, &mut io);
    assert_eq!(out.reason, StopReason::AppsFinished);
    let (a, b) = (sim.apps(), live.apps());
    let client = |apps: &[AppReport]| {
        let c = apps.iter().find(|x| x.name == "client").expect("client").clone();
        (c.output, c.metrics, c.finished_at)
    };
    assert_eq!(client(&a), client(&b));
    // It lingered 2 s after the client finished, and slept in between rather than spinning.
    let done = client(&b).2.expect("finished");
    assert_eq!(out.sim_time, done + Duration::from_secs(2));
    assert!(io.waits < 100, "{} waits", io.waits);
}

#[test]
fn stops_at_the_time_limit_or_when_interrupted() {
    let sc = echo();
    let opts = BuildOptions::default();
    let mut w = sc.build(&opts, None).expect("build");
    let mut io = FakeIo { now: Instant::ZERO, waits: 0, interrupt_at: None };
    let limits = crate::run::limits(&sc, Some(Duration::from_millis(1500)));
    let out = w.drive(limits, &mut io);
    assert_eq!(out.reason, StopReason::TimeLimit);
    assert_eq!(out.sim_time, Instant::ZERO + Duration::from_millis(1500));

    let mut w = sc.build(&opts, None).expect("build");
    let mut io = FakeIo { now: Instant::ZERO, waits: 0, interrupt_at: Some(Instant::ZERO + Duration::from_secs(1)) };
    let out = w.drive(crate::run::limits(&sc, None), &mut io);
    assert_eq!(out.reason, StopReason::Interrupted);
    assert!(out.sim_time <= Instant::ZERO + Duration::from_secs(1));
}
