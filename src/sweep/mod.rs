//! `netlab sweep`: one scenario over many seeds, on all cores. Each seed runs in its own world (worlds
//! are single-threaded and share nothing), so the result of a seed never depends on how the seeds
//! were spread over threads or machines; `netlab run --seed N` reproduces any one of them exactly.
//!
//! A sweep can be split into shards (`--shard I/N`) that run anywhere, and merged again
//! (`netlab sweep-merge`, [`merge()`]) into exactly the result of the unsharded sweep.

pub mod cli;
pub mod junit;
pub mod merge;
pub mod metrics;
pub mod result;
pub mod seeds;
pub mod text;

pub use merge::merge;
pub use metrics::{NamedMetric, Stats, default_metrics, parse_metric};
pub use result::{ExpectFailure, MetricName, Problem, SeedResult, SweepHeader, SweepResult};
pub use seeds::{SeedRange, Shard, parse_seeds, parse_shard};

use crate::scenario::{BuildOptions, Scenario};
use crate::world::StopReason;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// What to sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// The whole sweep's seeds.
    pub seeds: SeedRange,
    /// The part of them to run here.
    pub shard: Shard,
    /// Stop at the first failing seed (in seed order): the result then holds every seed up to and
    /// including it, however the seeds were spread over threads.
    pub fail_fast: bool,
    /// The metrics measured in every seed.
    pub metrics: Vec<NamedMetric>,
}

/// Runs `sc` for the seeds of `opts` on `jobs` threads; `progress(done, total)` is called after
/// each seed.
pub fn sweep(sc: &Scenario, opts: &SweepOptions, jobs: usize, progress: &(dyn Fn(u64, u64) + Sync)) -> SweepResult {
    let list: Vec<u64> = opts.shard.seeds(opts.seeds).collect();
    let total = list.len() as u64;
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    // With --fail-fast: the position of the first failing seed found so far; no later one starts.
    let first_failure = AtomicUsize::new(usize::MAX);
    let results: Mutex<Vec<(usize, SeedResult)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= list.len() || i > first_failure.load(Ordering::SeqCst) {
                        break;
                    }
                    let r = run_seed(sc, list[i], &opts.metrics);
                    if opts.fail_fast && !r.passed {
                        first_failure.fetch_min(i, Ordering::SeqCst);
                    }
                    results.lock().unwrap_or_else(|e| e.into_inner()).push((i, r));
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                }
            });
        }
    });
    let stop = first_failure.into_inner();
    // Seeds handed out after the first failure (on other threads) are left out, so that the result
    // does not depend on timing.
    let results: Vec<SeedResult> = results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .filter(|(i, _)| *i <= stop)
        .map(|(_, r)| r)
        .collect();
    let head = SweepHeader {
        scenario: sc.name.clone(),
        file: sc.file.clone(),
        seeds: opts.seeds,
        shard: (!opts.shard.is_whole()).then_some(opts.shard),
        fail_fast: opts.fail_fast,
        complete: results.len() == list.len(),
    };
    let names: Vec<MetricName> =
        opts.metrics.iter().map(|m| MetricName { name: m.name.clone(), about: m.about.clone() }).collect();
    SweepResult::assemble(head, &names, results)
}

/// Runs one seed, writing nothing. A panic in one seed is a bug to report, not a reason to lose the
/// others: it becomes the seed's problem.
pub fn run_seed(sc: &Scenario, seed: u64, metrics: &[NamedMetric]) -> SeedResult {
    let opts = BuildOptions { seed: Some(seed), out_dir: None, ..Default::default() };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::run::run(sc, &opts, None, &mut |_| {}, &|| false)
    }));
    let fail = |stopped: &str, kind: &str, message: String| SeedResult {
        seed,
        passed: false,
        stopped: stopped.into(),
        events: 0,
        failures: Vec::new(),
        problems: vec![Problem { kind: kind.into(), message }],
        metrics: BTreeMap::new(),
    };
    let finished = match outcome {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => return fail("build_failed", "build", format!("could not build: {e}")),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown".into());
            return fail("panicked", "panic", format!("PANIC: {msg}"));
        }
    };
    let report = &finished.report;
    let failures: Vec<ExpectFailure> = report.expectations.iter().filter(|e| !e.passed).map(Into::into).collect();
    let mut problems = Vec::new();
    if !report.outcome.unfinished.is_empty() && report.outcome.reason == StopReason::TimeLimit {
        problems.push(Problem {
            kind: "unfinished".into(),
            message: format!("time limit reached with unfinished apps: {}", report.outcome.unfinished.join(", ")),
        });
    }
    let metrics = metrics
        .iter()
        .filter_map(|m| metrics::measure(&m.metric, report, &finished.world).map(|v| (m.name.clone(), v)))
        .collect();
    SeedResult {
        seed,
        passed: failures.is_empty() && problems.is_empty(),
        stopped: serde_json::to_value(report.outcome.reason)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        events: report.outcome.events,
        failures,
        problems,
        metrics,
    }
}
