//! Namespaces a netlab run leaves behind when it cannot clean up (killed with SIGKILL, a second
//! Ctrl-C, a crash). Every namespace netlab creates is named with its prefix and registered in
//! `/run/netlab/netns/NAME` with the creating process's id; the next run names what it finds and
//! the command that removes it, and removes a leftover it needs itself.

use std::path::PathBuf;

/// The registry of namespaces netlab created, one file per namespace holding the creator's pid.
fn registry_dir() -> PathBuf {
    PathBuf::from("/run/netlab/netns")
}

/// Records that this process created namespace `ns` for host `host` of scenario `scenario`: the
/// file holds three lines, the pid, the host and the scenario.
pub(super) fn register(ns: &str, host: &str, scenario: &str) {
    let dir = registry_dir();
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(ns), format!("{}\n{host}\n{scenario}\n", std::process::id()));
}

/// A namespace host of a running netlab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    /// The namespace.
    pub ns: String,
    /// The host's name in its scenario.
    pub host: String,
    /// The scenario's name.
    pub scenario: String,
    /// The netlab process running it.
    pub pid: u32,
}

/// Every namespace host of a netlab that is running now, by namespace name.
pub fn running() -> Vec<Running> {
    let Ok(dir) = std::fs::read_dir(registry_dir()) else { return Vec::new() };
    let mut out: Vec<Running> = dir
        .filter_map(|e| {
            let e = e.ok()?;
            let ns = e.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(e.path()).ok()?;
            let mut lines = text.lines();
            let pid: u32 = lines.next()?.trim().parse().ok()?;
            let host = lines.next().unwrap_or("?").to_string();
            let scenario = lines.next().unwrap_or("?").to_string();
            alive(pid).then_some(Running { ns, host, scenario, pid })
        })
        .collect();
    out.sort_by(|a, b| a.ns.cmp(&b.ns));
    out
}

/// Forgets namespace `ns` (it was removed).
pub(super) fn unregister(ns: &str) {
    let _ = std::fs::remove_file(registry_dir().join(ns));
}

/// The pid that created namespace `ns`, if netlab registered it.
fn owner(ns: &str) -> Option<u32> {
    std::fs::read_to_string(registry_dir().join(ns)).ok()?.lines().next()?.trim().parse().ok()
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The shell command that removes namespace `ns` and stops what still runs in it.
pub fn removal_command(ns: &str) -> String {
    format!("ip netns pids {ns} | xargs -r kill -9; ip netns del {ns}")
}

/// Every network namespace, by name (`ip netns list`).
pub(super) fn list() -> Result<Vec<String>, String> {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map_err(|e| format!("cannot run `ip netns list` (is iproute2 installed?): {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect())
}

/// What to do about an existing namespace of ours.
pub(super) enum Found {
    /// Another netlab run that is still going owns it.
    InUse(u32),
    /// Left behind by a run that ended (or by something that did not register it).
    Leftover(Option<u32>),
}

/// Looks at the existing namespaces whose names start with `prefix` (other than this process's).
pub(super) fn scan(prefix: &str) -> Result<Vec<(String, Found)>, String> {
    let me = std::process::id();
    Ok(list()?
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .filter_map(|n| match owner(&n) {
            Some(p) if p == me => None,
            Some(p) if alive(p) => Some((n, Found::InUse(p))),
            p => Some((n, Found::Leftover(p))),
        })
        .collect())
}
