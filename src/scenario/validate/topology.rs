//! `[[hosts]]`, `[[routers]]`, `[[links]]` (with their impairments) and static routes, and the TCP
//! settings of `[simulation.tcp]` and each host.

use super::{Known, Names, check_name, resolve_node};
use crate::net::{Cidr, Impairments, Jitter, LinkId, LossModel, NodeId};
use crate::scenario::error::{SpanError, at};
use crate::scenario::schema::*;
use crate::scenario::{LinkDef, NodeDef};
use crate::stack::StackChoice;
use crate::tcp::{CongestionAlgorithm, CwndGrowth, LossDetection, TcpConfig};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use toml::Spanned;

pub(super) fn tcp_config(base: &TcpConfig, spec: Option<&TcpSpec>) -> Result<TcpConfig, SpanError> {
    let mut c = base.clone();
    let Some(s) = spec else { return Ok(c) };
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = s.$f { c.$f = v; } )* };
    }
    set!(
        send_buffer,
        recv_buffer,
        mss,
        nagle,
        delayed_ack,
        sack,
        window_scaling,
        timestamps,
        max_retransmissions,
        max_syn_retransmissions,
        dsack,
        tlp,
        undo,
        frto,
        prr,
        hystart,
        comp_sack_nr
    );
    macro_rules! set_dur {
        ($($f:ident),*) => { $( if let Some(v) = s.$f { c.$f = v.0; } )* };
    }
    set_dur!(delayed_ack_timeout, rto_min, rto_max, rto_initial, msl, comp_sack_delay);
    if let Some(k) = s.keepalive {
        c.keepalive = Some(k.0);
    }
    if let Some(iw) = s.initial_window {
        c.initial_window_segments = iw;
    }
    if c.rto_min > c.rto_max || c.rto_initial > c.rto_max {
        let span = s.congestion.as_ref().map_or(0..0, |c| c.span());
        return at(
            span,
            format!(
                "expected rto_min <= rto_initial <= rto_max, found {} / {} / {}",
                c.rto_min, c.rto_initial, c.rto_max
            ),
        );
    }
    if let Some(r) = &s.recovery {
        c.recovery = match r.get_ref().as_str() {
            "rack" => LossDetection::Rack,
            "dupack" => LossDetection::Dupack,
            other => {
                return at(r.span(), format!("expected a loss detection, \"rack\" or \"dupack\", found \"{other}\""));
            }
        };
    }
    if let Some(g) = &s.cwnd_growth {
        c.cwnd_growth = match g.get_ref().as_str() {
            "linux" => CwndGrowth::Linux,
            "rfc5681" => CwndGrowth::Rfc5681,
            other => {
                return at(g.span(), format!("expected a cwnd growth, \"linux\" or \"rfc5681\", found \"{other}\""));
            }
        };
    }
    if let Some(cc) = &s.congestion {
        c.congestion = match cc.get_ref().as_str() {
            "newreno" | "reno" => CongestionAlgorithm::NewReno,
            "cubic" => CongestionAlgorithm::Cubic,
            other => {
                return at(
                    cc.span(),
                    format!("expected a congestion control, \"newreno\" or \"cubic\", found \"{other}\""),
                );
            }
        };
    }
    Ok(c)
}

fn convert_routes(routes: &Option<Vec<RouteSpec>>) -> Option<Vec<(Cidr, Ipv4Addr)>> {
    routes.as_ref().map(|rs| rs.iter().map(|r| (r.prefix.get_ref().0, r.via.get_ref().0)).collect())
}

/// A host's `stack`: a name this build knows, or a command with at least a program.
fn stack_choice(spec: &Spanned<StackSpec>) -> Result<StackChoice, SpanError> {
    match spec.get_ref() {
        // A namespace host (validate/netns.rs): its node's own stack never runs, every frame of
        // its interfaces goes to the kernel in the namespace.
        StackSpec::Name(name) if name == "linux" => Ok(StackChoice::Netlab),
        StackSpec::Name(name) => StackChoice::named(name).or_else(|e| at(spec.span(), e)),
        StackSpec::Command { command, .. } if command.first().is_none_or(|p| p.is_empty()) => {
            at(spec.span(), "expected `command` to name a program: [\"path/to/adapter\", \"arg\", ...]")
        }
        StackSpec::Command { command, step_timeout } => Ok(StackChoice::Command {
            command: command.clone(),
            step_timeout: step_timeout.map(|d| std::time::Duration::from_nanos(d.0.as_nanos())),
        }),
    }
}

/// Hosts, routers and links; every wrong entry is reported (names are registered first, so that
/// a link naming a host whose TCP settings are wrong gives no second error).
pub(super) fn nodes_and_links(raw: &ScenarioFile) -> Result<Known, Vec<SpanError>> {
    let sim = &raw.simulation;
    let mut names = Names { nodes: BTreeMap::new(), links: BTreeMap::new(), routers: Vec::new() };
    let mut nodes = Vec::new();
    let mut errors = Vec::new();
    let base_tcp = tcp_config(&TcpConfig::default(), sim.tcp.as_ref()).unwrap_or_else(|e| {
        errors.push(e);
        TcpConfig::default()
    });
    for h in &raw.hosts {
        match host(h, &mut names, nodes.len(), &base_tcp) {
            Ok(n) => nodes.push(n),
            Err(e) => errors.push(e),
        }
    }
    for r in &raw.routers {
        match router(r, &mut names, nodes.len(), &base_tcp) {
            Ok(n) => nodes.push(n),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut links = Vec::new();
    let mut addrs: BTreeMap<Ipv4Addr, String> = BTreeMap::new();
    for l in &raw.links {
        match link(l, &mut names, links.len(), &mut addrs) {
            Ok(def) => links.push(def),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Known { names, nodes, links, addrs, base_tcp })
}

fn host(h: &HostSpec, names: &mut Names, id: NodeId, base_tcp: &TcpConfig) -> Result<NodeDef, SpanError> {
    let name = check_name(&h.name, "host")?;
    if names.nodes.insert(name.clone(), id).is_some() {
        return at(h.name.span(), format!("expected a unique node name; \"{name}\" is defined twice"));
    }
    names.routers.push(false);
    let tcp = tcp_config(base_tcp, h.tcp.as_deref())?;
    let stack = h.stack.as_ref().map(stack_choice).transpose()?;
    Ok(NodeDef { name, router: false, routes: convert_routes(&h.routes), tcp, stack })
}

fn router(r: &RouterSpec, names: &mut Names, id: NodeId, base_tcp: &TcpConfig) -> Result<NodeDef, SpanError> {
    let name = check_name(&r.name, "router")?;
    if names.nodes.insert(name.clone(), id).is_some() {
        return at(r.name.span(), format!("expected a unique node name; \"{name}\" is defined twice"));
    }
    names.routers.push(true);
    Ok(NodeDef { name, router: true, routes: convert_routes(&r.routes), tcp: base_tcp.clone(), stack: None })
}

fn link(
    l: &LinkSpec,
    names: &mut Names,
    id: LinkId,
    addrs: &mut BTreeMap<Ipv4Addr, String>,
) -> Result<LinkDef, SpanError> {
    let name = check_name(&l.name, "link")?;
    if names.links.insert(name.clone(), id).is_some() {
        return at(l.name.span(), format!("expected a unique link name; \"{name}\" is defined twice"));
    }
    let a = resolve_node(names, &l.a.node, "host or router")?;
    let b = resolve_node(names, &l.b.node, "host or router")?;
    if a == b {
        return at(l.b.node.span(), format!("expected the other end of link \"{name}\" to be a different node"));
    }
    let (ca, cb) = (l.a.ip.get_ref().0, l.b.ip.get_ref().0);
    if ca.network() != cb.network() {
        return at(
            l.b.ip.span(),
            format!("expected both ends of link \"{name}\" on one subnet; {ca} and {cb} are not (use the same prefix)"),
        );
    }
    for (ep, c) in [(&l.a, ca), (&l.b, cb)] {
        if c.len < 31 && (c.addr == c.network().addr || c.addr == c.broadcast()) {
            return at(ep.ip.span(), format!("expected a host address, not the network or broadcast address of {c}"));
        }
        if let Some(other) = addrs.insert(c.addr, name.clone()) {
            return at(
                ep.ip.span(),
                format!("expected a unique address; {} is already used on link \"{other}\"", c.addr),
            );
        }
    }
    for t in
        std::iter::once(l.given_impairments()).chain(l.a_to_b.iter().chain(&l.b_to_a).map(|d| d.given_impairments()))
    {
        if t.contains(&"loss") && t.contains(&"burst_loss") {
            return at(
                l.name.span(),
                format!(
                    "expected either `loss` or `burst_loss` in link \"{name}\" (or one of its directions), not both"
                ),
            );
        }
    }
    let mut common = Impairments::default();
    apply_impairments!(l, &mut common);
    let mut params = [common.clone(), common];
    if let Some(d) = &l.a_to_b {
        apply_impairments!(d, &mut params[0]);
    }
    if let Some(d) = &l.b_to_a {
        apply_impairments!(d, &mut params[1]);
    }
    Ok(LinkDef { name, ends: [(a, ca), (b, cb)], params })
}

/// Static routes must have their gateway on a subnet of the node.
pub(super) fn check_static_routes(raw: &ScenarioFile, k: &Known) -> Result<(), SpanError> {
    let (names, links) = (&k.names, &k.links);
    for (spec_routes, node_name) in
        raw.hosts.iter().map(|h| (&h.routes, &h.name)).chain(raw.routers.iter().map(|r| (&r.routes, &r.name)))
    {
        let Some(routes) = spec_routes else { continue };
        let n = names.nodes[node_name.get_ref()];
        for r in routes {
            let gw = r.via.get_ref().0;
            let on_subnet = links.iter().any(|l| l.ends.iter().any(|(en, c)| *en == n && c.contains(gw)));
            if !on_subnet {
                return at(
                    r.via.span(),
                    format!("expected a gateway on one of {}'s subnets; {gw} is not", node_name.get_ref()),
                );
            }
        }
    }
    Ok(())
}
