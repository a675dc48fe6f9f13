//! `[[faults]]`: timed changes of a link (down, up, new impairments) and packet-matching rules.

use super::{Known, Names, parse_dir, resolve_link, resolve_node};
use crate::net::rules::{MatchProto, PacketAction, PacketMatch, PacketRule, parse_flags};
use crate::net::{Dir, FaultAction, Impairments, Jitter, LossModel, TimedFault};
use crate::scenario::LinkDef;
use crate::scenario::error::{SpanError, at};
use crate::scenario::schema::*;
use crate::sim::{Duration, Instant};
use std::net::Ipv4Addr;
use toml::Spanned;

/// Timed faults (in time order, each `set` applies on top of the earlier ones) and packet rules.
pub(super) fn validate(specs: &[FaultSpec], k: &Known) -> Result<(Vec<TimedFault>, Vec<PacketRule>), SpanError> {
    let (names, links) = (&k.names, &k.links);
    let mut faults = Vec::new();
    let mut rules = Vec::new();
    let mut current: Vec<[Impairments; 2]> = links.iter().map(|l| l.params.clone()).collect();
    let mut order: Vec<usize> = (0..specs.len()).collect();
    order.sort_by_key(|&i| specs[i].at.as_ref().map_or(Duration::ZERO, |a| a.get_ref().0));
    for i in order {
        let f = &specs[i];
        let link = resolve_link(names, &f.link)?;
        let dir = f.dir.as_ref().map(parse_dir).transpose()?;
        let action = f.action.get_ref().as_str();
        let given = f.given_impairments();
        let timed = matches!(action, "down" | "up" | "set");
        if timed {
            let Some(at_time) = &f.at else {
                return at(f.action.span(), format!("expected `at` (when) for a \"{action}\" fault"));
            };
            if let Some(m) = &f.matcher {
                return at(
                    m.span(),
                    format!("expected no `match` for a \"{action}\" fault (it changes the whole link)"),
                );
            }
            if f.nth.is_some() || f.count.is_some() || f.hold.is_some() || f.seq_offset.is_some() {
                return at(f.action.span(), format!("expected no `nth`, `count` or `hold` for a \"{action}\" fault"));
            }
            if action != "set" && (!given.is_empty() || dir.is_some()) {
                return at(
                    f.action.span(),
                    format!(
                        "expected no `dir` or impairment fields for a \"{action}\" fault (use \"set\" to change impairments)"
                    ),
                );
            }
            let fa = match action {
                "down" => FaultAction::Down,
                "up" => FaultAction::Up,
                _ => {
                    if given.is_empty() {
                        return at(
                            f.action.span(),
                            "expected at least one impairment field (delay, loss, rate, ...) for a \"set\" fault",
                        );
                    }
                    let mut params = current[link].clone();
                    for d in [Dir::AtoB, Dir::BtoA] {
                        if dir.is_none_or(|x| x == d) {
                            apply_impairments!(f, &mut params[d.index()]);
                        }
                    }
                    current[link] = params.clone();
                    FaultAction::Set { dir, params: Box::new(params) }
                }
            };
            faults.push(TimedFault { at: Instant::ZERO + at_time.get_ref().0, link, action: fa });
            continue;
        }
        let pa = match action {
            "drop" => PacketAction::Drop,
            "duplicate" => PacketAction::Duplicate(f.delay.map_or(Duration::ZERO, |d| d.0)),
            "delay" => match f.delay {
                Some(d) => PacketAction::Delay(d.0),
                None => {
                    return at(f.action.span(), "expected `delay` (how much later) for a \"delay\" fault");
                }
            },
            "reorder" => PacketAction::Reorder(f.hold.map_or(Duration::from_secs(1), |d| d.0)),
            "corrupt" => PacketAction::Corrupt,
            "forge-rst" => PacketAction::ForgeRst(f.seq_offset.unwrap_or(1000)),
            other => {
                return at(
                    f.action.span(),
                    format!(
                        "expected a fault action: \"down\", \"up\", \"set\" (timed) or \"drop\", \"duplicate\", \"delay\", \"reorder\", \"corrupt\", \"forge-rst\" (packet rules), found \"{other}\""
                    ),
                );
            }
        };
        if let Some(a) = &f.at {
            return at(
                a.span(),
                format!(
                    "expected no `at` for a \"{action}\" rule (it acts on matching packets; use `match.after` to start later)"
                ),
            );
        }
        if let Some(g) = given.iter().find(|g| **g != "delay") {
            return at(f.action.span(), format!("expected no impairment field `{g}` in a \"{action}\" rule"));
        }
        let Some(m) = &f.matcher else {
            return at(
                f.action.span(),
                format!(
                    "expected `match` (which packets) for a \"{action}\" rule; `match = {{}}` matches every packet"
                ),
            );
        };
        let matcher = validate_match(m.get_ref(), names, links)?;
        let nth = f.nth.unwrap_or(1).max(1);
        let count = match f.count {
            Some(0) => u64::MAX,
            Some(c) => c,
            None => 1,
        };
        rules.push(PacketRule { index: i, link, dir, matcher, nth, count, action: pa, seen: 0, acted: 0 });
    }
    Ok((faults, rules))
}

/// A packet rule's `match` table (also an expectation's), checked: node names resolved, flags parsed.
pub(crate) fn validate_match(m: &MatchSpec, names: &Names, links: &[LinkDef]) -> Result<PacketMatch, SpanError> {
    let addr = |s: &Option<Spanned<String>>| -> Result<Option<Ipv4Addr>, SpanError> {
        let Some(s) = s else { return Ok(None) };
        if let Ok(ip) = s.get_ref().parse() {
            return Ok(Some(ip));
        }
        let n = resolve_node(names, s, "node, or an IPv4 address")?;
        match links.iter().flat_map(|l| l.ends.iter()).find(|(en, _)| *en == n) {
            Some((_, c)) => Ok(Some(c.addr)),
            None => at(s.span(), format!("expected a node with an address; \"{}\" has no links", s.get_ref())),
        }
    };
    let flags = |s: &Option<Spanned<String>>| -> Result<Option<crate::wire::TcpFlags>, SpanError> {
        match s {
            None => Ok(None),
            Some(f) => parse_flags(f.get_ref()).map(Some).or_else(|e| at(f.span(), format!("expected {e}"))),
        }
    };
    let protocol = match &m.protocol {
        None => None,
        Some(p) => Some(match p.get_ref().as_str() {
            "tcp" => MatchProto::Tcp,
            "udp" => MatchProto::Udp,
            "icmp" => MatchProto::Icmp,
            "arp" => MatchProto::Arp,
            other => {
                return at(
                    p.span(),
                    format!("expected a protocol, \"tcp\", \"udp\", \"icmp\" or \"arp\", found \"{other}\""),
                );
            }
        }),
    };
    Ok(PacketMatch {
        protocol,
        src: addr(&m.src)?,
        dst: addr(&m.dst)?,
        src_port: m.src_port,
        dst_port: m.dst_port,
        flags: flags(&m.flags)?,
        not_flags: flags(&m.not_flags)?,
        min_len: m.min_len,
        max_len: m.max_len,
        rel_seq: m.seq.map(|[a, b]| (a, b)),
        after: m.after.map(|d| Instant::ZERO + d.0),
    })
}
