//! The binary trace (`trace.nlt`) says exactly what `trace.jsonl` says: on every library scenario,
//! its export is byte for byte the JSON trace, and the summary (with its expectations) and the plots
//! computed from it are the same as from the JSON trace.

use netlab::report::RunReport;
use netlab::scenario::{BuildOptions, Scenario};
use netlab::sim::Instant;
use netlab::trace::export::{Filter, export_jsonl};
use netlab::trace::read::{Topology, TraceLine, connections, read_trace};
use netlab::world::RunLimits;
use std::path::{Path, PathBuf};

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// Runs `sc` into `dir` (no captures); returns the summary as JSON text.
fn run(sc: &Scenario, dir: &Path) -> String {
    let _ = std::fs::remove_dir_all(dir);
    let opts =
        BuildOptions { seed: Some(sc.seed), out_dir: Some(dir.to_path_buf()), captures: false, ..Default::default() };
    let mut world = netlab::run::build(sc, &opts).unwrap();
    let limits = RunLimits {
        stop_at: Instant::ZERO + sc.stop,
        max_events: sc.max_events.unwrap_or(u64::MAX),
        stop_when_apps_done: sc.stop_when_apps_done,
    };
    let outcome = world.run_with(limits);
    world.finish().unwrap();
    let report = RunReport::collect(sc, sc.seed, &world, outcome);
    let text = serde_json::to_string_pretty(&report).unwrap();
    std::fs::write(dir.join("summary.json"), &text).unwrap();
    text
}

/// Every connection's graphs, as SVG text.
fn plots(events: &[TraceLine], topo: &Topology) -> Vec<String> {
    connections(events, topo)
        .iter()
        .flat_map(|c| {
            let p = netlab::report::plot::plot_connection(events, c);
            [p.time_sequence, p.cwnd, p.rtt]
        })
        .collect()
}

#[test]
fn the_binary_trace_gives_what_the_json_trace_gives_on_every_scenario() {
    let root = std::env::temp_dir().join(format!("netlab-trace-binary-{}", std::process::id()));
    let mut checked = 0;
    for f in scenario_files() {
        let mut sc = Scenario::load(&f).unwrap_or_else(|e| panic!("{e}"));
        if !sc.trace {
            continue;
        }
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        sc.trace_jsonl = false;
        let (bin_dir, json_dir) = (root.join(format!("{name}-bin")), root.join(format!("{name}-json")));
        let bin_summary = run(&sc, &bin_dir);
        sc.trace_jsonl = true;
        let json_summary = run(&sc, &json_dir);
        assert_eq!(bin_summary, json_summary, "{name}: the summary (and its expectations) differ");
        let (nlt, jsonl) = (bin_dir.join("trace.nlt"), json_dir.join("trace.jsonl"));
        assert!(nlt.is_file() && !bin_dir.join("trace.jsonl").exists(), "{name}: the binary trace is the default");
        let topo = Topology::read(&bin_dir.join("summary.json")).unwrap();
        let mut exported = Vec::new();
        export_jsonl(&nlt, &topo, &Filter::default(), &mut exported).unwrap();
        let json = std::fs::read(&jsonl).unwrap();
        assert!(exported == json, "{name}: the export differs from trace.jsonl");
        let (from_bin, from_json) = (read_trace(&nlt).unwrap(), read_trace(&jsonl).unwrap());
        assert_eq!(from_bin, from_json, "{name}: the events read back differ");
        assert_eq!(plots(&from_bin, &topo), plots(&from_json, &topo), "{name}: the plots differ");
        checked += 1;
        let _ = std::fs::remove_dir_all(&bin_dir);
        let _ = std::fs::remove_dir_all(&json_dir);
    }
    assert!(checked >= 30, "only {checked} scenarios write a trace");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_export_filters_by_connection_link_and_time() {
    let sc = Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/loss.toml")).unwrap();
    let dir = std::env::temp_dir().join(format!("netlab-trace-filter-{}", std::process::id()));
    run(&sc, &dir);
    let nlt = dir.join("trace.nlt");
    let topo = Topology::read(&dir.join("summary.json")).unwrap();
    let all = read_trace(&nlt).unwrap();
    let export = |f: Filter| {
        let mut out = Vec::new();
        export_jsonl(&nlt, &topo, &f, &mut out).unwrap();
        netlab::trace::read::parse_trace(std::str::from_utf8(&out).unwrap()).unwrap()
    };
    let conn = connections(&all, &topo)[0].clone();
    let spec = format!("{}:{}", conn.host, conn.local.rsplit(':').next().unwrap());
    let mine = export(Filter { conn: Some(spec), ..Default::default() });
    let expected: Vec<&TraceLine> =
        all.iter().filter(|e| e.ev == "tcp" && e.node == Some(conn.node) && e.socket == Some(conn.socket)).collect();
    assert!(!mine.is_empty() && mine.iter().eq(expected.iter().copied()));
    let link = topo.links[0].0.clone();
    let on_link = export(Filter { link: Some(link), ..Default::default() });
    assert!(!on_link.is_empty() && on_link.iter().all(|e| e.link == Some(0)));
    assert_eq!(on_link.len(), all.iter().filter(|e| e.link == Some(0)).count());
    let (from, to) = (all[all.len() / 3].t, all[2 * all.len() / 3].t);
    let window = export(Filter { from: Some(from), to: Some(to), ..Default::default() });
    assert_eq!(window.len(), all.iter().filter(|e| e.t >= from && e.t <= to).count());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn trace_format_chooses_the_file_and_rejects_what_it_does_not_know() {
    let text = |format: &str| {
        format!(
            "[simulation]\ntrace_format = \"{format}\"\n\n[[hosts]]\nname = \"h1\"\n\n[[hosts]]\nname = \"h2\"\n\n\
             [[links]]\nname = \"l1\"\na = {{ node = \"h1\", ip = \"10.0.0.1/24\" }}\nb = {{ node = \"h2\", ip = \"10.0.0.2/24\" }}\n"
        )
    };
    assert!(Scenario::parse("s.toml", &text("jsonl"), "s").unwrap().trace_jsonl);
    assert!(!Scenario::parse("s.toml", &text("binary"), "s").unwrap().trace_jsonl);
    let e = Scenario::parse("s.toml", &text("xml"), "s").expect_err("an unknown format").to_string();
    assert!(e.contains("s.toml:2:") && e.contains("\"binary\" or \"jsonl\"") && e.contains("\"xml\""), "{e}");
}
