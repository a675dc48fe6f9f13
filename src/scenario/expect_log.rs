//! Judging expectations on single packets and times from the run's event log: a metric counted over
//! the packets that match and the times in a window, an event that must never happen, and events
//! that must happen in order. Every figure is recounted from the events, so with no `match` and no
//! window it equals the trace counter of the same name.

use super::expect::Target;
use super::expect_filter::{EventKind, EventPat, Filter, secs};
use crate::net::rules::{FrameInfo, MatchProto, PacketMatch, matches};
use crate::net::{LinkDropCause, NetEvent, NodeDropCause};
use crate::sim::Instant;
use crate::tcp::{RetransmitReason, TcpEvent, TcpEventKind, TcpState};
use crate::trace::log::{EventLog, LoggedFrame};
use std::collections::BTreeMap;

/// What happened, as the expectations count it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum What {
    /// A frame offered to a link and put on it.
    Sent,
    /// A frame delivered (at a link's far end; for a node: to it).
    Delivered,
    LinkDrop(LinkDropCause),
    NodeDrop(NodeDropCause),
    Duplicated,
    Reordered,
    Corrupted,
    /// A TCP segment handed to IP by a stack, or one that arrived at it.
    SegSent,
    SegReceived,
    Retransmitted(RetransmitReason),
    State(TcpState),
    IcmpError(u8),
    ArpRequest,
    ArpReply,
}

/// One thing that happened to the target.
#[derive(Clone, Copy, Debug)]
struct Occ {
    t: Instant,
    what: What,
    /// The packet it is about, when there is one and it is known.
    pkt: Option<LoggedFrame>,
    /// Frame bytes (link events) or payload bytes (TCP segments).
    bytes: u64,
    /// The connection (node, socket) of a TCP event.
    conn: Option<(usize, u32)>,
}

/// What the evaluation needs besides the log: the end nodes of each link and the connections selected.
pub(crate) struct Ctx<'a> {
    /// The events.
    pub log: &'a EventLog,
    /// (node at end a, node at end b) of every link.
    pub ends: Vec<(usize, usize)>,
    /// The (node, socket) of the target's connections.
    pub conns: Vec<(usize, u32)>,
}

fn drop_name<T: serde::Serialize>(cause: T) -> String {
    let v = serde_json::to_value(cause).unwrap_or_default();
    format!("dropped_{}", v.as_str().unwrap_or_default())
}

/// A TCP segment's fields as a frame's: the connection's addresses, its flags and payload length.
fn seg_frame(ev: &TcpEvent, seg: &crate::tcp::SegmentInfo, sent: bool, isn: Option<u32>) -> LoggedFrame {
    let (from, to) = if sent { (ev.local, ev.remote) } else { (ev.remote, ev.local) };
    let info = FrameInfo {
        proto: Some(MatchProto::Tcp),
        src: from.map(|a| *a.ip()),
        dst: to.map(|a| *a.ip()),
        src_port: from.map_or(0, |a| a.port()),
        dst_port: to.map_or(0, |a| a.port()),
        flags: seg.flags.0,
        seq: seg.seq,
        payload_len: seg.len as usize,
        ip_end: 0,
    };
    LoggedFrame { info, rel_seq: isn.map(|i| seg.seq.wrapping_sub(i)) }
}

/// The segment a `retransmit` event (at `events[i]`) sent again: the socket's `segment_sent`
/// with the same sequence number at the same instant, among the events logged near it. netlab's
/// stack reports it right after the `retransmit`; a stack behind the external protocol reports
/// the two the other way round.
fn resent_segment(
    events: &[(Instant, NetEvent)],
    i: usize,
    key: (usize, u32),
    seq: u32,
    isn: Option<u32>,
) -> Option<LoggedFrame> {
    let t = events[i].0;
    let same = |(t2, x): &(Instant, NetEvent)| -> Option<LoggedFrame> {
        match x {
            NetEvent::Tcp { node, event, .. } if *t2 == t && (*node, event.socket.0) == key => match &event.kind {
                TcpEventKind::SegmentSent(s) if s.seq == seq => Some(seg_frame(event, s, true, isn)),
                _ => None,
            },
            _ => None,
        }
    };
    // The external protocol's reports of one step may reach the log after events of a later
    // instant (a frame already on its way), hence a short window rather than the same instant only.
    const NEAR: usize = 64;
    let after = events[i + 1..].iter().take(NEAR).find_map(same);
    after.or_else(|| events[..i].iter().rev().take(NEAR).find_map(same))
}

/// Every occurrence about `target`, in the order they happened.
fn occurrences(cx: &Ctx, target: &Target) -> Vec<Occ> {
    let mut out = Vec::new();
    // Initial sequence numbers per (node, socket): (ours, the peer's).
    let mut isn: BTreeMap<(usize, u32), (Option<u32>, Option<u32>)> = BTreeMap::new();
    let events = &cx.log.events;
    for (i, (t, ev)) in events.iter().enumerate() {
        let t = *t;
        let frame = |id: u64| cx.log.frame(id).copied();
        let mut push = |what, pkt, bytes: u64, conn| out.push(Occ { t, what, pkt, bytes, conn });
        match (target, ev) {
            (Target::Link(l, d), NetEvent::LinkTx { link, dir, frame: f, len, .. })
            | (Target::Link(l, d), NetEvent::LinkDeliver { link, dir, frame: f, len })
                if link == l && d.is_none_or(|d| d == *dir) =>
            {
                let what = if matches!(ev, NetEvent::LinkTx { .. }) { What::Sent } else { What::Delivered };
                push(what, frame(*f), *len as u64, None);
            }
            (Target::Link(l, d), NetEvent::LinkDrop { link, dir, frame: f, len, cause })
                if link == l && d.is_none_or(|d| d == *dir) =>
            {
                push(What::LinkDrop(*cause), frame(*f), *len as u64, None)
            }
            (Target::Link(l, d), NetEvent::LinkDuplicate { link, dir, frame: f, .. })
                if link == l && d.is_none_or(|d| d == *dir) =>
            {
                push(What::Duplicated, frame(*f), 0, None)
            }
            (Target::Link(l, d), NetEvent::LinkReorder { link, dir, frame: f })
                if link == l && d.is_none_or(|d| d == *dir) =>
            {
                push(What::Reordered, frame(*f), 0, None)
            }
            (Target::Link(l, d), NetEvent::LinkCorrupt { link, dir, frame: f, .. })
                if link == l && d.is_none_or(|d| d == *dir) =>
            {
                push(What::Corrupted, frame(*f), 0, None)
            }
            (Target::Host(n), NetEvent::LinkTx { link, dir, frame: f, len, .. }) => {
                let (a, b) = cx.ends[*link];
                if *n == if dir.index() == 0 { a } else { b } {
                    push(What::Sent, frame(*f), *len as u64, None);
                }
            }
            (Target::Host(n), NetEvent::LinkDeliver { link, dir, frame: f, len }) => {
                let (a, b) = cx.ends[*link];
                if *n == if dir.index() == 0 { b } else { a } {
                    push(What::Delivered, frame(*f), *len as u64, None);
                }
            }
            (Target::Host(n), NetEvent::NodeDrop { node, frame: f, cause }) if node == n => {
                push(What::NodeDrop(*cause), frame(*f), 0, None)
            }
            (Target::Host(n), NetEvent::IcmpError { node, icmp_type, .. }) if node == n => {
                push(What::IcmpError(*icmp_type), None, 0, None)
            }
            (Target::Host(n), NetEvent::ArpRequest { node, .. }) if node == n => push(What::ArpRequest, None, 0, None),
            (Target::Host(n), NetEvent::ArpReply { node, .. }) if node == n => push(What::ArpReply, None, 0, None),
            (Target::Network, NetEvent::LinkDrop { frame: f, len, cause, .. }) => {
                push(What::LinkDrop(*cause), frame(*f), *len as u64, None)
            }
            (Target::Network, NetEvent::NodeDrop { frame: f, cause, .. }) => {
                push(What::NodeDrop(*cause), frame(*f), 0, None)
            }
            (_, NetEvent::Tcp { node, event, .. }) => {
                let key = (*node, event.socket.0);
                let wanted = match target {
                    Target::Connection(..) => cx.conns.contains(&key),
                    Target::Host(n) => n == node,
                    Target::Network => true,
                    Target::Link(..) | Target::App(_) => false,
                };
                if !wanted {
                    continue;
                }
                let e = isn.entry(key).or_default();
                let conn = Some(key);
                match &event.kind {
                    TcpEventKind::SegmentSent(s) => {
                        if s.flags.0.syn() && e.0.is_none() {
                            e.0 = Some(s.seq);
                        }
                        push(What::SegSent, Some(seg_frame(event, s, true, e.0)), u64::from(s.len), conn);
                    }
                    TcpEventKind::SegmentReceived(s) => {
                        if s.flags.0.syn() && e.1.is_none() {
                            e.1 = Some(s.seq);
                        }
                        push(What::SegReceived, Some(seg_frame(event, s, false, e.1)), u64::from(s.len), conn);
                    }
                    TcpEventKind::Retransmit { reason, seq, .. } => {
                        let resent = resent_segment(events, i, key, *seq, e.0);
                        push(What::Retransmitted(*reason), resent, 0, conn);
                    }
                    TcpEventKind::StateChange { to, .. } => push(What::State(*to), None, 0, conn),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // In time order: a stack behind the external protocol reports a step's events after the
    // network's events of the same step (stable: ties keep the order they were logged in).
    out.sort_by_key(|o| o.t);
    out
}

/// How much `o` adds to `metric` of `target` (0: nothing).
fn amount(target: &Target, metric: &str, o: &Occ) -> u64 {
    let rst = |o: &Occ| o.pkt.is_some_and(|p| p.info.flags.rst());
    let is_retx = |r: &RetransmitReason| !matches!(r, RetransmitReason::Probe);
    let hit = match (target, metric, o.what) {
        (Target::Link(..), "sent", What::Sent) | (Target::Link(..), "delivered", What::Delivered) => true,
        (Target::Link(..), "sent_bytes", What::Sent) | (Target::Link(..), "delivered_bytes", What::Delivered) => {
            return o.bytes;
        }
        (Target::Link(..) | Target::Network, "dropped", What::LinkDrop(_)) => true,
        (Target::Link(..), m, What::LinkDrop(c)) => m == drop_name(c),
        (Target::Link(..), "duplicated", What::Duplicated)
        | (Target::Link(..), "reordered", What::Reordered)
        | (Target::Link(..), "corrupted", What::Corrupted) => true,
        (Target::Host(_) | Target::Network, "dropped", What::NodeDrop(_)) => true,
        (Target::Host(_), m, What::NodeDrop(c)) => m == drop_name(c),
        (Target::Host(_), "icmp_errors_sent", What::IcmpError(_)) => true,
        (Target::Host(_), "time_exceeded_sent", What::IcmpError(11)) => true,
        (Target::Host(_), "unreachable_sent", What::IcmpError(3)) => true,
        (Target::Host(_), "arp_requests", What::ArpRequest) | (Target::Host(_), "arp_replies", What::ArpReply) => true,
        (_, "rsts_sent", What::SegSent) | (Target::Connection(..), "rsts_received", What::SegReceived) => rst(o),
        (Target::Connection(..), "segments_sent", What::SegSent)
        | (Target::Connection(..), "segments_received", What::SegReceived) => true,
        (Target::Connection(..), "bytes_sent", What::SegSent)
        | (Target::Connection(..), "bytes_received", What::SegReceived) => return o.bytes,
        (Target::Connection(..) | Target::Network, "retransmissions", What::Retransmitted(r)) => is_retx(&r),
        (Target::Connection(..), "retransmissions_rto", What::Retransmitted(r)) => r == RetransmitReason::Rto,
        (Target::Connection(..), "retransmissions_fast", What::Retransmitted(r)) => {
            r == RetransmitReason::FastRetransmit
        }
        (Target::Connection(..), "retransmissions_sack", What::Retransmitted(r)) => {
            matches!(r, RetransmitReason::Sack | RetransmitReason::LossProbe)
        }
        (Target::Connection(..), "window_probes", What::Retransmitted(r)) => r == RetransmitReason::Probe,
        _ => false,
    };
    u64::from(hit)
}

/// Whether the packet of `o` matches `m` (an occurrence about no packet matches only the empty match).
fn packet_matches(m: &PacketMatch, o: &Occ) -> bool {
    match &o.pkt {
        Some(p) => matches(m, &p.info, p.rel_seq, o.t),
        None => *m == PacketMatch::default(),
    }
}

fn in_filter(f: &Filter, o: &Occ) -> bool {
    f.window.is_none_or(|w| w.contains(o.t)) && f.matcher.as_ref().is_none_or(|m| packet_matches(m, o))
}

/// The context of `world`'s log for `target`, or `None` when the run kept no log.
pub(crate) fn ctx<'a>(
    world: &crate::world::World,
    log: Option<&'a EventLog>,
    conns: Vec<(usize, u32)>,
) -> Option<Ctx<'a>> {
    let nodes: Vec<String> = world.nodes().into_iter().map(|n| n.name).collect();
    let idx = |name: &str| nodes.iter().position(|n| n == name).unwrap_or(usize::MAX);
    let ends = world.links().iter().map(|l| (idx(&l.a), idx(&l.b))).collect();
    Some(Ctx { log: log?, ends, conns })
}

/// `metric` of `target`, counted over what passes the filter.
pub(crate) fn count(cx: &Ctx, target: &Target, metric: &str, f: &Filter) -> f64 {
    occurrences(cx, target).iter().filter(|o| in_filter(f, o)).map(|o| amount(target, metric, o)).sum::<u64>() as f64
}

/// The event kind `o` is, as `never` and `events` name it for `target`.
fn kind_of(target: &Target, o: &Occ) -> Option<EventKind> {
    Some(match (target, o.what) {
        (Target::Connection(..), What::SegSent) => EventKind::Sent,
        (Target::Connection(..), What::SegReceived) => EventKind::Received,
        (Target::Connection(..), What::Retransmitted(r)) if r != RetransmitReason::Probe => EventKind::Retransmitted,
        (Target::Connection(..), What::State(s)) => EventKind::State(s),
        (Target::Link(..) | Target::Host(_), What::Sent) => EventKind::Sent,
        (Target::Link(..), What::Delivered) => EventKind::Delivered,
        (Target::Host(_), What::Delivered) => EventKind::Received,
        (Target::Link(..) | Target::Network, What::LinkDrop(_)) => EventKind::Dropped,
        (Target::Host(_) | Target::Network, What::NodeDrop(_)) => EventKind::Dropped,
        _ => return None,
    })
}

fn fits(target: &Target, p: &EventPat, f: &Filter, o: &Occ) -> bool {
    kind_of(target, o).is_some_and(|k| p.fits(k, o.t))
        && f.window.is_none_or(|w| w.contains(o.t))
        && packet_matches(&p.matcher, o)
}

/// Up to 6 times, "0.000s, 1.000s, ..." and how many more.
fn times(v: &[Instant]) -> String {
    let mut s: Vec<String> = v.iter().take(6).map(|t| secs(*t)).collect();
    if v.len() > 6 {
        s.push(format!("and {} more", v.len() - 6));
    }
    if s.is_empty() { "never".to_string() } else { s.join(", ") }
}

/// `never`: (held, detail, how many times it happened).
pub(crate) fn never(cx: &Ctx, target: &Target, p: &EventPat, f: &Filter) -> (bool, String, f64) {
    let hits: Vec<Instant> = occurrences(cx, target).iter().filter(|o| fits(target, p, f, o)).map(|o| o.t).collect();
    let detail = if hits.is_empty() {
        "did not happen".to_string()
    } else {
        format!("{} {} time{}: at {}", p.text, hits.len(), if hits.len() == 1 { "" } else { "s" }, times(&hits))
    };
    (hits.is_empty(), detail, hits.len() as f64)
}

/// `events`: (held, detail, how many of the events were found in order). With several connections,
/// one of them must have them all.
pub(crate) fn in_order(cx: &Ctx, target: &Target, pats: &[EventPat], f: &Filter) -> (bool, String, f64) {
    let occs = occurrences(cx, target);
    let mut groups: BTreeMap<Option<(usize, u32)>, Vec<&Occ>> = BTreeMap::new();
    for o in &occs {
        let key = if matches!(target, Target::Connection(..)) { o.conn } else { None };
        groups.entry(key).or_default().push(o);
    }
    if groups.is_empty() {
        groups.insert(None, Vec::new());
    }
    let mut best: Option<(usize, Vec<Instant>, &[&Occ])> = None;
    for g in groups.values() {
        let mut found = Vec::new();
        for o in g {
            if found.len() < pats.len() && fits(target, &pats[found.len()], f, o) {
                found.push(o.t);
            }
        }
        if best.as_ref().is_none_or(|b| found.len() > b.0) {
            best = Some((found.len(), found, g.as_slice()));
        }
    }
    let (n, found, group) = best.expect("at least one group");
    if n == pats.len() {
        return (true, format!("in order at {}", times(&found)), n as f64);
    }
    // Where the missing event did happen, its window aside, to show how far off it was.
    let p = &pats[n];
    let loose = EventPat { window: None, ..p.clone() };
    let anywhere: Vec<Instant> =
        group.iter().filter(|o| fits(target, &loose, &Filter::default(), o)).map(|o| o.t).collect();
    let before = if n == 0 { String::new() } else { format!("events 1-{n} found at {}; ", times(&found)) };
    let after = if n == 0 { "" } else { " after them" };
    let detail =
        format!("{before}event {} ({}) not found{after}; {} at any time: {}", n + 1, p.text, p.what, times(&anywhere));
    (false, detail, n as f64)
}
