//! Per-connection accounting, computed from the TCP events as they pass through the tracer: the
//! states a connection went through, what it sent and received, its retransmissions (by reason),
//! resets and challenge ACKs, and its last RTT and congestion figures.

use super::nstat::{RECOVERY_METRICS, RecoveryCounters};
use crate::sim::{Duration, Instant};
use crate::tcp::RetransmitReason;
use crate::tcp::{SocketId, TcpEvent, TcpEventKind, TcpState};
use serde::Serialize;
use std::net::SocketAddrV4;

/// What one TCP socket did, as its events told (serialised into `summary.json`).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ConnSummary {
    /// The name of the node it lives on.
    pub host: String,
    /// Tracked from the packets on the wire (a stack under test that does not report its
    /// connections), not reported by the stack.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub observed: bool,
    /// The node it lives on.
    #[serde(skip)]
    pub node: usize,
    /// The socket's id in the node's stack.
    pub socket: u32,
    /// Its local address and port, once known.
    pub local: Option<SocketAddrV4>,
    /// The peer's address and port; `None` for a listener.
    pub remote: Option<SocketAddrV4>,
    /// Every state the connection entered, with the time, starting with the first transition's source.
    pub states: Vec<(Instant, TcpState)>,
    /// Segments sent, retransmissions and pure ACKs included.
    pub segments_sent: u64,
    /// Segments received, including ones then dropped.
    pub segments_received: u64,
    /// Payload bytes sent (retransmissions included) and received (duplicates included).
    pub bytes_sent: u64,
    /// See `bytes_sent`.
    pub bytes_received: u64,
    /// Retransmissions for any reason but window probes (the sum of the next three).
    pub retransmissions: u64,
    /// Retransmissions after the retransmission timer expired (RFC 6298).
    pub retransmissions_rto: u64,
    /// Fast retransmissions on duplicate ACKs (RFC 5681 3.2, RFC 6582).
    pub retransmissions_fast: u64,
    /// Retransmissions chosen by SACK loss recovery (RFC 6675).
    pub retransmissions_sack: u64,
    /// Zero-window probes sent (RFC 9293 3.8.6.1).
    pub window_probes: u64,
    /// Times the retransmission timer expired and was backed off (RFC 6298 5.5).
    pub rto_backoffs: u64,
    /// Segments with RST sent.
    pub rsts_sent: u64,
    /// Segments with RST received.
    pub rsts_received: u64,
    /// Challenge ACKs sent (RFC 5961).
    pub challenge_acks: u64,
    /// Received segments the connection discarded (out of window, bad ACK, ...).
    pub segments_dropped: u64,
    /// The error the connection ended with ("connection reset", "connection timed out", ...).
    pub error: Option<String>,
    /// The last smoothed round-trip time (RFC 6298).
    pub srtt: Option<Duration>,
    /// The last retransmission timeout.
    pub rto: Option<Duration>,
    /// The last congestion window, in bytes.
    pub cwnd: Option<u32>,
    /// The last slow-start threshold, in bytes.
    pub ssthresh: Option<u32>,
    /// The time of its first event.
    pub first_time: Option<Instant>,
    /// The time of its last event.
    pub last_time: Option<Instant>,
    /// Payload bytes this end sent that the peer acknowledged (SYN and FIN not counted).
    pub acked_bytes: u64,
    /// `acked_bytes` over the time from the connection's first event to the last ACK that advanced.
    pub goodput_mbps: f64,
    /// Loss recovery decisions, under Linux's nstat names (left out when all are zero).
    #[serde(skip_serializing_if = "RecoveryCounters::is_zero")]
    pub recovery: RecoveryCounters,
    /// This end's initial sequence number (from its SYN), for `acked_bytes`.
    #[serde(skip)]
    pub(crate) isn: Option<u32>,
    /// The sequence number of this end's FIN, once sent.
    #[serde(skip)]
    pub(crate) fin_seq: Option<u32>,
    /// The highest acknowledgment number received.
    #[serde(skip)]
    pub(crate) highest_ack: Option<u32>,
    /// When `acked_bytes` last grew.
    #[serde(skip)]
    pub(crate) last_ack_time: Option<Instant>,
}

impl ConnSummary {
    /// The state it is in now (the last one it entered); `None` if it never changed state.
    pub fn state(&self) -> Option<TcpState> {
        self.states.last().map(|(_, s)| *s)
    }
    /// Whether this is a listening socket (it has no peer).
    pub fn is_listener(&self) -> bool {
        self.remote.is_none()
    }
    /// Open: a connection (not a listener) whose last state is not CLOSED.
    pub fn is_open(&self) -> bool {
        !self.is_listener() && self.state().is_some_and(|s| s != TcpState::Closed)
    }

    /// Counts one event of this socket (detail events are ignored).
    pub fn record(&mut self, ev: &TcpEvent) {
        if ev.local.is_some() {
            self.local = ev.local;
        }
        if ev.remote.is_some() {
            self.remote = ev.remote;
        }
        // Timer and application-call events are only recorded when a trace is written
        // (`TcpEventKind::is_detail`); the summary must not depend on that (the tracer does not
        // pass them here, this is for other callers).
        if ev.kind.is_detail() {
            return;
        }
        self.first_time.get_or_insert(ev.time);
        self.last_time = Some(ev.time);
        self.recovery.record(&ev.kind);
        match &ev.kind {
            TcpEventKind::StateChange { from, to } => {
                if self.states.is_empty() {
                    self.states.push((ev.time, *from));
                }
                self.states.push((ev.time, *to));
            }
            TcpEventKind::SegmentSent(s) => {
                if s.flags.0.syn() && self.isn.is_none() {
                    self.isn = Some(s.seq);
                }
                if s.flags.0.fin() {
                    self.fin_seq = Some(s.seq.wrapping_add(s.len));
                }
                self.segments_sent += 1;
                self.bytes_sent += s.len as u64;
                if s.flags.0.rst() {
                    self.rsts_sent += 1;
                }
            }
            TcpEventKind::SegmentReceived(s) => {
                if s.flags.0.ack() && !s.flags.0.rst() {
                    self.on_ack(s.ack, ev.time);
                }
                self.segments_received += 1;
                self.bytes_received += s.len as u64;
                if s.flags.0.rst() {
                    self.rsts_received += 1;
                }
            }
            TcpEventKind::Retransmit { reason, .. } => match reason {
                RetransmitReason::Probe => self.window_probes += 1,
                r => {
                    self.retransmissions += 1;
                    match r {
                        RetransmitReason::Rto => self.retransmissions_rto += 1,
                        RetransmitReason::FastRetransmit => self.retransmissions_fast += 1,
                        RetransmitReason::Sack | RetransmitReason::LossProbe => self.retransmissions_sack += 1,
                        RetransmitReason::Probe | RetransmitReason::SynReply | RetransmitReason::Observed => {}
                    }
                }
            },
            TcpEventKind::Congestion { cwnd, ssthresh, .. } => {
                self.cwnd = Some(*cwnd);
                self.ssthresh = Some(*ssthresh);
            }
            TcpEventKind::Rtt { srtt, rto, .. } => {
                self.srtt = Some(*srtt);
                self.rto = Some(*rto);
            }
            TcpEventKind::RtoBackoff { rto, .. } => {
                self.rto_backoffs += 1;
                self.rto = Some(*rto);
            }
            TcpEventKind::ChallengeAck { .. } => self.challenge_acks += 1,
            TcpEventKind::Dropped { .. } => self.segments_dropped += 1,
            TcpEventKind::Error { error } => self.error = Some(error.to_string()),
            _ => {}
        }
    }

    /// Sequence-space bookkeeping for `acked_bytes` (RFC 9293 comparisons are modulo 2^32).
    fn on_ack(&mut self, ack: u32, t: Instant) {
        let Some(isn) = self.isn else { return };
        let advanced = match self.highest_ack {
            None => true,
            Some(h) => (ack.wrapping_sub(h) as i32) > 0,
        };
        if !advanced {
            return;
        }
        self.highest_ack = Some(ack);
        // Everything between ISN+1 and the ACK, minus the FIN's sequence number if it is covered.
        let mut acked = u64::from(ack.wrapping_sub(isn).saturating_sub(1));
        if let Some(f) = self.fin_seq
            && (ack.wrapping_sub(f) as i32) > 0
        {
            acked = acked.saturating_sub(1);
        }
        if acked > self.acked_bytes {
            self.acked_bytes = acked;
            self.last_ack_time = Some(t);
            if let (Some(first), Some(last)) = (self.first_time, self.last_ack_time) {
                let secs = (last - first).as_secs_f64();
                self.goodput_mbps = if secs > 0.0 { acked as f64 * 8.0 / secs / 1e6 } else { 0.0 };
            }
        }
    }

    /// The metric of this connection named `name` (see `CONN_METRICS`).
    pub fn metric(&self, name: &str) -> Option<f64> {
        Some(match name {
            "segments_sent" => self.segments_sent as f64,
            "segments_received" => self.segments_received as f64,
            "bytes_sent" => self.bytes_sent as f64,
            "bytes_received" => self.bytes_received as f64,
            "retransmissions" => self.retransmissions as f64,
            "retransmissions_rto" => self.retransmissions_rto as f64,
            "retransmissions_fast" => self.retransmissions_fast as f64,
            "retransmissions_sack" => self.retransmissions_sack as f64,
            "window_probes" => self.window_probes as f64,
            "rto_backoffs" => self.rto_backoffs as f64,
            "rsts_sent" => self.rsts_sent as f64,
            "rsts_received" => self.rsts_received as f64,
            "challenge_acks" => self.challenge_acks as f64,
            "segments_dropped" => self.segments_dropped as f64,
            "timed_out" => f64::from(u8::from(self.error.as_deref() == Some("connection timed out"))),
            "reset" => f64::from(u8::from(self.error.as_deref() == Some("connection reset"))),
            "refused" => f64::from(u8::from(self.error.as_deref() == Some("connection refused"))),
            "open" => f64::from(u8::from(self.is_open())),
            "srtt_ms" => self.srtt?.as_nanos() as f64 / 1e6,
            "cwnd" => f64::from(self.cwnd?),
            "acked_bytes" => self.acked_bytes as f64,
            "goodput_mbps" => self.goodput_mbps,
            other if RECOVERY_METRICS.contains(&other) => self.recovery.metric(other)? as f64,
            _ => return None,
        })
    }
}

/// The names `metric` knows besides the loss recovery counters.
const BASE_METRICS: &[&str] = &[
    "segments_sent",
    "segments_received",
    "bytes_sent",
    "bytes_received",
    "retransmissions",
    "retransmissions_rto",
    "retransmissions_fast",
    "retransmissions_sack",
    "window_probes",
    "rto_backoffs",
    "rsts_sent",
    "rsts_received",
    "challenge_acks",
    "segments_dropped",
    "timed_out",
    "reset",
    "refused",
    "open",
    "srtt_ms",
    "cwnd",
    "acked_bytes",
    "goodput_mbps",
];

/// The names `metric` knows, as expectations may use them: the base metrics, then the loss
/// recovery counters (`super::nstat::RECOVERY_METRICS`).
pub static CONN_METRICS: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| BASE_METRICS.iter().chain(RECOVERY_METRICS).copied().collect());

/// Key of a connection in the tracker: (node, socket).
pub type ConnKey = (usize, SocketId);

/// Parses a state name as written in scenarios: "ESTABLISHED", "time_wait", "TimeWait", "SYN-SENT".
pub fn parse_state(s: &str) -> Option<TcpState> {
    let norm: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    Some(match norm.as_str() {
        "closed" => TcpState::Closed,
        "listen" => TcpState::Listen,
        "synsent" => TcpState::SynSent,
        "synreceived" | "synrcvd" => TcpState::SynReceived,
        "established" => TcpState::Established,
        "finwait1" => TcpState::FinWait1,
        "finwait2" => TcpState::FinWait2,
        "closewait" => TcpState::CloseWait,
        "closing" => TcpState::Closing,
        "lastack" => TcpState::LastAck,
        "timewait" => TcpState::TimeWait,
        _ => return None,
    })
}

/// RFC 9293 spelling of a state: "ESTABLISHED", "TIME-WAIT".
pub fn state_name(s: TcpState) -> &'static str {
    match s {
        TcpState::Closed => "CLOSED",
        TcpState::Listen => "LISTEN",
        TcpState::SynSent => "SYN-SENT",
        TcpState::SynReceived => "SYN-RECEIVED",
        TcpState::Established => "ESTABLISHED",
        TcpState::FinWait1 => "FIN-WAIT-1",
        TcpState::FinWait2 => "FIN-WAIT-2",
        TcpState::CloseWait => "CLOSE-WAIT",
        TcpState::Closing => "CLOSING",
        TcpState::LastAck => "LAST-ACK",
        TcpState::TimeWait => "TIME-WAIT",
    }
}
