//! The external stack contract from netlab's side: a child process that crashes, hangs, speaks
//! garbage or lies (messages out of place, datagrams it may not send) gives a clear error naming
//! the host and the step, never a hang or a panic; the process is killed and the stack goes inert.

use netlab::sim::{Duration, Instant};
use netlab::stack::Sockets;
use netlab::stack::protocol::{self, Answer, CallResult};
use netlab::stack::{ExternalConfig, ExternalStack, Stack, StackErrorKind};
use netlab::tcp::{SocketId, TcpConfig, TcpError};
use netlab::wire::{IpProtocol, Ipv4Repr};
use std::net::{Ipv4Addr, SocketAddrV4};

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn sh(script: &str, timeout_ms: u64) -> ExternalStack {
    let cmd = vec!["/bin/sh".into(), "-c".into(), script.into()];
    let mut cfg = ExternalConfig::new(cmd, "h1", 1, TcpConfig::default());
    cfg.step_timeout = std::time::Duration::from_millis(timeout_ms);
    ExternalStack::spawn(cfg).expect("sh starts")
}

/// READY (version 1, no flags, name "x") as a printf format.
const READY: &str = r"\000\000\000\007\201\000\001\000\000\001x";

#[test]
fn a_child_that_exits_at_once_is_an_error_naming_host_and_step() {
    let mut s = sh("exit 3", 5000);
    let e = s.configure(&[(A_IP, 24)], 1500).unwrap_err();
    assert!(matches!(e.kind, StackErrorKind::Exited { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains("host h1") && text.contains("HELLO") && text.contains("external:/bin/sh"), "{text}");
}

#[test]
fn a_child_that_crashes_mid_run_fails_the_step_and_the_stack_goes_inert() {
    let mut s = sh(&format!("printf '{READY}'; exec sleep 0.2"), 5000);
    s.configure(&[(A_IP, 24)], 1500).expect("READY was sent");
    let started = std::time::Instant::now();
    let r = s.connect(Instant::ZERO, SocketAddrV4::new(A_IP, 0), SocketAddrV4::new(B_IP, 80), None);
    assert_eq!(r, Err(netlab::tcp::TcpError::InvalidSocket));
    let e = s.failure().expect("failed").clone();
    assert!(
        matches!(&e.kind, StackErrorKind::Exited { during, .. } if during.contains("step 1") && during.contains("connect")),
        "{e}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    // Inert afterwards: no step, no hang.
    s.handle_timeout(Instant::ZERO + Duration::from_secs(1));
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.connect_result(SocketId(1)), Err(netlab::tcp::TcpError::InvalidSocket));
}

#[test]
fn a_hanging_child_times_out_and_is_killed() {
    let mut s = sh("exec sleep 30", 300);
    let started = std::time::Instant::now();
    let e = s.configure(&[(A_IP, 24)], 1500).unwrap_err();
    assert!(matches!(e.kind, StackErrorKind::Timeout { timeout_ms: 300, .. }), "{e}");
    assert!(e.to_string().contains("no answer to HELLO within 300 ms"), "{e}");
    drop(s);
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "killed, not waited for");
}

#[test]
fn a_child_speaking_garbage_is_a_protocol_violation() {
    let mut s = sh("echo 'hello, I am not a stack'; exec sleep 5", 5000);
    let e = s.configure(&[(A_IP, 24)], 1500).unwrap_err();
    assert!(matches!(e.kind, StackErrorKind::Protocol { .. }), "{e}");
    assert!(e.to_string().contains("message length"), "{e}");
    // A well-framed message of an unknown type.
    let mut s = sh(r"printf '\000\000\000\001\177'; exec sleep 5", 5000);
    let e = s.configure(&[(A_IP, 24)], 1500).unwrap_err();
    assert!(e.to_string().contains("unknown answer type 0x7f"), "{e}");
}

#[test]
fn a_child_that_sends_fail_reports_its_reason() {
    let mut s = sh(r"printf '\000\000\000\006\217\000\003bad'; exec sleep 5", 5000);
    let e = s.configure(&[(A_IP, 24)], 1500).unwrap_err();
    assert_eq!(e.kind, StackErrorKind::Failed("bad".into()));
}

#[test]
fn a_missing_program_cannot_start() {
    let cfg = ExternalConfig::new(vec!["/nonexistent/stack".into()], "h2", 1, TcpConfig::default());
    let e = ExternalStack::spawn(cfg).err().expect("no such program");
    assert!(matches!(e.kind, StackErrorKind::Spawn(_)) && e.to_string().contains("host h2"), "{e}");
}

/// A child that answers HELLO with READY, and the first step with `answers` whatever it asks
/// (the child does not read the requests), then waits.
fn scripted(name: &str, answers: &[Answer<'_>]) -> ExternalStack {
    let mut ready = Vec::new();
    let r = Answer::Ready {
        version: protocol::VERSION,
        reports_states: false,
        transmit_on_request: false,
        reports_events: false,
        exact_readiness: false,
        name,
    };
    protocol::encode_answer(&r, &mut ready);
    let mut rest = Vec::new();
    for a in answers {
        protocol::encode_answer(a, &mut rest);
    }
    // The answers go out once the first step's request has begun to arrive (after HELLO).
    let skip = hello_len() + 1;
    let script =
        format!("printf '{}'; head -c {skip} >/dev/null; printf '{}'; exec sleep 5", octal(&ready), octal(&rest));
    let mut s = sh(&script, 2000);
    s.configure(&[(A_IP, 24)], 1500).expect("READY");
    s
}

/// The bytes of the HELLO `sh` children get (host h1, seed 1, defaults, 10.0.0.1/24, MTU 1500).
fn hello_len() -> usize {
    let hello = protocol::Hello {
        version: protocol::VERSION,
        seed: 1,
        mtu: 1500,
        host: "h1".into(),
        addrs: vec![(A_IP, 24)],
        defaults: TcpConfig::default(),
    };
    let mut out = Vec::new();
    protocol::encode_request(&protocol::Request::Hello(hello), &mut out);
    out.len()
}

/// `bytes` as a printf format of octal escapes.
fn octal(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:03o}")).collect()
}

/// The protocol violation the first step of `s` (a connect) gives.
fn violation_of_connect(mut s: ExternalStack) -> String {
    let r = s.connect(Instant::ZERO, SocketAddrV4::new(A_IP, 0), SocketAddrV4::new(B_IP, 80), None);
    assert_eq!(r, Err(TcpError::InvalidSocket));
    let e = s.failure().expect("the stack failed").clone();
    assert!(matches!(e.kind, StackErrorKind::Protocol { .. }), "{e}");
    e.to_string()
}

fn datagram_from(src: Ipv4Addr, len: usize) -> Vec<u8> {
    let mut d = vec![0u8; len];
    let ip = Ipv4Repr {
        src,
        dst: B_IP,
        protocol: IpProtocol::Tcp,
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_frag: true,
        payload_len: len - Ipv4Repr::HEADER_LEN,
    };
    ip.emit(&mut d);
    d
}

const WAKE: Answer<'static> = Answer::Wake(None);

#[test]
fn a_result_for_another_call_is_a_violation() {
    let lie = Answer::Result { id: 2, result: CallResult::Socket(SocketId(1)) };
    let e = violation_of_connect(scripted("other-call", &[lie, WAKE, Answer::Done]));
    assert!(e.contains("RESULT 2 for CALL 1") && e.contains("step 1") && e.contains("connect"), "{e}");
}

#[test]
fn a_missing_result_or_wake_is_a_violation() {
    let e = violation_of_connect(scripted("no-result", &[WAKE, Answer::Done]));
    assert!(e.contains("no RESULT for CALL 1"), "{e}");
    let ok = Answer::Result { id: 1, result: CallResult::Socket(SocketId(1)) };
    let e = violation_of_connect(scripted("no-wake", &[ok.clone(), Answer::Done]));
    assert!(e.contains("DONE without WAKE"), "{e}");
    let e = violation_of_connect(scripted("two-wakes", &[ok, WAKE, WAKE, Answer::Done]));
    assert!(e.contains("a second WAKE"), "{e}");
}

#[test]
fn a_connect_that_would_block_is_a_violation() {
    let lie = Answer::Result { id: 1, result: CallResult::WouldBlock };
    let e = violation_of_connect(scripted("blocking-connect", &[lie, WAKE, Answer::Done]));
    assert!(e.contains("connect cannot block"), "{e}");
}

#[test]
fn datagrams_must_come_from_the_host_fit_the_mtu_and_have_a_valid_header() {
    let ok = Answer::Result { id: 1, result: CallResult::Socket(SocketId(1)) };
    let stranger = datagram_from(Ipv4Addr::new(10, 9, 9, 9), 40);
    let e = violation_of_connect(scripted("stranger", &[ok.clone(), Answer::Datagram(&stranger), WAKE, Answer::Done]));
    assert!(e.contains("DATAGRAM from 10.9.9.9, not an address of this host"), "{e}");
    let jumbo = datagram_from(A_IP, 1501);
    let e = violation_of_connect(scripted("jumbo", &[ok.clone(), Answer::Datagram(&jumbo), WAKE, Answer::Done]));
    assert!(e.contains("exceeds the MTU 1500"), "{e}");
    let mut broken = datagram_from(A_IP, 40);
    broken[10] ^= 0xff;
    let e = violation_of_connect(scripted("broken", &[ok, Answer::Datagram(&broken), WAKE, Answer::Done]));
    assert!(e.contains("bad IPv4 header"), "{e}");
}

#[test]
fn a_well_behaved_scripted_answer_is_accepted() {
    // The control for the tests above: the same script with nothing wrong works.
    let ok = Answer::Result { id: 1, result: CallResult::Socket(SocketId(5)) };
    let syn = datagram_from(A_IP, 40);
    let wake = Answer::Wake(Some(Instant::ZERO + Duration::from_secs(1)));
    let mut s = scripted("honest", &[ok, Answer::Datagram(&syn), wake, Answer::Done]);
    let id = s.connect(Instant::ZERO, SocketAddrV4::new(A_IP, 0), SocketAddrV4::new(B_IP, 80), None);
    assert_eq!(id, Ok(SocketId(5)));
    assert!(s.failure().is_none());
    let mut out = Vec::new();
    s.poll_transmit(Instant::ZERO, &mut |d| out.push(d.to_vec()));
    assert_eq!(out, vec![syn]);
    assert_eq!(s.poll_timeout(), Some(Instant::ZERO + Duration::from_secs(1)));
    assert_eq!(s.connect_result(SocketId(5)), Ok(None));
}

#[test]
fn messages_after_done_are_a_violation() {
    let ok = Answer::Result { id: 1, result: CallResult::Socket(SocketId(1)) };
    let mut s = scripted("chatty", &[ok, WAKE, Answer::Done, WAKE, Answer::Done]);
    assert_eq!(
        s.connect(Instant::ZERO, SocketAddrV4::new(A_IP, 0), SocketAddrV4::new(B_IP, 80), None),
        Ok(SocketId(1))
    );
    // The extra answer is noticed when the next step would otherwise take it as its own.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    // (The reader thread has long queued it after 100 ms; then the next step notices.)
    while s.failure().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        s.handle_timeout(Instant::ZERO);
    }
    let e = s.failure().expect("the unasked answer was noticed").to_string();
    assert!(e.contains("unasked"), "{e}");
}
