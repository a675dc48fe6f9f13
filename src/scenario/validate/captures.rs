//! `[simulation] capture` and `[[captures]]`: which link ends get a pcap file.

use super::{Known, resolve_link, resolve_node};
use crate::net::LinkId;
use crate::scenario::CaptureFormat;
use crate::scenario::error::{SpanError, at};
use crate::scenario::schema::*;

/// `[simulation] capture_format`.
pub(super) fn format(sim: &Simulation) -> Result<CaptureFormat, SpanError> {
    match &sim.capture_format {
        None => Ok(CaptureFormat::Pcap),
        Some(f) => CaptureFormat::parse(f.get_ref())
            .map_or_else(|| at(f.span(), format!("expected \"pcap\" or \"pcapng\", found \"{}\"", f.get_ref())), Ok),
    }
}

/// Whether `trace_format` asks for `trace.jsonl` (else the binary `trace.nlt`).
pub(super) fn trace_jsonl(sim: &Simulation) -> Result<bool, SpanError> {
    match sim.trace_format.as_ref().map(|f| (f.get_ref().as_str(), f.span())) {
        None | Some(("binary", _)) => Ok(false),
        Some(("jsonl", _)) => Ok(true),
        Some((other, span)) => at(span, format!("expected a trace format, \"binary\" or \"jsonl\", found \"{other}\"")),
    }
}

/// The (link, side) pairs to capture, in file order, without repeats.
pub(super) fn validate(sim: &Simulation, specs: &[CaptureSpec], k: &Known) -> Result<Vec<(LinkId, usize)>, SpanError> {
    let (names, nodes, links) = (&k.names, &k.nodes, &k.links);
    let mode = sim.capture.as_ref().map(|m| (m.get_ref().as_str(), m.span())).unwrap_or(("hosts", 0..0));
    let mut captures: Vec<(LinkId, usize)> = Vec::new();
    match mode.0 {
        "hosts" | "all" => {
            for (li, l) in links.iter().enumerate() {
                for side in 0..2 {
                    if mode.0 == "all" || !nodes[l.ends[side].0].router {
                        captures.push((li, side));
                    }
                }
            }
        }
        "listed" | "none" => {}
        other => {
            return at(
                mode.1,
                format!("expected a capture mode, \"hosts\", \"all\", \"listed\" or \"none\", found \"{other}\""),
            );
        }
    }
    for c in specs {
        let link = resolve_link(names, &c.link)?;
        let sides: Vec<usize> = match &c.at {
            None => vec![0, 1],
            Some(n) => {
                let node = resolve_node(names, n, "node")?;
                match links[link].ends.iter().position(|(e, _)| *e == node) {
                    Some(s) => vec![s],
                    None => {
                        return at(
                            n.span(),
                            format!("expected an end of link \"{}\"; {} is not on it", links[link].name, n.get_ref()),
                        );
                    }
                }
            }
        };
        if mode.0 != "none" {
            captures.extend(sides.into_iter().map(|s| (link, s)));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    captures.retain(|c| seen.insert(*c));
    Ok(captures)
}
