//! REPORT (protocol section 6a): a stack's own account of what its TCP did that the wire does not
//! show — why it retransmitted, its RTT estimate and RTO, its congestion window, challenge ACKs,
//! segments it dropped, the error a connection ended with, recovery episodes, path MTU changes.
//! A process that sends these (READY flag bit 2) gets the same summary, expectations and viewer
//! data as an in-process stack; segments themselves are always taken from the wire.
//!
//! Body: `socket`, `addr` local, `addr` remote, `u8` kind, then the kind's fields.

use crate::sim::Duration;
use crate::tcp::{RetransmitReason, TcpError, TcpEventKind};

/// Kinds of REPORT (the `u8` after the addresses).
mod kind {
    pub const RETRANSMIT: u8 = 1;
    pub const RTT: u8 = 2;
    pub const RTO_BACKOFF: u8 = 3;
    pub const CONGESTION: u8 = 4;
    pub const CHALLENGE_ACK: u8 = 5;
    pub const DROPPED: u8 = 6;
    pub const ERROR: u8 = 7;
    pub const RECOVERY_START: u8 = 8;
    pub const RECOVERY_END: u8 = 9;
    pub const PATH_MTU: u8 = 10;
    pub const DSACK_SENT: u8 = 11;
    pub const DSACK_RECEIVED: u8 = 12;
    pub const REORDERING: u8 = 13;
    pub const MARKED_LOST: u8 = 14;
    pub const LOSS_PROBE: u8 = 15;
    pub const UNDO: u8 = 16;
}

/// Reasons netlab's stack gives (congestion changes, dropped segments, challenge ACKs): a REPORT's
/// reason text is matched against these; any other text becomes "other".
const REASONS: &[&str] = &[
    "ack",
    "dupack_inflation",
    "fast_retransmit",
    "loss_probe_recovery",
    "partial_ack",
    "prr",
    "hystart_train",
    "hystart_delay",
    "recovery_exit",
    "restart_after_idle",
    "rto",
    "undo",
    "dsack",
    "timestamp",
    "frto",
    "no_retransmission",
    "partial",
    "full",
    "loss",
    "ack_of_unsent_data",
    "ack_rate_limited",
    "ack_too_old",
    "backlog_full",
    "bad_ack_in_syn_received",
    "bad_ack_in_syn_sent",
    "icmp_mtu_not_smaller",
    "icmp_mtu_too_small",
    "icmp_seq_not_in_flight",
    "no_ack",
    "no_syn_in_listen",
    "no_syn_in_syn_sent",
    "paws",
    "retransmitted_syn",
    "rst_in_listen",
    "rst_in_time_wait",
    "rst_not_exact",
    "rst_to_closed_port",
    "rst_without_ack_in_syn_sent",
    "syn_in_syn_received",
    "syn_in_synchronized_state",
    "text_after_fin",
    "unacceptable_seq",
];

/// The reason `s` as netlab's own text, or "other".
fn reason(s: &str) -> &'static str {
    REASONS.iter().find(|r| **r == s).copied().unwrap_or("other")
}

fn retransmit_code(r: RetransmitReason) -> u8 {
    match r {
        RetransmitReason::Rto => 0,
        RetransmitReason::FastRetransmit => 1,
        RetransmitReason::Sack => 2,
        RetransmitReason::Probe => 3,
        RetransmitReason::Observed => 4,
        RetransmitReason::SynReply => 5,
        RetransmitReason::LossProbe => 6,
    }
}

fn retransmit_reason(c: u8) -> Option<RetransmitReason> {
    [
        RetransmitReason::Rto,
        RetransmitReason::FastRetransmit,
        RetransmitReason::Sack,
        RetransmitReason::Probe,
        RetransmitReason::Observed,
        RetransmitReason::SynReply,
        RetransmitReason::LossProbe,
    ]
    .get(usize::from(c))
    .copied()
}

/// Appends the kind and fields of `event` if it is one REPORT carries; false (nothing appended)
/// for the others (segments, states, timers, application calls).
pub(crate) fn encode(event: &TcpEventKind, o: &mut Vec<u8>, error_code: fn(TcpError) -> u8) -> bool {
    let ns = |o: &mut Vec<u8>, d: Duration| o.extend_from_slice(&d.as_nanos().to_be_bytes());
    let text = |o: &mut Vec<u8>, s: &str| {
        o.extend_from_slice(&(s.len() as u16).to_be_bytes());
        o.extend_from_slice(s.as_bytes());
    };
    match event {
        TcpEventKind::Retransmit { seq, len, reason } => {
            o.push(kind::RETRANSMIT);
            o.extend_from_slice(&seq.to_be_bytes());
            o.extend_from_slice(&(*len as u32).to_be_bytes());
            o.push(retransmit_code(*reason));
        }
        TcpEventKind::Rtt { sample, srtt, rttvar, rto } => {
            o.push(kind::RTT);
            for d in [sample, srtt, rttvar, rto] {
                ns(o, *d);
            }
        }
        TcpEventKind::RtoBackoff { rto, retries } => {
            o.push(kind::RTO_BACKOFF);
            ns(o, *rto);
            o.extend_from_slice(&retries.to_be_bytes());
        }
        TcpEventKind::Congestion { cwnd, ssthresh, reason } => {
            o.push(kind::CONGESTION);
            o.extend_from_slice(&cwnd.to_be_bytes());
            o.extend_from_slice(&ssthresh.to_be_bytes());
            text(o, reason);
        }
        TcpEventKind::ChallengeAck { reason } => {
            o.push(kind::CHALLENGE_ACK);
            text(o, reason);
        }
        TcpEventKind::Dropped { reason } => {
            o.push(kind::DROPPED);
            text(o, reason);
        }
        TcpEventKind::Error { error } => o.extend_from_slice(&[kind::ERROR, error_code(*error)]),
        TcpEventKind::RecoveryStart { recover, sack } => {
            o.push(kind::RECOVERY_START);
            o.extend_from_slice(&recover.to_be_bytes());
            o.push(u8::from(*sack));
        }
        TcpEventKind::RecoveryEnd { ack } => {
            o.push(kind::RECOVERY_END);
            o.extend_from_slice(&ack.to_be_bytes());
        }
        TcpEventKind::PathMtu { mtu, mss } => {
            o.push(kind::PATH_MTU);
            o.extend_from_slice(&mtu.to_be_bytes());
            o.extend_from_slice(&mss.to_be_bytes());
        }
        TcpEventKind::DsackSent { left, right, old } => {
            o.push(kind::DSACK_SENT);
            o.extend_from_slice(&left.to_be_bytes());
            o.extend_from_slice(&right.to_be_bytes());
            o.push(u8::from(*old));
        }
        TcpEventKind::DsackReceived { left, right } => {
            o.push(kind::DSACK_RECEIVED);
            o.extend_from_slice(&left.to_be_bytes());
            o.extend_from_slice(&right.to_be_bytes());
        }
        TcpEventKind::Reordering { degree, threshold } => {
            o.push(kind::REORDERING);
            o.extend_from_slice(&degree.to_be_bytes());
            o.extend_from_slice(&threshold.to_be_bytes());
        }
        TcpEventKind::MarkedLost { seq, len, reo_wnd } => {
            o.push(kind::MARKED_LOST);
            o.extend_from_slice(&seq.to_be_bytes());
            o.extend_from_slice(&len.to_be_bytes());
            ns(o, *reo_wnd);
        }
        TcpEventKind::LossProbe { seq, len, new_data } => {
            o.push(kind::LOSS_PROBE);
            o.extend_from_slice(&seq.to_be_bytes());
            o.extend_from_slice(&len.to_be_bytes());
            o.push(u8::from(*new_data));
        }
        TcpEventKind::Undo { reason, episode, cwnd, ssthresh } => {
            o.push(kind::UNDO);
            text(o, reason);
            text(o, episode);
            o.extend_from_slice(&cwnd.to_be_bytes());
            o.extend_from_slice(&ssthresh.to_be_bytes());
        }
        _ => return false,
    }
    true
}

/// A cursor over the rest of a REPORT body.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err(format!("body ends inside {field}"));
        }
        let (h, t) = self.0.split_at(n);
        self.0 = t;
        Ok(h)
    }
    fn u8(&mut self, f: &str) -> Result<u8, String> {
        Ok(self.take(1, f)?[0])
    }
    fn u16(&mut self, f: &str) -> Result<u16, String> {
        let b = self.take(2, f)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, f: &str) -> Result<u32, String> {
        let b = self.take(4, f)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn ns(&mut self, f: &str) -> Result<Duration, String> {
        let b = self.take(8, f)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(Duration::from_nanos(u64::from_be_bytes(a)))
    }
    fn reason(&mut self, f: &str) -> Result<&'static str, String> {
        let n = usize::from(self.u16(f)?);
        let s = std::str::from_utf8(self.take(n, f)?).map_err(|_| format!("{f} is not UTF-8"))?;
        Ok(reason(s))
    }
}

/// Reads a REPORT's kind and fields from `body` (what follows the addresses), all of it.
pub(crate) fn decode(body: &[u8], error_from_code: fn(u8) -> Option<TcpError>) -> Result<TcpEventKind, String> {
    let mut c = Cursor(body);
    let k = match c.u8("kind")? {
        kind::RETRANSMIT => {
            let (seq, len) = (c.u32("seq")?, c.u32("len")? as usize);
            let code = c.u8("reason")?;
            let reason = retransmit_reason(code).ok_or(format!("unknown retransmission reason {code}"))?;
            TcpEventKind::Retransmit { seq, len, reason }
        }
        kind::RTT => TcpEventKind::Rtt {
            sample: c.ns("sample")?,
            srtt: c.ns("srtt")?,
            rttvar: c.ns("rttvar")?,
            rto: c.ns("rto")?,
        },
        kind::RTO_BACKOFF => TcpEventKind::RtoBackoff { rto: c.ns("rto")?, retries: c.u32("retries")? },
        kind::CONGESTION => {
            TcpEventKind::Congestion { cwnd: c.u32("cwnd")?, ssthresh: c.u32("ssthresh")?, reason: c.reason("reason")? }
        }
        kind::CHALLENGE_ACK => TcpEventKind::ChallengeAck { reason: c.reason("reason")? },
        kind::DROPPED => TcpEventKind::Dropped { reason: c.reason("reason")? },
        kind::ERROR => {
            let e = c.u8("error")?;
            TcpEventKind::Error { error: error_from_code(e).ok_or(format!("unknown error code {e}"))? }
        }
        kind::RECOVERY_START => TcpEventKind::RecoveryStart { recover: c.u32("recover")?, sack: c.u8("sack")? != 0 },
        kind::RECOVERY_END => TcpEventKind::RecoveryEnd { ack: c.u32("ack")? },
        kind::PATH_MTU => TcpEventKind::PathMtu { mtu: c.u16("mtu")?, mss: c.u32("mss")? },
        kind::DSACK_SENT => {
            TcpEventKind::DsackSent { left: c.u32("left")?, right: c.u32("right")?, old: c.u8("old")? != 0 }
        }
        kind::DSACK_RECEIVED => TcpEventKind::DsackReceived { left: c.u32("left")?, right: c.u32("right")? },
        kind::REORDERING => TcpEventKind::Reordering { degree: c.u32("degree")?, threshold: c.u32("threshold")? },
        kind::MARKED_LOST => {
            TcpEventKind::MarkedLost { seq: c.u32("seq")?, len: c.u32("len")?, reo_wnd: c.ns("reo_wnd")? }
        }
        kind::LOSS_PROBE => {
            TcpEventKind::LossProbe { seq: c.u32("seq")?, len: c.u32("len")?, new_data: c.u8("new_data")? != 0 }
        }
        kind::UNDO => TcpEventKind::Undo {
            reason: c.reason("reason")?,
            episode: c.reason("episode")?,
            cwnd: c.u32("cwnd")?,
            ssthresh: c.u32("ssthresh")?,
        },
        other => return Err(format!("unknown kind {other}")),
    };
    if !c.0.is_empty() {
        return Err(format!("{} bytes too many", c.0.len()));
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: TcpError) -> u8 {
        e as u8 + 1
    }
    fn from_code(c: u8) -> Option<TcpError> {
        [TcpError::ConnectionRefused, TcpError::ConnectionReset, TcpError::TimedOut]
            .get(usize::from(c).wrapping_sub(1))
            .copied()
    }

    #[test]
    fn every_reported_kind_round_trips() {
        let d = Duration::from_millis;
        let kinds = [
            TcpEventKind::Retransmit { seq: 7, len: 1448, reason: RetransmitReason::FastRetransmit },
            TcpEventKind::Rtt { sample: d(30), srtt: d(31), rttvar: d(5), rto: d(200) },
            TcpEventKind::RtoBackoff { rto: d(400), retries: 2 },
            TcpEventKind::Congestion { cwnd: 14480, ssthresh: 7240, reason: "fast_retransmit" },
            TcpEventKind::ChallengeAck { reason: "rst_not_exact" },
            TcpEventKind::Dropped { reason: "unacceptable_seq" },
            TcpEventKind::Error { error: TcpError::TimedOut },
            TcpEventKind::RecoveryStart { recover: 99, sack: true },
            TcpEventKind::DsackSent { left: 1, right: 2, old: true },
            TcpEventKind::DsackReceived { left: 3, right: 4 },
            TcpEventKind::Reordering { degree: 6, threshold: 6 },
            TcpEventKind::MarkedLost { seq: 5, len: 1448, reo_wnd: Duration::from_micros(2500) },
            TcpEventKind::LossProbe { seq: 6, len: 1448, new_data: false },
            TcpEventKind::Undo { reason: "timestamp", episode: "loss", cwnd: 14480, ssthresh: 7240 },
            TcpEventKind::RecoveryEnd { ack: 100 },
            TcpEventKind::PathMtu { mtu: 1400, mss: 1360 },
        ];
        for k in kinds {
            let mut b = Vec::new();
            assert!(encode(&k, &mut b, code));
            assert_eq!(decode(&b, from_code), Ok(k));
        }
    }

    #[test]
    fn segments_are_not_reported_and_garbage_is_an_error() {
        let state = TcpEventKind::StateChange { from: crate::tcp::TcpState::Closed, to: crate::tcp::TcpState::SynSent };
        let mut b = Vec::new();
        assert!(!encode(&state, &mut b, code) && b.is_empty(), "states have a message of their own");
        assert!(decode(&[kind::RTT, 0, 0], from_code).unwrap_err().contains("sample"));
        assert!(decode(&[42], from_code).unwrap_err().contains("unknown kind"));
        assert!(decode(&[kind::RECOVERY_END, 0, 0, 0, 1, 9], from_code).unwrap_err().contains("too many"));
        let mut b = Vec::new();
        encode(&TcpEventKind::Dropped { reason: "made_up" }, &mut b, code);
        assert_eq!(decode(&b, from_code), Ok(TcpEventKind::Dropped { reason: "other" }));
    }
}
