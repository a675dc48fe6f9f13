//! Segment-level tests ("packetdrill in Rust"): one `TcpStack` under test, a scripted peer. Each
//! case drives a connection into a state through real segments, injects a segment at a given time
//! and asserts the exact segments emitted and the resulting state.

use netlab::sim::{Duration, Instant};
use netlab::tcp::{
    CwndGrowth, LossDetection, RetransmitReason, SocketId, TcpConfig, TcpError, TcpEvent, TcpEventKind, TcpStack,
    TcpState, TimerKind,
};
use netlab::wire::{TcpFlags, TcpOptions, TcpRepr};
use std::net::{Ipv4Addr, SocketAddrV4};

const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const US_PORT: u16 = 4000;
const PEER_PORT: u16 = 80;
/// The scripted peer's ISS.
const PISS: u32 = 5000;

const SYN: TcpFlags = TcpFlags::SYN;
const ACK: TcpFlags = TcpFlags::ACK;
const FIN: TcpFlags = TcpFlags::FIN;
const RST: TcpFlags = TcpFlags::RST;
const PSH: TcpFlags = TcpFlags::PSH;

fn f(a: TcpFlags, b: TcpFlags) -> TcpFlags {
    a | b
}

/// An owned segment, as emitted or injected.
#[derive(Clone, Debug, PartialEq)]
struct Seg {
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
    options: TcpOptions,
    payload: Vec<u8>,
}

impl Seg {
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
    fn len(&self) -> usize {
        self.payload.len()
    }
    /// Flags without PSH (whether PSH is set is not what these tests are about).
    fn fl(&self) -> TcpFlags {
        TcpFlags(self.flags.0 & !PSH.0)
    }
    fn sack(&self) -> Vec<(u32, u32)> {
        self.options.sack_blocks.iter().flatten().copied().collect()
    }
}

/// A segment from the peer.
fn pseg(flags: TcpFlags, seq: u32, ack: u32, window: u16, len: usize) -> Seg {
    Seg {
        src_port: PEER_PORT,
        dst_port: US_PORT,
        seq,
        ack,
        flags,
        window,
        options: TcpOptions::default(),
        payload: (0..len).map(|i| (seq as usize + i) as u8).collect(),
    }
}

fn plain_cfg() -> TcpConfig {
    TcpConfig {
        sack: false,
        timestamps: false,
        window_scaling: false,
        delayed_ack: false,
        recv_buffer: 65535,
        ..TcpConfig::default()
    }
}

struct H {
    stack: TcpStack,
    now: Instant,
    events: Vec<TcpEvent>,
    id: SocketId,
    /// Our ISS (from our SYN / SYN-ACK).
    iss: u32,
}

fn ms(n: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(n)
}

impl H {
    fn new(cfg: TcpConfig) -> H {
        H { stack: TcpStack::new(42, cfg), now: Instant::ZERO, events: Vec::new(), id: SocketId(0), iss: 0 }
    }
    fn poll(&mut self) -> Vec<Seg> {
        let mut v = Vec::new();
        self.stack.poll_transmit(self.now, &mut |s, d, r| {
            assert_eq!((s, d), (US, PEER));
            v.push(Seg {
                src_port: r.src_port,
                dst_port: r.dst_port,
                seq: r.seq,
                ack: r.ack,
                flags: r.flags,
                window: r.window,
                options: r.options,
                payload: r.payload.to_vec(),
            });
        });
        let ev = &mut self.events;
        self.stack.drain_events(&mut |e| ev.push(e));
        v
    }
    /// Injects a peer segment at the current time; returns what the stack sends in response.
    fn inject(&mut self, s: Seg) -> Vec<Seg> {
        self.stack.on_segment(self.now, PEER, US, &s.repr());
        self.poll()
    }
    /// Advances the clock to `t`, firing timers on the way; returns (time, segment) sent.
    fn advance(&mut self, t: Instant) -> Vec<(Instant, Seg)> {
        let mut out = Vec::new();
        while let Some(d) = self.stack.poll_timeout() {
            if d > t {
                break;
            }
            self.now = self.now.max(d);
            self.stack.handle_timeout(self.now);
            for s in self.poll() {
                out.push((self.now, s));
            }
        }
        self.now = t;
        out
    }
    fn state(&self) -> Option<TcpState> {
        self.stack.state(self.id)
    }
    fn send(&mut self, n: usize) -> usize {
        let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
        self.stack.send(self.now, self.id, &data).unwrap()
    }
    fn read_all(&mut self) -> Result<Option<Vec<u8>>, TcpError> {
        let mut buf = vec![0u8; 1 << 20];
        self.stack.recv(self.now, self.id, &mut buf).map(|o| o.map(|n| buf[..n].to_vec()))
    }

    /// Active open up to ESTABLISHED: our SYN, the peer's SYN-ACK (with `opts`), our ACK.
    fn client(cfg: TcpConfig, peer_window: u16, opts: TcpOptions) -> H {
        let mut h = H::new(cfg);
        h.id =
            h.stack.connect(h.now, SocketAddrV4::new(US, US_PORT), SocketAddrV4::new(PEER, PEER_PORT), None).unwrap();
        let out = h.poll();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].flags, SYN);
        h.iss = out[0].seq;
        let mut synack = pseg(f(SYN, ACK), PISS, h.iss + 1, peer_window, 0);
        synack.options = opts;
        let out = h.inject(synack);
        assert_eq!(h.state(), Some(TcpState::Established));
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].flags, out[0].seq, out[0].ack, out[0].len()), (ACK, h.iss + 1, PISS + 1, 0));
        h
    }
    fn plain_client() -> H {
        H::client(plain_cfg(), 65535, mss_opt(1460))
    }
    /// Passive open up to ESTABLISHED and accepted.
    fn server(cfg: TcpConfig, backlog: usize) -> (H, SocketId) {
        let mut h = H::new(cfg);
        let l = h.stack.listen(h.now, SocketAddrV4::new(US, US_PORT), backlog, None).unwrap();
        let mut syn = pseg(SYN, PISS, 0, 65535, 0);
        syn.options = mss_opt(1460);
        let out = h.inject(syn);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].flags, f(SYN, ACK));
        assert_eq!(out[0].ack, PISS + 1);
        h.iss = out[0].seq;
        assert_eq!(h.stack.accept(h.now, l).unwrap(), None);
        let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1, 65535, 0));
        assert!(out.is_empty());
        h.id = h.stack.accept(h.now, l).unwrap().unwrap();
        assert_eq!(h.state(), Some(TcpState::Established));
        (h, l)
    }
    fn has_event(&self, pred: impl Fn(&TcpEventKind) -> bool) -> bool {
        self.events.iter().any(|e| pred(&e.kind))
    }
}

fn mss_opt(mss: u16) -> TcpOptions {
    TcpOptions { mss: Some(mss), ..TcpOptions::default() }
}

fn summary(s: &[Seg]) -> Vec<(TcpFlags, u32, u32, usize)> {
    s.iter().map(|s| (s.fl(), s.seq, s.ack, s.len())).collect()
}

// ====================================================================== opening

#[test]
fn active_open_syn_carries_options_and_handshake_completes() {
    let mut h = H::new(TcpConfig::default());
    h.id = h.stack.connect(h.now, SocketAddrV4::new(US, US_PORT), SocketAddrV4::new(PEER, PEER_PORT), None).unwrap();
    assert_eq!(h.state(), Some(TcpState::SynSent));
    assert_eq!(h.stack.connect_result(h.id), Ok(None));
    let out = h.poll();
    let o = out[0].options;
    assert_eq!(o.mss, Some(1460));
    // 256 KiB buffer: scale 3 makes it fit in 16 bits.
    assert_eq!(o.window_scale, Some(3));
    assert!(o.sack_permitted);
    assert!(o.timestamps.is_some());
    assert_eq!(out[0].window, 65535);
    let mut synack = pseg(f(SYN, ACK), PISS, out[0].seq + 1, 1000, 0);
    synack.options = TcpOptions {
        mss: Some(1000),
        window_scale: Some(2),
        sack_permitted: true,
        timestamps: Some((777, o.timestamps.unwrap().0)),
        ..TcpOptions::default()
    };
    let out2 = h.inject(synack);
    assert_eq!(h.stack.connect_result(h.id), Ok(Some(())));
    assert_eq!(out2[0].fl(), ACK);
    assert_eq!(out2[0].options.timestamps.unwrap().1, 777);
    // Our windows are now scaled by 3.
    assert_eq!(out2[0].window, (256 * 1024 / 8) as u16);
    // Effective MSS = min(1460, 1000) - 12 (timestamps).
    h.send(5000);
    let out = h.poll();
    assert_eq!(out[0].len(), 988);
}

#[test]
fn no_window_scaling_unless_both_syns_carry_it() {
    // We offer scaling (256 KiB buffer, shift 3); the peer's SYN-ACK does not: windows are
    // unscaled both ways.
    let cfg = TcpConfig { window_scaling: true, recv_buffer: 256 * 1024, ..plain_cfg() };
    let mut h = H::new(cfg);
    h.id = h.stack.connect(h.now, SocketAddrV4::new(US, US_PORT), SocketAddrV4::new(PEER, PEER_PORT), None).unwrap();
    let syn = h.poll();
    assert_eq!(syn[0].options.window_scale, Some(3));
    h.iss = syn[0].seq;
    let mut sa = pseg(f(SYN, ACK), PISS, h.iss + 1, 3000, 0);
    sa.options = mss_opt(1000);
    let out = h.inject(sa);
    assert_eq!(out[0].window, 65535);
    // The peer's 3000 is 3000 bytes, not 3000 << anything.
    h.send(10_000);
    let out = h.poll();
    assert_eq!(out.iter().map(Seg::len).sum::<usize>(), 3000);
}

#[test]
fn passive_open_and_accept() {
    let (h, _l) = H::server(plain_cfg(), 4);
    assert_eq!(h.stack.open_sockets(), 2);
}

#[test]
fn syn_without_options_gets_no_scaling_sack_or_timestamps() {
    let mut h = H::new(TcpConfig::default());
    h.stack.listen(h.now, SocketAddrV4::new(US, US_PORT), 4, None).unwrap();
    let out = h.inject(pseg(SYN, PISS, 0, 65535, 0));
    let o = out[0].options;
    assert_eq!(o.window_scale, None);
    assert!(!o.sack_permitted);
    assert_eq!(o.timestamps, None);
    assert_eq!(o.mss, Some(1460));
}

#[test]
fn simultaneous_open() {
    let mut h = H::new(plain_cfg());
    h.id = h.stack.connect(h.now, SocketAddrV4::new(US, US_PORT), SocketAddrV4::new(PEER, PEER_PORT), None).unwrap();
    let syn = h.poll();
    h.iss = syn[0].seq;
    // The peer's SYN crosses ours.
    let out = h.inject(pseg(SYN, PISS, 0, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::SynReceived));
    assert_eq!(summary(&out), vec![(f(SYN, ACK), h.iss, PISS + 1, 0)]);
    // The peer's SYN,ACK.
    let out = h.inject(pseg(f(SYN, ACK), PISS, h.iss + 1, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::Established));
    assert!(out.iter().all(|s| s.fl() == ACK));
    assert_eq!(h.stack.connect_result(h.id), Ok(Some(())));
}

#[test]
fn simultaneous_open_syn_ack_is_no_retransmission() {
    // The SYN-ACK of a simultaneous open follows our SYN: a new segment, not a retransmission.
    let mut h = H::new(plain_cfg());
    h.id = h.stack.connect(h.now, SocketAddrV4::new(US, US_PORT), SocketAddrV4::new(PEER, PEER_PORT), None).unwrap();
    h.iss = h.poll()[0].seq;
    h.now = ms(10);
    let out = h.inject(pseg(SYN, PISS, 0, 65535, 0));
    assert_eq!(summary(&out), vec![(f(SYN, ACK), h.iss, PISS + 1, 0)]);
    assert!(!h.has_event(|k| matches!(k, TcpEventKind::Retransmit { .. })));
    // Its loss is repaired by the timer, and that one is a retransmission.
    let out = h.advance(ms(2000));
    assert_eq!(out[0].1.flags, f(SYN, ACK));
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Retransmit { reason: RetransmitReason::Rto, .. })));
    let out = h.inject(pseg(f(SYN, ACK), PISS, h.iss + 1, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::Established));
    assert!(out.iter().all(|s| s.fl() == ACK));
}

#[test]
fn retransmitted_syn_in_syn_received_resends_syn_ack() {
    let mut h = H::new(plain_cfg());
    h.stack.listen(h.now, SocketAddrV4::new(US, US_PORT), 4, None).unwrap();
    let a = h.inject(pseg(SYN, PISS, 0, 65535, 0));
    h.now = ms(100);
    let b = h.inject(pseg(SYN, PISS, 0, 65535, 0));
    assert_eq!(summary(&a), summary(&b));
}

#[test]
fn syn_ack_retransmitted_on_timeout_and_child_dropped_after_limit() {
    let cfg = TcpConfig { max_syn_retransmissions: 2, ..plain_cfg() };
    let mut h = H::new(cfg);
    h.stack.listen(h.now, SocketAddrV4::new(US, US_PORT), 4, None).unwrap();
    h.inject(pseg(SYN, PISS, 0, 65535, 0));
    assert_eq!(h.stack.open_sockets(), 2);
    let out = h.advance(ms(100_000));
    let times: Vec<Instant> = out.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![ms(1000), ms(3000)]);
    assert!(out.iter().all(|(_, s)| s.flags == f(SYN, ACK)));
    // The embryonic connection gave up silently (back to LISTEN).
    assert_eq!(h.stack.open_sockets(), 1);
}

#[test]
fn syn_retries_bounded_then_connect_times_out() {
    let cfg = TcpConfig { max_syn_retransmissions: 2, ..plain_cfg() };
    let mut h = H::new(cfg);
    h.id = h.stack.connect(h.now, SocketAddrV4::new(US, US_PORT), SocketAddrV4::new(PEER, PEER_PORT), None).unwrap();
    h.poll();
    let out = h.advance(ms(100_000));
    let times: Vec<Instant> = out.iter().map(|(t, _)| *t).collect();
    // RTO 1 s, backed off: retransmissions at 1 s and 3 s; failure at 7 s.
    assert_eq!(times, vec![ms(1000), ms(3000)]);
    assert_eq!(h.stack.connect_result(h.id), Err(TcpError::TimedOut));
    assert_eq!(h.state(), Some(TcpState::Closed));
    h.stack.close(h.now, h.id).unwrap();
    assert_eq!(h.stack.open_sockets(), 0);
}

#[test]
fn backlog_overflow_drops_syn_without_reset() {
    let mut h = H::new(plain_cfg());
    h.stack.listen(h.now, SocketAddrV4::new(US, US_PORT), 1, None).unwrap();
    let out = h.inject(pseg(SYN, PISS, 0, 65535, 0));
    assert_eq!(out.len(), 1);
    let mut syn2 = pseg(SYN, 9000, 0, 65535, 0);
    syn2.src_port = 81;
    let out = h.inject(syn2);
    assert!(out.is_empty(), "{out:?}");
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Dropped { reason: "backlog_full" })));
    assert_eq!(h.stack.open_sockets(), 2);
}

#[test]
fn rst_in_syn_sent_means_refused() {
    let mut h = H::new(plain_cfg());
    h.id = h.stack.connect(h.now, SocketAddrV4::new(US, US_PORT), SocketAddrV4::new(PEER, PEER_PORT), None).unwrap();
    let iss = h.poll()[0].seq;
    // RST without an acceptable ACK is ignored.
    assert!(h.inject(pseg(RST, 0, 0, 0, 0)).is_empty());
    assert_eq!(h.state(), Some(TcpState::SynSent));
    let out = h.inject(pseg(f(RST, ACK), 0, iss + 1, 0, 0));
    assert!(out.is_empty());
    assert_eq!(h.stack.connect_result(h.id), Err(TcpError::ConnectionRefused));
}

#[test]
fn bad_ack_in_syn_sent_gets_rst() {
    let mut h = H::new(plain_cfg());
    h.id = h.stack.connect(h.now, SocketAddrV4::new(US, US_PORT), SocketAddrV4::new(PEER, PEER_PORT), None).unwrap();
    let iss = h.poll()[0].seq;
    let out = h.inject(pseg(f(SYN, ACK), PISS, iss + 100, 65535, 0));
    assert_eq!(summary(&out), vec![(RST, iss + 100, 0, 0)]);
    assert_eq!(h.state(), Some(TcpState::SynSent));
}

#[test]
fn bad_ack_in_syn_received_gets_rst() {
    let mut h = H::new(plain_cfg());
    h.stack.listen(h.now, SocketAddrV4::new(US, US_PORT), 4, None).unwrap();
    let iss = h.inject(pseg(SYN, PISS, 0, 65535, 0))[0].seq;
    let out = h.inject(pseg(ACK, PISS + 1, iss + 7, 65535, 0));
    assert_eq!(summary(&out), vec![(RST, iss + 7, 0, 0)]);
    assert_eq!(h.stack.state(SocketId(2)), Some(TcpState::SynReceived));
}

#[test]
fn rst_in_syn_received_returns_to_listen() {
    let mut h = H::new(plain_cfg());
    h.stack.listen(h.now, SocketAddrV4::new(US, US_PORT), 4, None).unwrap();
    h.inject(pseg(SYN, PISS, 0, 65535, 0));
    assert_eq!(h.stack.open_sockets(), 2);
    h.inject(pseg(RST, PISS + 1, 0, 0, 0));
    assert_eq!(h.stack.open_sockets(), 1);
}

// ====================================================================== closed ports, RSTs

#[test]
fn rst_to_closed_port_follows_rfc_seq_ack_rules() {
    let mut h = H::new(plain_cfg());
    // No ACK bit: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SYN counts one.
    let out = h.inject(pseg(SYN, 1234, 0, 65535, 0));
    assert_eq!(summary(&out), vec![(f(RST, ACK), 0, 1235, 0)]);
    let out = h.inject(pseg(FIN, 1234, 0, 65535, 10));
    assert_eq!(summary(&out), vec![(f(RST, ACK), 0, 1245, 0)]);
    // ACK bit: <SEQ=SEG.ACK><CTL=RST>.
    let out = h.inject(pseg(ACK, 1234, 999, 65535, 5));
    assert_eq!(summary(&out), vec![(RST, 999, 0, 0)]);
    assert_eq!((out[0].src_port, out[0].dst_port), (US_PORT, PEER_PORT));
    // A RST never gets a RST.
    assert!(h.inject(pseg(RST, 1234, 0, 0, 0)).is_empty());
}

#[test]
fn ack_to_listener_gets_rst() {
    let mut h = H::new(plain_cfg());
    h.stack.listen(h.now, SocketAddrV4::new(US, US_PORT), 4, None).unwrap();
    let out = h.inject(pseg(ACK, 1, 77, 65535, 0));
    assert_eq!(summary(&out), vec![(RST, 77, 0, 0)]);
    assert!(h.inject(pseg(RST, 1, 0, 0, 0)).is_empty());
}

#[test]
fn rst_exactly_at_rcv_nxt_resets() {
    let mut h = H::plain_client();
    let out = h.inject(pseg(RST, PISS + 1, 0, 0, 0));
    assert!(out.is_empty());
    assert_eq!(h.state(), Some(TcpState::Closed));
    assert_eq!(h.read_all(), Err(TcpError::ConnectionReset));
    assert_eq!(h.stack.send(h.now, h.id, b"x"), Err(TcpError::ConnectionReset));
    // Freed only when the application closes it.
    assert_eq!(h.stack.open_sockets(), 1);
    h.stack.close(h.now, h.id).unwrap();
    assert_eq!(h.stack.open_sockets(), 0);
}

#[test]
fn rst_in_window_but_not_exact_gets_challenge_ack() {
    let mut h = H::plain_client();
    let out = h.inject(pseg(RST, PISS + 1 + 100, 0, 0, 0));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, PISS + 1, 0)]);
    assert_eq!(h.state(), Some(TcpState::Established));
    assert!(h.has_event(|k| matches!(k, TcpEventKind::ChallengeAck { .. })));
}

#[test]
fn rst_outside_window_is_ignored_silently() {
    let mut h = H::plain_client();
    let out = h.inject(pseg(RST, PISS + 1 + 100_000, 0, 0, 0));
    assert!(out.is_empty());
    let out = h.inject(pseg(RST, PISS - 10, 0, 0, 0));
    assert!(out.is_empty());
    assert_eq!(h.state(), Some(TcpState::Established));
}

#[test]
fn acks_to_dropped_pure_acks_are_rate_limited() {
    let mut h = H::plain_client();
    let stale = pseg(ACK, PISS - 100, h.iss + 1, 65535, 0);
    assert_eq!(h.inject(stale.clone()).len(), 1);
    h.now = ms(100);
    assert!(h.inject(stale.clone()).is_empty());
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Dropped { reason: "ack_rate_limited" })));
    // Segments with data are always answered.
    assert_eq!(h.inject(pseg(ACK, PISS - 100, h.iss + 1, 65535, 10)).len(), 1);
    h.now = ms(600);
    assert_eq!(h.inject(stale).len(), 1);
}

#[test]
fn syn_in_established_gets_challenge_ack() {
    let mut h = H::plain_client();
    let out = h.inject(pseg(SYN, PISS + 1 + 10, 0, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, PISS + 1, 0)]);
    assert_eq!(h.state(), Some(TcpState::Established));
}

#[test]
fn ack_of_unsent_data_is_acked_and_dropped() {
    let mut h = H::plain_client();
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1000, 65535, 10));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, PISS + 1, 0)]);
    assert_eq!(h.read_all(), Ok(None));
}

#[test]
fn ack_older_than_max_window_gets_challenge_ack() {
    // RFC 5961 section 5: SEG.ACK < SND.UNA - MAX.SND.WND is answered with an ACK and dropped.
    let mut h = H::client(plain_cfg(), 1000, mss_opt(1000));
    h.send(1000);
    h.poll();
    h.inject(pseg(ACK, PISS + 1, h.iss + 1001, 1000, 0));
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1001 - 5000, 1000, 10));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1001, PISS + 1, 0)]);
    assert!(h.has_event(|k| matches!(k, TcpEventKind::ChallengeAck { reason: "ack_too_old" })));
    // Its data was not accepted.
    assert_eq!(h.read_all(), Ok(None));
}

#[test]
fn abort_sends_rst_and_frees() {
    let mut h = H::plain_client();
    h.stack.abort(h.now, h.id).unwrap();
    let out = h.poll();
    assert_eq!(summary(&out), vec![(f(RST, ACK), h.iss + 1, PISS + 1, 0)]);
    assert_eq!(h.stack.open_sockets(), 0);
    assert_eq!(h.stack.state(h.id), None);
    assert_eq!(h.read_all(), Err(TcpError::InvalidSocket));
}

// ====================================================================== closing

#[test]
fn active_close_fin_wait_time_wait_and_retransmitted_fin_restarts_2msl() {
    let mut h = H::plain_client();
    h.stack.close(h.now, h.id).unwrap();
    assert_eq!(h.state(), Some(TcpState::FinWait1));
    let out = h.poll();
    assert_eq!(summary(&out), vec![(f(FIN, ACK), h.iss + 1, PISS + 1, 0)]);
    h.inject(pseg(ACK, PISS + 1, h.iss + 2, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::FinWait2));
    h.now = ms(1000);
    let out = h.inject(pseg(f(FIN, ACK), PISS + 1, h.iss + 2, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::TimeWait));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 2, PISS + 2, 0)]);
    // 2*MSL = 60 s from 1 s; a retransmitted FIN at 31 s restarts it (ends at 91 s).
    assert!(h.advance(ms(31_000)).is_empty());
    let out = h.inject(pseg(f(FIN, ACK), PISS + 1, h.iss + 2, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 2, PISS + 2, 0)]);
    h.advance(ms(61_000 + 1));
    assert_eq!(h.state(), Some(TcpState::TimeWait));
    h.advance(ms(91_000));
    // CLOSED and freed (the application had closed it).
    assert_eq!(h.state(), None);
    assert_eq!(h.stack.open_sockets(), 0);
}

#[test]
fn rst_in_time_wait_is_ignored_rfc1337() {
    let mut h = H::plain_client();
    h.stack.close(h.now, h.id).unwrap();
    h.poll();
    h.inject(pseg(f(FIN, ACK), PISS + 1, h.iss + 2, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::TimeWait));
    assert!(h.inject(pseg(RST, PISS + 2, 0, 0, 0)).is_empty());
    assert_eq!(h.state(), Some(TcpState::TimeWait));
    h.advance(ms(60_000));
    assert_eq!(h.stack.open_sockets(), 0);
}

#[test]
fn new_syn_reopens_a_time_wait_connection_of_a_listener() {
    let (mut h, _l) = H::server(plain_cfg(), 4);
    // We close first: FIN, the peer ACKs and FINs: TIME-WAIT.
    h.stack.close(h.now, h.id).unwrap();
    h.poll();
    h.inject(pseg(f(FIN, ACK), PISS + 1, h.iss + 2, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::TimeWait));
    // An old-incarnation SYN (at or below RCV.NXT) gets a challenge ACK ...
    let out = h.inject(pseg(SYN, PISS, 0, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 2, PISS + 2, 0)]);
    // ... a new one above it ends TIME-WAIT and reaches the listener.
    let out = h.inject(pseg(SYN, PISS + 100_000, 0, 65535, 0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].flags, f(SYN, ACK));
    assert_eq!(out[0].ack, PISS + 100_001);
    assert_eq!(h.state(), None);
}

#[test]
fn paws_drops_old_timestamps() {
    let cfg = TcpConfig { timestamps: true, ..plain_cfg() };
    let opts = TcpOptions { mss: Some(1460), timestamps: Some((1000, 1)), ..TcpOptions::default() };
    let mut h = H::client(cfg, 65535, opts);
    let mut s = pseg(ACK, PISS + 1, h.iss + 1, 65535, 100);
    s.options.timestamps = Some((1010, 1));
    let out = h.inject(s);
    assert_eq!(out[0].ack, PISS + 101);
    assert_eq!(out[0].options.timestamps.unwrap().1, 1010);
    // TSval 900 < TS.Recent 1010: dropped and ACKed.
    let mut old = pseg(ACK, PISS + 101, h.iss + 1, 65535, 100);
    old.options.timestamps = Some((900, 1));
    let out = h.inject(old);
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, PISS + 101, 0)]);
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Dropped { reason: "paws" })));
}

#[test]
fn listener_close_resets_unaccepted_connections() {
    let mut h = H::new(plain_cfg());
    let l = h.stack.listen(h.now, SocketAddrV4::new(US, US_PORT), 4, None).unwrap();
    let iss = h.inject(pseg(SYN, PISS, 0, 65535, 0))[0].seq;
    h.inject(pseg(ACK, PISS + 1, iss + 1, 65535, 0));
    h.stack.close(h.now, l).unwrap();
    let out = h.poll();
    assert_eq!(summary(&out), vec![(f(RST, ACK), iss + 1, PISS + 1, 0)]);
    assert_eq!(h.stack.open_sockets(), 0);
}

#[test]
fn waker_fires_when_data_arrives() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};
    struct Counter(AtomicUsize);
    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let mut h = H::plain_client();
    let c = Arc::new(Counter(AtomicUsize::new(0)));
    let w = Waker::from(c.clone());
    assert_eq!(h.read_all(), Ok(None));
    h.stack.register_waker(h.id, &w);
    h.inject(pseg(ACK, PISS + 1, h.iss + 1, 65535, 10));
    assert_eq!(c.0.load(Ordering::SeqCst), 1);
    assert_eq!(h.read_all().unwrap().unwrap().len(), 10);
}

#[test]
fn keepalive_probes_an_idle_connection() {
    let cfg = TcpConfig { keepalive: Some(Duration::from_secs(10)), ..plain_cfg() };
    let mut h = H::client(cfg, 65535, mss_opt(1460));
    // The handshake's segment arrival arms the timer: first probe 10 s later, SEQ = SND.NXT - 1.
    let out = h.advance(ms(10_500));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, ms(10_000));
    assert_eq!(summary(&[out[0].1.clone()]), vec![(ACK, h.iss, PISS + 1, 0)]);
    // The peer answers: the connection stays up.
    h.inject(pseg(ACK, PISS + 1, h.iss + 1, 65535, 0));
    // Unanswered probes: after 9 of them the connection is reset.
    let out = h.advance(ms(1_000_000));
    assert_eq!(out.last().unwrap().1.fl(), f(RST, ACK));
    assert_eq!(out.len(), 10);
    assert_eq!(h.read_all(), Err(TcpError::TimedOut));
}

#[test]
fn passive_close_with_duplicate_fins_in_close_wait_and_last_ack() {
    let mut h = H::plain_client();
    let out = h.inject(pseg(f(FIN, ACK), PISS + 1, h.iss + 1, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::CloseWait));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, PISS + 2, 0)]);
    assert_eq!(h.read_all(), Ok(Some(vec![])));
    // Duplicate FIN: re-ACKed, no state change.
    let out = h.inject(pseg(f(FIN, ACK), PISS + 1, h.iss + 1, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, PISS + 2, 0)]);
    assert_eq!(h.state(), Some(TcpState::CloseWait));
    h.stack.close(h.now, h.id).unwrap();
    assert_eq!(h.state(), Some(TcpState::LastAck));
    let out = h.poll();
    assert_eq!(summary(&out), vec![(f(FIN, ACK), h.iss + 1, PISS + 2, 0)]);
    let out = h.inject(pseg(f(FIN, ACK), PISS + 1, h.iss + 1, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 2, PISS + 2, 0)]);
    assert_eq!(h.state(), Some(TcpState::LastAck));
    let out = h.inject(pseg(ACK, PISS + 2, h.iss + 2, 65535, 0));
    assert!(out.is_empty());
    assert_eq!(h.state(), None);
    assert_eq!(h.stack.open_sockets(), 0);
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut h = H::plain_client();
    h.stack.shutdown_write(h.now, h.id).unwrap();
    let fin = h.poll();
    assert_eq!(summary(&fin), vec![(f(FIN, ACK), h.iss + 1, PISS + 1, 0)]);
    // The peer's FIN crosses ours (it does not acknowledge our FIN).
    let out = h.inject(pseg(f(FIN, ACK), PISS + 1, h.iss + 1, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::Closing));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 2, PISS + 2, 0)]);
    h.inject(pseg(ACK, PISS + 2, h.iss + 2, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::TimeWait));
    h.advance(ms(60_000));
    assert_eq!(h.state(), Some(TcpState::Closed));
    // shutdown_write kept the socket: close() frees it now that it is CLOSED.
    assert_eq!(h.stack.open_sockets(), 1);
    h.stack.close(h.now, h.id).unwrap();
    assert_eq!(h.stack.open_sockets(), 0);
}

#[test]
fn fin_wait_1_straight_to_time_wait_on_fin_that_acks_our_fin() {
    let mut h = H::plain_client();
    h.stack.close(h.now, h.id).unwrap();
    h.poll();
    let out = h.inject(pseg(f(FIN, ACK), PISS + 1, h.iss + 2, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 2, PISS + 2, 0)]);
    let changes: Vec<(TcpState, TcpState)> = h
        .events
        .iter()
        .filter_map(|e| match e.kind {
            TcpEventKind::StateChange { from, to } => Some((from, to)),
            _ => None,
        })
        .collect();
    assert!(changes.ends_with(&[(TcpState::FinWait1, TcpState::FinWait2), (TcpState::FinWait2, TcpState::TimeWait)]));
}

#[test]
fn close_in_syn_sent_frees_at_once() {
    let mut h = H::new(plain_cfg());
    h.id = h.stack.connect(h.now, SocketAddrV4::new(US, US_PORT), SocketAddrV4::new(PEER, PEER_PORT), None).unwrap();
    h.poll();
    h.stack.close(h.now, h.id).unwrap();
    assert!(h.poll().is_empty());
    assert_eq!(h.stack.open_sockets(), 0);
    assert_eq!(h.stack.poll_timeout(), None);
}

#[test]
fn close_in_syn_received_sends_fin_once_established() {
    let mut h = H::new(plain_cfg());
    h.id = h.stack.connect(h.now, SocketAddrV4::new(US, US_PORT), SocketAddrV4::new(PEER, PEER_PORT), None).unwrap();
    h.iss = h.poll()[0].seq;
    h.inject(pseg(SYN, PISS, 0, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::SynReceived));
    h.stack.close(h.now, h.id).unwrap();
    assert_eq!(h.state(), Some(TcpState::SynReceived));
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::FinWait1));
    assert_eq!(summary(&out), vec![(f(FIN, ACK), h.iss + 1, PISS + 1, 0)]);
}

#[test]
fn half_close_keeps_receiving() {
    let mut h = H::plain_client();
    h.send(100);
    h.stack.shutdown_write(h.now, h.id).unwrap();
    let out = h.poll();
    assert_eq!(summary(&out), vec![(f(FIN, ACK), h.iss + 1, PISS + 1, 100)]);
    assert_eq!(h.stack.send(h.now, h.id, b"more"), Err(TcpError::Closing));
    h.inject(pseg(ACK, PISS + 1, h.iss + 102, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::FinWait2));
    h.inject(pseg(ACK, PISS + 1, h.iss + 102, 65535, 300));
    assert_eq!(h.read_all().unwrap().unwrap().len(), 300);
    h.inject(pseg(f(FIN, ACK), PISS + 301, h.iss + 102, 65535, 0));
    assert_eq!(h.state(), Some(TcpState::TimeWait));
    assert_eq!(h.read_all(), Ok(Some(vec![])));
}

#[test]
fn close_keeps_connection_until_closed() {
    let mut h = H::plain_client();
    h.stack.close(h.now, h.id).unwrap();
    assert_eq!(h.state(), Some(TcpState::FinWait1));
    assert_eq!(h.stack.open_sockets(), 1);
}

// ====================================================================== receiving

#[test]
fn out_of_window_data_is_acked_and_dropped() {
    let mut h = H::plain_client();
    let out = h.inject(pseg(ACK, PISS + 1 + 70_000, h.iss + 1, 65535, 100));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, PISS + 1, 0)]);
    // Old duplicate: also ACKed.
    let out = h.inject(pseg(ACK, PISS - 200, h.iss + 1, 65535, 100));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, PISS + 1, 0)]);
    assert_eq!(h.read_all(), Ok(None));
}

#[test]
fn reassembly_with_overlaps_and_immediate_acks() {
    let mut h = H::plain_client();
    let base = PISS + 1;
    // 100..200 first (out of order): immediate duplicate ACK.
    let out = h.inject(pseg(ACK, base + 100, h.iss + 1, 65535, 100));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, base, 0)]);
    // 150..300 overlaps it.
    let out = h.inject(pseg(ACK, base + 150, h.iss + 1, 65535, 150));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, base, 0)]);
    // 0..120 fills the hole and overlaps: ACK up to 300 at once.
    let out = h.inject(pseg(ACK, base, h.iss + 1, 65535, 120));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, base + 300, 0)]);
    let data = h.read_all().unwrap().unwrap();
    let expect: Vec<u8> = (0..300).map(|i| (base as usize + i) as u8).collect();
    assert_eq!(data, expect);
    // An exact duplicate is discarded but ACKed.
    let out = h.inject(pseg(ACK, base + 100, h.iss + 1, 65535, 100));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, base + 300, 0)]);
    assert_eq!(h.read_all(), Ok(None));
}

#[test]
fn sack_blocks_reported_most_recent_first() {
    let cfg = TcpConfig { sack: true, ..plain_cfg() };
    let opts = TcpOptions { mss: Some(1460), sack_permitted: true, ..TcpOptions::default() };
    let mut h = H::client(cfg, 65535, opts);
    let base = PISS + 1;
    let out = h.inject(pseg(ACK, base + 1000, h.iss + 1, 65535, 100));
    assert_eq!(out[0].sack(), vec![(base + 1000, base + 1100)]);
    let out = h.inject(pseg(ACK, base + 3000, h.iss + 1, 65535, 100));
    assert_eq!(out[0].sack(), vec![(base + 3000, base + 3100), (base + 1000, base + 1100)]);
    let out = h.inject(pseg(ACK, base + 1100, h.iss + 1, 65535, 100));
    assert_eq!(out[0].sack(), vec![(base + 1000, base + 1200), (base + 3000, base + 3100)]);
    // Hole filled up to 1200: only the block above remains.
    let out = h.inject(pseg(ACK, base, h.iss + 1, 65535, 1000));
    assert_eq!(out[0].ack, base + 1200);
    assert_eq!(out[0].sack(), vec![(base + 3000, base + 3100)]);
}

#[test]
fn delayed_ack_every_second_segment_and_on_timer() {
    let cfg = TcpConfig { delayed_ack: true, ..plain_cfg() };
    let mut h = H::client(cfg, 65535, mss_opt(1460));
    let base = PISS + 1;
    assert!(h.inject(pseg(ACK, base, h.iss + 1, 65535, 1460)).is_empty());
    let out = h.inject(pseg(ACK, base + 1460, h.iss + 1, 65535, 1460));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, base + 2920, 0)]);
    h.now = ms(10);
    assert!(h.inject(pseg(ACK, base + 2920, h.iss + 1, 65535, 100)).is_empty());
    let out = h.advance(ms(1000));
    assert_eq!(out.len(), 1);
    // 40 ms delayed-ACK timer.
    assert_eq!(out[0].0, ms(50));
    assert_eq!(out[0].1.ack, base + 3020);
    // It expired: the next delay doubles (interactive traffic), up to 200 ms.
    let mut at = 1000;
    for expect in [80, 160, 200, 200] {
        h.now = ms(at);
        let seq = out_ack(&h);
        assert!(h.inject(pseg(ACK, seq, h.iss + 1, 65535, 10)).is_empty());
        let out = h.advance(ms(at + 1000));
        assert_eq!(out[0].0, ms(at + expect));
        at += 1000;
    }
    // Bulk traffic (two segments before the timer) halves it again.
    h.now = ms(at);
    let seq = out_ack(&h);
    h.inject(pseg(ACK, seq, h.iss + 1, 65535, 1460));
    h.inject(pseg(ACK, seq + 1460, h.iss + 1, 65535, 1460));
    h.inject(pseg(ACK, seq + 2920, h.iss + 1, 65535, 10));
    let out = h.advance(ms(at + 1000));
    assert_eq!(out[0].0, ms(at + 100));
}

/// RCV.NXT as last acknowledged by the stack.
fn out_ack(h: &H) -> u32 {
    h.events
        .iter()
        .rev()
        .find_map(|e| match &e.kind {
            TcpEventKind::SegmentSent(s) => Some(s.ack),
            _ => None,
        })
        .unwrap()
}

#[test]
fn window_follows_buffer_and_right_edge_never_shrinks() {
    let cfg = TcpConfig { recv_buffer: 4000, ..plain_cfg() };
    let mut h = H::client(cfg, 65535, mss_opt(1000));
    let base = PISS + 1;
    let mut right = base + 4000;
    let mut seq = base;
    let mut windows = vec![];
    for _ in 0..4 {
        let out = h.inject(pseg(ACK, seq, h.iss + 1, 65535, 1000));
        seq += 1000;
        let s = &out[0];
        assert!(s.ack + u32::from(s.window) >= right, "right edge moved left");
        right = s.ack + u32::from(s.window);
        windows.push(s.window);
    }
    assert_eq!(windows, vec![3000, 2000, 1000, 0]);
    // Data beyond the zero window is not accepted, but ACKed.
    let out = h.inject(pseg(ACK, seq, h.iss + 1, 65535, 10));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, seq, 0)]);
    assert_eq!(out[0].window, 0);
    // Reading 1500 bytes reopens the window (>= min(buffer/2, MSS)): a window update is sent.
    let mut buf = [0u8; 1500];
    h.stack.recv(h.now, h.id, &mut buf).unwrap();
    let out = h.poll();
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, seq, 0)]);
    assert_eq!(out[0].window, 1500);
}

#[test]
fn scaled_window_right_edge_never_shrinks() {
    // 200 000-byte buffer: our scale is 2. The peer offers scaling too.
    let cfg = TcpConfig { recv_buffer: 200_000, window_scaling: true, ..plain_cfg() };
    let opts = TcpOptions { mss: Some(1000), window_scale: Some(0), ..TcpOptions::default() };
    let mut h = H::client(cfg, 65535, opts);
    let base = PISS + 1;
    let mut right = base + 65535; // the SYN's window is unscaled
    let mut seq = base;
    // Odd-sized segments so that the window is not a multiple of the scale granularity.
    for i in 0..150 {
        let len = 997 + (i % 3);
        let out = h.inject(pseg(ACK, seq, h.iss + 1, 65535, len));
        seq += len as u32;
        let s = &out[0];
        let edge = s.ack + (u32::from(s.window) << 2);
        assert!(edge >= right, "segment {i}: right edge {edge} < {right}");
        right = edge;
        if i % 10 == 0 {
            let mut buf = vec![0u8; 3000];
            h.stack.recv(h.now, h.id, &mut buf).unwrap();
        }
    }
}

// ====================================================================== sending

#[test]
fn nagle_holds_small_segments_while_data_is_unacked() {
    let mut h = H::plain_client();
    h.send(100);
    let out = h.poll();
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, PISS + 1, 100)]);
    h.send(100);
    h.send(100);
    assert!(h.poll().is_empty());
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 101, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 101, PISS + 1, 200)]);
}

#[test]
fn nagle_off_sends_small_segments_at_once() {
    let cfg = TcpConfig { nagle: false, ..plain_cfg() };
    let mut h = H::client(cfg, 65535, mss_opt(1460));
    h.send(100);
    h.poll();
    h.send(100);
    let out = h.poll();
    assert_eq!(summary(&out), vec![(ACK, h.iss + 101, PISS + 1, 100)]);
}

#[test]
fn effective_mss_is_the_smaller_one() {
    let mut h = H::client(plain_cfg(), 65535, mss_opt(500));
    h.send(1200);
    let out = h.poll();
    assert_eq!(out.iter().map(Seg::len).collect::<Vec<_>>(), vec![500, 500]);
    // The 200-byte tail waits for the ACK (Nagle).
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1001, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1001, PISS + 1, 200)]);
}

#[test]
fn initial_window_is_ten_segments() {
    let mut h = H::client(plain_cfg(), 65535, mss_opt(1000));
    h.send(20_000);
    let out = h.poll();
    assert_eq!(out.len(), 10);
    assert_eq!(h.stack.conn_info(h.id).unwrap().cwnd, 10_000);
}

#[test]
fn zero_window_persist_probes_with_backoff() {
    let mut h = H::client(plain_cfg(), 1000, mss_opt(1000));
    h.send(3000);
    let out = h.poll();
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1, PISS + 1, 1000)]);
    // All acknowledged, window closed.
    h.now = ms(100);
    assert!(h.inject(pseg(ACK, PISS + 1, h.iss + 1001, 0, 0)).is_empty());
    let info = h.stack.conn_info(h.id).unwrap();
    assert!(info.timers.iter().any(|(t, _)| *t == TimerKind::Persist));
    assert!(!info.timers.iter().any(|(t, _)| *t == TimerKind::Retransmit));
    let out = h.advance(ms(350));
    // First probe after the RTO (the handshake sample gave rto = 200 ms floor): one byte at SND.UNA.
    assert_eq!(out.len(), 1);
    let (t1, p1) = &out[0];
    assert_eq!((p1.seq, p1.len()), (h.iss + 1001, 1));
    // The peer still has a zero window: ACK without accepting the byte.
    let _ = h.inject(pseg(ACK, PISS + 1, h.iss + 1001, 0, 0));
    let out = h.advance(ms(800));
    assert_eq!(out.len(), 1);
    let (t2, p2) = &out[0];
    assert_eq!((p2.seq, p2.len()), (h.iss + 1001, 1));
    let _ = h.inject(pseg(ACK, PISS + 1, h.iss + 1001, 0, 0));
    let out = h.advance(ms(1600));
    assert_eq!(out.len(), 1);
    let (t3, _) = &out[0];
    // Backoff doubles the interval.
    assert!((*t3 - *t2) > (*t2 - *t1), "{t1:?} {t2:?} {t3:?}");
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Retransmit { reason: RetransmitReason::Probe, .. })));
    // The window opens: the probe byte is acknowledged and the rest flows.
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1002, 5000, 0));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1002, PISS + 1, 1000)]);
    // The 999-byte tail waits for that ACK (Nagle).
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 2002, 5000, 0));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 2002, PISS + 1, 999)]);
}

#[test]
fn rejected_zero_window_probe_leaves_no_hole() {
    // RFC 9293 3.8.6.1: the peer answers a probe beyond its zero window with ACK = SND.UNA. When
    // the window reopens, sending resumes at SND.UNA: no one-byte hole, no RTO retransmission.
    let mut h = H::client(plain_cfg(), 1000, mss_opt(1000));
    h.send(3000);
    h.poll();
    h.now = ms(100);
    assert!(h.inject(pseg(ACK, PISS + 1, h.iss + 1001, 0, 0)).is_empty());
    let out = h.advance(ms(400));
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].1.seq, out[0].1.len()), (h.iss + 1001, 1));
    // Probe refused: the window is still zero.
    assert!(h.inject(pseg(ACK, PISS + 1, h.iss + 1001, 0, 0)).is_empty());
    // The window reopens; the probe byte was not taken.
    h.now = ms(450);
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1001, 5000, 0));
    assert_eq!(summary(&out), vec![(ACK, h.iss + 1001, PISS + 1, 1000), (ACK, h.iss + 2001, PISS + 1, 1000)]);
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 3001, 5000, 0));
    assert!(out.is_empty(), "{:?}", summary(&out));
    // Everything is acknowledged: no retransmission timer, nothing resent later.
    assert!(h.advance(ms(10_000)).is_empty());
    assert!(!h.has_event(|k| matches!(k, TcpEventKind::Retransmit { reason: RetransmitReason::Rto, .. })));
}

#[test]
fn unanswered_zero_window_probes_eventually_abort() {
    let cfg = TcpConfig { max_retransmissions: 3, ..plain_cfg() };
    let mut h = H::client(cfg, 1000, mss_opt(1000));
    h.send(3000);
    h.poll();
    h.inject(pseg(ACK, PISS + 1, h.iss + 1001, 0, 0));
    // The peer vanishes: three probes, then RST and TimedOut.
    let out = h.advance(ms(1_000_000));
    let kinds: Vec<(TcpFlags, usize)> = out.iter().map(|(_, s)| (s.fl(), s.len())).collect();
    assert_eq!(kinds, vec![(ACK, 1), (ACK, 1), (ACK, 1), (f(RST, ACK), 0)]);
    assert_eq!(h.read_all(), Err(TcpError::TimedOut));
}

// ====================================================================== retransmission timer

#[test]
fn rto_backoff_doubles() {
    let mut h = H::plain_client();
    h.send(100);
    h.poll();
    let out = h.advance(ms(20_000));
    let times: Vec<u64> = out.iter().map(|(t, _)| t.as_nanos() / 1_000_000).collect();
    // The SYN-ACK arrived at t=0 so the RTT sample is 0: RTO = rto_min 200 ms, then doubling.
    assert_eq!(times, vec![200, 600, 1400, 3000, 6200, 12600]);
    assert!(out.iter().all(|(_, s)| s.seq == h.iss + 1 && s.len() == 100));
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Retransmit { reason: RetransmitReason::Rto, .. })));
}

#[test]
fn karn_no_rtt_sample_from_retransmitted_segment() {
    let mut h = H::new(plain_cfg());
    h.id = h.stack.connect(h.now, SocketAddrV4::new(US, US_PORT), SocketAddrV4::new(PEER, PEER_PORT), None).unwrap();
    h.iss = h.poll()[0].seq;
    h.now = ms(100);
    let mut sa = pseg(f(SYN, ACK), PISS, h.iss + 1, 65535, 0);
    sa.options = mss_opt(1460);
    h.inject(sa);
    let info = h.stack.conn_info(h.id).unwrap();
    assert_eq!(info.srtt, Some(Duration::from_millis(100)));
    assert_eq!(info.rto, Duration::from_millis(300));
    h.send(100);
    h.poll();
    // Retransmitted at 400 ms, ACKed at 450 ms: ambiguous, no sample; the backed-off RTO stays.
    let out = h.advance(ms(450));
    assert_eq!(out.len(), 1);
    h.inject(pseg(ACK, PISS + 1, h.iss + 101, 65535, 0));
    let info = h.stack.conn_info(h.id).unwrap();
    assert_eq!(info.srtt, Some(Duration::from_millis(100)));
    assert_eq!(info.rto, Duration::from_millis(600));
    // A fresh segment acknowledged 100 ms later is sampled.
    h.send(100);
    h.poll();
    h.now = ms(550);
    h.inject(pseg(ACK, PISS + 1, h.iss + 201, 65535, 0));
    let info = h.stack.conn_info(h.id).unwrap();
    assert_eq!(info.srtt, Some(Duration::from_millis(100)));
    assert_eq!(info.rto, Duration::from_micros(250_000));
}

#[test]
fn rto_is_three_seconds_after_a_syn_timeout_without_sample() {
    // RFC 6298 5.7.
    let mut h = H::new(plain_cfg());
    h.id = h.stack.connect(h.now, SocketAddrV4::new(US, US_PORT), SocketAddrV4::new(PEER, PEER_PORT), None).unwrap();
    h.iss = h.poll()[0].seq;
    assert_eq!(h.advance(ms(1500)).len(), 1);
    let mut sa = pseg(f(SYN, ACK), PISS, h.iss + 1, 65535, 0);
    sa.options = mss_opt(1460);
    h.inject(sa);
    let info = h.stack.conn_info(h.id).unwrap();
    assert_eq!(info.srtt, None);
    assert_eq!(info.rto, Duration::from_secs(3));
}

#[test]
fn retransmission_limit_aborts_with_rst_and_timed_out() {
    let cfg = TcpConfig { max_retransmissions: 3, ..plain_cfg() };
    let mut h = H::client(cfg, 65535, mss_opt(1460));
    h.send(100);
    h.poll();
    let out = h.advance(ms(100_000));
    let kinds: Vec<TcpFlags> = out.iter().map(|(_, s)| s.fl()).collect();
    assert_eq!(kinds, vec![ACK, ACK, ACK, f(RST, ACK)]);
    assert_eq!(out[3].1.seq, h.iss + 101);
    assert_eq!(h.state(), Some(TcpState::Closed));
    assert_eq!(h.read_all(), Err(TcpError::TimedOut));
    assert_eq!(h.stack.send(h.now, h.id, b"x"), Err(TcpError::TimedOut));
}

#[test]
fn rto_sets_loss_window_and_halves_ssthresh() {
    let mut h = H::client(plain_cfg(), 65535, mss_opt(1000));
    h.send(10_000);
    assert_eq!(h.poll().len(), 10);
    let out = h.advance(ms(200));
    assert_eq!(out.len(), 1);
    let info = h.stack.conn_info(h.id).unwrap();
    assert_eq!(info.cwnd, 1000);
    assert_eq!(info.ssthresh, 5000);
}

// ====================================================================== loss recovery

fn ten_segments_in_flight(cfg: TcpConfig, opts: TcpOptions) -> H {
    let mut h = H::client(cfg, 65535, opts);
    h.send(20_000);
    let out = h.poll();
    assert_eq!(out.len(), 10);
    h
}

#[test]
fn fast_retransmit_after_three_dupacks_and_newreno_partial_ack() {
    // RFC 5681 / 6582 as written (Linux halves cwnd instead of FlightSize: see the next test).
    let cfg = TcpConfig { cwnd_growth: CwndGrowth::Rfc5681, ..plain_cfg() };
    let mut h = ten_segments_in_flight(cfg, mss_opt(1000));
    let una = h.iss + 1;
    // Segments 0 and 3 are lost. The first two duplicate ACKs release one new segment each
    // (RFC 3042 limited transmit).
    let out = h.inject(pseg(ACK, PISS + 1, una, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, una + 10_000, PISS + 1, 1000)]);
    let out = h.inject(pseg(ACK, PISS + 1, una, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, una + 11_000, PISS + 1, 1000)]);
    // The third: fast retransmit of the first unacknowledged segment.
    let out = h.inject(pseg(ACK, PISS + 1, una, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, una, PISS + 1, 1000)]);
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Retransmit { reason: RetransmitReason::FastRetransmit, .. })));
    let info = h.stack.conn_info(h.id).unwrap();
    assert!(info.in_recovery);
    // ssthresh = FlightSize / 2 = 6000; cwnd = ssthresh + 3 * SMSS.
    assert_eq!(info.ssthresh, 6000);
    assert_eq!(info.cwnd, 9000);
    // Further duplicates inflate cwnd by one SMSS each; new data goes out once cwnd exceeds the
    // flight (12000).
    for _ in 0..3 {
        assert!(h.inject(pseg(ACK, PISS + 1, una, 65535, 0)).is_empty());
    }
    let out = h.inject(pseg(ACK, PISS + 1, una, 65535, 0));
    assert_eq!(h.stack.conn_info(h.id).unwrap().cwnd, 13_000);
    assert_eq!(summary(&out), vec![(ACK, una + 12_000, PISS + 1, 1000)]);
    // Partial ACK up to segment 3: segment 3 is retransmitted at once, recovery continues.
    let out = h.inject(pseg(ACK, PISS + 1, una + 3000, 65535, 0));
    assert_eq!((out[0].seq, out[0].len()), (una + 3000, 1000));
    assert!(h.stack.conn_info(h.id).unwrap().in_recovery);
    // Full ACK (everything up to the recovery point): recovery ends.
    h.inject(pseg(ACK, PISS + 1, una + 12_000, 65535, 0));
    let info = h.stack.conn_info(h.id).unwrap();
    assert!(!info.in_recovery);
    // RFC 6582 3.2 step 3: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
    assert!(info.cwnd <= info.ssthresh);
}

/// Linux's `tcp_reno_ssthresh` (the default `cwnd_growth = "linux"`): the reduction halves cwnd,
/// in whole segments, not FlightSize, which here includes the two limited-transmit segments.
#[test]
fn linux_reno_halves_cwnd_on_fast_retransmit() {
    let mut h = ten_segments_in_flight(plain_cfg(), mss_opt(1000));
    let una = h.iss + 1;
    for _ in 0..3 {
        h.inject(pseg(ACK, PISS + 1, una, 65535, 0));
    }
    let info = h.stack.conn_info(h.id).unwrap();
    assert!(info.in_recovery);
    assert_eq!(info.ssthresh, 5000, "cwnd was 10 segments, FlightSize 12");
}

#[test]
fn limited_transmit_sends_new_data_on_first_two_dupacks() {
    let mut h = ten_segments_in_flight(plain_cfg(), mss_opt(1000));
    let una = h.iss + 1;
    let out = h.inject(pseg(ACK, PISS + 1, una, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, una + 10_000, PISS + 1, 1000)]);
    let out = h.inject(pseg(ACK, PISS + 1, una, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, una + 11_000, PISS + 1, 1000)]);
    // The third one is the fast retransmit.
    let out = h.inject(pseg(ACK, PISS + 1, una, 65535, 0));
    assert_eq!(summary(&out), vec![(ACK, una, PISS + 1, 1000)]);
}

#[test]
fn cwnd_restarts_after_idle() {
    let mut h = H::client(plain_cfg(), 65535, mss_opt(1000));
    // Grow cwnd: 10 segments acknowledged in slow start by one ACK, each byte counted (Linux's
    // cwnd_growth; RFC 5681's one SMSS per ACK would give 11,000).
    h.send(10_000);
    h.poll();
    h.inject(pseg(ACK, PISS + 1, h.iss + 10_001, 65535, 0));
    assert_eq!(h.stack.conn_info(h.id).unwrap().cwnd, 20_000);
    // Idle for much longer than the RTO: the next burst is limited to the initial window.
    h.now = ms(10_000);
    h.send(20_000);
    let out = h.poll();
    assert_eq!(out.len(), 10);
}

/// RFC 6675 as written: the dupack rule (RACK off) and cwnd = ssthresh at once (PRR off).
fn rfc6675_cfg() -> TcpConfig {
    TcpConfig { sack: true, recovery: LossDetection::Dupack, prr: false, ..plain_cfg() }
}

#[test]
fn rfc6675_sack_recovery_retransmits_exactly_the_holes() {
    let cfg = rfc6675_cfg();
    let opts = TcpOptions { mss: Some(1000), sack_permitted: true, ..TcpOptions::default() };
    let mut h = ten_segments_in_flight(cfg, opts);
    let una = h.iss + 1;
    // Segments 0 and 4 are lost; the peer SACKs 1..4, then 5..9 progressively.
    let ack = |h: &mut H, blocks: &[(u32, u32)]| {
        let mut s = pseg(ACK, PISS + 1, una, 65535, 0);
        for (i, (l, r)) in blocks.iter().enumerate() {
            s.options.sack_blocks[i] = Some((una + l * 1000, una + r * 1000));
        }
        h.inject(s)
    };
    let mut sent = vec![];
    sent.extend(ack(&mut h, &[(1, 2)]));
    sent.extend(ack(&mut h, &[(1, 3)]));
    // Two limited-transmit segments so far, no retransmission.
    assert!(sent.iter().all(|s| s.seq >= una + 10_000), "{:?}", summary(&sent));
    let out = ack(&mut h, &[(1, 4)]);
    // Three segments SACKed above segment 0: it is lost; retransmit it (only it: its hole is one
    // segment long).
    assert_eq!(summary(&out)[0], (ACK, una, PISS + 1, 1000));
    sent.extend(out);
    for k in 6..=10 {
        sent.extend(ack(&mut h, &[(5, k), (1, 4)]));
    }
    // Segment 4 becomes lost once three segments above it are SACKed; segments 1-3 and 5-9 are
    // never retransmitted.
    let starts: Vec<u32> = sent.iter().map(|s| (s.seq - una) / 1000).collect();
    assert!(starts.contains(&0) && starts.contains(&4), "{starts:?}");
    for s in &starts {
        assert!(*s == 0 || *s == 4 || *s >= 10, "retransmitted a SACKed segment: {starts:?}");
    }
    assert_eq!(starts.iter().filter(|s| **s == 4).count(), 1);
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Retransmit { reason: RetransmitReason::Sack, .. })));
}

#[test]
fn sack_recovery_at_the_tail_resends_only_lost_segments_plus_one_rescue() {
    // RFC 6675 NextSeg: rule 3 only retransmits unSACKed data below the highest SACKed octet
    // (criterion 1.b); above it, data is merely in flight. Rule 4 allows one rescue
    // retransmission per recovery episode.
    let cfg = rfc6675_cfg();
    let opts = TcpOptions { mss: Some(1000), sack_permitted: true, ..TcpOptions::default() };
    let mut h = H::client(cfg, 65535, opts);
    h.send(10_000);
    assert_eq!(h.poll().len(), 10);
    let una = h.iss + 1;
    let ack = |h: &mut H, blocks: &[(u32, u32)]| {
        let mut s = pseg(ACK, PISS + 1, una, 65535, 0);
        for (i, (l, r)) in blocks.iter().enumerate() {
            s.options.sack_blocks[i] = Some((una + l * 1000, una + r * 1000));
        }
        h.inject(s)
    };
    // Segments 0 and 1 are lost, no new data is left: 2, 3, 4 are SACKed one by one while 5..9
    // are still on their way.
    let mut sent = vec![];
    for k in 3..=5 {
        sent.extend(ack(&mut h, &[(2, k)]));
    }
    for k in 6..=10 {
        sent.extend(ack(&mut h, &[(2, k)]));
    }
    let starts: Vec<u32> = sent.iter().map(|s| (s.seq - una) / 1000).collect();
    assert!(starts.contains(&0) && starts.contains(&1), "{starts:?}");
    let above: Vec<&u32> = starts.iter().filter(|s| **s >= 2).collect();
    // At most the rescue retransmission: the last segment, once.
    assert!(above.len() <= 1 && above.iter().all(|s| **s == 9), "{starts:?}");
    assert_eq!(starts.len(), 2 + above.len(), "{starts:?}");
}

/// The datagram an ICMP error quotes: our IP header and the first 8 octets of a segment of ours.
fn quoted_segment(seq: u32) -> Vec<u8> {
    let mut v = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0];
    v.extend_from_slice(&US.octets());
    v.extend_from_slice(&PEER.octets());
    v.extend_from_slice(&US_PORT.to_be_bytes());
    v.extend_from_slice(&PEER_PORT.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v
}

#[test]
fn icmp_fragmentation_needed_lowers_mss_and_resends_at_once() {
    // RFC 1191 6.4: on "fragmentation needed" lower the MSS to next-hop MTU - 40 and retransmit
    // the dropped segments at the new size, without waiting for the RTO.
    let mut h = H::client(plain_cfg(), 65535, mss_opt(1460));
    h.send(4 * 1460);
    let out = h.poll();
    assert_eq!(out.iter().map(Seg::len).collect::<Vec<_>>(), vec![1460; 4]);
    let una = h.iss + 1;
    h.now = ms(20);
    // Ignored: MTU below 68, not smaller than ours, or quoting a sequence number not in flight
    // (RFC 5927: SND.UNA <= SEG.SEQ < SND.MAX).
    h.stack.on_icmp_frag_needed(h.now, &quoted_segment(una), 60);
    h.stack.on_icmp_frag_needed(h.now, &quoted_segment(una), 1500);
    h.stack.on_icmp_frag_needed(h.now, &quoted_segment(una + 4 * 1460), 1000);
    h.stack.on_icmp_frag_needed(h.now, &quoted_segment(una.wrapping_sub(1)), 1000);
    assert!(h.poll().is_empty());
    assert!(!h.has_event(|k| matches!(k, TcpEventKind::PathMtu { .. })));
    // A genuine one: the first segment was too big for a 1000-byte hop.
    h.stack.on_icmp_frag_needed(h.now, &quoted_segment(una), 1000);
    let out = h.poll();
    assert!(h.has_event(|k| matches!(k, TcpEventKind::PathMtu { mtu: 1000, mss: 960 })));
    assert!(!out.is_empty());
    assert_eq!(out[0].seq, una);
    assert!(out.iter().all(|s| s.len() <= 960), "{:?}", summary(&out));
    // The others quote segments sent at the old size: no further change.
    h.stack.on_icmp_frag_needed(h.now, &quoted_segment(una + 1460), 1000);
    assert!(h.poll().is_empty());
    // New data after the ACK goes out at the new size too.
    let total: usize = out.iter().map(Seg::len).sum();
    let out = h.inject(pseg(ACK, PISS + 1, una + total as u32, 65535, 0));
    assert!(out.iter().all(|s| s.len() <= 960), "{:?}", summary(&out));
}

#[test]
fn recv_with_hands_out_slices_without_copy_and_reads_eof() {
    let mut h = H::plain_client();
    let una = PISS + 1;
    h.inject(pseg(ACK, una, h.iss + 1, 65535, 300));
    let mut got = Vec::new();
    let r = h.stack.recv_with(h.now, h.id, 100, &mut |c| got.extend_from_slice(c));
    assert_eq!(r, Ok(Some(100)));
    let r = h.stack.recv_with(h.now, h.id, 1000, &mut |c| got.extend_from_slice(c));
    assert_eq!(r, Ok(Some(200)));
    assert_eq!(got, pseg(ACK, una, 0, 0, 300).payload);
    assert_eq!(h.stack.recv_with(h.now, h.id, 1000, &mut |_| panic!("no data")), Ok(None));
    assert_eq!(h.stack.recv_with(h.now, h.id, 0, &mut |_| {}), Err(TcpError::InvalidArgument));
    h.inject(pseg(f(FIN, ACK), una + 300, h.iss + 1, 65535, 0));
    assert_eq!(h.stack.recv_with(h.now, h.id, 1000, &mut |_| panic!("no data")), Ok(Some(0)));
}

#[test]
fn cubic_is_selected_per_connection() {
    let cfg = TcpConfig { congestion: netlab::tcp::CongestionAlgorithm::Cubic, ..plain_cfg() };
    let mut h = ten_segments_in_flight(cfg, mss_opt(1000));
    let una = h.iss + 1;
    for _ in 0..3 {
        h.inject(pseg(ACK, PISS + 1, una, 65535, 0));
    }
    // RFC 9438 4.6: ssthresh = cwnd * beta_cubic (0.7), not FlightSize / 2.
    let info = h.stack.conn_info(h.id).unwrap();
    assert_eq!(info.ssthresh, 7000);
}

// ====================================================================== events

#[test]
fn events_serialize_with_snake_case_tags() {
    let mut h = H::plain_client();
    h.send(10);
    h.poll();
    let json: Vec<String> = h.events.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
    let all = json.join("\n");
    assert!(all.contains(r#""event":"state_change""#), "{all}");
    assert!(all.contains(r#""event":"segment_sent""#));
    assert!(all.contains(r#""event":"segment_received""#));
    assert!(all.contains(r#""event":"timer_set""#));
    assert!(all.contains(r#""event":"app_call""#));
    assert!(all.contains(r#""flags":"SYN""#));
    if std::env::var("SHOW_EVENTS").is_ok() {
        eprintln!("{all}");
    }
}

// ====================================================================== modern loss recovery

/// A client with SACK (and D-SACK, RACK-TLP, undo, PRR: the defaults) to a peer with MSS 1000,
/// whose handshake took 100 ms (SRTT 100 ms); the clock is then at 100 ms.
fn modern_client(timestamps: bool) -> H {
    sack_client(TcpConfig { sack: true, timestamps, ..plain_cfg() })
}

/// An established client with `cfg`, the peer's SYN-ACK offering SACK (and timestamps when `cfg` has
/// them) and an MSS of 1000, at 100 ms (the SYN's RTT).
fn sack_client(cfg: TcpConfig) -> H {
    let timestamps = cfg.timestamps;
    let mut h = H::new(cfg);
    h.id = h.stack.connect(h.now, SocketAddrV4::new(US, US_PORT), SocketAddrV4::new(PEER, PEER_PORT), None).unwrap();
    let syn = h.poll();
    h.iss = syn[0].seq;
    let mut synack = pseg(f(SYN, ACK), PISS, h.iss + 1, 65535, 0);
    synack.options = TcpOptions { mss: Some(1000), sack_permitted: true, ..TcpOptions::default() };
    if timestamps {
        synack.options.timestamps = Some((100, syn[0].options.timestamps.unwrap().0));
    }
    h.now = ms(100);
    h.inject(synack);
    assert_eq!(h.state(), Some(TcpState::Established));
    h
}

/// Moves the clock `d` ms on without firing timers (what happens meanwhile is the test's).
fn later(h: &mut H, d: u64) {
    h.now += Duration::from_millis(d);
}

/// A peer ACK of `una + ack` (in 1000-byte segments) with SACK blocks in segments.
fn sack_ack(h: &mut H, ack: u32, blocks: &[(u32, u32)]) -> Vec<Seg> {
    let una = h.iss + 1;
    let mut s = pseg(ACK, PISS + 1, una + ack * 1000, 65535, 0);
    for (i, (l, r)) in blocks.iter().enumerate() {
        s.options.sack_blocks[i] = Some((una + l * 1000, una + r * 1000));
    }
    h.inject(s)
}

fn retransmissions(h: &H) -> usize {
    h.events.iter().filter(|e| matches!(e.kind, TcpEventKind::Retransmit { .. })).count()
}

#[test]
fn a_duplicate_segment_is_reported_in_the_first_sack_block() {
    let mut h = modern_client(false);
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1, 65535, 100));
    assert_eq!(out.len(), 1);
    assert!(out[0].sack().is_empty());
    // The same segment again: below RCV.NXT, reported as a D-SACK (RFC 2883 4.1.1).
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1, 65535, 100));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].sack(), vec![(PISS + 1, PISS + 101)]);
    assert!(h.has_event(|k| matches!(k, TcpEventKind::DsackSent { old: true, .. })));
    // Out of order data received twice: the D-SACK first, then the block holding it (4.1.2).
    h.inject(pseg(ACK, PISS + 201, h.iss + 1, 65535, 100));
    let out = h.inject(pseg(ACK, PISS + 201, h.iss + 1, 65535, 100));
    assert_eq!(out[0].sack(), vec![(PISS + 201, PISS + 301), (PISS + 201, PISS + 301)]);
    // Reported once: the next ACK has only the ordinary blocks.
    let out = h.inject(pseg(ACK, PISS + 401, h.iss + 1, 65535, 100));
    assert_eq!(out[0].sack(), vec![(PISS + 401, PISS + 501), (PISS + 201, PISS + 301)]);
}

/// Linux's receiver compresses SACKs (`tcp_comp_sack_nr` = 44, `tcp_comp_sack_delay_ns` = 1 ms):
/// while a hole is open, the first three duplicate ACKs go at once, the rest wait up to 1 ms (at
/// most 5% of the RTT) and go as one ACK that SACKs everything held back.
#[test]
fn out_of_order_acks_after_the_third_duplicate_are_compressed_as_linux_does() {
    let mut h = modern_client(false);
    let seg = |i: u32| PISS + 1 + i * 1000;
    let t0 = h.now;
    let at = |us: u64| t0 + Duration::from_micros(us);
    // Segment 0 is lost; 1, 2 and 3 are each acknowledged at once, with RCV.NXT unchanged.
    for i in 1..=3 {
        let out = h.inject(pseg(ACK, seg(i), h.iss + 1, 65535, 1000));
        assert_eq!(out.len(), 1, "duplicate ACK {i} goes at once");
        assert_eq!((out[0].ack, out[0].sack()), (seg(0), vec![(seg(1), seg(i + 1))]));
    }
    // 4..=8 arrive 100 us apart: no ACK for any of them yet.
    for i in 4..=8 {
        h.now = at(u64::from(i - 3) * 100);
        assert!(h.inject(pseg(ACK, seg(i), h.iss + 1, 65535, 1000)).is_empty(), "segment {i} is held back");
    }
    // 1 ms after the first held-back segment, one ACK reports all of them.
    let out = h.advance(at(5_000));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, at(100) + Duration::from_millis(1));
    assert_eq!((out[0].1.ack, out[0].1.sack()), (seg(0), vec![(seg(1), seg(9))]));
    // The retransmission fills the hole: acknowledged at once (RFC 5681 4.2).
    let out = h.inject(pseg(ACK, seg(0), h.iss + 1, 65535, 1000));
    assert_eq!((out.len(), out[0].ack), (1, seg(9)));
    assert_eq!(h.read_all().unwrap().map(|d| d.len()), Some(9000));
}

/// Linux's `tcp_sack_new_ofo_skb`: a held-back ACK goes out before a new SACK block would push a
/// block no ACK has reported yet out of the option. Here every held-back segment starts a block of
/// its own (each one beyond a hole): without that ACK, the one ACK after the delay would report
/// only the three newest and the sender would never hear of segment 5.
#[test]
fn a_held_back_ack_goes_out_before_its_sack_blocks_would_be_pushed_out() {
    let mut h = modern_client(false);
    let seg = |i: u32| PISS + 1 + i * 1000;
    let t0 = h.now;
    let at = |us: u64| t0 + Duration::from_micros(us);
    // Segment 0 is lost; 1, 2 and 3 are acknowledged at once (the first three duplicate ACKs).
    for i in 1..=3 {
        assert_eq!(h.inject(pseg(ACK, seg(i), h.iss + 1, 65535, 1000)).len(), 1);
    }
    let mut reported: Vec<(u32, u32)> = Vec::new();
    // 5 starts a second block (the two reported first are [1,4) and [5,6)): held back.
    h.now = at(100);
    assert!(h.inject(pseg(ACK, seg(5), h.iss + 1, 65535, 1000)).is_empty());
    // 7, 9 and 11 each start a block behind two others: the held-back ACK goes first, with the
    // blocks before the new one, and the new segment is held back in its turn.
    for (k, i) in [7u32, 9, 11].into_iter().enumerate() {
        h.now = at(200 + 100 * k as u64);
        let out = h.inject(pseg(ACK, seg(i), h.iss + 1, 65535, 1000));
        assert_eq!(out.len(), 1, "segment {i} flushes the held-back ACK");
        assert_eq!(out[0].ack, seg(0));
        assert_eq!(out[0].sack()[0], (seg(i - 2), seg(i - 1)), "the newest block before {i} comes first");
        reported.extend(out[0].sack());
    }
    // The delay's ACK reports 11 with the blocks before it.
    let out = h.advance(at(5_000));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.sack()[0], (seg(11), seg(12)));
    reported.extend(out[0].1.sack());
    for i in [5u32, 7, 9, 11] {
        assert!(reported.contains(&(seg(i), seg(i + 1))), "segment {i} was SACKed by some ACK");
    }
}

/// `comp_sack_nr = 0` is RFC 5681 4.2 as written: every out-of-order segment is acknowledged at once.
#[test]
fn without_sack_compression_every_out_of_order_segment_is_acknowledged() {
    let mut h = sack_client(TcpConfig { sack: true, comp_sack_nr: 0, ..plain_cfg() });
    for i in 1..=8u32 {
        let out = h.inject(pseg(ACK, PISS + 1 + i * 1000, h.iss + 1, 65535, 1000));
        assert_eq!((out.len(), out[0].ack), (1, PISS + 1), "segment {i} is acknowledged at once");
    }
}

/// At most `comp_sack_nr` ACKs are held back: the next one goes at once, timer or not.
#[test]
fn no_more_than_comp_sack_nr_acks_are_held_back() {
    let mut h = sack_client(TcpConfig { sack: true, comp_sack_nr: 2, ..plain_cfg() });
    let sent: Vec<bool> =
        (1..=7u32).map(|i| !h.inject(pseg(ACK, PISS + 1 + i * 1000, h.iss + 1, 65535, 1000)).is_empty()).collect();
    // Three duplicate ACKs, two held back, the sixth sent (and resets the count), the seventh held.
    assert_eq!(sent, vec![true, true, true, false, false, true, false]);
}

#[test]
fn without_dsack_a_duplicate_gets_a_plain_ack() {
    let cfg = TcpConfig { sack: true, dsack: false, ..plain_cfg() };
    let opts = TcpOptions { mss: Some(1000), sack_permitted: true, ..TcpOptions::default() };
    let mut h = H::client(cfg, 65535, opts);
    h.inject(pseg(ACK, PISS + 1, h.iss + 1, 65535, 100));
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1, 65535, 100));
    assert!(out[0].sack().is_empty());
}

#[test]
fn a_dsack_from_the_peer_is_recognised() {
    let mut h = modern_client(false);
    h.send(10_000);
    assert_eq!(h.poll().len(), 10);
    later(&mut h, 100);
    sack_ack(&mut h, 2, &[]);
    // The first block lies below the cumulative ACK: a D-SACK (RFC 2883 4), not SACK news.
    sack_ack(&mut h, 2, &[(0, 1)]);
    assert!(h.has_event(|k| matches!(k, TcpEventKind::DsackReceived { .. })));
    assert_eq!(retransmissions(&h), 0);
}

#[test]
fn without_reordering_seen_three_sacked_segments_mark_the_hole_lost_at_once() {
    let mut h = modern_client(false);
    h.send(20_000);
    assert_eq!(h.poll().len(), 10);
    later(&mut h, 100);
    // One or two SACKed segments: RACK waits min_RTT / 4 for segment 0.
    sack_ack(&mut h, 0, &[(1, 2)]);
    sack_ack(&mut h, 0, &[(1, 3)]);
    assert!(!h.has_event(|k| matches!(k, TcpEventKind::MarkedLost { .. })));
    let out = sack_ack(&mut h, 0, &[(1, 4)]);
    // RFC 8985 6.2 step 4: no reordering seen and DupThresh segments SACKed: window zero.
    assert!(out.iter().any(|s| s.seq == h.iss + 1 && s.len() == 1000), "{:?}", summary(&out));
    assert!(h.has_event(|k| matches!(k, TcpEventKind::MarkedLost { reo_wnd, .. } if reo_wnd.is_zero())));
    assert!(h.has_event(|k| matches!(k, TcpEventKind::RecoveryStart { sack: true, .. })));
}

#[test]
fn reordering_seen_once_widens_the_window_and_the_next_reordering_costs_no_retransmission() {
    let mut h = modern_client(false);
    h.send(40_000);
    assert_eq!(h.poll().len(), 10);
    // Round 1 (RTT 100 ms): segment 1 arrives after segment 2, 1 ms late.
    later(&mut h, 100);
    sack_ack(&mut h, 1, &[]);
    sack_ack(&mut h, 1, &[(2, 3)]);
    later(&mut h, 1);
    sack_ack(&mut h, 10, &[]);
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Reordering { degree: 2, .. })), "reordering detected");
    assert_eq!(retransmissions(&h), 0);
    // Round 2: segment 10 is overtaken by three others. Before any reordering was seen, three
    // SACKed segments made RACK's window zero and the hole lost at once (the test above); now
    // the window stays min_RTT / 4 = 25 ms, and segment 10 arrives 10 ms late.
    later(&mut h, 99);
    for k in 12..=14 {
        let out = sack_ack(&mut h, 10, &[(11, k)]);
        assert!(out.iter().all(|s| s.seq >= h.iss + 1 + 11_000), "no retransmission of segment 10");
    }
    let t = h.now + Duration::from_millis(10);
    let meanwhile = h.advance(t);
    assert!(meanwhile.is_empty(), "{meanwhile:?}");
    sack_ack(&mut h, 14, &[]);
    assert_eq!(retransmissions(&h), 0);
    assert!(!h.has_event(|k| matches!(k, TcpEventKind::RecoveryStart { .. })));
    assert!(!h.has_event(|k| matches!(k, TcpEventKind::MarkedLost { .. })));
}

/// `sack_ack` in segments of 988 bytes (1000 less the timestamp option) with a timestamp option:
/// the peer's `tsval`, echoing `tsecr`.
fn ts_sack_ack(h: &mut H, ack: u32, blocks: &[(u32, u32)], tsval: u32, tsecr: u32) -> Vec<Seg> {
    let (una, seg) = (h.iss + 1, 988);
    let mut s = pseg(ACK, PISS + 1, una + ack * seg, 65535, 0);
    for (i, (l, r)) in blocks.iter().enumerate() {
        s.options.sack_blocks[i] = Some((una + l * seg, una + r * seg));
    }
    s.options.timestamps = Some((tsval, tsecr));
    h.inject(s)
}

#[test]
fn an_undo_part_way_through_recovery_ends_it_as_linux_does() {
    let mut h = modern_client(true);
    h.send(40_000);
    let first = h.poll();
    assert_eq!(first[0].len(), 988);
    let ts0 = first[0].options.timestamps.unwrap().0;
    // Segment 0 is overtaken by three others before any reordering was seen: taken for lost.
    later(&mut h, 100);
    ts_sack_ack(&mut h, 0, &[(1, 2)], 200, ts0);
    ts_sack_ack(&mut h, 0, &[(1, 3)], 200, ts0);
    let out = ts_sack_ack(&mut h, 0, &[(1, 4)], 200, ts0);
    assert!(out.iter().any(|s| s.seq == h.iss + 1), "segment 0 resent: {:?}", summary(&out));
    assert!(h.stack.conn_info(h.id).unwrap().in_recovery);
    // Its original arrives after all: the ACK echoes the original's TSval (Eifel, RFC 3522).
    later(&mut h, 5);
    ts_sack_ack(&mut h, 4, &[], 201, ts0);
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Undo { episode: "partial", .. })));
    // Linux's tcp_try_undo_partial goes on to tcp_try_keep_open: the recovery is over at once,
    // not when everything sent before it is acknowledged, and the window grows again.
    let info = h.stack.conn_info(h.id).unwrap();
    assert!(!info.in_recovery, "the undone recovery is over");
    later(&mut h, 5);
    ts_sack_ack(&mut h, 6, &[], 202, ts0);
    assert!(h.stack.conn_info(h.id).unwrap().cwnd > info.cwnd, "slow start goes on");
    assert_eq!(retransmissions(&h), 1, "only segment 0 was ever resent");
}

/// Eifel's test (RFC 3522) is about the ACK of the retransmitted segment. When the delayed
/// original of one hole arrives while the retransmission of another, really lost, segment is
/// still in flight, Linux's `tcp_try_undo_partial` does not undo (`retrans_out` > 0): the
/// reduction stands.
#[test]
fn no_undo_while_a_retransmission_is_still_in_flight() {
    let mut h = modern_client(true);
    h.send(40_000);
    let first = h.poll();
    let ts0 = first[0].options.timestamps.unwrap().0;
    // Segments 0 and 2 are missing; 1 and 3 to 6 arrive: both holes are taken for lost (and
    // segment 0 resent at once).
    later(&mut h, 100);
    let mut out = ts_sack_ack(&mut h, 0, &[(1, 2)], 200, ts0);
    out.extend(ts_sack_ack(&mut h, 0, &[(3, 4), (1, 2)], 200, ts0));
    out.extend(ts_sack_ack(&mut h, 0, &[(3, 5), (1, 2)], 200, ts0));
    out.extend(ts_sack_ack(&mut h, 0, &[(3, 6), (1, 2)], 200, ts0));
    out.extend(ts_sack_ack(&mut h, 0, &[(3, 7), (1, 2)], 200, ts0));
    // PRR lets segment 2's retransmission out as the new segments 10 and 11 are SACKed.
    out.extend(ts_sack_ack(&mut h, 0, &[(10, 11), (3, 7), (1, 2)], 200, ts0));
    out.extend(ts_sack_ack(&mut h, 0, &[(10, 12), (3, 7), (1, 2)], 200, ts0));
    let resent = |k: u32| out.iter().any(|s| s.seq == h.iss + 1 + k * 988);
    assert!(resent(0) && resent(2), "segments 0 and 2 resent: {:?}", summary(&out));
    let reduced = h.stack.conn_info(h.id).unwrap();
    assert!(reduced.in_recovery);
    // Segment 0's original arrives late (the ACK echoes its TSval) while segment 2's
    // retransmission is still on its way: no undo, the recovery goes on.
    later(&mut h, 5);
    ts_sack_ack(&mut h, 2, &[(10, 12), (3, 7)], 201, ts0);
    assert!(!h.has_event(|k| matches!(k, TcpEventKind::Undo { .. })), "no undo yet");
    let info = h.stack.conn_info(h.id).unwrap();
    assert!(info.in_recovery, "the recovery goes on");
    assert_eq!(info.ssthresh, reduced.ssthresh, "ssthresh stays reduced");
}

/// The highest segment (1000-byte units past the ISS) in `out`, or `top`.
fn highest_sent(h: &H, out: &[Seg], top: u32) -> u32 {
    out.iter().map(|s| (s.seq.wrapping_sub(h.iss + 1) + s.len() as u32) / 1000).fold(top, u32::max)
}

/// One round trip (100 ms) after the last: the peer has received the whole previous flight, but
/// its first segment arrived after `overtaken_by` later ones (SACKed first, the cumulative ACK 5 ms
/// later). Returns cwnd before the round, after its SACKs and at its end, and the flight's bytes.
fn round(h: &mut H, una: &mut u32, top: &mut u32, overtaken_by: u32) -> (u32, u32, u32, u32) {
    let cwnd = |h: &H| h.stack.conn_info(h.id).unwrap().cwnd;
    let (first, flight_end) = (*una, *top);
    later(h, 95);
    let before = cwnd(h);
    for k in 1..=overtaken_by {
        let out = sack_ack(h, first, &[(first + 1, first + 1 + k)]);
        *top = highest_sent(h, &out, *top);
    }
    let sacked = cwnd(h);
    later(h, 5);
    let out = sack_ack(h, flight_end, &[]);
    *top = highest_sent(h, &out, *top);
    *una = flight_end;
    (before, sacked, cwnd(h), (flight_end - first) * 1000)
}

/// Two rounds that show reordering (of degree 2, then 6: past the threshold of 3), then a third in
/// which the flight's first segment is held back behind five others.
fn cwnd_across_a_held_back_segment(growth: CwndGrowth) -> (u32, u32, u32, u32) {
    let mut h = sack_client(TcpConfig { sack: true, cwnd_growth: growth, ..plain_cfg() });
    h.send(400_000);
    let out = h.poll();
    let (mut una, mut top) = (0, highest_sent(&h, &out, 0));
    round(&mut h, &mut una, &mut top, 1);
    round(&mut h, &mut una, &mut top, 5);
    let third = round(&mut h, &mut una, &mut top, 5);
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Reordering { threshold: 6, .. })));
    assert_eq!(retransmissions(&h), 0, "nothing was taken for lost");
    third
}

#[test]
fn once_reordering_exceeds_three_sacks_grow_the_window_as_linux_does() {
    // Linux (tcp_may_raise_cwnd): with reordering above 3, SACKs are progress; every delivered
    // segment counts, so holding segment 20 back costs slow start nothing.
    let (before, sacked, after, flight) = cwnd_across_a_held_back_segment(CwndGrowth::Linux);
    assert_eq!(sacked, before + 5_000, "five SACKed segments");
    assert_eq!(after, before + flight, "the whole flight, each segment once");
    // RFC 5681: SACKs grow nothing, and the one cumulative ACK for the flight adds one SMSS.
    let (before, sacked, after, _) = cwnd_across_a_held_back_segment(CwndGrowth::Rfc5681);
    assert_eq!(sacked, before);
    assert_eq!(after, before + 1_000);
}

#[test]
fn the_dupack_rule_raises_its_threshold_to_the_reordering_seen() {
    let cfg = TcpConfig { sack: true, recovery: LossDetection::Dupack, ..plain_cfg() };
    let opts = TcpOptions { mss: Some(1000), sack_permitted: true, ..TcpOptions::default() };
    let mut h = H::client(cfg, 65535, opts);
    h.send(40_000);
    assert_eq!(h.poll().len(), 10);
    // Segment 0 arrives after segments 1-5: taken for lost, it is retransmitted at once; then
    // the peer's ACK reports the retransmission as a duplicate (D-SACK): it was reordering, of
    // degree 6, and the reduction is undone.
    let out = sack_ack(&mut h, 0, &[(1, 6)]);
    assert_eq!(summary(&out)[0].1, h.iss + 1);
    sack_ack(&mut h, 10, &[(0, 1)]);
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Undo { reason: "dsack", .. })));
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Reordering { degree: 6, threshold: 6 })));
    // Three SACKed segments above a hole are no longer taken for a loss (RFC 6675's DupThresh
    // raised to the degree, as Linux's tp->reordering).
    let before = retransmissions(&h);
    for k in 12..=14 {
        sack_ack(&mut h, 10, &[(11, k)]);
    }
    assert_eq!(retransmissions(&h), before);
}

#[test]
fn a_lost_tail_is_probed_before_the_rto() {
    let mut h = modern_client(false);
    h.send(10_000);
    assert_eq!(h.poll().len(), 10);
    // Everything but the last two segments arrives; RTT 100 ms.
    later(&mut h, 100);
    sack_ack(&mut h, 8, &[]);
    let rto_at = h.stack.conn_info(h.id).unwrap().timers.iter().find(|t| t.0 == TimerKind::Retransmit).unwrap().1;
    // PTO = 2 * SRTT + 2 ms: the last segment is sent again as a probe, before the RTO.
    let t = h.now + Duration::from_millis(250);
    let out = h.advance(t);
    let probe = out.iter().find(|(_, s)| s.len() > 0).expect("a probe");
    assert!(probe.0 < rto_at, "probe at {:?}, RTO at {rto_at:?}", probe.0);
    assert_eq!(probe.1.seq, h.iss + 1 + 9000, "the probe resends the last segment");
    assert!(h.has_event(|k| matches!(k, TcpEventKind::LossProbe { new_data: false, .. })));
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Retransmit { reason: RetransmitReason::LossProbe, .. })));
    // Its SACK, a round trip later, shows segment 8 missing: RACK marks it lost and fast
    // recovery resends it; no RTO.
    h.now = probe.0 + Duration::from_millis(100);
    let out = sack_ack(&mut h, 8, &[(9, 10)]);
    assert_eq!(summary(&out).first().map(|s| s.1), Some(h.iss + 1 + 8000), "{:?}", summary(&out));
    sack_ack(&mut h, 10, &[]);
    assert!(!h.has_event(|k| matches!(k, TcpEventKind::RtoBackoff { .. })));
}

/// Two segments sent at 100 ms get no answer: a loss probe goes out at 302 ms (2 * SRTT + 2 ms),
/// then the RTO (SRTT 100 ms, RTTVAR 50 ms: 300 ms, restarted by the probe) resends
/// segment 0 at 602 ms. Returns the TSvals of the original and of the RTO retransmission.
fn timeout_of_two_segments(h: &mut H) -> (u32, u32) {
    h.send(2_000);
    let sent = h.poll();
    assert_eq!(sent.len(), 2);
    let t = h.now + Duration::from_millis(550);
    let out = h.advance(t);
    let rexmit = out.iter().find(|(_, s)| s.seq == h.iss + 1).expect("an RTO retransmission");
    assert!(h.has_event(|k| matches!(k, TcpEventKind::RtoBackoff { .. })));
    (sent[0].options.timestamps.unwrap().0, rexmit.1.options.timestamps.unwrap().0)
}

#[test]
fn a_spurious_timeout_proven_by_timestamps_is_undone() {
    let mut h = modern_client(true);
    let cwnd_before = h.stack.conn_info(h.id).unwrap().cwnd;
    let (original_ts, rexmit_ts) = timeout_of_two_segments(&mut h);
    assert!(original_ts < rexmit_ts);
    // Then the ACK of the originals arrives: it echoes the first transmission's TSval, older than
    // the retransmission's (Eifel detection, RFC 3522): the timeout was spurious.
    let mut ack = pseg(ACK, PISS + 1, h.iss + 1 + 2000, 65535, 0);
    ack.options.timestamps = Some((200, original_ts));
    h.inject(ack);
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Undo { reason: "timestamp", episode: "loss", .. })));
    assert_eq!(h.stack.conn_info(h.id).unwrap().cwnd, cwnd_before, "cwnd restored (RFC 4015)");
    // The probe carried the 24 bytes Nagle held back (new data, RFC 8985 7.3); the RTO resent
    // segment 0 only; the undo stops the go-back-N that would have resent segment 1.
    assert_eq!(retransmissions(&h), 1, "the one RTO retransmission; no go-back-N");
}

#[test]
fn a_real_timeout_is_not_undone() {
    let mut h = modern_client(true);
    let (_, rexmit_ts) = timeout_of_two_segments(&mut h);
    // The ACK echoes the retransmission's TSval: the retransmission repaired a real loss.
    let mut ack = pseg(ACK, PISS + 1, h.iss + 1 + 1000, 65535, 0);
    ack.options.timestamps = Some((200, rexmit_ts));
    h.inject(ack);
    assert!(!h.has_event(|k| matches!(k, TcpEventKind::Undo { .. })));
}

// ====================================================================== F-RTO (RFC 5682)

/// A SACK client without timestamps (so Eifel cannot decide) nor loss probes, with F-RTO as
/// configured, that sent 10 segments of 14 (the initial window) and whose RTO fired with none
/// acknowledged: only segment 0 was resent (RFC 5682 3 step 1). Returns the cwnd before the timeout.
fn frto_after_timeout(frto: bool) -> (H, u32) {
    let mut h = sack_client(TcpConfig { sack: true, timestamps: false, tlp: false, frto, ..plain_cfg() });
    h.send(14_000);
    let sent = h.poll();
    assert_eq!(sent.len(), 10, "the initial window: {:?}", summary(&sent));
    let cwnd_before = h.stack.conn_info(h.id).unwrap().cwnd;
    let rto_at = h.stack.conn_info(h.id).unwrap().timers.iter().find(|t| t.0 == TimerKind::Retransmit).unwrap().1;
    let out = h.advance(rto_at);
    assert_eq!(out.iter().map(|(_, s)| (s.seq, s.len())).collect::<Vec<_>>(), vec![(h.iss + 1, 1000)]);
    assert!(h.has_event(|k| matches!(k, TcpEventKind::RtoBackoff { .. })));
    (h, cwnd_before)
}

#[test]
fn frto_detects_a_spurious_timeout_and_undoes_it() {
    let (mut h, cwnd_before) = frto_after_timeout(true);
    // The originals were only delayed: their ACKs arrive after the timeout. The first advances
    // SND.UNA below "recover": F-RTO sends two new segments (10 and 11) instead of resending 1
    // and 2 (step 2b).
    later(&mut h, 10);
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1 + 2000, 65535, 0));
    assert_eq!(
        summary(&out),
        vec![(ACK, h.iss + 1 + 10_000, PISS + 1, 1000), (ACK, h.iss + 1 + 11_000, PISS + 1, 1000)]
    );
    // The next ACK acknowledges segments that were never resent: the timeout was spurious
    // (step 3b). The reduction is undone and the sender goes on with new data, no go-back-N.
    later(&mut h, 10);
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1 + 4000, 65535, 0));
    assert!(h.has_event(|k| matches!(k, TcpEventKind::Undo { reason: "frto", episode: "loss", .. })));
    assert!(h.stack.conn_info(h.id).unwrap().cwnd >= cwnd_before, "cwnd restored");
    assert!(out.iter().all(|s| s.seq >= h.iss + 1 + 12_000), "only new data: {:?}", summary(&out));
    assert_eq!(retransmissions(&h), 1, "the one RTO retransmission");
}

#[test]
fn frto_falls_back_to_go_back_n_on_a_duplicate_ack() {
    let (mut h, _) = frto_after_timeout(true);
    later(&mut h, 10);
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1 + 2000, 65535, 0));
    assert_eq!(out.len(), 2, "two new segments (step 2b): {:?}", summary(&out));
    // A duplicate ACK: segment 2 is really lost (step 3a). Conventional recovery resends from
    // SND.UNA; nothing is undone.
    later(&mut h, 10);
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1 + 2000, 65535, 0));
    assert_eq!(out.first().map(|s| (s.seq, s.len())), Some((h.iss + 1 + 2000, 1000)), "{:?}", summary(&out));
    assert!(!h.has_event(|k| matches!(k, TcpEventKind::Undo { .. })));
}

#[test]
fn without_frto_a_timeout_goes_back_n_and_is_not_undone() {
    let (mut h, _) = frto_after_timeout(false);
    later(&mut h, 10);
    let out = h.inject(pseg(ACK, PISS + 1, h.iss + 1 + 2000, 65535, 0));
    assert_eq!(out.first().map(|s| (s.seq, s.len())), Some((h.iss + 1 + 2000, 1000)), "{:?}", summary(&out));
    later(&mut h, 10);
    h.inject(pseg(ACK, PISS + 1, h.iss + 1 + 4000, 65535, 0));
    assert!(!h.has_event(|k| matches!(k, TcpEventKind::Undo { .. })));
}
