//! The TCP stack's segment input: a listener and a connection established with a scripted peer are
//! fed segments built from the fuzz input (any flags, sequence numbers near the real ones or
//! anywhere, options, payloads), with application calls and advancing time between them. Checked
//! after every step:
//! - every segment the stack sends can be emitted (at most 65,535 bytes) and carries at most the
//!   MSS the peer announced (RFC 9293 3.7.1; the stack raises announcements below 64 to 64);
//! - SND.UNA <= SND.NXT <= the highest sequence number sent, and nothing beyond what the
//!   application gave (plus SYN and FIN) was ever sent (RFC 9293 3.3.1);
//! - the bytes sent are the application's, at their offsets, and the bytes received are the
//!   peer's (the peer's payload byte is a function of its sequence number, so a retransmission of
//!   the same range carries the same bytes);
//! - once everything is closed, every socket is freed within hours of simulated time.

use crate::Bytes;
use netlab::sim::{Duration, Instant};
use netlab::tcp::{SocketId, TcpConfig, TcpStack, TcpState};
use netlab::wire::{TcpFlags, TcpOptions, TcpRepr};
use std::net::{Ipv4Addr, SocketAddrV4};

const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PEER_PORT: u16 = 5000;

/// The peer's byte at sequence number `seq`.
fn peer_byte(seq: u32) -> u8 {
    (seq.wrapping_mul(0x9e37_79b1) >> 24) as u8
}

/// The application's byte at stream offset `off`.
fn app_byte(off: u64) -> u8 {
    (off.wrapping_mul(0x2545_f491) >> 11) as u8
}

/// `a <= b` in sequence space.
fn seq_le(a: u32, b: u32) -> bool {
    b.wrapping_sub(a) < 1 << 31
}

struct Run {
    st: TcpStack,
    now: Instant,
    cfg: TcpConfig,
    client: SocketId,
    listener: SocketId,
    accepted: Vec<SocketId>,
    local_port: u16,
    our_iss: u32,
    peer_iss: u32,
    peer_mss: u16,
    /// Bytes the application handed to the client connection.
    sent: u64,
    /// Bytes the application read from it.
    received: u64,
    /// The end of the highest segment the stack sent on the client connection, as an ACK target.
    our_max: u32,
}

/// Checks one input.
pub fn check(data: &[u8]) {
    let mut b = Bytes::new(data);
    let Some(mut run) = Run::start(&mut b) else { return };
    let mut steps = 0;
    while !b.is_empty() && steps < 400 {
        steps += 1;
        run.step(&mut b);
        run.flush();
    }
    run.finish();
}

impl Run {
    fn start(b: &mut Bytes<'_>) -> Option<Run> {
        let f = b.u8();
        let cfg = TcpConfig {
            sack: f & 1 != 0,
            timestamps: f & 2 != 0,
            window_scaling: f & 4 != 0,
            delayed_ack: f & 8 != 0,
            nagle: f & 16 != 0,
            keepalive: (f & 32 != 0).then(|| Duration::from_secs(5)),
            mss: b.u16(),
            send_buffer: 1 + usize::from(b.u16()) * 4,
            recv_buffer: 1 + usize::from(b.u16()) * 4,
            max_retransmissions: u32::from(b.u8() % 8),
            ..TcpConfig::default()
        };
        let mut st = TcpStack::new(7, cfg.clone());
        let now = Instant::ZERO;
        let listener = st.listen(now, SocketAddrV4::new(US, 80), 4, None).ok()?;
        let client = st.connect(now, SocketAddrV4::new(US, 0), SocketAddrV4::new(PEER, PEER_PORT), None).ok()?;
        let mut syn = None;
        st.poll_transmit(now, &mut |_, _, r| syn = Some((r.seq, r.src_port)));
        let (our_iss, local_port) = syn.expect("connect sends a SYN");
        let peer_iss = b.u32();
        let o = b.u8();
        let peer_mss = b.u16();
        let options = TcpOptions {
            mss: (o & 1 != 0).then_some(peer_mss),
            window_scale: (o & 2 != 0).then_some(o >> 4),
            sack_permitted: o & 4 != 0,
            timestamps: (o & 8 != 0).then_some((1, 0)),
            sack_blocks: [None; 4],
        };
        let syn_ack = TcpRepr {
            src_port: PEER_PORT,
            dst_port: local_port,
            seq: peer_iss,
            ack: our_iss.wrapping_add(1),
            flags: TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0),
            window: b.u16(),
            urgent: 0,
            options,
            payload: &[],
        };
        st.on_segment(now, PEER, US, &syn_ack);
        // RFC 9293 3.7.1: without an MSS option the peer can take 536 bytes.
        let peer_mss = if o & 1 != 0 { peer_mss } else { 536 };
        let mut run = Run {
            st,
            now,
            cfg,
            client,
            listener,
            accepted: Vec::new(),
            local_port,
            our_iss,
            peer_iss,
            peer_mss,
            sent: 0,
            received: 0,
            our_max: our_iss.wrapping_add(1),
        };
        run.flush();
        assert_eq!(run.st.state(client), Some(TcpState::Established), "a valid SYN-ACK establishes");
        Some(run)
    }

    fn step(&mut self, b: &mut Bytes<'_>) {
        match b.u8() % 8 {
            op @ 0..=2 => {
                // A segment of the client connection: near the peer's sequence space, or anywhere.
                let seq = if op == 2 {
                    b.u32()
                } else {
                    self.peer_iss
                        .wrapping_add(1)
                        .wrapping_add(self.received as u32)
                        .wrapping_add(i32::from(b.u16() as i16) as u32)
                };
                let ack = self.our_max.wrapping_add(i32::from(b.u8() as i8) as u32);
                let mut flags = TcpFlags(b.u8() & 0x3f);
                if op == 0 {
                    flags = TcpFlags(flags.0 | TcpFlags::ACK.0);
                }
                self.segment(b, PEER_PORT, self.local_port, seq, ack, flags);
            }
            3 => {
                // Anything at the listener, from one of four ports.
                let port = 6000 + u16::from(b.u8() % 4);
                let (seq, ack) = (b.u32(), b.u32());
                let flags = TcpFlags(b.u8() & 0x3f);
                self.segment(b, port, 80, seq, ack, flags);
            }
            4 => {
                self.now += Duration::from_millis(u64::from(b.u16()) * 4);
            }
            5 => {
                let n = usize::from(b.u16() % 5000);
                let start = self.sent;
                let data: Vec<u8> = (0..n as u64).map(|i| app_byte(start + i)).collect();
                if let Ok(k) = self.st.send(self.now, self.client, &data) {
                    self.sent += k as u64;
                }
            }
            6 => {
                let mut buf = vec![0u8; 4096];
                if let Ok(Some(n)) = self.st.recv(self.now, self.client, &mut buf) {
                    let base = self.peer_iss.wrapping_add(1).wrapping_add(self.received as u32);
                    for (i, &byte) in buf[..n].iter().enumerate() {
                        assert_eq!(
                            byte,
                            peer_byte(base.wrapping_add(i as u32)),
                            "byte {} of the stream",
                            self.received + i as u64
                        );
                    }
                    self.received += n as u64;
                }
            }
            _ => match b.u8() % 6 {
                0 => {
                    if let Ok(Some(s)) = self.st.accept(self.now, self.listener) {
                        self.accepted.push(s);
                    }
                }
                1 => {
                    let _ = self.st.shutdown_write(self.now, self.client);
                }
                2 => {
                    let _ = self.st.close(self.now, self.client);
                }
                3 => {
                    let _ = self.st.abort(self.now, self.client);
                }
                4 => {
                    let mut buf = [0u8; 512];
                    for &s in &self.accepted {
                        let _ = self.st.recv(self.now, s, &mut buf);
                        let _ = self.st.send(self.now, s, &buf[..100]);
                    }
                }
                _ => {
                    if let Some(s) = self.accepted.pop() {
                        let _ = self.st.close(self.now, s);
                    }
                }
            },
        }
    }

    fn segment(&mut self, b: &mut Bytes<'_>, src_port: u16, dst_port: u16, seq: u32, ack: u32, flags: TcpFlags) {
        let o = b.u8();
        let mut options = TcpOptions::default();
        if o & 1 != 0 {
            options.timestamps = Some((b.u32(), b.u32()));
        }
        if o & 2 != 0 {
            options.mss = Some(b.u16());
            options.window_scale = Some(b.u8());
            options.sack_permitted = true;
        }
        for slot in options.sack_blocks.iter_mut().take(usize::from(o >> 2 & 3)) {
            let left = self.our_max.wrapping_sub(u32::from(b.u16()));
            *slot = Some((left, left.wrapping_add(u32::from(b.u16()))));
        }
        let len = usize::from(o >> 4) * 100 + usize::from(b.u8() % 100);
        let first = seq.wrapping_add(u32::from(flags.syn()));
        let payload: Vec<u8> = (0..len as u32).map(|i| peer_byte(first.wrapping_add(i))).collect();
        let seg =
            TcpRepr { src_port, dst_port, seq, ack, flags, window: b.u16(), urgent: 0, options, payload: &payload };
        if crate::debug() {
            eprintln!(
                "{:?} IN  {}->{} seq {} ack {} {:?} win {} len {} {:?}",
                self.now,
                seg.src_port,
                seg.dst_port,
                seg.seq.wrapping_sub(self.peer_iss),
                seg.ack.wrapping_sub(self.our_iss),
                seg.flags,
                seg.window,
                len,
                seg.options
            );
        }
        self.st.on_segment(self.now, PEER, US, &seg);
    }

    /// Fires due timers, takes what the stack sends and checks it, and the invariants.
    fn flush(&mut self) {
        if let Some(t) = self.st.poll_timeout()
            && t <= self.now
        {
            self.st.handle_timeout(self.now);
        }
        let mut out = Vec::new();
        let (cfg_mss, peer_mss) = (self.cfg.mss, self.peer_mss);
        let (port, iss, sent) = (self.local_port, self.our_iss, self.sent);
        let mut our_max = self.our_max;
        self.st.poll_transmit(self.now, &mut |src, dst, r| {
            if crate::debug() {
                eprintln!(
                    "OUT {}->{} seq {} ack {} {:?} win {} len {}",
                    r.src_port,
                    r.dst_port,
                    r.seq.wrapping_sub(iss),
                    r.ack,
                    r.flags,
                    r.window,
                    r.payload.len()
                );
            }
            out.resize(r.buffer_len(), 0);
            r.emit(&mut out, src, dst);
            let limit = usize::from(cfg_mss.min(peer_mss).max(64));
            if r.src_port == port && r.dst_port == PEER_PORT {
                assert!(r.payload.len() <= limit, "{}-byte payload; MSS {limit}", r.payload.len());
                let first = r.seq.wrapping_add(u32::from(r.flags.syn()));
                for (i, &byte) in r.payload.iter().enumerate() {
                    let off = u64::from(first.wrapping_add(i as u32).wrapping_sub(iss.wrapping_add(1)));
                    assert!(off < sent, "sent stream offset {off}; the application gave {sent} bytes");
                    assert_eq!(byte, app_byte(off), "sent byte at stream offset {off}");
                }
                let end = r.seq.wrapping_add(r.segment_len() as u32);
                if seq_le(our_max, end) {
                    our_max = end;
                }
            }
        });
        self.our_max = our_max;
        let debug = crate::debug();
        self.st.drain_events(&mut |e| {
            if debug {
                eprintln!("   ev {:?}", e.kind);
            }
        });
        if let Some(info) = self.st.conn_info(self.client) {
            let (una, nxt, max) = info.send_sequence;
            assert!(seq_le(una, nxt) && seq_le(nxt, max), "SND.UNA {una} <= SND.NXT {nxt} <= max sent {max}");
            let in_flight = u64::from(max.wrapping_sub(self.our_iss));
            assert!(in_flight <= self.sent + 2, "sent up to ISS+{in_flight}; the application gave {} bytes", self.sent);
        }
    }

    fn finish(mut self) {
        let _ = self.st.close(self.now, self.listener);
        let _ = self.st.close(self.now, self.client);
        for s in std::mem::take(&mut self.accepted) {
            let _ = self.st.close(self.now, s);
        }
        self.flush();
        let end = self.now + Duration::from_secs(6 * 3600);
        for _ in 0..10_000 {
            let Some(t) = self.st.poll_timeout() else { break };
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            self.flush();
        }
        if crate::debug() && self.st.open_sockets() != 0 {
            eprintln!(
                "now {:?} client {:?} listener {:?}",
                self.now,
                self.st.conn_info(self.client),
                self.st.state(self.listener)
            );
        }
        assert_eq!(self.st.open_sockets(), 0, "sockets left open");
    }
}
