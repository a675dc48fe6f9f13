//! The script runner's judgements on netlab's stack: timing errors for packets and blocking calls,
//! result mismatches, unsupported calls, and notes for what is not checked.

use netlab::script::{Report, RunSettings, parse, run};
use netlab::sim::Duration;
use netlab::stack::NetlabStack;
use netlab::tcp::TcpConfig;

const OPEN: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1000>
+0 > S. 0:0(0) ack 1 win 65535 <mss 1460>
+0.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
";

fn run_text(body: &str) -> Report {
    let text = format!("{OPEN}{body}");
    let script = parse("t.pkt", &text).unwrap();
    let mut stack = NetlabStack::new(1, TcpConfig::default());
    run(&script, &mut stack, RunSettings { file: "t.pkt".into(), tolerance: Duration::from_millis(10), capture: None })
}

fn failure(body: &str) -> String {
    run_text(body).failure.expect("the script should fail").text
}

#[test]
fn a_packet_sent_later_than_the_tolerance_is_a_timing_error() {
    // The delayed ACK leaves at 0.14 s, not at 0.1 s.
    let f = failure("+0 < P. 1:11(10) ack 1 win 65535\n+0 > . 1:1(0) ack 11 win 65525\n");
    assert!(f.starts_with("t.pkt:9: error handling packet: timed out waiting for packet"), "{f}");
    // Inside a window it is fine.
    assert!(run_text("+0 < P. 1:11(10) ack 1 win 65535\n+0~+0.1 > . 1:1(0) ack 11 win 65525\n").failure.is_none());
}

#[test]
fn a_packet_sent_earlier_than_the_tolerance_is_a_timing_error() {
    let f = failure("+0 < P. 1:11(10) ack 1 win 65535\n+0.2 > . 1:1(0) ack 11 win 65525\n");
    assert_eq!(
        f.lines().next().unwrap(),
        "t.pkt:9: error handling packet: timing error: expected outbound packet at 0.300000 sec but happened at 0.140000 sec; tolerance 0.010000 sec"
    );
}

#[test]
fn a_blocking_read_must_return_when_the_script_says() {
    assert!(run_text("+0...0.1 read(4, ..., 100) = 10\n+0.1 < P. 1:11(10) ack 1 win 65535\n").failure.is_none());
    let f = failure("+0...0.3 read(4, ..., 100) = 10\n+0.1 < P. 1:11(10) ack 1 win 65535\n");
    assert_eq!(f, "t.pkt:8: timing error: read call expected to return at 0.400000 sec but returned at 0.200000 sec");
}

#[test]
fn a_blocking_call_still_blocked_at_the_end_is_an_error() {
    let f = failure("+0 read(4, ..., 100) = 10\n");
    assert_eq!(
        f,
        "t.pkt:8: read call was expected to return at 0.100000 but had not returned at the end of the script"
    );
}

#[test]
fn wrong_results_and_unsupported_calls_are_runtime_errors() {
    let f = failure("+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 read(4, ..., 100) = 5\n");
    assert_eq!(f, "t.pkt:9: runtime error in read call: Expected result 5 but got -1 with errno EAGAIN");
    let f = failure("+0 poll([{fd=4, events=POLLIN}], 1, 0) = 0\n");
    assert_eq!(f, "t.pkt:8: runtime error in poll call: unsupported system call `poll` (see docs/scripts.md)");
}

#[test]
fn packets_left_at_the_end_and_shell_commands_are_notes() {
    let r = run_text("`sysctl -q net.ipv4.tcp_sack=0`\n+0 write(4, ..., 10) = 10\n");
    assert!(r.failure.is_none());
    assert!(r.notes[0].contains("shell command not run: `sysctl -q net.ipv4.tcp_sack=0`"), "{:?}", r.notes);
    assert!(r.notes[1].contains("P. 1:11(10) ack 1 win 65535"), "{:?}", r.notes);
}
