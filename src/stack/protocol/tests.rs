//! Codec tests: the worked example of the specification, round trips of every message, and
//! arbitrary bytes never panicking.

use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
}

/// Splits a byte string into frames with `read_frame`.
fn frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut r = bytes;
    let mut out = Vec::new();
    let mut f = Vec::new();
    while read_frame(&mut r, &mut f).unwrap() {
        out.push(f.clone());
    }
    out
}

fn addr(a: [u8; 4], port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::from(a), port)
}

#[test]
fn worked_example_decodes() {
    // docs/stack-protocol.md section 7, step 1.
    let step1 = hex("00 00 00 09 02 00 00 00 00 00 0f 42 40
        00 00 00 13 04 00 00 00 01 03 0a 00 00 01 00 00 0a 00 00 02 00 50 00
        00 00 00 01 06");
    let f = frames(&step1);
    assert_eq!(decode_request(&f[0]), Ok(Request::Time(Instant::from_nanos(1_000_000))));
    let connect = Call::Connect { local: addr([10, 0, 0, 1], 0), remote: addr([10, 0, 0, 2], 80), cfg: None };
    assert_eq!(decode_request(&f[1]), Ok(Request::Call { id: 1, call: connect }));
    assert_eq!(decode_request(&f[2]), Ok(Request::End));
    let answer1 = hex("00 00 00 0a 84 00 00 00 01 00 00 00 00 01
        00 00 00 2d 83 45 00 00 2c 00 01 40 00 40 06 26 c9 0a 00 00 01 0a 00 00 02
        c0 00 00 50 12 34 56 78 00 00 00 00 60 02 ff ff 5b 27 00 00 02 04 05 b4
        00 00 00 09 87 00 00 00 00 3b aa 0c 40
        00 00 00 01 88");
    let f = frames(&answer1);
    assert_eq!(
        decode_answer(&f[0], Some("connect")),
        Ok(Answer::Result { id: 1, result: CallResult::Socket(SocketId(1)) })
    );
    let Ok(Answer::Datagram(syn)) = decode_answer(&f[1], None) else { panic!("not a datagram") };
    let (ip, payload) = crate::wire::Ipv4Repr::parse(syn).expect("the example's IPv4 header is valid");
    let seg = crate::wire::TcpRepr::parse(payload, ip.src, ip.dst).expect("the example's TCP checksum is valid");
    assert!(seg.flags.syn() && seg.seq == 0x1234_5678 && seg.dst_port == 80);
    assert_eq!(decode_answer(&f[2], None), Ok(Answer::Wake(Some(Instant::from_nanos(1_001_000_000)))));
    assert_eq!(decode_answer(&f[3], None), Ok(Answer::Done));
    // Step 2's answer.
    let answer2 = hex("00 00 00 29 83 45 00 00 28 00 02 40 00 40 06 26 cc 0a 00 00 01 0a 00 00 02
        c0 00 00 50 12 34 56 79 9a bc de f1 50 10 ff ff f9 25 00 00
        00 00 00 07 85 00 00 00 01 06 00
        00 00 00 12 86 00 00 00 01 04 0a 00 00 01 c0 00 0a 00 00 02 00 50
        00 00 00 09 87 ff ff ff ff ff ff ff ff
        00 00 00 01 88");
    let f = frames(&answer2);
    let Ok(Answer::Datagram(ack)) = decode_answer(&f[0], None) else { panic!("not a datagram") };
    let (ip, payload) = crate::wire::Ipv4Repr::parse(ack).unwrap();
    let seg = crate::wire::TcpRepr::parse(payload, ip.src, ip.dst).unwrap();
    assert!(seg.flags.ack() && !seg.flags.syn() && seg.ack == 0x9abc_def1);
    let connected = Readiness(Readiness::WRITABLE | Readiness::CONNECTED);
    assert_eq!(decode_answer(&f[1], None), Ok(Answer::Event { socket: SocketId(1), flags: connected, error: None }));
    let established = Answer::State {
        socket: SocketId(1),
        state: TcpState::Established,
        local: addr([10, 0, 0, 1], 49152),
        remote: addr([10, 0, 0, 2], 80),
    };
    assert_eq!(decode_answer(&f[2], None), Ok(established));
    assert_eq!(decode_answer(&f[3], None), Ok(Answer::Wake(None)));
}

#[test]
fn encoding_matches_the_example_bytes() {
    let mut out = Vec::new();
    encode_request(&Request::Time(Instant::from_nanos(1_000_000)), &mut out);
    let connect = Call::Connect { local: addr([10, 0, 0, 1], 0), remote: addr([10, 0, 0, 2], 80), cfg: None };
    encode_request(&Request::Call { id: 1, call: connect }, &mut out);
    encode_request(&Request::End, &mut out);
    assert_eq!(
        out,
        hex("00 00 00 09 02 00 00 00 00 00 0f 42 40
            00 00 00 13 04 00 00 00 01 03 0a 00 00 01 00 00 0a 00 00 02 00 50 00
            00 00 00 01 06")
    );
}

#[test]
fn config_is_72_bytes_and_round_trips() {
    let c = TcpConfig {
        keepalive: Some(Duration::from_secs(7)),
        congestion: CongestionAlgorithm::Cubic,
        ..TcpConfig::default()
    };
    let mut out = Vec::new();
    put_config(&mut out, &c);
    assert_eq!(out.len(), CONFIG_LEN);
    let mut b = Body { b: &out, what: "test" };
    assert_eq!(b.config(), Ok(c));
    assert!(b.b.is_empty());
}

#[test]
fn read_frame_reports_clean_end_truncation_and_bad_lengths() {
    let mut f = Vec::new();
    assert!(!read_frame(&mut &[][..], &mut f).unwrap());
    let e = read_frame(&mut &[0u8, 0][..], &mut f).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    let e = read_frame(&mut &[0u8, 0, 0, 5, 0x88][..], &mut f).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    let e = read_frame(&mut &[0u8, 0, 0, 0][..], &mut f).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    let e = read_frame(&mut &[0x7fu8, 0, 0, 0, 1][..], &mut f).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
}

#[test]
fn malformed_answers_say_what_is_wrong() {
    let cases: [(&[u8], Option<&str>, &str); 8] = [
        (&[], None, "empty message"),
        (&[0x42], None, "unknown answer type 0x42"),
        (&[0x88, 0], None, "DONE: 1 bytes too many"),
        (&[0x87, 0, 0], None, "WAKE: body ends inside deadline"),
        (&[0x85, 0, 0, 0, 0, 1, 0], None, "EVENT: socket id 0"),
        (&[0x85, 0, 0, 0, 1, 0x40, 0], None, "undefined bits"),
        (&[0x84, 0, 0, 0, 1, 0], None, "no call is waiting"),
        (&[0x8f, 0, 2, 0xff, 0xfe], None, "not UTF-8"),
    ];
    for (frame, call, want) in cases {
        let e = decode_answer(frame, call).unwrap_err();
        assert!(e.0.contains(want), "{frame:02x?}: {e} does not mention {want:?}");
    }
}

fn arb_addr() -> impl Strategy<Value = SocketAddrV4> {
    (any::<u32>(), any::<u16>()).prop_map(|(a, p)| SocketAddrV4::new(Ipv4Addr::from(a), p))
}

fn arb_socket() -> impl Strategy<Value = SocketId> {
    (1..=u32::MAX).prop_map(SocketId)
}

fn arb_config() -> impl Strategy<Value = TcpConfig> {
    (any::<u32>(), any::<u16>(), any::<[bool; 9]>(), any::<[u64; 6]>(), any::<[u32; 3]>()).prop_map(
        |(buf, mss, f, ns, n)| TcpConfig {
            send_buffer: buf as usize,
            recv_buffer: (buf / 3) as usize,
            mss,
            nagle: f[0],
            delayed_ack: f[1],
            sack: f[2],
            window_scaling: f[3],
            timestamps: f[4],
            congestion: if f[5] { CongestionAlgorithm::Cubic } else { CongestionAlgorithm::NewReno },
            delayed_ack_timeout: Duration::from_nanos(ns[0]),
            rto_min: Duration::from_nanos(ns[1]),
            rto_max: Duration::from_nanos(ns[2]),
            rto_initial: Duration::from_nanos(ns[3]),
            msl: Duration::from_nanos(ns[4]),
            keepalive: Some(Duration::from_nanos(ns[5])).filter(|d| !d.is_zero()),
            max_retransmissions: n[0],
            max_syn_retransmissions: n[1],
            initial_window_segments: n[2],
            // The protocol carries these three switches; the other recovery ones keep defaults.
            recovery: if f[6] { crate::tcp::LossDetection::Dupack } else { crate::tcp::LossDetection::Rack },
            prr: f[7],
            hystart: f[8],
            ..TcpConfig::default()
        },
    )
}

/// (call, owned data for Send) -> a `Call` borrowing the data.
fn arb_call() -> impl Strategy<Value = (u8, SocketAddrV4, SocketAddrV4, u32, SocketId, Option<TcpConfig>, Vec<u8>)> {
    (
        1..=9u8,
        arb_addr(),
        arb_addr(),
        1..=u32::MAX,
        arb_socket(),
        proptest::option::of(arb_config()),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
}

fn make_call(c: &(u8, SocketAddrV4, SocketAddrV4, u32, SocketId, Option<TcpConfig>, Vec<u8>)) -> Call<'_> {
    let (op, a, b, n, s, cfg, data) = c;
    match op {
        1 => Call::Listen { local: *a, backlog: *n, cfg: cfg.clone() },
        2 => Call::Accept { listener: *s },
        3 => Call::Connect { local: *a, remote: *b, cfg: cfg.clone() },
        4 => Call::Send { socket: *s, data },
        5 => Call::Recv { socket: *s, max: *n },
        6 => Call::ShutdownWrite(*s),
        7 => Call::Close(*s),
        8 => Call::Abort(*s),
        _ => Call::SendSpace(*s),
    }
}

fn round_trip_request(m: &Request<'_>) {
    let mut out = Vec::new();
    encode_request(m, &mut out);
    let f = frames(&out);
    assert_eq!(f.len(), 1);
    assert_eq!(decode_request(&f[0]).as_ref(), Ok(m));
}

fn round_trip_answer(m: &Answer<'_>, call: Option<&str>) {
    let mut out = Vec::new();
    encode_answer(m, &mut out);
    let f = frames(&out);
    assert_eq!(f.len(), 1);
    assert_eq!(decode_answer(&f[0], call).as_ref(), Ok(m));
}

proptest! {
    #[test]
    fn calls_round_trip(c in arb_call(), id in any::<u32>()) {
        round_trip_request(&Request::Call { id, call: make_call(&c) });
    }

    #[test]
    fn hello_and_step_messages_round_trip(
        seed in any::<u64>(), mtu in any::<u16>(), host in "[a-z0-9é-]{0,20}",
        addrs in proptest::collection::vec((any::<u32>(), 0..=32u8), 0..5), cfg in arb_config(),
        now in any::<u64>(), dgram in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let addrs = addrs.into_iter().map(|(a, p)| (Ipv4Addr::from(a), p)).collect();
        round_trip_request(&Request::Hello(Hello { version: VERSION, seed, mtu, host, addrs, defaults: cfg }));
        round_trip_request(&Request::Time(Instant::from_nanos(now)));
        round_trip_request(&Request::Datagram(&dgram));
        round_trip_request(&Request::Timeout);
        round_trip_request(&Request::End);
        round_trip_request(&Request::Transmit);
    }

    #[test]
    fn answers_round_trip(
        id in any::<u32>(), s in arb_socket(), n in any::<u32>(), data in proptest::collection::vec(any::<u8>(), 0..100),
        flags in 0..=Readiness::ALL, err in proptest::option::of(1..=8u8), state in 0..11usize,
        a in arb_addr(), b in arb_addr(), wake in any::<u64>(), name in "[ -~]{0,30}", rs in any::<bool>(),
    ) {
        let error = err.and_then(error_from_code);
        round_trip_answer(&Answer::Ready { version: VERSION, reports_states: rs, transmit_on_request: !rs, reports_events: rs, exact_readiness: !rs, name: &name }, None);
        round_trip_answer(&Answer::Datagram(&data), None);
        for (call, result) in [
            ("listen", CallResult::Socket(s)),
            ("accept", CallResult::WouldBlock),
            ("send", CallResult::Count(n)),
            ("send_space", CallResult::Count(n)),
            ("recv", CallResult::Data(&data)),
            ("close", CallResult::Unit),
            ("connect", CallResult::Error(error.unwrap_or(TcpError::InvalidSocket))),
        ] {
            round_trip_answer(&Answer::Result { id, result }, Some(call));
        }
        round_trip_answer(&Answer::Event { socket: s, flags: Readiness(flags), error }, None);
        round_trip_answer(&Answer::State { socket: s, state: STATES[state], local: a, remote: b }, None);
        round_trip_answer(&Answer::Wake(Some(Instant::from_nanos(wake)).filter(|t| t.as_nanos() != u64::MAX)), None);
        round_trip_answer(&Answer::Done, None);
        round_trip_answer(&Answer::Fail(&name), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic(frame in proptest::collection::vec(any::<u8>(), 0..120), call in 0..10usize) {
        let names = ["listen", "accept", "connect", "send", "recv", "shutdown_write", "close", "abort", "send_space"];
        let _ = decode_request(&frame);
        let _ = decode_answer(&frame, names.get(call).copied());
        let mut f = Vec::new();
        let _ = read_frame(&mut &frame[..], &mut f);
    }

    #[test]
    fn every_encoded_request_prefix_is_rejected(c in arb_call(), cut in any::<proptest::sample::Index>()) {
        // A message cut short never decodes as something else (except ops whose last field is `rest`).
        let call = make_call(&c);
        let mut out = Vec::new();
        encode_request(&Request::Call { id: 7, call: call.clone() }, &mut out);
        let frame = &out[4..];
        let n = cut.index(frame.len());
        if !matches!(call, Call::Send { .. }) {
            prop_assert!(decode_request(&frame[..n]).is_err());
        }
    }
}

#[test]
fn only_done_fail_ready_and_unknown_types_end_an_answer() {
    let inside = [
        Answer::Datagram(&[]),
        Answer::Result { id: 1, result: CallResult::Unit },
        Answer::Event { socket: SocketId(1), flags: Readiness(0), error: None },
        Answer::State { socket: SocketId(1), state: TcpState::Listen, local: addr([0; 4], 1), remote: addr([0; 4], 0) },
        Answer::Wake(None),
    ];
    for m in inside {
        let mut out = Vec::new();
        encode_answer(&m, &mut out);
        assert!(!ends_answer(out[4]), "{m:?}");
    }
    assert!(!ends_answer(ty::REPORT));
    for t in [ty::DONE, ty::FAIL, ty::READY, 0x42, 0xff] {
        assert!(ends_answer(t), "{t:#x}");
    }
}
