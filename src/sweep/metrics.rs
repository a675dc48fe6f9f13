//! The metrics a sweep measures in every seed (`--stat NAME`), and their summary statistics
//! across seeds. By default: the number of events, the simulated time at which the run stopped,
//! and the value behind every metric `[[expect]]` of the scenario.

use crate::report::RunReport;
use crate::scenario::Scenario;
use crate::scenario::expect::{Check, Expect, NETWORK_METRICS, Target, app_metrics, evaluate};
use crate::world::World;
use serde::{Deserialize, Serialize};

/// A metric measured in every seed of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepMetric {
    /// Events executed (`events`).
    Events,
    /// Simulated seconds when the run stopped (`sim_time`).
    SimTime,
    /// The value measured by the metric `[[expect]]` on this line (`line:N`).
    Line(usize),
    /// A metric of the whole network or of an application (`retransmissions`, `app:NAME:METRIC`).
    Probe(Box<Expect>),
}

/// A metric with the name it is reported under.
#[derive(Clone, Debug)]
pub struct NamedMetric {
    /// As given on the command line (`events`, `line:73`, `app:get:goodput_mbps`, ...).
    pub name: String,
    /// What it is, in words.
    pub about: String,
    /// How to measure it.
    pub metric: SweepMetric,
}

/// The metrics measured when none are chosen: events, simulated time, and every metric expectation.
pub fn default_metrics(sc: &Scenario) -> Vec<NamedMetric> {
    let mut v = vec![named_fixed("events"), named_fixed("sim_time")];
    for e in &sc.expects {
        if matches!(e.check, Check::Metric { .. }) {
            v.push(NamedMetric {
                name: format!("line:{}", e.line),
                about: e.description.clone(),
                metric: SweepMetric::Line(e.line),
            });
        }
    }
    v
}

fn named_fixed(name: &str) -> NamedMetric {
    match name {
        "events" => NamedMetric { name: name.into(), about: "events simulated".into(), metric: SweepMetric::Events },
        _ => NamedMetric {
            name: name.into(),
            about: "simulated seconds when the run stopped".into(),
            metric: SweepMetric::SimTime,
        },
    }
}

/// Parses `--stat NAME` against the scenario: `events`, `sim_time`, a network metric
/// (`retransmissions`, ...), `app:NAME:METRIC`, or `line:N` (the line of a metric `[[expect]]`).
pub fn parse_metric(sc: &Scenario, name: &str) -> Result<NamedMetric, String> {
    if name == "events" || name == "sim_time" {
        return Ok(named_fixed(name));
    }
    if let Some(line) = name.strip_prefix("line:") {
        let metric_lines: Vec<String> =
            sc.expects.iter().filter(|e| matches!(e.check, Check::Metric { .. })).map(|e| e.line.to_string()).collect();
        let found = line
            .parse::<usize>()
            .ok()
            .and_then(|n| sc.expects.iter().find(|e| e.line == n && matches!(e.check, Check::Metric { .. })));
        return match found {
            Some(e) => {
                Ok(NamedMetric { name: name.into(), about: e.description.clone(), metric: SweepMetric::Line(e.line) })
            }
            None => Err(format!(
                "--stat {name}: expected the line of a metric [[expect]] of {} (lines: {})",
                sc.file,
                if metric_lines.is_empty() { "none".to_string() } else { metric_lines.join(", ") }
            )),
        };
    }
    if let Some(rest) = name.strip_prefix("app:") {
        let Some((app, metric)) = rest.split_once(':') else {
            return Err(format!("--stat {name}: expected app:NAME:METRIC"));
        };
        let Some(def) = sc.apps.iter().find(|a| a.name == app) else {
            let known: Vec<&str> = sc.apps.iter().map(|a| a.name.as_str()).collect();
            return Err(format!(
                "--stat {name}: expected an application name (defined: {}), found \"{app}\"",
                known.join(", ")
            ));
        };
        let allowed = app_metrics(def.kind());
        if !allowed.contains(&metric) {
            return Err(format!(
                "--stat {name}: expected a metric of app {app} ({}), found \"{metric}\"",
                allowed.join(", ")
            ));
        }
        return Ok(probe(name, format!("app {app}: {metric}"), Target::App(app.to_string()), metric));
    }
    if NETWORK_METRICS.contains(&name) {
        return Ok(probe(name, format!("network: {name}"), Target::Network, name));
    }
    Err(format!(
        "--stat {name}: expected events, sim_time, line:N, app:NAME:METRIC or a network metric ({})",
        NETWORK_METRICS.join(", ")
    ))
}

fn probe(name: &str, about: String, target: Target, metric: &str) -> NamedMetric {
    let e = Expect {
        offset: 0,
        line: 0,
        description: about.clone(),
        target_name: String::new(),
        target,
        check: Check::Metric { metric: metric.to_string(), min: None, max: None },
        filter: Default::default(),
    };
    NamedMetric { name: name.into(), about, metric: SweepMetric::Probe(Box::new(e)) }
}

/// The value of `m` after a run (`None` when there was nothing to measure, e.g. no such connection).
pub fn measure(m: &SweepMetric, report: &RunReport, world: &World) -> Option<f64> {
    match m {
        SweepMetric::Events => Some(report.outcome.events as f64),
        SweepMetric::SimTime => Some(report.outcome.sim_time.as_secs_f64()),
        SweepMetric::Line(n) => report.expectations.iter().find(|e| e.line == *n).and_then(|e| e.actual),
        SweepMetric::Probe(e) => evaluate(std::slice::from_ref(e), world).first().and_then(|r| r.actual),
    }
}

/// Summary statistics of one metric across seeds (the seeds where it could be measured).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// The metric's name.
    pub name: String,
    /// What it is.
    pub about: String,
    /// Seeds with a value.
    pub seeds: u64,
    /// Smallest value.
    pub min: Option<f64>,
    /// Median (nearest rank: the value at rank ceil(n / 2)).
    pub median: Option<f64>,
    /// 95th percentile (nearest rank: the value at rank ceil(0.95 n)).
    pub p95: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
}

impl Stats {
    /// The statistics of `values` (any order; NaN values are left out).
    pub fn of(name: &str, about: &str, values: impl Iterator<Item = f64>) -> Stats {
        let mut v: Vec<f64> = values.filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| -> Option<f64> {
            if v.is_empty() {
                return None;
            }
            // Nearest rank, in integers so that no rounding moves it: ceil(p% of n), at least 1.
            let percent = (p * 100.0) as usize;
            let r = (v.len() * percent).div_ceil(100).max(1);
            Some(v[r - 1])
        };
        Stats {
            name: name.into(),
            about: about.into(),
            seeds: v.len() as u64,
            min: v.first().copied(),
            median: rank(0.5),
            p95: rank(0.95),
            max: v.last().copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let s = Stats::of("x", "", (1..=20).rev().map(|i| i as f64));
        assert_eq!((s.min, s.median, s.p95, s.max), (Some(1.0), Some(10.0), Some(19.0), Some(20.0)));
        let s = Stats::of("x", "", [5.0, 1.0, 3.0].into_iter());
        assert_eq!((s.median, s.p95), (Some(3.0), Some(5.0)));
        let one = Stats::of("x", "", [7.0].into_iter());
        assert_eq!((one.min, one.median, one.p95, one.max, one.seeds), (Some(7.0), Some(7.0), Some(7.0), Some(7.0), 1));
        let none = Stats::of("x", "", [f64::NAN].into_iter());
        assert_eq!((none.seeds, none.median), (0, None));
    }
}
