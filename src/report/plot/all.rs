//! Every connection on one chart: the congestion windows (how flows share a bottleneck) and the
//! throughput, the bytes the peer acknowledged per time bin (a fairness lab's figure).

use super::{Series, Style, Window, svg_chart};
use crate::trace::read::{ConnId, TcpKind, TraceLine};

/// Colours of successive connections (Tableau 10).
const PALETTE: [&str; 10] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/// Throughput bins across the time window, at most.
const BINS: u64 = 40;

/// The shortest throughput bin, ns (shorter ones show single bursts of ACKs, not a rate).
const MIN_BIN: u64 = 100_000_000;

/// One connection's figures over the whole run.
struct Flow {
    /// (time ns, cwnd bytes).
    cwnd: Vec<(u64, u32)>,
    /// (time ns, payload bytes acknowledged by the peer so far), growing.
    acked: Vec<(u64, u64)>,
}

fn flow(events: &[TraceLine], c: &ConnId) -> Flow {
    let mut f = Flow { cwnd: Vec::new(), acked: Vec::new() };
    let mut isn: Option<u32> = None;
    let mut best = 0u64;
    for e in events.iter().filter(|e| e.ev == "tcp" && e.node == Some(c.node) && e.socket == Some(c.socket)) {
        match e.kind.as_ref() {
            Some(TcpKind::Congestion { cwnd, .. }) => f.cwnd.push((e.t, *cwnd)),
            Some(TcpKind::SegmentSent(s)) if s.flags.contains("SYN") => {
                isn.get_or_insert(s.seq);
            }
            Some(TcpKind::SegmentReceived(s)) if s.flags.contains("ACK") && !s.flags.contains("RST") => {
                // Bytes after the SYN's sequence number (the FIN's one byte is within a segment).
                let Some(isn) = isn else { continue };
                let acked = u64::from(s.ack.wrapping_sub(isn).saturating_sub(1));
                if acked > best && acked < 1 << 31 {
                    best = acked;
                    f.acked.push((e.t, acked));
                }
            }
            _ => {}
        }
    }
    f
}

/// Bytes acknowledged by time `t`.
fn acked_at(acked: &[(u64, u64)], t: u64) -> u64 {
    let n = acked.partition_point(|a| a.0 <= t);
    n.checked_sub(1).map_or(0, |i| acked[i].1)
}

/// The all-connections cwnd and throughput charts (SVG), for connections that sent data.
pub(super) fn plot_all(events: &[TraceLine], conns: &[ConnId], w: Window) -> (String, String) {
    let flows: Vec<(&ConnId, Flow)> =
        conns.iter().map(|c| (c, flow(events, c))).filter(|(_, f)| f.acked.last().is_some_and(|a| a.1 > 1)).collect();
    let first = events.first().map_or(0, |e| e.t).max(w.from);
    let last = events.last().map_or(0, |e| e.t).min(w.to);
    let span = last.saturating_sub(first);
    let bin = (span / BINS).max(MIN_BIN.min(span / 4)).max(1);
    let bins = span.div_ceil(bin);
    let mut cwnd = Vec::new();
    let mut tput = Vec::new();
    for (i, (c, f)) in flows.iter().enumerate() {
        let name = format!("{} {} -> {}", c.host, c.local, c.remote);
        let color = PALETTE[i % PALETTE.len()];
        let points = f.cwnd.iter().filter(|p| w.contains(p.0)).map(|p| (p.0 as f64 / 1e9, f64::from(p.1), 0.0));
        cwnd.push(Series { name: name.clone(), color, style: Style::Line { step: true }, points: points.collect() });
        let points = (0..bins)
            .map(|b| {
                let (t0, t1) = (first + b * bin, first + (b + 1) * bin);
                let bytes = acked_at(&f.acked, t1) - acked_at(&f.acked, t0);
                (t1 as f64 / 1e9, bytes as f64 * 8.0 / (bin as f64 / 1e9) / 1e6, 0.0)
            })
            .collect();
        tput.push(Series { name, color, style: Style::Line { step: false }, points });
    }
    let cwnd = svg_chart("Congestion window of every connection", "time (s)", "cwnd (bytes)", &cwnd);
    let title = format!("Throughput of every connection (acknowledged bytes per {:.0} ms)", bin as f64 / 1e6);
    let tput = svg_chart(&title, "time (s)", "Mbit/s", &tput);
    (cwnd, tput)
}
