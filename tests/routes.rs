//! `netlab routes` and the routes in `summary.json`: every node's table with where each route came
//! from, as a student checks it with `route -n` on a Mininet host.

use std::process::Command;

const NETLAB: &str = env!("CARGO_BIN_EXE_netlab");

fn netlab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(NETLAB).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("netlab runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The route lines of `node`'s table in `netlab routes` output, whitespace-collapsed.
fn table_of(out: &str, node: &str) -> Vec<String> {
    let mut lines = out.lines().skip_while(|l| !l.starts_with(&format!("{node} ("))).skip(2);
    let mut rows = Vec::new();
    for l in lines.by_ref() {
        if !l.starts_with("  ") {
            break;
        }
        rows.push(l.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    rows
}

#[test]
fn routes_prints_each_nodes_table_with_origins_in_lookup_order() {
    let (code, out, err) = netlab(&["routes", "scenarios/router-lpm.toml"]);
    assert_eq!(code, 0, "{err}");
    let r1 = table_of(&out, "r1");
    // The scenario's static routes on r1: the /24 is tried before the /16, the /16 before the /8.
    let pos = |row: &str| r1.iter().position(|r| r == row).unwrap_or_else(|| panic!("{row} not in {r1:#?}"));
    let slash24 = pos("10.1.2.0/24 192.168.1.2 eth1 (la) static");
    let slash16 = pos("10.1.0.0/16 192.168.2.2 eth2 (lb) static");
    let slash8 = pos("10.0.0.0/8 192.168.3.2 eth3 (lc) static");
    assert!(slash24 < slash16 && slash16 < slash8);
    assert_eq!(r1.last().map(String::as_str), Some("0.0.0.0/0 192.168.3.2 eth3 (lc) static"));
    assert!(r1.contains(&"172.16.0.0/24 direct eth0 (l1) connected".to_string()));
    // A single-link host gets a default route; a router without static routes computes them.
    assert!(table_of(&out, "h1").contains(&"0.0.0.0/0 172.16.0.1 eth0 (l1) default".to_string()));
    assert!(table_of(&out, "ra").iter().any(|r| r.ends_with("computed")));
}

#[test]
fn one_nodes_table_and_json() {
    let (code, out, _) = netlab(&["routes", "scenarios/router-lpm.toml", "--node", "rc", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let tables = v.as_array().expect("an array of tables");
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0]["node"], "rc");
    assert_eq!(tables[0]["router"], true);
    let static_route = tables[0]["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["origin"] == "static")
        .expect("rc has a static route");
    assert_eq!(static_route["prefix"], "172.16.0.0/24");
    assert_eq!(static_route["via"], "192.168.3.1");
    assert_eq!(static_route["link"], "lc");
}

#[test]
fn an_unknown_node_is_an_error_that_lists_hosts_and_routers() {
    let (code, _, err) = netlab(&["routes", "scenarios/router-lpm.toml", "--node", "r9"]);
    assert_eq!(code, 2);
    assert!(err.contains("no node named \"r9\"") && err.contains("h1 (host)") && err.contains("r1 (router)"), "{err}");
}

#[test]
fn the_summary_carries_the_tables() {
    let dir = std::env::temp_dir().join(format!("netlab-routes-{}", std::process::id()));
    let (code, _, err) = netlab(&["run", "scenarios/router-lpm.toml", "--out", dir.to_str().unwrap(), "--no-capture"]);
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).expect("summary.json");
    let (_, json, _) = netlab(&["routes", "scenarios/router-lpm.toml", "--json"]);
    let printed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(summary["routes"], printed, "summary.json and `netlab routes --json` agree");
    let _ = std::fs::remove_dir_all(dir);
}
