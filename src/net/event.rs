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
        /// The link.
        link: LinkId,
        /// The direction it travels.
        dir: Dir,
        /// The frame's id (unique in the run; later events about the frame name it).
        frame: u64,
        /// Frame length in bytes (Ethernet header included).
        len: usize,
        /// Nanoseconds it waits behind earlier frames before its first bit is sent.
        queued_ns: u64,
        /// For a frame a router forwarded: the prefix of the route it took, as the router's table
        /// (`netlab routes`, `summary.json`) lists it. Absent for frames a node sent itself.
        #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_text")]
        route: Option<super::Cidr>,
    },
    /// A link did not deliver a frame.
    LinkDrop {
        /// The link.
        link: LinkId,
        /// The direction it travelled.
        dir: Dir,
        /// The frame's id.
        frame: u64,
        /// Frame length in bytes.
        len: usize,
        /// Why.
        cause: LinkDropCause,
    },
    /// A frame arrived at the far end of a link.
    LinkDeliver {
        /// The link.
        link: LinkId,
        /// The direction it travelled.
        dir: Dir,
        /// The frame's id.
        frame: u64,
        /// Frame length in bytes.
        len: usize,
    },
    /// A frame was duplicated in transit (an impairment or a fault rule).
    LinkDuplicate {
        /// The link.
        link: LinkId,
        /// The direction it travels.
        dir: Dir,
        /// The original frame's id.
        frame: u64,
        /// The copy's frame id (its delivery is a separate event).
        copy: u64,
    },
    /// A frame was held back so that later frames overtake it.
    LinkReorder {
        /// The link.
        link: LinkId,
        /// The direction it travels.
        dir: Dir,
        /// The frame's id.
        frame: u64,
    },
    /// One bit of a frame was flipped in transit.
    LinkCorrupt {
        /// The link.
        link: LinkId,
        /// The direction it travels.
        dir: Dir,
        /// The frame's id.
        frame: u64,
        /// Which bit, counted from the first bit of the frame (bit `bit % 8` of byte `bit / 8`).
        bit: usize,
    },
    /// A link went down or came up (a timed fault, or a running program).
    LinkState {
        /// The link.
        link: LinkId,
        /// Whether it now carries frames.
        up: bool,
    },
    /// A node discarded a frame it received, or a packet it could not send.
    NodeDrop {
        /// The node.
        node: NodeId,
        /// The frame's id (0 when the packet never became a frame, e.g. no route).
        frame: u64,
        /// Why.
        cause: NodeDropCause,
    },
    /// A node sent an ICMP error (time exceeded, unreachable).
    IcmpError {
        /// The node that sent it.
        node: NodeId,
        /// The ICMP type (3 unreachable, 11 time exceeded).
        icmp_type: u8,
        /// The ICMP code (see `wire::IcmpRepr`'s constants).
        code: u8,
        /// Where it was sent: the source of the datagram that caused it.
        to: std::net::Ipv4Addr,
    },
    /// A node broadcast an ARP request.
    ArpRequest {
        /// The node asking.
        node: NodeId,
        /// The address whose MAC it asks for.
        target: std::net::Ipv4Addr,
    },
    /// A node answered an ARP request for one of its addresses.
    ArpReply {
        /// The node answering.
        node: NodeId,
        /// The address of the node that asked (where the reply goes).
        target: std::net::Ipv4Addr,
    },
    /// Something happened in a node's TCP stack (a segment sent or received, a state change, a timer, ...).
    Tcp {
        /// The node whose stack it is.
        node: NodeId,
        /// For `segment_sent`: the frame the segment became (link events name the same frame).
        #[serde(skip_serializing_if = "Option::is_none")]
        frame: Option<u64>,
        /// The event, flattened into the trace line.
        #[serde(flatten)]
        event: Box<TcpEvent>,
    },
    /// An application printed a line.
    App {
        /// The application's index, in the order applications were spawned.
        app: usize,
        /// The text.
        line: String,
    },
    /// A fault acted: a timed fault was applied, or a packet rule matched a frame.
    Fault {
        /// For a timed fault, its index in the world's timed faults; for a packet rule, the rule's
        /// `index` (its place in the scenario's `[[faults]]`).
        index: usize,
        /// What it did, in words.
        what: String,
    },
}

/// Writes a route's prefix as text ("10.1.2.0/24").
fn as_text<S: serde::Serializer>(prefix: &Option<super::Cidr>, s: S) -> Result<S::Ok, S::Error> {
    match prefix {
        Some(p) => s.collect_str(p),
        None => s.serialize_none(),
    }
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
    /// Whether the sink wants the bytes of every frame offered to a link (`frame_offered`).
    fn wants_frames(&self) -> bool {
        false
    }
    /// A frame offered to a link, before its `link_tx` or `link_drop` (only when `wants_frames`).
    fn frame_offered(&mut self, frame: u64, data: &[u8]) {
        let _ = (frame, data);
    }
    /// Says that connection `socket` of `node` is tracked from the wire, not reported by its stack.
    fn observed(&mut self, node: NodeId, socket: crate::tcp::SocketId) {
        let _ = (node, socket);
    }
    /// The next event is for `node`: start loading what recording its events will touch (a hint;
    /// it changes nothing).
    fn prefetch_node(&self, node: NodeId) {
        let _ = node;
    }
    /// The sink itself, for its owner to read its results after a run.
    fn as_any(&self) -> &dyn Any;
}

/// Where the frames seen at one interface go (implemented by `output::Capture`, a pcap file).
pub trait FrameRecorder {
    /// Records `frame` as on the wire at `ts`; `now` is the current time (`ts >= now`: a queued
    /// frame starts on the wire later).
    fn record(&mut self, now: Instant, ts: Instant, frame: &[u8]);
    /// Records frame `id` (the trace's frame id), sent by the interface (`outbound`) or arrived
    /// there; recorders that annotate frames need the id, the others record the bytes.
    fn record_frame(&mut self, now: Instant, ts: Instant, id: u64, outbound: bool, frame: &[u8]) {
        let _ = (id, outbound);
        self.record(now, ts, frame)
    }
    /// Adds `offset_ns` to every timestamp (live runs stamp frames with wall-clock time).
    fn set_epoch_offset(&mut self, offset_ns: u64);
    /// Writes out everything recorded; the first error, if any.
    fn finish(&mut self) -> Result<(), String>;
}
