//! A program in a namespace host (`kind = "exec"`). The application itself only keeps time: at its
//! start it asks for the program (its `ExecSlot` becomes `Due`), then waits for the outcome. The
//! live runner (src/bridge/netns/) starts the program in the host's network namespace, writes its
//! stdout and stderr to files, copies what they hold into the slot as the program runs, and hands
//! the outcome back through the slot. The application prints the output line by line as it comes
//! (for the summary and `output_contains`; a server's too, up to the end of the run), reports
//! `exit_code`, and fails if the program did not exit with status 0.

use crate::sim::Duration;
use crate::world::Host;
use std::sync::{Arc, Mutex};

/// How often the waiting application looks at its slot (wall time in a live run).
const POLL: Duration = Duration::from_millis(10);
/// Output lines copied into the summary per stream; the files have everything.
const SUMMARY_LINES: usize = 200;
/// Output bytes kept in memory per stream (enough for the summary's lines).
const KEEP_BYTES: usize = 256 * 1024;

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
    /// It could not be started (or waited for), and why.
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

/// The program's two output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout = 0,
    /// Standard error.
    Stderr = 1,
}

#[derive(Debug, Default)]
struct Shared {
    state: ExecState,
    /// The start of each stream, at most `KEEP_BYTES`.
    output: [Vec<u8>; 2],
}

/// The shared state of one exec application.
#[derive(Debug, Clone, Default)]
pub struct ExecSlot(Arc<Mutex<Shared>>);

impl ExecSlot {
    fn with<T>(&self, f: impl FnOnce(&mut Shared) -> T) -> T {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// The current state.
    pub fn get(&self) -> ExecState {
        self.with(|s| s.state.clone())
    }

    /// Sets the state; back to `Waiting` also forgets the output (a new run).
    pub fn set(&self, state: ExecState) {
        self.with(|s| {
            if state == ExecState::Waiting {
                *s = Shared::default();
            }
            s.state = state;
        });
    }

    /// Appends to `stream` what `read(offset, max)` returns: the bytes the program wrote from
    /// `offset` on (at most `max`), while the slot is locked, so that two readers never append the
    /// same bytes twice. Nothing once enough is kept for the summary.
    pub fn append_from(&self, stream: Stream, read: impl FnOnce(u64, usize) -> Vec<u8>) {
        self.with(|s| {
            let out = &mut s.output[stream as usize];
            let room = KEEP_BYTES.saturating_sub(out.len());
            if room > 0 {
                let more = read(out.len() as u64, room);
                out.extend_from_slice(&more[..more.len().min(room)]);
            }
        });
    }

    /// The lines of `stream` kept after byte `from`, and where the next call starts: complete
    /// lines only, unless `all` (the program ended).
    fn lines(&self, stream: Stream, from: usize, all: bool) -> (Vec<String>, usize) {
        self.with(|s| {
            let out = &s.output[stream as usize];
            let rest = out.get(from..).unwrap_or_default();
            let end = if all { rest.len() } else { rest.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) };
            let text = String::from_utf8_lossy(&rest[..end]);
            (text.lines().map(str::to_string).collect(), from + end)
        })
    }
}

/// Prints the program's new output lines (at most `SUMMARY_LINES` per stream).
struct Printer {
    from: [usize; 2],
    printed: [usize; 2],
}

impl Printer {
    fn print(&mut self, ctx: &Host, slot: &ExecSlot, all: bool) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let i = stream as usize;
            let (lines, next) = slot.lines(stream, self.from[i], all);
            self.from[i] = next;
            for l in lines {
                if self.printed[i] < SUMMARY_LINES {
                    ctx.print(if stream == Stream::Stdout { l } else { format!("stderr: {l}") });
                }
                self.printed[i] += 1;
            }
            if all && self.printed[i] > SUMMARY_LINES {
                let name = if stream == Stream::Stdout { "stdout" } else { "stderr" };
                ctx.print(format!("... {} more lines of {name} in the output file", self.printed[i] - SUMMARY_LINES));
            }
        }
    }
}

/// Asks for the program, prints its output as it comes, and waits for it to end.
pub async fn exec(ctx: Host, slot: ExecSlot) -> Result<(), String> {
    slot.set(ExecState::Due);
    let mut printer = Printer { from: [0; 2], printed: [0; 2] };
    let outcome = loop {
        if let ExecState::Done(o) = slot.get() {
            break o;
        }
        printer.print(&ctx, &slot, false);
        ctx.sleep(POLL).await;
    };
    printer.print(&ctx, &slot, true);
    if let Some(e) = outcome.error {
        return Err(e);
    }
    ctx.metric("exit_code", f64::from(outcome.exit_code));
    match outcome.exit_code {
        0 => Ok(()),
        c if c > 128 => Err(format!("killed by signal {}", c - 128)),
        c => Err(format!("exited with status {c}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(slot: &ExecSlot, stream: Stream, text: &str) {
        let kept = slot.with(|s| s.output[stream as usize].len());
        slot.append_from(stream, |offset, _| {
            assert_eq!(offset as usize, kept, "reading goes on where it stopped");
            text.as_bytes().to_vec()
        });
    }

    #[test]
    fn output_comes_out_in_whole_lines_and_the_rest_at_the_end() {
        let slot = ExecSlot::default();
        append(&slot, Stream::Stdout, "first line\nsecond ");
        let (lines, next) = slot.lines(Stream::Stdout, 0, false);
        assert_eq!(lines, ["first line"]);
        assert_eq!(next, 11);
        append(&slot, Stream::Stdout, "half\nno newline at the end");
        let (lines, next) = slot.lines(Stream::Stdout, next, false);
        assert_eq!(lines, ["second half"]);
        let (lines, _) = slot.lines(Stream::Stdout, next, true);
        assert_eq!(lines, ["no newline at the end"]);
        assert_eq!(slot.lines(Stream::Stderr, 0, true).0, Vec::<String>::new());
    }

    #[test]
    fn only_the_start_of_a_huge_output_is_kept() {
        let slot = ExecSlot::default();
        let line = "x".repeat(1023) + "\n";
        for _ in 0..(KEEP_BYTES / 1024 + 10) {
            slot.append_from(Stream::Stderr, |_, max| line.as_bytes()[..line.len().min(max)].to_vec());
        }
        assert_eq!(slot.with(|s| s.output[1].len()), KEEP_BYTES);
        let (lines, _) = slot.lines(Stream::Stderr, 0, true);
        assert_eq!(lines.len(), KEEP_BYTES / 1024);
    }

    #[test]
    fn a_new_run_starts_from_a_clean_slot() {
        let slot = ExecSlot::default();
        append(&slot, Stream::Stdout, "old\n");
        slot.set(ExecState::Done(ExecOutcome::default()));
        slot.set(ExecState::Waiting);
        assert_eq!(slot.get(), ExecState::Waiting);
        assert!(slot.lines(Stream::Stdout, 0, true).0.is_empty());
    }
}
