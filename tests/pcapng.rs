//! Annotated captures (`capture_format = "pcapng"`): the same frames as the classic pcap files, each
//! with comments saying what became of it, and the trace's frame id as its packet id. Every drop,
//! duplicate, corruption, reordering and retransmission the summary counts has its comment. Read
//! here with an independent pcapng reader (pcap-file), and with tshark when it is installed (CI
//! sets NETLAB_REQUIRE_TSHARK=1, which makes a missing tshark a failure).

use netlab::scenario::{BuildOptions, CaptureFormat, Scenario};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One frame of a pcapng file.
#[derive(Debug)]
struct Rec {
    data: Vec<u8>,
    packet_id: Option<u64>,
    outbound: Option<bool>,
    comments: Vec<String>,
}

fn read_pcapng(path: &Path) -> Vec<Rec> {
    let bytes = std::fs::read(path).unwrap();
    let mut r = PcapNgReader::new(&bytes[..]).unwrap();
    let mut out = Vec::new();
    while let Some(b) = r.next_block() {
        let Block::EnhancedPacket(p) = b.unwrap() else { continue };
        let mut rec = Rec { data: p.data.to_vec(), packet_id: None, outbound: None, comments: Vec::new() };
        for o in &p.options {
            match o {
                EnhancedPacketOption::Comment(c) => rec.comments.push(c.to_string()),
                EnhancedPacketOption::Flags(f) => rec.outbound = Some(f & 3 == 2),
                EnhancedPacketOption::Unknown(u) if u.code == 5 => {
                    rec.packet_id = Some(u64::from_le_bytes(u.value.as_ref().try_into().unwrap()))
                }
                _ => {}
            }
        }
        out.push(rec);
    }
    out
}

fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let mut r = pcap_file::pcap::PcapReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(p.unwrap().data.to_vec());
    }
    out
}

fn out_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netlab-pcapng-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Runs `sc` writing captures in `format` to a fresh directory; the summary as JSON, and the directory.
fn run(sc: &Scenario, format: CaptureFormat, tag: &str) -> (serde_json::Value, PathBuf) {
    let dir = out_dir(tag);
    let opts = BuildOptions { out_dir: Some(dir.clone()), capture_format: Some(format), ..Default::default() };
    let f = netlab::run::run(sc, &opts, None, &mut |_| {}, &|| false).unwrap();
    assert!(f.output_error.is_none(), "{:?}", f.output_error);
    (serde_json::to_value(&f.report).unwrap(), dir)
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

/// What the summary counts: link drops (all causes), duplicates, reorderings, corruptions, and the
/// connections' retransmissions.
fn summary_counts(s: &serde_json::Value) -> BTreeMap<&'static str, u64> {
    let mut c = BTreeMap::new();
    for l in s["links"].as_array().unwrap() {
        for d in ["a->b", "b->a"] {
            let dir = &l[d];
            let dropped: u64 = dir["dropped"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
            *c.entry("dropped").or_default() += dropped;
            *c.entry("duplicate").or_default() += dir["duplicated"].as_u64().unwrap();
            *c.entry("reordered").or_default() += dir["reordered"].as_u64().unwrap();
            *c.entry("corrupted").or_default() += dir["corrupted"].as_u64().unwrap();
        }
    }
    let retx: u64 = s["connections"].as_array().unwrap().iter().map(|x| x["retransmissions"].as_u64().unwrap()).sum();
    c.insert("retransmission", retx);
    c
}

/// The run's trace as JSON lines (`netlab trace export --jsonl`).
fn trace_jsonl(dir: &Path) -> String {
    let topo = netlab::trace::read::Topology::read(&dir.join("summary.json")).unwrap();
    let mut out = Vec::new();
    netlab::trace::export::export_jsonl(&dir.join("trace.nlt"), &topo, &Default::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Retransmitted segments that never reached a wire, so no capture can show them (a SYN sent again
/// while the first one still waits for an ARP reply that was lost: all of them die of the ARP
/// timeout), from the trace.
fn retransmissions_never_sent(dir: &Path) -> u64 {
    let trace = trace_jsonl(dir);
    let mut announced = BTreeSet::new();
    let mut retransmitted = Vec::new();
    let mut on_a_link = BTreeSet::new();
    for line in trace.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        match (v["ev"].as_str(), v["kind"]["event"].as_str()) {
            (Some("link_tx"), _) => {
                on_a_link.insert(v["frame"].as_u64().unwrap());
            }
            (Some("tcp"), Some("retransmit")) => {
                announced.insert((v["node"].as_u64(), v["socket"].as_u64()));
            }
            (Some("tcp"), Some("segment_sent")) if announced.remove(&(v["node"].as_u64(), v["socket"].as_u64())) => {
                retransmitted.push(v["frame"].as_u64().unwrap());
            }
            _ => {}
        }
    }
    retransmitted.iter().filter(|f| !on_a_link.contains(f)).count() as u64
}

/// What the captures can show of the summary's counts: all of it, but retransmissions that never
/// reached a wire.
fn expected(summary: &serde_json::Value, dir: &Path) -> BTreeMap<&'static str, u64> {
    let mut want = summary_counts(summary);
    *want.get_mut("retransmission").unwrap() -= retransmissions_never_sent(dir);
    want
}

/// Frames (by packet id, over every file) whose comments say each thing.
fn comment_counts(frames: &[(u64, String)]) -> BTreeMap<&'static str, u64> {
    let mut c = BTreeMap::new();
    for (key, needle) in [
        ("dropped", "dropped by "),
        ("duplicate", "duplicate of #"),
        ("reordered", "reordered on "),
        ("corrupted", "corrupted on "),
        ("retransmission", "retransmission ("),
    ] {
        let ids: BTreeSet<u64> = frames.iter().filter(|(_, t)| t.contains(needle)).map(|(id, _)| *id).collect();
        c.insert(key, ids.len() as u64);
    }
    c
}

fn loss() -> Scenario {
    Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/loss.toml")).unwrap()
}

/// One hop with every impairment, so that duplicates, corruption and reordering all happen.
fn impaired() -> Scenario {
    let text = r#"
[simulation]
seed = 3
[[hosts]]
name = "a"
[[hosts]]
name = "b"
[[links]]
name = "l1"
a = { node = "a", ip = "10.0.0.1/24" }
b = { node = "b", ip = "10.0.0.2/24" }
delay = "5ms"
rate = "10Mbps"
loss = 0.02
duplicate = 0.02
corrupt = 0.01
reorder = 0.02
[[apps]]
name = "transfer"
kind = "bulk"
host = "a"
to = "b"
bytes = 300_000
"#;
    Scenario::parse("impaired.toml", text, "impaired").unwrap()
}

/// Every comment of every pcapng file in `dir`, with the frame's packet id.
fn all_comments(dir: &Path) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    for f in files(dir, "pcapng") {
        for r in read_pcapng(&f) {
            let id = r.packet_id.expect("every frame has a packet id");
            out.extend(r.comments.into_iter().map(|c| (id, c)));
        }
    }
    out
}

#[test]
fn pcapng_holds_the_same_frames_as_pcap_with_the_traces_frame_ids() {
    let sc = loss();
    let (_, classic) = run(&sc, CaptureFormat::Pcap, "classic");
    let (_, ng) = run(&sc, CaptureFormat::Pcapng, "ng");
    let (pcaps, ngs) = (files(&classic, "pcap"), files(&ng, "pcapng"));
    assert_eq!(pcaps.len(), 2);
    assert!(files(&ng, "pcap").is_empty(), "pcapng replaces pcap");
    for (p, n) in pcaps.iter().zip(&ngs) {
        assert_eq!(p.file_stem(), n.file_stem());
        let recs = read_pcapng(n);
        let data: Vec<Vec<u8>> = recs.iter().map(|r| r.data.clone()).collect();
        assert_eq!(read_pcap(p), data, "{}: the same frames in the same order", n.display());
    }
    // The packet ids are the trace's frame ids: the sender's outbound frames are exactly the frames
    // the trace says entered l1 a->b.
    let trace = trace_jsonl(&ng);
    let mut sent_on_l1 = Vec::new();
    for line in trace.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["ev"] == "link_tx" && v["link"] == 0 && v["dir"] == "a->b" {
            sent_on_l1.push(v["frame"].as_u64().unwrap());
        }
    }
    let sender = read_pcapng(&ng.join("l1-sender.pcapng"));
    let outbound: Vec<u64> = sender.iter().filter(|r| r.outbound == Some(true)).map(|r| r.packet_id.unwrap()).collect();
    assert_eq!(outbound, sent_on_l1);
    let _ = std::fs::remove_dir_all(&classic);
    let _ = std::fs::remove_dir_all(&ng);
}

#[test]
fn every_drop_and_retransmission_of_the_loss_run_has_its_comment() {
    let (summary, dir) = run(&loss(), CaptureFormat::Pcapng, "loss");
    let want = summary_counts(&summary);
    assert!(want["dropped"] > 5 && want["retransmission"] > 5, "{want:?}");
    assert_eq!(expected(&summary, &dir), want, "every retransmission of this run reached a wire");
    let comments = all_comments(&dir);
    assert_eq!(comment_counts(&comments), want);
    // The sender's capture says that a later hop lost its segment, and which.
    let sender = read_pcapng(&dir.join("l1-sender.pcapng"));
    assert!(sender.iter().any(|r| r.comments.iter().any(|c| c == "dropped by loss on l2 a->b")));
    assert!(sender.iter().any(|r| r.comments.iter().any(|c| c.starts_with("retransmission ("))));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn duplicates_corruption_and_reordering_have_their_comments() {
    let (summary, dir) = run(&impaired(), CaptureFormat::Pcapng, "impaired");
    let want = expected(&summary, &dir);
    for k in ["duplicate", "corrupted", "reordered", "dropped"] {
        assert!(want[k] > 0, "the run has no {k}: {want:?}");
    }
    let comments = all_comments(&dir);
    assert_eq!(comment_counts(&comments), want);
    // A duplicate names the other copy by its frame number in the same file.
    let recv = read_pcapng(&dir.join("l1-b.pcapng"));
    let dup = recv.iter().position(|r| r.comments.iter().any(|c| c.starts_with("duplicate of #"))).unwrap();
    let text = recv[dup].comments.iter().find(|c| c.starts_with("duplicate of #")).unwrap();
    let n: usize = text["duplicate of #".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1 && n - 1 < dup, "{text} is frame {}", dup + 1);
    // The same bytes (but for a bit the link may have flipped in one of them).
    let (x, y) = (&recv[n - 1].data, &recv[dup].data);
    assert_eq!(x.len(), y.len(), "{text}");
    assert!(x.iter().zip(y).filter(|(a, b)| a != b).count() <= 1, "{text}: not the same frame");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn capture_format_is_checked() {
    let bad = "[simulation]\ncapture_format = \"pcapx\"\n[[hosts]]\nname = \"a\"\n";
    let e = Scenario::parse("x.toml", bad, "x").unwrap_err().to_string();
    assert!(e.contains("expected \"pcap\" or \"pcapng\", found \"pcapx\"") && e.contains("x.toml:2:"), "{e}");
    let good = "[simulation]\ncapture_format = \"pcapng\"\n[[hosts]]\nname = \"a\"\n";
    assert_eq!(Scenario::parse("x.toml", good, "x").unwrap().capture_format, CaptureFormat::Pcapng);
}

fn tshark_available() -> bool {
    Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn tshark_lists_every_annotated_frame_of_the_loss_run() {
    if !tshark_available() {
        assert!(
            std::env::var_os("NETLAB_REQUIRE_TSHARK").is_none(),
            "tshark is required (NETLAB_REQUIRE_TSHARK is set) but not installed"
        );
        eprintln!("SKIPPED: tshark is not installed");
        return;
    }
    for (sc, tag) in [(loss(), "tshark-loss"), (impaired(), "tshark-impaired")] {
        let (summary, dir) = run(&sc, CaptureFormat::Pcapng, tag);
        let mut frames = Vec::new();
        for f in files(&dir, "pcapng") {
            // `-Y frame.comment`: the frames with a comment; one line per comment.
            let out = Command::new("tshark")
                .args(["-n", "-r"])
                .arg(&f)
                .args(["-Y", "frame.comment", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"])
                .args(["-e", "frame.packet_id", "-e", "frame.comment"])
                .output()
                .expect("tshark runs");
            assert!(out.status.success(), "{}: {}", f.display(), String::from_utf8_lossy(&out.stderr));
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let (id, comments) = line.split_once('\t').unwrap();
                let id: u64 = id.parse().unwrap();
                frames.extend(comments.split('|').map(|c| (id, c.to_string())));
            }
        }
        assert_eq!(comment_counts(&frames), expected(&summary, &dir), "{tag}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn run_capture_format_flag_writes_pcapng() {
    let dir = out_dir("cli");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/echo.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_netlab"))
        .arg("run")
        .arg(&scenario)
        .args(["--capture-format", "pcapng", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!files(&dir, "pcapng").is_empty() && files(&dir, "pcap").is_empty());
    let bad =
        Command::new(env!("CARGO_BIN_EXE_netlab")).arg("run").arg(&scenario).args(["--capture-format", "png"]).output();
    let bad = bad.unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected \"pcap\" or \"pcapng\", found \"png\""));
    let _ = std::fs::remove_dir_all(&dir);
}
