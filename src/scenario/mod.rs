//! Scenarios: TOML files that describe a topology, link impairments, applications, faults, captures and
//! expectations. `Scenario::load` parses and validates a file (every error names file:line:column and
//! what was expected); `Scenario::build` turns it into a `World` ready to run.
//!
//! Layout: `schema` is the file format as serde reads it; `validate/` checks each section (with the
//! section it checks); `apps/` is the registry of application kinds; `expect` the expectations;
//! `build` makes the world. This file is the validated model.

pub mod apps;
mod build;
pub mod error;
pub mod expect;
pub mod expect_filter;
mod expect_log;
mod load_step;
pub mod netns;
mod plain;
pub(crate) mod schema;
mod shape;
mod suggest;
pub(crate) mod validate;
pub(crate) mod values;

use crate::net::rules::PacketRule;
use crate::net::{Cidr, Impairments, LinkId, NodeId, TimedFault};
use crate::sim::{Duration, Instant};
use crate::stack::StackChoice;
use crate::tcp::TcpConfig;
pub use apps::AppRecipe;
pub use build::{BuildFailure, BuildOptions, CaptureFormat, OutputFiles};
pub use error::ScenarioError;
use error::{SourceMap, SpanError};
pub use load_step::LoadStep;
use schema::ScenarioFile;
use serde::Deserialize;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it was read from, as given (for messages).
    pub file: String,
    /// `[simulation] name`, or the file name without `.toml`.
    pub name: String,
    /// `[simulation] description`.
    pub description: Option<String>,
    /// The master seed every random stream derives from (default 1).
    pub seed: u64,
    /// The simulated time limit (default 600 s).
    pub stop: Duration,
    /// Stop as soon as every application except servers has finished.
    pub stop_when_apps_done: bool,
    /// Stop after this many events.
    pub max_events: Option<u64>,
    /// Write the trace (default true).
    pub trace: bool,
    /// Write it as `trace.jsonl` (`trace_format = "jsonl"`) rather than the binary `trace.nlt`.
    pub trace_jsonl: bool,
    /// Hosts, then routers, each in file order, then the stand-ins of live bridges (a node's index is
    /// its `NodeId`).
    pub nodes: Vec<NodeDef>,
    /// Links in file order (a link's index is its `LinkId`); bridge links come last.
    pub links: Vec<LinkDef>,
    /// Timed faults (link down/up, impairment changes), in file order.
    pub faults: Vec<TimedFault>,
    /// Packet-matching fault rules, in file order.
    pub rules: Vec<PacketRule>,
    /// (link, side) pairs to capture, in file order, without repeats.
    pub captures: Vec<(LinkId, usize)>,
    /// The captures' file format (`[simulation] capture_format`).
    pub capture_format: CaptureFormat,
    /// Applications, in file order.
    pub apps: Vec<AppDef>,
    /// Expectations checked at the end of the run, in file order.
    pub expects: Vec<expect::Expect>,
    /// Live bridges (src/bridge/); a scenario with bridges runs in real time.
    pub bridges: Vec<BridgeDef>,
    /// Namespace hosts (`stack = "linux"`, scenario/netns.rs); a scenario with any runs in real time.
    pub netns: Vec<netns::NetnsHost>,
}

/// A host or router of a scenario.
#[derive(Debug, Clone)]
pub struct NodeDef {
    /// Its name, unique among nodes.
    pub name: String,
    /// Whether it forwards packets (a router) rather than running applications (a host).
    pub router: bool,
    /// Static routes (prefix, gateway); `None`: routes are computed from the topology.
    pub routes: Option<Vec<(Cidr, Ipv4Addr)>>,
    /// Its TCP configuration (the `[simulation.tcp]` defaults with its own overrides).
    pub tcp: TcpConfig,
    /// The host's stack, when the scenario pins one (`None`: netlab's, unless `--stack` says else).
    pub stack: Option<StackChoice>,
}

/// A link of a scenario.
#[derive(Debug, Clone)]
pub struct LinkDef {
    /// Its name, unique among links.
    pub name: String,
    /// End a and end b: the node and its interface address on this link.
    pub ends: [(NodeId, Cidr); 2],
    /// Impairments of the a -> b and the b -> a direction.
    pub params: [Impairments; 2],
}

/// An application of a scenario.
#[derive(Debug, Clone)]
pub struct AppDef {
    /// Its name, unique among applications (default "KIND-N").
    pub name: String,
    /// The host it runs on.
    pub host: NodeId,
    /// When it starts (default 0).
    pub start: Instant,
    /// What it is and how to start it (see `apps::KINDS`).
    pub recipe: Arc<dyn AppRecipe>,
}

impl AppDef {
    /// The application's kind, as in `[[apps]] kind = "..."`.
    pub fn kind(&self) -> &'static str {
        self.recipe.kind()
    }
}

impl Scenario {
    /// Reads, parses and validates a scenario file; the first error in file order.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        Self::load_all(path).map_err(first)
    }

    /// Reads, parses and validates a scenario file; on failure, every error found, in file order
    /// (at least one).
    pub fn load_all(path: &Path) -> Result<Scenario, Vec<ScenarioError>> {
        Self::load_all_with(path, &mut |_| {})
    }

    /// Like [`Scenario::load_all`], telling `step` as each step of loading begins (for progress).
    pub fn load_all_with(path: &Path, step: &mut dyn FnMut(LoadStep)) -> Result<Scenario, Vec<ScenarioError>> {
        let file = path.display().to_string();
        let limit = max_scenario_bytes();
        if let Ok(meta) = std::fs::metadata(path)
            && meta.len() > limit
        {
            return Err(vec![ScenarioError {
                file,
                line: 0,
                column: 0,
                message: format!(
                    "the scenario is {} MB; netlab reads at most {} MB (loading takes about 1.7 KB of memory per \
                     host in a file of bare [[hosts]]): set {MAX_SCENARIO_MB_VAR} to raise the limit",
                    meta.len().div_ceil(1 << 20),
                    limit >> 20
                ),
                source_line: None,
            }]);
        }
        step(LoadStep::Reading { bytes: std::fs::metadata(path).map_or(0, |m| m.len()) });
        let text = std::fs::read(path).map_err(|e| {
            vec![ScenarioError {
                file: file.clone(),
                line: 0,
                column: 0,
                message: format!("cannot read the scenario: {e}"),
                source_line: None,
            }]
        })?;
        let text = String::from_utf8(text).map_err(|e| {
            let map = SourceMap { file: &file, text: "" };
            let mut err = map
                .error(None, format!("expected UTF-8 text; invalid byte at offset {}", e.utf8_error().valid_up_to()));
            err.line = 1;
            err.column = 1;
            vec![err]
        })?;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into());
        Self::parse_all_with(&file, &text, &name, step)
    }

    /// Parses and validates scenario text; `file` is used in error messages, `default_name` when the
    /// file names no scenario. The first error in file order.
    pub fn parse(file: &str, text: &str, default_name: &str) -> Result<Scenario, ScenarioError> {
        Self::parse_all(file, text, default_name).map_err(first)
    }

    /// Like [`Scenario::parse`], with every error found, in file order (at least one). Syntax
    /// errors come alone; then the file's shape (`[simulation]` one table, `[[hosts]]` arrays of
    /// tables); then the keys and values of every entry; then the checks across entries (names,
    /// addresses, references), each section once the topology is sound.
    pub fn parse_all(file: &str, text: &str, default_name: &str) -> Result<Scenario, Vec<ScenarioError>> {
        Self::parse_all_with(file, text, default_name, &mut |_| {})
    }

    /// Like [`Scenario::parse_all`], telling `step` as each step begins (for progress).
    pub fn parse_all_with(
        file: &str,
        text: &str,
        default_name: &str,
        step: &mut dyn FnMut(LoadStep),
    ) -> Result<Scenario, Vec<ScenarioError>> {
        let map = SourceMap { file, text };
        let located = |mut errors: Vec<SpanError>| {
            errors.sort_by_key(|e| e.span.as_ref().map_or(0, |s| s.start));
            errors.into_iter().map(|e| map.error(e.span, e.message)).collect::<Vec<_>>()
        };
        step(LoadStep::Parsing);
        let (root, syntax) = toml::de::DeTable::parse_recoverable(text);
        if !syntax.is_empty() {
            let errors = syntax.iter().map(|e| SpanError { span: e.span(), message: plain::plain(e.message()) });
            return Err(located(errors.take(1).collect()));
        }
        step(LoadStep::Shape);
        let shape = shape::shape_errors(root.get_ref());
        if !shape.is_empty() {
            return Err(located(shape));
        }
        step(LoadStep::Entries);
        let raw = match ScenarioFile::deserialize(toml::Deserializer::from(root)) {
            Ok(raw) => raw,
            Err(e) => {
                let first = SpanError { span: e.span(), message: plain::plain(e.message()) };
                let mut errors = match toml::de::DeTable::parse(text) {
                    Ok(root) => shape::item_errors(root.into_inner()),
                    Err(_) => Vec::new(),
                };
                if errors.is_empty() {
                    errors.push(first);
                }
                return Err(located(errors));
            }
        };
        step(LoadStep::Checks);
        let mut sc = validate::validate(raw, file, default_name).map_err(located)?;
        for e in &mut sc.expects {
            e.line = map.error(Some(e.offset..e.offset), "").line;
        }
        Ok(sc)
    }
}

/// The environment variable that raises the size limit of scenario files, in MB.
pub const MAX_SCENARIO_MB_VAR: &str = "NETLAB_MAX_SCENARIO_MB";

/// The largest scenario file `load` reads: 128 MB (about 4.9 million bare hosts), or
/// `NETLAB_MAX_SCENARIO_MB`.
fn max_scenario_bytes() -> u64 {
    let mb = std::env::var(MAX_SCENARIO_MB_VAR).ok().and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(128);
    mb.saturating_mul(1 << 20)
}

fn first(errors: Vec<ScenarioError>) -> ScenarioError {
    errors.into_iter().next().expect("a failure has at least one error")
}

// ------------------------------------------------------------------------------ live bridges

/// A live bridge: link `link` joins `node` (end a) to a stand-in node `peer_node` (end b) whose place
/// is taken by the world outside the process.
#[derive(Debug, Clone)]
pub struct BridgeDef {
    /// Its name (also the name of its link).
    pub name: String,
    /// The link that joins `node` to the stand-in.
    pub link: LinkId,
    /// The simulated node the bridge is attached to.
    pub node: NodeId,
    /// The stand-in node at end b of the link (no stack of its own: its frames go outside).
    pub peer_node: NodeId,
    /// The address of the outside end, on the link's subnet.
    pub peer: Ipv4Addr,
    /// Prefixes behind the bridge, routed by `node` via `peer`.
    pub routes: Vec<Cidr>,
    /// How frames leave and enter the process.
    pub kind: BridgeKind,
}

/// How a live bridge reaches the world outside the process.
#[derive(Debug, Clone)]
pub enum BridgeKind {
    /// Ethernet frames as UDP datagrams between `local` and `remote`.
    Udp {
        /// The address the bridge's socket binds.
        local: std::net::SocketAddr,
        /// The address datagrams are sent to (the other netlab, or a tunnel endpoint); `None` for
        /// `remote = "learn"`: the source of the first datagram.
        remote: Option<std::net::SocketAddr>,
    },
    /// IP packets through a TUN device.
    Tun {
        /// The TUN device's name.
        device: String,
        /// Prefixes of the simulated network the kernel routes into the device.
        kernel_routes: Vec<Cidr>,
        /// Whether netlab sets the device's address and routes itself (default true).
        configure: bool,
    },
}
