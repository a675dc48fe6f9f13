//! The scenario file format. Every field is documented in `docs/scenario.md`; unknown fields are
//! rejected. Names are `Spanned` so that later checks (an unknown host, a duplicate name) can point at
//! the exact place in the file.

use super::values::{CidrStr, Dur, Ip, Prob, Rate};
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub simulation: Simulation,
    #[serde(default)]
    pub hosts: Vec<HostSpec>,
    #[serde(default)]
    pub routers: Vec<RouterSpec>,
    #[serde(default)]
    pub links: Vec<LinkSpec>,
    #[serde(default)]
    pub apps: Vec<AppSpec>,
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    #[serde(default)]
    pub captures: Vec<CaptureSpec>,
    #[serde(default)]
    pub expect: Vec<Spanned<ExpectSpec>>,
    /// Live bridges (src/bridge/): links whose far end is outside the process.
    #[serde(default)]
    pub bridges: Vec<BridgeSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Simulation {
    /// Defaults to the file name without `.toml`.
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The time limit (default 600s of simulated time).
    pub stop: Option<Spanned<Dur>>,
    /// Stop as soon as every application (except servers) has finished.
    #[serde(default)]
    pub stop_when_apps_done: bool,
    pub max_events: Option<u64>,
    /// Write the trace (default true).
    #[serde(default = "yes")]
    pub trace: bool,
    /// The trace's format: "binary" (`trace.nlt`, the default) or "jsonl" (`trace.jsonl`).
    pub trace_format: Option<Spanned<String>>,
    /// Which interfaces to capture: "hosts" (default: every host interface, plus [[captures]]),
    /// "all", "listed" (only [[captures]]), "none".
    pub capture: Option<Spanned<String>>,
    /// The captures' file format: "pcap" (default) or "pcapng" (with a comment on each frame
    /// saying what became of it).
    pub capture_format: Option<Spanned<String>>,
    /// Defaults for every host's TCP.
    pub tcp: Option<TcpSpec>,
}

fn default_seed() -> u64 {
    1
}
fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub prefix: Spanned<CidrStr>,
    pub via: Spanned<Ip>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub name: Spanned<String>,
    pub routes: Option<Vec<RouteSpec>>,
    /// Boxed: most hosts have none, and a million-host file should not pay for its size each.
    pub tcp: Option<Box<TcpSpec>>,
    /// The host's stack: "netlab" (default), "smoltcp", or `{ command = ["program", "arg", ...] }`.
    pub stack: Option<Spanned<StackSpec>>,
    /// `stack = "linux"` hosts: silence the kernel's own TCP on the host's interfaces (a raw-socket
    /// lab stack owns TCP there).
    pub lab_stack: Option<Spanned<bool>>,
}

/// `stack = "name"` or `stack = { command = [...], step_timeout = "5s" }`.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum StackSpec {
    /// A built-in stack by name.
    Name(String),
    /// An external process.
    Command {
        /// The program and its arguments.
        command: Vec<String>,
        /// Wall-clock time one step may take (default 5 s).
        step_timeout: Option<Dur>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSpec {
    pub name: Spanned<String>,
    pub routes: Option<Vec<RouteSpec>>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct TcpSpec {
    pub send_buffer: Option<usize>,
    pub recv_buffer: Option<usize>,
    pub mss: Option<u16>,
    pub nagle: Option<bool>,
    pub delayed_ack: Option<bool>,
    pub delayed_ack_timeout: Option<Dur>,
    pub sack: Option<bool>,
    pub window_scaling: Option<bool>,
    pub timestamps: Option<bool>,
    pub congestion: Option<Spanned<String>>,
    pub rto_min: Option<Dur>,
    pub rto_max: Option<Dur>,
    pub rto_initial: Option<Dur>,
    pub max_retransmissions: Option<u32>,
    pub max_syn_retransmissions: Option<u32>,
    pub msl: Option<Dur>,
    pub keepalive: Option<Dur>,
    pub initial_window: Option<u32>,
    pub dsack: Option<bool>,
    pub recovery: Option<Spanned<String>>,
    pub tlp: Option<bool>,
    pub undo: Option<bool>,
    pub frto: Option<bool>,
    pub prr: Option<bool>,
    pub hystart: Option<bool>,
    pub cwnd_growth: Option<Spanned<String>>,
    pub comp_sack_nr: Option<u32>,
    pub comp_sack_delay: Option<Dur>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub node: Spanned<String>,
    pub ip: Spanned<CidrStr>,
}

/// Bursty loss parameters (Gilbert-Elliott).
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct BurstLoss {
    /// good -> bad transition probability per packet.
    pub p: Prob,
    /// bad -> good transition probability per packet.
    pub r: Prob,
    #[serde(default)]
    pub loss_good: Option<Prob>,
    #[serde(default)]
    pub loss_bad: Option<Prob>,
}

/// Declares a struct with the impairment fields plus the given extra fields, so that a link, each of
/// its directions and a fault all accept exactly the same impairment keys.
macro_rules! with_impairments {
    ($(#[$m:meta])* $name:ident { $($extra:tt)* }) => {
        $(#[$m])*
        #[derive(Debug, Deserialize, Clone)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($extra)*
            pub delay: Option<Dur>,
            pub jitter: Option<Dur>,
            /// "uniform" (default) or "normal" (then `jitter` is the standard deviation).
            pub jitter_distribution: Option<Spanned<String>>,
            pub rate: Option<Rate>,
            pub queue_packets: Option<usize>,
            pub queue_bytes: Option<usize>,
            pub mtu: Option<Spanned<usize>>,
            pub loss: Option<Prob>,
            pub burst_loss: Option<BurstLoss>,
            pub reorder: Option<Prob>,
            pub reorder_delay: Option<Dur>,
            pub duplicate: Option<Prob>,
            pub duplicate_delay: Option<Dur>,
            pub corrupt: Option<Prob>,
        }
        impl $name {
            /// Names of the impairment fields that were given.
            pub fn given_impairments(&self) -> Vec<&'static str> {
                let mut v = Vec::new();
                if self.delay.is_some() { v.push("delay"); }
                if self.jitter.is_some() { v.push("jitter"); }
                if self.jitter_distribution.is_some() { v.push("jitter_distribution"); }
                if self.rate.is_some() { v.push("rate"); }
                if self.queue_packets.is_some() { v.push("queue_packets"); }
                if self.queue_bytes.is_some() { v.push("queue_bytes"); }
                if self.mtu.is_some() { v.push("mtu"); }
                if self.loss.is_some() { v.push("loss"); }
                if self.burst_loss.is_some() { v.push("burst_loss"); }
                if self.reorder.is_some() { v.push("reorder"); }
                if self.reorder_delay.is_some() { v.push("reorder_delay"); }
                if self.duplicate.is_some() { v.push("duplicate"); }
                if self.duplicate_delay.is_some() { v.push("duplicate_delay"); }
                if self.corrupt.is_some() { v.push("corrupt"); }
                v
            }
        }
    };
}

with_impairments!(
    /// A link: two endpoints, impairments for both directions, and optional per-direction overrides.
    LinkSpec {
        pub name: Spanned<String>,
        pub a: Endpoint,
        pub b: Endpoint,
        pub a_to_b: Option<DirSpec>,
        pub b_to_a: Option<DirSpec>,
    }
);
with_impairments!(
    /// Impairments of one direction, overriding the link's.
    DirSpec {}
);
with_impairments!(
    /// A fault: a timed change to a link ("down", "up", "set") or a packet-matching rule ("drop",
    /// "duplicate", "delay", "reorder", "corrupt" the packets that match).
    FaultSpec {
        pub at: Option<Spanned<Dur>>,
        pub link: Spanned<String>,
        pub action: Spanned<String>,
        /// "a->b" or "b->a"; both when absent.
        pub dir: Option<Spanned<String>>,
        #[serde(rename = "match")]
        pub matcher: Option<Spanned<MatchSpec>>,
        /// Act on the nth matching packet (default 1)...
        pub nth: Option<u64>,
        /// ...and on this many in total (default 1; 0 = every one from the nth on).
        pub count: Option<u64>,
        /// For "reorder": the longest a packet is held waiting for another to pass it (default 1s).
        pub hold: Option<Dur>,
        /// For "forge-rst": how far beyond the matching segment's sequence number the RST's lies.
        pub seq_offset: Option<u32>,
    }
);

/// Which packets a fault rule acts on; every field given must match.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    /// "tcp", "udp", "icmp" or "arp".
    pub protocol: Option<Spanned<String>>,
    /// Source / destination: a node name (its first address) or an IPv4 address.
    pub src: Option<Spanned<String>>,
    pub dst: Option<Spanned<String>>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    /// TCP flags that must be set, e.g. "FIN" or "SYN|ACK".
    pub flags: Option<Spanned<String>>,
    /// TCP flags that must be clear.
    pub not_flags: Option<Spanned<String>>,
    /// TCP payload length bounds (inclusive).
    pub min_len: Option<usize>,
    pub max_len: Option<usize>,
    /// Relative sequence number range [first, last] of the segment's first byte (SYN = 0).
    pub seq: Option<[u32; 2]>,
    /// Only packets sent at or after this time.
    pub after: Option<Dur>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureSpec {
    pub link: Spanned<String>,
    /// The node at the end to capture; both ends when absent.
    pub at: Option<Spanned<String>>,
}

/// An application. `kind` decides which of the other fields apply.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    pub kind: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub host: Spanned<String>,
    pub start: Option<Dur>,
    // ping / traceroute
    pub to: Option<Spanned<String>>,
    pub count: Option<u16>,
    pub interval: Option<Dur>,
    pub size: Option<usize>,
    pub ttl: Option<u8>,
    pub wait: Option<Dur>,
    pub max_hops: Option<u8>,
    // TCP applications
    pub port: Option<u16>,
    pub messages: Option<usize>,
    /// echo-client: the lines to send (instead of the rotated alphabet).
    pub lines: Option<Spanned<Vec<String>>>,
    pub bytes: Option<u64>,
    pub path: Option<String>,
    pub local_port: Option<u16>,
    /// echo-server: how long to stay in CLOSE-WAIT after the client's FIN before closing.
    pub close_delay: Option<Dur>,
    /// bulk: make the receiver a slow reader: pause this long after each read...
    pub read_pause: Option<Dur>,
    /// ...of at most this many bytes (default 1024).
    pub read_chunk: Option<usize>,
    /// bulk: "sha256" (default: both sides hash) or "compare" (the sink regenerates the seeded content
    /// and compares every byte; for benchmarks).
    pub verify: Option<Spanned<String>>,
    /// Servers: the listen backlog (default 128).
    pub backlog: Option<usize>,
    /// connections: how long to keep them all open.
    pub hold: Option<Dur>,
    /// bulk-sink: the name of the bulk app that sends to it from another netlab process with the same
    /// seed; the sink regenerates that app's content and checks the SHA-256 of what it received.
    pub expect_from: Option<Spanned<String>>,
    /// slow-reader: bytes read each time.
    pub chunk: Option<usize>,
    /// slow-reader: how often it reads.
    pub every: Option<Dur>,
    /// closing-server: "close", "half-close" or "abort".
    pub action: Option<Spanned<String>>,
    /// closing-server: act this long after accepting a connection...
    pub after: Option<Dur>,
    /// ...or once this many bytes were read from it.
    pub after_bytes: Option<u64>,
    /// syn-sent-closer: close this long after connecting (while still in SYN-SENT if unanswered).
    pub close_after: Option<Dur>,
    /// exec: the program, as a list (`["python3", "-c", "..."]`) or a shell command line (`sh -c`).
    pub command: Option<Spanned<CommandSpec>>,
    /// exec: its working directory.
    pub cwd: Option<String>,
    /// exec: variables added to its environment.
    pub env: Option<std::collections::BTreeMap<String, String>>,
    /// exec: text written to its standard input.
    pub stdin: Option<String>,
    /// exec: a server that runs until the end of the run (stopped then) and does not hold it open.
    pub daemon: Option<bool>,
}

/// `command = "shell line"` or `command = ["program", "arg", ...]`.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum CommandSpec {
    /// Run by `sh -c`.
    Shell(String),
    /// A program and its arguments.
    Argv(Vec<String>),
}

impl AppSpec {
    /// The optional fields present in this entry (besides kind, name, host and start).
    pub fn given_fields(&self) -> Vec<&'static str> {
        let given: [(&str, bool); 31] = [
            ("command", self.command.is_some()),
            ("cwd", self.cwd.is_some()),
            ("env", self.env.is_some()),
            ("stdin", self.stdin.is_some()),
            ("daemon", self.daemon.is_some()),
            ("lines", self.lines.is_some()),
            ("chunk", self.chunk.is_some()),
            ("every", self.every.is_some()),
            ("action", self.action.is_some()),
            ("after", self.after.is_some()),
            ("after_bytes", self.after_bytes.is_some()),
            ("close_after", self.close_after.is_some()),
            ("expect_from", self.expect_from.is_some()),
            ("backlog", self.backlog.is_some()),
            ("hold", self.hold.is_some()),
            ("verify", self.verify.is_some()),
            ("local_port", self.local_port.is_some()),
            ("close_delay", self.close_delay.is_some()),
            ("read_pause", self.read_pause.is_some()),
            ("read_chunk", self.read_chunk.is_some()),
            ("port", self.port.is_some()),
            ("messages", self.messages.is_some()),
            ("bytes", self.bytes.is_some()),
            ("path", self.path.is_some()),
            ("to", self.to.is_some()),
            ("count", self.count.is_some()),
            ("interval", self.interval.is_some()),
            ("size", self.size.is_some()),
            ("ttl", self.ttl.is_some()),
            ("wait", self.wait.is_some()),
            ("max_hops", self.max_hops.is_some()),
        ];
        given.into_iter().filter(|(_, present)| *present).map(|(f, _)| f).collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnSelector {
    pub host: Spanned<String>,
    pub port: Option<u16>,
}

/// A check made at the end of the run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// Free text shown with the result.
    pub description: Option<String>,
    // What is measured: at most one of app / link / host / connection (none: the whole network).
    pub app: Option<Spanned<String>>,
    /// TCP connections of a host, optionally only those with this local or remote port.
    pub connection: Option<Spanned<ConnSelector>>,
    /// For a connection: it passes through these states in this order (others may come between).
    pub states: Option<Spanned<Vec<String>>>,
    pub link: Option<Spanned<String>>,
    pub host: Option<Spanned<String>>,
    /// For a link: "a->b" or "b->a"; both directions added when absent.
    pub dir: Option<Spanned<String>>,
    pub metric: Option<Spanned<String>>,
    pub equals: Option<f64>,
    pub at_least: Option<f64>,
    pub at_most: Option<f64>,
    /// For an app: it finished (true) or did not (false).
    pub finished: Option<bool>,
    /// For an app: one of its output lines contains this text.
    pub output_contains: Option<String>,
    /// For an app: it failed with an error containing this text.
    pub error_contains: Option<String>,
    /// For an exec app: the program's exit status (the metric `exit_code` equals this).
    pub exit_code: Option<Spanned<i32>>,
    /// Count only the packets (and the events about packets) that match, as in a packet rule.
    #[serde(rename = "match")]
    pub matcher: Option<Spanned<MatchSpec>>,
    /// Count only what happened at this time (give or take `tolerance`)...
    pub at: Option<Spanned<Dur>>,
    /// ...or in this window, both ends included.
    pub between: Option<Spanned<[Dur; 2]>>,
    /// How far from `at` (or outside `between`) still counts (default 0).
    pub tolerance: Option<Spanned<Dur>>,
    /// Check: this event never happens (in the window, if one is given).
    pub never: Option<Spanned<EventSpec>>,
    /// Check: these events happen in this order (others may come between).
    pub events: Option<Spanned<Vec<Spanned<EventSpec>>>>,
}

/// One event an expectation looks for: exactly one of the kinds, optionally when.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// A segment (connection) or frame (link, node) sent, matching this.
    pub sent: Option<Spanned<MatchSpec>>,
    /// A segment the connection received, or a frame a node received, matching this.
    pub received: Option<Spanned<MatchSpec>>,
    /// A segment the connection sent again (any reason but a window probe), matching this.
    pub retransmitted: Option<Spanned<MatchSpec>>,
    /// A frame a link delivered, matching this.
    pub delivered: Option<Spanned<MatchSpec>>,
    /// A frame a link or node dropped, matching this.
    pub dropped: Option<Spanned<MatchSpec>>,
    /// The connection entered this TCP state.
    pub state: Option<Spanned<String>>,
    /// When: at this time (give or take `tolerance`)...
    pub at: Option<Spanned<Dur>>,
    /// ...or in this window, both ends included.
    pub between: Option<Spanned<[Dur; 2]>>,
    /// How far from `at` (or outside `between`) still counts (default 0).
    pub tolerance: Option<Spanned<Dur>>,
}

with_impairments!(
    /// A live bridge: a link from `node` to the world outside the process, with the usual impairments.
    /// `kind = "tun"`: the far end is the kernel, through a TUN device; `kind = "udp"`: the far end is
    /// another netlab process, Ethernet frames travelling as UDP datagrams.
    BridgeSpec {
        pub name: Spanned<String>,
        pub kind: Spanned<String>,
        /// The simulated node (host or router) attached to the bridge, and its address there.
        pub node: Spanned<String>,
        pub ip: Spanned<CidrStr>,
        /// The far side's address on the bridge's subnet (tun: the device's address; udp: the other
        /// process's interface address). The gateway of `routes`.
        pub peer: Spanned<Ip>,
        /// Prefixes behind the bridge: `node` routes them via `peer`.
        pub routes: Option<Vec<Spanned<CidrStr>>>,
        /// udp: the local and remote socket addresses ("127.0.0.1:40001"); `remote = "learn"` takes
        /// the source of the first datagram (as the CS144 relay does).
        pub local: Option<Spanned<String>>,
        pub remote: Option<Spanned<String>>,
        /// tun: the device name (default: the bridge's name).
        pub device: Option<Spanned<String>>,
        /// tun: prefixes the kernel routes into the device (the simulated subnets it should reach).
        pub kernel_routes: Option<Vec<Spanned<CidrStr>>>,
        /// tun: create and configure the device (default true; needs root). With false, netlab attaches
        /// to a device made beforehand (`ip tuntap add ... mode tun`) and leaves its configuration alone.
        pub configure: Option<bool>,
        /// Per-direction overrides, as on a link: `a` is `node`'s side, `b` the far side (outside).
        pub a_to_b: Option<DirSpec>,
        pub b_to_a: Option<DirSpec>,
    }
);
