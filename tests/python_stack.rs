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
