//! Expectations: checks made at the end of a run. A failed one says what was expected and what
//! happened. All figures come from the trace counters and the applications' reports.

use super::error::{SpanError, at};
use super::schema::ExpectSpec;
use crate::net::World;
use crate::trace::{Dir, LinkDirStats, LinkDropCause, NodeDropCause, NodeId, NodeStats};
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    App(usize),
    Link(usize, Option<Dir>),
    Host(NodeId),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Metric {
        metric: String,
        min: Option<f64>,
        max: Option<f64>,
    },
    Finished(bool),
    OutputContains(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// Byte offset in the file (the line is filled in by the loader).
    pub offset: usize,
    pub line: usize,
    pub description: String,
    pub target: Target,
    pub target_name: String,
    pub check: Check,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ExpectResult {
    pub line: usize,
    pub description: String,
    pub passed: bool,
    /// What was measured.
    pub actual: String,
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
];

/// The metrics each application kind reports.
pub fn app_metrics(kind: &str) -> &'static [&'static str] {
    match kind {
        "ping" => &[
            "transmitted",
            "received",
            "duplicates",
            "time_exceeded",
            "unreachable",
            "loss_percent",
            "rtt_min_ms",
            "rtt_avg_ms",
            "rtt_max_ms",
        ],
        "traceroute" => &["hops", "reached"],
        "echo-client" => &["messages", "correct_replies"],
        "bulk" => &[
            "bytes_sent",
            "bytes_received",
            "sha256_match",
            "duration_s",
            "goodput_mbps",
        ],
        "webget" => &["status", "body_bytes", "duration_s", "complete"],
        _ => &[],
    }
}

pub fn validate(
    e: &Spanned<ExpectSpec>,
    nodes: &BTreeMap<String, NodeId>,
    links: &[String],
    apps: &[(String, &'static str)],
) -> Result<Expect, SpanError> {
    let span = e.span();
    let s = e.get_ref();
    let targets = [s.app.is_some(), s.link.is_some(), s.host.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    if targets != 1 {
        return at(
            span,
            "expected exactly one of `app`, `link` or `host` in an [[expect]]",
        );
    }
    let (target, target_name, allowed): (Target, String, Option<&[&str]>) = if let Some(a) = &s.app
    {
        let Some(i) = apps.iter().position(|(n, _)| n == a.get_ref()) else {
            let known: Vec<&str> = apps.iter().map(|(n, _)| n.as_str()).collect();
            return at(
                a.span(),
                format!(
                    "expected the name of an application (defined: {}), found \"{}\"",
                    known.join(", "),
                    a.get_ref()
                ),
            );
        };
        (
            Target::App(i),
            format!("app {}", a.get_ref()),
            Some(app_metrics(apps[i].1)),
        )
    } else if let Some(l) = &s.link {
        let Some(i) = links.iter().position(|n| n == l.get_ref()) else {
            return at(
                l.span(),
                format!(
                    "expected the name of a link (defined: {}), found \"{}\"",
                    links.join(", "),
                    l.get_ref()
                ),
            );
        };
        let dir = s.dir.as_ref().map(super::parse_dir).transpose()?;
        let name = match dir {
            Some(d) => format!("link {} {}", l.get_ref(), d.as_str()),
            None => format!("link {}", l.get_ref()),
        };
        (Target::Link(i, dir), name, Some(LINK_METRICS))
    } else {
        let h = s.host.as_ref().expect("one target");
        let Some(&n) = nodes.get(h.get_ref()) else {
            return at(
                h.span(),
                format!(
                    "expected the name of a host or router, found \"{}\"",
                    h.get_ref()
                ),
            );
        };
        (
            Target::Host(n),
            format!("node {}", h.get_ref()),
            Some(HOST_METRICS),
        )
    };
    if s.dir.is_some() && !matches!(target, Target::Link(..)) {
        return at(
            s.dir.as_ref().map_or(span.clone(), |d| d.span()),
            "expected `dir` only with `link`",
        );
    }
    let comparisons = s.equals.is_some() || s.at_least.is_some() || s.at_most.is_some();
    let kinds = [
        s.metric.is_some(),
        s.finished.is_some(),
        s.output_contains.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if kinds != 1 {
        return at(
            span,
            "expected exactly one of `metric` (with equals / at_least / at_most), `finished` or `output_contains`",
        );
    }
    let check = if let Some(m) = &s.metric {
        if let Some(allowed) = allowed
            && !allowed.contains(&m.get_ref().as_str())
        {
            return at(
                m.span(),
                format!(
                    "expected a metric of a {} ({}), found \"{}\"",
                    target_name.split(' ').next().unwrap_or(""),
                    allowed.join(", "),
                    m.get_ref()
                ),
            );
        }
        if !comparisons {
            return at(
                m.span(),
                "expected a comparison with the metric: `equals`, `at_least` and/or `at_most`",
            );
        }
        if s.equals.is_some() && (s.at_least.is_some() || s.at_most.is_some()) {
            return at(
                span,
                "expected either `equals` or `at_least`/`at_most`, not both",
            );
        }
        let (min, max) = match s.equals {
            Some(v) => (Some(v), Some(v)),
            None => (s.at_least, s.at_most),
        };
        Check::Metric {
            metric: m.get_ref().clone(),
            min,
            max,
        }
    } else if comparisons {
        return at(
            span,
            "expected `equals`/`at_least`/`at_most` only together with `metric`",
        );
    } else if let Some(f) = s.finished {
        if !matches!(target, Target::App(_)) {
            return at(span, "expected `finished` only with `app`");
        }
        Check::Finished(f)
    } else {
        if !matches!(target, Target::App(_)) {
            return at(span, "expected `output_contains` only with `app`");
        }
        Check::OutputContains(s.output_contains.clone().unwrap_or_default())
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
            format!("{target_name}: {metric} {cmp}")
        }
        Check::Finished(true) => format!("{target_name} finishes"),
        Check::Finished(false) => format!("{target_name} does not finish"),
        Check::OutputContains(t) => format!("{target_name} prints \"{t}\""),
    });
    Ok(Expect {
        offset: span.start,
        line: 0,
        description,
        target,
        target_name,
        check,
    })
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
        _ => 0,
    }) as f64
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

/// Checks every expectation against a finished run.
pub fn evaluate(expects: &[Expect], world: &World) -> Vec<ExpectResult> {
    let net = world.core.net.borrow();
    let apps = world.core.apps.borrow();
    expects
        .iter()
        .map(|e| {
            let (passed, actual) = match (&e.target, &e.check) {
                (Target::App(i), Check::Finished(want)) => {
                    let a = &apps[*i];
                    let state = match (a.finished, &a.error) {
                        (true, None) => "finished".to_string(),
                        (true, Some(err)) => format!("finished with error: {err}"),
                        (false, _) => "still running when the run stopped".to_string(),
                    };
                    (
                        a.finished == *want && a.error.is_none() || (!*want && !a.finished),
                        state,
                    )
                }
                (Target::App(i), Check::OutputContains(t)) => {
                    let a = &apps[*i];
                    let found = a.output.iter().any(|l| l.contains(t.as_str()));
                    let actual = if found {
                        "found".to_string()
                    } else {
                        format!(
                            "not found in {} output lines{}",
                            a.output.len(),
                            a.output
                                .last()
                                .map_or(String::new(), |l| format!(" (last: \"{l}\")"))
                        )
                    };
                    (found, actual)
                }
                (target, Check::Metric { metric, min, max }) => {
                    let value = match target {
                        Target::App(i) => apps[*i].metrics.get(metric).copied().ok_or_else(|| {
                            let has: Vec<&str> =
                                apps[*i].metrics.keys().map(|k| k.as_str()).collect();
                            format!("no metric \"{metric}\" (it has: {})", has.join(", "))
                        }),
                        Target::Link(l, dir) => {
                            let st = &net.fab.tracer.links[*l];
                            Ok(match dir {
                                Some(d) => link_metric(&st[d.index()], metric),
                                None => link_metric(&st[0], metric) + link_metric(&st[1], metric),
                            })
                        }
                        Target::Host(n) => Ok(node_metric(&net.fab.tracer.nodes[*n], metric)),
                    };
                    match value {
                        Ok(v) => (
                            min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m),
                            format!("{metric} = {}", fmt_num(v)),
                        ),
                        Err(msg) => (false, msg),
                    }
                }
                (_, _) => (false, "not applicable".to_string()),
            };
            ExpectResult {
                line: e.line,
                description: e.description.clone(),
                passed,
                actual,
            }
        })
        .collect()
}
