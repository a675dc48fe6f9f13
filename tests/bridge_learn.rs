//! Live UDP bridge in learn mode (`remote = "learn"`), as a CS144 `endtoend` meets it: a peer on a
//! random port says hello with empty datagrams, then speaks Ethernet frames, and netlab answers at
//! that port. A second peer that says hello later (a restarted `endtoend`) takes its place. Then the
//! ready-made scenarios/live/cs144-*.toml joined together, each side standing in for the endtoend
//! the other expects, through hello-saying forwarders (as the CS144 relay joins two endtoends).
//! Fresh ports, no root needed.

use netlab::wire::{ArpOp, ArpRepr, EtherType, EthernetRepr, IcmpRepr, IpProtocol, Ipv4Addr, Ipv4Repr, MacAddr};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// endtoend's client side: its router's MAC and internet-side address, and its host's address.
const PEER_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x11, 0x22, 0x33]);
const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 192);
const NETLAB_ROUTER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 172);
const CLIENT_HOST: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 50);
const SERVER_HOST: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 100);

/// Kills netlab on drop if it is still running, so that a failing test leaves nothing behind.
struct Proc(Child);

impl Proc {
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let end = Instant::now() + limit;
        loop {
            if let Some(st) = self.0.try_wait().expect("try_wait") {
                return st;
            }
            assert!(Instant::now() < end, "netlab did not exit within {limit:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn work_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netlab-bridge-learn-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// scenarios/live/`file` with its text patched (ports, settings), written into `dir`.
fn scenario(dir: &Path, file: &str, patches: &[(&str, String)]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/live").join(file);
    let mut text = std::fs::read_to_string(src).expect("scenario");
    for (from, to) in patches {
        assert!(text.contains(from), "{file}: no {from:?} to patch");
        text = text.replace(from, to);
    }
    let path = dir.join(file);
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// cs144-server.toml on `port`, stopping after `stop`.
fn server_scenario(dir: &Path, port: u16, stop: &str) -> PathBuf {
    scenario(
        dir,
        "cs144-server.toml",
        &[("127.0.0.1:40172", format!("127.0.0.1:{port}")), ("stop = \"1h\"", stop.to_string())],
    )
}

/// Starts `netlab run scenario` with outputs in dir/`tag` (and dir/`tag`.err) and waits until its
/// bridges are open.
fn start(dir: &Path, scenario: &Path, tag: &str) -> Proc {
    let err_file = dir.join(format!("{tag}.err"));
    let child = Command::new(env!("CARGO_BIN_EXE_netlab"))
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(dir.join(tag))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join(format!("{tag}.out"))).expect("out"))
        .stderr(std::fs::File::create(&err_file).expect("err"))
        .spawn()
        .expect("start netlab");
    let mut p = Proc(child);
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let err = std::fs::read_to_string(&err_file).unwrap_or_default();
        if err.contains("running in real time") {
            return p;
        }
        if let Some(st) = p.0.try_wait().expect("try_wait") {
            panic!("netlab exited early ({st}): {err}");
        }
        assert!(Instant::now() < end, "netlab not ready: {err}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn ethernet(dst: MacAddr, ethertype: EtherType, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; EthernetRepr::HEADER_LEN];
    EthernetRepr { dst, src: PEER_MAC, ethertype }.emit(&mut f);
    f.extend_from_slice(payload);
    f
}

fn arp(op: ArpOp, target_mac: MacAddr, target_ip: Ipv4Addr) -> Vec<u8> {
    let mut a = [0u8; ArpRepr::LEN];
    ArpRepr { op, sender_mac: PEER_MAC, sender_ip: PEER_IP, target_mac, target_ip }.emit(&mut a);
    let dst = if op == ArpOp::Request { MacAddr::BROADCAST } else { target_mac };
    ethernet(dst, EtherType::Arp, &a)
}

/// An ICMP echo request from the client host to the server host, sent to `router_mac`.
fn ping(router_mac: MacAddr, seq: u16) -> Vec<u8> {
    let icmp = IcmpRepr::EchoRequest { ident: 7, seq, data: b"learned" };
    let mut p = vec![0u8; Ipv4Repr::HEADER_LEN + icmp.buffer_len()];
    let ip = Ipv4Repr {
        src: CLIENT_HOST,
        dst: SERVER_HOST,
        protocol: IpProtocol::Icmp,
        ttl: 64,
        tos: 0,
        ident: seq,
        dont_frag: true,
        payload_len: icmp.buffer_len(),
    };
    ip.emit(&mut p);
    icmp.emit(&mut p[Ipv4Repr::HEADER_LEN..]);
    ethernet(router_mac, EtherType::Ipv4, &p)
}

/// Receives frames from netlab until `want` accepts one (answering netlab's ARP requests for the
/// peer's address on the way); panics after 5 s.
fn receive_until<T>(sock: &UdpSocket, netlab: SocketAddr, mut want: impl FnMut(&[u8]) -> Option<T>) -> T {
    sock.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    let end = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 2048];
    while Instant::now() < end {
        let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
        assert_eq!(from, netlab, "a datagram from somewhere else");
        let frame = &buf[..n];
        if let Some(t) = want(frame) {
            return t;
        }
        if let Ok((eth, payload)) = EthernetRepr::parse(frame)
            && eth.ethertype == EtherType::Arp
            && let Ok(a) = ArpRepr::parse(payload)
            && a.op == ArpOp::Request
            && a.target_ip == PEER_IP
        {
            sock.send_to(&arp(ArpOp::Reply, a.sender_mac, a.sender_ip), netlab).expect("send");
        }
    }
    panic!("nothing wanted came back within 5 s");
}

/// The router's MAC, from its ARP reply to our request.
fn arp_reply(frame: &[u8]) -> Option<MacAddr> {
    let (eth, payload) = EthernetRepr::parse(frame).ok()?;
    let a = ArpRepr::parse(payload).ok()?;
    (eth.ethertype == EtherType::Arp && a.op == ArpOp::Reply && a.sender_ip == NETLAB_ROUTER).then_some(a.sender_mac)
}

/// The sequence number of an echo reply from the server host to the client host.
fn echo_reply(frame: &[u8]) -> Option<u16> {
    let (eth, packet) = EthernetRepr::parse(frame).ok()?;
    let (ip, payload) = Ipv4Repr::parse(packet).ok()?;
    match IcmpRepr::parse(payload).ok()? {
        IcmpRepr::EchoReply { ident: 7, seq, data: b"learned" }
            if eth.ethertype == EtherType::Ipv4 && ip.src == SERVER_HOST && ip.dst == CLIENT_HOST =>
        {
            Some(seq)
        }
        _ => None,
    }
}

fn hello(sock: &UdpSocket, netlab: SocketAddr, times: usize) {
    for _ in 0..times {
        sock.send_to(b"", netlab).expect("send hello");
    }
}

#[test]
fn learn_mode_answers_the_peer_that_said_hello_and_follows_a_restarted_one() {
    let dir = work_dir("learn");
    let port = free_port();
    let netlab: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut p = start(&dir, &server_scenario(&dir, port, "stop = \"10s\""), "netlab");

    // First peer, on a random port: three hellos (as endtoend sends its relay), then ARP and a ping.
    let first = UdpSocket::bind("127.0.0.1:0").expect("bind");
    hello(&first, netlab, 3);
    first.send_to(&arp(ArpOp::Request, MacAddr::ZERO, NETLAB_ROUTER), netlab).expect("send");
    let router_mac = receive_until(&first, netlab, arp_reply);
    first.send_to(&ping(router_mac, 1), netlab).expect("send");
    assert_eq!(receive_until(&first, netlab, echo_reply), 1);

    // A restarted endtoend comes back on another port: its hello makes it the peer.
    let second = UdpSocket::bind("127.0.0.1:0").expect("bind");
    hello(&second, netlab, 1);
    second.send_to(&ping(router_mac, 2), netlab).expect("send");
    assert_eq!(receive_until(&second, netlab, echo_reply), 2);
    // The old peer is now a stranger: its frame is dropped (unsupported), and nothing goes to it.
    first.send_to(&ping(router_mac, 3), netlab).expect("send");
    first.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
    assert!(first.recv_from(&mut [0u8; 2048]).is_err(), "netlab still answers the old peer");

    p.wait(Duration::from_secs(30));
    let err = std::fs::read_to_string(dir.join("netlab.err")).expect("stderr");
    let first_port = first.local_addr().unwrap().port();
    let second_port = second.local_addr().unwrap().port();
    assert!(err.contains("udp 127.0.0.1:") && err.contains("<-> learn"), "{err}");
    assert!(err.contains(&format!("bridge internet: peer is 127.0.0.1:{first_port}")), "{err}");
    assert!(err.contains(&format!("bridge internet: peer is 127.0.0.1:{second_port}")), "{err}");
    assert!(err.contains("bridge internet: 4 hellos (empty datagrams) from the peer"), "{err}");

    // The hellos were not taken for broken frames; the old peer's ping was a stranger's.
    let sum = summary(&dir, "netlab");
    let peer = sum["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "internet-peer").expect("internet-peer");
    assert_eq!(peer["dropped"]["malformed"].as_u64().unwrap_or(0), 0, "{peer}");
    assert_eq!(peer["dropped"]["unsupported"].as_u64().unwrap_or(0), 1, "{peer}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_remote_that_is_neither_an_address_nor_learn_is_refused_with_its_place() {
    let dir = work_dir("bad");
    let path = server_scenario(&dir, free_port(), "stop = \"10s\"");
    let text = std::fs::read_to_string(&path).unwrap().replace("remote = \"learn\"", "remote = \"learned\"");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_netlab")).arg("check").arg(&path).output().expect("netlab check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("or \"learn\""), "{err}");
    assert!(err.contains("cs144-server.toml:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn summary(dir: &Path, tag: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(tag).join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("json")
}

fn app<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["apps"].as_array().expect("apps").iter().find(|a| a["name"] == name).unwrap_or_else(|| panic!("no app {name}"))
}

/// Joins two learn-mode bridges as the CS144 relay joins two endtoends: one socket says hello to
/// each, then every datagram from one side is passed to the other. Stops when dropped.
struct Forwarder {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Forwarder {
    fn start(p: SocketAddr, q: SocketAddr) -> Forwarder {
        let (a, b) = (UdpSocket::bind("127.0.0.1:0").expect("bind"), UdpSocket::bind("127.0.0.1:0").expect("bind"));
        hello(&a, p, 3);
        hello(&b, q, 3);
        let stop = Arc::new(AtomicBool::new(false));
        let pass = |from: UdpSocket, src: SocketAddr, to: UdpSocket, dst: SocketAddr, stop: Arc<AtomicBool>| {
            std::thread::spawn(move || {
                from.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
                let mut buf = [0u8; 2048];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok((n, who)) = from.recv_from(&mut buf)
                        && who == src
                    {
                        let _ = to.send_to(&buf[..n], dst);
                    }
                }
            })
        };
        let threads = vec![
            pass(a.try_clone().unwrap(), p, b.try_clone().unwrap(), q, stop.clone()),
            pass(b, q, a, p, stop.clone()),
        ];
        Forwarder { stop, threads }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// cs144-client.toml (sending `bytes`) and cs144-server.toml with a bulk sink in place of the echo
/// server, on fresh ports; each stops when its applications are done.
fn client_and_sink(dir: &Path, bytes: u64) -> (PathBuf, PathBuf, u16, u16) {
    let (pc, ps) = (free_port(), free_port());
    let client = scenario(
        dir,
        "cs144-client.toml",
        &[
            ("127.0.0.1:40192", format!("127.0.0.1:{pc}")),
            ("bytes = 1_000_000", format!("bytes = {bytes}")),
            ("stop = \"5min\"", "stop = \"90s\"".into()),
        ],
    );
    let server = scenario(
        dir,
        "cs144-server.toml",
        &[
            ("127.0.0.1:40172", format!("127.0.0.1:{ps}")),
            ("stop = \"1h\"", "stop = \"90s\"\nstop_when_apps_done = true".into()),
            ("kind = \"echo-server\"", format!("kind = \"bulk-sink\"\nbytes = {bytes}\nexpect_from = \"transfer\"")),
        ],
    );
    (client, server, pc, ps)
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The client sent the seeded content, and the sink received exactly that (SHA-256 checked).
fn check_transfer(dir: &Path, bytes: u64) {
    let client = summary(dir, "client");
    let sink = summary(dir, "server");
    let expected = netlab::app::remote::content_sha256(1, "transfer", bytes);
    let sent = app(&client, "transfer")["output"].to_string();
    assert!(sent.contains(&format!("sent {bytes} bytes, sha256 {expected}")), "{sent}");
    assert_eq!(app(&sink, "echo")["metrics"]["bytes_received"], bytes as f64);
    assert_eq!(app(&sink, "echo")["metrics"]["sha256_match"], 1.0);
}

fn logs(dir: &Path) -> String {
    ["client.err", "server.err", "relay.err"]
        .iter()
        .map(|f| format!("--- {f}\n{}", std::fs::read_to_string(dir.join(f)).unwrap_or_default()))
        .collect()
}

#[test]
fn cs144_client_and_server_scenarios_meet_through_a_forwarder() {
    let dir = work_dir("pair");
    let bytes = 300_000;
    let (client, server, pc, ps) = client_and_sink(&dir, bytes);
    let mut s = start(&dir, &server, "server");
    let mut c = start(&dir, &client, "client");
    let fwd = Forwarder::start(local(pc), local(ps));
    let (st_c, st_s) = (c.wait(Duration::from_secs(100)), s.wait(Duration::from_secs(100)));
    drop(fwd);
    assert!(st_c.success() && st_s.success(), "client {st_c}, server {st_s}\n{}", logs(&dir));
    check_transfer(&dir, bytes);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cs144_relay_joins_the_two_sides_through_its_impaired_path() {
    let dir = work_dir("relay");
    let bytes = 300_000;
    let (client, server, pc, ps) = client_and_sink(&dir, bytes);
    let (p1, p2) = (free_port(), free_port());
    let relay = scenario(
        &dir,
        "cs144-relay.toml",
        &[
            ("127.0.0.1:40010", format!("127.0.0.1:{p1}")),
            ("127.0.0.1:40020", format!("127.0.0.1:{p2}")),
            ("stop = \"1h\"", "stop = \"120s\"".into()),
        ],
    );
    let mut r = start(&dir, &relay, "relay");
    let mut s = start(&dir, &server, "server");
    let mut c = start(&dir, &client, "client");
    let to_client = Forwarder::start(local(pc), local(p1));
    let to_server = Forwarder::start(local(p2), local(ps));
    let (st_c, st_s) = (c.wait(Duration::from_secs(100)), s.wait(Duration::from_secs(100)));
    drop((to_client, to_server));
    // Ctrl-C: the relay stops and still writes its report.
    let _ = Command::new("kill").arg("-INT").arg(r.0.id().to_string()).status();
    r.wait(Duration::from_secs(20));
    assert!(st_c.success() && st_s.success(), "client {st_c}, server {st_s}\n{}", logs(&dir));
    check_transfer(&dir, bytes);
    // The transfer crossed the relay's simulated path (client to server: the data and headers).
    let relay = summary(&dir, "relay");
    let path = relay["links"].as_array().unwrap().iter().find(|l| l["name"] == "path").expect("link path");
    assert!(path["a->b"]["delivered_bytes"].as_u64().unwrap() > bytes, "{path}");
    let _ = std::fs::remove_dir_all(&dir);
}
