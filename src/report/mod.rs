//! The result of a run: what happened on every link and node, what the applications said, which
//! expectations held. `summary.json` is this, serialized; the terminal summary is its human form.
//! Everything here is a pure function of the scenario and the seed (no wall-clock figures), so two
//! runs with the same seed give byte-identical summaries.

pub mod plot;

use crate::scenario::Scenario;
use crate::scenario::expect::{ExpectResult, evaluate};
use crate::trace::conn::{ConnSummary, state_name};
use crate::world::{AppReport, LinkReport, NodeReport, NodeRoutes, RunOutcome, StopReason, World};
use serde::Serialize;
use std::fmt::Write as _;

/// The console lists at most this many connections (summary.json has all of them): a run with
/// thousands of connections would otherwise print megabytes nobody reads.
const CONSOLE_CONNECTIONS: usize = 40;

/// Everything a run produced (`summary.json`).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file.
    pub file: String,
    /// The seed the run used.
    pub seed: u64,
    /// Why and when the run stopped.
    pub outcome: RunOutcome,
    /// Every link's counters, in the scenario's order.
    pub links: Vec<LinkReport>,
    /// Every node's counters, in the scenario's order.
    pub nodes: Vec<NodeReport>,
    /// Every node's routing table, in the scenario's order (`netlab routes` prints them).
    pub routes: Vec<NodeRoutes>,
    /// Every TCP connection (listeners excluded), in (host, socket) order.
    pub connections: Vec<ConnSummary>,
    /// What every application reported, in the order they were spawned.
    pub apps: Vec<AppReport>,
    /// The outcome of every expectation, in file order.
    pub expectations: Vec<ExpectResult>,
    /// Whether every expectation held.
    pub passed: bool,
    /// Events the trace saw (written to `trace.jsonl` or not).
    pub trace_events: u64,
}

impl RunReport {
    /// The report of `world` after its run of `scenario` with `seed`; evaluates the expectations.
    pub fn collect(scenario: &Scenario, seed: u64, world: &World, outcome: RunOutcome) -> RunReport {
        let expectations = evaluate(&scenario.expects, world);
        let passed = expectations.iter().all(|e| e.passed);
        RunReport {
            scenario: scenario.name.clone(),
            file: scenario.file.clone(),
            seed,
            outcome,
            links: world.links(),
            nodes: world.nodes(),
            routes: world.routes(),
            connections: world.connections(),
            apps: world.apps(),
            expectations,
            passed,
            trace_events: world.trace_events(),
        }
    }

    /// Routing tables as `netlab routes` prints them (of `only` that node, if given): per node, one
    /// line per route: prefix, next hop, interface and link, origin.
    pub fn render_routes(routes: &[NodeRoutes], only: Option<&str>) -> String {
        let mut s = String::new();
        for n in routes.iter().filter(|n| only.is_none_or(|o| o == n.node)) {
            let kind = if n.router { "router" } else { "host" };
            let _ = writeln!(s, "{} ({kind})", n.node);
            let _ = writeln!(s, "  {:<20} {:<16} {:<16} origin", "destination", "next hop", "interface");
            for r in &n.routes {
                let via = r.via.map_or("direct".to_string(), |v| v.to_string());
                let iface = format!("eth{} ({})", r.iface, r.link);
                let _ = writeln!(s, "  {:<20} {via:<16} {iface:<16} {}", r.prefix, r.origin.name());
            }
        }
        s
    }

    /// The human-readable summary. `wall` is the wall-clock time of the run in seconds, if known.
    pub fn render(&self, wall: Option<f64>) -> String {
        let mut s = String::new();
        let o = &self.outcome;
        let reason = match o.reason {
            StopReason::Idle => "nothing left to happen",
            StopReason::AppsFinished => "all applications finished",
            StopReason::TimeLimit => "TIME LIMIT reached",
            StopReason::EventBudget => "EVENT BUDGET used up",
            StopReason::Interrupted => "interrupted (Ctrl-C)",
            StopReason::StackFailed => "STACK UNDER TEST FAILED",
        };
        let _ = writeln!(
            s,
            "scenario {} (seed {}): stopped at {} s simulated: {reason}",
            self.scenario, self.seed, o.sim_time
        );
        if let Some(e) = &o.error {
            let _ = writeln!(s, "  error: {e}");
        }
        let sim_s = o.sim_time.as_secs_f64();
        match wall {
            Some(w) => {
                let ratio = if w > 0.0 { sim_s / w } else { f64::INFINITY };
                let eps = if w > 0.0 { o.events as f64 / w } else { f64::INFINITY };
                let _ = writeln!(
                    s,
                    "  {} events in {w:.3} s wall ({:.2} M events/s); simulated/wall = {ratio:.1}x",
                    o.events,
                    eps / 1e6
                );
            }
            None => {
                let _ = writeln!(s, "  {} events", o.events);
            }
        }
        if !o.unfinished.is_empty() {
            let _ = writeln!(s, "  unfinished applications: {}", o.unfinished.join(", "));
        }
        for n in &self.nodes {
            if let Some(steps) = n.stack_steps {
                let _ = writeln!(s, "  stack under test on {}: {steps} steps (request/answer exchanges)", n.name);
            }
        }
        let _ =
            writeln!(s, "\nlinks                          sent  delivered   dropped  dup  reord  corrupt  drop causes");
        for l in &self.links {
            for (dir, st, from, to) in [("a->b", &l.a_to_b, &l.a, &l.b), ("b->a", &l.b_to_a, &l.b, &l.a)] {
                let causes: Vec<String> = st
                    .dropped
                    .iter()
                    .map(|(c, n)| {
                        format!(
                            "{}={n}",
                            serde_json::to_value(c).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
                        )
                    })
                    .collect();
                let label = format!("{} {dir} ({from}->{to})", l.name);
                let _ = writeln!(
                    s,
                    "  {label:<26} {:>8} {:>10} {:>9} {:>4} {:>6} {:>8}  {}",
                    st.sent,
                    st.delivered,
                    st.dropped_total(),
                    st.duplicated,
                    st.reordered,
                    st.corrupted,
                    causes.join(" ")
                );
            }
        }
        let busy: Vec<&NodeReport> =
            self.nodes.iter().filter(|n| !n.stats.dropped.is_empty() || n.stats.icmp_errors_sent > 0).collect();
        if !busy.is_empty() {
            let _ = writeln!(s, "\nnodes");
            for n in busy {
                let causes: Vec<String> = n
                    .stats
                    .dropped
                    .iter()
                    .map(|(c, k)| {
                        format!(
                            "{}={k}",
                            serde_json::to_value(c).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
                        )
                    })
                    .collect();
                let _ = writeln!(
                    s,
                    "  {:<10} icmp errors sent {} (time exceeded {}, unreachable {}); dropped: {}",
                    n.name,
                    n.stats.icmp_errors_sent,
                    n.stats.time_exceeded_sent,
                    n.stats.unreachable_sent,
                    if causes.is_empty() { "none".to_string() } else { causes.join(" ") }
                );
            }
        }
        if !self.connections.is_empty() {
            let _ = writeln!(s, "\nTCP connections");
            for c in self.connections.iter().take(CONSOLE_CONNECTIONS) {
                let addr = |a: Option<std::net::SocketAddrV4>| a.map_or("?".to_string(), |a| a.to_string());
                let path: Vec<&str> = c.states.iter().map(|(_, st)| state_name(*st)).collect();
                let how = if c.observed { " (observed on the wire)" } else { "" };
                let _ = writeln!(s, "  {} {} -> {}: {}{how}", c.host, addr(c.local), addr(c.remote), path.join(" > "));
                let ms = |d: Option<crate::sim::Duration>| {
                    d.map_or("-".to_string(), |d| format!("{:.1} ms", d.as_nanos() as f64 / 1e6))
                };
                let _ = writeln!(
                    s,
                    "      sent {} segs / {} B, received {} segs / {} B, retransmissions {} (rto {}, fast {}, sack {}), rst sent {}, srtt {}, rto {}, cwnd {}, acked {} B at {:.3} Mbit/s{}",
                    c.segments_sent,
                    c.bytes_sent,
                    c.segments_received,
                    c.bytes_received,
                    c.retransmissions,
                    c.retransmissions_rto,
                    c.retransmissions_fast,
                    c.retransmissions_sack,
                    c.rsts_sent,
                    ms(c.srtt),
                    ms(c.rto),
                    c.cwnd.map_or("-".to_string(), |w| w.to_string()),
                    c.acked_bytes,
                    c.goodput_mbps,
                    c.error.as_ref().map_or(String::new(), |e| format!(", error: {e}"))
                );
            }
            if self.connections.len() > CONSOLE_CONNECTIONS {
                let more = &self.connections[CONSOLE_CONNECTIONS..];
                let failed = more.iter().filter(|c| c.error.is_some()).count();
                let _ = writeln!(
                    s,
                    "  ... and {} more ({failed} of them with an error); summary.json lists every connection",
                    more.len()
                );
            }
        }
        if !self.apps.is_empty() {
            let _ = writeln!(s, "\napplications");
            for a in &self.apps {
                let state = match (&a.error, a.finished) {
                    (Some(e), _) => format!("failed: {e}"),
                    (None, true) => {
                        format!("finished at {} s", a.finished_at.map(|t| t.to_string()).unwrap_or_default())
                    }
                    (None, false) if a.daemon => "serving".to_string(),
                    (None, false) => "NOT FINISHED".to_string(),
                };
                let _ = writeln!(s, "  {} ({} on {}): {state}", a.name, a.kind, a.host);
                for line in &a.output {
                    let _ = writeln!(s, "    | {line}");
                }
            }
        }
        if !self.expectations.is_empty() {
            let _ = writeln!(s, "\nexpectations");
            for e in &self.expectations {
                let _ = writeln!(
                    s,
                    "  {}  line {:>3}: {}  ({})",
                    if e.passed { "PASS" } else { "FAIL" },
                    e.line,
                    e.description,
                    e.actual
                );
            }
            let failed = self.expectations.iter().filter(|e| !e.passed).count();
            let _ = writeln!(s, "  {} passed, {} failed", self.expectations.len() - failed, failed);
        }
        s
    }
}
