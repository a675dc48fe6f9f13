//! (Part of the `netlab` binary, not the library.) Loading a scenario with progress: a large file
//! (a 50 MB file of 1.9 M hosts takes seconds) shows on stderr which step of loading it is in and
//! for how long, on a terminal only; the line is cleared once the file is loaded.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use netlab::scenario::{Scenario, ScenarioError};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

/// Files at least this large show progress (smaller ones load in well under a second).
const SHOW_FROM_BYTES: u64 = 4 << 20;

/// `Scenario::load_all`, with progress on a terminal for large files.
pub fn load_all(path: &Path) -> Result<Scenario, Vec<ScenarioError>> {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    if size < SHOW_FROM_BYTES || !std::io::stderr().is_terminal() {
        return Scenario::load_all(path);
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_prefix(path.display().to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    let loaded = Scenario::load_all_with(path, &mut |step| {
        bar.set_message(step.describe());
        bar.tick();
    });
    bar.finish_and_clear();
    loaded
}

/// `Scenario::load` (the first error only), with progress on a terminal for large files.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_all(path).map_err(|errors| errors.into_iter().next().expect("a failure has at least one error"))
}
