//! `netlab routes`: every node's routing table (connected, static, default, computed and fallback
//! routes), as the world a scenario builds holds them, without running anything.

use crate::report::RunReport;
use crate::scenario::{BuildOptions, Scenario};
use crate::world::NodeRoutes;
use std::path::Path;

/// The routing tables of the world `sc` builds. Only the topology is built: no stack under test is
/// started (every host gets netlab's stack, which does not change routes), no application, fault
/// or capture.
pub fn tables(sc: &Scenario) -> Result<Vec<NodeRoutes>, String> {
    let mut topology = sc.clone();
    for n in &mut topology.nodes {
        n.stack = None;
    }
    topology.apps.clear();
    topology.expects.clear();
    topology.faults.clear();
    topology.rules.clear();
    topology.captures.clear();
    let opts = BuildOptions { captures: false, trace: false, ..Default::default() };
    let world = crate::run::build(&topology, &opts).map_err(|e| e.to_string())?;
    Ok(world.routes())
}

/// `netlab routes FILE [--node N] [--json]`: prints the tables (of node `only`, if given); returns
/// the exit code (0, or 2 for a bad scenario or an unknown node).
pub fn run_cli(path: &Path, only: Option<&str>, json: bool) -> u8 {
    let sc = match Scenario::load(path) {
        Ok(sc) => sc,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let tables = match tables(&sc) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", sc.file);
            return 2;
        }
    };
    if let Some(name) = only
        && !tables.iter().any(|n| n.node == name)
    {
        let known: Vec<String> =
            tables.iter().map(|n| format!("{} ({})", n.node, if n.router { "router" } else { "host" })).collect();
        eprintln!("error: {}: no node named \"{name}\" (nodes: {})", sc.file, known.join(", "));
        return 2;
    }
    let shown: Vec<&NodeRoutes> = tables.iter().filter(|n| only.is_none_or(|o| o == n.node)).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
    } else {
        print!("{}", RunReport::render_routes(&tables, only));
    }
    0
}
