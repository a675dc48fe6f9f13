//! What the network tells its observers: every packet event that matters (sent, queued, dropped and
//! why, duplicated, reordered, corrupted, delivered), every TCP event, application output lines and
//! faults, as typed [`NetEvent`]s, handed to an [`EventSink`] (the trace is one). Frames on the wire
//! go to [`FrameRecorder`]s (pcap captures are one). The network defines these interfaces; the
//! observers above it implement them, so every arrow points down.

use super::ids::{Dir, LinkId, NodeId};
use crate::sim::Instant;
use crate::tcp::TcpEvent;
use serde::Serialize;
use std::any::Any;

/// Why a link did not deliver a frame.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkDropCause {
    /// The drop-tail queue was full.
    Queue,
    /// Random loss (Bernoulli or Gilbert-Elliott).
    Loss,
    /// The link was down.
    Down,
    /// The frame was larger than the link's MTU.
    Mtu,
    /// A packet-matching fault rule dropped it.
    Fault,
}

/// Why a node discarded a frame or packet it received (or could not send).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeDropCause {
    /// Did not parse (truncated, bad header fields) — counted and dropped, never a panic.
    Malformed,
    /// IPv4 header checksum wrong.
    BadIpChecksum,
    /// TCP/UDP/ICMP checksum wrong.
    BadChecksum,
    /// Ethernet destination neither ours nor broadcast.
    NotForUs,
    /// An IP packet for another address reached a host that does not forward.
    NotForwarding,
    /// No route to the destination.
    NoRoute,
    /// TTL reached zero in a router.
    TtlExpired,
    /// Larger than the outgoing MTU: with DF set, ICMP fragmentation-needed is sent back; without DF it
    /// is dropped silently (netlab routers do not fragment).
    TooBig,
    /// Waited for an ARP reply that never came (CS144: 5 s).
    ArpTimeout,
    /// Too many datagrams (256) were already waiting for one ARP reply.
    ArpQueueFull,
    /// A transport protocol or port nobody listens on.
    NoListener,
    /// Unsupported (fragments, non-IPv4 ethertypes, ...).
    Unsupported,
}

/// Something that happened in the network, as the trace records it (`ev` names the variant in
/// `trace.jsonl`). The network emits these into its [`EventSink`]; it never reads them back.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum NetEvent {
    /// A link accepted a frame (recorded when it was offered); it starts on the wire `queued_ns` later,
    /// after waiting in the link's queue.
    LinkTx {
        link: LinkId,
        dir: Dir,
        frame: u64,
        len: usize,
        queued_ns: u64,
    },
    LinkDrop {
        link: LinkId,
        dir: Dir,
        frame: u64,
        len: usize,
        cause: LinkDropCause,
    },
    LinkDeliver {
        link: LinkId,
        dir: Dir,
        frame: u64,
        len: usize,
    },
    LinkDuplicate {
        link: LinkId,
        dir: Dir,
        frame: u64,
        copy: u64,
    },
    LinkReorder {
        link: LinkId,
        dir: Dir,
        frame: u64,
    },
    LinkCorrupt {
        link: LinkId,
        dir: Dir,
        frame: u64,
        bit: usize,
    },
    LinkState {
        link: LinkId,
        up: bool,
    },
    NodeDrop {
        node: NodeId,
        frame: u64,
        cause: NodeDropCause,
    },
    /// A node sent an ICMP error (time exceeded, unreachable).
    IcmpError {
        node: NodeId,
        icmp_type: u8,
        code: u8,
        to: std::net::Ipv4Addr,
    },
    ArpRequest {
        node: NodeId,
        target: std::net::Ipv4Addr,
    },
    ArpReply {
        node: NodeId,
        target: std::net::Ipv4Addr,
    },
    Tcp {
        node: NodeId,
        /// For `segment_sent`: the frame the segment became (link events name the same frame).
        #[serde(skip_serializing_if = "Option::is_none")]
        frame: Option<u64>,
        #[serde(flatten)]
        event: Box<TcpEvent>,
    },
    App {
        app: usize,
        line: String,
    },
    Fault {
        index: usize,
        what: String,
    },
}

/// Where the network's events go (implemented by `trace::Tracer`).
pub trait EventSink: Any {
    /// Records one event that happened at `t`.
    fn emit(&mut self, t: Instant, event: NetEvent);
    /// Records one TCP event of `node`; `frame` is the frame a sent segment became.
    fn emit_tcp(&mut self, node: NodeId, event: TcpEvent, frame: Option<u64>);
    /// Counts `n` TCP events that `node`'s stack did not record in detail (no trace is written).
    fn count_skipped_tcp(&mut self, node: NodeId, n: u64);
    /// Whether events are written out in detail (a trace file): stacks then record detail events.
    fn writes(&self) -> bool;
    /// Writes out everything recorded; the first error, if any.
    fn finish(&mut self) -> Result<(), String>;
    /// Says that connection `socket` of `node` is tracked from the wire, not reported by its stack.
    fn observed(&mut self, node: NodeId, socket: crate::tcp::SocketId) {
        let _ = (node, socket);
    }
    /// The sink itself, for its owner to read its results after a run.
    fn as_any(&self) -> &dyn Any;
}

/// Where the frames seen at one interface go (implemented by `output::Capture`, a pcap file).
pub trait FrameRecorder {
    /// Records `frame` as on the wire at `ts`; `now` is the current time (`ts >= now`: a queued
    /// frame starts on the wire later).
    fn record(&mut self, now: Instant, ts: Instant, frame: &[u8]);
    /// Adds `offset_ns` to every timestamp (live runs stamp frames with wall-clock time).
    fn set_epoch_offset(&mut self, offset_ns: u64);
    /// Writes out everything recorded; the first error, if any.
    fn finish(&mut self) -> Result<(), String>;
}
