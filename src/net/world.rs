//! The simulated world: nodes, links and the event loop that drives them, plus the application
//! tasks running on the hosts.

use super::addr::Cidr;
use super::fabric::{Event, Fabric};
use super::link::{Impairments, Link, LinkDir};
use super::node::{ArpTable, Iface, Node};
use super::route::Route;
use crate::capture::Capture;
use crate::sim::{Duration, Executor, Instant, SimRng};
use crate::tcp::{TcpConfig, TcpStack};
use crate::trace::{Dir, LinkId, NodeId, TraceKind, Tracer};
use crate::wire::MacAddr;
use petgraph::graph::{NodeIndex, UnGraph};
use petgraph::visit::{EdgeFiltered, EdgeRef};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::rc::Rc;

/// What the network is: nodes, and the fabric (links, queue, tracer, captures).
pub struct Network {
    pub nodes: Vec<Node>,
    pub fab: Fabric,
    dirty: Vec<NodeId>,
    is_dirty: Vec<bool>,
    pub faults: Vec<TimedFault>,
    pub node_names: Vec<String>,
}

impl Network {
    /// Notes that a node may have output or new deadlines to process after the current step.
    pub fn touch(&mut self, node: NodeId) {
        if !self.is_dirty[node] {
            self.is_dirty[node] = true;
            self.dirty.push(node);
        }
    }

    /// Lets every touched node send what it has and schedule its next timer.
    pub fn flush(&mut self) {
        // Indexing by position: flushing a node never touches another node directly.
        let mut i = 0;
        while i < self.dirty.len() {
            let id = self.dirty[i];
            self.is_dirty[id] = false;
            let node = &mut self.nodes[id];
            node.flush_tcp(&mut self.fab);
            node.reschedule(&mut self.fab);
            i += 1;
        }
        self.dirty.clear();
    }

    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Executes one event at time `t` (the simulated and the real-time loop share this). A frame
    /// arriving at a link end that leads outside the process goes to `outside` (live bridges).
    #[allow(clippy::type_complexity)]
    pub fn dispatch(
        &mut self,
        t: Instant,
        ev: Event,
        outside: Option<&mut dyn FnMut(&mut Network, LinkId, usize, super::fabric::Frame)>,
    ) {
        match ev {
            Event::Arrive { link, dir, frame } => {
                if let Some(Event::Arrive { frame: next, .. }) =
                    self.fab.queue.lane_front(super::fabric::arrival_lane(link, dir))
                {
                    super::fabric::prefetch(&next.data);
                }
                let side = dir.receiver_side();
                let (node, ifx) = self.fab.links[link].ends[side];
                let len = frame.data.len();
                self.fab.trace(TraceKind::LinkDeliver { link, dir, frame: frame.id, len });
                if let Some(c) = self.nodes[node].ifaces[ifx].capture {
                    self.fab.captures[c].record(t, t, &frame.data);
                }
                if self.fab.is_external(link, side) {
                    match outside {
                        Some(out) => out(self, link, side, frame),
                        None => self.fab.recycle(frame),
                    }
                } else {
                    self.nodes[node].receive(&mut self.fab, ifx, frame);
                    self.touch(node);
                }
            }
            Event::NodeTimer { node } => {
                if self.nodes[node].timer_at == t {
                    self.nodes[node].timer_at = Instant::MAX;
                    self.nodes[node].on_timer(&mut self.fab);
                    self.touch(node);
                }
            }
            Event::Wake(w) => w.wake(),
            Event::Fault(i) => self.apply_fault(i),
            Event::Release { link, dir, frame } => self.fab.release(link, dir, frame),
        }
    }

    fn apply_fault(&mut self, index: usize) {
        let Some(f) = self.faults.get(index).cloned() else {
            return;
        };
        let link = &mut self.fab.links[f.link];
        let what = match &f.action {
            FaultAction::Down => {
                link.dirs.iter_mut().for_each(|d| d.up = false);
                format!("link {} down", link.name)
            }
            FaultAction::Up => {
                link.dirs.iter_mut().for_each(|d| d.up = true);
                format!("link {} up", link.name)
            }
            FaultAction::Set { dir, params } => {
                for d in [Dir::AtoB, Dir::BtoA] {
                    if dir.is_none_or(|x| x == d) {
                        link.dirs[d.index()].params = params[d.index()].clone();
                    }
                }
                format!("link {} impairments changed ({})", link.name, dir.map_or("both directions", |d| d.as_str()))
            }
        };
        let up = matches!(f.action, FaultAction::Up);
        if matches!(f.action, FaultAction::Up | FaultAction::Down) {
            self.fab.trace(TraceKind::LinkState { link: f.link, up });
        }
        self.fab.trace(TraceKind::Fault { index, what });
    }
}

/// A change to a link at a point in time.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedFault {
    pub at: Instant,
    pub link: LinkId,
    pub action: FaultAction,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    Down,
    Up,
    /// New impairments for one direction (or both when `dir` is None); `params[d]` is used for d.
    Set {
        dir: Option<Dir>,
        params: Box<[Impairments; 2]>,
    },
}

/// An application's record: its output lines, metrics and how it ended.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct AppReport {
    pub name: String,
    pub kind: String,
    pub host: String,
    #[serde(skip)]
    pub node: NodeId,
    /// A server that runs until the simulation ends does not hold the run open.
    pub daemon: bool,
    pub started: bool,
    pub finished: bool,
    pub finished_at: Option<Instant>,
    pub error: Option<String>,
    pub output: Vec<String>,
    pub metrics: BTreeMap<String, f64>,
}

/// State shared between the event loop and the application tasks.
pub struct Core {
    pub net: RefCell<Network>,
    pub apps: RefCell<Vec<AppReport>>,
    pub seed: u64,
    /// Tasks spawned by running tasks (e.g. a server's per-connection handler), started by the loop.
    pub spawned: RefCell<Vec<std::pin::Pin<Box<dyn Future<Output = ()>>>>>,
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Nothing was left to happen: no events, every application finished or waiting forever.
    Idle,
    /// Every (non-daemon) application finished and `stop_when_apps_done` was set.
    AppsFinished,
    /// The time limit was reached.
    TimeLimit,
    /// The event budget was used up.
    EventBudget,
    /// A live run was stopped from outside (Ctrl-C).
    Interrupted,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct RunOutcome {
    pub reason: StopReason,
    pub sim_time: Instant,
    pub events: u64,
    /// Applications not finished when the run stopped (names).
    pub unfinished: Vec<String>,
}

#[derive(Clone, Copy, Debug)]
pub struct RunLimits {
    pub stop_at: Instant,
    pub max_events: u64,
    pub stop_when_apps_done: bool,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits { stop_at: Instant::from_nanos(600_000_000_000), max_events: u64::MAX, stop_when_apps_done: false }
    }
}

/// The whole simulation.
pub struct World {
    pub core: Rc<Core>,
    executor: Executor,
    pub events: u64,
}

impl World {
    pub fn now(&self) -> Instant {
        self.core.net.borrow().fab.now
    }

    /// Registers an application and spawns its task. `make` receives the application's context.
    pub fn spawn_app<F, Fut>(
        &mut self,
        name: &str,
        kind: &str,
        node: NodeId,
        daemon: bool,
        start: Instant,
        make: F,
    ) -> usize
    where
        F: FnOnce(crate::app::Ctx) -> Fut,
        Fut: Future<Output = Result<(), String>> + 'static,
    {
        let host = self.core.net.borrow().nodes[node].name.clone();
        let index = {
            let mut apps = self.core.apps.borrow_mut();
            apps.push(AppReport {
                name: name.to_string(),
                kind: kind.to_string(),
                host,
                node,
                daemon,
                ..Default::default()
            });
            apps.len() - 1
        };
        let ctx = crate::app::Ctx::new(self.core.clone(), node, index);
        let fut = make(ctx.clone());
        self.executor.spawn(async move {
            ctx.sleep_until(start).await;
            ctx.core.apps.borrow_mut()[index].started = true;
            let result = fut.await;
            let now = ctx.now();
            let mut apps = ctx.core.apps.borrow_mut();
            let rep = &mut apps[index];
            rep.finished = true;
            rep.finished_at = Some(now);
            if let Err(e) = result {
                rep.error = Some(e);
            }
        });
        index
    }

    /// Runs until a stop condition holds.
    pub fn run(&mut self, limits: RunLimits) -> RunOutcome {
        self.run_with_progress(limits, &mut |_| {})
    }

    /// Polls every woken task, including tasks that running tasks spawn, until none is ready.
    fn run_tasks(&mut self) {
        loop {
            self.executor.run_ready();
            let new: Vec<_> = self.core.spawned.borrow_mut().drain(..).collect();
            if new.is_empty() {
                break;
            }
            for fut in new {
                self.executor.spawn(fut);
            }
        }
    }

    /// Like `run`, calling `progress(now)` every 65536 events (for a progress bar).
    pub fn run_with_progress(&mut self, limits: RunLimits, progress: &mut dyn FnMut(Instant)) -> RunOutcome {
        let reason = loop {
            self.run_tasks();
            let mut net = self.core.net.borrow_mut();
            net.flush();
            if limits.stop_when_apps_done && self.apps_done() {
                break StopReason::AppsFinished;
            }
            let Some(t) = net.fab.queue.peek_time() else {
                break StopReason::Idle;
            };
            if t > limits.stop_at {
                net.fab.now = limits.stop_at;
                break StopReason::TimeLimit;
            }
            if self.events >= limits.max_events {
                break StopReason::EventBudget;
            }
            let Some((t, ev)) = net.fab.queue.pop() else {
                break StopReason::Idle;
            };
            net.fab.now = t;
            self.events += 1;
            if self.events & 0xffff == 0 {
                progress(t);
            }
            net.dispatch(t, ev, None);
        };
        let net = self.core.net.borrow();
        let unfinished =
            self.core.apps.borrow().iter().filter(|a| !a.finished && !a.daemon).map(|a| a.name.clone()).collect();
        RunOutcome { reason, sim_time: net.fab.now, events: self.events, unfinished }
    }

    fn apps_done(&self) -> bool {
        self.core.apps.borrow().iter().all(|a| a.finished || a.daemon)
    }

    /// Flushes captures and the trace. Call once after the last `run`.
    pub fn finish(&mut self) -> Result<(), String> {
        let mut net = self.core.net.borrow_mut();
        let mut err = None;
        for c in &mut net.fab.captures {
            if let Err(e) = c.finish() {
                err.get_or_insert(e);
            }
        }
        if let Err(e) = net.fab.tracer.flush() {
            err.get_or_insert(format!("trace: {e}"));
        }
        err.map_or(Ok(()), Err)
    }
}

// ------------------------------------------------------------------------------ live bridges
// The real-time driver of src/bridge/: the same event handling as `run_with_progress`, but an event
// runs when the wall clock reaches its time, and frames cross "external" link ends (a TUN device, a
// UDP tunnel) through a `LiveIo`. This module never reads the OS clock: `LiveIo::now` does.

/// What the real-time driver needs from the outside world (implemented in src/bridge/).
pub trait LiveIo {
    /// The current time: wall-clock time elapsed since the start of the run.
    fn now(&mut self) -> Instant;
    /// Blocks until input may be waiting or `deadline` (wall time) has come, whichever is first. May
    /// return early (e.g. to look at a Ctrl-C flag).
    fn wait(&mut self, deadline: Instant);
    /// Hands every input waiting now to the network (`Network::inject`, at `net.fab.now`) without
    /// blocking; returns how many there were.
    fn deliver(&mut self, net: &mut Network) -> usize;
    /// A frame reached the external end `side` of `link`. The bridge sends it out (and may answer with
    /// `Network::inject`); it should return the buffer with `net.fab.recycle`.
    fn output(&mut self, net: &mut Network, link: LinkId, side: usize, frame: super::fabric::Frame);
    /// True once the run should stop (Ctrl-C).
    fn interrupted(&mut self) -> bool;
}

impl Network {
    /// Puts `data` on `link` from its end `side` (an external end) at the current time: the link's
    /// impairments apply, then it arrives at the other end like any frame.
    pub fn inject(&mut self, link: LinkId, side: usize, data: &[u8]) {
        let (n, ifx) = self.fab.links[link].ends[side];
        let capture = self.nodes[n].ifaces[ifx].capture;
        let mut frame = self.fab.new_frame();
        frame.data.extend_from_slice(data);
        self.fab.transmit(link, side, capture, frame);
    }
}

impl World {
    /// Runs in real time (simulated time = wall time since the start, as `io.now()` tells) until the
    /// time limit, Ctrl-C, or (with `stop_when_apps_done`) the applications are done. While nothing is
    /// due the driver blocks in `io.wait`.
    pub fn run_realtime(&mut self, limits: RunLimits, io: &mut dyn LiveIo) -> RunOutcome {
        // After the applications are done, run on a little so that their last frames (a FIN, the
        // final ACK) still cross the bridges.
        const LINGER: Duration = Duration::from_secs(2);
        let mut stop_at = limits.stop_at;
        let mut finishing = false;
        let reason = loop {
            self.run_tasks();
            let mut net = self.core.net.borrow_mut();
            net.flush();
            if limits.stop_when_apps_done && !finishing && self.apps_done() {
                finishing = true;
                stop_at = stop_at.min(net.fab.now + LINGER);
            }
            if io.interrupted() {
                break StopReason::Interrupted;
            }
            if self.events >= limits.max_events {
                break StopReason::EventBudget;
            }
            let real = io.now();
            let next = net.fab.queue.peek_time();
            if let Some(t) = next
                && t <= real
                && t <= stop_at
            {
                let Some((t, ev)) = net.fab.queue.pop() else { continue };
                net.fab.now = t.max(net.fab.now);
                let t = net.fab.now;
                self.events += 1;
                net.dispatch(
                    t,
                    ev,
                    Some(&mut |net: &mut Network, link, side, frame| io.output(net, link, side, frame)),
                );
                continue;
            }
            // Nothing is due: take the outside's input at the current wall time, else wait for it.
            net.fab.now = real.min(stop_at).max(net.fab.now);
            if io.deliver(&mut net) > 0 {
                continue;
            }
            if real >= stop_at {
                net.fab.now = stop_at.max(net.fab.now);
                break if finishing { StopReason::AppsFinished } else { StopReason::TimeLimit };
            }
            drop(net);
            io.wait(next.unwrap_or(Instant::MAX).min(stop_at));
        };
        let net = self.core.net.borrow();
        let unfinished =
            self.core.apps.borrow().iter().filter(|a| !a.finished && !a.daemon).map(|a| a.name.clone()).collect();
        RunOutcome { reason, sim_time: net.fab.now, events: self.events, unfinished }
    }
}

// ---------------------------------------------------------------------------------------- builder

struct NodeSpec {
    name: String,
    forwarding: bool,
    tcp: Option<TcpConfig>,
    routes: Option<Vec<(Cidr, Ipv4Addr)>>,
}

struct LinkSpec {
    name: String,
    ends: [(NodeId, Cidr); 2],
    params: [Impairments; 2],
}

/// Builds a `World` step by step; also the way to use netlab from Rust.
pub struct WorldBuilder {
    seed: u64,
    nodes: Vec<NodeSpec>,
    links: Vec<LinkSpec>,
    captures: Vec<(LinkId, usize, Box<dyn std::io::Write>)>,
    faults: Vec<TimedFault>,
    rules: Vec<super::rules::PacketRule>,
    trace_sink: Option<Box<dyn std::io::Write>>,
    keep_tcp_events: bool,
}

/// A problem with the topology that the builder found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

impl WorldBuilder {
    pub fn new(seed: u64) -> Self {
        WorldBuilder {
            seed,
            nodes: Vec::new(),
            links: Vec::new(),
            captures: Vec::new(),
            faults: Vec::new(),
            rules: Vec::new(),
            trace_sink: None,
            keep_tcp_events: true,
        }
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// A host with a TCP stack using `tcp` as its defaults.
    pub fn host(&mut self, name: &str, tcp: TcpConfig) -> NodeId {
        self.nodes.push(NodeSpec { name: name.into(), forwarding: false, tcp: Some(tcp), routes: None });
        self.nodes.len() - 1
    }
    pub fn router(&mut self, name: &str) -> NodeId {
        self.nodes.push(NodeSpec { name: name.into(), forwarding: true, tcp: None, routes: None });
        self.nodes.len() - 1
    }
    /// Static routes for a node: (prefix, gateway). A node with static routes gets no computed ones.
    pub fn routes(&mut self, node: NodeId, routes: Vec<(Cidr, Ipv4Addr)>) {
        self.nodes[node].routes = Some(routes);
    }
    /// A link between `a` and `b` with their interface addresses; `params[0]` for a->b, `[1]` b->a.
    pub fn link(&mut self, name: &str, a: (NodeId, Cidr), b: (NodeId, Cidr), params: [Impairments; 2]) -> LinkId {
        self.links.push(LinkSpec { name: name.into(), ends: [a, b], params });
        self.links.len() - 1
    }
    /// Capture at end `side` (0 = a, 1 = b) of `link` into `out`.
    pub fn capture(&mut self, link: LinkId, side: usize, out: Box<dyn std::io::Write>) {
        self.captures.push((link, side, out));
    }
    pub fn fault(&mut self, f: TimedFault) {
        self.faults.push(f);
    }
    /// A packet-matching fault rule.
    pub fn rule(&mut self, r: super::rules::PacketRule) {
        self.rules.push(r);
    }
    pub fn trace_to(&mut self, out: Box<dyn std::io::Write>) {
        self.trace_sink = Some(out);
    }
    /// Keep TCP events in memory for expectations and summaries (default on; off for benchmarks).
    pub fn keep_tcp_events(&mut self, keep: bool) {
        self.keep_tcp_events = keep;
    }

    pub fn build(self) -> Result<World, BuildError> {
        let WorldBuilder {
            seed,
            nodes: specs,
            links: link_specs,
            captures,
            faults,
            rules,
            trace_sink,
            keep_tcp_events,
        } = self;
        // MSS from the interface MTU (RFC 9293 3.7.1, RFC 879): a host announces and sends at most
        // the smallest MTU of its links minus 40 bytes of IP and TCP headers.
        let mut specs = specs;
        for (n, spec) in specs.iter_mut().enumerate() {
            let min_mtu = link_specs
                .iter()
                .flat_map(|l| (0..2).filter(move |&side| l.ends[side].0 == n).map(move |side| l.params[side].mtu))
                .min();
            if let (Some(cfg), Some(mtu)) = (spec.tcp.as_mut(), min_mtu) {
                cfg.mss = cfg.mss.min(mtu.saturating_sub(40).clamp(88, 65495) as u16);
            }
        }
        let mut nodes: Vec<Node> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let tcp = s.tcp.clone().map(|cfg| {
                    let key = SimRng::for_component(seed, &format!("host:{}:isn", s.name)).next_u64();
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
                let mac = MacAddr([0x02, 0x00, (n >> 8) as u8, n as u8, (ifx >> 8) as u8, ifx as u8]);
                node.add_iface(Iface {
                    name: format!("eth{ifx}"),
                    mac,
                    addr,
                    link: li,
                    side,
                    capture: None,
                    arp: ArpTable::default(),
                });
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
                node.routes.add(Route { prefix: i.addr.network(), iface: ifx, via: None });
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
                    nodes[n].routes.add(Route { prefix: *prefix, iface: ifx, via: Some(*gw) });
                }
            }
        }
        compute_routes(&mut nodes, &specs, &link_specs);

        let mut tracer = Tracer::new(links.len(), nodes.len());
        tracer.set_keep_tcp(keep_tcp_events);
        tracer.node_names = nodes.iter().map(|n| n.name.clone()).collect();
        if let Some(sink) = trace_sink {
            tracer.set_sink(sink);
        }
        for n in &mut nodes {
            if let Some(stack) = n.tcp.as_mut() {
                stack.set_detail_events(tracer.writes());
            }
        }
        let nlinks = links.len();
        let mut fab = Fabric::new(links, tracer);
        fab.rules = super::rules::Rules::new(rules, nlinks);
        for (link, side, out) in captures {
            let (n, ifx) = fab.links[link].ends[side];
            let name = format!("{}-{}", fab.links[link].name, nodes[n].name);
            let cap = Capture::new(name, out).map_err(|e| BuildError(format!("capture: {e}")))?;
            fab.captures.push(cap);
            nodes[n].ifaces[ifx].capture = Some(fab.captures.len() - 1);
        }
        for (i, f) in faults.iter().enumerate() {
            fab.queue.push(f.at, Event::Fault(i));
        }
        let n = nodes.len();
        let node_names = nodes.iter().map(|n| n.name.clone()).collect();
        let net = Network { nodes, fab, dirty: Vec::new(), is_dirty: vec![false; n], faults, node_names };
        let core = Rc::new(Core {
            net: RefCell::new(net),
            apps: RefCell::new(Vec::new()),
            seed,
            spawned: RefCell::new(Vec::new()),
        });
        Ok(World { core, executor: Executor::new(), events: 0 })
    }
}

/// Fills the routing tables of nodes without static routes: for every subnet they are not on, the
/// next hop along a shortest path (by link delay) through routers. Ties go to the lower node index,
/// then the lower link index, so the tables never depend on anything but the scenario.
fn compute_routes(nodes: &mut [Node], specs: &[NodeSpec], links: &[LinkSpec]) {
    let mut g: UnGraph<NodeId, u64> = UnGraph::with_capacity(nodes.len(), links.len());
    let idx: Vec<NodeIndex> = (0..nodes.len()).map(|i| g.add_node(i)).collect();
    for l in links {
        let w = l.params[0].delay.max(l.params[1].delay).as_nanos() + 1;
        g.add_edge(idx[l.ends[0].0], idx[l.ends[1].0], w);
    }
    let needs: Vec<NodeId> = (0..nodes.len()).filter(|&n| specs[n].routes.is_none()).collect();
    if needs.is_empty() {
        return;
    }
    let forwards: Vec<bool> = specs.iter().map(|s| s.forwarding).collect();
    // A host with a single link to a router just needs a default route via that router.
    let mut full: Vec<NodeId> = Vec::new();
    for &n in &needs {
        let ifs = &nodes[n].ifaces;
        if !forwards[n] && ifs.len() == 1 {
            let l = &links[ifs[0].link];
            let peer = l.ends[1 - ifs[0].side];
            if forwards[peer.0] {
                let prefix = Cidr { addr: Ipv4Addr::UNSPECIFIED, len: 0 };
                nodes[n].routes.add(Route { prefix, iface: 0, via: Some(peer.1.addr) });
                continue;
            }
        }
        full.push(n);
    }
    if full.is_empty() {
        return;
    }
    for (li, l) in links.iter().enumerate() {
        let subnet = l.ends[0].1.network();
        // Distance from every router (and the link's own ends) to this subnet, through routers only.
        let mut dist: BTreeMap<NodeId, u64> = BTreeMap::new();
        for end in [l.ends[0].0, l.ends[1].0] {
            let src = idx[end];
            let filtered = EdgeFiltered::from_fn(&g, |e: petgraph::graph::EdgeReference<'_, u64>| {
                let (s, t) = (e.source(), e.target());
                (forwards[g[s]] || s == src) && (forwards[g[t]] || t == src)
            });
            let d = petgraph::algo::dijkstra(&filtered, src, None, |e| *e.weight());
            for (k, v) in d {
                let e = dist.entry(g[k]).or_insert(u64::MAX);
                *e = (*e).min(v);
            }
        }
        for &n in &full {
            if nodes[n].ifaces.iter().any(|i| i.link == li) || nodes[n].routes.has_prefix(subnet) {
                continue;
            }
            // Best neighbour: (link cost + its distance, neighbour index, link index).
            let mut best: Option<(u64, NodeId, LinkId, usize, Ipv4Addr)> = None;
            for (ifx, i) in nodes[n].ifaces.iter().enumerate() {
                let l2 = &links[i.link];
                let (peer, peer_addr) = l2.ends[1 - i.side];
                if !forwards[peer] {
                    continue;
                }
                let Some(d) = dist.get(&peer) else { continue };
                let w = l2.params[0].delay.max(l2.params[1].delay).as_nanos() + 1;
                let cand = (w.saturating_add(*d), peer, i.link, ifx, peer_addr.addr);
                if best.is_none_or(|b| (cand.0, cand.1, cand.2) < (b.0, b.1, b.2)) {
                    best = Some(cand);
                }
            }
            if let Some((_, _, _, ifx, gw)) = best {
                nodes[n].routes.add(Route { prefix: subnet, iface: ifx, via: Some(gw) });
            }
        }
    }
}

/// Convenience for tests and examples: the default TCP configuration.
pub fn default_tcp() -> TcpConfig {
    TcpConfig::default()
}
