//! The packetdrill-syntax parser: what it accepts, the errors it gives (file:line:col and what was
//! expected), and that no mutation of a script makes it (or the runner) panic.

use netlab::script::ast::{Action, Direction, EventTime, Expr, PacketBody, TcpOpt};
use netlab::script::{RunSettings, parse, run};
use netlab::sim::Duration;
use netlab::stack::NetlabStack;
use netlab::tcp::TcpConfig;
use proptest::prelude::*;

const SCRIPT: &str = "\
// A passive open.
--tolerance_usecs=10000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+.1 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 257 <nop,nop,sack 1:2 3:4>
+0 accept(3, ..., ...) = 4
+0...0.1 read(4, ..., 1000) = 1000
0.3~0.4 > . 1:1(0) ack 1001
* > F. 1:1(0) ack 1001
+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 read(4, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)
/* a comment */ `echo not run`
";

#[test]
fn a_typical_script_parses_into_events() {
    let s = parse("t.pkt", SCRIPT).unwrap();
    assert_eq!(s.options[0].name, "tolerance_usecs");
    assert_eq!(s.options[0].value.as_deref(), Some("10000"));
    assert_eq!(s.events.len(), 14);
    assert_eq!(s.events[0].time, EventTime::Absolute(0));
    assert_eq!(s.events[4].time, EventTime::Relative(100_000_000));
    let Action::Packet(p) = &s.events[4].action else { panic!("not a packet") };
    assert_eq!(p.direction, Direction::Inbound);
    let PacketBody::Tcp(t) = &p.body else { panic!("not TCP") };
    assert_eq!(t.flags, "S");
    assert_eq!(t.win, Some(65535));
    assert_eq!(t.options.as_ref().unwrap()[2], TcpOpt::Timestamp { val: 100, ecr: 0 });
    let Action::Packet(p) = &s.events[5].action else { panic!("not a packet") };
    let PacketBody::Tcp(t) = &p.body else { panic!("not TCP") };
    assert_eq!((t.flags.as_str(), t.ack, t.options.clone()), ("S.", Some(1), None));
    let Action::Syscall(c) = &s.events[8].action else { panic!("not a call") };
    assert_eq!((c.name.as_str(), c.end), ("read", Some(100_000_000)));
    assert_eq!(s.events[9].time, EventTime::AbsoluteRange(300_000_000, 400_000_000));
    assert_eq!(s.events[10].time, EventTime::Any);
    let Action::Syscall(c) = &s.events[12].action else { panic!("not a call") };
    assert_eq!((c.result.clone(), c.errno.as_deref()), (Expr::Int(-1), Some("EAGAIN")));
    assert!(matches!(s.events[13].action, Action::Command(_)));
}

fn error_of(src: &str) -> String {
    parse("t.pkt", src).unwrap_err().to_string()
}

#[test]
fn errors_name_the_place_and_what_was_expected() {
    assert_eq!(
        error_of("0 < S 0:0(0)\n"),
        "t.pkt:2:1: expected `win N` (required on inbound packets), found end of file"
    );
    assert_eq!(error_of("0 > S 0:5(0)"), "t.pkt:1:7: inconsistent sequence numbers: 0:5 is not 0 bytes");
    assert_eq!(error_of("0 > Q 0:0(0)"), "t.pkt:1:5: unknown TCP flag `Q` in `Q` (known: F S R P . E W U)");
    assert_eq!(error_of("+x"), "t.pkt:1:2: expected a time in seconds, found `x`");
    assert_eq!(error_of("0 close(3) 0"), "t.pkt:1:12: expected `=`, found number 0");
    assert_eq!(error_of("0 > . 1:1(0) <mss>"), "t.pkt:1:18: expected the MSS, found `>`");
    assert_eq!(
        error_of("0 < . 1:1(0) win 1 <...>"),
        "t.pkt:1:21: <...> for TCP options can only be used with outbound packets"
    );
    assert_eq!(error_of("* close(3) = 0"), "t.pkt:1:1: `*` time can only be used with outbound packets");
    assert_eq!(error_of("0 > . 1:1(0) win 70000"), "t.pkt:1:18: the window out of range 0..=65535");
    assert_eq!(
        error_of("0.0000000001 close(3) = 0"),
        "t.pkt:1:1: bad time `0.0000000001` (non-negative seconds, at most 9 decimals)"
    );
}

/// A mutation: replace `len` characters at `at` (both scaled to the script) with `with`.
fn mutate(src: &str, at: usize, len: usize, with: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let at = at % (chars.len() + 1);
    let end = (at + len).min(chars.len());
    let mut out: String = chars[..at].iter().collect();
    out.push_str(with);
    out.extend(&chars[end..]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_scripts_give_errors_inside_the_file_never_panics(
        at in 0usize..2000,
        len in 0usize..8,
        with in "(\\PC|\n){0,6}",
    ) {
        let src = mutate(SCRIPT, at, len, &with);
        if let Err(e) = parse("m.pkt", &src) {
            let lines = src.lines().count() as u32 + 1;
            prop_assert!(e.pos.line >= 1 && e.pos.line <= lines, "{e} in {lines} lines");
            prop_assert!(e.pos.col >= 1);
            prop_assert!(e.to_string().starts_with("m.pkt:"));
        }
    }

    #[test]
    fn mutated_scripts_that_parse_run_without_panicking(
        at in 0usize..2000,
        len in 0usize..8,
        with in "\\PC{0,6}",
    ) {
        let src = mutate(SCRIPT, at, len, &with);
        if let Ok(script) = parse("m.pkt", &src) {
            let mut stack = NetlabStack::new(1, TcpConfig::default());
            let settings = RunSettings { file: "m.pkt".into(), tolerance: Duration::from_millis(25), capture: None };
            let report = run(&script, &mut stack, settings);
            if let Some(f) = report.failure {
                prop_assert!(f.text.starts_with("m.pkt:"), "{}", f.text);
            }
        }
    }
}
