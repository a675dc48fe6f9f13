//! Live bridges, Ethernet over UDP: two netlab processes joined by a UDP tunnel on loopback (no root
//! needed). The scenarios are scenarios/live/tunnel-{client,server}.toml with fresh ports.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Kills the process on drop (if it is still running), so that a failing test leaves nothing behind.
struct Proc {
    child: Child,
    name: String,
}

impl Proc {
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let end = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            assert!(Instant::now() < end, "{} did not exit within {limit:?}", self.name);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn work_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netlab-bridge-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A live scenario with its text patched (ports, settings), written into `dir`.
fn scenario(dir: &Path, file: &str, patches: &[(&str, String)]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/live").join(file);
    let mut text = std::fs::read_to_string(&src).expect("scenario");
    for (from, to) in patches {
        assert!(text.contains(from), "{file}: no {from:?} to patch");
        text = text.replace(from, to);
    }
    let path = dir.join(file);
    std::fs::write(&path, text).expect("write scenario");
    path
}

fn start(dir: &Path, scenario: &Path, tag: &str) -> Proc {
    let out = std::fs::File::create(dir.join(format!("{tag}.out"))).expect("out");
    let err = std::fs::File::create(dir.join(format!("{tag}.err"))).expect("err");
    let child = Command::new(env!("CARGO_BIN_EXE_netlab"))
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(dir.join(tag))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start netlab");
    Proc { child, name: format!("netlab ({tag})") }
}

/// Waits until netlab says its bridges are open.
fn wait_ready(dir: &Path, tag: &str, p: &mut Proc) {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let err = std::fs::read_to_string(dir.join(format!("{tag}.err"))).unwrap_or_default();
        if err.contains("running in real time") {
            return;
        }
        if let Some(st) = p.child.try_wait().expect("try_wait") {
            panic!("netlab ({tag}) exited early ({st}): {err}");
        }
        assert!(Instant::now() < end, "netlab ({tag}) not ready: {err}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn summary(dir: &Path, tag: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(tag).join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("json")
}

fn app<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["apps"].as_array().expect("apps").iter().find(|a| a["name"] == name).unwrap_or_else(|| panic!("no app {name}"))
}

fn output_line(a: &serde_json::Value, prefix: &str) -> String {
    a["output"]
        .as_array()
        .expect("output")
        .iter()
        .filter_map(|l| l.as_str())
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no output line starting with {prefix:?} in {a}"))
        .to_string()
}

fn logs(dir: &Path) -> String {
    ["a.out", "a.err", "b.out", "b.err"]
        .iter()
        .map(|f| format!("--- {f}\n{}", std::fs::read_to_string(dir.join(f)).unwrap_or_default()))
        .collect()
}

#[test]
fn file_transfer_and_echo_across_the_tunnel() {
    let dir = work_dir("tunnel");
    let (pa, pb) = (free_port(), free_port());
    let patches =
        |_: ()| vec![("127.0.0.1:40001", format!("127.0.0.1:{pa}")), ("127.0.0.1:40002", format!("127.0.0.1:{pb}"))];
    let sa = scenario(&dir, "tunnel-client.toml", &patches(()));
    let sb = scenario(&dir, "tunnel-server.toml", &patches(()));
    let mut b = start(&dir, &sb, "b");
    wait_ready(&dir, "b", &mut b);

    // Junk first, from the peer's address: not frames (counted as malformed), a frame that is not IPv4
    // or ARP (unsupported); and a datagram from a stranger (unsupported). B must shrug them off.
    {
        let peer = UdpSocket::bind(("127.0.0.1", pa)).expect("bind peer port");
        let stranger = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let to = ("127.0.0.1", pb);
        peer.send_to(b"hello", to).expect("send");
        peer.send_to(&[0u8; 10], to).expect("send");
        let mut ipv6 = [0u8; 60];
        ipv6[12] = 0x86;
        ipv6[13] = 0xdd;
        peer.send_to(&ipv6, to).expect("send");
        stranger.send_to(&[0u8; 60], to).expect("send");
        // And a few hundred random datagrams, half of them with a plausible Ethernet + IPv4 start, so
        // that the junk reaches the router's parsers too.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..300 {
            let len = (i * 7) % 1500;
            let mut d: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            if i % 2 == 0 && len > 15 {
                d[..6].copy_from_slice(&[0xff; 6]);
                d[12] = 0x08;
                d[13] = if i % 4 == 0 { 0x06 } else { 0x00 };
                d[14] = 0x45;
            }
            peer.send_to(&d, to).expect("send");
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    let mut a = start(&dir, &sa, "a");
    let st_a = a.wait(Duration::from_secs(120));
    let st_b = b.wait(Duration::from_secs(30));
    assert!(st_a.success() && st_b.success(), "A: {st_a}, B: {st_b}\n{}", logs(&dir));

    let sum_a = summary(&dir, "a");
    let sum_b = summary(&dir, "b");
    // Echo across the tunnel.
    assert_eq!(app(&sum_a, "echo")["metrics"]["correct_replies"], 3.0);
    // File transfer: what A sent is what B received, and both are the seeded content.
    let expected = netlab::app::remote::content_sha256(1, "transfer", 2_000_000);
    let sent = output_line(app(&sum_a, "transfer"), "sent 2000000 bytes, sha256 ");
    let received = output_line(app(&sum_b, "sink"), "received 2000000 bytes, sha256 ");
    assert!(sent.ends_with(&expected), "{sent} vs {expected}");
    assert!(received.ends_with(&expected), "{received} vs {expected}");
    assert_eq!(app(&sum_b, "sink")["metrics"]["sha256_match"], 1.0);
    // The junk was counted and dropped at the bridge's far-side stand-in.
    let peer = sum_b["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "tunnel-peer").expect("tunnel-peer");
    assert!(peer["dropped"]["malformed"].as_u64().unwrap_or(0) >= 2, "{peer}");
    assert!(peer["dropped"]["unsupported"].as_u64().unwrap_or(0) >= 2, "{peer}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_peer_that_goes_away_is_a_dead_link() {
    let dir = work_dir("deadpeer");
    let (pa, pb) = (free_port(), free_port());
    let ports = [("127.0.0.1:40001", format!("127.0.0.1:{pa}")), ("127.0.0.1:40002", format!("127.0.0.1:{pb}"))];
    let mut pa_patch = ports.to_vec();
    // Give up quickly on a dead path, and only wait 40 s in all.
    pa_patch.push((
        "stop_when_apps_done = true",
        "stop_when_apps_done = true\ntcp = { max_retransmissions = 4, max_syn_retransmissions = 2, rto_max = \"1s\" }"
            .into(),
    ));
    pa_patch.push(("stop = \"90s\"", "stop = \"40s\"".into()));
    let sa = scenario(&dir, "tunnel-client.toml", &pa_patch);
    let sb = scenario(&dir, "tunnel-server.toml", &ports);
    let mut b = start(&dir, &sb, "b");
    wait_ready(&dir, "b", &mut b);
    let mut a = start(&dir, &sa, "a");
    wait_ready(&dir, "a", &mut a);
    // Let the echo exchange begin, then B vanishes without a word.
    std::thread::sleep(Duration::from_millis(1500));
    b.child.kill().expect("kill B");
    let _ = b.child.wait();
    let started = Instant::now();
    let st = a.wait(Duration::from_secs(60));
    assert!(!st.success(), "A cannot pass with its peer gone\n{}", logs(&dir));
    let sum = summary(&dir, "a");
    let echo = app(&sum, "echo");
    let transfer = app(&sum, "transfer");
    // The connections failed as on a dead link (retransmissions exhausted), and A did not hang.
    assert!(echo["error"].is_string() || echo["finished"] == false, "{echo}");
    assert!(transfer["error"].is_string(), "{transfer}");
    assert!(started.elapsed() < Duration::from_secs(45), "{:?}", started.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}
