//! Namespace hosts (`[[hosts]] stack = "linux"`, scenario/netns.rs): for each, a network namespace
//! named `PREFIX + host` (prefix `netlab-`, or `$NETLAB_NETNS_PREFIX`) with one TAP interface per
//! link, `HOST-eth0`, ... Its frames enter the simulated link at the host's end and the link's
//! frames for the host leave through the TAP unchanged: the kernel in the namespace does its own ARP,
//! and the link's delay, rate, queue and impairments apply in both directions.
//!
//! Why a prefix rather than the bare host name: namespace names are global to the machine (the
//! files in /run/netns), so `h1` would collide with the user's own namespaces or another tool's;
//! the prefix also lets the next run recognise what a crashed run left behind (leftovers.rs).
//! Interface names are exactly Mininet's (`h1-eth0`): they live inside the namespace, where
//! nothing else can collide with them.
//!
//! Everything is removed by `close` (the end of the run, also after Ctrl-C) or, if setting up
//! fails half way, by `Drop`: programs are stopped, TAP devices closed, namespaces deleted.

mod exec;
mod leftovers;
mod setup;
mod tap;

pub use leftovers::{Running, removal_command, running};

use super::Input;
use crate::scenario::Scenario;
use crate::scenario::netns::NetnsHost;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::SyncSender;
pub(super) use tap::TapPort;

/// The default prefix of namespace names.
pub const DEFAULT_PREFIX: &str = "netlab-";

/// The prefix of namespace names: `$NETLAB_NETNS_PREFIX` or `netlab-` (two runs of one scenario at
/// once need different prefixes).
pub fn prefix() -> String {
    std::env::var("NETLAB_NETNS_PREFIX").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| DEFAULT_PREFIX.to_string())
}

/// `netlab exec HOST -- CMD...`: the command line that runs `cmd` in host `host` of a running
/// live scenario (`ip netns exec NS CMD...`), or why there is none. `scenario` picks one when
/// several running scenarios have a host of that name.
pub fn exec_command(host: &str, scenario: Option<&str>, cmd: &[String]) -> Result<Vec<String>, String> {
    let all = running();
    let matching: Vec<&Running> =
        all.iter().filter(|r| r.host == host && scenario.is_none_or(|s| r.scenario == s)).collect();
    let r = match matching[..] {
        [one] => one,
        [] if all.is_empty() => return Err("no live scenario with namespace hosts is running".to_string()),
        [] => {
            let hosts: Vec<String> = all.iter().map(|r| format!("{} ({})", r.host, r.scenario)).collect();
            return Err(format!("no running host \"{host}\"; running: {}", hosts.join(", ")));
        }
        _ => {
            let s: Vec<&str> = matching.iter().map(|r| r.scenario.as_str()).collect();
            return Err(format!(
                "host \"{host}\" runs in several scenarios ({}): say which with --scenario",
                s.join(", ")
            ));
        }
    };
    let mut line = vec!["ip".to_string(), "netns".into(), "exec".into(), r.ns.clone()];
    line.extend(cmd.iter().cloned());
    Ok(line)
}

/// The namespace of host `host`.
pub fn namespace_of(host: &str) -> String {
    format!("{}{host}", prefix())
}

/// A TAP end the live driver serves: the device and where it joins the simulated network.
pub(super) struct TapEnd {
    /// `h1-eth0`.
    pub name: String,
    pub link: crate::net::LinkId,
    pub side: usize,
    /// The namespace host's node.
    pub node: crate::net::NodeId,
    pub port: TapPort,
    pub thread: std::thread::JoinHandle<()>,
}

/// The namespaces of a run, and the programs running in them.
pub(super) struct Namespaces {
    /// Namespaces created (and registered), in creation order.
    created: Vec<String>,
    programs: exec::Programs,
    /// One line per host for the console.
    lines: Vec<String>,
    closed: bool,
}

impl Namespaces {
    /// Creates every namespace host of `sc`, with its TAP interfaces (the first TAP end gets index
    /// `first_end` in the driver's ends). `out_dir`: where programs' output goes.
    pub fn open(
        sc: &Scenario,
        first_end: usize,
        out_dir: &std::path::Path,
        tx: &SyncSender<Input>,
        stop: &Arc<AtomicBool>,
    ) -> Result<(Namespaces, Vec<TapEnd>), String> {
        setup::check_can_run()?;
        let prefix = prefix();
        let names: Vec<String> = sc.netns.iter().map(|h| namespace_of(&h.name)).collect();
        let mut me = Namespaces {
            created: Vec::new(),
            programs: exec::Programs::new(programs(sc), out_dir.to_path_buf(), tx.clone()),
            lines: Vec::new(),
            closed: false,
        };
        for (ns, found) in leftovers::scan(&prefix)? {
            match found {
                leftovers::Found::InUse(pid) if names.contains(&ns) => {
                    return Err(format!(
                        "namespace {ns} belongs to another netlab run that is still going (pid {pid}); stop it, or give this run other names with NETLAB_NETNS_PREFIX"
                    ));
                }
                leftovers::Found::InUse(_) => {}
                leftovers::Found::Leftover(pid) => {
                    let whose =
                        pid.map_or("an earlier run".to_string(), |p| format!("an earlier run (pid {p}) that ended"));
                    if names.contains(&ns) {
                        eprintln!("netlab: removing namespace {ns}, left behind by {whose}");
                        setup::remove_namespace(&ns)?;
                    } else {
                        eprintln!(
                            "netlab: namespace {ns} was left behind by {whose}; remove it with: {}",
                            removal_command(&ns)
                        );
                    }
                }
            }
        }
        let mut ends = Vec::new();
        for (h, ns) in sc.netns.iter().zip(&names) {
            setup::create_namespace(ns)?;
            leftovers::register(ns, &h.name, &sc.name);
            me.created.push(ns.clone());
            for (k, i) in h.ifaces.iter().enumerate() {
                let tmp = format!("nlt{}-{}", std::process::id() % 10_000_000, first_end + ends.len());
                let (port, thread) = TapPort::open(first_end + ends.len(), &tmp, tx.clone(), stop.clone())?;
                ends.push(TapEnd { name: i.name.clone(), link: i.link, side: i.side, node: h.node, port, thread });
                setup::move_and_configure(ns, &tmp, i, k == 0)?;
            }
            setup::routes(ns, h)?;
            if h.lab_stack {
                setup::lab_stack(ns, h)?;
            }
            me.lines.push(describe(h, ns));
        }
        Ok((me, ends))
    }

    /// One line per host, for the console.
    pub fn describe(&self) -> &[String] {
        &self.lines
    }

    /// Starts the programs whose start time came (true if any did), and copies new output of the
    /// running ones into their slots.
    pub fn start_due(&mut self) -> bool {
        self.programs.tail_running();
        self.programs.start_due()
    }

    /// Stops the programs still running (before their interfaces go away). Notes for the user.
    pub fn stop_programs(&mut self) -> Vec<String> {
        self.programs.stop_all()
    }

    /// Stops the programs and removes the namespaces (the caller closes the TAP devices first).
    /// Notes for the user.
    pub fn close(&mut self) -> Vec<String> {
        if self.closed {
            return Vec::new();
        }
        self.closed = true;
        let mut notes = self.programs.stop_all();
        for ns in self.created.drain(..).rev() {
            if let Err(e) = setup::remove_namespace(&ns) {
                notes.push(format!("{e}; remove it with: {}", removal_command(&ns)));
            }
        }
        notes
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for note in self.close() {
            eprintln!("netlab: {note}");
        }
    }
}

/// The exec applications of `sc`, each with its host's namespace.
fn programs(sc: &Scenario) -> Vec<exec::Program> {
    sc.apps
        .iter()
        .filter_map(|a| {
            let (request, slot) = a.recipe.exec()?;
            let host = sc.netns_host(a.host)?;
            Some(exec::Program {
                app: a.name.clone(),
                ns: namespace_of(&host.name),
                request: request.clone(),
                slot: slot.clone(),
                pgid: None,
            })
        })
        .collect()
}

fn describe(h: &NetnsHost, ns: &str) -> String {
    let ifaces: Vec<String> = h.ifaces.iter().map(|i| format!("{} {}", i.name, i.addr)).collect();
    let mut s = format!("host {}: namespace {ns}, {}", h.name, ifaces.join(", "));
    if let Some(gw) = h.default_gateway {
        s.push_str(&format!(", default via {gw}"));
    }
    if h.lab_stack {
        s.push_str(", lab stack (kernel TCP silenced)");
    }
    s.push_str(&format!(" (ip netns exec {ns} CMD)"));
    s
}
