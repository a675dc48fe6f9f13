//! Reading a run back (`trace.jsonl` + `summary.json`) and drawing a connection's graphs as SVG:
//! the time-sequence graph (Stevens: the sequence numbers of the segments sent over time, the
//! retransmissions marked, the ACKs received) and the cwnd/ssthresh graph. Used by `netlab plot`;
//! the reader is shared with the terminal viewer (`netlab-tui`).

use serde::Deserialize;
use std::fmt::Write as _;
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

// ------------------------------------------------------------------------------------------- SVG

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    /// A connected line through the points (a step line when `step`).
    Line { step: bool },
    /// A short vertical bar from y to y2 at each point (segments in a time-sequence graph).
    Bars,
    /// A marker at each point.
    Marks,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub style: Style,
    /// (x, y, y2): y2 is the top of a bar, otherwise unused.
    pub points: Vec<(f64, f64, f64)>,
}

fn nice_step(range: f64, ticks: f64) -> f64 {
    let raw = (range / ticks).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let n = raw / mag;
    let m = if n <= 1.0 {
        1.0
    } else if n <= 2.0 {
        2.0
    } else if n <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

fn fmt_tick(v: f64, step: f64) -> String {
    if v.abs() >= 1e6 && step >= 1e5 {
        let s = format!("{:.1}", v / 1e6);
        format!("{}M", s.trim_end_matches(".0"))
    } else if v.abs() >= 1e4 && step >= 1e3 {
        let s = format!("{:.1}", v / 1e3);
        format!("{}k", s.trim_end_matches(".0"))
    } else {
        let decimals = if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize };
        format!("{v:.decimals$}")
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Draws an x/y chart with axes, ticks, labels, a legend and the series, as a standalone SVG.
pub fn svg_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let (w, h) = (900.0, 520.0);
    let (ml, mr, mt, mb) = (90.0, 30.0, 50.0, 60.0);
    let (pw, ph) = (w - ml - mr, h - mt - mb);
    let all = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, f64::NEG_INFINITY);
    for &(x, y, y2) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y).max(y2);
    }
    if !x0.is_finite() {
        (x0, x1, y1) = (0.0, 1.0, 1.0);
    }
    if x1 - x0 <= 0.0 {
        x1 = x0 + 1.0;
    }
    if y1 - y0 <= 0.0 {
        y1 = y0 + 1.0;
    }
    let (xs, ys) = (nice_step(x1 - x0, 8.0), nice_step(y1 - y0, 6.0));
    let (x0, x1) = ((x0 / xs).floor() * xs, (x1 / xs).ceil() * xs);
    let (y0, y1) = ((y0 / ys).floor() * ys, (y1 / ys).ceil() * ys);
    let px = |x: f64| ml + (x - x0) / (x1 - x0) * pw;
    let py = |y: f64| mt + ph - (y - y0) / (y1 - y0) * ph;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect x="0" y="0" width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{}" y="28" text-anchor="middle" font-size="16">{}</text>"#, w / 2.0, esc(title));
    // Grid and ticks.
    let mut x = x0;
    while x <= x1 + xs / 2.0 {
        let p = px(x);
        let _ = writeln!(s, r##"<line x1="{p:.1}" y1="{mt}" x2="{p:.1}" y2="{:.1}" stroke="#e5e5e5"/>"##, mt + ph);
        let _ = writeln!(
            s,
            r#"<text x="{p:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            mt + ph + 18.0,
            fmt_tick(x, xs)
        );
        x += xs;
    }
    let mut y = y0;
    while y <= y1 + ys / 2.0 {
        let p = py(y);
        let _ = writeln!(s, r##"<line x1="{ml}" y1="{p:.1}" x2="{:.1}" y2="{p:.1}" stroke="#e5e5e5"/>"##, ml + pw);
        let _ =
            writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#, ml - 8.0, p + 4.0, fmt_tick(y, ys));
        y += ys;
    }
    // Axes and their labels.
    let _ = writeln!(
        s,
        r#"<path d="M{ml},{mt} V{:.1} H{:.1}" fill="none" stroke="black" class="axis"/>"#,
        mt + ph,
        ml + pw
    );
    let _ = writeln!(
        s,
        r#"<text class="axis-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        ml + pw / 2.0,
        h - 15.0,
        esc(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text class="axis-label" x="20" y="{:.1}" text-anchor="middle" transform="rotate(-90 20 {:.1})">{}</text>"#,
        mt + ph / 2.0,
        mt + ph / 2.0,
        esc(y_label)
    );
    // Series.
    for se in series {
        let _ = writeln!(s, r#"<g class="series" data-name="{}">"#, esc(&se.name));
        match se.style {
            Style::Line { step } => {
                let mut pts = String::new();
                let mut last: Option<(f64, f64)> = None;
                for &(x, y, _) in &se.points {
                    if step && let Some((_, ly)) = last {
                        let _ = write!(pts, "{:.2},{:.2} ", px(x), py(ly));
                    }
                    let _ = write!(pts, "{:.2},{:.2} ", px(x), py(y));
                    last = Some((x, y));
                }
                let _ = writeln!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5"/>"#,
                    pts.trim_end(),
                    se.color
                );
            }
            Style::Bars => {
                for &(x, y, y2) in &se.points {
                    let (a, b) = (py(y), py(y2).min(py(y) - 1.5));
                    let _ = writeln!(
                        s,
                        r#"<line x1="{:.2}" y1="{a:.2}" x2="{:.2}" y2="{b:.2}" stroke="{}" stroke-width="1.5"/>"#,
                        px(x),
                        px(x),
                        se.color
                    );
                }
            }
            Style::Marks => {
                for &(x, y, _) in &se.points {
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{:.2}" cy="{:.2}" r="3.5" fill="none" stroke="{}" stroke-width="1.5"/>"#,
                        px(x),
                        py(y),
                        se.color
                    );
                }
            }
        }
        let _ = writeln!(s, "</g>");
    }
    // Legend.
    for (i, se) in series.iter().filter(|se| !se.name.ends_with("(mark)")).enumerate() {
        let ly = mt + 12.0 + i as f64 * 18.0;
        let lx = ml + 14.0;
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="{:.1}" width="14" height="4" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            ly - 4.0,
            se.color,
            lx + 20.0,
            ly + 1.0,
            esc(&se.name)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The two graphs of one connection.
pub struct Plots {
    pub conn: ConnId,
    pub time_sequence: String,
    pub cwnd: String,
}

/// Builds the time-sequence and cwnd/ssthresh graphs of `conn`.
pub fn plot_connection(events: &[TraceLine], conn: &ConnId) -> Plots {
    let mine = events.iter().filter(|e| e.ev == "tcp" && e.node == Some(conn.node) && e.socket == Some(conn.socket));
    let mut isn: Option<u32> = None;
    let (mut sent, mut retx, mut acks, mut cwnd, mut ssth) = (vec![], vec![], vec![], vec![], vec![]);
    let mut pending_retx = false;
    for e in mine {
        let t = e.t as f64 / 1e9;
        match e.kind.as_ref() {
            Some(TcpKind::SegmentSent(s)) => {
                let base = *isn.get_or_insert(s.seq);
                let rel = f64::from(s.seq.wrapping_sub(base));
                let extent = s.len + usize::from(s.flags.contains("SYN")) + usize::from(s.flags.contains("FIN"));
                if extent > 0 {
                    let p = (t, rel, rel + extent as f64);
                    if pending_retx { retx.push(p) } else { sent.push(p) }
                }
                pending_retx = false;
            }
            Some(TcpKind::Retransmit { .. }) => pending_retx = true,
            Some(TcpKind::SegmentReceived(s)) if s.flags.contains("ACK") => {
                if let Some(base) = isn {
                    acks.push((t, f64::from(s.ack.wrapping_sub(base)), 0.0));
                }
            }
            Some(TcpKind::Congestion { cwnd: c, ssthresh, .. }) => {
                cwnd.push((t, f64::from(*c), 0.0));
                // u32::MAX is "no threshold yet": leave it out rather than dwarf the window.
                if *ssthresh != u32::MAX {
                    ssth.push((t, f64::from(*ssthresh), 0.0));
                }
            }
            _ => {}
        }
    }
    let title = format!("{} ({} -> {})", conn.host, conn.local, conn.remote);
    let mut tseq = vec![
        Series { name: "ACK received".into(), color: "#2a9d3a", style: Style::Line { step: true }, points: acks },
        Series { name: "segment sent".into(), color: "#1f5fbf", style: Style::Bars, points: sent },
    ];
    let retx_marks: Vec<_> = retx.iter().map(|&(x, y, _)| (x, y, 0.0)).collect();
    tseq.push(Series { name: "retransmission".into(), color: "#d62728", style: Style::Bars, points: retx });
    tseq.push(Series {
        name: "retransmission (mark)".into(),
        color: "#d62728",
        style: Style::Marks,
        points: retx_marks,
    });
    let time_sequence =
        svg_chart(&format!("Time-sequence graph: {title}"), "time (s)", "relative sequence number (bytes)", &tseq);
    let cw = [
        Series { name: "cwnd".into(), color: "#1f5fbf", style: Style::Line { step: true }, points: cwnd },
        Series { name: "ssthresh".into(), color: "#ff7f0e", style: Style::Line { step: true }, points: ssth },
    ];
    let cwnd = svg_chart(&format!("Congestion window: {title}"), "time (s)", "bytes", &cw);
    Plots { conn: conn.clone(), time_sequence, cwnd }
}

/// `netlab plot`: reads the run at `path`, draws the graphs of the connection `conn` (default: the
/// first) and writes them to `out` (default: the run's directory). Returns the files written.
pub fn plot_run(path: &Path, conn: Option<&str>, out: Option<&Path>) -> Result<Vec<PathBuf>, String> {
    let (trace, summary) = run_files(path);
    let events = read_trace(&trace)?;
    let topo = Topology::read(&summary)?;
    let conns = connections(&events, &topo);
    let chosen = match conn {
        Some(spec) => conns.iter().find(|c| c.matches(spec)).ok_or_else(|| {
            let names: Vec<String> = conns.iter().map(|c| format!("{}:{}", c.host, port_of(&c.local))).collect();
            format!("no connection matches \"{spec}\"; the run has: {}", names.join(", "))
        })?,
        None => conns.first().ok_or_else(|| format!("{}: no TCP connection in this trace", trace.display()))?,
    };
    let plots = plot_connection(&events, chosen);
    let dir = out.map(Path::to_path_buf).unwrap_or_else(|| trace.parent().unwrap_or(Path::new(".")).to_path_buf());
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stem = format!("{}-{}", chosen.host, port_of(&chosen.local));
    let mut written = Vec::new();
    for (name, body) in [("tseq", &plots.time_sequence), ("cwnd", &plots.cwnd)] {
        let p = dir.join(format!("{stem}-{name}.svg"));
        std::fs::write(&p, body).map_err(|e| format!("{}: {e}", p.display()))?;
        written.push(p);
    }
    Ok(written)
}

fn port_of(addr: &str) -> &str {
    addr.rsplit(':').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp_lines_and_rejects_garbage() {
        let t = r#"{"t":5,"ev":"tcp","node":0,"time":5,"socket":1,"local":"10.0.0.1:1","remote":"10.0.0.2:7","kind":{"event":"state_change","from":"Closed","to":"SynSent"}}
{"t":6,"ev":"link_tx","link":0,"dir":"a->b","frame":2,"len":60,"queued_ns":0}
{"t":7,"ev":"tcp","node":0,"time":7,"socket":1,"local":null,"remote":null,"kind":{"event":"something_new","x":1}}"#;
        let ev = parse_trace(t).unwrap();
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0].kind, Some(TcpKind::StateChange { from: "Closed".into(), to: "SynSent".into() }));
        assert_eq!(ev[1].link, Some(0));
        assert_eq!(ev[2].kind, Some(TcpKind::Other));
        assert!(parse_trace("{not json").unwrap_err().contains("line 1"));
        assert!(parse_trace("{\"t\":1}").is_err());
    }

    #[test]
    fn conn_spec_matching() {
        let c = ConnId {
            node: 0,
            socket: 1,
            host: "client".into(),
            local: "10.0.1.2:5000".into(),
            remote: "10.0.2.2:7".into(),
        };
        assert!(c.matches("client:5000"));
        assert!(c.matches("10.0.1.2:5000"));
        assert!(c.matches(":5000"));
        assert!(c.matches("client"));
        assert!(!c.matches("server:7"));
    }

    #[test]
    fn ticks() {
        assert_eq!(nice_step(10.0, 5.0), 2.0);
        assert_eq!(fmt_tick(2_000_000.0, 500_000.0), "2M");
        assert_eq!(fmt_tick(0.25, 0.05), "0.25");
    }
}
