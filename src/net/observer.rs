//! The passive connection tracker: what netlab can see of a stack under test's connections from
//! the packets on the wire, when the stack does not tell it (an external process that reports no
//! states, a student's stack). For each connection (by its 4-tuple) it records the segments sent
//! and received, counts a segment that covers sequence space already sent as a retransmission,
//! and, where the stack reports no states, follows the RFC 9293 state diagram from the flags seen.
//! Connections it tracks are marked `observed` in the summary. A stack that reports its own
//! states keeps them; the tracker only relabels them to its connection ids.

use crate::sim::Instant;
use crate::tcp::{RetransmitReason, SegmentInfo, SocketId, TcpEvent, TcpEventKind, TcpState};
use crate::wire::{Ipv4Repr, TcpRepr};
use std::collections::BTreeMap;
use std::net::SocketAddrV4;

/// Socket ids of the stack's own listeners are moved into this range, away from tracked ids.
const LISTENER_IDS: u32 = 0x8000_0000;

/// One connection as seen on the wire.
struct Seen {
    id: SocketId,
    state: TcpState,
    /// The highest sequence number sent so far (SYN and FIN count), once a segment was sent.
    snd_max: Option<u32>,
    /// Sequence number just past our FIN, once it was sent.
    fin_end: Option<u32>,
}

/// The tracker of one host.
pub(crate) struct Observer {
    /// Whether the stack reports its own states (then only segments are synthesized).
    stack_states: bool,
    /// Whether the stack reports its own retransmissions (with their reasons).
    stack_events: bool,
    conns: BTreeMap<(SocketAddrV4, SocketAddrV4), Seen>,
    next_id: u32,
}

impl Observer {
    /// A tracker for a stack that does (`stack_states`) or does not report its own states, and
    /// its own retransmissions and other events (`stack_events`).
    pub(crate) fn new(stack_states: bool, stack_events: bool) -> Observer {
        Observer { stack_states, stack_events, conns: BTreeMap::new(), next_id: 1 }
    }

    fn conn(&mut self, local: SocketAddrV4, remote: SocketAddrV4) -> &mut Seen {
        let next_id = &mut self.next_id;
        self.conns.entry((local, remote)).or_insert_with(|| {
            let id = SocketId(*next_id);
            *next_id += 1;
            Seen { id, state: TcpState::Closed, snd_max: None, fin_end: None }
        })
    }

    /// A TCP segment in `datagram` (already verified) left this host at `now`.
    pub(crate) fn sent(&mut self, now: Instant, datagram: &[u8], out: &mut dyn FnMut(TcpEvent)) {
        let Some((local, remote, seg)) = parse(datagram, true) else { return };
        let (stack_states, stack_events) = (self.stack_states, self.stack_events);
        let c = self.conn(local, remote);
        let info = SegmentInfo::of(&seg);
        let end = seg.seq.wrapping_add(seg.segment_len() as u32);
        let ev = |kind| TcpEvent { time: now, socket: c.id, local: Some(local), remote: Some(remote), kind };
        let again = c.snd_max.is_some_and(|m| (end.wrapping_sub(m) as i32) <= 0);
        if !stack_events && seg.segment_len() > 0 && again {
            let reason = RetransmitReason::Observed;
            out(ev(TcpEventKind::Retransmit { seq: seg.seq, len: seg.payload.len(), reason }));
        }
        if c.snd_max.is_none_or(|m| (end.wrapping_sub(m) as i32) > 0) {
            c.snd_max = Some(end);
        }
        if seg.flags.fin() {
            c.fin_end = Some(end);
        }
        out(ev(TcpEventKind::SegmentSent(info)));
        if !stack_states {
            let to = after_sent(c.state, &seg);
            change(c, now, local, remote, to, out);
        }
    }

    /// A TCP segment in `datagram` (already verified) arrived for this host at `now`.
    pub(crate) fn received(&mut self, now: Instant, datagram: &[u8], out: &mut dyn FnMut(TcpEvent)) {
        let Some((local, remote, seg)) = parse(datagram, false) else { return };
        let stack_states = self.stack_states;
        let c = self.conn(local, remote);
        let info = SegmentInfo::of(&seg);
        out(TcpEvent {
            time: now,
            socket: c.id,
            local: Some(local),
            remote: Some(remote),
            kind: TcpEventKind::SegmentReceived(info),
        });
        if !stack_states {
            let to = after_received(c, &seg);
            change(c, now, local, remote, to, out);
        }
    }

    /// A state report of the stack: relabelled to the tracker's id of its connection (listeners,
    /// which have no remote end, to an id of their own).
    pub(crate) fn relabel(&mut self, mut event: TcpEvent) -> TcpEvent {
        event.socket = match (event.local, event.remote) {
            (Some(l), Some(r)) => self.conn(l, r).id,
            _ => SocketId(LISTENER_IDS | event.socket.0),
        };
        event
    }
}

/// (local, remote, segment) of a TCP datagram; `outgoing` says which end is ours.
fn parse(datagram: &[u8], outgoing: bool) -> Option<(SocketAddrV4, SocketAddrV4, TcpRepr<'_>)> {
    let (ip, payload) = Ipv4Repr::parse(datagram).ok()?;
    let seg = TcpRepr::parse(payload, ip.src, ip.dst).ok()?;
    let (src, dst) = (SocketAddrV4::new(ip.src, seg.src_port), SocketAddrV4::new(ip.dst, seg.dst_port));
    Some(if outgoing { (src, dst, seg) } else { (dst, src, seg) })
}

/// Records a state change of `c` (if it is one) as an event.
fn change(
    c: &mut Seen,
    now: Instant,
    local: SocketAddrV4,
    remote: SocketAddrV4,
    to: TcpState,
    out: &mut dyn FnMut(TcpEvent),
) {
    if to != c.state {
        let kind = TcpEventKind::StateChange { from: c.state, to };
        out(TcpEvent { time: now, socket: c.id, local: Some(local), remote: Some(remote), kind });
        c.state = to;
    }
}

/// The state after sending `seg` (RFC 9293 3.3.2, the transitions a sender's segments show).
fn after_sent(state: TcpState, seg: &TcpRepr<'_>) -> TcpState {
    use TcpState::*;
    let f = seg.flags;
    match state {
        _ if f.rst() => Closed,
        Closed if f.syn() && !f.ack() => SynSent,
        Closed | Listen if f.syn() && f.ack() => SynReceived,
        // Simultaneous open: our SYN-ACK answers their SYN.
        SynSent if f.syn() && f.ack() => SynReceived,
        Established if f.fin() => FinWait1,
        CloseWait if f.fin() => LastAck,
        s => s,
    }
}

/// The state after receiving `seg`.
fn after_received(c: &Seen, seg: &TcpRepr<'_>) -> TcpState {
    use TcpState::*;
    let f = seg.flags;
    let fin_acked = f.ack() && c.fin_end.is_some_and(|e| (seg.ack.wrapping_sub(e) as i32) >= 0);
    match c.state {
        _ if f.rst() => Closed,
        Closed if f.syn() && !f.ack() => Listen,
        SynSent if f.syn() && f.ack() => Established,
        SynSent if f.syn() => SynSent,
        SynReceived if f.fin() => CloseWait,
        SynReceived if f.ack() => Established,
        Established if f.fin() => CloseWait,
        FinWait1 if f.fin() && fin_acked => TimeWait,
        FinWait1 if f.fin() => Closing,
        FinWait1 if fin_acked => FinWait2,
        FinWait2 if f.fin() => TimeWait,
        Closing if fin_acked => TimeWait,
        LastAck if fin_acked => Closed,
        s => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{TcpFlags, TcpOptions};
    use std::net::Ipv4Addr;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    fn datagram(src: Ipv4Addr, dst: Ipv4Addr, seq: u32, ack: u32, flags: TcpFlags, payload: &[u8]) -> Vec<u8> {
        let (sp, dp) = if src == A { (40000, 80) } else { (80, 40000) };
        let seg = TcpRepr {
            src_port: sp,
            dst_port: dp,
            seq,
            ack,
            flags,
            window: 1000,
            urgent: 0,
            options: TcpOptions::default(),
            payload,
        };
        let ip = Ipv4Repr {
            src,
            dst,
            protocol: crate::wire::IpProtocol::Tcp,
            ttl: 64,
            tos: 0,
            ident: 0,
            dont_frag: true,
            payload_len: seg.buffer_len(),
        };
        let mut d = vec![0; Ipv4Repr::HEADER_LEN + seg.buffer_len()];
        ip.emit(&mut d[..Ipv4Repr::HEADER_LEN]);
        seg.emit(&mut d[Ipv4Repr::HEADER_LEN..], src, dst);
        d
    }

    fn states(events: &[TcpEvent]) -> Vec<TcpState> {
        events
            .iter()
            .filter_map(|e| match e.kind {
                TcpEventKind::StateChange { to, .. } => Some(to),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_client_connection_is_followed_from_its_segments() {
        use TcpFlags as F;
        let mut o = Observer::new(false, false);
        let mut ev = Vec::new();
        let t = Instant::ZERO;
        o.sent(t, &datagram(A, B, 100, 0, F::SYN, &[]), &mut |e| ev.push(e));
        o.received(t, &datagram(B, A, 500, 101, F::SYN | F::ACK, &[]), &mut |e| ev.push(e));
        o.sent(t, &datagram(A, B, 101, 501, F::ACK, b"hello"), &mut |e| ev.push(e));
        o.sent(t, &datagram(A, B, 101, 501, F::ACK, b"hello"), &mut |e| ev.push(e)); // again
        o.sent(t, &datagram(A, B, 106, 501, F::FIN | F::ACK, &[]), &mut |e| ev.push(e));
        o.received(t, &datagram(B, A, 501, 107, F::FIN | F::ACK, &[]), &mut |e| ev.push(e));
        use TcpState::*;
        assert_eq!(states(&ev), [SynSent, Established, FinWait1, TimeWait]);
        let retx = ev.iter().filter(|e| matches!(e.kind, TcpEventKind::Retransmit { .. })).count();
        assert_eq!(retx, 1, "the second copy of the data is a retransmission");
        assert!(ev.iter().all(|e| e.socket == SocketId(1)));
    }

    #[test]
    fn a_stack_that_reports_states_keeps_them_under_the_trackers_id() {
        let mut o = Observer::new(true, false);
        let mut ev = Vec::new();
        o.sent(Instant::ZERO, &datagram(A, B, 1, 0, TcpFlags::SYN, &[]), &mut |e| ev.push(e));
        assert!(states(&ev).is_empty(), "no states of its own");
        let (l, r) = (SocketAddrV4::new(A, 40000), SocketAddrV4::new(B, 80));
        let kind = TcpEventKind::StateChange { from: TcpState::Closed, to: TcpState::SynSent };
        let e = o.relabel(TcpEvent { time: Instant::ZERO, socket: SocketId(7), local: Some(l), remote: Some(r), kind });
        assert_eq!(e.socket, SocketId(1));
    }
}
