//! The trace names the route a router forwarded each packet by: `link_tx` of a forwarded frame has
//! `route`, the prefix of the route as the router's table (`summary.json` `routes`) lists it.

use netlab::scenario::{BuildOptions, Scenario};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Runs the library scenario `name`; its trace lines and summary.
fn run(name: &str) -> (Vec<serde_json::Value>, serde_json::Value) {
    let sc = Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"))).unwrap();
    // One directory per call: tests run in parallel and may run the same scenario.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("netlab-fwd-route-{name}-{}-{k}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = BuildOptions { out_dir: Some(dir.clone()), captures: false, ..Default::default() };
    let f = netlab::run::run(&sc, &opts, None, &mut |_| {}, &|| false).unwrap();
    // The trace as JSON lines, as `netlab trace export --jsonl` prints it.
    let report = serde_json::to_value(&f.report).unwrap();
    let topo = netlab::trace::read::Topology::from_summary(&report);
    let mut jsonl = Vec::new();
    netlab::trace::export::export_jsonl(&dir.join("trace.nlt"), &topo, &Default::default(), &mut jsonl).unwrap();
    let trace = String::from_utf8(jsonl).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (trace.lines().map(|l| serde_json::from_str(l).unwrap()).collect(), report)
}

/// For each (link name, sending node): the routes named by its `link_tx` events.
fn routes_taken(
    trace: &[serde_json::Value],
    summary: &serde_json::Value,
) -> BTreeMap<(String, String), BTreeSet<String>> {
    let links = summary["links"].as_array().unwrap();
    let mut taken: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for e in trace.iter().filter(|e| e["ev"] == "link_tx") {
        let Some(route) = e["route"].as_str() else { continue };
        let l = &links[e["link"].as_u64().unwrap() as usize];
        let sender = if e["dir"] == "a->b" { &l["a"] } else { &l["b"] };
        let key = (l["name"].as_str().unwrap().to_string(), sender.as_str().unwrap().to_string());
        taken.entry(key).or_default().insert(route.to_string());
    }
    taken
}

#[test]
fn forwarded_frames_name_the_longest_matching_route() {
    let (trace, summary) = run("router-lpm");
    let taken = routes_taken(&trace, &summary);
    let on = |link: &str, node: &str| taken.get(&(link.to_string(), node.to_string())).cloned().unwrap_or_default();
    // r1 sends to 10.1.2.2 by the /24 (to ra on la), to 10.1.3.2 by the /16 (to rb on lb), and to
    // 10.9.9.9 by the /8 (to rc on lc), as the scenario's comment says.
    assert!(on("la", "r1").contains("10.1.2.0/24"), "{taken:#?}");
    assert!(on("lb", "r1").contains("10.1.0.0/16"), "{taken:#?}");
    assert!(on("lc", "r1").contains("10.0.0.0/8"), "{taken:#?}");
    // Hosts send by their own tables, unnamed: only routers' hops carry a route.
    let routers: BTreeSet<&str> = summary["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["router"] == true)
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert!(taken.keys().all(|(_, node)| routers.contains(node.as_str())), "{taken:#?}");
}

#[test]
fn every_named_route_is_in_the_forwarding_nodes_table() {
    for name in ["router-lpm", "loss", "dumbbell", "ttl-expiry"] {
        let (trace, summary) = run(name);
        let tables: BTreeMap<&str, BTreeSet<&str>> = summary["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                let prefixes = n["routes"].as_array().unwrap().iter().map(|r| r["prefix"].as_str().unwrap());
                (n["node"].as_str().unwrap(), prefixes.collect())
            })
            .collect();
        let taken = routes_taken(&trace, &summary);
        assert!(!taken.is_empty(), "{name}: no forwarded frame");
        for ((link, node), routes) in &taken {
            for r in routes {
                assert!(
                    tables[node.as_str()].contains(r.as_str()),
                    "{name}: {node} on {link} by {r}, not in its table"
                );
            }
        }
    }
}
