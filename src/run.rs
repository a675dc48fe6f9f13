//! Running a scenario: build, run to a stop condition, finish output, collect the report. Used by the
//! CLI (`netlab run`, `netlab sweep`), the tests and the viewer.

use crate::net::{RunLimits, World};
use crate::report::RunReport;
use crate::scenario::{BuildFailure, BuildOptions, Scenario};
use crate::sim::{Duration, Instant};

/// A finished run: its report, and the world for anyone who wants to look further.
pub struct Finished {
    pub report: RunReport,
    pub world: World,
    /// Problems writing captures or the trace.
    pub output_error: Option<String>,
}

/// The limits a scenario asks for, with an optional override of the time limit.
pub fn limits(sc: &Scenario, until: Option<Duration>) -> RunLimits {
    RunLimits {
        stop_at: Instant::ZERO + until.unwrap_or(sc.stop),
        max_events: sc.max_events.unwrap_or(u64::MAX),
        stop_when_apps_done: sc.stop_when_apps_done,
    }
}

/// Builds and runs `sc`; `progress` is called now and then with the simulated time.
pub fn run(
    sc: &Scenario,
    opts: &BuildOptions,
    until: Option<Duration>,
    progress: &mut dyn FnMut(Instant),
) -> Result<Finished, BuildFailure> {
    let mut world = sc.build(opts)?;
    let outcome = world.run_with_progress(limits(sc, until), progress);
    let output_error = world.finish().err();
    let report = RunReport::collect(sc, opts.seed.unwrap_or(sc.seed), &world, outcome);
    Ok(Finished { report, world, output_error })
}

/// Runs `sc` with `seed`, writing nothing.
pub fn run_in_memory(sc: &Scenario, seed: u64) -> Result<RunReport, BuildFailure> {
    let opts = BuildOptions { seed: Some(seed), out_dir: None, ..Default::default() };
    run(sc, &opts, None, &mut |_| {}).map(|f| f.report)
}
