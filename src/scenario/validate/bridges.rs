//! `[[bridges]]`: live links to the world outside the process. Each bridge adds a link and a
//! stand-in node for its far side, so captures, traces and reports treat it like any link.

use super::{Known, check_name, resolve_node};
use crate::net::{Cidr, Impairments, Jitter, LossModel};
use crate::scenario::error::{SpanError, at};
use crate::scenario::schema::*;
use crate::scenario::{BridgeDef, BridgeKind, LinkDef, NodeDef};
use crate::stack::StackChoice;
use toml::Spanned;

/// Every bridge, adding its link and stand-in node to `k`.
pub(super) fn validate(specs: &[BridgeSpec], k: &mut Known) -> Result<Vec<BridgeDef>, SpanError> {
    let Known { names, nodes, links, addrs, base_tcp } = k;
    let mut out = Vec::new();
    for b in specs {
        let name = check_name(&b.name, "bridge")?;
        if names.links.contains_key(&name) {
            return at(b.name.span(), format!("expected a unique link or bridge name; \"{name}\" is used twice"));
        }
        let node = resolve_node(names, &b.node, "host or router")?;
        let ip = b.ip.get_ref().0;
        let peer = b.peer.get_ref().0;
        if !ip.contains(peer) || peer == ip.addr {
            return at(b.peer.span(), format!("expected a peer address on {}, other than {}", ip.network(), ip.addr));
        }
        for (c, span) in [(ip.addr, b.ip.span()), (peer, b.peer.span())] {
            // Two bridges' far sides are separate segments outside the process: an address may be a
            // node's on one bridge and the far side's on another (the CS144 relay joins two processes
            // that both use 10.0.0.0/8).
            let on_two_bridges =
                |other: &String| out.iter().any(|d: &BridgeDef| d.name == *other && (c == peer || d.peer == c));
            match addrs.get(&c) {
                Some(other) if on_two_bridges(other) => {}
                Some(other) => {
                    return at(span, format!("expected a unique address; {c} is already used on link \"{other}\""));
                }
                None => {
                    addrs.insert(c, name.clone());
                }
            }
        }
        let addr_of = |s: &Spanned<String>, what: &str| -> Result<std::net::SocketAddr, SpanError> {
            s.get_ref().parse().or_else(|_| {
                at(
                    s.span(),
                    format!("expected {what} as a socket address like \"127.0.0.1:40001\", found \"{}\"", s.get_ref()),
                )
            })
        };
        let kind = match b.kind.get_ref().as_str() {
            "udp" => {
                let (Some(l), Some(r)) = (&b.local, &b.remote) else {
                    return at(b.kind.span(), "expected `local` and `remote` (UDP socket addresses) for a udp bridge");
                };
                if b.device.is_some() || b.kernel_routes.is_some() || b.configure.is_some() {
                    return at(b.kind.span(), "expected no `device`, `kernel_routes` or `configure` for a udp bridge");
                }
                let remote = if r.get_ref() == "learn" { None } else { Some(addr_of(r, "`remote` (or \"learn\")")?) };
                BridgeKind::Udp { local: addr_of(l, "`local`")?, remote }
            }
            "tun" => {
                if b.local.is_some() || b.remote.is_some() {
                    return at(b.kind.span(), "expected no `local` or `remote` for a tun bridge");
                }
                let device = match &b.device {
                    Some(d) => {
                        let v = d.get_ref();
                        if v.is_empty()
                            || v.len() > 15
                            || !v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                        {
                            return at(
                                d.span(),
                                format!(
                                    "expected a device name of 1 to 15 letters, digits, '-', '_' or '.', found \"{v}\""
                                ),
                            );
                        }
                        v.clone()
                    }
                    None if name.len() <= 15 => name.clone(),
                    None => {
                        return at(
                            b.name.span(),
                            "expected `device` (the bridge's name is too long for a device name)",
                        );
                    }
                };
                let kernel_routes = b.kernel_routes.iter().flatten().map(|c| c.get_ref().0).collect();
                BridgeKind::Tun { device, kernel_routes, configure: b.configure.unwrap_or(true) }
            }
            other => {
                return at(b.kind.span(), format!("expected a bridge kind, \"tun\" or \"udp\", found \"{other}\""));
            }
        };
        let params = impairments(b, &name)?;
        // The stand-in for the far side: a node of its own, so that captures, traces and reports treat
        // the bridge like any link.
        let peer_name = format!("{name}-peer");
        if names.nodes.contains_key(&peer_name) {
            return at(
                b.name.span(),
                format!("expected no node named \"{peer_name}\" (the bridge's far side takes that name)"),
            );
        }
        let peer_node = nodes.len();
        names.nodes.insert(peer_name.clone(), peer_node);
        nodes.push(NodeDef {
            name: peer_name,
            router: false,
            routes: Some(Vec::new()),
            tcp: base_tcp.clone(),
            stack: Some(StackChoice::Netlab),
        });
        let link = links.len();
        names.links.insert(name.clone(), link);
        links.push(LinkDef {
            name: name.clone(),
            ends: [(node, ip), (peer_node, Cidr { addr: peer, len: ip.len })],
            params,
        });
        let routes = b.routes.iter().flatten().map(|c| c.get_ref().0).collect();
        out.push(BridgeDef { name, link, node, peer_node, peer, routes, kind });
    }
    Ok(out)
}

/// The bridge's impairments for its two directions, `node` -> outside and outside -> `node`: the
/// bridge-level fields, each replaced by what `a_to_b` / `b_to_a` give (as on a link).
fn impairments(b: &BridgeSpec, name: &str) -> Result<[Impairments; 2], SpanError> {
    for given in
        std::iter::once(b.given_impairments()).chain(b.a_to_b.iter().chain(&b.b_to_a).map(|d| d.given_impairments()))
    {
        if given.contains(&"loss") && given.contains(&"burst_loss") {
            return at(
                b.name.span(),
                format!(
                    "expected either `loss` or `burst_loss` in bridge \"{name}\" (or one of its directions), not both"
                ),
            );
        }
    }
    let mut common = Impairments::default();
    apply_impairments!(b, &mut common);
    let mut params = [common.clone(), common];
    if let Some(d) = &b.a_to_b {
        apply_impairments!(d, &mut params[0]);
    }
    if let Some(d) = &b.b_to_a {
        apply_impairments!(d, &mut params[1]);
    }
    Ok(params)
}
