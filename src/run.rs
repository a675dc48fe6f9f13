//! Running a scenario: open its output files, build, run to a stop condition, finish output,
//! collect the report. Used by the CLI (`netlab run`, `netlab sweep`), the tests and the viewer.

use crate::output::{Background, NamedWriter, RunDir, describe};
use crate::report::RunReport;
use crate::scenario::{BuildFailure, BuildOptions, OutputFiles, Scenario};
use crate::sim::{Duration, Instant};
use crate::world::{RunLimits, World};
use std::path::Path;

/// A finished run: its report, and the world for anyone who wants to look further.
pub struct Finished {
    /// The summary.
    pub report: RunReport,
    /// The world as the run left it.
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

/// Output files in a directory, written by a background thread (started with the first file), so
/// that the simulation does not wait for the kernel to copy hundreds of megabytes. The directory
/// holds one run's files only: the previous run's are deleted first (see [`RunDir`]).
pub struct DirFiles {
    dir: RunDir,
    background: Option<Background>,
}

impl DirFiles {
    /// Files in `dir`, which is created if needed and cleared of the previous run's files.
    pub fn new(dir: &Path) -> Result<DirFiles, BuildFailure> {
        Ok(DirFiles { dir: RunDir::open(dir).map_err(BuildFailure::Io)?, background: None })
    }
}

impl OutputFiles for DirFiles {
    fn create(&mut self, name: &str) -> Result<Box<dyn std::io::Write>, String> {
        let bg = match &mut self.background {
            Some(bg) => bg,
            None => self.background.insert(
                Background::new().map_err(|e| format!("cannot start the thread that writes output files: {e}"))?,
            ),
        };
        let path = self.dir.record(name)?;
        let f = bg.create(&path).map_err(|e| format!("cannot create {}: {e}", describe(&path)))?;
        Ok(Box::new(NamedWriter::new(f, path)))
    }
}

/// Builds `sc`, writing its outputs under `opts.out_dir` when given.
pub fn build(sc: &Scenario, opts: &BuildOptions) -> Result<World, BuildFailure> {
    match &opts.out_dir {
        Some(dir) => sc.build(opts, Some(&mut DirFiles::new(dir)?)),
        None => sc.build(opts, None),
    }
}

/// Builds and runs `sc`; `progress` is called now and then with the simulated time, and the run
/// stops (as interrupted) once `interrupted()` is true.
pub fn run(
    sc: &Scenario,
    opts: &BuildOptions,
    until: Option<Duration>,
    progress: &mut dyn FnMut(Instant),
    interrupted: &dyn Fn() -> bool,
) -> Result<Finished, BuildFailure> {
    let mut world = build(sc, opts)?;
    let outcome = world.run_with_progress(limits(sc, until), progress, interrupted);
    let output_error = world.finish().err();
    let report = RunReport::collect(sc, opts.seed.unwrap_or(sc.seed), &world, outcome);
    Ok(Finished { report, world, output_error })
}

/// Runs `sc` with `seed`, writing nothing.
pub fn run_in_memory(sc: &Scenario, seed: u64) -> Result<RunReport, BuildFailure> {
    let opts = BuildOptions { seed: Some(seed), out_dir: None, ..Default::default() };
    run(sc, &opts, None, &mut |_| {}, &|| false).map(|f| f.report)
}

/// Runs a scenario with live bridges in real time: builds it, opens the bridges, runs until the
/// time limit, Ctrl-C, or (with `stop_when_apps_done`) the applications are done, then closes the
/// bridges and collects the report. Captures are stamped with wall-clock time.
#[cfg(feature = "live")]
pub fn live(sc: &Scenario, opts: &BuildOptions, until: Option<Duration>) -> Result<Finished, BuildFailure> {
    let mut world = build(sc, opts)?;
    let out_dir = opts.out_dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut live = crate::bridge::Live::open(sc, &world, &out_dir).map_err(BuildFailure::Topology)?;
    crate::sys::signal::install();
    for line in live.describe() {
        eprintln!("netlab: {line}");
    }
    eprintln!("netlab: live, running in real time (Ctrl-C stops)");
    let outcome = world.drive(limits(sc, until), &mut live);
    for note in live.close() {
        eprintln!("netlab: {note}");
    }
    let output_error = world.finish().err();
    let report = RunReport::collect(sc, opts.seed.unwrap_or(sc.seed), &world, outcome);
    Ok(Finished { report, world, output_error })
}
