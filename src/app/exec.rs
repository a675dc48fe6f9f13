//! A program in a namespace host (`kind = "exec"`). The application itself only keeps time: at its
//! start it asks for the program (its `ExecSlot` becomes `Due`), then waits for the outcome. The
//! live runner (src/bridge/netns/) starts the program in the host's network namespace, writes its
//! stdout and stderr to files and hands the outcome back through the slot. The application prints
//! the output (for the summary and `output_contains`), reports `exit_code`, and fails if the program
//! did not exit with status 0.

use crate::sim::Duration;
use crate::world::Host;
use std::sync::{Arc, Mutex};

/// How often the waiting application looks at its slot (wall time in a live run).
const POLL: Duration = Duration::from_millis(10);
/// Output lines copied into the summary per stream; the files have everything.
const SUMMARY_LINES: usize = 200;

/// The program to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// The program and its arguments (a shell command is `["sh", "-c", "..."]`).
    pub argv: Vec<String>,
    /// Its working directory (default: netlab's).
    pub cwd: Option<String>,
    /// Variables added to its environment.
    pub env: Vec<(String, String)>,
    /// Text written to its standard input (else it reads nothing: /dev/null).
    pub stdin: Option<String>,
}

/// How a program ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutcome {
    /// Its exit status, or 128 + the signal that killed it.
    pub exit_code: i32,
    /// Its standard output (lossy UTF-8).
    pub stdout: String,
    /// Its standard error (lossy UTF-8).
    pub stderr: String,
    /// It could not be started, and why.
    pub error: Option<String>,
}

/// Where the application and the live runner meet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ExecState {
    /// Before the start time.
    #[default]
    Waiting,
    /// The start time came: the runner should start the program.
    Due,
    /// The runner started it.
    Running,
    /// It ended.
    Done(ExecOutcome),
}

/// The shared state of one exec application.
#[derive(Debug, Clone, Default)]
pub struct ExecSlot(Arc<Mutex<ExecState>>);

impl ExecSlot {
    /// The current state.
    pub fn get(&self) -> ExecState {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sets the state.
    pub fn set(&self, state: ExecState) {
        if let Ok(mut s) = self.0.lock() {
            *s = state;
        }
    }
}

/// Asks for the program and waits for it to end; prints its output.
pub async fn exec(ctx: Host, slot: ExecSlot) -> Result<(), String> {
    slot.set(ExecState::Due);
    let outcome = loop {
        if let ExecState::Done(o) = slot.get() {
            break o;
        }
        ctx.sleep(POLL).await;
    };
    if let Some(e) = outcome.error {
        return Err(e);
    }
    for (stream, text) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
        let lines: Vec<&str> = text.lines().collect();
        for l in lines.iter().take(SUMMARY_LINES) {
            ctx.print(if stream == "stdout" { (*l).to_string() } else { format!("stderr: {l}") });
        }
        if lines.len() > SUMMARY_LINES {
            ctx.print(format!("... {} more lines of {stream} in the output file", lines.len() - SUMMARY_LINES));
        }
    }
    ctx.metric("exit_code", f64::from(outcome.exit_code));
    match outcome.exit_code {
        0 => Ok(()),
        c if c > 128 => Err(format!("killed by signal {}", c - 128)),
        c => Err(format!("exited with status {c}")),
    }
}
