//! The `netlab` command: parses arguments, calls the library, maps results to exit codes.
//! Exit codes: 0 = ran and every expectation held; 1 = an expectation failed; 2 = bad input (scenario
//! or arguments); 3 = an I/O problem while writing output; 4 = a stack under test failed (crashed,
//! hung, spoke garbage); 130 = interrupted (Ctrl-C or SIGTERM; the summary says `interrupted`).

use clap::{Parser, Subcommand};
use netlab::scenario::{BuildOptions, Scenario};
use netlab::sim::{Duration, Instant, time::parse_duration};
use netlab::world::StopReason;
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
        /// The stack of every host whose scenario entry pins none: "netlab", "smoltcp", or a command
        /// that starts an external stack (docs/stack-protocol.md), e.g. "./my-adapter --flag".
        #[arg(long, value_parser = netlab::stack::StackChoice::parse_cli)]
        stack: Option<netlab::stack::StackChoice>,
    },
    /// Serve netlab's own TCP/IP stack on stdin/stdout with the external stack protocol
    /// (docs/stack-protocol.md): the protocol's reference adapter.
    StackAdapter,
    /// Run a scenario over many seeds on all cores; report the seeds whose expectations fail.
    Sweep {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Seeds to run, FIRST..LAST inclusive (e.g. 1..1000).
        #[arg(long, default_value = "1..100", value_parser = netlab::sweep::parse_seeds)]
        seeds: std::ops::RangeInclusive<u64>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate scenarios without running them.
    Check {
        /// The scenario files (TOML).
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Watch a run in the terminal viewer (netlab-tui): a scenario, a run directory or a trace.jsonl.
    Tui {
        /// Arguments for netlab-tui: <scenario.toml | run-dir | trace.jsonl> [--seed N]
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<std::ffi::OsString>,
    },
    /// Run a packetdrill-syntax packet script against a stack (docs/scripts.md).
    Script {
        /// The scripts (.pkt), run one after the other.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The stack under test (default: netlab).
        #[arg(long)]
        stack: Option<String>,
        /// Seed of the stack's ISN key.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory for the pcap (default: captures/script-<name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Timing tolerance in milliseconds (default: the script's --tolerance_usecs, else 25).
        #[arg(long)]
        tolerance: Option<u64>,
    },
    /// Draw a run's graphs: a connection's time-sequence (with the receive window), cwnd/ssthresh
    /// and SRTT/RTO graphs; every connection's cwnd and throughput on one chart each.
    Plot {
        /// A run directory (with trace.jsonl and summary.json) or a trace.jsonl.
        run: PathBuf,
        /// The connection: HOST:PORT (host name and local port), IP:PORT or HOST (default: the first).
        #[arg(long)]
        conn: Option<String>,
        /// Where to write the files (default: the run's directory).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only from this simulated time on, e.g. 1.5s.
        #[arg(long, value_parser = netlab::sim::time::parse_duration)]
        from: Option<netlab::sim::Duration>,
        /// Only up to this simulated time, e.g. 3s.
        #[arg(long, value_parser = netlab::sim::time::parse_duration)]
        to: Option<netlab::sim::Duration>,
        /// File format: svg, png or both.
        #[arg(long, default_value = "svg", value_parser = ["svg", "png", "both"])]
        format: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { scenarios } => check(&scenarios),
        Command::Sweep { scenario, seeds, jobs, json } => sweep(scenario, seeds, jobs, json),
        Command::Tui { args } => tui(args),
        Command::Script { files, stack, seed, out, tolerance } => {
            ExitCode::from(netlab::script::run_cli(&netlab::script::ScriptArgs {
                files,
                stack,
                seed,
                out,
                tolerance_ms: tolerance,
            }))
        }
        Command::Plot { run, conn, out, from, to, format } => plot(
            run,
            netlab::report::plot::PlotOptions {
                conn,
                out,
                from: from.map(|d| d.as_nanos()),
                to: to.map(|d| d.as_nanos()),
                png: format != "svg",
                no_svg: format == "png",
            },
        ),
        Command::Run { scenario, seed, out, until, json, no_capture, no_trace, stack } => {
            let opts = BuildOptions {
                seed,
                out_dir: out,
                captures: !no_capture,
                trace: !no_trace,
                stack,
                keep_tcp_events: true,
            };
            run(scenario, opts, until, json)
        }
        Command::StackAdapter => match netlab::stack::adapter::serve(std::io::stdin().lock(), std::io::stdout().lock())
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("netlab stack-adapter: {e}");
                ExitCode::from(1)
            }
        },
    }
}

fn run(path: PathBuf, mut opts: BuildOptions, until: Option<Duration>, json: bool) -> ExitCode {
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
    let out_dir = opts.out_dir.take().unwrap_or_else(|| PathBuf::from("captures").join(&sc.name));
    opts.out_dir = Some(out_dir.clone());
    // Wall-clock time is measured here, in the CLI, only to report speed; the simulation never sees it.
    let wall_start = std::time::Instant::now();
    let bar = Progress::new(netlab::run::limits(&sc, until).stop_at);
    let result = if sc.bridges.is_empty() {
        // Ctrl-C and SIGTERM stop a simulated run between two events; the summary says so.
        netlab::signal::install();
        netlab::run::run(&sc, &opts, until, &mut |t| bar.update(t, wall_start), &netlab::signal::interrupted)
    } else {
        netlab::run::live(&sc, &opts, until) // live bridges: real time
    };
    bar.finish();
    let wall = wall_start.elapsed().as_secs_f64();
    let finished = match result {
        Ok(f) => f,
        Err(e @ netlab::scenario::BuildFailure::Io(_)) => {
            eprintln!("error: writing output: {e}");
            return ExitCode::from(3);
        }
        Err(e @ netlab::scenario::BuildFailure::Stack(_)) => {
            eprintln!("error: {}: {e}", sc.file);
            return ExitCode::from(netlab::stack::EXIT_STACK_FAILED);
        }
        Err(e) => {
            eprintln!("error: {}: {e}", sc.file);
            return ExitCode::from(2);
        }
    };
    let report = finished.report;
    let mut io_error = finished.output_error;
    // The world's external stacks end (and are waited for) here, so that their CPU time counts.
    drop(finished.world);
    let summary_path = out_dir.join("summary.json");
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
        // CPU time of netlab itself and of the processes it ran (external stacks): benchmarks
        // tell the two apart with it (scenarios/bench/external-step.sh).
        let (cpu_netlab, cpu_children) = netlab::cpu_time();
        let cpu = serde_json::json!({ "netlab": cpu_netlab, "children": cpu_children });
        let v = serde_json::json!({ "report": report, "wall_seconds": wall, "cpu_seconds": cpu, "out_dir": out_dir });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print!("{}", report.render(Some(wall)));
        println!("\noutput in {}/ (pcap files open in Wireshark; trace.jsonl; summary.json)", out_dir.display());
    }
    if let Some(e) = io_error {
        eprintln!("error: writing output: {e}");
        return ExitCode::from(3);
    }
    match report.outcome.reason {
        StopReason::StackFailed => {
            eprintln!("error: {}", report.outcome.error.as_deref().unwrap_or("the stack under test failed"));
            ExitCode::from(netlab::stack::EXIT_STACK_FAILED)
        }
        // Ctrl-C is how a live run normally ends; a simulated one it cuts short.
        StopReason::Interrupted if sc.bridges.is_empty() => ExitCode::from(130),
        _ if report.passed => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    }
}

/// `netlab check`: every file is checked; exit 2 if any has an error.
fn check(files: &[PathBuf]) -> ExitCode {
    let mut bad = 0;
    for f in files {
        match Scenario::load(f) {
            Ok(sc) => println!(
                "{}: ok ({} nodes, {} links, {} applications, {} expectations)",
                f.display(),
                sc.nodes.len(),
                sc.links.len(),
                sc.apps.len(),
                sc.expects.len()
            ),
            Err(e) => {
                eprintln!("error: {e}");
                bad += 1;
            }
        }
    }
    if bad > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS }
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

fn sweep(path: PathBuf, seeds: std::ops::RangeInclusive<u64>, jobs: Option<usize>, json: bool) -> ExitCode {
    let sc = match Scenario::load(&path) {
        Ok(sc) => sc,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let total = seeds.end() - seeds.start() + 1;
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(total);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {elapsed} elapsed, eta {eta}")
        {
            b.set_style(style);
        }
        Some(b)
    } else {
        None
    };
    let wall_start = std::time::Instant::now();
    let result = netlab::sweep::sweep(&sc, seeds, jobs, &|done| {
        if let Some(b) = &bar {
            b.set_position(done);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let wall = wall_start.elapsed().as_secs_f64();
    if json {
        let v = serde_json::json!({ "result": result, "wall_seconds": wall, "jobs": jobs });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        for f in &result.failures {
            println!("seed {} FAILED (reproduce: netlab run {} --seed {})", f.seed, path.display(), f.seed);
            for p in &f.problems {
                println!("    {p}");
            }
        }
        println!(
            "{}: {} seeds, {} passed, {} failed; {} events in {wall:.2} s wall on {jobs} threads",
            result.scenario,
            result.seeds,
            result.passed,
            result.failures.len(),
            result.events
        );
    }
    if result.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// `netlab tui`: runs `netlab-tui` from next to this executable or from PATH with the same arguments.
fn tui(args: Vec<std::ffi::OsString>) -> ExitCode {
    let exe = format!("netlab-tui{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join(&exe))).filter(|p| p.is_file());
    let on_path = || {
        std::env::var_os("PATH")
            .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(&exe)).find(|p| p.is_file()))
    };
    let Some(bin) = beside.or_else(on_path) else {
        eprintln!("error: the terminal viewer netlab-tui is not built (looked next to this executable and on PATH).");
        eprintln!(
            "Build and run it with:  cargo run --release -p netlab-tui -- <scenario.toml | run-dir | trace.jsonl>"
        );
        eprintln!("or build it once with:  cargo build --release -p netlab-tui   (then `netlab tui ...` finds it)");
        return ExitCode::from(2);
    };
    #[cfg(unix)]
    {
        // Replace this process, so the viewer owns the terminal and its exit code is ours.
        let e = std::os::unix::process::CommandExt::exec(std::process::Command::new(&bin).args(&args));
        eprintln!("error: running {}: {e}", bin.display());
        ExitCode::from(2)
    }
    #[cfg(not(unix))]
    match std::process::Command::new(&bin).args(&args).status() {
        Ok(status) => ExitCode::from(status.code().map_or(1, |c| u8::try_from(c).unwrap_or(1))),
        Err(e) => {
            eprintln!("error: running {}: {e}", bin.display());
            ExitCode::from(2)
        }
    }
}

/// `netlab plot`: writes a run's graphs as SVG and/or PNG files.
fn plot(run: PathBuf, opts: netlab::report::plot::PlotOptions) -> ExitCode {
    match netlab::report::plot::plot_run_with(&run, &opts) {
        Ok(files) => {
            for f in files {
                println!("wrote {}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
