//! The `netlab` command: parses arguments, calls the library, maps results to exit codes.
//! Exit codes: 0 = ran and every expectation held; 1 = an expectation failed; 2 = bad input (scenario
//! or arguments); 3 = an I/O problem while writing output; 4 = a stack under test failed (crashed,
//! hung, spoke garbage); 130 = interrupted (Ctrl-C or SIGTERM; the summary says `interrupted`).

use clap::{Parser, Subcommand};
use netlab::scenario::BuildOptions;
use netlab::sim::{Duration, Instant, time::parse_duration};
use netlab::world::StopReason;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

mod load_progress;

#[derive(Parser)]
#[command(
    name = "netlab",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("NETLAB_COMMIT"), ")"),
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
        /// The captures' format, overriding the scenario's `capture_format`: "pcap" or "pcapng"
        /// (each frame with a comment saying what became of it: dropped, duplicated, retransmitted).
        #[arg(long, value_parser = netlab::scenario::CaptureFormat::parse_cli)]
        capture_format: Option<netlab::scenario::CaptureFormat>,
        /// Write no trace (trace.nlt).
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
        seeds: netlab::sweep::SeedRange,
        /// Run only shard I of N (every N-th seed, from the I-th); merge shards with `sweep-merge`.
        #[arg(long, value_parser = netlab::sweep::parse_shard)]
        shard: Option<netlab::sweep::Shard>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Print the result as JSON (per seed: failed expectations with numbers, chosen metrics).
        #[arg(long)]
        json: bool,
        /// Also write the result as JUnit XML to this file.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Stop at the first failing seed.
        #[arg(long)]
        fail_fast: bool,
        /// Failed seeds printed in full (the rest are listed by number; default 10).
        #[arg(long)]
        show_failures: Option<usize>,
        /// A metric to give statistics for (repeatable): events, sim_time, line:N (a metric
        /// [[expect]]), app:NAME:METRIC or a network metric (default: events, sim_time and every
        /// metric [[expect]]).
        #[arg(long = "stat")]
        stats: Vec<String>,
    },
    /// Merge the JSON results of a sweep's shards (`sweep --shard I/N --json`) into the unsharded result.
    SweepMerge {
        /// The shards' JSON files, any order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// Also write the result as JUnit XML to this file.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Failed seeds printed in full (default 10).
        #[arg(long)]
        show_failures: Option<usize>,
    },
    /// Validate scenarios without running them.
    Check {
        /// The scenario files (TOML).
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Print every node's routing table (prefix, next hop, interface, origin) without running.
    Routes {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Only this node's table.
        #[arg(long)]
        node: Option<String>,
        /// Print the tables as JSON (as in summary.json's "routes").
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to standard output,
    /// e.g. `netlab completions bash > ~/.local/share/bash-completion/completions/netlab`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print netlab's manual page (roff) to standard output, e.g. `netlab man | man -l -`; with
    /// `--out DIR`, write netlab.1 and a page per subcommand (netlab-run.1, ...) there instead.
    Man {
        /// Write every page into this directory (created if missing).
        #[arg(long)]
        out: Option<PathBuf>,
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
    /// List the namespace hosts (`stack = "linux"`) of the live scenarios running now.
    Hosts,
    /// Run a command in a namespace host of a running live scenario, as Mininet's `h1 cmd`.
    Exec {
        /// The host's name in its scenario.
        host: String,
        /// The scenario, when several running ones have a host of that name.
        #[arg(long)]
        scenario: Option<String>,
        /// The command and its arguments (after `--`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<String>,
    },
    /// Draw a run's graphs: a connection's time-sequence (with the receive window), cwnd/ssthresh
    /// and SRTT/RTO graphs; every connection's cwnd and throughput on one chart each.
    Plot {
        /// A run directory (with trace.nlt or trace.jsonl, and summary.json) or a trace file.
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
    /// Work with a run's trace (trace.nlt, docs/trace-format.md).
    Trace {
        #[command(subcommand)]
        cmd: TraceCommand,
    },
}

#[derive(Subcommand)]
enum TraceCommand {
    /// Write a run's trace as JSON lines, exactly as trace.jsonl (to standard output).
    Export {
        /// A run directory or a trace file.
        run: PathBuf,
        /// As JSON lines (the one export format).
        #[arg(long, required = true)]
        jsonl: bool,
        /// Only this connection's TCP events: HOST:PORT, IP:PORT, HOST or :PORT.
        #[arg(long)]
        conn: Option<String>,
        /// Only this link's events (its name or index).
        #[arg(long)]
        link: Option<String>,
        /// Only from this simulated time on, e.g. 1.5s.
        #[arg(long, value_parser = netlab::sim::time::parse_duration)]
        from: Option<netlab::sim::Duration>,
        /// Only up to this simulated time, e.g. 3s.
        #[arg(long, value_parser = netlab::sim::time::parse_duration)]
        to: Option<netlab::sim::Duration>,
    },
}

/// The heap, on transparent huge pages where the system lets a program ask (see `HugePageHeap`).
#[global_allocator]
static HEAP: netlab::HugePageHeap = netlab::HugePageHeap;

fn main() -> ExitCode {
    netlab::HugePageHeap::enable();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A command line error is JSON too when --json was asked for (help and version are not errors).
        Err(e) if e.use_stderr() && std::env::args().any(|a| a == "--json") => {
            let msg = e.render().to_string();
            let first = msg.lines().next().unwrap_or_default().trim_start_matches("error: ");
            return ExitCode::from(netlab::sweep::cli::report_error(true, first, 2));
        }
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::Check { scenarios } => check(&scenarios),
        Command::Sweep { scenario, seeds, shard, jobs, json, junit, fail_fast, show_failures, stats } => {
            let how = netlab::sweep::cli::Presentation { json, junit, show_failures };
            sweep(scenario, seeds, shard, jobs, fail_fast, &stats, &how)
        }
        Command::SweepMerge { files, json, junit, show_failures } => {
            let how = netlab::sweep::cli::Presentation { json, junit, show_failures };
            ExitCode::from(netlab::sweep::cli::merge_files(&files, &how))
        }
        Command::Tui { args } => tui(args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "netlab",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Command::Man { out } => man(out),
        Command::Routes { scenario, node, json } => {
            ExitCode::from(netlab::routes::run_cli(&scenario, node.as_deref(), json))
        }
        Command::Script { files, stack, seed, out, tolerance } => {
            ExitCode::from(netlab::script::run_cli(&netlab::script::ScriptArgs {
                files,
                stack,
                seed,
                out,
                tolerance_ms: tolerance,
            }))
        }
        Command::Hosts => hosts(),
        Command::Exec { host, scenario, command } => exec(&host, scenario.as_deref(), &command),
        Command::Trace { cmd: TraceCommand::Export { run, jsonl: _, conn, link, from, to } } => trace_export(
            &run,
            &netlab::trace::export::Filter {
                conn,
                link,
                from: from.map(|d| d.as_nanos()),
                to: to.map(|d| d.as_nanos()),
            },
        ),
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
        Command::Run { scenario, seed, out, until, json, no_capture, capture_format, no_trace, stack } => {
            let opts = BuildOptions {
                seed,
                out_dir: out,
                captures: !no_capture,
                capture_format,
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
    // Under --json, errors are JSON objects on stdout too.
    let fail = |msg: String, code: u8| ExitCode::from(netlab::sweep::cli::report_error(json, &msg, code));
    if until.is_some_and(|u| u.is_zero()) {
        return fail("--until: expected a time limit greater than zero".into(), 2);
    }
    // From the start: a signal while the scenario loads stops the run before its first event,
    // with a summary, instead of killing the process.
    netlab::signal::install();
    let sc = match load_progress::load(&path) {
        Ok(sc) => sc,
        Err(e) => return fail(e.to_string(), 2),
    };
    let out_dir = opts.out_dir.take().unwrap_or_else(|| PathBuf::from("captures").join(&sc.name));
    opts.out_dir = Some(out_dir.clone());
    // Wall-clock time is measured here, in the CLI, only to report speed; the simulation never sees it.
    let wall_start = std::time::Instant::now();
    let bar = Progress::new(netlab::run::limits(&sc, until).stop_at);
    let result = if !sc.is_live() {
        // Ctrl-C and SIGTERM stop a simulated run between two events; the summary says so.
        netlab::run::run(&sc, &opts, until, &mut |t| bar.update(t, wall_start), &netlab::signal::interrupted)
    } else {
        netlab::run::live(&sc, &opts, until) // live bridges: real time
    };
    bar.finish();
    let wall = wall_start.elapsed().as_secs_f64();
    let finished = match result {
        Ok(f) => f,
        Err(e @ netlab::scenario::BuildFailure::Io(_)) => return fail(format!("writing output: {e}"), 3),
        Err(e @ netlab::scenario::BuildFailure::Stack(_)) => {
            return fail(format!("{}: {e}", sc.file), netlab::stack::EXIT_STACK_FAILED);
        }
        Err(e) => return fail(format!("{}: {e}", sc.file), 2),
    };
    let report = finished.report;
    let mut io_error = finished.output_error;
    // The world's external stacks end (and are waited for) here, so that their CPU time counts.
    drop(finished.world);
    let summary_path = out_dir.join("summary.json");
    // A summary is written only beside complete output (it would read as the run's result).
    match serde_json::to_vec_pretty(&report) {
        _ if io_error.is_some() => {}
        Ok(mut bytes) => {
            bytes.push(b'\n');
            if let Err(e) = netlab::output::write_whole(&summary_path, &bytes) {
                io_error.get_or_insert(e);
            }
        }
        Err(e) => {
            io_error.get_or_insert(format!("summary: {e}"));
        }
    }
    if let Some(e) = io_error {
        // The output is incomplete: say so, and nothing that reads as a result.
        let msg = format!(
            "writing output: {e}; the files in {}/ are incomplete, and the run's results are not reported",
            out_dir.display()
        );
        return fail(msg, 3);
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
        println!("\noutput in {}/ (pcap files open in Wireshark; trace.nlt; summary.json)", out_dir.display());
    }
    match report.outcome.reason {
        StopReason::StackFailed => {
            eprintln!("error: {}", report.outcome.error.as_deref().unwrap_or("the stack under test failed"));
            ExitCode::from(netlab::stack::EXIT_STACK_FAILED)
        }
        // Ctrl-C is how a live run normally ends; a simulated one it cuts short.
        StopReason::Interrupted if !sc.is_live() => ExitCode::from(130),
        _ if report.passed => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    }
}

/// `netlab check`: every file is checked, and every error of a file printed in file order; exit 2 if
/// any has an error.
fn check(files: &[PathBuf]) -> ExitCode {
    let mut bad = 0;
    for f in files {
        match load_progress::load_all(f) {
            Ok(sc) => println!(
                "{}: ok ({} nodes, {} links, {} applications, {} expectations)",
                f.display(),
                sc.nodes.len(),
                sc.links.len(),
                sc.apps.len(),
                sc.expects.len()
            ),
            Err(errors) => {
                for e in errors {
                    eprintln!("error: {e}");
                }
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

fn sweep(
    path: PathBuf,
    seeds: netlab::sweep::SeedRange,
    shard: Option<netlab::sweep::Shard>,
    jobs: Option<usize>,
    fail_fast: bool,
    stats: &[String],
    how: &netlab::sweep::cli::Presentation,
) -> ExitCode {
    use netlab::sweep::cli::{EXIT_BAD_INPUT, options, report_error};
    let loaded = load_progress::load(&path).map_err(|e| e.to_string());
    let opts = match loaded.and_then(|sc| options(&sc, seeds, shard, fail_fast, stats).map(|o| (sc, o))) {
        Ok(x) => x,
        Err(e) => return ExitCode::from(report_error(how.json, &e, EXIT_BAD_INPUT)),
    };
    let (sc, opts) = opts;
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {elapsed} elapsed, eta {eta}")
        {
            b.set_style(style);
        }
        b
    });
    let wall_start = std::time::Instant::now();
    let result = netlab::sweep::sweep(&sc, &opts, jobs, &|done, total| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let footer = format!(" in {:.2} s wall on {jobs} threads", wall_start.elapsed().as_secs_f64());
    ExitCode::from(netlab::sweep::cli::present(&result, how, &footer))
}

/// `netlab tui`: runs `netlab-tui` from next to this executable or from PATH with the same arguments.
/// `netlab man`: the manual page (roff), with every subcommand and its summary; or, with a
/// directory, every page (the command's and each subcommand's) written there.
fn man(out: Option<PathBuf>) -> ExitCode {
    let cmd = <Cli as clap::CommandFactory>::command();
    let written = match &out {
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout().lock()),
        Some(dir) => std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir)),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let place = out.map_or("standard output".to_string(), |d| d.display().to_string());
            eprintln!("error: writing the manual pages to {place}: {e}");
            ExitCode::from(3)
        }
    }
}

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
        eprintln!("or install it beside netlab:  cargo install --path tui");
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

/// `netlab trace export --jsonl`: the run's trace as JSON lines on standard output.
fn trace_export(run: &std::path::Path, f: &netlab::trace::export::Filter) -> ExitCode {
    let (trace, summary) = netlab::trace::read::run_files(run);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let r = netlab::trace::read::Topology::read(&summary)
        .and_then(|topo| netlab::trace::export::export_jsonl(&trace, &topo, f, &mut out));
    match r {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
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

/// `netlab hosts`: one line per namespace host of a running live scenario.
fn hosts() -> ExitCode {
    let all = netlab::bridge::netns::running();
    if all.is_empty() {
        println!("no live scenario with namespace hosts is running");
    }
    for r in all {
        println!("{:<12} {:<20} namespace {:<20} netlab pid {}", r.host, r.scenario, r.ns, r.pid);
    }
    ExitCode::SUCCESS
}

/// `netlab exec HOST -- CMD...`: becomes `ip netns exec NS CMD...` (same terminal, same exit code).
fn exec(host: &str, scenario: Option<&str>, command: &[String]) -> ExitCode {
    use std::os::unix::process::CommandExt;
    match netlab::bridge::netns::exec_command(host, scenario, command) {
        Ok(line) => {
            let e = std::process::Command::new(&line[0]).args(&line[1..]).exec();
            eprintln!("error: cannot run {}: {e}", line.join(" "));
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
