//! Every scenario in `scenarios/` runs and passes its expectations.

use netlab::scenario::Scenario;
use netlab::world::StopReason;
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

#[test]
fn every_scenario_passes_its_expectations() {
    let files = scenario_files();
    assert!(files.len() >= 4, "expected the starter scenarios, found {files:?}");
    let mut failures = Vec::new();
    for f in &files {
        let sc = Scenario::load(f).unwrap_or_else(|e| panic!("{e}"));
        assert!(!sc.expects.is_empty(), "{}: a scenario must check something", f.display());
        let report = netlab::run::run_in_memory(&sc, sc.seed).expect("builds");
        if !report.passed || report.outcome.reason == StopReason::TimeLimit && !report.outcome.unfinished.is_empty() {
            failures.push(format!("{}:\n{}", f.display(), report.render(None)));
        }
    }
    assert!(failures.is_empty(), "failing scenarios:\n{}", failures.join("\n"));
}
