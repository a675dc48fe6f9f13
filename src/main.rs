//! The `netlab` command: parses arguments, calls the library, maps results to exit codes.
//! Exit codes: 0 = ran and every expectation held; 1 = an expectation failed; 2 = bad input (scenario
//! or arguments); 3 = an I/O problem while writing output.

use clap::{Parser, Subcommand};
use netlab::net::RunLimits;
use netlab::report::RunReport;
use netlab::scenario::{BuildOptions, Scenario};
use netlab::sim::{Duration, Instant, time::parse_duration};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "netlab",
    version,
    about = "A network test lab on a deterministic event clock, with its own TCP/IP stack"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario, check its expectations, write captures, trace and summary.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Output directory (default: captures/<scenario-name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Stop at this simulated time (e.g. "10s"), overriding the scenario's limit.
        #[arg(long, value_parser = parse_duration)]
        until: Option<Duration>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Write no pcap files.
        #[arg(long)]
        no_capture: bool,
        /// Write no trace.jsonl.
        #[arg(long)]
        no_trace: bool,
    },
    /// Validate a scenario without running it.
    Check {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { scenario } => match Scenario::load(&scenario) {
            Ok(sc) => {
                println!(
                    "{}: ok ({} nodes, {} links, {} applications, {} expectations)",
                    scenario.display(),
                    sc.nodes.len(),
                    sc.links.len(),
                    sc.apps.len(),
                    sc.expects.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Run { scenario, seed, out, until, json, no_capture, no_trace } => {
            run(scenario, seed, out, until, json, !no_capture, !no_trace)
        }
    }
}

fn run(
    path: PathBuf,
    seed: Option<u64>,
    out: Option<PathBuf>,
    until: Option<Duration>,
    json: bool,
    captures: bool,
    trace: bool,
) -> ExitCode {
    if until.is_some_and(|u| u.is_zero()) {
        eprintln!("error: --until: expected a time limit greater than zero");
        return ExitCode::from(2);
    }
    let sc = match Scenario::load(&path) {
        Ok(sc) => sc,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let out_dir = out.unwrap_or_else(|| PathBuf::from("captures").join(&sc.name));
    let opts = BuildOptions { seed, out_dir: Some(out_dir.clone()), captures, trace, keep_tcp_events: true };
    let mut world = match sc.build(&opts) {
        Ok(w) => w,
        Err(e @ netlab::scenario::BuildFailure::Io(_)) => {
            eprintln!("error: writing output: {e}");
            return ExitCode::from(3);
        }
        Err(e) => {
            eprintln!("error: {}: {e}", sc.file);
            return ExitCode::from(2);
        }
    };
    let seed = seed.unwrap_or(sc.seed);
    let limits = RunLimits {
        stop_at: Instant::ZERO + until.unwrap_or(sc.stop),
        max_events: sc.max_events.unwrap_or(u64::MAX),
        stop_when_apps_done: sc.stop_when_apps_done,
    };
    // Wall-clock time is measured here, in the CLI, only to report speed; the simulation never sees it.
    let wall_start = std::time::Instant::now();
    let bar = Progress::new(limits.stop_at);
    let outcome = world.run_with_progress(limits, &mut |t| bar.update(t, wall_start));
    bar.finish();
    let wall = wall_start.elapsed().as_secs_f64();
    let finish = world.finish();
    let report = RunReport::collect(&sc, seed, &world, outcome);
    let summary_path = out_dir.join("summary.json");
    let mut io_error = finish.err();
    match serde_json::to_vec_pretty(&report) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            if let Err(e) = std::fs::write(&summary_path, bytes) {
                io_error.get_or_insert(format!("{}: {e}", summary_path.display()));
            }
        }
        Err(e) => {
            io_error.get_or_insert(format!("summary: {e}"));
        }
    }
    if json {
        let v = serde_json::json!({ "report": report, "wall_seconds": wall, "out_dir": out_dir });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print!("{}", report.render(Some(wall)));
        println!("\noutput in {}/ (pcap files open in Wireshark; trace.jsonl; summary.json)", out_dir.display());
    }
    if let Some(e) = io_error {
        eprintln!("error: writing output: {e}");
        return ExitCode::from(3);
    }
    if report.passed { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// A progress bar on stderr, shown only on a terminal and only once a run has taken a second.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(stop: Instant) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = indicatif::ProgressBar::hidden();
        bar.set_length(stop.as_nanos() / 1_000_000);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} simulated {msg} [{bar:30}] {percent}% of the time limit, wall {elapsed}",
        ) {
            bar.set_style(style);
        }
        Progress { bar: Some(bar) }
    }
    fn update(&self, t: Instant, wall_start: std::time::Instant) {
        let Some(bar) = &self.bar else { return };
        if bar.is_hidden() && wall_start.elapsed().as_secs_f64() >= 1.0 {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        bar.set_position(t.as_nanos() / 1_000_000);
        bar.set_message(format!("{:.3}s", t.as_secs_f64()));
    }
    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
