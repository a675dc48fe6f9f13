//! The one trace reader: the trace (binary `trace.nlt` or `trace.jsonl`, and the run directory
//! around it) read back into typed lines, the topology, and the connections. The summary's plots
//! and the terminal viewer both use it.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One segment as written in `segment_sent` / `segment_received` events.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Seg {
    /// Sequence number (absolute, as on the wire).
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flags as "SYN|ACK" (Wireshark's order); "-" for none.
    pub flags: String,
    /// The window field as on the wire (not scaled).
    pub window: u16,
    /// Payload bytes.
    pub len: usize,
    /// Options as "mss=1460 ws=7 sackok ts=1000/0 sack=[100-200]"; empty when there are none.
    #[serde(default)]
    pub options: String,
}

/// The `kind` of a TCP trace event, read back. Unknown kinds (from newer traces) become `Other`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TcpKind {
    /// The connection moved from one state to another (RFC 9293 3.3.2).
    StateChange {
        /// The state it left, as its Rust name ("SynSent").
        from: String,
        /// The state it entered.
        to: String,
    },
    /// A segment was sent.
    SegmentSent(Seg),
    /// A segment arrived.
    SegmentReceived(Seg),
    /// A segment is sent again (the matching `segment_sent` follows).
    Retransmit {
        /// Sequence number of its first byte.
        seq: u32,
        /// Payload bytes.
        len: usize,
        /// Why: "rto", "fast_retransmit", "sack" or "probe".
        reason: String,
    },
    /// A timer was armed.
    TimerSet {
        /// Which timer ("retransmit", "persist", "delayed_ack", "time_wait", ...).
        timer: String,
        /// When it expires, in nanoseconds since the start.
        deadline: u64,
    },
    /// A timer expired.
    TimerFired {
        /// Which timer.
        timer: String,
    },
    /// The congestion window or slow-start threshold changed.
    Congestion {
        /// Congestion window, bytes.
        cwnd: u32,
        /// Slow-start threshold, bytes.
        ssthresh: u32,
        /// What changed it ("ack", "fast_retransmit", "partial_ack", "recovery_exit", "rto", ...).
        reason: String,
    },
    /// A new RTT sample and the estimator's state after it (RFC 6298); all in nanoseconds.
    Rtt {
        /// The measured round-trip time.
        sample: u64,
        /// Smoothed RTT.
        srtt: u64,
        /// RTT variation.
        rttvar: u64,
        /// Retransmission timeout.
        rto: u64,
    },
    /// The retransmission timer expired and was backed off (RFC 6298 5.5).
    RtoBackoff {
        /// The new timeout, nanoseconds.
        rto: u64,
        /// Consecutive expirations so far.
        retries: u32,
    },
    /// Loss recovery started (RFC 6582 / RFC 6675).
    RecoveryStart {
        /// The highest sequence number sent when it started; recovery ends when it is acknowledged.
        recover: u32,
        /// Whether SACK-based recovery (RFC 6675) is used.
        sack: bool,
    },
    /// Loss recovery ended.
    RecoveryEnd {
        /// The acknowledgment that ended it.
        ack: u32,
    },
    /// A duplicate was answered with a D-SACK (RFC 2883).
    DsackSent {
        /// First duplicated sequence number.
        left: u32,
        /// End of the duplicated range.
        right: u32,
    },
    /// The peer reported a duplicate (RFC 2883).
    DsackReceived {
        /// First duplicated sequence number.
        left: u32,
        /// End of the duplicated range.
        right: u32,
    },
    /// Reordering was detected (RFC 8985 6.2).
    Reordering {
        /// How far out of order, in segments.
        degree: u32,
        /// The reordering threshold now assumed.
        threshold: u32,
    },
    /// RACK marked a segment lost (RFC 8985 6.2).
    MarkedLost {
        /// Its first sequence number.
        seq: u32,
        /// Its length.
        len: u32,
        /// The reordering window, ns.
        reo_wnd: u64,
    },
    /// A tail loss probe was sent (RFC 8985 7.3).
    LossProbe {
        /// Its first sequence number.
        seq: u32,
        /// Whether it carried new data.
        new_data: bool,
    },
    /// A spurious window reduction was undone.
    Undo {
        /// The evidence ("dsack", "timestamp", "frto", "no_retransmission").
        reason: String,
        /// The restored congestion window.
        cwnd: u32,
    },
    /// The application called the socket.
    AppCall {
        /// The call ("connect", "send", "recv", "close", ...).
        call: String,
        /// The length asked for, where the call has one.
        len: Option<usize>,
        /// The result as text ("Ok(1448)", "Err(ConnectionReset)").
        result: String,
    },
    /// A received segment was discarded (after any ACK it required).
    Dropped {
        /// Why, as a short snake_case phrase.
        reason: String,
    },
    /// A challenge ACK was sent (RFC 5961).
    ChallengeAck {
        /// What it answered (a RST or SYN in the window, ...).
        reason: String,
    },
    /// The connection failed.
    Error {
        /// The error as text ("connection reset", "connection timed out", ...).
        error: String,
    },
    /// A kind this reader does not know (e.g. `path_mtu`, or one from a newer trace).
    #[serde(other)]
    Other,
}

/// One line of `trace.jsonl`, read back. The fields are the union of all event kinds' fields
/// (`ev` says which kind it is); those an event does not have are `None`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TraceLine {
    /// Simulated time, nanoseconds since the start.
    pub t: u64,
    /// The event kind ("link_tx", "link_drop", "tcp", "app", ...).
    pub ev: String,
    /// The node (node events, TCP events).
    #[serde(default)]
    pub node: Option<usize>,
    /// The link (link events).
    #[serde(default)]
    pub link: Option<usize>,
    /// The link direction, "a->b" or "b->a".
    #[serde(default)]
    pub dir: Option<String>,
    /// The frame id.
    #[serde(default)]
    pub frame: Option<u64>,
    /// Frame length in bytes.
    #[serde(default)]
    pub len: Option<usize>,
    /// How long a frame waits in the link queue, nanoseconds (`link_tx`).
    #[serde(default)]
    pub queued_ns: Option<u64>,
    /// Why a frame was dropped (`link_drop`, `node_drop`).
    #[serde(default)]
    pub cause: Option<String>,
    /// The frame id of a duplicate (`link_duplicate`).
    #[serde(default)]
    pub copy: Option<u64>,
    /// The bit flipped (`link_corrupt`).
    #[serde(default)]
    pub bit: Option<usize>,
    /// Whether the link is now up (`link_state`).
    #[serde(default)]
    pub up: Option<bool>,
    /// What a fault did, in words (`fault`).
    #[serde(default)]
    pub what: Option<String>,
    /// ICMP type of an error sent (`icmp_error`).
    #[serde(default)]
    pub icmp_type: Option<u8>,
    /// ICMP code of an error sent.
    #[serde(default)]
    pub code: Option<u8>,
    /// Where an ICMP error was sent.
    #[serde(default)]
    pub to: Option<String>,
    /// The address an ARP request or reply is about (`arp_request`, `arp_reply`).
    #[serde(default)]
    pub target: Option<String>,
    /// The socket (TCP events).
    #[serde(default)]
    pub socket: Option<u32>,
    /// The socket's local address and port, "10.0.0.1:5001" (TCP events).
    #[serde(default)]
    pub local: Option<String>,
    /// The peer's address and port (TCP events of connections).
    #[serde(default)]
    pub remote: Option<String>,
    /// What happened (TCP events).
    #[serde(default)]
    pub kind: Option<TcpKind>,
    /// The application (`app`).
    #[serde(default)]
    pub app: Option<usize>,
    /// The line it printed (`app`).
    #[serde(default)]
    pub line: Option<String>,
    /// The fault's index (`fault`).
    #[serde(default)]
    pub index: Option<usize>,
}

/// Reads a whole trace, binary (`trace.nlt`) or JSON lines. Errors name the file and the line or
/// byte.
pub fn read_trace(path: &Path) -> Result<Vec<TraceLine>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if super::binary::decode::is_binary(&bytes) {
        return parse_binary(&bytes).map_err(|e| format!("{}: {e}", path.display()));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: not a netlab trace (not text)", path.display()))?;
    parse_trace(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads the events of a binary trace (the bytes of a `trace.nlt`).
pub fn parse_binary(bytes: &[u8]) -> Result<Vec<TraceLine>, String> {
    let mut d = super::binary::decode::Decoder::new(bytes)?;
    let mut out = Vec::new();
    let mut line = Vec::new();
    while d.next_json(&mut line)?.is_some() {
        out.push(parse_line(&line, out.len() + 1)?);
        line.clear();
    }
    Ok(out)
}

/// One event from its JSON text (`n` numbers it in errors).
pub(crate) fn parse_line(line: &[u8], n: usize) -> Result<TraceLine, String> {
    let ev: TraceLine = serde_json::from_slice(line).map_err(|e| format!("line {n}: not a netlab trace event: {e}"))?;
    if ev.ev == "tcp" && (ev.node.is_none() || ev.socket.is_none() || ev.kind.is_none()) {
        return Err(format!("line {n}: a tcp event without node, socket or kind"));
    }
    Ok(ev)
}

/// Parses the text of a `trace.jsonl` (blank lines are skipped).
pub fn parse_trace(text: &str) -> Result<Vec<TraceLine>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(parse_line(line.as_bytes(), i + 1)?);
    }
    Ok(out)
}

/// Where a run's files are: `path` is a run directory or a trace file; returns (trace, summary).
/// In a directory the binary `trace.nlt` is preferred to `trace.jsonl`.
pub fn run_files(path: &Path) -> (PathBuf, PathBuf) {
    if path.is_dir() {
        let binary = path.join(super::binary::FILE_NAME);
        let trace = if binary.exists() { binary } else { path.join("trace.jsonl") };
        (trace, path.join("summary.json"))
    } else {
        let dir = path.parent().unwrap_or(Path::new("."));
        (path.to_path_buf(), dir.join("summary.json"))
    }
}

/// Names of nodes and links (with their end nodes) from `summary.json`, in index order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Topology {
    /// The scenario's name.
    pub scenario: String,
    /// (name, is a router) of every node.
    pub nodes: Vec<(String, bool)>,
    /// (name, a node name, b node name)
    pub links: Vec<(String, String, String)>,
}

impl Topology {
    /// Reads what the viewer needs from a summary (`RunReport` as JSON).
    pub fn from_summary(v: &serde_json::Value) -> Topology {
        let s = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
        let arr = |k: &str| v.get(k).and_then(|x| x.as_array()).cloned().unwrap_or_default();
        Topology {
            scenario: s(v, "scenario"),
            nodes: arr("nodes")
                .iter()
                .map(|n| (s(n, "name"), n.get("router").and_then(|r| r.as_bool()).unwrap_or(false)))
                .collect(),
            links: arr("links").iter().map(|l| (s(l, "name"), s(l, "a"), s(l, "b"))).collect(),
        }
    }
    /// Reads `summary.json`; a missing file gives an empty topology (names are then made up).
    pub fn read(path: &Path) -> Result<Topology, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let v: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| format!("{}: not a netlab summary: {e}", path.display()))?;
                Ok(Topology::from_summary(&v))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Topology::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
    /// The name of node `i`, or "node{i}" if the summary does not name it.
    pub fn node_name(&self, i: usize) -> String {
        self.nodes.get(i).map_or_else(|| format!("node{i}"), |n| n.0.clone())
    }
}

/// A TCP connection seen in a trace (listeners excluded): (node, socket) and its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnId {
    /// The node it lives on.
    pub node: usize,
    /// The socket's id in the node's stack.
    pub socket: u32,
    /// The node's name.
    pub host: String,
    /// Local "address:port".
    pub local: String,
    /// Remote "address:port".
    pub remote: String,
}

impl ConnId {
    /// "host local -> remote", for lists and titles.
    pub fn label(&self) -> String {
        format!("{} {} -> {}", self.host, self.local, self.remote)
    }
    /// Whether `spec` names this connection: "HOST:PORT" (node name and local port), "IP:PORT" (local
    /// address), "HOST" or ":PORT".
    pub fn matches(&self, spec: &str) -> bool {
        let port = self.local.rsplit(':').next().unwrap_or_default();
        if spec == self.local || spec == self.host {
            return true;
        }
        match spec.rsplit_once(':') {
            Some((h, p)) => p == port && (h.is_empty() || h == self.host),
            None => false,
        }
    }
}

/// Every connection of a trace, in order of first appearance.
pub fn connections(events: &[TraceLine], topo: &Topology) -> Vec<ConnId> {
    let mut out: Vec<ConnId> = Vec::new();
    for e in events {
        let (Some(node), Some(socket), Some(remote)) = (e.node, e.socket, e.remote.as_ref()) else { continue };
        if e.ev != "tcp" || out.iter().any(|c| c.node == node && c.socket == socket) {
            continue;
        }
        out.push(ConnId {
            node,
            socket,
            host: topo.node_name(node),
            local: e.local.clone().unwrap_or_default(),
            remote: remote.clone(),
        });
    }
    out
}
