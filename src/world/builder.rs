//! Building a world step by step: nodes, links with their impairments, routes (given, or computed
//! over the topology), captures, the trace, faults and packet rules.

use super::World;
use super::core::Core;
use super::router_paths::RouterPaths;
use crate::net::addr::Cidr;
use crate::net::event::{EventSink, FrameRecorder};
use crate::net::fabric::{Event, Fabric};
use crate::net::faults::TimedFault;
use crate::net::link::{Impairments, Link, LinkDir};
use crate::net::network::Network;
use crate::net::node::{ArpTable, Iface, Node};
use crate::net::route::{Route, RouteOrigin};
use crate::net::rules::{PacketRule, Rules};
use crate::net::{LinkId, NodeId};
use crate::sim::{Executor, SimRng};
use crate::stack::Stack;
use crate::tcp::{TcpConfig, TcpStack};
use crate::trace::Tracer;
use crate::wire::MacAddr;
use std::cell::{Cell, RefCell};
use std::net::Ipv4Addr;
use std::rc::Rc;

pub(super) struct NodeSpec {
    name: String,
    /// A stack under test in place of netlab's own.
    stack: Option<Box<dyn Stack>>,
    forwarding: bool,
    tcp: Option<TcpConfig>,
    routes: Option<Vec<(Cidr, Ipv4Addr)>>,
}

pub(super) struct LinkSpec {
    name: String,
    ends: [(NodeId, Cidr); 2],
    params: [Impairments; 2],
    /// Interface MACs set by the caller (live bridges), per side.
    macs: [Option<MacAddr>; 2],
}

/// Builds a [`World`] step by step: nodes, links, then [`WorldBuilder::build`].
///
/// ```
/// use netlab::{Impairments, TcpConfig, WorldBuilder};
/// let mut b = WorldBuilder::new(7);
/// let h1 = b.host("h1", TcpConfig::default());
/// let h2 = b.host("h2", TcpConfig::default());
/// b.link_auto("l1", h1, h2, Impairments::default());
/// let world = b.build().unwrap();
/// assert_eq!(world.host_addr("h2"), Some("10.0.0.2".parse().unwrap()));
/// ```
pub struct WorldBuilder {
    seed: u64,
    nodes: Vec<NodeSpec>,
    links: Vec<LinkSpec>,
    recorders: Vec<(LinkId, usize, Box<dyn FrameRecorder>)>,
    faults: Vec<TimedFault>,
    rules: Vec<PacketRule>,
    trace_sink: Option<(Box<dyn std::io::Write>, bool)>,
    keep_tcp_events: bool,
    keep_event_log: bool,
    external: Vec<(LinkId, usize)>,
    fallback_routes: Vec<(NodeId, LinkId, Cidr, Ipv4Addr)>,
    /// What annotated (pcapng) captures say about frames, when there are any.
    #[cfg(feature = "pcap")]
    annotator: Option<crate::output::annotate::SharedAnnotator>,
}

/// A problem with the topology that the builder found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

impl WorldBuilder {
    /// An empty world whose every random stream derives from `seed`.
    pub fn new(seed: u64) -> Self {
        WorldBuilder {
            seed,
            nodes: Vec::new(),
            links: Vec::new(),
            recorders: Vec::new(),
            faults: Vec::new(),
            rules: Vec::new(),
            trace_sink: None,
            keep_tcp_events: true,
            keep_event_log: false,
            external: Vec::new(),
            fallback_routes: Vec::new(),
            #[cfg(feature = "pcap")]
            annotator: None,
        }
    }
    /// The seed every random stream of the world derives from.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// A host with a TCP stack using `tcp` as its defaults.
    pub fn host(&mut self, name: &str, tcp: TcpConfig) -> NodeId {
        self.nodes.push(NodeSpec { name: name.into(), stack: None, forwarding: false, tcp: Some(tcp), routes: None });
        self.nodes.len() - 1
    }
    /// A router: it forwards packets by longest-prefix match and runs no applications.
    pub fn router(&mut self, name: &str) -> NodeId {
        self.nodes.push(NodeSpec { name: name.into(), stack: None, forwarding: true, tcp: None, routes: None });
        self.nodes.len() - 1
    }
    /// A host whose transport layer is `stack` (smoltcp, an external process, your own) instead of
    /// netlab's TCP. `tcp` still sets the MSS limit from the interface MTU and is what
    /// [`WorldBuilder::host`] would use; the stack gets the host's addresses and MTU through
    /// `Stack::configure` when the world is built.
    pub fn host_with_stack(&mut self, name: &str, tcp: TcpConfig, stack: Box<dyn Stack>) -> NodeId {
        let id = self.host(name, tcp);
        self.nodes[id].stack = Some(stack);
        id
    }
    /// Static routes for a node: (prefix, gateway). A node with static routes gets no computed ones.
    pub fn routes(&mut self, node: NodeId, routes: Vec<(Cidr, Ipv4Addr)>) {
        self.nodes[node].routes = Some(routes);
    }
    /// A link between `a` and `b` with their interface addresses; `params[0]` for a->b, `[1]` b->a.
    pub fn link(&mut self, name: &str, a: (NodeId, Cidr), b: (NodeId, Cidr), params: [Impairments; 2]) -> LinkId {
        self.links.push(LinkSpec { name: name.into(), ends: [a, b], params, macs: [None, None] });
        self.links.len() - 1
    }
    /// A link between `a` and `b` with the same impairments both ways and addresses chosen for
    /// them: link number `i` (counting from 0) is the subnet 10.(i / 256).(i % 256).0/24, `a` gets
    /// .1 and `b` .2.
    pub fn link_auto(&mut self, name: &str, a: NodeId, b: NodeId, params: Impairments) -> LinkId {
        let i = self.links.len();
        let net = |host: u8| Cidr { addr: Ipv4Addr::new(10, (i / 256) as u8, (i % 256) as u8, host), len: 24 };
        self.link(name, (a, net(1)), (b, net(2)), [params.clone(), params])
    }
    /// Sends what crosses end `side` (0 = a, 1 = b) of `link` to `recorder`.
    pub fn record(&mut self, link: LinkId, side: usize, recorder: Box<dyn FrameRecorder>) {
        self.recorders.push((link, side, recorder));
    }
    /// Captures end `side` (0 = a, 1 = b) of `link` as a pcap file written to `out`.
    #[cfg(feature = "pcap")]
    pub fn capture(&mut self, link: LinkId, side: usize, out: Box<dyn std::io::Write>) -> Result<(), BuildError> {
        let l = self.links.get(link).ok_or_else(|| BuildError(format!("capture: no link {link}")))?;
        let node = &self.nodes[l.ends[side.min(1)].0].name;
        let name = format!("{}-{}", l.name, node);
        let cap = crate::output::Capture::new(name, out).map_err(|e| BuildError(format!("capture: {e}")))?;
        self.record(link, side, Box::new(cap));
        Ok(())
    }
    /// Captures end `side` of `link` as a pcapng file written to `out`, each frame with comments
    /// saying what became of it (dropped, duplicated, corrupted, reordered, retransmitted).
    #[cfg(feature = "pcap")]
    pub fn capture_pcapng(
        &mut self,
        link: LinkId,
        side: usize,
        out: Box<dyn std::io::Write>,
    ) -> Result<(), BuildError> {
        let l = self.links.get(link).ok_or_else(|| BuildError(format!("capture: no link {link}")))?;
        let name = format!("{}-{}", l.name, self.nodes[l.ends[side.min(1)].0].name);
        let notes = self.annotator.get_or_insert_with(Default::default).clone();
        let cap =
            crate::output::AnnotatedCapture::new(name, out, notes).map_err(|e| BuildError(format!("capture: {e}")))?;
        self.record(link, side, Box::new(cap));
        Ok(())
    }
    /// Gives the interface at end `side` of `link` the MAC address `mac` (instead of one derived
    /// from its node and interface numbers).
    pub fn mac(&mut self, link: LinkId, side: usize, mac: MacAddr) {
        self.links[link].macs[side] = Some(mac);
    }
    /// Marks end `side` of `link` as leading outside the process (a live bridge): frames arriving
    /// there go to the real-time driver's I/O instead of the stand-in node.
    pub fn external(&mut self, link: LinkId, side: usize) {
        self.external.push((link, side));
    }
    /// A route of `node` to `prefix` via `gateway` out of its interface on `link`, added after the
    /// computed routes (so it only fills gaps): what lies beyond a live bridge.
    pub fn fallback_route(&mut self, node: NodeId, link: LinkId, prefix: Cidr, gateway: Ipv4Addr) {
        self.fallback_routes.push((node, link, prefix, gateway));
    }
    /// A timed fault: a link going down or up, or its impairments changing.
    pub fn fault(&mut self, f: TimedFault) {
        self.faults.push(f);
    }
    /// A packet-matching fault rule.
    pub fn rule(&mut self, r: PacketRule) {
        self.rules.push(r);
    }
    /// Writes every event as one JSON line to `out` (`trace.jsonl`).
    pub fn trace_to(&mut self, out: Box<dyn std::io::Write>) {
        self.trace_sink = Some((out, false));
    }
    /// Writes every event to `out` in the binary trace format (`trace.nlt`, docs/trace-format.md).
    pub fn trace_binary_to(&mut self, out: Box<dyn std::io::Write>) {
        self.trace_sink = Some((out, true));
    }
    /// Keep TCP events in memory for expectations and summaries (default on; off for benchmarks).
    pub fn keep_tcp_events(&mut self, keep: bool) {
        self.keep_tcp_events = keep;
    }

    /// Keep every event in memory (`Tracer::log`), for expectations on single packets and times.
    pub fn keep_event_log(&mut self, keep: bool) {
        self.keep_event_log = keep;
    }

    /// The world, ready to run; or what is wrong with the topology.
    pub fn build(self) -> Result<World, BuildError> {
        let WorldBuilder {
            seed,
            nodes: specs,
            links: link_specs,
            recorders,
            faults,
            rules,
            trace_sink,
            keep_tcp_events,
            keep_event_log,
            external,
            fallback_routes,
            #[cfg(feature = "pcap")]
            annotator,
        } = self;
        // MSS from the interface MTU (RFC 9293 3.7.1, RFC 879): a host announces and sends at most
        // the smallest MTU of its links minus 40 bytes of IP and TCP headers.
        let mut specs = specs;
        let mut min_mtus: Vec<Option<usize>> = vec![None; specs.len()];
        for l in &link_specs {
            for side in 0..2 {
                let m = &mut min_mtus[l.ends[side].0];
                *m = Some(m.map_or(l.params[side].mtu, |m| m.min(l.params[side].mtu)));
            }
        }
        for (spec, min_mtu) in specs.iter_mut().zip(min_mtus) {
            if let (Some(cfg), Some(mtu)) = (spec.tcp.as_mut(), min_mtu) {
                cfg.mss = cfg.mss.min(mtu.saturating_sub(40).clamp(88, 65495) as u16);
            }
        }
        let mut nodes: Vec<Node> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let tcp = s.tcp.clone().filter(|_| s.stack.is_none()).map(|cfg| {
                    let key = host_key(seed, &s.name);
                    TcpStack::new(key, cfg)
                });
                Node::new(i, s.name.clone(), s.forwarding, tcp)
            })
            .collect();
        let mut links = Vec::with_capacity(link_specs.len());
        for (li, l) in link_specs.iter().enumerate() {
            let mut ends = [(0, 0); 2];
            for (side, &(n, addr)) in l.ends.iter().enumerate() {
                let node = &mut nodes[n];
                let ifx = node.ifaces.len();
                let mac =
                    l.macs[side].unwrap_or(MacAddr([0x02, 0x00, (n >> 8) as u8, n as u8, (ifx >> 8) as u8, ifx as u8]));
                node.add_iface(Iface { mac, addr, link: li, side, capture: None, arp: ArpTable::default() });
                ends[side] = (n, ifx);
            }
            let dirs = [
                LinkDir::new(l.params[0].clone(), seed, &format!("link:{}:a->b", l.name)),
                LinkDir::new(l.params[1].clone(), seed, &format!("link:{}:b->a", l.name)),
            ];
            links.push(Link { name: l.name.clone(), ends, dirs });
        }
        // Connected routes, then static or computed ones.
        for node in &mut nodes {
            for (ifx, i) in node.ifaces.iter().enumerate() {
                node.routes.add(Route {
                    prefix: i.addr.network(),
                    iface: ifx,
                    via: None,
                    origin: RouteOrigin::Connected,
                });
            }
        }
        for (n, spec) in specs.iter().enumerate() {
            if let Some(routes) = &spec.routes {
                for (prefix, gw) in routes {
                    let Some(ifx) = nodes[n].ifaces.iter().position(|i| i.addr.contains(*gw)) else {
                        return Err(BuildError(format!(
                            "{}: gateway {gw} of route {prefix} is not on any of its subnets",
                            spec.name
                        )));
                    };
                    nodes[n].routes.add(Route {
                        prefix: *prefix,
                        iface: ifx,
                        via: Some(*gw),
                        origin: RouteOrigin::Static,
                    });
                }
            }
        }
        compute_routes(&mut nodes, &specs, &link_specs);
        for (n, link, prefix, via) in fallback_routes {
            let Some(iface) = nodes.get(n).and_then(|node| node.ifaces.iter().position(|i| i.link == link)) else {
                return Err(BuildError(format!("route to {prefix}: node {n} has no interface on link {link}")));
            };
            nodes[n].routes.add(Route { prefix, iface, via: Some(via), origin: RouteOrigin::Fallback });
        }

        let mut tracer = Tracer::new(links.len(), nodes.len());
        tracer.set_keep_tcp(keep_tcp_events);
        tracer.set_keep_log(keep_event_log);
        tracer.node_names = nodes.iter().map(|n| n.name.clone()).collect();
        match trace_sink {
            Some((sink, true)) => tracer.set_binary_sink(sink).map_err(|e| BuildError(format!("trace: {e}")))?,
            Some((sink, false)) => tracer.set_sink(sink),
            None => {}
        }
        for (n, spec) in nodes.iter_mut().zip(&mut specs) {
            if let Some(stack) = n.tcp.as_mut() {
                stack.set_detail_events(tracer.writes());
            }
            if let Some(mut stack) = spec.stack.take() {
                configure_stack(n, stack.as_mut(), &link_specs)?;
                stack.set_detail_events(tracer.writes());
                n.set_foreign(stack);
            }
        }
        let nlinks = links.len();
        #[allow(unused_mut)]
        let mut sink: Box<dyn EventSink> = Box::new(tracer);
        #[cfg(feature = "pcap")]
        if let Some(notes) = annotator {
            let links = links.iter().map(|l| l.name.clone()).collect();
            notes.borrow_mut().set_names(links, nodes.iter().map(|n| n.name.clone()).collect());
            sink = Box::new(crate::output::annotate::NotingSink { inner: sink, notes });
        }
        let mut fab = Fabric::new(links, sink);
        fab.rules = Rules::new(rules, nlinks);
        fab.external = external;
        for (link, side, recorder) in recorders {
            let Some(&(n, ifx)) = fab.links.get(link).and_then(|l| l.ends.get(side)) else {
                return Err(BuildError(format!("capture: no end {side} of link {link}")));
            };
            fab.recorders.push(recorder);
            nodes[n].ifaces[ifx].capture = Some(fab.recorders.len() - 1);
        }
        for (i, f) in faults.iter().enumerate() {
            fab.queue.push(f.at, Event::Fault(i));
        }
        let net = Network::new(nodes, fab, faults);
        let core = Rc::new(Core {
            net: RefCell::new(net),
            apps: RefCell::new(Vec::new()),
            seed,
            spawned: RefCell::new(Vec::new()),
        });
        Ok(World { core, executor: Executor::new(), events: 0, apps_checked: Cell::new(0) })
    }
}

/// The seeded key of host `name`: netlab's ISN key (RFC 6528) for it, and the seed a stack under
/// test on it gets, so that netlab's stack behind the external protocol replays the in-process run.
pub fn host_key(seed: u64, name: &str) -> u64 {
    SimRng::for_component(seed, &format!("host:{name}:isn")).next_u64()
}

/// Gives a stack under test its host's addresses and the smallest MTU of its links.
fn configure_stack(node: &Node, stack: &mut dyn Stack, links: &[LinkSpec]) -> Result<(), BuildError> {
    let addrs: Vec<(Ipv4Addr, u8)> = node.ifaces.iter().map(|i| (i.addr.addr, i.addr.len)).collect();
    let mtu = node.ifaces.iter().map(|i| links[i.link].params[i.side].mtu).min().unwrap_or(1500);
    let mtu = u16::try_from(mtu).unwrap_or(u16::MAX);
    stack.configure(&addrs, mtu).map_err(|mut e| {
        if e.host.is_empty() {
            e.host = node.name.clone();
        }
        BuildError(e.to_string())
    })
}

/// A way out of a node towards a router: (link cost, router, link, interface, router's address).
type Exit = (u64, NodeId, LinkId, usize, Ipv4Addr);

/// Fills the routing tables of nodes without static routes: for every subnet they are not on, the
/// next hop along a shortest path (by link delay) through routers. Ties go to the lower node index,
/// then the lower link index, so the tables never depend on anything but the scenario.
fn compute_routes(nodes: &mut [Node], specs: &[NodeSpec], links: &[LinkSpec]) {
    let needs: Vec<NodeId> = (0..nodes.len()).filter(|&n| specs[n].routes.is_none()).collect();
    if needs.is_empty() {
        return;
    }
    let forwards: Vec<bool> = specs.iter().map(|s| s.forwarding).collect();
    let cost = |l: &LinkSpec| l.params[0].delay.max(l.params[1].delay).as_nanos() + 1;
    // A host with a single link to a router just needs a default route via that router.
    let mut full: Vec<NodeId> = Vec::new();
    for &n in &needs {
        let ifs = &nodes[n].ifaces;
        if !forwards[n] && ifs.len() == 1 {
            let l = &links[ifs[0].link];
            let peer = l.ends[1 - ifs[0].side];
            if forwards[peer.0] {
                let prefix = Cidr { addr: Ipv4Addr::UNSPECIFIED, len: 0 };
                nodes[n].routes.add(Route { prefix, iface: 0, via: Some(peer.1.addr), origin: RouteOrigin::Default });
                continue;
            }
        }
        full.push(n);
    }
    if full.is_empty() {
        return;
    }
    let edges: Vec<(NodeId, NodeId, u64)> = links.iter().map(|l| (l.ends[0].0, l.ends[1].0, cost(l))).collect();
    let paths = RouterPaths::new(&forwards, &edges);
    // The interfaces of every node that needs routes whose far end is a router, in interface
    // order: (link cost, router, link, interface, router's address).
    let exits: Vec<Vec<Exit>> = full
        .iter()
        .map(|&n| {
            let ifaces = nodes[n].ifaces.iter().enumerate();
            ifaces
                .filter_map(|(ifx, i)| {
                    let l2 = &links[i.link];
                    let (peer, peer_addr) = l2.ends[1 - i.side];
                    forwards[peer].then_some((cost(l2), peer, i.link, ifx, peer_addr.addr))
                })
                .collect()
        })
        .collect();
    for l in links {
        let subnet = l.ends[0].1.network();
        // Distance from every router to this subnet (to the nearer of the link's ends), through
        // routers only.
        let (a, b) = (paths.from(l.ends[0].0), paths.from(l.ends[1].0));
        let dist: Vec<u64> = a.iter().zip(&b).map(|(x, y)| *x.min(y)).collect();
        for (&n, exits) in full.iter().zip(&exits) {
            let on_link = l.ends[0].0 == n || l.ends[1].0 == n;
            if on_link || nodes[n].routes.has_prefix(subnet) {
                continue;
            }
            // Best neighbour: (link cost + its distance, neighbour index, link index).
            let mut best: Option<Exit> = None;
            for &(w, peer, link, ifx, gw) in exits {
                let Some(d) = paths.to(&dist, peer) else { continue };
                let cand = (w.saturating_add(d), peer, link, ifx, gw);
                if best.is_none_or(|b| (cand.0, cand.1, cand.2) < (b.0, b.1, b.2)) {
                    best = Some(cand);
                }
            }
            if let Some((_, _, _, ifx, gw)) = best {
                nodes[n].routes.add(Route { prefix: subnet, iface: ifx, via: Some(gw), origin: RouteOrigin::Computed });
            }
        }
    }
}
