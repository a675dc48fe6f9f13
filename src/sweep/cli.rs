//! What `netlab sweep` and `netlab sweep-merge` do with a result: print it as text or JSON, write
//! JUnit XML, choose the exit code. Under `--json`, an error is a JSON object on stdout too
//! (`{"error": {"message": ..., "exit_code": N}}`), so a machine reading stdout always gets JSON.

use super::{SweepOptions, SweepResult, default_metrics, parse_metric};
use crate::scenario::Scenario;
use std::path::PathBuf;

/// Exit code: every seed passed.
pub const EXIT_PASSED: u8 = 0;
/// Exit code: some seed failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad input (scenario, arguments, shard files).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: the JUnit file could not be written.
pub const EXIT_WRITE: u8 = 3;

/// How to present a result.
#[derive(Clone, Debug, Default)]
pub struct Presentation {
    /// Print JSON instead of text.
    pub json: bool,
    /// Also write JUnit XML here.
    pub junit: Option<PathBuf>,
    /// Failed seeds shown in full in the text (default [`super::text::DEFAULT_SHOWN`]).
    pub show_failures: Option<usize>,
}

/// An error for the user: as `{"error": ...}` on stdout under `--json`, else on stderr.
pub fn report_error(json: bool, message: &str, exit_code: u8) -> u8 {
    if json {
        let v = serde_json::json!({ "error": { "message": message, "exit_code": exit_code } });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        eprintln!("error: {message}");
    }
    exit_code
}

/// The sweep options for `sc` from the command line's seeds, shard, --fail-fast and --stat names.
pub fn options(
    sc: &Scenario,
    seeds: super::SeedRange,
    shard: Option<super::Shard>,
    fail_fast: bool,
    stats: &[String],
) -> Result<SweepOptions, String> {
    let metrics = if stats.is_empty() {
        default_metrics(sc)
    } else {
        stats.iter().map(|s| parse_metric(sc, s)).collect::<Result<_, _>>()?
    };
    Ok(SweepOptions { seeds, shard: shard.unwrap_or(super::Shard::WHOLE), fail_fast, metrics })
}

/// Prints `r` as asked, writes its JUnit file, and returns the exit code. `footer` goes after the
/// text totals (e.g. the wall time), never into JSON (which must not depend on the machine).
pub fn present(r: &SweepResult, how: &Presentation, footer: &str) -> u8 {
    if let Some(path) = &how.junit
        && let Err(e) = crate::output::write_whole(path, super::junit::junit_xml(r).as_bytes())
    {
        return report_error(how.json, &format!("cannot write the JUnit file {e}"), EXIT_WRITE);
    }
    if how.json {
        print!("{}", r.to_json());
    } else {
        println!("{}{footer}", super::text::render(r, how.show_failures.unwrap_or(super::text::DEFAULT_SHOWN)));
    }
    if r.failed > 0 { EXIT_FAILED } else { EXIT_PASSED }
}

/// `netlab sweep-merge FILES...`: reads shard results (`sweep --shard I/N --json` output), merges them
/// and presents the result as one unsharded sweep would.
pub fn merge_files(files: &[PathBuf], how: &Presentation) -> u8 {
    let mut parts = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => return report_error(how.json, &format!("cannot read {name}: {e}"), EXIT_BAD_INPUT),
        };
        match serde_json::from_str::<SweepResult>(&text) {
            Ok(r) => parts.push((name, r)),
            Err(e) => {
                let msg = format!("{name}: expected the JSON of `netlab sweep --shard I/N --json`: {e}");
                return report_error(how.json, &msg, EXIT_BAD_INPUT);
            }
        }
    }
    match super::merge(&parts) {
        Ok(r) => present(&r, how, ""),
        Err(e) => report_error(how.json, &e, EXIT_BAD_INPUT),
    }
}
