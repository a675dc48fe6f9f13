//! Loss recovery counters of one connection, named in `summary.json` after the Linux `nstat`
//! counters that count the same decisions (docs/scenario.md lists the mapping), so that a run of
//! netlab's TCP can be read next to `nstat -az` of a Linux sender.

use crate::tcp::TcpEventKind;
use serde::Serialize;

/// What the connection's loss recovery decided, counted from its events.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct RecoveryCounters {
    /// D-SACKs received (RFC 2883).
    #[serde(rename = "TCPDSACKRecv")]
    pub dsack_received: u64,
    /// D-SACKs sent for data below RCV.NXT.
    #[serde(rename = "TCPDSACKOldSent")]
    pub dsack_old_sent: u64,
    /// D-SACKs sent for out-of-order data received twice.
    #[serde(rename = "TCPDSACKOfoSent")]
    pub dsack_ofo_sent: u64,
    /// Reordering detected (a segment delivered after later ones, or a spurious retransmission).
    #[serde(rename = "TCPSACKReorder")]
    pub reordering_detected: u64,
    /// The largest reordering degree seen, in segments (Linux's tp->reordering, `ss -i`).
    #[serde(rename = "reordering")]
    pub reordering: u64,
    /// Segments marked lost by RACK (RFC 8985); Linux has no counter for this.
    #[serde(rename = "marked_lost")]
    pub marked_lost: u64,
    /// Tail loss probes sent (RFC 8985 7).
    #[serde(rename = "TCPLossProbes")]
    pub loss_probes: u64,
    /// Probes that repaired a loss (and so reduced the window, RFC 8985 7.4.2).
    #[serde(rename = "TCPLossProbeRecovery")]
    pub loss_probe_recovery: u64,
    /// Fast recoveries with SACK (RFC 6675 / RACK).
    #[serde(rename = "TCPSackRecovery")]
    pub sack_recovery: u64,
    /// Fast recoveries without SACK (RFC 6582).
    #[serde(rename = "TCPRenoRecovery")]
    pub reno_recovery: u64,
    /// Reductions undone because D-SACKs showed every retransmission spurious.
    #[serde(rename = "TCPDSACKUndo")]
    pub dsack_undo: u64,
    /// Recoveries undone part way by timestamps (Eifel, RFC 3522).
    #[serde(rename = "TCPPartialUndo")]
    pub partial_undo: u64,
    /// Recoveries undone at their end by timestamps.
    #[serde(rename = "TCPFullUndo")]
    pub full_undo: u64,
    /// Retransmission timeouts undone (timestamps or F-RTO).
    #[serde(rename = "TCPLossUndo")]
    pub loss_undo: u64,
    /// Timeouts F-RTO proved spurious (RFC 5682).
    #[serde(rename = "TCPSpuriousRTOs")]
    pub spurious_rtos: u64,
    /// Slow starts HyStart ended by an ACK train (CUBIC).
    #[serde(rename = "TCPHystartTrainDetect", skip_serializing_if = "is_zero")]
    pub hystart_train: u64,
    /// Slow starts HyStart ended by an RTT rise (CUBIC).
    #[serde(rename = "TCPHystartDelayDetect", skip_serializing_if = "is_zero")]
    pub hystart_delay: u64,
    /// The cwnd (bytes) at which HyStart ended slow start, summed as Linux does (its
    /// `TCPHystartTrainCwnd` / `TCPHystartDelayCwnd` count segments).
    #[serde(rename = "hystart_cwnd", skip_serializing_if = "is_zero")]
    pub hystart_cwnd: u64,
}

/// Leaves a counter out of `summary.json` while it is zero (the HyStart counters: CUBIC only).
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The expectation metric names these counters answer to (see `RecoveryCounters::metric`).
pub const RECOVERY_METRICS: &[&str] = &[
    "dsack_received",
    "dsacks_sent",
    "reordering_detected",
    "reordering",
    "marked_lost",
    "loss_probes",
    "loss_probe_recovery",
    "fast_recoveries",
    "undos",
    "dsack_undos",
    "timestamp_undos",
    "rto_undos",
    "hystart_exits",
];

impl RecoveryCounters {
    /// Nothing counted (then `summary.json` leaves the object out).
    pub fn is_zero(&self) -> bool {
        *self == RecoveryCounters::default()
    }

    /// Counts one event if it is a recovery decision.
    pub fn record(&mut self, kind: &TcpEventKind) {
        match kind {
            TcpEventKind::DsackReceived { .. } => self.dsack_received += 1,
            TcpEventKind::DsackSent { old: true, .. } => self.dsack_old_sent += 1,
            TcpEventKind::DsackSent { old: false, .. } => self.dsack_ofo_sent += 1,
            TcpEventKind::Reordering { threshold, .. } => {
                self.reordering_detected += 1;
                self.reordering = self.reordering.max(u64::from(*threshold));
            }
            TcpEventKind::MarkedLost { .. } => self.marked_lost += 1,
            TcpEventKind::LossProbe { .. } => self.loss_probes += 1,
            TcpEventKind::Congestion { reason: "loss_probe_recovery", .. } => self.loss_probe_recovery += 1,
            TcpEventKind::Congestion { reason: "hystart_train", cwnd, .. } => {
                self.hystart_train += 1;
                self.hystart_cwnd += u64::from(*cwnd);
            }
            TcpEventKind::Congestion { reason: "hystart_delay", cwnd, .. } => {
                self.hystart_delay += 1;
                self.hystart_cwnd += u64::from(*cwnd);
            }
            TcpEventKind::RecoveryStart { sack: true, .. } => self.sack_recovery += 1,
            TcpEventKind::RecoveryStart { sack: false, .. } => self.reno_recovery += 1,
            TcpEventKind::Undo { reason, episode, .. } => match (*reason, *episode) {
                ("dsack", _) => self.dsack_undo += 1,
                (r, "loss") => {
                    self.loss_undo += 1;
                    if r == "frto" {
                        self.spurious_rtos += 1;
                    }
                }
                (_, "partial") => self.partial_undo += 1,
                _ => self.full_undo += 1,
            },
            _ => {}
        }
    }

    /// The value of expectation metric `name` (one of `RECOVERY_METRICS`).
    pub fn metric(&self, name: &str) -> Option<u64> {
        Some(match name {
            "dsack_received" => self.dsack_received,
            "dsacks_sent" => self.dsack_old_sent + self.dsack_ofo_sent,
            "reordering_detected" => self.reordering_detected,
            "reordering" => self.reordering,
            "marked_lost" => self.marked_lost,
            "loss_probes" => self.loss_probes,
            "loss_probe_recovery" => self.loss_probe_recovery,
            "fast_recoveries" => self.sack_recovery + self.reno_recovery,
            "undos" => self.dsack_undo + self.partial_undo + self.full_undo + self.loss_undo,
            "dsack_undos" => self.dsack_undo,
            "timestamp_undos" => self.partial_undo + self.full_undo + self.loss_undo - self.spurious_rtos,
            "rto_undos" => self.loss_undo,
            "hystart_exits" => self.hystart_train + self.hystart_delay,
            _ => return None,
        })
    }
}
