//! The result of a sweep as data: one record per seed (what failed, with numbers; the chosen
//! metrics) and the totals and statistics derived from them. Shards of a sweep produce the same
//! records for their seeds, so merging shards is concatenating records and deriving the rest again:
//! [`SweepResult::assemble`] is the one place where totals and statistics are made.

use super::metrics::Stats;
use super::seeds::{SeedRange, Shard};
use crate::scenario::expect::ExpectResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A failed expectation of one seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectFailure {
    /// The `[[expect]]`'s line in the scenario file.
    pub line: usize,
    /// What was expected, in words.
    pub description: String,
    /// For a metric check: the metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// For a metric check: "==", ">=" or "<=" (the bound that failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<String>,
    /// For a metric check: the bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<f64>,
    /// For a metric check: the value measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<f64>,
    /// What was measured, in words.
    pub detail: String,
}

impl From<&ExpectResult> for ExpectFailure {
    fn from(e: &ExpectResult) -> Self {
        ExpectFailure {
            line: e.line,
            description: e.description.clone(),
            metric: e.metric.clone(),
            comparison: e.comparison.map(String::from),
            expected: e.expected,
            actual: e.actual,
            detail: e.detail.clone(),
        }
    }
}

/// Something other than an expectation that makes a seed fail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// `unfinished` (the time limit came with applications unfinished), `build` (the world could
    /// not be built) or `panic` (a bug in netlab: please report it with the seed).
    pub kind: String,
    /// What happened.
    pub message: String,
}

/// What one seed did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedResult {
    /// The seed (`netlab run FILE --seed N` reproduces the run).
    pub seed: u64,
    /// No expectation failed and no problem.
    pub passed: bool,
    /// Why the run stopped (as in summary.json), or `build_failed` / `panicked`.
    pub stopped: String,
    /// Events simulated.
    pub events: u64,
    /// Failed expectations, in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<ExpectFailure>,
    /// Other problems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// The chosen metrics' values (a metric that could not be measured is absent).
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
}

/// A metric's name and description, in the order they were chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricName {
    /// As on the command line.
    pub name: String,
    /// In words.
    pub about: String,
}

/// The result of a sweep, or of one shard of it (`--json` prints this).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    /// The version of netlab that ran it (shards of different versions do not merge).
    pub netlab: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file, as given.
    pub file: String,
    /// The seed range of the whole sweep.
    pub seeds: SeedRange,
    /// Which shard of the sweep this is; absent for a whole sweep (or shards merged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// Whether the sweep stops at the first failing seed (`--fail-fast`).
    pub fail_fast: bool,
    /// False when `--fail-fast` stopped the sweep early: then the results hold every seed up to
    /// and including the first failing one, and no other.
    pub complete: bool,
    /// Seeds run.
    pub run: u64,
    /// Seeds that passed.
    pub passed: u64,
    /// Seeds that failed.
    pub failed: u64,
    /// Events simulated, all seeds together.
    pub events: u64,
    /// The failed seeds, in order.
    pub failed_seeds: Vec<u64>,
    /// Summary statistics of the chosen metrics, in the order chosen.
    pub stats: Vec<Stats>,
    /// Every seed run, in seed order.
    pub results: Vec<SeedResult>,
}

/// What identifies a sweep, besides its results.
#[derive(Clone, Debug)]
pub struct SweepHeader {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file.
    pub file: String,
    /// The whole sweep's seeds.
    pub seeds: SeedRange,
    /// The shard, if not the whole sweep.
    pub shard: Option<Shard>,
    /// Whether it stops at the first failing seed.
    pub fail_fast: bool,
    /// Whether every seed of the shard (or sweep) ran.
    pub complete: bool,
}

impl SweepResult {
    /// Totals and statistics derived from `results` (sorted here by seed).
    pub fn assemble(head: SweepHeader, metrics: &[MetricName], mut results: Vec<SeedResult>) -> SweepResult {
        results.sort_by_key(|r| r.seed);
        let failed_seeds: Vec<u64> = results.iter().filter(|r| !r.passed).map(|r| r.seed).collect();
        let stats = metrics
            .iter()
            .map(|m| Stats::of(&m.name, &m.about, results.iter().filter_map(|r| r.metrics.get(&m.name).copied())))
            .collect();
        SweepResult {
            netlab: env!("CARGO_PKG_VERSION").to_string(),
            scenario: head.scenario,
            file: head.file,
            seeds: head.seeds,
            shard: head.shard,
            fail_fast: head.fail_fast,
            complete: head.complete,
            run: results.len() as u64,
            passed: (results.len() - failed_seeds.len()) as u64,
            failed: failed_seeds.len() as u64,
            events: results.iter().map(|r| r.events).sum(),
            failed_seeds,
            stats,
            results,
        }
    }

    /// The chosen metrics, from the statistics.
    pub fn metric_names(&self) -> Vec<MetricName> {
        self.stats.iter().map(|s| MetricName { name: s.name.clone(), about: s.about.clone() }).collect()
    }

    /// The JSON text `--json` prints (and `sweep-merge` reproduces byte for byte), with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
