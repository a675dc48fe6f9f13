//! Two `Box<dyn Stack>`s joined by an in-memory wire with delay, seeded loss, reordering and
//! duplication, driven by a small event loop on simulated `Instant`s: netlab <-> netlab through the
//! trait, netlab <-> smoltcp, netlab <-> an external process (the reference adapter), in both
//! roles. Each side sends a random-size payload, shuts down its write side, reads to the end and
//! closes; every byte is checked. Same seed, same datagrams: a run is fingerprinted by the hash of
//! every datagram with its time. (Failing and lying children: tests/stack_external.rs.)
//!
//! Measurements (release build): `cargo test --release --test stack_pair -- --ignored --nocapture measure`.

use netlab::sim::{Duration, Instant, SimRng};
#[cfg(feature = "smoltcp")]
use netlab::stack::SmoltcpStack;
use netlab::stack::{ExternalConfig, ExternalStack, NetlabStack, Sockets, Stack};
use netlab::tcp::{SocketId, TcpConfig};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Wake, Waker};

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PORT: u16 = 80;
const ADAPTER: &str = env!("CARGO_BIN_EXE_netlab-stack-adapter");

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Netlab,
    #[cfg(feature = "smoltcp")]
    Smoltcp,
    External,
}

fn make(kind: Kind, host: &str, key: u64) -> Box<dyn Stack> {
    let cfg = TcpConfig::default();
    match kind {
        Kind::Netlab => Box::new(NetlabStack::new(key, cfg)),
        #[cfg(feature = "smoltcp")]
        Kind::Smoltcp => Box::new(SmoltcpStack::new(key, cfg)),
        Kind::External => {
            let c = ExternalConfig::new(vec![ADAPTER.to_string()], host, key, cfg);
            Box::new(ExternalStack::spawn(c).expect("the adapter starts"))
        }
    }
}

/// The lossy wire: datagrams in flight keyed by (arrival, order sent).
struct Wire {
    in_flight: BTreeMap<(Instant, u64), (usize, Vec<u8>)>,
    counter: u64,
    rng: SimRng,
    loss: f64,
    dup: f64,
    reorder: f64,
    delay: Duration,
    fingerprint: Sha256,
    datagrams: u64,
}

impl Wire {
    fn new(seed: u64, loss: f64) -> Self {
        Wire {
            in_flight: BTreeMap::new(),
            counter: 0,
            rng: SimRng::for_component(seed, "stack_pair:wire"),
            loss,
            dup: loss / 2.0,
            reorder: loss,
            delay: Duration::from_millis(5),
            fingerprint: Sha256::new(),
            datagrams: 0,
        }
    }

    /// A datagram sent at `now` towards side `to`.
    fn push(&mut self, now: Instant, to: usize, d: &[u8]) {
        self.datagrams += 1;
        self.fingerprint.update(now.as_nanos().to_be_bytes());
        self.fingerprint.update([to as u8]);
        self.fingerprint.update((d.len() as u32).to_be_bytes());
        self.fingerprint.update(d);
        if self.rng.chance(self.loss) {
            return;
        }
        let copies = if self.rng.chance(self.dup) { 2 } else { 1 };
        for _ in 0..copies {
            let mut delay = self.delay + Duration::from_micros(self.rng.below(500));
            if self.rng.chance(self.reorder) {
                delay += Duration::from_micros(self.rng.below(10_000));
            }
            self.counter += 1;
            self.in_flight.insert((now + delay, self.counter), (to, d.to_vec()));
        }
    }
}

/// One side's application.
struct App {
    listener: Option<SocketId>,
    sock: Option<SocketId>,
    data: Vec<u8>,
    sent: usize,
    /// Send with `send_with` and a stateful generator (else `send` from a slice).
    generator: bool,
    wrote_fin: bool,
    received: Vec<u8>,
    eof: bool,
    closed: bool,
    /// (time, bytes) of every write the stack took: when the application ran.
    writes: Vec<(Instant, usize)>,
    /// Waker-driven: act only when the stack woke us (else: poll every round).
    woken: Option<Arc<Flag>>,
}

/// A waker that raises a flag.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl App {
    fn new(data: Vec<u8>, generator: bool) -> Self {
        App {
            listener: None,
            sock: None,
            data,
            sent: 0,
            generator,
            wrote_fin: false,
            received: Vec::new(),
            eof: false,
            closed: false,
            writes: Vec::new(),
            woken: None,
        }
    }

    /// Makes the application act only when woken (it starts woken).
    fn waker_driven(mut self) -> Self {
        self.woken = Some(Arc::new(Flag(AtomicBool::new(true))));
        self
    }

    fn send_copy(&mut self, s: &mut dyn Stack, now: Instant, id: SocketId) -> usize {
        let end = (self.sent + 20_000).min(self.data.len());
        s.send(now, id, &self.data[self.sent..end]).expect("send")
    }

    /// `send_with` with a generator that cannot take bytes back: it must be asked for exactly the
    /// bytes the stack takes.
    fn send_generated(&mut self, s: &mut dyn Stack, now: Instant, id: SocketId) -> usize {
        let mut cursor = self.sent;
        let data = &self.data;
        let n = s
            .send_with(now, id, data.len() - self.sent, &mut |_, dst| {
                dst.copy_from_slice(&data[cursor..cursor + dst.len()]);
                cursor += dst.len();
            })
            .expect("send_with");
        assert_eq!(cursor, self.sent + n, "fill produced {} bytes, the stack took {n}", cursor - self.sent);
        n
    }

    /// Does whatever can be done now; panics on an unexpected socket error.
    fn step(&mut self, s: &mut dyn Stack, now: Instant) {
        if let Some(flag) = self.woken.clone() {
            if !flag.0.swap(false, Ordering::SeqCst) {
                return;
            }
            self.act(s, now);
            // Wait for the stack to wake us, on the socket or (before accept) the listener.
            if let Some(id) = self.sock.filter(|_| !self.closed).or(self.listener.filter(|_| self.sock.is_none())) {
                s.register_waker(id, &Waker::from(flag));
            }
        } else {
            self.act(s, now);
        }
    }

    fn act(&mut self, s: &mut dyn Stack, now: Instant) {
        if self.sock.is_none() {
            let l = self.listener.expect("a server has a listener");
            self.sock = s.accept(now, l).expect("accept");
        }
        let Some(id) = self.sock else { return };
        if self.closed || s.connect_result(id).expect("connect") != Some(()) {
            return;
        }
        while self.sent < self.data.len() {
            let n = if self.generator { self.send_generated(s, now, id) } else { self.send_copy(s, now, id) };
            if n == 0 {
                break;
            }
            self.sent += n;
            self.writes.push((now, n));
        }
        if self.sent == self.data.len() && !self.wrote_fin {
            s.shutdown_write(now, id).expect("shutdown_write");
            self.wrote_fin = true;
        }
        let mut buf = [0u8; 8192];
        while !self.eof {
            match s.recv(now, id, &mut buf).expect("recv") {
                None => break,
                Some(0) => self.eof = true,
                Some(n) => self.received.extend_from_slice(&buf[..n]),
            }
        }
        if self.eof && self.wrote_fin {
            s.close(now, id).expect("close");
            self.closed = true;
        }
    }
}

struct Outcome {
    fingerprint: String,
    end: Instant,
    /// The client's writes.
    writes: Vec<(Instant, usize)>,
}

fn payload(rng: &mut SimRng, max: u64) -> Vec<u8> {
    let n = rng.below(max) as usize;
    (0..n).map(|_| rng.below(256) as u8).collect()
}

/// A transfer both ways between a client of `ka` and a server of `kb`: returns the run's fingerprint
/// after checking every byte and that both sockets were freed.
fn transfer(ka: Kind, kb: Kind, seed: u64, loss: f64, max: u64) -> Outcome {
    transfer_with(ka, kb, seed, loss, (max, max / 2), false)
}

/// `transfer`, with the largest client and server payloads given, and applications that act only
/// when woken if `waker_driven`.
fn transfer_with(ka: Kind, kb: Kind, seed: u64, loss: f64, max: (u64, u64), waker_driven: bool) -> Outcome {
    let mut rng = SimRng::for_component(seed, "stack_pair:apps");
    let mut stacks = [make(ka, "a", seed.wrapping_mul(2) + 1), make(kb, "b", seed.wrapping_mul(2) + 2)];
    stacks[0].configure(&[(A_IP, 24)], 1500).expect("configure a");
    stacks[1].configure(&[(B_IP, 24)], 1500).expect("configure b");
    let mut apps = [App::new(payload(&mut rng, max.0), true), App::new(payload(&mut rng, max.1), false)];
    if waker_driven {
        apps = apps.map(App::waker_driven);
    }
    let t0 = Instant::ZERO;
    apps[1].listener = Some(stacks[1].listen(t0, SocketAddrV4::new(B_IP, PORT), 8, None).expect("listen"));
    let remote = SocketAddrV4::new(B_IP, PORT);
    apps[0].sock = Some(stacks[0].connect(t0, SocketAddrV4::new(A_IP, 0), remote, None).expect("connect"));
    let mut wire = Wire::new(seed, loss);
    let [a, b] = &mut stacks;
    let end = run(&mut [a.as_mut(), b.as_mut()], &mut apps, &mut wire, t0);
    let what = format!("{ka:?} client <-> {kb:?} server, seed {seed}");
    for (i, app) in apps.iter().enumerate() {
        assert!(app.closed, "{what}: side {i} did not finish");
        let peer = &apps[1 - i];
        assert!(
            app.received == peer.data,
            "{what}: side {i} received {} of {} bytes, or wrong ones",
            app.received.len(),
            peer.data.len()
        );
        assert_eq!(stacks[i].state(app.sock.unwrap()), None, "{what}: side {i}'s socket not freed");
    }
    for s in &stacks {
        assert!(s.failure().is_none(), "{what}: {:?}", s.failure());
    }
    let fingerprint = wire.fingerprint.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Outcome { fingerprint, end, writes: std::mem::take(&mut apps[0].writes) }
}

/// The event loop: datagram arrivals, timers, applications, transmission; until nothing is left
/// to do. Returns the time of the last event.
fn run(stacks: &mut [&mut dyn Stack; 2], apps: &mut [App; 2], wire: &mut Wire, mut now: Instant) -> Instant {
    let limit = Instant::ZERO + Duration::from_secs(900);
    loop {
        for (i, s) in stacks.iter_mut().enumerate() {
            apps[i].step(&mut **s, now);
            s.poll_transmit(now, &mut |d| wire.push(now, 1 - i, d));
        }
        let timers = stacks.iter().filter_map(|s| s.poll_timeout());
        let Some(next) = wire.in_flight.keys().next().map(|k| k.0).into_iter().chain(timers).min() else {
            return now;
        };
        now = now.max(next);
        assert!(now < limit, "the run did not settle within 900 s");
        while let Some(entry) = wire.in_flight.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (to, d) = entry.remove();
            stacks[to].receive(now, &d);
        }
        for s in stacks.iter_mut() {
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
        }
    }
}

#[test]
fn netlab_to_netlab_through_the_trait() {
    for seed in 0..6 {
        transfer(Kind::Netlab, Kind::Netlab, seed, 0.02, 300_000);
    }
}

#[cfg(feature = "smoltcp")]
#[test]
fn netlab_and_smoltcp_both_roles_under_loss_reordering_duplication() {
    for seed in 0..6 {
        transfer(Kind::Netlab, Kind::Smoltcp, seed, 0.02, 300_000);
        transfer(Kind::Smoltcp, Kind::Netlab, seed, 0.02, 300_000);
    }
}

#[cfg(feature = "smoltcp")]
#[test]
fn smoltcp_to_smoltcp() {
    for seed in 0..3 {
        transfer(Kind::Smoltcp, Kind::Smoltcp, seed, 0.02, 200_000);
    }
}

#[test]
fn netlab_and_the_external_adapter_both_roles() {
    for seed in 0..3 {
        transfer(Kind::Netlab, Kind::External, seed, 0.02, 200_000);
        transfer(Kind::External, Kind::Netlab, seed, 0.02, 200_000);
    }
}

#[cfg(feature = "smoltcp")]
#[test]
fn same_seed_same_datagrams_on_every_pairing() {
    for (ka, kb) in [(Kind::Netlab, Kind::Smoltcp), (Kind::Smoltcp, Kind::Netlab), (Kind::Netlab, Kind::External)] {
        let one = transfer(ka, kb, 11, 0.03, 100_000);
        let two = transfer(ka, kb, 11, 0.03, 100_000);
        assert_eq!(one.fingerprint, two.fingerprint, "{ka:?} <-> {kb:?}");
        let other = transfer(ka, kb, 12, 0.03, 100_000);
        assert_ne!(one.fingerprint, other.fingerprint, "the fingerprint does depend on the run");
    }
}

#[test]
fn the_reference_adapter_replays_the_in_process_run_exactly() {
    for seed in [3, 4] {
        let in_process = transfer(Kind::Netlab, Kind::Netlab, seed, 0.02, 200_000);
        let external = transfer(Kind::External, Kind::External, seed, 0.02, 200_000);
        assert_eq!(in_process.fingerprint, external.fingerprint, "seed {seed}");
        assert_eq!(in_process.end, external.end);
    }
}

/// Hands every datagram either side has to send to the other, at `now`, until both are quiet.
fn shuttle(a: &mut dyn Stack, b: &mut dyn Stack, now: Instant) {
    while pass(a, b, now) | pass(b, a, now) {}
}

/// Delivers what `from` has to send to `to`; true if there was anything.
fn pass(from: &mut dyn Stack, to: &mut dyn Stack, now: Instant) -> bool {
    let mut out = Vec::new();
    from.poll_transmit(now, &mut |d| out.push(d.to_vec()));
    for d in &out {
        to.receive(now, d);
    }
    !out.is_empty()
}

#[test]
fn a_recv_or_accept_that_would_block_costs_no_step_with_the_reference_adapter() {
    let t0 = Instant::ZERO;
    let mut a = NetlabStack::new(1, TcpConfig::default());
    a.configure(&[(A_IP, 24)], 1500).unwrap();
    let cfg = ExternalConfig::new(vec![ADAPTER.to_string()], "b", 2, TcpConfig::default());
    let mut b = ExternalStack::spawn(cfg).expect("the adapter starts");
    b.configure(&[(B_IP, 24)], 1500).unwrap();
    let listener = b.listen(t0, SocketAddrV4::new(B_IP, PORT), 8, None).unwrap();
    let steps = b.steps();
    assert_eq!(b.accept(t0, listener), Ok(None), "nobody connected yet");
    assert_eq!(b.steps(), steps, "answered from the last EVENT (READY bit 3), without a step");

    let sa = a.connect(t0, SocketAddrV4::new(A_IP, 0), SocketAddrV4::new(B_IP, PORT), None).unwrap();
    shuttle(&mut a, &mut b, t0);
    let conn = b.accept(t0, listener).unwrap().expect("the handshake completed");
    assert!(b.steps() > steps, "an accept that returns a connection is a step");
    let steps = b.steps();
    let mut buf = [0u8; 64];
    assert_eq!(b.recv(t0, conn, &mut buf), Ok(None));
    assert_eq!(b.steps(), steps, "nothing to read: no step");

    assert_eq!(a.send(t0, sa, b"hello"), Ok(5));
    shuttle(&mut a, &mut b, t0);
    let steps = b.steps();
    assert_eq!(b.recv(t0, conn, &mut buf), Ok(Some(5)));
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(b.steps(), steps + 1, "data to read: one step");
    assert_eq!(b.recv(t0, conn, &mut buf), Ok(None), "drained");
    assert_eq!(b.steps(), steps + 1, "drained: the EVENT said so, no step");
}

#[test]
fn waker_driven_applications_finish_on_every_stack_and_replay_exactly_through_the_adapter() {
    // One way, more than the send buffer holds: the writer blocks and waits for space (and is not
    // woken by data coming the other way).
    let one_way = (3_000_000, 1);
    for seed in [5, 6] {
        let in_process = transfer_with(Kind::Netlab, Kind::Netlab, seed, 0.02, one_way, true);
        let external = transfer_with(Kind::External, Kind::External, seed, 0.02, one_way, true);
        assert_eq!(in_process.fingerprint, external.fingerprint, "seed {seed}: datagrams differ");
        assert_eq!(in_process.writes, external.writes, "seed {seed}: the writer was woken at other times");
        #[cfg(feature = "smoltcp")]
        {
            transfer_with(Kind::Netlab, Kind::Smoltcp, seed, 0.02, one_way, true);
            transfer_with(Kind::Smoltcp, Kind::Netlab, seed, 0.02, one_way, true);
        }
    }
}

// ---------------------------------------------------------------- measurements

#[cfg(feature = "smoltcp")]
mod measure {
    use super::*;

    /// A lossless bulk transfer of `bytes` from client `a` to server `b` (both configured): (wall
    /// seconds, netlab process CPU seconds).
    fn bulk(a: &mut dyn Stack, b: &mut dyn Stack, bytes: usize) -> (f64, f64) {
        let data: Vec<u8> = (0..bytes).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut apps = [App::new(data, true), App::new(Vec::new(), false)];
        let t0 = Instant::ZERO;
        apps[1].listener = Some(b.listen(t0, SocketAddrV4::new(B_IP, PORT), 8, None).unwrap());
        apps[0].sock = Some(a.connect(t0, SocketAddrV4::new(A_IP, 0), SocketAddrV4::new(B_IP, PORT), None).unwrap());
        let mut wire = Wire::new(1, 0.0);
        let (cpu0, wall) = (cpu_seconds(), std::time::Instant::now());
        run(&mut [a, b], &mut apps, &mut wire, t0);
        let (secs, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
        assert!(apps[1].received == apps[0].data, "bulk transfer corrupted");
        (secs, cpu)
    }

    /// A configured pair of stacks.
    fn pair(ka: Kind, kb: Kind) -> [Box<dyn Stack>; 2] {
        let mut s = [make(ka, "a", 1), make(kb, "b", 2)];
        s[0].configure(&[(A_IP, 24)], 1500).unwrap();
        s[1].configure(&[(B_IP, 24)], 1500).unwrap();
        s
    }

    fn bulk_pair(ka: Kind, kb: Kind, bytes: usize) -> (f64, f64) {
        let [mut a, mut b] = pair(ka, kb);
        bulk(a.as_mut(), b.as_mut(), bytes)
    }

    /// CPU time of this process (all its threads, not its children).
    fn cpu_seconds() -> f64 {
        let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes a rusage into the buffer we own.
        unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) };
        // SAFETY: zero-initialised, then filled by getrusage.
        let u = unsafe { u.assume_init() };
        let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
        t(u.ru_utime) + t(u.ru_stime)
    }

    #[test]
    #[ignore = "measurement: run with --release -- --ignored --nocapture"]
    fn measure_throughput_and_step_cost() {
        let mb = 100;
        let (nn, _) = bulk_pair(Kind::Netlab, Kind::Netlab, mb << 20);
        println!("netlab -> netlab: {mb} MiB in {nn:.2} s ({:.0} MiB/s)", mb as f64 / nn);
        let (ns, _) = bulk_pair(Kind::Netlab, Kind::Smoltcp, mb << 20);
        println!(
            "netlab -> smoltcp: {mb} MiB in {ns:.2} s ({:.0} MiB/s, {:.2}x netlab's time)",
            mb as f64 / ns,
            ns / nn
        );
        let (sn, _) = bulk_pair(Kind::Smoltcp, Kind::Netlab, mb << 20);
        println!(
            "smoltcp -> netlab: {mb} MiB in {sn:.2} s ({:.0} MiB/s, {:.2}x netlab's time)",
            mb as f64 / sn,
            sn / nn
        );
        // The external protocol: the same transfer with the receiver behind the adapter, against the
        // same transfer in-process; the difference per step is the protocol's cost.
        let small = 20 << 20;
        let (base, base_cpu) = bulk_pair(Kind::Netlab, Kind::Netlab, small);
        let [mut a, _] = pair(Kind::Netlab, Kind::Netlab);
        let cfg = ExternalConfig::new(vec![ADAPTER.to_string()], "b", 2, TcpConfig::default());
        let mut ext = ExternalStack::spawn(cfg).unwrap();
        ext.configure(&[(B_IP, 24)], 1500).unwrap();
        let (wall, cpu) = bulk(a.as_mut(), &mut ext, small);
        let steps = ext.steps() as f64;
        // The bare round trip: idle TIMEOUT steps (nothing to do on either side).
        let n = 100_000;
        let (cpu0, wall0) = (cpu_seconds(), std::time::Instant::now());
        for i in 0..n {
            ext.handle_timeout(Instant::from_nanos(3_000_000_000 + i));
        }
        let (idle_wall, idle_cpu) = (wall0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
        println!(
            "idle step round trip: wall {:.1} us/step, netlab-process CPU {:.1} us/step",
            idle_wall * 1e6 / n as f64,
            idle_cpu * 1e6 / n as f64
        );
        println!(
            "external receiver, 20 MiB: {steps} steps, {:.2} s vs {base:.2} s in-process; per step: wall {:.1} us \
             (netlab + pipe + adapter), netlab-process CPU {:.1} us",
            wall,
            (wall - base) * 1e6 / steps,
            (cpu - base_cpu) * 1e6 / steps
        );
    }
}
