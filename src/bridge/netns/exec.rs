//! Programs in namespace hosts (`kind = "exec"`): started with `ip netns exec NS ...` in a process
//! group of their own when their application asks (its slot is `Due`), with stdout and stderr
//! going to `APP.stdout` / `APP.stderr` in the output directory. A waiter thread per program hands
//! the outcome back through the slot and wakes the event loop. At the end of the run every group
//! still running gets SIGTERM, then SIGKILL.

use super::super::Input;
use crate::app::exec::{ExecOutcome, ExecRequest, ExecSlot, ExecState, Stream};
use std::io::{Read, Seek};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::SyncSender;

/// One exec application of the scenario.
pub(super) struct Program {
    /// The application's name.
    pub app: String,
    /// The namespace it runs in.
    pub ns: String,
    pub request: ExecRequest,
    pub slot: ExecSlot,
    /// Its process group once started.
    pub pgid: Option<i32>,
}

/// How often the output files of running programs are read into their slots.
const TAIL_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// The output file of `app`'s `stream`.
fn output_path(out_dir: &Path, app: &str, stream: Stream) -> PathBuf {
    out_dir.join(format!("{app}.{}", if stream == Stream::Stdout { "stdout" } else { "stderr" }))
}

/// Copies what the program added to its output files into its slot.
fn tail(slot: &ExecSlot, out_dir: &Path, app: &str) {
    for stream in [Stream::Stdout, Stream::Stderr] {
        slot.append_from(stream, |offset, max| {
            let mut more = Vec::new();
            if let Ok(mut f) = std::fs::File::open(output_path(out_dir, app, stream))
                && f.seek(std::io::SeekFrom::Start(offset)).is_ok()
            {
                let _ = f.take(max as u64).read_to_end(&mut more);
            }
            more
        });
    }
}

/// The programs of a run.
pub(super) struct Programs {
    pub list: Vec<Program>,
    out_dir: PathBuf,
    tx: SyncSender<Input>,
    waiters: Vec<std::thread::JoinHandle<()>>,
    last_tail: Option<std::time::Instant>,
}

/// What arrives on the input channel when a program ends: it wakes the event loop, nothing more.
pub(super) const WAKE: usize = usize::MAX;

impl Programs {
    pub fn new(list: Vec<Program>, out_dir: PathBuf, tx: SyncSender<Input>) -> Programs {
        Programs { list, out_dir, tx, waiters: Vec::new(), last_tail: None }
    }

    /// Copies new output of the running programs into their slots (every `TAIL_EVERY` at most).
    pub fn tail_running(&mut self) {
        if self.last_tail.is_some_and(|t| t.elapsed() < TAIL_EVERY) {
            return;
        }
        self.last_tail = Some(std::time::Instant::now());
        for p in self.list.iter().filter(|p| p.slot.get() == ExecState::Running) {
            tail(&p.slot, &self.out_dir, &p.app);
        }
    }

    /// Starts every program whose application asked for it; true if any started.
    pub fn start_due(&mut self) -> bool {
        let mut started = false;
        for i in 0..self.list.len() {
            if self.list[i].slot.get() != ExecState::Due {
                continue;
            }
            started = true;
            let p = &mut self.list[i];
            p.slot.set(ExecState::Running);
            match spawn(p, &self.out_dir, self.tx.clone()) {
                Ok((pgid, waiter)) => {
                    p.pgid = Some(pgid);
                    self.waiters.push(waiter);
                }
                Err(e) => p.slot.set(ExecState::Done(ExecOutcome { error: Some(e), ..Default::default() })),
            }
        }
        started
    }

    /// Stops every program still running (SIGTERM, then SIGKILL after a grace period) and waits for
    /// the waiter threads. Notes for the user.
    pub fn stop_all(&mut self) -> Vec<String> {
        let running: Vec<(String, i32)> = self
            .list
            .iter()
            .filter(|p| matches!(p.slot.get(), ExecState::Running))
            .filter_map(|p| p.pgid.map(|g| (p.app.clone(), g)))
            .collect();
        for (_, g) in &running {
            crate::sys::kill(-g, libc::SIGTERM);
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while std::time::Instant::now() < deadline && self.waiters.iter().any(|w| !w.is_finished()) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        for (_, g) in &running {
            crate::sys::kill(-g, libc::SIGKILL);
        }
        for w in self.waiters.drain(..) {
            let _ = w.join();
        }
        running.into_iter().map(|(app, _)| format!("exec {app}: stopped at the end of the run")).collect()
    }
}

fn spawn(p: &Program, out_dir: &Path, tx: SyncSender<Input>) -> Result<(i32, std::thread::JoinHandle<()>), String> {
    let file = |stream: Stream| {
        let path = output_path(out_dir, &p.app, stream);
        std::fs::File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))
    };
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &p.ns]).args(&p.request.argv);
    if let Some(d) = &p.request.cwd {
        cmd.current_dir(d);
    }
    cmd.envs(p.request.env.iter().map(|(k, v)| (k, v)))
        .stdin(if p.request.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(file(Stream::Stdout)?)
        .stderr(file(Stream::Stderr)?)
        .process_group(0);
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {:?} in {}: {e}", p.request.argv, p.ns))?;
    let pgid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    if let (Some(text), Some(mut stdin)) = (p.request.stdin.clone(), child.stdin.take()) {
        // A thread of its own: a program that reads slowly (or never) must not hold up the run.
        std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut stdin, text.as_bytes());
        });
    }
    let (slot, out_dir, app) = (p.slot.clone(), out_dir.to_path_buf(), p.app.clone());
    let waiter = std::thread::Builder::new()
        .name(format!("netlab-exec-{}", p.app))
        .spawn(move || {
            let status = child.wait();
            tail(&slot, &out_dir, &app);
            let outcome = match status {
                Ok(s) => {
                    ExecOutcome { exit_code: s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)), error: None }
                }
                Err(e) => ExecOutcome { error: Some(format!("waiting for the program: {e}")), ..Default::default() },
            };
            slot.set(ExecState::Done(outcome));
            let _ = tx.send(Input { bridge: WAKE, data: Vec::new(), from_peer: false });
        })
        .map_err(|e| e.to_string())?;
    Ok((pgid, waiter))
}
