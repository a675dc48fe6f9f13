//! The viewer in a real terminal: started under tmux, driven with send-keys, read back with
//! capture-pane. Needs tmux; CI installs it and sets NETLAB_REQUIRE_TMUX=1 (then a missing tmux is a
//! failure), elsewhere the test says it skipped. Also: bad input gives exit code 2 and a message.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.0]).output();
    }
}

fn capture(s: &Session) -> String {
    let out = Command::new("tmux").args(["capture-pane", "-p", "-t", &s.0]).output().expect("tmux capture-pane");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits (bounded) until the pane satisfies `ok`; returns the pane.
fn wait_until(s: &Session, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let pane = capture(s);
        if ok(&pane) {
            return pane;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "timed out waiting for {what}; the pane shows:\n{pane}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits (bounded) until the pane shows `text`; returns the pane.
fn wait_for(s: &Session, text: &str) -> String {
    wait_until(s, text, |p| p.contains(text))
}

fn keys(s: &Session, keys: &[&str]) {
    let mut args = vec!["send-keys", "-t", s.0.as_str()];
    args.extend_from_slice(keys);
    assert!(Command::new("tmux").args(&args).status().unwrap().success());
}

/// Whether tmux is there; without it the test skips, unless NETLAB_REQUIRE_TMUX says it must not.
fn have_tmux() -> bool {
    if Command::new("tmux").arg("-V").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("NETLAB_REQUIRE_TMUX").is_none(),
        "tmux is required (NETLAB_REQUIRE_TMUX is set) but not installed"
    );
    eprintln!("SKIPPED: tmux is not installed");
    false
}

/// Starts the viewer on scenarios/echo.toml in a detached tmux session of `w`x`h`, working in a
/// fresh directory (the run's files go to its captures/echo/); returns the session and directory.
fn start_viewer(tag: &str, w: u16, h: u16) -> (Session, std::path::PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let scenario = root.join("scenarios/echo.toml");
    let work = std::env::temp_dir().join(format!("netlab-tui-tmux-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let bin = env!("CARGO_BIN_EXE_netlab-tui");
    let name = format!("netlab-tui-test-{tag}-{}", std::process::id());
    let cmd = format!("cd {} && {} {}; echo EXITED-$?; sleep 30", work.display(), bin, scenario.display());
    let ok = Command::new("tmux")
        .args(["new-session", "-d", "-s", &name, "-x", &w.to_string(), "-y", &h.to_string(), &cmd])
        .status()
        .unwrap()
        .success();
    assert!(ok, "tmux new-session failed");
    (Session(name), work)
}

#[test]
fn viewer_in_a_real_terminal() {
    if !have_tmux() {
        return;
    }
    let (s, work) = start_viewer("main", 100, 30);
    let pane = wait_for(&s, "event 0/");
    assert!(pane.contains("connections") && pane.contains("state timeline"), "{pane}");
    // Step one event.
    keys(&s, &["Right"]);
    wait_for(&s, "event 1/");
    // Jump to the next state changes of the selected connection (the client): SYN-SENT, ESTABLISHED.
    keys(&s, &["s"]);
    keys(&s, &["s"]);
    let current = |p: &str| p.lines().find(|l| l.contains('▶')).unwrap_or_default().to_string();
    let pane = wait_until(&s, "ESTABLISHED to be the current state", |p| current(p).contains("ESTABLISHED"));
    assert!(pane.contains("event "), "{pane}");
    // Help overlay, closed by any key.
    keys(&s, &["?"]);
    wait_for(&s, "keys (any key closes)");
    keys(&s, &["x"]);
    wait_until(&s, "the help to close", |p| !p.contains("keys (any key closes)") && p.contains("state timeline"));
    // The routes view: t opens it, with every node's table from the run's summary; t closes it.
    keys(&s, &["t"]);
    let pane = wait_for(&s, "routes: prefix, next hop");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("captures/echo/summary.json")).unwrap()).unwrap();
    for node in summary["routes"].as_array().unwrap() {
        assert!(pane.contains(&format!("{} (", node["node"].as_str().unwrap())), "{node}:\n{pane}");
        for r in node["routes"].as_array().unwrap() {
            assert!(pane.contains(r["prefix"].as_str().unwrap()), "{r}:\n{pane}");
        }
    }
    keys(&s, &["t"]);
    wait_until(&s, "the routes view to close", |p| !p.contains("routes: prefix") && p.contains("state timeline"));
    // q quits; the terminal is back to the shell, which prints the exit code.
    keys(&s, &["q"]);
    let pane = wait_for(&s, "EXITED-");
    assert!(pane.contains("EXITED-0"), "{pane}");
    assert!(!pane.contains("state timeline"), "the alternate screen is gone: {pane}");
    let _ = std::fs::remove_dir_all(&work);
}

/// The inside of the panel whose title contains `title` (the first one), one line per row.
fn panel(pane: &str, title: &str) -> String {
    let grid: Vec<Vec<char>> = pane.lines().map(|l| l.chars().collect()).collect();
    let top = pane.lines().position(|l| l.contains(title)).unwrap_or_else(|| panic!("no panel {title}:\n{pane}"));
    let line = pane.lines().nth(top).unwrap();
    let at = line[..line.find(title).unwrap()].chars().count();
    let left = grid[top][..at].iter().rposition(|&c| c == '┌').unwrap();
    let right = at + grid[top][at..].iter().position(|&c| c == '┐').unwrap();
    grid[top + 1..]
        .iter()
        .take_while(|l| l.get(left).is_some_and(|&c| c != '└'))
        .map(|l| l[left + 1..right.min(l.len())].iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn four_tuple_and_timer_panel_at_80x24_and_160x45() {
    if !have_tmux() {
        return;
    }
    let (s, work) = start_viewer("sizes", 80, 24);
    wait_for(&s, "event 0/");
    // The run's summary says what the connections and the client's TIME-WAIT are.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("captures/echo/summary.json")).unwrap()).unwrap();
    let conns = summary["connections"].as_array().unwrap();
    let tuples: Vec<String> = conns
        .iter()
        .map(|c| format!("{} -> {}", c["local"].as_str().unwrap(), c["remote"].as_str().unwrap()))
        .collect();
    let client = conns.iter().find(|c| c["host"] == "client").unwrap();
    let time_wait =
        client["states"].as_array().unwrap().iter().find(|s| s[1] == "TimeWait").unwrap()[0].as_u64().unwrap();
    // Just after entering TIME-WAIT: its 2*MSL (60 s) deadline is pending.
    keys(&s, &["g"]);
    keys(&s, &[&format!("{}ns", time_wait + 1_000_000), "Enter"]);
    let deadline =
        format!("{}.{:06} s", (time_wait + 60_000_000_000) / 1_000_000_000, (time_wait % 1_000_000_000) / 1000);
    for (w, h) in [(80u16, 24u16), (160, 45)] {
        if w != 80 {
            let size = ["resize-window", "-t", s.0.as_str(), "-x", &w.to_string(), "-y", &h.to_string()];
            assert!(Command::new("tmux").args(size).status().unwrap().success());
        }
        let pane = wait_until(&s, "the TIME-WAIT deadline", |p| {
            p.lines().count() >= usize::from(h) - 1
                && p.lines().any(|l| l.contains("TIME-WAIT") && l.contains(&deadline))
        });
        for t in &tuples {
            assert!(pane.contains(t.as_str()), "{w}x{h}: the 4-tuple {t} is missing:\n{pane}");
        }
        let timers = panel(&pane, "timers");
        assert!(timers.contains(&deadline) && timers.contains("RTO backoffs in a row: 0"), "{w}x{h}:\n{timers}");
        assert!(pane.lines().any(|l| l.trim_end().ends_with("q quit")), "{w}x{h}: the footer lost q quit:\n{pane}");
    }
    keys(&s, &["q"]);
    let pane = wait_for(&s, "EXITED-");
    assert!(pane.contains("EXITED-0"), "{pane}");
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn bad_input_gives_exit_code_2_and_a_message() {
    let bin = env!("CARGO_BIN_EXE_netlab-tui");
    let out = Command::new(bin).arg("/nonexistent/trace.jsonl").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such trace file"), "{err}");
    assert!(out.stdout.is_empty(), "nothing drawn on the terminal");

    let dir = std::env::temp_dir().join(format!("netlab-tui-bad2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("trace.jsonl"), "garbage\n").unwrap();
    let out = Command::new(bin).arg(dir.join("trace.jsonl")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
    std::fs::write(dir.join("bad.toml"), "[simulation]\nseed = \"x\"\n").unwrap();
    let out = Command::new(bin).arg(dir.join("bad.toml")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml:2:"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(bin).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
