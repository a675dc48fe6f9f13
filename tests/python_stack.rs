//! The Python module of the external stack protocol (adapters/python/netlab_stack.py): its own
//! unittest suite, which decodes and re-encodes the worked example of docs/stack-protocol.md byte for
//! byte and runs the example stack through the conversation. Skipped (with a message) without python3.

use std::path::Path;
use std::process::Command;

#[test]
fn python_module_passes_its_unittests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters/python");
    let Ok(out) = Command::new("python3").args(["-m", "unittest", "-v"]).current_dir(&dir).output() else {
        println!("SKIPPED: python3 is not installed (adapters/python/test_netlab_stack.py not run)");
        return;
    };
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "python3 -m unittest failed in {}:\n{log}", dir.display());
    // unittest says "OK" even when it found nothing to run: make sure these tests ran and passed.
    for name in ["test_step1_decodes_and_encodes_back", "test_it_answers_a_ping_and_resets_a_syn"] {
        assert!(log.lines().any(|l| l.starts_with(name) && l.ends_with("... ok")), "{name} did not pass:\n{log}");
    }
}

/// scenarios/stacks/python-ping.toml: the example PingResponder as a host's stack under test. Its
/// expectations (pings answered through a lossy link, connect refused) pass, and two runs give
/// byte-identical summaries and captures: the Python process only sees netlab's time.
#[test]
fn python_stack_on_a_host_passes_its_scenario_and_replays_bit_for_bit() {
    if Command::new("python3").arg("--version").output().is_err() {
        println!("SKIPPED: python3 is not installed (scenarios/stacks/python-ping.toml not run)");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |tag: &str| {
        let out = std::env::temp_dir().join(format!("netlab-python-stack-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let st = Command::new(env!("CARGO_BIN_EXE_netlab"))
            .args(["run", "scenarios/stacks/python-ping.toml", "--out"])
            .arg(&out)
            .current_dir(root)
            .output()
            .expect("run netlab");
        let log = format!("{}{}", String::from_utf8_lossy(&st.stdout), String::from_utf8_lossy(&st.stderr));
        assert!(st.status.success(), "netlab run failed ({}):\n{log}", st.status);
        assert!(log.contains("3 passed, 0 failed"), "{log}");
        let files: Vec<(String, Vec<u8>)> = ["summary.json", "l2-py.pcap", "l1-h1.pcap"]
            .iter()
            .map(|f| (f.to_string(), std::fs::read(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"))))
            .collect();
        let _ = std::fs::remove_dir_all(&out);
        files
    };
    let (a, b) = (run("a"), run("b"));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between two runs of the same seed");
    }
}
