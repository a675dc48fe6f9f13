//! The CS144 minnow adapter (adapters/minnow/): builds it inside a copy of the minnow tree named by
//! `NETLAB_MINNOW_DIR`, with exactly the commands of adapters/minnow/README.md, then speaks the
//! external stack protocol (docs/stack-protocol.md) with the program it built.
//!
//! Nothing is downloaded: without `NETLAB_MINNOW_DIR`, cmake or a C++ compiler the test prints
//! `SKIPPED: ...` and passes, unless `NETLAB_REQUIRE_MINNOW` is set. Against the public starter code
//! (empty TCP stubs) only what the adapter does itself can be checked: the protocol conversation,
//! socket bookkeeping, and the RST for a segment to a closed port (built with minnow's own
//! serialisation code, which the starter has in full); it then prints a NOTE. With a working TCP in
//! the tree it also checks a passive open, data both ways, end of stream and close.

use netlab::wire::{Ipv4Repr, TcpFlags, TcpRepr};
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The minnow tree to build against, or None after saying why the test is skipped.
fn minnow_dir() -> Option<PathBuf> {
    let skip = |why: &str| {
        assert!(std::env::var_os("NETLAB_REQUIRE_MINNOW").is_none(), "NETLAB_REQUIRE_MINNOW is set, but {why}");
        println!("SKIPPED: minnow adapter test: {why}");
        None
    };
    let Some(dir) = std::env::var_os("NETLAB_MINNOW_DIR").map(PathBuf::from) else {
        return skip("NETLAB_MINNOW_DIR is not set (set NETLAB_MINNOW_DIR to a minnow checkout)");
    };
    if !dir.join("util/tcp_peer.hh").is_file() {
        return skip(&format!(
            "{} has no util/tcp_peer.hh (not a minnow tree of checkpoint 4 or later)",
            dir.display()
        ));
    }
    for tool in ["cmake", "c++", "make"] {
        let ok = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
        if !ok {
            return skip(&format!("`{tool}` is not installed"));
        }
    }
    Some(dir)
}

/// The block of README.md after the `minnow-adapter-build` marker: the commands a student runs.
fn readme_build_block() -> String {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters/minnow/README.md");
    let text = std::fs::read_to_string(&readme).expect("adapters/minnow/README.md");
    let after = text.split("<!-- minnow-adapter-build").nth(1).expect("the build marker in the README");
    let block = after.split("```sh\n").nth(1).expect("a ```sh block after the marker");
    block.split("```").next().expect("the block's end").to_string()
}

/// Copies the minnow tree (without its build directory) into a scratch directory that outlives the
/// test, so that a second run rebuilds only what changed, and runs the README's block there. Each
/// source tree has its own scratch directory: copies keep their files' times, so switching trees in
/// one directory could leave objects of the other tree looking up to date.
fn build_adapter(src: &Path) -> PathBuf {
    let key: String = src.to_string_lossy().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("minnow-adapter").join(key);
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    for entry in std::fs::read_dir(src).expect("read the minnow tree") {
        let entry = entry.expect("entry");
        if ["build", ".git"].contains(&entry.file_name().to_string_lossy().as_ref()) {
            continue;
        }
        let st = Command::new("cp").arg("-a").arg(entry.path()).arg(&scratch).status().expect("cp");
        assert!(st.success(), "copying {} failed", entry.path().display());
    }
    let out = Command::new("nice")
        .args(["-n", "10", "sh", "-ec", &readme_build_block()])
        .env("MINNOW", &scratch)
        .env("NETLAB", env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run the README's build commands");
    assert!(
        out.status.success(),
        "the README's build commands failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let exe = scratch.join("build/netlab_adapter");
    assert!(exe.is_file(), "no {}", exe.display());
    exe
}

// ---------------------------------------------------------------------- the protocol, by hand

fn message(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = u32::try_from(body.len() + 1).unwrap().to_be_bytes().to_vec();
    m.push(ty);
    m.extend_from_slice(body);
    m
}

fn addr(ip: [u8; 4], port: u16) -> Vec<u8> {
    let mut a = ip.to_vec();
    a.extend_from_slice(&port.to_be_bytes());
    a
}

fn hello(version: u16) -> Vec<u8> {
    let mut b = version.to_be_bytes().to_vec();
    b.extend_from_slice(&7u64.to_be_bytes()); // seed
    b.extend_from_slice(&1500u16.to_be_bytes()); // MTU
    b.extend_from_slice(&2u16.to_be_bytes());
    b.extend_from_slice(b"h1");
    b.push(1);
    b.extend_from_slice(&[10, 0, 0, 1, 24]);
    let mut config = Vec::new();
    config.extend_from_slice(&64000u32.to_be_bytes()); // send_buffer
    config.extend_from_slice(&64000u32.to_be_bytes()); // recv_buffer
    config.extend_from_slice(&1460u16.to_be_bytes()); // mss
    config.extend_from_slice(&[0b111, 0]); // flags, NewReno
    for ns in [40_000_000u64, 200_000_000, 60_000_000_000, 1_000_000_000] {
        config.extend_from_slice(&ns.to_be_bytes()); // delayed ACK, rto_min, rto_max, rto_initial
    }
    config.extend_from_slice(&15u32.to_be_bytes());
    config.extend_from_slice(&6u32.to_be_bytes());
    config.extend_from_slice(&30_000_000_000u64.to_be_bytes()); // msl
    config.extend_from_slice(&0u64.to_be_bytes()); // keepalive
    config.extend_from_slice(&10u32.to_be_bytes());
    assert_eq!(config.len(), 72);
    b.extend_from_slice(&config);
    message(0x01, &b)
}

fn call(id: u32, op: u8, args: &[u8]) -> Vec<u8> {
    let mut b = id.to_be_bytes().to_vec();
    b.push(op);
    b.extend_from_slice(args);
    message(0x04, &b)
}

/// TIME `now_ms`, the inputs, END.
fn step(now_ms: u64, inputs: &[Vec<u8>]) -> Vec<u8> {
    let mut s = message(0x02, &(now_ms * 1_000_000).to_be_bytes());
    for i in inputs {
        s.extend_from_slice(i);
    }
    s.extend(message(0x06, &[]));
    s
}

/// A segment from 10.0.0.2:40000 to 10.0.0.1:`port`, in an IPv4 datagram, checksums made by netlab.
fn segment(port: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (src, dst) = (Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1));
    let tcp = TcpRepr {
        src_port: 40000,
        dst_port: port,
        seq,
        ack,
        flags: TcpFlags(flags),
        window: 65535,
        urgent: 0,
        options: Default::default(),
        payload,
    };
    let len = tcp.header_len() + payload.len();
    let mut d = vec![0u8; 20 + len];
    let ip = Ipv4Repr {
        src,
        dst,
        protocol: netlab::wire::IpProtocol::Tcp,
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_frag: true,
        payload_len: len,
    };
    ip.emit(&mut d);
    tcp.emit(&mut d[20..], src, dst);
    message(0x03, &d)
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;

/// A TCP segment the adapter sent: ports, seq, ack, flags, payload (headers and checksums checked).
#[derive(Debug)]
struct Sent {
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: Vec<u8>,
}

/// The TCP segments in an answer's DATAGRAMs, in order.
fn segments(answer: &[(u8, Vec<u8>)]) -> Vec<Sent> {
    let parse = |d: &[u8]| {
        let (ip, payload) = Ipv4Repr::parse(d).expect("a valid IPv4 header");
        assert_eq!((ip.src, ip.dst), (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)));
        let t = TcpRepr::parse(payload, ip.src, ip.dst).expect("a valid TCP segment (checksum)");
        Sent { ports: (t.src_port, t.dst_port), seq: t.seq, ack: t.ack, flags: t.flags.0, payload: t.payload.to_vec() }
    };
    answer.iter().filter(|(t, _)| *t == 0x83).map(|(_, d)| parse(d)).collect()
}

/// The adapter process, read one whole answer at a time.
struct Adapter {
    child: Child,
}

impl Adapter {
    fn start(exe: &Path) -> Adapter {
        let child = Command::new(exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start netlab_adapter");
        Adapter { child }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.child.stdin.as_mut().expect("stdin").write_all(bytes).expect("write");
    }

    fn read_message(&mut self) -> (u8, Vec<u8>) {
        let out = self.child.stdout.as_mut().expect("stdout");
        let mut len = [0u8; 4];
        out.read_exact(&mut len).expect("a message length");
        let mut rest = vec![0u8; u32::from_be_bytes(len) as usize];
        out.read_exact(&mut rest).expect("a message");
        (rest[0], rest[1..].to_vec())
    }

    /// The messages of one step's answer, up to DONE; the one before DONE must be WAKE.
    fn answer(&mut self) -> Vec<(u8, Vec<u8>)> {
        let mut msgs = Vec::new();
        loop {
            let m = self.read_message();
            assert_ne!(m.0, 0x8f, "FAIL: {}", String::from_utf8_lossy(&m.1));
            if m.0 == 0x88 {
                assert_eq!(msgs.last().map(|x: &(u8, Vec<u8>)| x.0), Some(0x87), "WAKE before DONE");
                return msgs;
            }
            msgs.push(m);
        }
    }

    /// Closes stdin and waits (at most 10 s) for the exit status.
    fn finish(mut self) -> std::process::ExitStatus {
        drop(self.child.stdin.take());
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!("the adapter did not exit after its stdin closed");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The RESULT of `call_id` in an answer: (status, payload).
fn result(answer: &[(u8, Vec<u8>)], call_id: u32) -> (u8, Vec<u8>) {
    let r = answer
        .iter()
        .find(|(t, b)| *t == 0x84 && b[..4] == call_id.to_be_bytes())
        .unwrap_or_else(|| panic!("no RESULT for call {call_id} in {answer:?}"));
    (r.1[4], r.1[5..].to_vec())
}

#[test]
fn minnow_adapter_builds_from_the_readme_and_speaks_the_protocol() {
    let Some(src) = minnow_dir() else { return };
    let exe = build_adapter(&src);
    let mut a = Adapter::start(&exe);

    a.send(&hello(1));
    let (ty, body) = a.read_message();
    assert_eq!(ty, 0x81, "READY");
    assert_eq!(body, [&[0, 1, 0, 0, 6][..], b"minnow"].concat(), "version 1, no STATE reports, \"minnow\"");

    // listen on port 80: a listener socket.
    a.send(&step(1, &[call(1, 1, &[addr([0, 0, 0, 0], 80), 4u32.to_be_bytes().to_vec(), vec![0]].concat())]));
    let (status, listener) = result(&a.answer(), 1);
    assert_eq!((status, listener.len()), (0, 4));
    assert_ne!(listener, [0, 0, 0, 0]);

    // A SYN to port 81, where nothing listens: RST,ACK with ACK = SEQ + 1 (RFC 9293 3.10.7.1).
    a.send(&step(2, &[segment(81, 1000, 0, SYN, b"")]));
    let rst = segments(&a.answer());
    assert_eq!(rst.len(), 1, "{rst:?}");
    assert_eq!((rst[0].ports, rst[0].seq, rst[0].ack), ((81, 40000), 0, 1001));
    assert_eq!(rst[0].flags, TcpFlags::RST.0 | TcpFlags::ACK.0);

    // connect from an ephemeral port: a new socket, other than the listener.
    a.send(&step(3, &[call(2, 3, &[addr([0, 0, 0, 0], 0), addr([10, 0, 0, 2], 7), vec![0]].concat())]));
    let (status, conn) = result(&a.answer(), 2);
    assert_eq!((status, conn.len()), (0, 4));
    assert_ne!(conn, listener);

    // recv on a socket that does not exist: invalid socket; accept with nothing waiting: would block.
    let recv = [99u32.to_be_bytes(), 10u32.to_be_bytes()].concat();
    a.send(&step(4, &[call(3, 5, &recv), call(4, 2, &listener)]));
    let ans = a.answer();
    assert_eq!(result(&ans, 3), (2, vec![6]));
    assert_eq!(result(&ans, 4), (1, vec![]));

    // close the listener: ok, and its EVENT says it is freed.
    a.send(&step(5, &[call(5, 7, &listener)]));
    let ans = a.answer();
    assert_eq!(result(&ans, 5), (0, vec![]));
    assert!(ans.iter().any(|(t, b)| *t == 0x85 && b[..4] == listener[..] && b[4] & 16 != 0), "{ans:?}");

    let working_tcp = handshake_and_data(&mut a);
    assert!(a.finish().success(), "exit status 0 when netlab closes stdin");

    // Another protocol version: FAIL with the reason, and a failing exit status.
    let mut b = Adapter::start(&exe);
    b.send(&hello(2));
    let (ty, body) = b.read_message();
    assert_eq!(ty, 0x8f);
    assert_eq!(&body[2..], b"unsupported protocol version 2");
    assert!(!b.finish().success());

    if working_tcp {
        student_loss_scenario_passes_and_replays(&exe);
    }
}

/// scenarios/stacks/student-loss.toml with the adapter as `--stack`: 200 kB each way between netlab
/// and the minnow TCP across 2% loss both ways, every byte checked; two runs give the same summary.
fn student_loss_scenario_passes_and_replays(exe: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |tag: &str| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("minnow-adapter/student-loss-{tag}"));
        let st = Command::new(env!("CARGO_BIN_EXE_netlab"))
            .args(["run", "scenarios/stacks/student-loss.toml", "--stack"])
            .arg(exe)
            .arg("--out")
            .arg(&out)
            .current_dir(root)
            .output()
            .expect("run netlab");
        let log = format!("{}{}", String::from_utf8_lossy(&st.stdout), String::from_utf8_lossy(&st.stderr));
        assert!(st.status.success() && log.contains("4 passed, 0 failed"), "student-loss.toml failed:\n{log}");
        std::fs::read(out.join("summary.json")).expect("summary.json")
    };
    assert!(run("a") == run("b"), "two runs of student-loss.toml with the minnow adapter differ");
}

/// With a working TCP in the tree (not the starter's stubs): a passive open on a fresh listener,
/// data both ways, end of stream and close, as the adapter maps them onto the TCPPeer. False (after
/// a NOTE) when the TCP does not even answer a SYN.
fn handshake_and_data(a: &mut Adapter) -> bool {
    a.send(&step(10, &[call(10, 1, &[addr([0, 0, 0, 0], 90), 4u32.to_be_bytes().to_vec(), vec![0]].concat())]));
    let listener = result(&a.answer(), 10).1;
    a.send(&step(11, &[segment(90, 5000, 0, SYN, b"")]));
    let synack = segments(&a.answer());
    let Some(sa) = synack.iter().find(|s| s.flags & SYN != 0) else {
        println!(
            "NOTE: the TCP in NETLAB_MINNOW_DIR answered a SYN with no SYN-ACK ({synack:?}): the starter's empty stubs? Handshake, data and scenarios/stacks/student-loss.toml not checked."
        );
        return false;
    };
    assert_eq!((sa.ports, sa.flags, sa.ack), ((90, 40000), SYN | ACK, 5001), "{sa:?}");
    let isn = sa.seq;

    // The ACK completes the handshake and carries data: the listener becomes acceptable.
    a.send(&step(12, &[segment(90, 5001, isn.wrapping_add(1), ACK, b"hello")]));
    let ans = a.answer();
    let acceptable = ans.iter().any(|(t, b)| *t == 0x85 && b[..4] == listener[..] && b[4] & 8 != 0);
    assert!(acceptable, "no ACCEPTABLE event for the listener: {ans:?}");
    a.send(&step(13, &[call(11, 2, &listener)]));
    let (status, conn) = result(&a.answer(), 11);
    assert_eq!(status, 0);

    // recv gives the bytes; send goes out as a data segment; our FIN is end of stream.
    let recv = |id: u32| call(id, 5, &[conn.clone(), 100u32.to_be_bytes().to_vec()].concat());
    a.send(&step(14, &[recv(12), call(13, 4, &[conn.clone(), b"world".to_vec()].concat())]));
    let ans = a.answer();
    assert_eq!(result(&ans, 12), (0, b"hello".to_vec()));
    assert_eq!(result(&ans, 13), (0, 5u32.to_be_bytes().to_vec()));
    let data = segments(&ans);
    assert!(data.iter().any(|s| s.payload == b"world" && s.seq == isn.wrapping_add(1)), "{data:?}");
    a.send(&step(15, &[segment(90, 5006, isn.wrapping_add(6), ACK | FIN, b"")]));
    a.answer();
    a.send(&step(16, &[recv(14)]));
    assert_eq!(result(&a.answer(), 14), (0, vec![]), "end of stream");

    // close: the adapter's FIN (after "world"), acknowledging ours.
    a.send(&step(17, &[call(15, 7, &conn)]));
    let ans = a.answer();
    assert_eq!(result(&ans, 15), (0, vec![]));
    let fin = segments(&ans);
    assert!(fin.iter().any(|s| s.flags & FIN != 0 && s.seq == isn.wrapping_add(6) && s.ack == 5007), "{fin:?}");
    true
}
