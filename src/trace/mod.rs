//! The one event stream. Every packet event that matters (sent, queued, dropped and why, duplicated,
//! reordered, corrupted, delivered), every TCP event and every application output line is a typed
//! `TraceEvent` with its simulated time. The `Tracer` keeps the counters that summaries and
//! expectations read, and, when asked, writes each event to the trace: the compact binary
//! `trace.nlt` (`binary`, docs/trace-format.md) or one JSON line each (`trace.jsonl`).
//! Nothing else keeps books: what the summary says is what the events said.

pub mod binary;
pub mod conn;
pub mod conn_table;
pub mod export;
pub mod log;
pub mod nstat;
pub mod read;

use crate::net::{EventSink, LinkDropCause, NetEvent, NodeDropCause, NodeId};
use crate::sim::Instant;
use crate::tcp::TcpEvent;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// One line of `trace.jsonl`: an event and when it happened.
#[derive(Clone, Debug, Serialize)]
pub struct TraceEvent {
    /// Simulated time (nanoseconds since the start in the JSON).
    pub t: Instant,
    /// What happened; its fields are flattened into the line, `ev` naming the kind.
    #[serde(flatten)]
    pub kind: NetEvent,
}

/// Counters of one link direction.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct LinkDirStats {
    /// Frames the link accepted (put in its queue or on the wire).
    pub sent: u64,
    /// Bytes of those frames, Ethernet headers included.
    pub sent_bytes: u64,
    /// Frames that arrived at the far end (duplicates included).
    pub delivered: u64,
    /// Bytes of those frames.
    pub delivered_bytes: u64,
    /// Frames not delivered, by cause (only causes that happened appear).
    pub dropped: BTreeMap<LinkDropCause, u64>,
    /// Extra copies made (by the `duplicate` impairment or a fault rule).
    pub duplicated: u64,
    /// Frames held back so that later ones passed them.
    pub reordered: u64,
    /// Frames with a bit flipped in transit.
    pub corrupted: u64,
}

impl LinkDirStats {
    /// Frames not delivered, all causes together.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }
}

/// Counters of one node.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct NodeStats {
    /// Frames or packets the node discarded, by cause (only causes that happened appear).
    pub dropped: BTreeMap<NodeDropCause, u64>,
    /// ICMP error messages sent, all types.
    pub icmp_errors_sent: u64,
    /// Of those, time exceeded (type 11).
    pub time_exceeded_sent: u64,
    /// Of those, destination unreachable (type 3).
    pub unreachable_sent: u64,
    /// ARP requests broadcast.
    pub arp_requests: u64,
    /// ARP replies sent.
    pub arp_replies: u64,
    /// Events of the node's TCP stack (whether or not they were written to a trace).
    pub tcp_events: u64,
    /// TCP segments with RST sent by this node (by connections and on behalf of closed ports).
    pub rsts_sent: u64,
}

/// Receives every event; keeps counters; optionally writes JSON lines.
pub struct Tracer {
    /// Counters per link (indexed by `LinkId`), per direction (a -> b first).
    pub links: Vec<[LinkDirStats; 2]>,
    /// Counters per node (indexed by `NodeId`).
    pub nodes: Vec<NodeStats>,
    /// Events seen, all kinds.
    pub events: u64,
    sink: Option<Sink>,
    /// Per-connection accounting from the TCP events (when on: the default).
    keep_tcp: bool,
    /// One summary per TCP socket, in (node, socket) order.
    pub conns: conn_table::ConnTable,
    /// Node names (indexed by `NodeId`), for the connection summaries.
    pub node_names: Vec<String>,
    /// The first error writing the trace; writing stops there, counting goes on.
    pub write_error: Option<String>,
    /// Every event kept in memory, when asked (`set_keep_log`): for expectations on single packets.
    pub log: Option<log::EventLog>,
}

impl Tracer {
    /// A tracer for `links` links and `nodes` nodes that counts and writes nothing out.
    pub fn new(links: usize, nodes: usize) -> Self {
        Tracer {
            links: vec![Default::default(); links],
            nodes: vec![Default::default(); nodes],
            events: 0,
            sink: None,
            keep_tcp: true,
            conns: Default::default(),
            node_names: Vec::new(),
            write_error: None,
            log: None,
        }
    }
    /// Writes every event from now on to `w`, one JSON line each.
    pub fn set_sink(&mut self, w: Box<dyn Write>) {
        self.sink = Some(Sink::Jsonl(w));
    }
    /// Writes every event from now on to `w` in the binary format (its header at once).
    pub fn set_binary_sink(&mut self, w: Box<dyn Write>) -> std::io::Result<()> {
        self.sink = Some(Sink::Binary(Box::new(binary::encode::BinaryWriter::new(w)?)));
        Ok(())
    }
    /// Whether to keep per-connection summaries (`conns`; on by default).
    pub fn set_keep_tcp(&mut self, keep: bool) {
        self.keep_tcp = keep;
    }

    /// Keeps every event in memory (`log`) from now on.
    pub fn set_keep_log(&mut self, keep: bool) {
        self.log = keep.then(log::EventLog::default);
    }

    /// Records one event.
    pub fn emit(&mut self, t: Instant, kind: NetEvent) {
        if let NetEvent::Tcp { node, frame, event } = kind {
            return self.emit_tcp(node, *event, frame);
        }
        if let Some(l) = self.log.as_mut() {
            l.push(t, &kind);
        }
        self.events += 1;
        self.count(&kind);
        if self.sink.is_some() {
            self.write(&TraceEvent { t, kind });
        }
    }

    /// Records one TCP event of `node`. Without a trace file the event is only counted: no
    /// allocation on this per-segment path.
    pub fn emit_tcp(&mut self, node: NodeId, event: TcpEvent, frame: Option<u64>) {
        self.events += 1;
        if let Some(l) = self.log.as_mut() {
            l.push_tcp(node, &event);
        }
        self.count_tcp(node, &event);
        if self.sink.is_some() {
            let t = event.time;
            self.write(&TraceEvent { t, kind: NetEvent::Tcp { node, frame, event: Box::new(event) } });
        }
    }

    /// TCP events a stack counted without recording them (its trace is not written): they count
    /// as events all the same, so figures do not depend on whether a trace is written.
    pub fn count_skipped_tcp(&mut self, node: NodeId, n: u64) {
        self.events += n;
        self.nodes[node].tcp_events += n;
    }

    /// Starts loading the counters `node`'s next TCP event updates (see `EventSink::prefetch_node`).
    pub fn prefetch_node(&self, node: NodeId) {
        if let Some(n) = self.nodes.get(node) {
            crate::sys::prefetch_value(&n.tcp_events);
        }
        if self.keep_tcp {
            self.conns.prefetch_node(node);
        }
    }

    /// Whether a trace is being written.
    pub fn writes(&self) -> bool {
        self.sink.is_some()
    }

    fn write(&mut self, ev: &TraceEvent) {
        let r = match self.sink.as_mut() {
            None => return,
            Some(Sink::Binary(b)) => b.write_event(ev),
            Some(Sink::Jsonl(w)) => {
                serde_json::to_writer(&mut *w, ev).map_err(std::io::Error::from).and_then(|_| w.write_all(b"\n"))
            }
        };
        if let Err(e) = r {
            self.write_error.get_or_insert_with(|| e.to_string());
            self.sink = None;
        }
    }

    fn count_tcp(&mut self, node: NodeId, event: &TcpEvent) {
        let n = &mut self.nodes[node];
        n.tcp_events += 1;
        if let crate::tcp::TcpEventKind::SegmentSent(seg) = &event.kind
            && seg.flags.0.rst()
        {
            n.rsts_sent += 1;
        }
        // Events of no socket (a RST answering a segment for a closed port) belong to no connection.
        // Detail events (timers, application calls) are not always recorded: they must not make a
        // connection appear in the summary.
        if self.keep_tcp && event.socket != crate::tcp::NO_SOCKET && !event.kind.is_detail() {
            let c = self.conns.get_or_insert_with((node, event.socket), || conn::ConnSummary {
                host: self.node_names.get(node).cloned().unwrap_or_default(),
                node,
                socket: event.socket.0,
                ..Default::default()
            });
            c.record(event);
        }
    }

    fn count(&mut self, kind: &NetEvent) {
        match kind {
            NetEvent::LinkTx { link, dir, len, .. } => {
                let s = &mut self.links[*link][dir.index()];
                s.sent += 1;
                s.sent_bytes += *len as u64;
            }
            NetEvent::LinkDrop { link, dir, cause, .. } => {
                *self.links[*link][dir.index()].dropped.entry(*cause).or_default() += 1;
            }
            NetEvent::LinkDeliver { link, dir, len, .. } => {
                let s = &mut self.links[*link][dir.index()];
                s.delivered += 1;
                s.delivered_bytes += *len as u64;
            }
            NetEvent::LinkDuplicate { link, dir, .. } => self.links[*link][dir.index()].duplicated += 1,
            NetEvent::LinkReorder { link, dir, .. } => self.links[*link][dir.index()].reordered += 1,
            NetEvent::LinkCorrupt { link, dir, .. } => self.links[*link][dir.index()].corrupted += 1,
            NetEvent::NodeDrop { node, cause, .. } => *self.nodes[*node].dropped.entry(*cause).or_default() += 1,
            NetEvent::IcmpError { node, icmp_type, .. } => {
                let s = &mut self.nodes[*node];
                s.icmp_errors_sent += 1;
                match icmp_type {
                    11 => s.time_exceeded_sent += 1,
                    3 => s.unreachable_sent += 1,
                    _ => {}
                }
            }
            NetEvent::ArpRequest { node, .. } => self.nodes[*node].arp_requests += 1,
            NetEvent::ArpReply { node, .. } => self.nodes[*node].arp_replies += 1,
            NetEvent::Tcp { node, event, .. } => self.count_tcp(*node, event),
            NetEvent::LinkState { .. } | NetEvent::App { .. } | NetEvent::Fault { .. } => {}
        }
    }

    /// Writes out buffered trace lines; the first write error, if any.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if let Some(e) = &self.write_error {
            return Err(std::io::Error::other(e.clone()));
        }
        match self.sink.as_mut() {
            Some(Sink::Jsonl(w)) => w.flush(),
            Some(Sink::Binary(b)) => b.flush(),
            None => Ok(()),
        }
    }

    /// Ends the trace (the binary trace's index is written here) and flushes it.
    pub fn finish_trace(&mut self) -> std::io::Result<()> {
        if let Some(Sink::Binary(b)) = self.sink.as_mut()
            && self.write_error.is_none()
            && let Err(e) = b.finish()
        {
            self.write_error.get_or_insert_with(|| e.to_string());
        }
        self.flush()
    }
}

/// Where the trace goes.
enum Sink {
    /// One JSON line per event.
    Jsonl(Box<dyn Write>),
    /// The binary format.
    Binary(Box<binary::encode::BinaryWriter>),
}

impl EventSink for Tracer {
    fn emit(&mut self, t: Instant, event: NetEvent) {
        Tracer::emit(self, t, event)
    }
    fn emit_tcp(&mut self, node: NodeId, event: TcpEvent, frame: Option<u64>) {
        Tracer::emit_tcp(self, node, event, frame)
    }
    fn count_skipped_tcp(&mut self, node: NodeId, n: u64) {
        Tracer::count_skipped_tcp(self, node, n)
    }
    fn writes(&self) -> bool {
        Tracer::writes(self)
    }
    fn wants_frames(&self) -> bool {
        self.log.is_some()
    }
    fn frame_offered(&mut self, frame: u64, data: &[u8]) {
        if let Some(l) = self.log.as_mut() {
            l.frame_offered(frame, data);
        }
    }
    fn finish(&mut self) -> Result<(), String> {
        self.finish_trace().map_err(|e| format!("trace: {e}"))
    }
    fn observed(&mut self, node: NodeId, socket: crate::tcp::SocketId) {
        if let Some(c) = self.conns.get_mut(&(node, socket)) {
            c.observed = true;
        }
    }
    fn prefetch_node(&self, node: NodeId) {
        Tracer::prefetch_node(self, node)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
