//! Runs every packet script in tests/conformance/ against netlab's stack (docs/conformance.md lists
//! the rules), and checks what `netlab script` leaves behind: a pcap of the whole exchange and exit
//! code 1 with packetdrill's report when the stack does not do what the script says.

use netlab::script::cli::{ScriptArgs, make_stack, run_cli, script_tolerance};
use netlab::script::{RunSettings, parse, run};
use netlab::sim::Duration;
use std::path::{Path, PathBuf};

fn scripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pkt"))
        .collect();
    v.sort();
    v
}

/// The failure report of one script on netlab's stack, None if it passed.
fn run_on_netlab(path: &Path) -> Option<String> {
    run_on(path, "netlab")
}

/// The failure report of one script on the stack `--stack` names, None if it passed.
fn run_on(path: &Path, stack_name: &str) -> Option<String> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let src = std::fs::read_to_string(path).unwrap();
    let script = match parse(&name, &src) {
        Ok(s) => s,
        Err(e) => return Some(e.to_string()),
    };
    let tolerance = script_tolerance(&script).unwrap().unwrap_or(Duration::from_millis(25));
    let mut stack = make_stack(stack_name, 1).unwrap();
    let report = run(&script, stack.as_mut(), RunSettings { file: name, tolerance, capture: None });
    if let Some(e) = stack.failure() {
        return Some(format!("the stack failed: {e}"));
    }
    report.failure.map(|f| f.text)
}

#[test]
fn every_conformance_script_passes_on_netlab() {
    let all = scripts();
    assert!(all.len() >= 20, "only {} scripts", all.len());
    let failures: Vec<String> = all.iter().filter_map(|p| run_on_netlab(p)).collect();
    assert!(failures.is_empty(), "{} of {} scripts failed:\n\n{}", failures.len(), all.len(), failures.join("\n\n"));
}

#[test]
fn every_conformance_script_passes_on_netlab_behind_the_external_stack_protocol() {
    let adapter = env!("CARGO_BIN_EXE_netlab-stack-adapter");
    let failures: Vec<String> = scripts().iter().filter_map(|p| run_on(p, adapter)).collect();
    assert!(failures.is_empty(), "{} scripts failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netlab-script-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn pcap_records(path: &Path) -> usize {
    let f = std::fs::File::open(path).unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(f).unwrap();
    let mut n = 0;
    while let Some(p) = r.next_packet() {
        p.unwrap();
        n += 1;
    }
    n
}

#[test]
fn the_command_writes_a_pcap_and_fails_with_exit_code_1_on_a_mismatch() {
    let dir = temp_dir("cli");
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/handshake-passive.pkt");
    let args = |file: PathBuf| ScriptArgs {
        files: vec![file],
        stack: None,
        seed: 1,
        out: Some(dir.clone()),
        tolerance_ms: None,
    };
    assert_eq!(run_cli(&args(good)), 0);
    // The passive handshake: SYN, SYN-ACK, ACK, then the data and its ACK.
    assert!(pcap_records(&dir.join("handshake-passive.pcap")) >= 3);

    let bad = dir.join("bad.pkt");
    let text = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n\
                +0 < S 0:0(0) win 65535 <mss 1000>\n+0 > S. 0:0(0) ack 2 <...>\n";
    std::fs::write(&bad, text).unwrap();
    assert_eq!(run_cli(&args(bad)), 1);
    assert_eq!(pcap_records(&dir.join("bad.pcap")), 2);

    let unparsable = dir.join("unparsable.pkt");
    std::fs::write(&unparsable, "0 < S 0:0(0)\n").unwrap();
    assert_eq!(run_cli(&args(unparsable.clone())), 2);
    // Several scripts: the worst exit code.
    let all = ScriptArgs { files: vec![dir.join("bad.pkt"), unparsable], ..args(PathBuf::new()) };
    assert_eq!(run_cli(&all), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The scripts written for Linux (tests/linux/README.md): which pass on netlab, and where the
/// others fail.
#[test]
fn linux_style_scripts_nine_of_ten_pass_and_the_quick_ack_one_fails() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/linux");
    let mut results = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|x| x == "pkt") {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            results.push((name, run_on_netlab(&p)));
        }
    }
    results.sort();
    assert_eq!(results.len(), 10);
    let failed: Vec<&(String, Option<String>)> = results.iter().filter(|(_, f)| f.is_some()).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let (name, report) = failed[0];
    assert_eq!(name, "rst-in-established.pkt");
    assert!(
        report.as_deref().unwrap().starts_with("rst-in-established.pkt:18: error handling packet: timed out waiting")
    );
}
