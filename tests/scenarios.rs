//! Every scenario in `scenarios/` runs and passes its expectations.

use netlab::net::{RunLimits, StopReason};
use netlab::report::RunReport;
use netlab::scenario::{BuildOptions, Scenario};
use netlab::sim::Instant;
use std::path::{Path, PathBuf};

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// Runs a scenario in memory (no files written) and returns its report.
pub fn run_in_memory(sc: &Scenario, seed: Option<u64>) -> RunReport {
    let opts = BuildOptions { seed, out_dir: None, ..Default::default() };
    let mut world = sc.build(&opts).expect("builds");
    let limits = RunLimits {
        stop_at: Instant::ZERO + sc.stop,
        max_events: sc.max_events.unwrap_or(u64::MAX),
        stop_when_apps_done: sc.stop_when_apps_done,
    };
    let outcome = world.run(limits);
    world.finish().expect("finish");
    RunReport::collect(sc, seed.unwrap_or(sc.seed), &world, outcome)
}

#[test]
fn every_scenario_passes_its_expectations() {
    let files = scenario_files();
    assert!(files.len() >= 4, "expected the starter scenarios, found {files:?}");
    let mut failures = Vec::new();
    for f in &files {
        let sc = Scenario::load(f).unwrap_or_else(|e| panic!("{e}"));
        assert!(!sc.expects.is_empty(), "{}: a scenario must check something", f.display());
        let report = run_in_memory(&sc, None);
        if !report.passed || report.outcome.reason == StopReason::TimeLimit && !report.outcome.unfinished.is_empty() {
            failures.push(format!("{}:\n{}", f.display(), report.render(None)));
        }
    }
    assert!(failures.is_empty(), "failing scenarios:\n{}", failures.join("\n"));
}
