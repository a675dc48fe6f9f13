//! The TCP stack, sans-IO. `TcpStack` is one host's socket table; it takes segments, timer expiries and
//! application calls together with `now`, and gives back segments to send, its next deadline and
//! events. It never reads a clock and never touches the network itself.
//!
//! THIS FILE IS THE CONTRACT between the host IP layer (`net/`) and the TCP implementation: the
//! signatures below are what `net/` and `app/` call. The implementation behind them lives in the
//! sibling modules.
//!
//! Implementation map:
//! - `seq`: wrapping sequence arithmetic; `isn`: RFC 6528 initial sequence numbers;
//! - `send`: send buffer (payloads borrowed by outgoing segments) and SACK scoreboard (RFC 6675);
//! - `recv`: reassembly (overlaps merged, duplicates dropped) and SACK block reporting (RFC 2018);
//! - `rtt`: RFC 6298 estimator (Karn's rule and RFC 7323 timestamps are applied by the connection);
//! - `congestion`: the `CongestionControl` trait, NewReno (RFC 5681) and CUBIC (RFC 9438);
//! - `connection`: the RFC 9293 state machine (`input`: segment arrival with RFC 5961 and PAWS;
//!   `output`: transmission, recovery per RFC 6582 / 6675, limited transmit RFC 3042, Nagle, SWS
//!   avoidance, windows; `timers`: RTO, persist, delayed ACK, TIME-WAIT, FIN-WAIT-2, keepalive);
//! - `stack`: socket table, listeners (SYN queue, accept queue, backlog), demultiplexing, RSTs for
//!   closed ports, ephemeral ports; `event`: event payloads.
//!
//! Choices where RFC 9293 leaves room or other RFCs amend it: RSTs are ignored in TIME-WAIT
//! (RFC 1337); a SYN above RCV.NXT reopens an orphaned TIME-WAIT connection (RFC 6191 spirit);
//! closing with unread data sends RST (RFC 2525); an orphaned FIN-WAIT-2 gives up after 2*MSL;
//! unanswered zero-window probes abort after `max_retransmissions`. ACKs answering dropped segments
//! without data are rate-limited to one per 500 ms (Linux's tcp_invalid_ratelimit, RFC 5961 7).
//! Not implemented: urgent data, ECN, D-SACK generation, HyStart, path MTU discovery.

mod congestion;
mod connection;
mod event;
mod isn;
mod recv;
mod rtt;
mod send;
mod seq;
mod stack;

pub use congestion::CongestionControl;
pub use event::{
    AppCall, AppResult, FlagsText, OptionsText, RetransmitReason, SegmentInfo, TimerKind, flags_str, options_str,
};
// `TcpStack` (the contract's entry point, with exactly the signatures `net/` and `app/` were written
// against) lives in `stack.rs`; `ConnInfo`, `conn_info` and `readiness` are additions.
pub use stack::{ConnInfo, NO_SOCKET, TcpStack};

use crate::sim::{Duration, Instant};
use std::net::SocketAddrV4;

/// Identifies a socket (listener or connection) within one host's stack. Never reused within a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct SocketId(pub u32);

/// The eleven states of RFC 9293 section 3.3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum TcpState {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CongestionAlgorithm {
    NewReno,
    Cubic,
}

/// Tunables of one socket (defaults documented on each field by the implementation).
#[derive(Debug, Clone, PartialEq)]
pub struct TcpConfig {
    pub send_buffer: usize,
    pub recv_buffer: usize,
    /// MSS we announce and the upper bound of what we send (the host sets it from the interface MTU).
    pub mss: u16,
    pub nagle: bool,
    pub delayed_ack: bool,
    pub delayed_ack_timeout: Duration,
    pub sack: bool,
    pub window_scaling: bool,
    pub timestamps: bool,
    pub congestion: CongestionAlgorithm,
    pub rto_min: Duration,
    pub rto_max: Duration,
    pub rto_initial: Duration,
    /// Consecutive retransmissions of the same data before the connection is aborted.
    pub max_retransmissions: u32,
    /// SYN retransmissions before connect() fails with TimedOut.
    pub max_syn_retransmissions: u32,
    pub msl: Duration,
    pub keepalive: Option<Duration>,
    pub initial_window_segments: u32,
}

/// Errors of the socket calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub enum TcpError {
    #[error("connection refused")]
    ConnectionRefused,
    #[error("connection reset")]
    ConnectionReset,
    #[error("connection timed out")]
    TimedOut,
    #[error("not connected")]
    NotConnected,
    #[error("address in use")]
    AddrInUse,
    #[error("invalid socket")]
    InvalidSocket,
    #[error("connection closing")]
    Closing,
    #[error("invalid argument")]
    InvalidArgument,
}

/// One observable thing that happened inside the stack (state change, segment in/out, retransmission,
/// timer, cwnd/RTT change, application call). Serialized into `trace.jsonl` by the host.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TcpEvent {
    pub time: Instant,
    pub socket: SocketId,
    /// (local, remote) of the connection, if it has one.
    pub local: Option<SocketAddrV4>,
    pub remote: Option<SocketAddrV4>,
    pub kind: TcpEventKind,
}

impl TcpEventKind {
    /// Timer and application-call events: only a written trace uses them (no summary figure or
    /// expectation does), so a stack that is told nobody writes a trace counts them instead of
    /// recording them (see `TcpStack::set_detail_events`).
    pub fn is_detail(&self) -> bool {
        matches!(self, TcpEventKind::TimerSet { .. } | TcpEventKind::TimerFired { .. } | TcpEventKind::AppCall { .. })
    }
}

/// The events a stack has recorded since they were last handed over.
#[derive(Debug, Default)]
pub(crate) struct EventLog {
    pub list: Vec<TcpEvent>,
    /// Record detail events (`TcpEventKind::is_detail`), or only count them.
    pub detail: bool,
    /// Detail events counted but not recorded since they were last handed over.
    pub skipped: u64,
}

impl EventLog {
    pub fn push(&mut self, e: TcpEvent) {
        if !(e.kind.is_detail() && self.skip_detail()) {
            self.list.push(e);
        }
    }
    /// For a detail event about to be made: true (and counted) if it is not to be recorded, so the
    /// caller need not build it.
    pub fn skip_detail(&mut self) -> bool {
        if !self.detail {
            self.skipped += 1;
        }
        !self.detail
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TcpEventKind {
    StateChange {
        from: TcpState,
        to: TcpState,
    },
    SegmentSent(SegmentInfo),
    SegmentReceived(SegmentInfo),
    /// A segment sent again (the matching `segment_sent` follows).
    Retransmit {
        seq: u32,
        len: usize,
        reason: RetransmitReason,
    },
    TimerSet {
        timer: TimerKind,
        deadline: Instant,
    },
    TimerFired {
        timer: TimerKind,
    },
    /// cwnd / ssthresh changed (bytes).
    Congestion {
        cwnd: u32,
        ssthresh: u32,
        reason: &'static str,
    },
    /// A new RTT sample and the resulting estimator state (RFC 6298).
    Rtt {
        sample: Duration,
        srtt: Duration,
        rttvar: Duration,
        rto: Duration,
    },
    /// The retransmission timer expired and was backed off (RFC 6298 5.5).
    RtoBackoff {
        rto: Duration,
        retries: u32,
    },
    RecoveryStart {
        recover: u32,
        sack: bool,
    },
    RecoveryEnd {
        ack: u32,
    },
    AppCall {
        call: AppCall,
        len: Option<usize>,
        result: AppResult,
    },
    /// A received segment was dropped (after any ACK it required).
    Dropped {
        reason: &'static str,
    },
    /// RFC 5961 challenge ACK.
    ChallengeAck {
        reason: &'static str,
    },
    /// ICMP "fragmentation needed" lowered the path MTU (RFC 1191): the new MSS (without options).
    PathMtu {
        mtu: u16,
        mss: u32,
    },
    /// The connection failed with this error (reset, refused, timed out).
    Error {
        error: TcpError,
    },
}

impl Default for TcpConfig {
    /// Defaults, Linux-like where the RFCs leave a choice:
    /// - buffers 256 KiB each; MSS 1460 (Ethernet MTU 1500 - 40);
    /// - Nagle on (RFC 1122 4.2.3.4); delayed ACK on, the timer adapting between 40 ms (Linux's
    ///   TCP_ATO_MIN) and `delayed_ack_timeout` = 200 ms (Linux's TCP_DELACK_MAX; RFC 1122 4.2.3.2
    ///   allows up to 500 ms, larger values are clamped): it doubles when it expires (interactive
    ///   traffic) and halves when two segments arrive before it (bulk traffic);
    /// - SACK (RFC 2018), window scaling and timestamps (RFC 7323) on; NewReno;
    /// - rto_min 200 ms (Linux's TCP_RTO_MIN; RFC 6298 2.4 says 1 s, but a 1 s floor makes every
    ///   loss on a LAN-scale simulated path cost a second), rto_max 60 s (RFC 6298 2.5),
    ///   rto_initial 1 s (RFC 6298 2.1);
    /// - 15 retransmissions (Linux tcp_retries2) and 7 SYN retransmissions: with the timer above
    ///   (1 s, doubling, capped at 60 s) the SYNs leave at 0, 1, 3, 7, 15, 31, 63 and 123 s and
    ///   connect() fails at 183 s, the 3 minutes RFC 9293 3.8.3 requires (MUST-23; RFC 1122
    ///   4.2.3.5's R2 for a SYN). Linux's tcp_syn_retries = 6 (a shorter 127 s with its 120 s RTO
    ///   cap) is `max_syn_retransmissions = 6`; the same count bounds SYN-ACK retransmissions;
    /// - MSL 30 s, so TIME_WAIT lasts 2*MSL = 60 s like Linux; no keepalive;
    /// - initial window 10 segments (RFC 6928).
    fn default() -> Self {
        TcpConfig {
            send_buffer: 256 * 1024,
            recv_buffer: 256 * 1024,
            mss: 1460,
            nagle: true,
            delayed_ack: true,
            delayed_ack_timeout: Duration::from_millis(200),
            sack: true,
            window_scaling: true,
            timestamps: true,
            congestion: CongestionAlgorithm::NewReno,
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(60),
            rto_initial: Duration::from_secs(1),
            max_retransmissions: 15,
            max_syn_retransmissions: 7,
            msl: Duration::from_secs(30),
            keepalive: None,
            initial_window_segments: 10,
        }
    }
}
