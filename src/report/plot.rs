//! Drawing a run's graphs as SVG (and PNG) from a finished run: per connection, the time-sequence
//! graph (Stevens: the sequence numbers of the segments sent over time, the retransmissions marked,
//! the ACKs received and the receive window they advertised), the cwnd/ssthresh graph and the
//! SRTT/RTO graph; across connections, cwnd and throughput on one chart each (`all.rs`). Used by
//! `netlab plot`.

mod all;
#[cfg(feature = "png")]
mod png;

use crate::trace::read::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Style {
    /// A connected line through the points (a step line when `step`).
    Line {
        /// Horizontal then vertical between points, as for a value that holds until it changes.
        step: bool,
    },
    /// A short vertical bar from y to y2 at each point (segments in a time-sequence graph).
    Bars,
    /// A marker at each point.
    Marks,
}

/// One data series of a chart.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Its name in the legend.
    pub name: String,
    /// An SVG colour.
    pub color: &'static str,
    /// How it is drawn.
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
pub(crate) fn svg_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
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
    /// The connection.
    pub conn: ConnId,
    /// The time-sequence graph, as an SVG document.
    pub time_sequence: String,
    /// The cwnd/ssthresh graph, as an SVG document.
    pub cwnd: String,
    /// The SRTT/RTO graph, as an SVG document.
    pub rtt: String,
}

/// What `netlab plot` draws and where.
#[derive(Debug, Clone, Default)]
pub struct PlotOptions {
    /// The connection (see `ConnId::matches`); default: the first.
    pub conn: Option<String>,
    /// Where to write the files; default: the run's directory.
    pub out: Option<PathBuf>,
    /// Only what happened at or after this time (ns).
    pub from: Option<u64>,
    /// Only what happened at or before this time (ns).
    pub to: Option<u64>,
    /// Also write each graph as PNG.
    pub png: bool,
    /// Write no SVG (with `png`: PNG only).
    pub no_svg: bool,
}

/// The time window of `--from/--to`, in ns.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: u64,
    to: u64,
}

impl Window {
    fn of(opts: &PlotOptions) -> Window {
        Window { from: opts.from.unwrap_or(0), to: opts.to.unwrap_or(u64::MAX) }
    }
    fn contains(&self, t: u64) -> bool {
        (self.from..=self.to).contains(&t)
    }
}

/// The window scale (RFC 7323 2.3) the peer applies to the windows it sends: its `ws` option, if
/// both SYNs carried one; windows in SYN segments are never scaled.
fn peer_window_shift(ours: &str, theirs: &str) -> u32 {
    let ws = |opts: &str| opts.split_whitespace().find_map(|o| o.strip_prefix("ws=")?.parse::<u32>().ok());
    match (ws(ours), ws(theirs)) {
        (Some(_), Some(shift)) => shift.min(14),
        _ => 0,
    }
}

/// Builds the time-sequence and cwnd/ssthresh graphs of `conn`.
pub fn plot_connection(events: &[TraceLine], conn: &ConnId) -> Plots {
    plot_connection_in(events, conn, Window { from: 0, to: u64::MAX })
}

fn plot_connection_in(events: &[TraceLine], conn: &ConnId, w: Window) -> Plots {
    let mine = events.iter().filter(|e| e.ev == "tcp" && e.node == Some(conn.node) && e.socket == Some(conn.socket));
    let mut isn: Option<u32> = None;
    let (mut sent, mut retx, mut acks, mut cwnd, mut ssth) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut rwnd, mut srtt, mut rto) = (vec![], vec![], vec![]);
    let (mut our_syn, mut their_syn): (Option<String>, Option<String>) = (None, None);
    let mut pending_retx = false;
    for e in mine {
        let t = e.t as f64 / 1e9;
        if !w.contains(e.t) {
            // Outside the window: only what later points depend on.
            match e.kind.as_ref() {
                Some(TcpKind::SegmentSent(s)) if s.flags.contains("SYN") => {
                    isn.get_or_insert(s.seq);
                    our_syn.get_or_insert_with(|| s.options.clone());
                }
                Some(TcpKind::SegmentReceived(s)) if s.flags.contains("SYN") => {
                    their_syn.get_or_insert_with(|| s.options.clone());
                }
                _ => {}
            }
            continue;
        }
        match e.kind.as_ref() {
            Some(TcpKind::SegmentSent(s)) => {
                if s.flags.contains("SYN") {
                    our_syn.get_or_insert_with(|| s.options.clone());
                }
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
            Some(TcpKind::SegmentReceived(s)) => {
                if s.flags.contains("SYN") {
                    their_syn.get_or_insert_with(|| s.options.clone());
                }
                if let Some(base) = isn.filter(|_| s.flags.contains("ACK")) {
                    let ack = f64::from(s.ack.wrapping_sub(base));
                    acks.push((t, ack, 0.0));
                    // The right edge of the window the peer offered: ACK + its (scaled) window.
                    let shift = if s.flags.contains("SYN") {
                        0
                    } else {
                        peer_window_shift(our_syn.as_deref().unwrap_or(""), their_syn.as_deref().unwrap_or(""))
                    };
                    rwnd.push((t, ack + f64::from(u32::from(s.window) << shift), 0.0));
                }
            }
            Some(TcpKind::Rtt { srtt: sr, rto: r, .. }) => {
                srtt.push((t, *sr as f64 / 1e6, 0.0));
                rto.push((t, *r as f64 / 1e6, 0.0));
            }
            Some(TcpKind::RtoBackoff { rto: r, .. }) => rto.push((t, *r as f64 / 1e6, 0.0)),
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
        Series {
            name: "receive window (ACK + window)".into(),
            color: "#9467bd",
            style: Style::Line { step: true },
            points: rwnd,
        },
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
    let rt = [
        Series { name: "SRTT".into(), color: "#1f5fbf", style: Style::Line { step: true }, points: srtt },
        Series { name: "RTO".into(), color: "#d62728", style: Style::Line { step: true }, points: rto },
    ];
    let rtt = svg_chart(&format!("SRTT and RTO: {title}"), "time (s)", "milliseconds", &rt);
    Plots { conn: conn.clone(), time_sequence, cwnd, rtt }
}

/// `netlab plot`: reads the run at `path`, draws the graphs of the connection `conn` (default: the
/// first) and writes them to `out` (default: the run's directory). Returns the files written.
pub fn plot_run(path: &Path, conn: Option<&str>, out: Option<&Path>) -> Result<Vec<PathBuf>, String> {
    plot_run_with(
        path,
        &PlotOptions { conn: conn.map(str::to_string), out: out.map(Path::to_path_buf), ..Default::default() },
    )
}

/// Reads a run's trace, or says why there is none and what to do.
fn read_run(path: &Path) -> Result<(PathBuf, Vec<TraceLine>, Topology), String> {
    if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
        return Err(format!(
            "{}: plot draws a finished run, not a scenario; run it first (netlab run {}), then plot its \
             output directory (captures/<name>/)",
            path.display(),
            path.display()
        ));
    }
    if !path.exists() {
        return Err(format!(
            "{}: no such run directory or trace file; expected a run directory written by `netlab run` \
             (e.g. captures/<name>/) or its trace.jsonl",
            path.display()
        ));
    }
    let (trace, summary) = run_files(path);
    if !trace.exists() {
        return Err(if summary.exists() {
            format!(
                "{}: this run has no trace (it ran with --no-trace or the scenario says trace = false); \
                 the graphs are drawn from trace.jsonl: run the scenario again with its trace on",
                path.display()
            )
        } else {
            format!(
                "{}: no trace.jsonl here; expected a run directory written by `netlab run` (e.g. \
                 captures/<name>/) or its trace.jsonl",
                path.display()
            )
        });
    }
    let events = read_trace(&trace)?;
    let topo = Topology::read(&summary)?;
    Ok((trace, events, topo))
}

/// `netlab plot` with every option: the chosen connection's time-sequence, cwnd and SRTT/RTO
/// graphs, and every connection's cwnd and throughput on one chart each, in the time window asked,
/// as SVG and/or PNG. Returns the files written.
pub fn plot_run_with(path: &Path, opts: &PlotOptions) -> Result<Vec<PathBuf>, String> {
    if let (Some(f), Some(t)) = (opts.from, opts.to)
        && f >= t
    {
        return Err("--from must be before --to".into());
    }
    let (trace, events, topo) = read_run(path)?;
    let conns = connections(&events, &topo);
    let chosen = match opts.conn.as_deref() {
        Some(spec) => conns.iter().find(|c| c.matches(spec)).ok_or_else(|| {
            let names: Vec<String> = conns.iter().map(|c| format!("{}:{}", c.host, port_of(&c.local))).collect();
            format!("no connection matches \"{spec}\"; the run has: {}", names.join(", "))
        })?,
        None => conns.first().ok_or_else(|| format!("{}: no TCP connection in this trace", trace.display()))?,
    };
    let w = Window::of(opts);
    let plots = plot_connection_in(&events, chosen, w);
    let (all_cwnd, all_tput) = all::plot_all(&events, &conns, w);
    let dir = opts.out.clone().unwrap_or_else(|| trace.parent().unwrap_or(Path::new(".")).to_path_buf());
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stem = format!("{}-{}", chosen.host, port_of(&chosen.local));
    let graphs = [
        (format!("{stem}-tseq"), &plots.time_sequence),
        (format!("{stem}-cwnd"), &plots.cwnd),
        (format!("{stem}-rtt"), &plots.rtt),
        ("all-cwnd".to_string(), &all_cwnd),
        ("all-throughput".to_string(), &all_tput),
    ];
    let mut written = Vec::new();
    for (name, svg) in graphs {
        if !opts.no_svg {
            let p = dir.join(format!("{name}.svg"));
            std::fs::write(&p, svg).map_err(|e| format!("{}: {e}", p.display()))?;
            written.push(p);
        }
        if opts.png {
            let p = dir.join(format!("{name}.png"));
            std::fs::write(&p, svg_to_png(svg)?).map_err(|e| format!("{}: {e}", p.display()))?;
            written.push(p);
        }
    }
    Ok(written)
}

/// An SVG document rasterised as PNG.
#[cfg(feature = "png")]
pub fn svg_to_png(svg: &str) -> Result<Vec<u8>, String> {
    png::render(svg)
}

/// Without the `png` feature there is no rasteriser.
#[cfg(not(feature = "png"))]
pub fn svg_to_png(_svg: &str) -> Result<Vec<u8>, String> {
    Err("PNG output needs netlab built with the `png` feature (on by default)".into())
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
