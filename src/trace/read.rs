//! The one trace reader: `trace.jsonl` (and the run directory around it) read back into typed lines,
//! the topology, and the connections. The summary's plots and the terminal viewer both use it.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One segment as written in `segment_sent` / `segment_received` events.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Seg {
    pub seq: u32,
    pub ack: u32,
    pub flags: String,
    pub window: u16,
    pub len: usize,
    #[serde(default)]
    pub options: String,
}

/// The `kind` of a TCP trace event, read back. Unknown kinds (from newer traces) become `Other`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TcpKind {
    StateChange {
        from: String,
        to: String,
    },
    SegmentSent(Seg),
    SegmentReceived(Seg),
    Retransmit {
        seq: u32,
        len: usize,
        reason: String,
    },
    TimerSet {
        timer: String,
        deadline: u64,
    },
    TimerFired {
        timer: String,
    },
    Congestion {
        cwnd: u32,
        ssthresh: u32,
        reason: String,
    },
    Rtt {
        sample: u64,
        srtt: u64,
        rttvar: u64,
        rto: u64,
    },
    RtoBackoff {
        rto: u64,
        retries: u32,
    },
    RecoveryStart {
        recover: u32,
        sack: bool,
    },
    RecoveryEnd {
        ack: u32,
    },
    AppCall {
        call: String,
        len: Option<usize>,
        result: String,
    },
    Dropped {
        reason: String,
    },
    ChallengeAck {
        reason: String,
    },
    Error {
        error: String,
    },
    #[serde(other)]
    Other,
}

/// One line of `trace.jsonl`, read back. The fields are the union of all event kinds' fields
/// (`ev` says which kind it is); those an event does not have are `None`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TraceLine {
    pub t: u64,
    pub ev: String,
    #[serde(default)]
    pub node: Option<usize>,
    #[serde(default)]
    pub link: Option<usize>,
    #[serde(default)]
    pub dir: Option<String>,
    #[serde(default)]
    pub frame: Option<u64>,
    #[serde(default)]
    pub len: Option<usize>,
    #[serde(default)]
    pub queued_ns: Option<u64>,
    #[serde(default)]
    pub cause: Option<String>,
    #[serde(default)]
    pub copy: Option<u64>,
    #[serde(default)]
    pub bit: Option<usize>,
    #[serde(default)]
    pub up: Option<bool>,
    #[serde(default)]
    pub what: Option<String>,
    #[serde(default)]
    pub icmp_type: Option<u8>,
    #[serde(default)]
    pub code: Option<u8>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub socket: Option<u32>,
    #[serde(default)]
    pub local: Option<String>,
    #[serde(default)]
    pub remote: Option<String>,
    #[serde(default)]
    pub kind: Option<TcpKind>,
    #[serde(default)]
    pub app: Option<usize>,
    #[serde(default)]
    pub line: Option<String>,
    #[serde(default)]
    pub index: Option<usize>,
}

/// Reads a whole `trace.jsonl`. Errors name the file and the line.
pub fn read_trace(path: &Path) -> Result<Vec<TraceLine>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_trace(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses the text of a `trace.jsonl` (blank lines are skipped).
pub fn parse_trace(text: &str) -> Result<Vec<TraceLine>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ev: TraceLine =
            serde_json::from_str(line).map_err(|e| format!("line {}: not a netlab trace event: {e}", i + 1))?;
        if ev.ev == "tcp" && (ev.node.is_none() || ev.socket.is_none() || ev.kind.is_none()) {
            return Err(format!("line {}: a tcp event without node, socket or kind", i + 1));
        }
        out.push(ev);
    }
    Ok(out)
}

/// Where a run's files are: `path` is a run directory or a `trace.jsonl`; returns (trace, summary).
pub fn run_files(path: &Path) -> (PathBuf, PathBuf) {
    if path.is_dir() {
        (path.join("trace.jsonl"), path.join("summary.json"))
    } else {
        let dir = path.parent().unwrap_or(Path::new("."));
        (path.to_path_buf(), dir.join("summary.json"))
    }
}

/// Names of nodes and links (with their end nodes) from `summary.json`, in index order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Topology {
    pub scenario: String,
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
    pub fn node_name(&self, i: usize) -> String {
        self.nodes.get(i).map_or_else(|| format!("node{i}"), |n| n.0.clone())
    }
}

/// A TCP connection seen in a trace (listeners excluded): (node, socket) and its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnId {
    pub node: usize,
    pub socket: u32,
    pub host: String,
    pub local: String,
    pub remote: String,
}

impl ConnId {
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
