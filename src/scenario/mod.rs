//! Scenarios: TOML files that describe a topology, link impairments, applications, faults, captures and
//! expectations. `Scenario::load` parses and validates a file (every error names file:line:column and
//! what was expected); `Scenario::build` turns it into a `World` ready to run.

pub mod error;
pub mod expect;
pub mod schema;
pub mod values;

use crate::app::ping::{PingConfig, TracerouteConfig};
use crate::net::rules::{MatchProto, PacketAction, PacketMatch, PacketRule, parse_flags};
use crate::net::{Cidr, Dir, FaultAction, Impairments, Jitter, LinkId, LossModel, NodeId, TimedFault};
use crate::sim::{Duration, Instant};
use crate::tcp::{CongestionAlgorithm, TcpConfig};
use crate::wire::MacAddr;
use crate::world::{World, WorldBuilder};
pub use error::ScenarioError;
use error::{SourceMap, SpanError, at};
use schema::*;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use toml::Spanned;

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub file: String,
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    pub stop: Duration,
    pub stop_when_apps_done: bool,
    pub max_events: Option<u64>,
    pub trace: bool,
    pub nodes: Vec<NodeDef>,
    pub links: Vec<LinkDef>,
    pub faults: Vec<TimedFault>,
    pub rules: Vec<PacketRule>,
    /// (link, side) pairs to capture, in file order, without repeats.
    pub captures: Vec<(LinkId, usize)>,
    pub apps: Vec<AppDef>,
    pub expects: Vec<expect::Expect>,
    /// Live bridges (src/bridge/); a scenario with bridges runs in real time.
    pub bridges: Vec<BridgeDef>,
}

#[derive(Debug, Clone)]
pub struct NodeDef {
    pub name: String,
    pub router: bool,
    pub routes: Option<Vec<(Cidr, Ipv4Addr)>>,
    pub tcp: TcpConfig,
}

#[derive(Debug, Clone)]
pub struct LinkDef {
    pub name: String,
    pub ends: [(NodeId, Cidr); 2],
    pub params: [Impairments; 2],
}

#[derive(Debug, Clone)]
pub struct AppDef {
    pub name: String,
    pub host: NodeId,
    pub start: Instant,
    pub kind: AppKind,
}

#[derive(Debug, Clone)]
pub enum AppKind {
    Ping(PingConfig),
    Traceroute(TracerouteConfig),
    EchoServer {
        port: u16,
        backlog: usize,
        close_delay: Duration,
    },
    /// Connects from `local_port` to `to` (the other peer), sends `bytes`, closes, reads to the end.
    Peer {
        local_port: u16,
        to: SocketAddrV4,
        bytes: usize,
    },
    EchoClient {
        to: SocketAddrV4,
        messages: usize,
        interval: Duration,
    },
    /// A transfer of `bytes` from the app's host to a sink on `to`'s host.
    Bulk {
        to: SocketAddrV4,
        sink_host: NodeId,
        bytes: u64,
        read_pause: Option<Duration>,
        read_chunk: usize,
        verify: crate::app::bulk::Verify,
    },
    HttpServer {
        port: u16,
    },
    /// `count` connections to `to`, all held open for `hold`, then closed.
    Connections {
        to: SocketAddrV4,
        count: usize,
        hold: Duration,
    },
    Webget {
        to: SocketAddrV4,
        host: String,
        path: String,
    },
    /// Live bridges: a bulk sender whose sink is outside the process (another netlab, the kernel).
    BulkRemote {
        to: SocketAddrV4,
        bytes: u64,
    },
    /// Live bridges: a bulk sink for a sender outside the process; `expect_from` names the sending bulk
    /// app (same seed) whose content it checks.
    BulkSink {
        port: u16,
        bytes: Option<u64>,
        expect_from: Option<String>,
    },
}

impl AppKind {
    pub fn name(&self) -> &'static str {
        match self {
            AppKind::Ping(_) => "ping",
            AppKind::Traceroute(_) => "traceroute",
            AppKind::EchoServer { .. } => "echo-server",
            AppKind::EchoClient { .. } => "echo-client",
            AppKind::Peer { .. } => "peer",
            AppKind::Connections { .. } => "connections",
            AppKind::Bulk { .. } => "bulk",
            AppKind::HttpServer { .. } => "http-server",
            AppKind::Webget { .. } => "webget",
            AppKind::BulkRemote { .. } => "bulk",
            AppKind::BulkSink { .. } => "bulk-sink",
        }
    }
    /// Servers run until the simulation ends and do not hold it open.
    pub fn daemon(&self) -> bool {
        matches!(self, AppKind::EchoServer { .. } | AppKind::HttpServer { .. })
    }
}

impl Scenario {
    /// Reads, parses and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read(path).map_err(|e| ScenarioError {
            file: file.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the scenario: {e}"),
            source_line: None,
        })?;
        let text = String::from_utf8(text).map_err(|e| {
            let map = SourceMap { file: &file, text: "" };
            let mut err = map
                .error(None, format!("expected UTF-8 text; invalid byte at offset {}", e.utf8_error().valid_up_to()));
            err.line = 1;
            err.column = 1;
            err
        })?;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into());
        Self::parse(&file, &text, &name)
    }

    /// Parses and validates scenario text; `file` is used in error messages, `default_name` when the
    /// file names no scenario.
    pub fn parse(file: &str, text: &str, default_name: &str) -> Result<Scenario, ScenarioError> {
        let map = SourceMap { file, text };
        let raw: ScenarioFile = toml::from_str(text).map_err(|e| {
            let msg = e.message().trim_end().to_string();
            map.error(e.span(), msg)
        })?;
        let mut sc = validate(raw, file, default_name).map_err(|e| map.error(e.span, e.message))?;
        for e in &mut sc.expects {
            e.line = map.error(Some(e.offset..e.offset), "").line;
        }
        Ok(sc)
    }

    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name)
    }
    pub fn link_id(&self, name: &str) -> Option<LinkId> {
        self.links.iter().position(|l| l.name == name)
    }

    /// Builds the world: topology, faults, apps, and (when `files` is given) captures and the trace
    /// written to the files it creates. Building opens no files itself and starts no threads.
    pub fn build(&self, opts: &BuildOptions, files: Option<&mut dyn OutputFiles>) -> Result<World, BuildFailure> {
        let seed = opts.seed.unwrap_or(self.seed);
        let mut b = WorldBuilder::new(seed);
        for n in &self.nodes {
            let id = if n.router { b.router(&n.name) } else { b.host(&n.name, n.tcp.clone()) };
            if let Some(r) = &n.routes {
                b.routes(id, r.clone());
            }
        }
        for l in &self.links {
            b.link(&l.name, l.ends[0], l.ends[1], l.params.clone());
        }
        for f in &self.faults {
            b.fault(f.clone());
        }
        for r in &self.rules {
            b.rule(r.clone());
        }
        b.keep_tcp_events(opts.keep_tcp_events);
        for br in &self.bridges {
            b.external(br.link, 1);
            if matches!(br.kind, BridgeKind::Udp { .. }) {
                // Frames of two processes meet on this wire: give the interface a MAC derived from
                // its (unique) address rather than from the node's index in its own process.
                let o = self.links[br.link].ends[0].1.addr.octets();
                b.mac(br.link, 0, MacAddr([0x02, 0x4e, o[0], o[1], o[2], o[3]]));
            }
        }
        if let Some(files) = files {
            if opts.captures {
                for &(link, side) in &self.captures {
                    let l = &self.links[link];
                    let node = &self.nodes[l.ends[side].0].name;
                    let out = files.create(&format!("{}-{}.pcap", l.name, node)).map_err(BuildFailure::Io)?;
                    b.capture(link, side, out).map_err(|e| BuildFailure::Io(e.to_string()))?;
                }
            }
            if self.trace && opts.trace {
                b.trace_to(files.create("trace.jsonl").map_err(BuildFailure::Io)?);
            }
        }
        for br in &self.bridges {
            for prefix in &br.routes {
                b.fallback_route(br.node, br.link, *prefix, br.peer);
            }
        }
        let mut world = b.build().map_err(|e| BuildFailure::Topology(e.to_string()))?;
        for app in &self.apps {
            let daemon = app.kind.daemon();
            let (name, kind, host, start) = (app.name.as_str(), app.kind.name(), app.host, app.start);
            match &app.kind {
                AppKind::EchoServer { port, backlog, close_delay } => {
                    let (port, b, d) = (*port, *backlog, *close_delay);
                    world.spawn_app(name, kind, host, daemon, start, move |ctx| {
                        crate::app::echo::server(ctx, port, b, d)
                    });
                }
                AppKind::Peer { local_port, to, bytes } => {
                    let (lp, to, n) = (*local_port, *to, *bytes);
                    world.spawn_app(name, kind, host, daemon, start, move |ctx| crate::app::peer::peer(ctx, lp, to, n));
                }
                AppKind::EchoClient { to, messages, interval } => {
                    let (to, m, i) = (*to, *messages, *interval);
                    world
                        .spawn_app(name, kind, host, daemon, start, move |ctx| crate::app::echo::client(ctx, to, m, i));
                }
                AppKind::Bulk { to, sink_host, bytes, read_pause, read_chunk, verify } => {
                    use crate::app::bulk::{Content, SinkConfig, SinkResult, Verify, content_rng, sender, sink};
                    let shared = std::rc::Rc::new(std::cell::RefCell::new(SinkResult::default()));
                    let (to, bytes, verify, r) = (*to, *bytes, *verify, shared.clone());
                    let expected = (verify == Verify::Compare).then(|| Content::new(content_rng(seed, name), bytes));
                    let cfg = SinkConfig {
                        port: to.port(),
                        verify,
                        expected,
                        read_pause: *read_pause,
                        read_chunk: *read_chunk,
                    };
                    world.spawn_app(
                        &format!("{name}.sink"),
                        "bulk-sink",
                        *sink_host,
                        true,
                        Instant::ZERO,
                        move |ctx| sink(ctx, cfg, r),
                    );
                    world.spawn_app(name, kind, host, daemon, start, move |ctx| sender(ctx, to, bytes, verify, shared));
                }
                AppKind::Connections { to, count, hold } => {
                    let (to, n, h) = (*to, *count, *hold);
                    world.spawn_app(name, kind, host, daemon, start, move |ctx| {
                        crate::app::conns::connections(ctx, to, n, h)
                    });
                }
                AppKind::HttpServer { port } => {
                    let port = *port;
                    world.spawn_app(name, kind, host, daemon, start, move |ctx| crate::app::http::server(ctx, port));
                }
                AppKind::Webget { to, host: h, path } => {
                    let (to, h, p) = (*to, h.clone(), path.clone());
                    world
                        .spawn_app(name, kind, host, daemon, start, move |ctx| crate::app::http::webget(ctx, to, h, p));
                }
                AppKind::BulkRemote { to, bytes } => {
                    let (to, bytes) = (*to, *bytes);
                    world.spawn_app(name, kind, host, daemon, start, move |ctx| {
                        crate::app::remote::remote_sender(ctx, to, bytes)
                    });
                }
                AppKind::BulkSink { port, bytes, expect_from } => {
                    let (port, bytes, from) = (*port, *bytes, expect_from.clone());
                    world.spawn_app(name, kind, host, daemon, start, move |ctx| {
                        crate::app::remote::sink(ctx, port, bytes, from)
                    });
                }
                AppKind::Ping(cfg) => {
                    let cfg = cfg.clone();
                    world.spawn_app(&app.name, "ping", app.host, daemon, app.start, move |ctx| {
                        crate::app::ping::ping(ctx, cfg)
                    });
                }
                AppKind::Traceroute(cfg) => {
                    let cfg = cfg.clone();
                    world.spawn_app(&app.name, "traceroute", app.host, daemon, app.start, move |ctx| {
                        crate::app::ping::traceroute(ctx, cfg)
                    });
                }
            }
        }
        Ok(world)
    }
}

/// Why a scenario could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildFailure {
    /// The topology is inconsistent (a bad input).
    #[error("{0}")]
    Topology(String),
    /// An output file could not be created.
    #[error("{0}")]
    Io(String),
}

/// Where a built world writes its captures and trace: `create(file_name)` gives a writer for
/// each file (`<link>-<node>.pcap`, `trace.jsonl`), or a message saying why it could not.
pub trait OutputFiles {
    /// A writer for the output file `name`.
    fn create(&mut self, name: &str) -> Result<Box<dyn std::io::Write>, String>;
}

/// How to build a world from a scenario.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Where captures and the trace go (used by `run::run`); nothing is written when None.
    pub out_dir: Option<std::path::PathBuf>,
    /// Write the scenario's captures.
    pub captures: bool,
    /// Write the trace (if the scenario does not turn it off).
    pub trace: bool,
    /// Keep per-connection summaries from the TCP events (off only for benchmarks).
    pub keep_tcp_events: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { seed: None, out_dir: None, captures: true, trace: true, keep_tcp_events: true }
    }
}

// ------------------------------------------------------------------------------------ validation

struct Names {
    nodes: BTreeMap<String, NodeId>,
    links: BTreeMap<String, LinkId>,
}

fn spanned_str(s: &Spanned<String>) -> (&str, std::ops::Range<usize>) {
    (s.get_ref().as_str(), s.span())
}

fn check_name(s: &Spanned<String>, what: &str) -> Result<String, SpanError> {
    let (n, span) = spanned_str(s);
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return at(span, format!("expected a {what} name made of letters, digits, '-', '_' or '.', found \"{n}\""));
    }
    Ok(n.to_string())
}

fn tcp_config(base: &TcpConfig, spec: &Option<TcpSpec>) -> Result<TcpConfig, SpanError> {
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
        max_syn_retransmissions
    );
    macro_rules! set_dur {
        ($($f:ident),*) => { $( if let Some(v) = s.$f { c.$f = v.0; } )* };
    }
    set_dur!(delayed_ack_timeout, rto_min, rto_max, rto_initial, msl);
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

/// Applies the impairment fields of a link, a direction or a fault onto `imp`.
macro_rules! apply_impairments {
    ($s:expr, $imp:expr) => {{
        let s = $s;
        let imp: &mut Impairments = $imp;
        if let Some(v) = s.delay {
            imp.delay = v.0;
        }
        if let Some(v) = s.rate {
            imp.rate_bps = Some(v.0);
        }
        if let Some(v) = s.queue_packets {
            imp.queue_packets = Some(v);
        }
        if let Some(v) = s.queue_bytes {
            imp.queue_bytes = Some(v);
        }
        if let Some(m) = &s.mtu {
            let v = *m.get_ref();
            if !(68..=65535).contains(&v) {
                return at(m.span(), format!("expected an MTU from 68 to 65535 bytes, found {v}"));
            }
            imp.mtu = v;
        }
        if let Some(v) = s.loss {
            imp.loss = LossModel::Bernoulli(v.0);
        }
        if let Some(b) = s.burst_loss {
            imp.loss = LossModel::GilbertElliott {
                p: b.p.0,
                r: b.r.0,
                loss_good: b.loss_good.map_or(0.0, |x| x.0),
                loss_bad: b.loss_bad.map_or(1.0, |x| x.0),
            };
        }
        if let Some(v) = s.reorder {
            imp.reorder = v.0;
        }
        if let Some(v) = s.reorder_delay {
            imp.reorder_delay = v.0;
        }
        if let Some(v) = s.duplicate {
            imp.duplicate = v.0;
        }
        if let Some(v) = s.duplicate_delay {
            imp.duplicate_delay = v.0;
        }
        if let Some(v) = s.corrupt {
            imp.corrupt = v.0;
        }
        let normal = match &s.jitter_distribution {
            None => None,
            Some(d) => match d.get_ref().as_str() {
                "uniform" => Some(false),
                "normal" => Some(true),
                other => {
                    return at(
                        d.span(),
                        format!("expected a jitter distribution, \"uniform\" or \"normal\", found \"{other}\""),
                    );
                }
            },
        };
        if let Some(j) = s.jitter {
            let keep_normal = normal.is_none() && matches!(imp.jitter, Jitter::Normal(_));
            imp.jitter = if normal == Some(true) || keep_normal { Jitter::Normal(j.0) } else { Jitter::Uniform(j.0) };
        } else if let Some(n) = normal {
            imp.jitter = match imp.jitter {
                Jitter::Uniform(d) | Jitter::Normal(d) if n => Jitter::Normal(d),
                Jitter::Uniform(d) | Jitter::Normal(d) => Jitter::Uniform(d),
                Jitter::None => Jitter::None,
            };
        }
    }};
}

fn parse_dir(s: &Spanned<String>) -> Result<Dir, SpanError> {
    match s.get_ref().as_str() {
        "a->b" | "a_to_b" => Ok(Dir::AtoB),
        "b->a" | "b_to_a" => Ok(Dir::BtoA),
        other => at(s.span(), format!("expected a direction, \"a->b\" or \"b->a\", found \"{other}\"")),
    }
}

fn resolve_node(names: &Names, s: &Spanned<String>, what: &str) -> Result<NodeId, SpanError> {
    let (n, span) = spanned_str(s);
    names.nodes.get(n).copied().map_or_else(
        || {
            let known: Vec<&str> = names.nodes.keys().map(|s| s.as_str()).collect();
            at(span, format!("expected the name of a {what}; \"{n}\" is not defined (defined: {})", known.join(", ")))
        },
        Ok,
    )
}

fn resolve_link(names: &Names, s: &Spanned<String>) -> Result<LinkId, SpanError> {
    let (n, span) = spanned_str(s);
    names.links.get(n).copied().map_or_else(
        || {
            let known: Vec<&str> = names.links.keys().map(|s| s.as_str()).collect();
            at(span, format!("expected the name of a link; \"{n}\" is not defined (defined: {})", known.join(", ")))
        },
        Ok,
    )
}

fn convert_routes(routes: &Option<Vec<RouteSpec>>) -> Option<Vec<(Cidr, Ipv4Addr)>> {
    routes.as_ref().map(|rs| rs.iter().map(|r| (r.prefix.get_ref().0, r.via.get_ref().0)).collect())
}

fn validate(raw: ScenarioFile, file: &str, default_name: &str) -> Result<Scenario, SpanError> {
    let sim = &raw.simulation;
    let mut names = Names { nodes: BTreeMap::new(), links: BTreeMap::new() };
    let mut nodes = Vec::new();
    let base_tcp = tcp_config(&TcpConfig::default(), &sim.tcp)?;
    for h in &raw.hosts {
        let name = check_name(&h.name, "host")?;
        if names.nodes.insert(name.clone(), nodes.len()).is_some() {
            return at(h.name.span(), format!("expected a unique node name; \"{name}\" is defined twice"));
        }
        let tcp = tcp_config(&base_tcp, &h.tcp)?;
        nodes.push(NodeDef { name, router: false, routes: convert_routes(&h.routes), tcp });
    }
    for r in &raw.routers {
        let name = check_name(&r.name, "router")?;
        if names.nodes.insert(name.clone(), nodes.len()).is_some() {
            return at(r.name.span(), format!("expected a unique node name; \"{name}\" is defined twice"));
        }
        nodes.push(NodeDef { name, router: true, routes: convert_routes(&r.routes), tcp: base_tcp.clone() });
    }
    // Links.
    let mut links = Vec::new();
    let mut addrs: BTreeMap<Ipv4Addr, String> = BTreeMap::new();
    for l in &raw.links {
        let name = check_name(&l.name, "link")?;
        if names.links.insert(name.clone(), links.len()).is_some() {
            return at(l.name.span(), format!("expected a unique link name; \"{name}\" is defined twice"));
        }
        let a = resolve_node(&names, &l.a.node, "host or router")?;
        let b = resolve_node(&names, &l.b.node, "host or router")?;
        if a == b {
            return at(l.b.node.span(), format!("expected the other end of link \"{name}\" to be a different node"));
        }
        let (ca, cb) = (l.a.ip.get_ref().0, l.b.ip.get_ref().0);
        if ca.network() != cb.network() {
            return at(
                l.b.ip.span(),
                format!(
                    "expected both ends of link \"{name}\" on one subnet; {ca} and {cb} are not (use the same prefix)"
                ),
            );
        }
        for (ep, c) in [(&l.a, ca), (&l.b, cb)] {
            if c.len < 31 && (c.addr == c.network().addr || c.addr == c.broadcast()) {
                return at(
                    ep.ip.span(),
                    format!("expected a host address, not the network or broadcast address of {c}"),
                );
            }
            if let Some(other) = addrs.insert(c.addr, name.clone()) {
                return at(
                    ep.ip.span(),
                    format!("expected a unique address; {} is already used on link \"{other}\"", c.addr),
                );
            }
        }
        for t in std::iter::once(l.given_impairments())
            .chain(l.a_to_b.iter().chain(&l.b_to_a).map(|d| d.given_impairments()))
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
        links.push(LinkDef { name, ends: [(a, ca), (b, cb)], params });
    }
    let bridges = validate_bridges(&raw.bridges, &mut names, &mut nodes, &mut links, &mut addrs, &base_tcp)?;
    // Static routes must have their gateway on a subnet of the node.
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
    // Faults: timed changes (in time order, each `set` applies on top of the earlier ones) and
    // packet-matching rules.
    let mut faults = Vec::new();
    let mut rules = Vec::new();
    let mut current: Vec<[Impairments; 2]> = links.iter().map(|l| l.params.clone()).collect();
    let mut order: Vec<usize> = (0..raw.faults.len()).collect();
    order.sort_by_key(|&i| raw.faults[i].at.as_ref().map_or(Duration::ZERO, |a| a.get_ref().0));
    for i in order {
        let f = &raw.faults[i];
        let link = resolve_link(&names, &f.link)?;
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
        let matcher = validate_match(m.get_ref(), &names, &links)?;
        let nth = f.nth.unwrap_or(1).max(1);
        let count = match f.count {
            Some(0) => u64::MAX,
            Some(c) => c,
            None => 1,
        };
        rules.push(PacketRule { index: i, link, dir, matcher, nth, count, action: pa, seen: 0, acted: 0 });
    }
    // Captures.
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
    for c in &raw.captures {
        let link = resolve_link(&names, &c.link)?;
        let sides: Vec<usize> = match &c.at {
            None => vec![0, 1],
            Some(n) => {
                let node = resolve_node(&names, n, "node")?;
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
    // Applications.
    let mut apps: Vec<AppDef> = Vec::new();
    for (i, a) in raw.apps.iter().enumerate() {
        apps.push(validate_app(a, i, &names, &nodes, &links, &apps, &bridges)?);
    }
    let name = sim.name.clone().unwrap_or_else(|| default_name.to_string());
    if name.is_empty() || name.starts_with('.') || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return at(
            0..0,
            format!(
                "expected a scenario name made of letters, digits, '-', '_' or '.' (it names the output folder), found \"{name}\""
            ),
        );
    }
    let stop = sim.stop.as_ref().map_or(Duration::from_secs(600), |s| s.get_ref().0);
    if stop.is_zero() {
        return at(sim.stop.as_ref().map_or(0..0, |s| s.span()), "expected a time limit greater than zero");
    }
    let scenario_partial = (
        links.iter().map(|l| l.name.clone()).collect::<Vec<_>>(),
        apps.iter().map(|a| (a.name.clone(), a.kind.name())).collect::<Vec<_>>(),
    );
    let mut expects = Vec::new();
    for e in &raw.expect {
        expects.push(expect::validate(e, &names.nodes, &scenario_partial.0, &scenario_partial.1)?);
    }
    Ok(Scenario {
        file: file.to_string(),
        name,
        description: sim.description.clone(),
        seed: sim.seed,
        stop,
        stop_when_apps_done: sim.stop_when_apps_done,
        max_events: sim.max_events,
        trace: sim.trace,
        nodes,
        links,
        faults,
        rules,
        captures,
        apps,
        expects,
        bridges,
    })
}

fn validate_match(m: &MatchSpec, names: &Names, links: &[LinkDef]) -> Result<PacketMatch, SpanError> {
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

/// Which optional fields each application kind takes.
const APP_FIELDS: &[(&str, &[&str])] = &[
    ("ping", &["to", "count", "interval", "size", "ttl", "wait"]),
    ("traceroute", &["to", "max_hops", "wait"]),
    ("echo-server", &["port", "close_delay", "backlog"]),
    ("peer", &["to", "port", "local_port", "bytes"]),
    ("echo-client", &["to", "port", "messages", "interval"]),
    ("bulk", &["to", "port", "bytes", "read_pause", "read_chunk", "verify"]),
    ("http-server", &["port"]),
    ("connections", &["to", "port", "count", "hold"]),
    ("webget", &["to", "port", "path"]),
    ("bulk-sink", &["port", "bytes", "expect_from"]),
];

fn validate_app(
    a: &AppSpec,
    index: usize,
    names: &Names,
    nodes: &[NodeDef],
    links: &[LinkDef],
    earlier: &[AppDef],
    bridges: &[BridgeDef],
) -> Result<AppDef, SpanError> {
    let kind = a.kind.get_ref().as_str();
    let Some((_, allowed)) = APP_FIELDS.iter().find(|(k, _)| *k == kind) else {
        let kinds: Vec<&str> = APP_FIELDS.iter().map(|(k, _)| *k).collect();
        return at(a.kind.span(), format!("expected an application kind ({}), found \"{kind}\"", kinds.join(", ")));
    };
    let given: [(&str, bool); 19] = [
        ("expect_from", a.expect_from.is_some()),
        ("backlog", a.backlog.is_some()),
        ("hold", a.hold.is_some()),
        ("verify", a.verify.is_some()),
        ("local_port", a.local_port.is_some()),
        ("close_delay", a.close_delay.is_some()),
        ("read_pause", a.read_pause.is_some()),
        ("read_chunk", a.read_chunk.is_some()),
        ("port", a.port.is_some()),
        ("messages", a.messages.is_some()),
        ("bytes", a.bytes.is_some()),
        ("path", a.path.is_some()),
        ("to", a.to.is_some()),
        ("count", a.count.is_some()),
        ("interval", a.interval.is_some()),
        ("size", a.size.is_some()),
        ("ttl", a.ttl.is_some()),
        ("wait", a.wait.is_some()),
        ("max_hops", a.max_hops.is_some()),
    ];
    for (field, present) in given {
        if present && !allowed.contains(&field) {
            return at(
                a.kind.span(),
                format!("expected only the fields of a {kind} app ({}); `{field}` does not apply", allowed.join(", ")),
            );
        }
    }
    let host = resolve_node(names, &a.host, "host")?;
    if nodes[host].router {
        return at(a.host.span(), format!("expected a host; \"{}\" is a router", a.host.get_ref()));
    }
    let name = match &a.name {
        Some(n) => check_name(n, "application")?,
        None => format!("{kind}-{}", index + 1),
    };
    if earlier.iter().any(|e| e.name == name) {
        return at(
            a.name.as_ref().map_or(a.kind.span(), |n| n.span()),
            format!("expected a unique application name; \"{name}\" is used twice"),
        );
    }
    // `to`: a node name (its first address) or an address; returns the address and the node owning it.
    let to_node = |a: &AppSpec| -> Result<(Ipv4Addr, Option<NodeId>), SpanError> {
        let Some(t) = &a.to else {
            return at(a.kind.span(), format!("expected `to` (a host name or an address) for a {kind} app"));
        };
        let owner =
            |ip: Ipv4Addr| links.iter().flat_map(|l| l.ends.iter()).find(|(_, c)| c.addr == ip).map(|(n, _)| *n);
        if let Ok(ip) = t.get_ref().parse::<Ipv4Addr>() {
            return Ok((ip, owner(ip)));
        }
        let n = resolve_node(names, t, "host, or an IPv4 address")?;
        links.iter().flat_map(|l| l.ends.iter()).find(|(en, _)| *en == n).map(|(_, c)| (c.addr, Some(n))).map_or_else(
            || at(t.span(), format!("expected a node with an address; \"{}\" has no links", t.get_ref())),
            Ok,
        )
    };
    let to = |a: &AppSpec| to_node(a).map(|(ip, _)| ip);
    let port = a.port.unwrap_or(match kind {
        "echo-server" | "echo-client" => 7,
        "http-server" | "webget" => 80,
        _ => 5001 + index as u16,
    });
    let kind = match kind {
        "ping" => AppKind::Ping(PingConfig {
            dst: to(a)?,
            count: a.count.unwrap_or(5),
            interval: a.interval.map_or(Duration::from_secs(1), |d| d.0),
            size: match a.size {
                Some(n) if n > 65_000 => {
                    return at(a.kind.span(), format!("expected a ping `size` of at most 65000 bytes, found {n}"));
                }
                n => n.unwrap_or(56),
            },
            ttl: a.ttl.unwrap_or(64),
            wait: a.wait.map_or(Duration::from_secs(2), |d| d.0),
        }),
        "echo-server" => AppKind::EchoServer {
            port,
            backlog: a.backlog.unwrap_or(128),
            close_delay: a.close_delay.map_or(Duration::ZERO, |d| d.0),
        },
        "peer" => {
            let Some(local_port) = a.local_port else {
                return at(a.kind.span(), "expected `local_port` for a peer app (the other peer connects to it)");
            };
            AppKind::Peer { local_port, to: SocketAddrV4::new(to(a)?, port), bytes: a.bytes.unwrap_or(100) as usize }
        }
        "echo-client" => AppKind::EchoClient {
            to: SocketAddrV4::new(to(a)?, port),
            messages: a.messages.unwrap_or(3),
            interval: a.interval.map_or(Duration::from_secs(1), |d| d.0),
        },
        "http-server" => AppKind::HttpServer { port },
        "connections" => AppKind::Connections {
            to: SocketAddrV4::new(to(a)?, port),
            count: usize::from(a.count.unwrap_or(10)),
            hold: a.hold.map_or(Duration::from_secs(1), |d| d.0),
        },
        "webget" => {
            let dst = to(a)?;
            AppKind::Webget {
                to: SocketAddrV4::new(dst, port),
                host: a.to.as_ref().map_or(dst.to_string(), |t| t.get_ref().clone()),
                path: a.path.clone().unwrap_or_else(|| "/".to_string()),
            }
        }
        "bulk-sink" => {
            AppKind::BulkSink { port, bytes: a.bytes, expect_from: a.expect_from.as_ref().map(|s| s.get_ref().clone()) }
        }
        "bulk" if !bridges.is_empty() && to_node(a)?.1.is_none_or(|n| bridges.iter().any(|b| b.peer_node == n)) => {
            // A live scenario may send to a sink outside the process (beyond a bridge).
            AppKind::BulkRemote { to: SocketAddrV4::new(to(a)?, port), bytes: a.bytes.unwrap_or(1_000_000) }
        }
        "bulk" => {
            let (dst, node) = to_node(a)?;
            let Some(sink_host) = node.filter(|n| !nodes[*n].router) else {
                return at(
                    a.to.as_ref().map_or(a.kind.span(), |t| t.span()),
                    "expected `to` to name a simulated host (the sink runs there)",
                );
            };
            AppKind::Bulk {
                to: SocketAddrV4::new(dst, port),
                sink_host,
                bytes: a.bytes.unwrap_or(1_000_000),
                read_pause: a.read_pause.map(|d| d.0),
                read_chunk: a.read_chunk.unwrap_or(1024),
                verify: match a.verify.as_ref().map(|v| v.get_ref().as_str()) {
                    None | Some("sha256") => crate::app::bulk::Verify::Sha256,
                    Some("compare") => crate::app::bulk::Verify::Compare,
                    Some(other) => {
                        let span = a.verify.as_ref().map_or(a.kind.span(), |v| v.span());
                        return at(
                            span,
                            format!("expected `verify` to be \"sha256\" or \"compare\", found \"{other}\""),
                        );
                    }
                },
            }
        }
        _ => AppKind::Traceroute(TracerouteConfig {
            dst: to(a)?,
            max_hops: a.max_hops.unwrap_or(30),
            wait: a.wait.map_or(Duration::from_secs(2), |d| d.0),
        }),
    };
    Ok(AppDef { name, host, start: Instant::ZERO + a.start.map_or(Duration::ZERO, |d| d.0), kind })
}

// ------------------------------------------------------------------------------ live bridges

/// A live bridge: link `link` joins `node` (end a) to a stand-in node `peer_node` (end b) whose place
/// is taken by the world outside the process.
#[derive(Debug, Clone)]
pub struct BridgeDef {
    pub name: String,
    pub link: LinkId,
    pub node: NodeId,
    pub peer_node: NodeId,
    pub peer: Ipv4Addr,
    /// Prefixes behind the bridge, routed by `node` via `peer`.
    pub routes: Vec<Cidr>,
    pub kind: BridgeKind,
}

#[derive(Debug, Clone)]
pub enum BridgeKind {
    /// Ethernet frames as UDP datagrams between `local` and `remote`.
    Udp { local: std::net::SocketAddr, remote: std::net::SocketAddr },
    /// IP packets through a TUN device.
    Tun { device: String, kernel_routes: Vec<Cidr>, configure: bool },
}

fn validate_bridges(
    specs: &[BridgeSpec],
    names: &mut Names,
    nodes: &mut Vec<NodeDef>,
    links: &mut Vec<LinkDef>,
    addrs: &mut BTreeMap<Ipv4Addr, String>,
    base_tcp: &TcpConfig,
) -> Result<Vec<BridgeDef>, SpanError> {
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
            if let Some(other) = addrs.insert(c, name.clone()) {
                return at(span, format!("expected a unique address; {c} is already used on link \"{other}\""));
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
                BridgeKind::Udp { local: addr_of(l, "`local`")?, remote: addr_of(r, "`remote`")? }
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
        if b.given_impairments().contains(&"loss") && b.given_impairments().contains(&"burst_loss") {
            return at(b.name.span(), format!("expected either `loss` or `burst_loss` in bridge \"{name}\", not both"));
        }
        let mut params = Impairments::default();
        apply_impairments!(b, &mut params);
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
        nodes.push(NodeDef { name: peer_name, router: false, routes: Some(Vec::new()), tcp: base_tcp.clone() });
        let link = links.len();
        names.links.insert(name.clone(), link);
        links.push(LinkDef {
            name: name.clone(),
            ends: [(node, ip), (peer_node, Cidr { addr: peer, len: ip.len })],
            params: [params.clone(), params],
        });
        let routes = b.routes.iter().flatten().map(|c| c.get_ref().0).collect();
        out.push(BridgeDef { name, link, node, peer_node, peer, routes, kind });
    }
    Ok(out)
}
