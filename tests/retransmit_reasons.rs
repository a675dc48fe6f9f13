//! How retransmissions are labelled (issue 12): the one the duplicate-ACK threshold or SACK loss
//! detection triggers at the start of recovery is `fast` (Wireshark: "Fast Retransmission"), with
//! or without SACK; the later SACK-driven ones are `sack` (Wireshark: "Retransmission"); a SYN-ACK
//! answering a duplicate SYN is `syn_reply`, not `rto`. Runs conformance scripts on netlab's stack
//! and reads the stack's own events.

use netlab::script::{RunSettings, parse, run};
use netlab::sim::Duration;
use netlab::stack::{NetlabStack, Stack};
use netlab::tcp::{RetransmitReason, TcpConfig, TcpEventKind};

/// The reasons of the retransmissions (sequence numbers relative to the first) in one script.
fn reasons(script: &str) -> Vec<(u32, RetransmitReason)> {
    let path = format!("{}/tests/conformance/{script}", env!("CARGO_MANIFEST_DIR"));
    let parsed = parse(script, &std::fs::read_to_string(path).unwrap()).unwrap();
    let mut stack = NetlabStack::new(1, TcpConfig::default());
    let settings = RunSettings { file: script.into(), tolerance: Duration::from_millis(10), capture: None };
    let report = run(&parsed, &mut stack, settings);
    assert!(report.failure.is_none(), "{:?}", report.failure);
    let mut first_seq = None;
    let mut out = Vec::new();
    stack.drain_events(&mut |e| match e.kind {
        TcpEventKind::SegmentSent(s) if s.flags.0.syn() => {
            first_seq.get_or_insert(s.seq);
        }
        TcpEventKind::Retransmit { seq, reason, .. } => out.push((seq.wrapping_sub(first_seq.unwrap_or(0)), reason)),
        _ => {}
    });
    out
}

#[test]
fn with_sack_the_first_recovery_retransmission_is_fast_and_the_others_sack() {
    assert_eq!(
        reasons("sack-recovery.pkt"),
        vec![(1, RetransmitReason::FastRetransmit), (2001, RetransmitReason::Sack), (7001, RetransmitReason::Sack)]
    );
}

#[test]
fn without_sack_the_third_duplicate_ack_gives_a_fast_retransmission() {
    assert_eq!(reasons("fast-retransmit.pkt"), vec![(1001, RetransmitReason::FastRetransmit)]);
}

#[test]
fn a_syn_ack_answering_a_duplicate_syn_is_a_reply_and_the_timer_ones_are_rto() {
    assert_eq!(
        reasons("syn-received-duplicate-syn.pkt"),
        vec![(0, RetransmitReason::SynReply), (0, RetransmitReason::Rto), (0, RetransmitReason::Rto)]
    );
}
