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
pub mod schema;
pub(crate) mod validate;
pub mod values;

use crate::net::rules::PacketRule;
use crate::net::{Cidr, Impairments, LinkId, NodeId, TimedFault};
use crate::sim::{Duration, Instant};
use crate::stack::StackChoice;
use crate::tcp::TcpConfig;
pub use apps::AppRecipe;
pub use build::{BuildFailure, BuildOptions, OutputFiles};
pub use error::ScenarioError;
use error::SourceMap;
use schema::ScenarioFile;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

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
    /// The host's stack, when the scenario pins one (`None`: netlab's, unless `--stack` says else).
    pub stack: Option<StackChoice>,
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
        let mut sc = validate::validate(raw, file, default_name).map_err(|e| map.error(e.span, e.message))?;
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
    /// Ethernet frames as UDP datagrams between `local` and `remote` (None: `remote = "learn"`, the
    /// source of the first datagram).
    Udp { local: std::net::SocketAddr, remote: Option<std::net::SocketAddr> },
    /// IP packets through a TUN device.
    Tun { device: String, kernel_routes: Vec<Cidr>, configure: bool },
}
