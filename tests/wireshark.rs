//! Every capture of every scenario opens in tshark without malformed packets or bad checksums
//! (except frames a scenario corrupted on purpose, at most one per corruption).
//!
//! Needs `tshark`. CI installs it and sets NETLAB_REQUIRE_TSHARK=1, which makes a missing tshark a
//! failure; elsewhere the test says it skipped.

use netlab::scenario::{BuildOptions, Scenario};
use netlab::sim::Instant;
use netlab::world::RunLimits;
use std::path::Path;
use std::process::Command;

fn tshark_available() -> bool {
    Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Frames tshark flags as malformed or with a bad IP/TCP/UDP/ICMP checksum.
fn bad_frames(pcap: &Path) -> Vec<String> {
    // An ICMP error quotes only the first bytes of the segment it is about, so tshark cannot verify
    // (and flags) the quoted TCP checksum: checksum problems inside ICMP errors are not ours.
    let filter = "_ws.malformed || (_ws.expert.severity >= 8388608 && !icmp) || ip.checksum.status == 0 \
                  || (tcp.checksum.status == 0 && !icmp) || udp.checksum.status == 0 || icmp.checksum.status == 0";
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args([
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
            "-Y",
            filter,
        ])
        // Payloads are random bytes: decode them as data, or heuristic dissectors (Thrift, ...)
        // mistake some for malformed messages of their protocol.
        .args(["-d", "tcp.port==1-65535,data", "-d", "udp.port==1-65535,data"])
        .output()
        .expect("tshark runs");
    assert!(out.status.success(), "tshark failed on {}: {}", pcap.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect()
}

fn frame_count(pcap: &Path) -> usize {
    let out = Command::new("tshark").args(["-n", "-r"]).arg(pcap).output().expect("tshark runs");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn captures_open_cleanly_in_tshark() {
    if !tshark_available() {
        assert!(
            std::env::var_os("NETLAB_REQUIRE_TSHARK").is_none(),
            "tshark is required (NETLAB_REQUIRE_TSHARK is set) but not installed"
        );
        eprintln!("SKIPPED: tshark is not installed");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut checked = 0;
    for f in files {
        let sc = Scenario::load(&f).unwrap();
        let out = std::env::temp_dir().join(format!("netlab-tshark-{}-{}", std::process::id(), sc.name));
        let _ = std::fs::remove_dir_all(&out);
        let opts = BuildOptions { out_dir: Some(out.clone()), trace: false, ..Default::default() };
        let mut world = netlab::run::build(&sc, &opts).unwrap();
        let limits = RunLimits {
            stop_at: Instant::ZERO + sc.stop,
            max_events: u64::MAX,
            stop_when_apps_done: sc.stop_when_apps_done,
        };
        world.run_with(limits);
        world.finish().unwrap();
        let mut frames = 0;
        let corrupted: u64 = world.links().iter().map(|l| l.a_to_b.corrupted + l.b_to_a.corrupted).sum();
        for e in std::fs::read_dir(&out).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "pcap") {
                continue;
            }
            let bad = bad_frames(&p);
            // A corrupted frame shows at the receiving end only, once per corruption.
            assert!(
                bad.len() as u64 <= corrupted,
                "{}: {} problem frames (corrupted on purpose: {corrupted}):\n{}",
                p.display(),
                bad.len(),
                bad.join("\n")
            );
            frames += frame_count(&p);
            checked += 1;
        }
        let _ = std::fs::remove_dir_all(&out);
        assert!(frames > 0, "{}: every capture is empty", f.display());
    }
    assert!(checked >= 4, "checked only {checked} captures");
}
