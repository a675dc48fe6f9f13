//! Two `TcpStack`s joined by an in-memory wire with delay, seeded loss, reordering and duplication,
//! driven by a small event loop on simulated `Instant`s. Property: a random-size transfer arrives
//! exactly once and in order, both ends reach CLOSED (after TIME_WAIT) and no socket is left.
//!
//! `TCP_PAIR_SEEDS=n` changes the number of seeds per configuration (default 200 in total).

use netlab::sim::{Duration, Instant, SimRng};
use netlab::tcp::{
    CongestionAlgorithm, RetransmitReason, SocketId, TcpConfig, TcpEvent, TcpEventKind, TcpStack, TcpState,
};
use netlab::wire::{TcpFlags, TcpOptions, TcpRepr};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone, Debug)]
struct OwnedSeg {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
    options: TcpOptions,
    payload: Vec<u8>,
}

impl OwnedSeg {
    fn new(src: Ipv4Addr, dst: Ipv4Addr, r: &TcpRepr<'_>) -> Self {
        OwnedSeg {
            src,
            dst,
            src_port: r.src_port,
            dst_port: r.dst_port,
            seq: r.seq,
            ack: r.ack,
            flags: r.flags,
            window: r.window,
            options: r.options,
            payload: r.payload.to_vec(),
        }
    }
    fn repr(&self) -> TcpRepr<'_> {
        TcpRepr {
            src_port: self.src_port,
            dst_port: self.dst_port,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            urgent: 0,
            options: self.options,
            payload: &self.payload,
        }
    }
}

struct Wire {
    in_flight: BTreeMap<(Instant, u64), OwnedSeg>,
    counter: u64,
    rng: SimRng,
    loss: f64,
    dup: f64,
    reorder: f64,
    delay: Duration,
    sent: u64,
    lost: u64,
    jitter_us: u64,
}

impl Wire {
    fn push(&mut self, now: Instant, seg: OwnedSeg) {
        self.sent += 1;
        if self.rng.chance(self.loss) {
            self.lost += 1;
            return;
        }
        let copies = if self.rng.chance(self.dup) { 2 } else { 1 };
        for _ in 0..copies {
            let mut d = self.delay;
            if self.jitter_us > 0 {
                d += Duration::from_micros(self.rng.below(self.jitter_us));
            }
            if self.rng.chance(self.reorder) {
                d += Duration::from_micros(self.rng.below(10_000));
            }
            self.counter += 1;
            self.in_flight.insert((now + d, self.counter), seg.clone());
        }
    }
    fn next_time(&self) -> Option<Instant> {
        self.in_flight.keys().next().map(|k| k.0)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Outcome {
    /// (sent, received) hashes for client->server and server->client.
    hashes: [(String, String); 2],
    sizes: [usize; 2],
    client_iss: u32,
    end: Instant,
    stats: BTreeMap<String, u64>,
}

thread_local! {
    /// The client's ISN key, if set (sequence wrap test).
    static CLIENT_KEY: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
    /// A different configuration for the server side, if set (negotiation tests).
    static SERVER_CFG: std::cell::RefCell<Option<TcpConfig>> = const { std::cell::RefCell::new(None) };
}

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// One side's application: sends its payload, shuts down its write side when done (or, with
/// nothing to send, once it has seen the peer's end of stream), reads to EOF, then closes.
struct App {
    sock: Option<SocketId>,
    data: Vec<u8>,
    sent: usize,
    wrote_fin: bool,
    received: Vec<u8>,
    eof: bool,
    closed: bool,
    /// Read at most this many bytes per period (a slow reader closes the window).
    slow_read: Option<(usize, Duration)>,
    next_read: Instant,
}

impl App {
    fn new(data: Vec<u8>) -> Self {
        App {
            sock: None,
            data,
            sent: 0,
            wrote_fin: false,
            received: Vec::new(),
            eof: false,
            closed: false,
            slow_read: None,
            next_read: Instant::ZERO,
        }
    }
    fn step(&mut self, st: &mut TcpStack, now: Instant, buf: &mut [u8]) -> Result<(), String> {
        let Some(s) = self.sock else { return Ok(()) };
        if self.closed {
            return Ok(());
        }
        match st.connect_result(s) {
            Ok(None) => return Ok(()),
            Err(e) => return Err(format!("socket failed: {e}")),
            Ok(Some(())) => {}
        }
        while self.sent < self.data.len() {
            let n = st.send(now, s, &self.data[self.sent..]).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            self.sent += n;
        }
        let mut budget = usize::MAX;
        if let Some((chunk, period)) = self.slow_read {
            if now < self.next_read {
                budget = 0;
            } else {
                budget = chunk;
                self.next_read = now + period;
            }
        }
        while !self.eof && budget > 0 {
            let n = budget.min(buf.len());
            match st.recv(now, s, &mut buf[..n]).map_err(|e| format!("recv: {e}"))? {
                Some(0) => self.eof = true,
                Some(n) => {
                    self.received.extend_from_slice(&buf[..n]);
                    budget -= n;
                }
                None => break,
            }
        }
        if self.sent == self.data.len() && !self.wrote_fin && (!self.data.is_empty() || self.eof) {
            st.shutdown_write(now, s).map_err(|e| e.to_string())?;
            self.wrote_fin = true;
        }
        if self.wrote_fin && self.eof {
            st.close(now, s).map_err(|e| e.to_string())?;
            self.closed = true;
        }
        Ok(())
    }
}

fn payload(rng: &mut SimRng, max: u64) -> Vec<u8> {
    let size = rng.below(max + 1) as usize;
    // xorshift64* bytes from a seeded start: ChaCha in a debug build would dominate the run time.
    let mut x = rng.next_u64() | 1;
    (0..size)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

fn run(seed: u64, cfg: &TcpConfig, bidirectional: bool, max_loss: f64) -> Result<Outcome, String> {
    let mut rng = SimRng::for_component(seed, "test:params");
    let up = payload(&mut rng, 200_000);
    let down = if bidirectional { payload(&mut rng, 200_000) } else { Vec::new() };
    let loss = rng.unit() * max_loss;
    let mut wire = Wire {
        in_flight: BTreeMap::new(),
        counter: 0,
        rng: SimRng::for_component(seed, "test:wire"),
        loss,
        dup: if max_loss > 0.0 { 0.02 } else { 0.0 },
        reorder: if max_loss > 0.0 { 0.05 } else { 0.0 },
        delay: Duration::from_millis(1 + rng.below(20)),
        sent: 0,
        lost: 0,
        jitter_us: if max_loss > 0.0 { 200 } else { 0 },
    };
    let key_a = rng.next_u64();
    let key_a = CLIENT_KEY.with(|k| k.get()).unwrap_or(key_a);
    let mut a = TcpStack::new(key_a, cfg.clone());
    let cfg_b = SERVER_CFG.with(|c| c.borrow().clone()).unwrap_or_else(|| cfg.clone());
    let mut b = TcpStack::new(rng.next_u64(), cfg_b);
    let server_addr = SocketAddrV4::new(B_IP, 80);
    let mut now = Instant::ZERO;
    let mut listener = Some(b.listen(now, server_addr, 8, None).map_err(|e| e.to_string())?);
    let mut client = App::new(up.clone());
    let mut server = App::new(down.clone());
    if cfg.recv_buffer < 16 * 1024 {
        // Slow readers: 4 KiB every 50 ms, so that windows close.
        client.slow_read = Some((4096, Duration::from_millis(50)));
        server.slow_read = Some((4096, Duration::from_millis(50)));
    }
    client.sock = Some(a.connect(now, SocketAddrV4::new(A_IP, 0), server_addr, None).map_err(|e| e.to_string())?);
    let mut buf = vec![0u8; 16 * 1024];
    let mut stats: BTreeMap<String, u64> = BTreeMap::new();
    let limit = Instant::ZERO + Duration::from_secs(3600);
    let mut client_iss = 0;
    let trace = std::env::var("TCP_PAIR_TRACE").is_ok();
    loop {
        // Application steps.
        client.step(&mut a, now, &mut buf)?;
        if let Some(l) = listener
            && let Some(s) = b.accept(now, l).map_err(|e| e.to_string())?
        {
            server.sock = Some(s);
            b.close(now, l).map_err(|e| e.to_string())?;
            listener = None;
        }
        server.step(&mut b, now, &mut buf)?;
        // Output.
        a.poll_transmit(now, &mut |s, d, r| {
            if r.flags == TcpFlags::SYN {
                client_iss = r.seq;
            }
            wire.push(now, OwnedSeg::new(s, d, r))
        });
        b.poll_transmit(now, &mut |s, d, r| wire.push(now, OwnedSeg::new(s, d, r)));
        let mut count = |side: &str, e: TcpEvent| {
            if trace {
                eprintln!("{side} {e:?}");
            }
            match e.kind {
                TcpEventKind::Retransmit { reason, .. } => *stats.entry(format!("{reason:?}")).or_insert(0) += 1,
                TcpEventKind::RecoveryStart { .. } => *stats.entry("recovery".to_string()).or_insert(0) += 1,
                _ => {}
            }
        };
        a.drain_events(&mut |e| count("A", e));
        b.drain_events(&mut |e| count("B", e));
        if a.open_sockets() == 0 && b.open_sockets() == 0 && wire.in_flight.is_empty() {
            break;
        }
        // Next event.
        let app_time = |app: &App| {
            (app.slow_read.is_some() && !app.eof && app.sock.is_some() && !app.closed)
                .then_some(app.next_read)
                .filter(|t| *t > now)
        };
        let next = [wire.next_time(), a.poll_timeout(), b.poll_timeout(), app_time(&client), app_time(&server)]
            .into_iter()
            .flatten()
            .min();
        let state = |a: &TcpStack, b: &TcpStack, c: &App, s: &App| {
            format!(
                "client {:?} sent {}/{} got {} eof {}; server {:?} sent {}/{} got {} eof {}",
                c.sock.and_then(|x| a.state(x)),
                c.sent,
                c.data.len(),
                c.received.len(),
                c.eof,
                s.sock.and_then(|x| b.state(x)),
                s.sent,
                s.data.len(),
                s.received.len(),
                s.eof
            )
        };
        let Some(next) = next else {
            return Err(format!("stalled at {now:?}: {}", state(&a, &b, &client, &server)));
        };
        now = now.max(next);
        if now > limit {
            return Err(format!("time limit: {}", state(&a, &b, &client, &server)));
        }
        while let Some(entry) = wire.in_flight.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let seg = entry.remove();
            if seg.dst == B_IP {
                b.on_segment(now, seg.src, seg.dst, &seg.repr());
            } else {
                a.on_segment(now, seg.src, seg.dst, &seg.repr());
            }
        }
        if a.poll_timeout().is_some_and(|t| t <= now) {
            a.handle_timeout(now);
        }
        if b.poll_timeout().is_some_and(|t| t <= now) {
            b.handle_timeout(now);
        }
    }
    let _ = TcpState::Closed;
    for (name, sent, got) in [("up", &up, &client_received(&server)), ("down", &down, &client.received)] {
        if sent != got {
            let first = got.iter().zip(sent.iter()).position(|(x, y)| x != y);
            eprintln!(
                "seed {seed} {name}: received {} of {}, first difference at {first:?}, loss {loss:.3}",
                got.len(),
                sent.len()
            );
        }
    }
    Ok(Outcome {
        hashes: [
            (hex(&Sha256::digest(&up)), hex(&Sha256::digest(&server.received))),
            (hex(&Sha256::digest(&down)), hex(&Sha256::digest(&client.received))),
        ],
        sizes: [up.len(), down.len()],
        client_iss,
        end: now,
        stats,
    })
}

fn client_received(server: &App) -> Vec<u8> {
    server.received.clone()
}

#[test]
#[ignore]
fn trace_one() {
    let seed: u64 = std::env::var("SEED").unwrap().parse().unwrap();
    let cfg = if std::env::var("PLAIN").is_ok() {
        TcpConfig { sack: false, timestamps: false, window_scaling: false, ..TcpConfig::default() }
    } else if std::env::var("SMALL").is_ok() {
        TcpConfig { send_buffer: 8 * 1024, recv_buffer: 8 * 1024, ..TcpConfig::default() }
    } else {
        TcpConfig::default()
    };
    let loss = if std::env::var("LOSSLESS").is_ok() { 0.0 } else { 0.2 };
    let _ = run(seed, &cfg, std::env::var("BIDIR").is_ok(), loss);
}

fn seeds() -> u64 {
    std::env::var("TCP_PAIR_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(200)
}

fn check_many(name: &str, base: u64, n: u64, cfg: TcpConfig, bidir: bool) -> BTreeMap<String, u64> {
    let mut failures = Vec::new();
    let mut total: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..n {
        let seed = base + i;
        match run(seed, &cfg, bidir, 0.2) {
            Ok(o) => {
                for (k, v) in &o.stats {
                    *total.entry(k.clone()).or_insert(0) += v;
                }
                for (dir, (sent, got)) in o.hashes.iter().enumerate() {
                    if sent != got {
                        failures.push(format!("seed {seed}: data mismatch (direction {dir}, size {})", o.sizes[dir]));
                    }
                }
                // Both ends closed, TIME_WAIT (60 s) included.
                if o.end < Instant::ZERO + Duration::from_secs(60) {
                    failures.push(format!("seed {seed}: ended at {:?}, before TIME_WAIT", o.end));
                }
            }
            Err(e) => failures.push(format!("seed {seed}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{name}: {failures:#?}");
    eprintln!("{name}: {total:?}");
    total
}

fn reason(r: RetransmitReason) -> String {
    format!("{r:?}")
}

#[test]
fn newreno_with_sack_survives_loss_reorder_duplication() {
    let t = check_many("newreno+sack", 1000, seeds(), TcpConfig::default(), false);
    // The recovery paths were exercised.
    assert!(t[&reason(RetransmitReason::Sack)] > 0 && t[&reason(RetransmitReason::Rto)] > 0);
    assert!(t["recovery"] > 0);
}

#[test]
fn newreno_without_sack_timestamps_or_scaling() {
    let cfg = TcpConfig { sack: false, timestamps: false, window_scaling: false, ..TcpConfig::default() };
    let t = check_many("newreno", 2000, seeds(), cfg, false);
    assert!(t[&reason(RetransmitReason::FastRetransmit)] > 0);
    assert!(!t.contains_key(&reason(RetransmitReason::Sack)));
}

#[test]
fn cubic_with_sack_survives_loss_reorder_duplication() {
    let cfg = TcpConfig { congestion: CongestionAlgorithm::Cubic, ..TcpConfig::default() };
    let t = check_many("cubic", 3000, seeds(), cfg, false);
    assert!(t[&reason(RetransmitReason::Sack)] > 0);
}

#[test]
fn bidirectional_with_small_buffers_and_zero_windows() {
    let cfg = TcpConfig { send_buffer: 8 * 1024, recv_buffer: 8 * 1024, ..TcpConfig::default() };
    let t = check_many("bidir small buffers", 4000, seeds() / 4, cfg, true);
    assert!(t.contains_key(&reason(RetransmitReason::Probe)), "{t:?}");
}

#[test]
fn bidirectional_newreno_without_options() {
    let cfg = TcpConfig {
        sack: false,
        timestamps: false,
        window_scaling: false,
        delayed_ack: false,
        nagle: false,
        ..TcpConfig::default()
    };
    check_many("bidir plain", 5000, seeds() / 4, cfg, true);
}

#[test]
fn mixed_options_fall_back_cleanly() {
    // The client offers SACK, timestamps and window scaling; the server supports none of them
    // (and uses CUBIC): the connection runs without, in both directions.
    let plain = TcpConfig {
        sack: false,
        timestamps: false,
        window_scaling: false,
        congestion: CongestionAlgorithm::Cubic,
        ..TcpConfig::default()
    };
    SERVER_CFG.with(|c| *c.borrow_mut() = Some(plain));
    let t = check_many("mixed", 6000, seeds() / 4, TcpConfig::default(), true);
    SERVER_CFG.with(|c| *c.borrow_mut() = None);
    assert!(!t.contains_key(&reason(RetransmitReason::Sack)), "{t:?}");
}

#[test]
fn transfer_across_sequence_number_wrap() {
    // Find an ISN key that puts the client's ISS just below 2^32, so that the transfer wraps.
    let cfg = TcpConfig::default();
    let mut key = 0u64;
    loop {
        let mut st = TcpStack::new(key, cfg.clone());
        st.connect(Instant::ZERO, SocketAddrV4::new(A_IP, 0), SocketAddrV4::new(B_IP, 80), None).unwrap();
        let mut iss = 0;
        st.poll_transmit(Instant::ZERO, &mut |_, _, r| iss = r.seq);
        if iss > u32::MAX - 100_000 {
            break;
        }
        key += 1;
    }
    CLIENT_KEY.with(|k| k.set(Some(key)));
    let mut wrapped = 0;
    for seed in 7000..7020 {
        let o = run(seed, &cfg, true, 0.1).unwrap();
        assert_eq!(o.hashes[0].0, o.hashes[0].1, "seed {seed}");
        assert_eq!(o.hashes[1].0, o.hashes[1].1, "seed {seed}");
        assert!(o.client_iss > u32::MAX - 100_000);
        if o.sizes[0] as u64 > u64::from(u32::MAX - o.client_iss) {
            wrapped += 1;
        }
    }
    CLIENT_KEY.with(|k| k.set(None));
    assert!(wrapped > 0);
}

#[test]
fn lossless_transfer_is_deterministic_and_fast() {
    let cfg = TcpConfig::default();
    let a = run(7, &cfg, true, 0.0).unwrap();
    let b = run(7, &cfg, true, 0.0).unwrap();
    // Without loss both directions finish within a second; then TIME_WAIT (60 s).
    assert!(a.end < Instant::ZERO + Duration::from_secs(61), "{:?}", a.end);
    assert!(a.stats.is_empty(), "{:?}", a.stats);
    assert_eq!(a.hashes[0].0, a.hashes[0].1);
    assert_eq!(a.hashes[1].0, a.hashes[1].1);
    assert_eq!((a.end, &a.hashes), (b.end, &b.hashes));
}

/// Many connections between two stacks: the timer index and the set of connections with something
/// to send stay consistent (each event touches only its own connection; the earliest deadline is
/// the minimum over every connection's timers), and every connection closes.
#[test]
fn many_connections_index_and_dirty_set_stay_consistent() {
    const N: usize = 300;
    let cfg = TcpConfig { msl: Duration::from_millis(500), ..TcpConfig::default() };
    let mut a = TcpStack::new(1, cfg.clone());
    let mut b = TcpStack::new(2, cfg);
    let mut now = Instant::ZERO;
    let lst = b.listen(now, SocketAddrV4::new(B_IP, 80), N, None).unwrap();
    let mut wire: Vec<(bool, OwnedSeg)> = Vec::new();
    // Delivers everything in flight (zero delay) until both stacks are quiet.
    let pump = |a: &mut TcpStack, b: &mut TcpStack, wire: &mut Vec<(bool, OwnedSeg)>, now: Instant| {
        loop {
            a.poll_transmit(now, &mut |s, d, r| wire.push((true, OwnedSeg::new(s, d, r))));
            b.poll_transmit(now, &mut |s, d, r| wire.push((false, OwnedSeg::new(s, d, r))));
            a.drain_events(&mut |_| {});
            b.drain_events(&mut |_| {});
            if wire.is_empty() {
                break;
            }
            for (to_b, seg) in std::mem::take(wire) {
                let st = if to_b { &mut *b } else { &mut *a };
                st.on_segment(now, seg.src, seg.dst, &seg.repr());
            }
        }
    };
    let conns: Vec<SocketId> = (0..N)
        .map(|_| a.connect(now, SocketAddrV4::new(A_IP, 0), SocketAddrV4::new(B_IP, 80), None).unwrap())
        .collect();
    pump(&mut a, &mut b, &mut wire, now);
    let mut accepted = Vec::new();
    while let Some(id) = b.accept(now, lst).unwrap() {
        accepted.push(id);
    }
    assert_eq!(accepted.len(), N);
    let min_timer = |st: &TcpStack, ids: &[SocketId]| {
        ids.iter().filter_map(|&id| st.conn_info(id)).flat_map(|i| i.timers.into_iter().map(|(_, t)| t)).min()
    };
    // The index is a lower bound of the earliest real deadline (it is updated at once only when a
    // deadline moves earlier). Running its stale entries out fires no timer and leaves exactly the
    // earliest deadline.
    let check_index = |st: &mut TcpStack, ids: &[SocketId]| {
        let want = min_timer(st, ids);
        for _ in 0..=ids.len() {
            let got = st.poll_timeout();
            if got == want {
                return;
            }
            let t = got.expect("the index lost a deadline");
            assert!(want.is_none_or(|w| t < w), "index {t:?} is later than the earliest deadline {want:?}");
            st.handle_timeout(t);
            assert_eq!(min_timer(st, ids), want, "a stale index entry fired a timer");
        }
        panic!("the index did not settle on {want:?}");
    };
    check_index(&mut a, &conns);
    check_index(&mut b, &accepted);
    // Idle: nothing to send.
    let mut out = 0;
    a.poll_transmit(now, &mut |_, _, _| out += 1);
    assert_eq!(out, 0);
    // Data on one connection: only that connection sends.
    now += Duration::from_millis(5);
    let k = conns[N / 2];
    let port = a.conn_info(k).unwrap().local.port();
    a.send(now, k, b"hello").unwrap();
    let mut ports = Vec::new();
    a.poll_transmit(now, &mut |_, _, r| ports.push(r.src_port));
    assert_eq!(ports, vec![port]);
    check_index(&mut a, &conns);
    // Close everything from both sides and run the timers out.
    for &id in &conns {
        a.close(now, id).unwrap();
    }
    pump(&mut a, &mut b, &mut wire, now);
    for &id in &accepted {
        b.close(now, id).unwrap();
    }
    pump(&mut a, &mut b, &mut wire, now);
    while let Some(t) = [a.poll_timeout(), b.poll_timeout()].into_iter().flatten().min() {
        assert!(t < now + Duration::from_secs(600), "timers keep running");
        now = now.max(t);
        a.handle_timeout(now);
        b.handle_timeout(now);
        pump(&mut a, &mut b, &mut wire, now);
        check_index(&mut a, &conns);
    }
    assert_eq!(a.open_sockets(), 0);
    assert_eq!(b.open_sockets(), 1);
}

/// A waker that counts its wake-ups.
struct WakeCount(AtomicUsize);

impl std::task::Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A writer blocked on a full send buffer is woken once enough room is free (half of what is
/// still queued, at most 64 KiB), not by every ACK; the last ACK always wakes it.
#[test]
fn a_blocked_writer_is_woken_when_enough_room_is_free() {
    for buffer in [16 * 1024, 1 << 20] {
        let cfg = TcpConfig { send_buffer: buffer, recv_buffer: 4 << 20, ..TcpConfig::default() };
        let mut a = TcpStack::new(1, cfg.clone());
        let mut b = TcpStack::new(2, cfg);
        let now = Instant::ZERO;
        let lst = b.listen(now, SocketAddrV4::new(B_IP, 80), 4, None).unwrap();
        let c = a.connect(now, SocketAddrV4::new(A_IP, 0), SocketAddrV4::new(B_IP, 80), None).unwrap();
        // Deliver segments one at a time, in order, checking the writer's wake-ups on the way.
        let mut wire: std::collections::VecDeque<(bool, OwnedSeg)> = Default::default();
        let count = Arc::new(WakeCount(AtomicUsize::new(0)));
        let waker = std::task::Waker::from(count.clone());
        let mut queued_at_wake = Vec::new();
        let mut acks = 0;
        let mut blocked = false;
        let mut sent = 0usize;
        let mut server = None;
        let total = 4 * buffer;
        loop {
            a.poll_transmit(now, &mut |s, d, r| wire.push_back((true, OwnedSeg::new(s, d, r))));
            b.poll_transmit(now, &mut |s, d, r| wire.push_back((false, OwnedSeg::new(s, d, r))));
            a.drain_events(&mut |_| {});
            b.drain_events(&mut |_| {});
            while let Some(id) = b.accept(now, lst).unwrap() {
                server = Some(id);
            }
            if a.conn_info(c).unwrap().state == TcpState::Established && sent < total && !blocked {
                let n = a.send(now, c, &vec![7u8; total - sent]).unwrap();
                sent += n;
                if sent < total {
                    blocked = true;
                    a.register_waker(c, &waker);
                }
            }
            let Some((to_b, seg)) = wire.pop_front() else { break };
            let before = count.0.load(Ordering::SeqCst);
            if to_b {
                b.on_segment(now, seg.src, seg.dst, &seg.repr());
            } else {
                a.on_segment(now, seg.src, seg.dst, &seg.repr());
                acks += 1;
                if count.0.load(Ordering::SeqCst) > before {
                    let info = a.conn_info(c).unwrap();
                    queued_at_wake.push((buffer - info.send_queued, info.send_queued));
                    blocked = false;
                }
            }
            // Keep the receiver's buffer drained so the window stays open.
            if let Some(id) = server {
                let _ = b.recv_with(now, id, usize::MAX, &mut |_| {});
            }
        }
        assert_eq!(sent, total, "buffer {buffer}: the writer got everything out");
        assert!(!queued_at_wake.is_empty());
        for &(free, queued) in &queued_at_wake {
            assert!(free >= (queued / 2).min(64 * 1024), "buffer {buffer}: woken with {free} free, {queued} queued");
        }
        if buffer > 256 * 1024 {
            // 64 KiB is about 22 ACKs of two full segments each.
            let wakes = queued_at_wake.len();
            assert!(wakes * 10 < acks, "buffer {buffer}: {wakes} wake-ups for {acks} ACKs");
        }
    }
}

/// A task that queued everything it had and now waits for something else (the peer's FIN, as a
/// bulk sender's `finish` does) is not woken by the ACKs that free its send buffer: only a writer
/// that was refused space is (Linux's SOCK_NOSPACE). The FIN wakes it.
#[test]
fn acks_do_not_wake_a_task_that_was_never_refused_space() {
    let cfg = TcpConfig { send_buffer: 1 << 20, recv_buffer: 4 << 20, ..TcpConfig::default() };
    let mut a = TcpStack::new(1, cfg.clone());
    let mut b = TcpStack::new(2, cfg);
    let now = Instant::ZERO;
    let lst = b.listen(now, SocketAddrV4::new(B_IP, 80), 4, None).unwrap();
    let c = a.connect(now, SocketAddrV4::new(A_IP, 0), SocketAddrV4::new(B_IP, 80), None).unwrap();
    let count = Arc::new(WakeCount(AtomicUsize::new(0)));
    let waker = std::task::Waker::from(count.clone());
    let total = 300_000;
    let (mut queued, mut server, mut acks, mut received, mut fin_sent) = (false, None, 0, 0usize, false);
    let mut wire: std::collections::VecDeque<(bool, OwnedSeg)> = Default::default();
    loop {
        while let Some(id) = b.accept(now, lst).unwrap() {
            server = Some(id);
        }
        if !queued && a.conn_info(c).unwrap().state == TcpState::Established {
            assert_eq!(a.send(now, c, &vec![7u8; total]).unwrap(), total, "it all fits in the buffer");
            a.shutdown_write(now, c).unwrap();
            // Waits for the peer's FIN: nothing to read yet.
            assert_eq!(a.recv_with(now, c, usize::MAX, &mut |_| {}).unwrap(), None);
            a.register_waker(c, &waker);
            queued = true;
        }
        if let Some(id) = server {
            while let Ok(Some(n)) = b.recv_with(now, id, usize::MAX, &mut |_| {}) {
                received += n;
                if n == 0 {
                    break;
                }
            }
            if received == total && !fin_sent && a.conn_info(c).unwrap().send_queued == 0 {
                b.shutdown_write(now, id).unwrap();
                fin_sent = true;
            }
        }
        a.poll_transmit(now, &mut |s, d, r| wire.push_back((true, OwnedSeg::new(s, d, r))));
        b.poll_transmit(now, &mut |s, d, r| wire.push_back((false, OwnedSeg::new(s, d, r))));
        a.drain_events(&mut |_| {});
        b.drain_events(&mut |_| {});
        let Some((to_b, seg)) = wire.pop_front() else { break };
        if to_b {
            b.on_segment(now, seg.src, seg.dst, &seg.repr());
        } else {
            let before = count.0.load(Ordering::SeqCst);
            a.on_segment(now, seg.src, seg.dst, &seg.repr());
            if a.conn_info(c).unwrap().state == TcpState::FinWait1 {
                acks += 1;
                assert_eq!(count.0.load(Ordering::SeqCst), 0, "ACK {acks} of the data woke the task");
            }
            // Woken: the task polls again and waits again while there is nothing to read.
            if count.0.load(Ordering::SeqCst) > before
                && a.recv_with(now, c, usize::MAX, &mut |_| {}).is_ok_and(|r| r.is_none())
            {
                a.register_waker(c, &waker);
            }
        }
    }
    assert!(fin_sent && acks > 20, "the transfer ran ({acks} ACKs of data)");
    // The state changes wake it: FIN-WAIT-2 (our FIN acknowledged), TIME-WAIT (the peer's FIN).
    assert_eq!(count.0.load(Ordering::SeqCst), 2, "woken by the two state changes only");
}
