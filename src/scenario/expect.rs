//! Expectations: checks made at the end of a run. A failed one says what was expected and what
//! happened. All figures come from the trace counters and the applications' reports.

use super::error::{SpanError, at};
use super::expect_filter::{EventPat, Filter};
use super::schema::ExpectSpec;
use super::suggest;
use crate::net::{Dir, LinkDropCause, NodeDropCause, NodeId};
use crate::tcp::TcpState;
use crate::trace::conn::{CONN_METRICS, ConnSummary, parse_state, state_name};
use crate::trace::{LinkDirStats, NodeStats};
use crate::world::World;
use toml::Spanned;

/// What an expectation is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// An application, by name (the world may run helper apps, e.g. a bulk transfer's sink).
    App(String),
    /// A link, in one direction or (`None`) both added together.
    Link(usize, Option<Dir>),
    /// A node's counters.
    Host(NodeId),
    /// TCP connections (not listeners) on a node, with this local or remote port if given.
    Connection(NodeId, Option<u16>),
    /// The whole network.
    Network,
}

/// What an expectation checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// A metric of the target lies within the bounds (both inclusive, either may be absent).
    Metric {
        /// The metric's name (see the `*_METRICS` lists and the app kinds' metrics).
        metric: String,
        /// Smallest value that passes.
        min: Option<f64>,
        /// Largest value that passes.
        max: Option<f64>,
    },
    /// The application finished without an error (`true`), or did not finish (`false`).
    Finished(bool),
    /// A line the application printed contains this text.
    OutputContains(String),
    /// The application failed with an error containing this text.
    ErrorContains(String),
    /// Some connection of the target went through these states, in this order (others may come between).
    States(Vec<TcpState>),
    /// The event never happens (in its window and the expectation's).
    Never(EventPat),
    /// The events happen in this order (others may come between), each in its window.
    Events(Vec<EventPat>),
}

/// One `[[expect]]` of a scenario, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// Byte offset in the file (the line is filled in by the loader).
    pub offset: usize,
    /// 1-based line in the file.
    pub line: usize,
    /// What it expects, in words (for the report).
    pub description: String,
    /// What it is about.
    pub target: Target,
    /// The target as written in the file.
    pub target_name: String,
    /// What it checks.
    pub check: Check,
    /// Which packets and times it counts (empty: all of them).
    pub filter: Filter,
}

impl Expect {
    /// Whether checking it needs the run's events kept in memory (`Tracer::log`).
    pub fn needs_log(&self) -> bool {
        !self.filter.is_empty() || matches!(self.check, Check::Never(_) | Check::Events(_))
    }
}

/// The outcome of one expectation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExpectResult {
    /// 1-based line of the `[[expect]]` in the scenario.
    pub line: usize,
    /// What was expected, in words.
    pub description: String,
    /// Whether it held.
    pub passed: bool,
    /// What was measured, in words (e.g. "retransmissions = 42", "still running when the run stopped").
    pub detail: String,
    /// For a metric check: the metric's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// For a metric check: the bound it is held to, as "==", ">=" or "<=" (for a range, the bound
    /// that failed; a range that held has "between" and no `expected`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<&'static str>,
    /// For a metric check: the bound's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<f64>,
    /// For a metric check: the value measured (absent when there was nothing to measure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<f64>,
}

/// A metric check's metric, comparison, bound and measured value.
type Measured = (String, &'static str, Option<f64>, Option<f64>);

/// The bound a metric check is reported against: the one that failed, or the only one, or "=="
/// for `equals`; "between" (no single bound) for a range that held.
fn bound(min: Option<f64>, max: Option<f64>, value: Option<f64>) -> (&'static str, Option<f64>) {
    match (min, max) {
        (Some(a), Some(b)) if a == b => ("==", Some(a)),
        (Some(a), _) if value.is_some_and(|v| v < a) => (">=", Some(a)),
        (_, Some(b)) if value.is_some_and(|v| v > b) => ("<=", Some(b)),
        (Some(a), None) => (">=", Some(a)),
        (None, Some(b)) => ("<=", Some(b)),
        _ => ("between", None),
    }
}

const LINK_METRICS: &[&str] = &[
    "sent",
    "delivered",
    "sent_bytes",
    "delivered_bytes",
    "dropped",
    "dropped_queue",
    "dropped_loss",
    "dropped_down",
    "dropped_mtu",
    "dropped_fault",
    "duplicated",
    "reordered",
    "corrupted",
];

const HOST_METRICS: &[&str] = &[
    "dropped",
    "dropped_malformed",
    "dropped_bad_ip_checksum",
    "dropped_bad_checksum",
    "dropped_not_for_us",
    "dropped_not_forwarding",
    "dropped_no_route",
    "dropped_ttl_expired",
    "dropped_too_big",
    "dropped_arp_timeout",
    "dropped_arp_queue_full",
    "dropped_no_listener",
    "dropped_unsupported",
    "icmp_errors_sent",
    "time_exceeded_sent",
    "unreachable_sent",
    "arp_requests",
    "arp_replies",
    "tcp_events",
    "rsts_sent",
];

/// The metrics each application kind reports (from its registration in `scenario::apps`).
pub fn app_metrics(kind: &str) -> &'static [&'static str] {
    super::apps::kind(kind).map_or(&[], |k| k.metrics)
}

/// Metrics of the whole network (an `[[expect]]` without a target).
pub const NETWORK_METRICS: &[&str] = &[
    "connections",
    "open_connections",
    "retransmissions",
    "rsts_sent",
    "challenge_acks",
    "dropped",
    "apps_finished",
    "apps_failed",
    "apps_unfinished",
];

/// Checks one `[[expect]]` against the scenario's nodes, links and applications.
pub(crate) fn validate(
    e: &Spanned<ExpectSpec>,
    names: &super::validate::Names,
    link_defs: &[crate::scenario::LinkDef],
    apps: &[(String, &'static str)],
) -> Result<Expect, SpanError> {
    let links: Vec<&String> = link_defs.iter().map(|l| &l.name).collect();
    let span = e.span();
    let s = e.get_ref();
    let targets = [s.app.is_some(), s.link.is_some(), s.host.is_some(), s.connection.is_some()];
    if targets.iter().filter(|x| **x).count() > 1 {
        return at(span, "expected at most one of `app`, `link`, `host` or `connection` in an [[expect]]");
    }
    let node = |h: &Spanned<String>| super::validate::resolve_node(names, h, "host or router");
    let (target, target_name, allowed): (Target, String, &[&str]) = if let Some(a) = &s.app {
        let Some(i) = apps.iter().position(|(n, _)| n == a.get_ref()) else {
            let known = || apps.iter().map(|(n, _)| n.as_str());
            let msg = format!(
                "expected the name of an application; \"{}\" is not defined{} (applications: {})",
                a.get_ref(),
                suggest::did_you_mean(a.get_ref(), known()),
                suggest::list(known())
            );
            return at(a.span(), msg);
        };
        (Target::App(a.get_ref().clone()), format!("app {}", a.get_ref()), app_metrics(apps[i].1))
    } else if let Some(l) = &s.link {
        let Some(i) = links.iter().position(|n| *n == l.get_ref()) else {
            let known = || links.iter().map(|n| n.as_str());
            let msg = format!(
                "expected the name of a link; \"{}\" is not defined{} (links: {})",
                l.get_ref(),
                suggest::did_you_mean(l.get_ref(), known()),
                suggest::list(known())
            );
            return at(l.span(), msg);
        };
        let dir = s.dir.as_ref().map(super::validate::parse_dir).transpose()?;
        let name = match dir {
            Some(d) => format!("link {} {}", l.get_ref(), d.as_str()),
            None => format!("link {}", l.get_ref()),
        };
        (Target::Link(i, dir), name, LINK_METRICS)
    } else if let Some(h) = &s.host {
        (Target::Host(node(h)?), format!("node {}", h.get_ref()), HOST_METRICS)
    } else if let Some(c) = &s.connection {
        let c = c.get_ref();
        let name = match c.port {
            Some(p) => format!("connection on {} port {p}", c.host.get_ref()),
            None => format!("connections of {}", c.host.get_ref()),
        };
        (Target::Connection(node(&c.host)?, c.port), name, &CONN_METRICS[..])
    } else {
        (Target::Network, "network".to_string(), NETWORK_METRICS)
    };
    if s.dir.is_some() && !matches!(target, Target::Link(..)) {
        return at(s.dir.as_ref().map_or(span.clone(), |d| d.span()), "expected `dir` only with `link`");
    }
    let comparisons = s.equals.is_some() || s.at_least.is_some() || s.at_most.is_some();
    let kinds = [
        s.metric.is_some(),
        s.finished.is_some(),
        s.output_contains.is_some(),
        s.states.is_some(),
        s.error_contains.is_some(),
        s.exit_code.is_some(),
        s.never.is_some(),
        s.events.is_some(),
    ];
    if kinds.iter().filter(|x| **x).count() != 1 {
        let msg = "expected exactly one of `metric` (with equals / at_least / at_most), `finished`, `output_contains`, `exit_code`, `states`, `never` or `events`";
        return at(span, msg);
    }
    let check = if let Some(m) = &s.metric {
        if !allowed.contains(&m.get_ref().as_str()) {
            let hint = suggest::did_you_mean(m.get_ref(), allowed.iter().copied());
            let msg =
                format!("expected a metric of {target_name} ({}), found \"{}\"{hint}", allowed.join(", "), m.get_ref());
            return at(m.span(), msg);
        }
        if !comparisons {
            return at(m.span(), "expected a comparison with the metric: `equals`, `at_least` and/or `at_most`");
        }
        if s.equals.is_some() && (s.at_least.is_some() || s.at_most.is_some()) {
            return at(span, "expected either `equals` or `at_least`/`at_most`, not both");
        }
        let (min, max) = match s.equals {
            Some(v) => (Some(v), Some(v)),
            None => (s.at_least, s.at_most),
        };
        Check::Metric { metric: m.get_ref().clone(), min, max }
    } else if comparisons {
        return at(span, "expected `equals`/`at_least`/`at_most` only together with `metric`");
    } else if let Some(c) = &s.exit_code {
        if !allowed.contains(&"exit_code") {
            return at(c.span(), "expected `exit_code` only with an exec `app`");
        }
        let v = f64::from(*c.get_ref());
        Check::Metric { metric: "exit_code".to_string(), min: Some(v), max: Some(v) }
    } else if let Some(f) = s.finished {
        if !matches!(target, Target::App(_)) {
            return at(span, "expected `finished` only with `app`");
        }
        Check::Finished(f)
    } else if let Some(t) = &s.error_contains {
        if !matches!(target, Target::App(_)) {
            return at(span, "expected `error_contains` only with `app`");
        }
        Check::ErrorContains(t.clone())
    } else if let Some(st) = &s.states {
        if !matches!(target, Target::Connection(..)) {
            return at(st.span(), "expected `states` only with `connection`");
        }
        let mut v = Vec::new();
        for name in st.get_ref() {
            match parse_state(name) {
                Some(x) => v.push(x),
                None => {
                    let msg =
                        format!("expected TCP state names such as \"ESTABLISHED\" or \"TIME-WAIT\", found \"{name}\"");
                    return at(st.span(), msg);
                }
            }
        }
        if v.is_empty() {
            return at(st.span(), "expected at least one state");
        }
        Check::States(v)
    } else if let Some(n) = &s.never {
        Check::Never(super::expect_filter::event_pat(n, &target, &target_name, names, link_defs)?)
    } else if let Some(list) = &s.events {
        let pats = list
            .get_ref()
            .iter()
            .map(|e| super::expect_filter::event_pat(e, &target, &target_name, names, link_defs))
            .collect::<Result<Vec<_>, _>>()?;
        if pats.is_empty() {
            return at(list.span(), "expected at least one event, e.g. events = [{ sent = { flags = \"SYN\" } }]");
        }
        Check::Events(pats)
    } else {
        if !matches!(target, Target::App(_)) {
            return at(span, "expected `output_contains` only with `app`");
        }
        Check::OutputContains(s.output_contains.clone().unwrap_or_default())
    };
    let filter = super::expect_filter::filter(s, span.clone(), &target, s.metric.as_ref(), names, link_defs)?;
    let narrowed = {
        let m = filter.matcher.as_ref().map(|m| format!(" [{}]", super::expect_filter::describe(m)));
        let w = filter.window.as_ref().map(|w| format!(" {}", w.describe()));
        format!("{}{}", m.unwrap_or_default(), w.unwrap_or_default())
    };
    let description = s.description.clone().unwrap_or_else(|| match &check {
        Check::Metric { metric, min, max } => {
            let cmp = match (min, max) {
                (Some(a), Some(b)) if a == b => format!("= {a}"),
                (Some(a), Some(b)) => format!("in [{a}, {b}]"),
                (Some(a), None) => format!(">= {a}"),
                (None, Some(b)) => format!("<= {b}"),
                (None, None) => String::new(),
            };
            format!("{target_name}: {metric}{narrowed} {cmp}")
        }
        Check::Finished(true) => format!("{target_name} finishes"),
        Check::Finished(false) => format!("{target_name} does not finish"),
        Check::OutputContains(t) => format!("{target_name} prints \"{t}\""),
        Check::ErrorContains(t) => format!("{target_name} fails with \"{t}\""),
        Check::States(v) => {
            let names: Vec<&str> = v.iter().map(|s| state_name(*s)).collect();
            format!("{target_name} passes through {}{narrowed}", names.join(" -> "))
        }
        Check::Never(p) => format!("{target_name}: never {}{narrowed}", p.text),
        Check::Events(v) => {
            let texts: Vec<&str> = v.iter().map(|p| p.text.as_str()).collect();
            format!("{target_name}: in order: {}{narrowed}", texts.join("; "))
        }
    });
    Ok(Expect { offset: span.start, line: 0, description, target, target_name, check, filter })
}

/// True when `want` appears in `have` in order (other states may come between).
fn passes_through(have: &[TcpState], want: &[TcpState]) -> bool {
    let mut it = have.iter();
    want.iter().all(|w| it.any(|h| h == w))
}

fn states_str(c: &ConnSummary) -> String {
    let v: Vec<&str> = c.states.iter().map(|(_, s)| state_name(*s)).collect();
    v.join(" -> ")
}

fn link_metric(s: &LinkDirStats, metric: &str) -> f64 {
    let drop = |c| s.dropped.get(&c).copied().unwrap_or(0);
    (match metric {
        "sent" => s.sent,
        "delivered" => s.delivered,
        "sent_bytes" => s.sent_bytes,
        "delivered_bytes" => s.delivered_bytes,
        "dropped" => s.dropped_total(),
        "dropped_queue" => drop(LinkDropCause::Queue),
        "dropped_loss" => drop(LinkDropCause::Loss),
        "dropped_down" => drop(LinkDropCause::Down),
        "dropped_mtu" => drop(LinkDropCause::Mtu),
        "dropped_fault" => drop(LinkDropCause::Fault),
        "duplicated" => s.duplicated,
        "reordered" => s.reordered,
        "corrupted" => s.corrupted,
        _ => 0,
    }) as f64
}

fn node_metric(s: &NodeStats, metric: &str) -> f64 {
    use NodeDropCause::*;
    let drop = |c| s.dropped.get(&c).copied().unwrap_or(0);
    (match metric {
        "dropped" => s.dropped.values().sum(),
        "dropped_malformed" => drop(Malformed),
        "dropped_bad_ip_checksum" => drop(BadIpChecksum),
        "dropped_bad_checksum" => drop(BadChecksum),
        "dropped_not_for_us" => drop(NotForUs),
        "dropped_not_forwarding" => drop(NotForwarding),
        "dropped_no_route" => drop(NoRoute),
        "dropped_ttl_expired" => drop(TtlExpired),
        "dropped_too_big" => drop(TooBig),
        "dropped_arp_timeout" => drop(ArpTimeout),
        "dropped_arp_queue_full" => drop(ArpQueueFull),
        "dropped_no_listener" => drop(NoListener),
        "dropped_unsupported" => drop(Unsupported),
        "icmp_errors_sent" => s.icmp_errors_sent,
        "time_exceeded_sent" => s.time_exceeded_sent,
        "unreachable_sent" => s.unreachable_sent,
        "arp_requests" => s.arp_requests,
        "arp_replies" => s.arp_replies,
        "tcp_events" => s.tcp_events,
        "rsts_sent" => s.rsts_sent,
        _ => 0,
    }) as f64
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v:.3}") }
}

/// Checks every expectation against a finished run.
/// Checks every expectation against a world after its run.
pub fn evaluate(expects: &[Expect], world: &World) -> Vec<ExpectResult> {
    let t = world.observed();
    let apps = world.apps();
    expects
        .iter()
        .map(|e| {
            let app = |name: &String| apps.iter().find(|a| &a.name == name).expect("validated app name");
            // For a metric check: (metric, comparison, bound, value).
            let mut measured: Option<Measured> = None;
            let (passed, detail) = match (&e.target, &e.check) {
                (Target::App(i), Check::Finished(want)) => {
                    let a = app(i);
                    let state = match (a.finished, &a.error) {
                        (true, None) => "finished".to_string(),
                        (true, Some(err)) => format!("finished with error: {err}"),
                        (false, _) => "still running when the run stopped".to_string(),
                    };
                    (a.finished == *want && a.error.is_none() || (!*want && !a.finished), state)
                }
                (Target::App(i), Check::OutputContains(t)) => {
                    let a = app(i);
                    let found = a.output.iter().any(|l| l.contains(t.as_str()));
                    let actual = if found {
                        "found".to_string()
                    } else {
                        format!(
                            "not found in {} output lines{}",
                            a.output.len(),
                            a.output.last().map_or(String::new(), |l| format!(" (last: \"{l}\")"))
                        )
                    };
                    (found, actual)
                }
                (target, Check::Metric { metric, min, max }) => {
                    let value = if !e.filter.is_empty() {
                        narrowed(world, &t, target, |cx| super::expect_log::count(cx, target, metric, &e.filter))
                    } else {
                        match target {
                            Target::App(i) => app(i).metrics.get(metric).copied().ok_or_else(|| {
                                let has: Vec<&str> = app(i).metrics.keys().map(|k| k.as_str()).collect();
                                format!("no metric \"{metric}\" (it has: {})", has.join(", "))
                            }),
                            Target::Link(l, dir) => {
                                let st = &t.links[*l];
                                Ok(match dir {
                                    Some(d) => link_metric(&st[d.index()], metric),
                                    None => link_metric(&st[0], metric) + link_metric(&st[1], metric),
                                })
                            }
                            Target::Host(n) => Ok(node_metric(&t.nodes[*n], metric)),
                            Target::Connection(n, port) => {
                                let conns = select(&t.conns, *n, *port);
                                if conns.is_empty() {
                                    Err("no such connection".to_string())
                                } else {
                                    conns
                                        .iter()
                                        .map(|c| c.metric(metric).ok_or(format!("{metric} not known yet")))
                                        .sum()
                                }
                            }
                            Target::Network => Ok(match metric.as_str() {
                                // Applications that are not servers (sinks and servers are daemons).
                                "apps_finished" => {
                                    apps.iter().filter(|a| !a.daemon && a.finished && a.error.is_none()).count() as f64
                                }
                                "apps_failed" => apps.iter().filter(|a| a.error.is_some()).count() as f64,
                                "apps_unfinished" => apps.iter().filter(|a| !a.daemon && !a.finished).count() as f64,
                                _ => network_metric(&t, metric),
                            }),
                        }
                    };
                    let v = value.as_ref().ok().copied();
                    let (cmp, bound) = bound(*min, *max, v);
                    measured = Some((metric.clone(), cmp, bound, v));
                    match value {
                        Ok(v) => (
                            min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m),
                            format!("{metric} = {}", fmt_num(v)),
                        ),
                        Err(msg) => (false, msg),
                    }
                }
                (Target::App(i), Check::ErrorContains(t)) => {
                    let a = app(i);
                    match &a.error {
                        Some(e) => (e.contains(t.as_str()), format!("error: {e}")),
                        None if a.finished => (false, "finished without an error".to_string()),
                        None => (false, "still running when the run stopped".to_string()),
                    }
                }
                (Target::Connection(n, port), Check::States(want)) => {
                    let conns = select(&t.conns, *n, *port);
                    let found = conns.iter().any(|c| {
                        let inside = |t: &crate::sim::Instant| e.filter.window.is_none_or(|w| w.contains(*t));
                        let have: Vec<TcpState> = c.states.iter().filter(|(t, _)| inside(t)).map(|(_, s)| *s).collect();
                        passes_through(&have, want)
                    });
                    let actual = if conns.is_empty() {
                        "no such connection".to_string()
                    } else {
                        conns.iter().map(|c| states_str(c)).collect::<Vec<_>>().join("; ")
                    };
                    (found, actual)
                }
                (target, Check::Never(p)) => {
                    let r = narrowed(world, &t, target, |cx| super::expect_log::never(cx, target, p, &e.filter));
                    let (passed, detail, n) = r.unwrap_or_else(|msg| (false, msg, f64::NAN));
                    let actual = Some(n).filter(|v| !v.is_nan());
                    measured = Some(("occurrences".to_string(), "==", Some(0.0), actual));
                    (passed, detail)
                }
                (target, Check::Events(ps)) => {
                    let r = narrowed(world, &t, target, |cx| super::expect_log::in_order(cx, target, ps, &e.filter));
                    let (passed, detail, n) = r.unwrap_or_else(|msg| (false, msg, f64::NAN));
                    let actual = Some(n).filter(|v| !v.is_nan());
                    measured = Some(("events_in_order".to_string(), "==", Some(ps.len() as f64), actual));
                    (passed, detail)
                }
                (_, _) => (false, "not applicable".to_string()),
            };
            let (metric, comparison, expected, actual) = match measured {
                Some((m, cmp, bound, v)) => (Some(m), Some(cmp), bound, v),
                None => (None, None, None, None),
            };
            ExpectResult {
                line: e.line,
                description: e.description.clone(),
                passed,
                detail,
                metric,
                comparison,
                expected,
                actual,
            }
        })
        .collect()
}

/// Runs `f` on the run's event log for `target`; an error when there is no such connection or the
/// run kept no log.
fn narrowed<T>(
    world: &World,
    t: &crate::trace::Tracer,
    target: &Target,
    f: impl FnOnce(&super::expect_log::Ctx) -> T,
) -> Result<T, String> {
    let conns = match target {
        Target::Connection(n, port) => {
            let v: Vec<(usize, u32)> = select(&t.conns, *n, *port).iter().map(|c| (c.node, c.socket)).collect();
            if v.is_empty() {
                return Err("no such connection".to_string());
            }
            v
        }
        _ => Vec::new(),
    };
    let cx = super::expect_log::ctx(world, t.log.as_ref(), conns)
        .ok_or("the run kept no event log (build the world with keep_event_log)")?;
    Ok(f(&cx))
}

/// The connections (not listeners) of node `n` with local or remote port `port`.
fn select(conns: &crate::trace::conn_table::ConnTable, n: NodeId, port: Option<u16>) -> Vec<&ConnSummary> {
    conns
        .values()
        .filter(|c| c.node == n && !c.is_listener())
        .filter(|c| {
            port.is_none_or(|p| c.local.is_some_and(|a| a.port() == p) || c.remote.is_some_and(|a| a.port() == p))
        })
        .collect()
}

fn network_metric(t: &crate::trace::Tracer, metric: &str) -> f64 {
    let conns = t.conns.values().filter(|c| !c.is_listener());
    match metric {
        "connections" => conns.count() as f64,
        "open_connections" => conns.filter(|c| c.is_open()).count() as f64,
        "retransmissions" => conns.map(|c| c.retransmissions as f64).sum(),
        "rsts_sent" => t.nodes.iter().map(|n| n.rsts_sent as f64).sum(),
        "challenge_acks" => conns.map(|c| c.challenge_acks as f64).sum(),
        "dropped" => {
            let links: u64 = t.links.iter().flat_map(|d| d.iter()).map(|s| s.dropped_total()).sum();
            let nodes: u64 = t.nodes.iter().map(|n| n.dropped.values().sum::<u64>()).sum();
            (links + nodes) as f64
        }
        _ => 0.0,
    }
}
