//! `netlab script FILE.pkt... [--stack NAME] [--seed N] [--out DIR] [--tolerance MS]`: runs scripts,
//! prints packetdrill's report on a mismatch, writes `DIR/<name>.pcap`. Exit codes as the rest of
//! netlab: 0 passed, 1 the stack did not do what the script says, 2 bad script or arguments,
//! 3 the capture could not be written, 4 the stack under test failed as a whole (crashed, hung).

use super::runner::{RunSettings, run};
use crate::output::Capture;
use crate::sim::Duration;
use crate::stack::external::{ExternalConfig, ExternalStack};
use crate::stack::{NetlabStack, Stack};
use crate::tcp::TcpConfig;
use std::path::{Path, PathBuf};

/// The command's arguments (parsed by the binary with clap).
#[derive(Debug, Clone)]
pub struct ScriptArgs {
    /// One or more scripts, run one after the other, each on a fresh stack.
    pub files: Vec<PathBuf>,
    /// "netlab" (default). Other stacks of the stack boundary plug in here.
    pub stack: Option<String>,
    /// Seeds the stack's ISN key.
    pub seed: u64,
    /// Output directory (default: `captures/script-<name>/`).
    pub out: Option<PathBuf>,
    /// Overrides the script's `--tolerance_usecs` and the default of 25 ms.
    pub tolerance_ms: Option<u64>,
}

/// The default tolerance (the choice; packetdrill's compiled-in default is 4 ms).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_millis(25);

/// The stack named on the command line, built with `seed`: `netlab`, `smoltcp` (with the cargo
/// feature of that name), or else a command line (split at spaces) of a program speaking
/// docs/stack-protocol.md.
pub fn make_stack(name: &str, seed: u64) -> Result<Box<dyn Stack>, String> {
    match name {
        "netlab" => Ok(Box::new(NetlabStack::new(seed, TcpConfig::default()))),
        #[cfg(feature = "smoltcp")]
        "smoltcp" => Ok(Box::new(crate::stack::SmoltcpStack::new(seed, TcpConfig::default()))),
        command => {
            let argv: Vec<String> = command.split_whitespace().map(str::to_string).collect();
            if argv.is_empty() {
                return Err("--stack needs a name (netlab, smoltcp) or a command".into());
            }
            let cfg = ExternalConfig::new(argv, "script", seed, TcpConfig::default());
            ExternalStack::spawn(cfg).map(|s| Box::new(s) as Box<dyn Stack>).map_err(|e| e.to_string())
        }
    }
}

/// Runs the command; returns the exit code (with several scripts: the highest of theirs). Reports
/// go to stdout, errors to stderr; several scripts end with a count of those that passed.
pub fn run_cli(args: &ScriptArgs) -> u8 {
    let mut worst = 0;
    let mut passed = 0;
    for file in &args.files {
        let code = match run_file(args, file) {
            Ok((code, text)) => {
                print!("{text}");
                code
            }
            Err((code, text)) => {
                eprintln!("{text}");
                code
            }
        };
        passed += usize::from(code == 0);
        worst = worst.max(code);
    }
    if args.files.len() > 1 {
        println!("{passed} of {} scripts passed", args.files.len());
    }
    worst
}

type CliResult = Result<(u8, String), (u8, String)>;

fn run_file(args: &ScriptArgs, path: &Path) -> CliResult {
    let name = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| (2, format!("{name}: {e}")))?;
    let script = super::parse(&name, &src).map_err(|e| (2, e.to_string()))?;
    let tolerance = match args.tolerance_ms {
        Some(ms) => Duration::from_millis(ms),
        None => script_tolerance(&script).map_err(|e| (2, format!("{name}: {e}")))?.unwrap_or(DEFAULT_TOLERANCE),
    };
    let mut stack = make_stack(args.stack.as_deref().unwrap_or("netlab"), args.seed).map_err(|e| (2, e))?;
    let out = args.out.clone().unwrap_or_else(|| default_out(path));
    std::fs::create_dir_all(&out).map_err(|e| (3, format!("{}: {e}", out.display())))?;
    let pcap = out.join(format!("{}.pcap", stem(path)));
    let file = std::fs::File::create(&pcap).map_err(|e| (3, format!("{}: {e}", pcap.display())))?;
    let capture = Capture::new(pcap.display().to_string(), Box::new(std::io::BufWriter::new(file)))
        .map_err(|e| (3, format!("{}: {e}", pcap.display())))?;
    let report = run(&script, stack.as_mut(), RunSettings { file: name.clone(), tolerance, capture: Some(capture) });
    let mut text = String::new();
    if let Some(e) = stack.failure() {
        return Err((crate::stack::EXIT_STACK_FAILED, format!("{name}: the stack under test failed: {e}")));
    }
    for n in &report.notes {
        text.push_str(&format!("note: {n}\n"));
    }
    if let Some(e) = &report.capture_error {
        return Err((3, format!("{text}capture: {e}")));
    }
    let summary = format!(
        "{} packets in, {} out, ended at {:.6} s; capture {}",
        report.packets_in,
        report.packets_out,
        report.end.as_secs_f64(),
        pcap.display()
    );
    match report.failure {
        Some(f) => Err((1, format!("{text}{}\nFAIL {name} on {} ({summary})", f.text, stack.name()))),
        None => Ok((0, format!("{text}PASS {name} on {} ({summary})\n", stack.name()))),
    }
}

/// `--tolerance_usecs=N` in the script's header.
pub fn script_tolerance(script: &super::ast::Script) -> Result<Option<Duration>, String> {
    for o in &script.options {
        if o.name == "tolerance_usecs" {
            let v = o.value.as_deref().unwrap_or("");
            let us: u64 =
                v.parse().map_err(|_| format!("--tolerance_usecs needs a number of microseconds, not `{v}`"))?;
            return Ok(Some(Duration::from_micros(us)));
        }
    }
    Ok(None)
}

fn stem(file: &Path) -> String {
    file.file_stem().map_or_else(|| "script".into(), |s| s.to_string_lossy().into_owned())
}

fn default_out(file: &Path) -> PathBuf {
    PathBuf::from("captures").join(format!("script-{}", stem(file)))
}
