//! Same scenario + same seed = byte-identical captures, trace and summary; different seeds draw
//! differently where randomness matters.

use netlab::report::RunReport;
use netlab::scenario::{BuildOptions, Scenario};
use netlab::sim::Instant;
use netlab::world::RunLimits;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn scenario(name: &str) -> Scenario {
    Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name)).unwrap()
}

/// Runs with output in `dir`; returns every output file's bytes by name.
fn run_to_dir(sc: &Scenario, seed: u64, dir: &Path) -> BTreeMap<String, Vec<u8>> {
    run_with(sc, BuildOptions { seed: Some(seed), out_dir: Some(dir.to_path_buf()), ..Default::default() })
}

/// Runs with `opts` (which must name a seed and an output directory) and writes summary.json there;
/// returns every output file's bytes by name.
fn run_with(sc: &Scenario, opts: BuildOptions) -> BTreeMap<String, Vec<u8>> {
    let (seed, dir) = (opts.seed.unwrap(), opts.out_dir.clone().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    let mut world = netlab::run::build(sc, &opts).unwrap();
    let limits = RunLimits {
        stop_at: Instant::ZERO + sc.stop,
        max_events: u64::MAX,
        stop_when_apps_done: sc.stop_when_apps_done,
    };
    let outcome = world.run_with(limits);
    world.finish().unwrap();
    let report = RunReport::collect(sc, seed, &world, outcome);
    std::fs::write(dir.join("summary.json"), serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        files.insert(p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap());
    }
    files
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("netlab-det-{}-{name}", std::process::id()))
}

#[test]
fn same_seed_gives_identical_output_files() {
    for name in ["ping.toml", "ttl-expiry.toml"] {
        let sc = scenario(name);
        let a = run_to_dir(&sc, 11, &tmp(&format!("{name}-a")));
        let b = run_to_dir(&sc, 11, &tmp(&format!("{name}-b")));
        assert!(a.keys().any(|k| k.ends_with(".pcap")), "{name}: no capture written: {:?}", a.keys());
        assert!(a.contains_key("trace.nlt"));
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (k, v) in &a {
            assert!(v == &b[k], "{name}: {k} differs between two runs with the same seed");
        }
        let _ = std::fs::remove_dir_all(tmp(&format!("{name}-a")));
        let _ = std::fs::remove_dir_all(tmp(&format!("{name}-b")));
    }
}

#[test]
fn different_seeds_draw_differently() {
    let sc = scenario("ping.toml");
    let mut drop_patterns = std::collections::BTreeSet::new();
    for seed in 1..=8 {
        let dir = tmp(&format!("seed{seed}"));
        let files = run_to_dir(&sc, seed, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        // Which frames were lost is visible in the trace: collect the ids of dropped frames.
        let trace = netlab::trace::read::parse_binary(&files["trace.nlt"]).unwrap();
        let lost: Vec<u64> = trace.iter().filter(|e| e.ev == "link_drop").filter_map(|e| e.frame).collect();
        drop_patterns.insert(lost);
    }
    assert!(drop_patterns.len() >= 6, "8 seeds gave only {} distinct loss patterns", drop_patterns.len());
}

/// Without a trace file, timer and application-call events are only counted, not recorded: the
/// summary (every figure an expectation can check) must be the same either way.
#[test]
fn the_summary_does_not_depend_on_writing_a_trace() {
    for name in ["loss.toml", "keepalive.toml", "refused.toml", "zero-window.toml"] {
        let sc = scenario(name);
        let with = run_to_dir(&sc, 5, &tmp(&format!("{name}-trace")));
        let dir = tmp(&format!("{name}-notrace"));
        let opts = BuildOptions { seed: Some(5), out_dir: Some(dir.clone()), trace: false, ..Default::default() };
        let without = run_with(&sc, opts);
        assert!(with.contains_key("trace.nlt") && !without.contains_key("trace.nlt"));
        assert!(
            with["summary.json"] == without["summary.json"],
            "{name}: the summary changes when no trace is written"
        );
        let _ = std::fs::remove_dir_all(tmp(&format!("{name}-trace")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
