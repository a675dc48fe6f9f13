//! The event loop with a live-style clock (`World::drive` with a `Clock` that does not stop when
//! idle) and a fake time: no OS time, no devices. It must
//! run the same protocol code to the same results as the simulated loop, stop when the applications
//! are done (after its short linger), at the time limit, or when interrupted.

use super::driver::Clock;
use super::{JoinHandle, RunLimits, StopReason, World, WorldBuilder};
use crate::net::fabric::Frame;
use crate::net::network::Network;
use crate::net::{Impairments, LinkId};
use crate::sim::{Duration, Instant};
use crate::tcp::TcpConfig;
use std::net::SocketAddrV4;

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

/// A client on `h1` sends three lines to an echo server on `h2`, one a second, and returns the
/// replies with the time it finished.
fn echo_world() -> (World, JoinHandle<(Vec<u8>, Instant)>) {
    let mut b = WorldBuilder::new(1);
    let (h1, h2) = (b.host("h1", TcpConfig::default()), b.host("h2", TcpConfig::default()));
    b.link_auto("l1", h1, h2, Impairments { delay: Duration::from_millis(10), ..Impairments::default() });
    let mut w = b.build().expect("a valid topology");
    let to = SocketAddrV4::new(w.host_addr("h2").expect("address"), 7);
    w.spawn_app("server", "echo", w.node("h2").expect("h2"), true, Instant::ZERO, |h| async move {
        let l = h.listen(7, 4, None).map_err(|e| e.to_string())?;
        let s = l.accept().await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 100];
        loop {
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return s.close().map_err(|e| e.to_string());
            }
            s.write_all(&buf[..n]).await.map_err(|e| e.to_string())?;
        }
    });
    let client = w.spawn("h1", move |h| async move {
        let s = h.connect(to, None).await.expect("connected");
        let mut replies = Vec::new();
        for line in [&b"one\n"[..], b"two\n", b"three\n"] {
            s.write_all(line).await.expect("write");
            let mut buf = [0u8; 100];
            let n = s.read(&mut buf).await.expect("reply");
            replies.extend_from_slice(&buf[..n]);
            h.sleep(Duration::from_secs(1)).await;
        }
        s.finish().await.expect("orderly close");
        (replies, h.now())
    });
    (w, client)
}

fn limits(stop: Duration) -> RunLimits {
    RunLimits { stop_at: Instant::ZERO + stop, max_events: u64::MAX, stop_when_apps_done: false }
}

#[test]
fn same_results_as_the_simulated_loop() {
    let (mut sim, sim_client) = echo_world();
    sim.run_with(RunLimits { stop_when_apps_done: true, ..limits(Duration::from_secs(60)) });
    let (mut live, live_client) = echo_world();
    let mut io = FakeIo { now: Instant::ZERO, waits: 0, interrupt_at: None };
    let out = live.drive(RunLimits { stop_when_apps_done: true, ..limits(Duration::from_secs(60)) }, &mut io);
    assert_eq!(out.reason, StopReason::AppsFinished);
    let (a, b) = (sim_client.take().expect("sim client done"), live_client.take().expect("live client done"));
    assert_eq!(a, b, "the same replies at the same time");
    assert_eq!(a.0, b"one\ntwo\nthree\n");
    // It lingered 2 s after the client finished, and slept in between rather than spinning.
    assert_eq!(out.sim_time, b.1 + Duration::from_secs(2));
    assert!(io.waits < 100, "{} waits", io.waits);
}

#[test]
fn stops_at_the_time_limit_or_when_interrupted() {
    let (mut w, _) = echo_world();
    let mut io = FakeIo { now: Instant::ZERO, waits: 0, interrupt_at: None };
    let out = w.drive(limits(Duration::from_millis(1500)), &mut io);
    assert_eq!(out.reason, StopReason::TimeLimit);
    assert_eq!(out.sim_time, Instant::ZERO + Duration::from_millis(1500));

    let (mut w, _) = echo_world();
    let mut io = FakeIo { now: Instant::ZERO, waits: 0, interrupt_at: Some(Instant::ZERO + Duration::from_secs(1)) };
    let out = w.drive(limits(Duration::from_secs(60)), &mut io);
    assert_eq!(out.reason, StopReason::Interrupted);
    assert!(out.sim_time <= Instant::ZERO + Duration::from_secs(1));
}
