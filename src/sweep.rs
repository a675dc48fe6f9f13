//! `netlab sweep`: one scenario over many seeds, on all cores. Each seed runs in its own world (worlds
//! are single-threaded and share nothing), so the result of a seed never depends on how the seeds
//! were spread over threads; `netlab run --seed N` reproduces any one of them exactly.

use crate::run::run_in_memory;
use crate::scenario::Scenario;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A seed whose run failed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SeedFailure {
    /// The seed (`netlab run --seed N` reproduces the run).
    pub seed: u64,
    /// "line N: description (actual)" for each failed expectation, or the error that stopped the run.
    pub problems: Vec<String>,
}

/// The outcome of a sweep.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SweepResult {
    /// The scenario's name.
    pub scenario: String,
    /// Seeds run.
    pub seeds: u64,
    /// Seeds whose run built, met every expectation and did not stop at the time limit with
    /// applications unfinished.
    pub passed: u64,
    /// The other seeds, in seed order.
    pub failures: Vec<SeedFailure>,
    /// Events simulated, all seeds together.
    pub events: u64,
}

/// Runs `sc` for every seed in `seeds` on `jobs` threads; `progress(done)` is called after each seed.
pub fn sweep(
    sc: &Scenario,
    seeds: std::ops::RangeInclusive<u64>,
    jobs: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> SweepResult {
    let list: Vec<u64> = seeds.collect();
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    let events = AtomicU64::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = list.get(i) else { break };
                    // A panic in one seed is a bug to report, not a reason to lose the others.
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_in_memory(sc, seed)));
                    let problems = match r {
                        Ok(Ok(report)) => {
                            events.fetch_add(report.outcome.events, Ordering::Relaxed);
                            let mut p: Vec<String> = report
                                .expectations
                                .iter()
                                .filter(|e| !e.passed)
                                .map(|e| format!("line {}: {} ({})", e.line, e.description, e.actual))
                                .collect();
                            if !report.outcome.unfinished.is_empty()
                                && report.outcome.reason == crate::world::StopReason::TimeLimit
                            {
                                p.push(format!(
                                    "time limit reached with unfinished apps: {}",
                                    report.outcome.unfinished.join(", ")
                                ));
                            }
                            p
                        }
                        Ok(Err(e)) => vec![format!("could not build: {e}")],
                        Err(panic) => {
                            let msg = panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_else(|| "unknown".into());
                            vec![format!("PANIC: {msg}")]
                        }
                    };
                    if !problems.is_empty() {
                        failures.lock().unwrap_or_else(|e| e.into_inner()).push(SeedFailure { seed, problems });
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    failures.sort_by_key(|f| f.seed);
    let seeds = list.len() as u64;
    SweepResult {
        scenario: sc.name.clone(),
        seeds,
        passed: seeds - failures.len() as u64,
        failures,
        events: events.into_inner(),
    }
}

/// Parses "1..1000" or "1..=1000" (inclusive either way) or a single number.
pub fn parse_seeds(s: &str) -> Result<std::ops::RangeInclusive<u64>, String> {
    let bad = || format!("expected seeds as FIRST..LAST (e.g. 1..1000) or a single seed, found \"{s}\"");
    if let Some((a, b)) = s.split_once("..") {
        let b = b.trim_start_matches('=');
        let (a, b): (u64, u64) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
        if a > b {
            return Err(bad());
        }
        Ok(a..=b)
    } else {
        let n: u64 = s.trim().parse().map_err(|_| bad())?;
        Ok(n..=n)
    }
}
