//! Building a world from a validated scenario: nodes, links, faults, rules, bridges' wiring, captures
//! and the trace (into files the caller's `OutputFiles` creates), and every application.

use super::{BridgeKind, Scenario};
use crate::wire::MacAddr;
use crate::world::{World, WorldBuilder};

impl Scenario {
    /// Builds the world: topology, faults, apps, and (when `files` is given) captures and the trace
    /// written to the files it creates. Building opens no files itself and starts no threads.
    pub fn build(&self, opts: &BuildOptions, files: Option<&mut dyn OutputFiles>) -> Result<World, BuildFailure> {
        let seed = opts.seed.unwrap_or(self.seed);
        let mut b = WorldBuilder::new(seed);
        for n in &self.nodes {
            let stack = n.stack.as_ref().or(opts.stack.as_ref()).filter(|s| !s.is_netlab());
            let id = match (n.router, stack) {
                (true, _) => b.router(&n.name),
                (false, None) => b.host(&n.name, n.tcp.clone()),
                (false, Some(choice)) => {
                    let key = crate::world::host_key(seed, &n.name);
                    let stack = choice.make(&n.name, key, &n.tcp).map_err(|e| BuildFailure::Stack(e.to_string()))?;
                    b.host_with_stack(&n.name, n.tcp.clone(), stack)
                }
            };
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
        b.keep_event_log(self.expects.iter().any(|e| e.needs_log()));
        for br in &self.bridges {
            b.external(br.link, 1);
            if matches!(br.kind, BridgeKind::Udp { .. }) {
                // Frames of two processes meet on this wire: give the interface a MAC derived from
                // its (unique) address rather than from the node's index in its own process.
                let o = self.links[br.link].ends[0].1.addr.octets();
                b.mac(br.link, 0, MacAddr([0x02, 0x4e, o[0], o[1], o[2], o[3]]));
            }
        }
        for h in &self.netns {
            for i in &h.ifaces {
                b.external(i.link, i.side);
                b.mac(i.link, i.side, i.mac);
            }
        }
        if let Some(files) = files {
            if opts.captures {
                let format = opts.capture_format.unwrap_or(self.capture_format);
                for &(link, side) in &self.captures {
                    let l = &self.links[link];
                    let node = &self.nodes[l.ends[side].0].name;
                    let file = format!("{}-{}.{}", l.name, node, format.extension());
                    let out = files.create(&file).map_err(BuildFailure::Io)?;
                    match format {
                        CaptureFormat::Pcap => b.capture(link, side, out),
                        CaptureFormat::Pcapng => b.capture_pcapng(link, side, out),
                    }
                    .map_err(|e| BuildFailure::Io(e.to_string()))?;
                }
            }
            if self.trace && opts.trace {
                if self.trace_jsonl {
                    b.trace_to(files.create("trace.jsonl").map_err(BuildFailure::Io)?);
                } else {
                    b.trace_binary_to(files.create(crate::trace::binary::FILE_NAME).map_err(BuildFailure::Io)?);
                }
            }
        }
        for br in &self.bridges {
            for prefix in &br.routes {
                b.fallback_route(br.node, br.link, *prefix, br.peer);
            }
        }
        let mut world = b.build().map_err(|e| BuildFailure::Topology(e.to_string()))?;
        for app in &self.apps {
            app.recipe.spawn(&mut world, app, seed);
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
    /// A stack under test could not be started.
    #[error("{0}")]
    Stack(String),
}

/// Where a built world writes its captures and trace: `create(file_name)` gives a writer for
/// each file (`<link>-<node>.pcap` or `.pcapng`, `trace.jsonl`), or a message saying why it could not.
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
    /// Overrides the scenario's capture format (`netlab run --capture-format`).
    pub capture_format: Option<CaptureFormat>,
    /// Write the trace (if the scenario does not turn it off).
    pub trace: bool,
    /// Keep per-connection summaries from the TCP events (off only for benchmarks).
    pub keep_tcp_events: bool,
    /// The stack of every host whose scenario entry does not pin one (`netlab run --stack`).
    pub stack: Option<crate::stack::StackChoice>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            seed: None,
            out_dir: None,
            captures: true,
            capture_format: None,
            trace: true,
            keep_tcp_events: true,
            stack: None,
        }
    }
}

/// The file format of captures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic pcap (the default): what every tool reads.
    #[default]
    Pcap,
    /// pcapng, each frame with comments saying what became of it and the trace's frame id as its
    /// packet id (Wireshark's `frame.comment` and `frame.packet_id`).
    Pcapng,
}

impl CaptureFormat {
    /// The format named `s` ("pcap" or "pcapng").
    pub fn parse(s: &str) -> Option<CaptureFormat> {
        match s {
            "pcap" => Some(CaptureFormat::Pcap),
            "pcapng" => Some(CaptureFormat::Pcapng),
            _ => None,
        }
    }
    /// `--capture-format`'s parser.
    pub fn parse_cli(s: &str) -> Result<CaptureFormat, String> {
        CaptureFormat::parse(s).ok_or_else(|| format!("expected \"pcap\" or \"pcapng\", found \"{s}\""))
    }
    /// The file name extension of its files.
    pub fn extension(self) -> &'static str {
        match self {
            CaptureFormat::Pcap => "pcap",
            CaptureFormat::Pcapng => "pcapng",
        }
    }
}
