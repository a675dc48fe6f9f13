//! Live UDP bridge in learn mode (`remote = "learn"`), as a CS144 `endtoend` meets it: a peer on a
//! random port says hello with empty datagrams, then speaks Ethernet frames, and netlab answers at
//! that port. A second peer that says hello later (a restarted `endtoend`) takes its place. The
//! scenario is scenarios/live/cs144-server.toml with a fresh port (no root needed).

use netlab::wire::{ArpOp, ArpRepr, EtherType, EthernetRepr, IcmpRepr, IpProtocol, Ipv4Addr, Ipv4Repr, MacAddr};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// endtoend's client side: its router's MAC and internet-side address, and its host's address.
const PEER_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x11, 0x22, 0x33]);
const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 192);
const NETLAB_ROUTER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 172);
const CLIENT_HOST: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 50);
const SERVER_HOST: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 100);

/// Kills netlab on drop if it is still running, so that a failing test leaves nothing behind.
struct Proc(Child);

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

/// cs144-server.toml on a free port, stopping after `stop`.
fn scenario(dir: &Path, port: u16, stop: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/live/cs144-server.toml");
    let text = std::fs::read_to_string(src).expect("scenario");
    for from in ["127.0.0.1:40172", "stop = \"1h\""] {
        assert!(text.contains(from), "cs144-server.toml: no {from:?} to patch");
    }
    let text = text.replace("127.0.0.1:40172", &format!("127.0.0.1:{port}")).replace("stop = \"1h\"", stop);
    let path = dir.join("cs144-server.toml");
    std::fs::write(&path, text).expect("write scenario");
    path
}

fn start(dir: &Path, scenario: &Path) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_netlab"))
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(dir.join("out"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("netlab.out")).expect("out"))
        .stderr(std::fs::File::create(dir.join("netlab.err")).expect("err"))
        .spawn()
        .expect("start netlab");
    let mut p = Proc(child);
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let err = std::fs::read_to_string(dir.join("netlab.err")).unwrap_or_default();
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
    let mut p = start(&dir, &scenario(&dir, port, "stop = \"10s\""));

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

    let end = Instant::now() + Duration::from_secs(30);
    while p.0.try_wait().expect("try_wait").is_none() {
        assert!(Instant::now() < end, "netlab did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    let err = std::fs::read_to_string(dir.join("netlab.err")).expect("stderr");
    let first_port = first.local_addr().unwrap().port();
    let second_port = second.local_addr().unwrap().port();
    assert!(err.contains("udp 127.0.0.1:") && err.contains("<-> learn"), "{err}");
    assert!(err.contains(&format!("bridge internet: peer is 127.0.0.1:{first_port}")), "{err}");
    assert!(err.contains(&format!("bridge internet: peer is 127.0.0.1:{second_port}")), "{err}");
    assert!(err.contains("bridge internet: 4 hellos (empty datagrams) from the peer"), "{err}");

    // The hellos were not taken for broken frames; the old peer's ping was a stranger's.
    let text = std::fs::read_to_string(dir.join("out/summary.json")).expect("summary.json");
    let sum: serde_json::Value = serde_json::from_str(&text).expect("json");
    let peer = sum["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "internet-peer").expect("internet-peer");
    assert_eq!(peer["dropped"]["malformed"].as_u64().unwrap_or(0), 0, "{peer}");
    assert_eq!(peer["dropped"]["unsupported"].as_u64().unwrap_or(0), 1, "{peer}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_remote_that_is_neither_an_address_nor_learn_is_refused_with_its_place() {
    let dir = work_dir("bad");
    let path = scenario(&dir, free_port(), "stop = \"10s\"");
    let text = std::fs::read_to_string(&path).unwrap().replace("remote = \"learn\"", "remote = \"learned\"");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_netlab")).arg("check").arg(&path).output().expect("netlab check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("or \"learn\""), "{err}");
    assert!(err.contains("cs144-server.toml:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
