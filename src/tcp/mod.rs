//! The TCP stack, sans-IO. `TcpStack` is one host's socket table; it takes segments, timer expiries and
//! application calls together with `now`, and gives back segments to send, its next deadline and
//! events. It never reads a clock and never touches the network itself.
//!
//! The public items here and in `stack` are the stack's whole interface: the host's IP layer
//! hands it segments (`TcpStack::on_segment`), ICMP errors (`TcpStack::on_icmp_frag_needed`) and
//! timer expiries (`TcpStack::handle_timeout`) and sends what `TcpStack::poll_transmit` gives;
//! sockets make the application calls (`listen`, `connect`, `send`, `recv`, `close`...); the host
//! collects the `TcpEvent`s. The implementation lives in the private sibling modules.
//!
//! Implementation map:
//! - `seq`: wrapping sequence arithmetic; `isn`: RFC 6528 initial sequence numbers;
//! - `send_buffer`: the send buffer, runs of stored bytes (borrowed by outgoing segments) and of
//!   generated content (`payload`: a content source and a range, no bytes held); `send`: SACK
//!   scoreboard (RFC 6675);
//! - `recv`: reassembly (overlaps merged, duplicates dropped) and SACK block reporting (RFC 2018);
//! - `rtt`: RFC 6298 estimator (Karn's rule and RFC 7323 timestamps are applied by the connection);
//! - `congestion`: the `CongestionControl` trait, NewReno (RFC 5681) and CUBIC (RFC 9438);
//! - `recovery`: D-SACK (RFC 2883), RACK-TLP (RFC 8985) with its per-segment records, undo of
//!   spurious reductions (RFC 3522 / 4015 Eifel, D-SACK) and PRR (RFC 6937); wired to the
//!   connection in `connection/recovery.rs`, which also runs F-RTO (RFC 5682);
//! - `connection`: the RFC 9293 state machine (`input`: segment arrival with RFC 5961 and PAWS;
//!   `output`: transmission, recovery per RFC 6582 / 6675, limited transmit RFC 3042, Nagle, SWS
//!   avoidance, windows; `timers`: RTO, persist, delayed ACK, TIME-WAIT, FIN-WAIT-2, keepalive,
//!   ICMP "fragmentation needed");
//! - `stack`: socket table, listeners (SYN queue, accept queue, backlog), demultiplexing, RSTs for
//!   closed ports, ephemeral ports; `event`: event payloads.
//!
//! Choices where RFC 9293 leaves room or other RFCs amend it: RSTs are ignored in TIME-WAIT
//! (RFC 1337); a SYN above RCV.NXT reopens an orphaned TIME-WAIT connection (RFC 6191 spirit);
//! closing with unread data sends RST (RFC 2525); an orphaned FIN-WAIT-2 gives up after 2*MSL;
//! unanswered zero-window probes abort after `max_retransmissions`. ACKs answering dropped segments
//! without data are rate-limited to one per 500 ms (Linux's tcp_invalid_ratelimit, RFC 5961 7).
//! Path MTU discovery follows RFC 1191: an ICMP "fragmentation needed" that quotes a segment in
//! flight (RFC 5927 4.1) lowers that connection's MSS and resends at once; the lowered value is
//! neither shared with other connections nor raised again later (RFC 1191 6.3).
//! Not implemented: urgent data (URG is never sent and ignored on input), ECN (RFC 3168), HyStart
//! (CUBIC uses RFC 5681 slow start), packetization-layer PMTUD (RFC 4821).

mod congestion;
mod connection;
mod event;
mod isn;
mod payload;
mod recovery;
mod recv;
mod rtt;
mod send;
mod send_buffer;
mod seq;
mod stack;

pub use congestion::CongestionControl;
pub use event::{
    AppCall, AppResult, FlagsText, OptionsText, RetransmitReason, SegmentInfo, TimerKind, flags_str, options_str,
};
pub use payload::{ContentSource, SharedContent};
// `TcpStack`, its `ConnInfo` snapshots and `NO_SOCKET` live in `stack.rs`.
pub use stack::{ConnInfo, NO_SOCKET, TcpStack};
// `LossDetection` is defined below, next to `TcpConfig`.

use crate::sim::{Duration, Instant};
use std::net::SocketAddrV4;

/// Identifies a socket (listener or connection) within one host's stack. Never reused within a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct SocketId(pub u32);

/// The eleven states of RFC 9293 section 3.3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum TcpState {
    /// No connection: not yet opened, or finished (closed, reset, timed out).
    Closed,
    /// A listener waiting for SYNs (`TcpStack::listen`).
    Listen,
    /// Active open: our SYN is sent, the peer's SYN not yet received.
    SynSent,
    /// The peer's SYN is received and our SYN-ACK sent; waiting for the ACK of our SYN.
    SynReceived,
    /// The handshake is complete; data flows both ways.
    Established,
    /// We sent our FIN (close or shutdown_write); waiting for its ACK or the peer's FIN.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// The peer's FIN is received; waiting for our application to close.
    CloseWait,
    /// Simultaneous close: both FINs sent, waiting for the ACK of ours.
    Closing,
    /// The peer closed first and our FIN is sent; waiting for its ACK.
    LastAck,
    /// We closed first, our FIN is acknowledged and the peer's FIN received: 2*MSL of quiet time
    /// so that a lost last ACK can be repeated and old duplicates die out (RFC 9293 3.3.2).
    TimeWait,
}

/// The congestion control algorithm of a connection (`TcpConfig::congestion`); serialized as
/// "newreno" / "cubic".
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CongestionAlgorithm {
    /// RFC 5681 slow start and congestion avoidance, with RFC 6582 NewReno recovery (the default).
    NewReno,
    /// CUBIC (RFC 9438): beta 0.7, fast convergence, Reno-friendly region; RFC 5681 slow start.
    Cubic,
}

/// How losses are detected when SACK is negotiated (`TcpConfig::recovery`); serialized as
/// "rack" / "dupack". Without SACK, NewReno's three duplicate ACKs (RFC 5681 / 6582) always apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossDetection {
    /// RACK-TLP (RFC 8985): a segment is lost once a segment sent after it was delivered and a
    /// reordering window (adapted to observed reordering, DSACK-driven) has passed; tail losses
    /// are probed (`TcpConfig::tlp`). Linux's default (net.ipv4.tcp_recovery = 1).
    Rack,
    /// The classic rule: DupThresh duplicate ACKs / SACKed segments above a hole (RFC 5681 3.2,
    /// RFC 6675 IsLost), DupThresh raised to the reordering degree seen (Linux's tp->reordering).
    Dupack,
}

/// How ACKs grow the congestion window: scenario key `cwnd_growth`, "linux" / "rfc5681".
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CwndGrowth {
    /// As Linux (`tcp_slow_start`, `tcp_cong_avoid_ai`, `tcp_may_raise_cwnd`): every newly
    /// delivered byte counts, cumulatively acknowledged or SACKed, with no per-ACK limit (RFC
    /// 3465 with an unlimited L); once the reordering degree exceeds 3, SACK-only ACKs grow the
    /// window too. A held-back segment then costs slow start nothing.
    Linux,
    /// RFC 5681 3.1 as written: only ACKs that cumulatively acknowledge new data grow cwnd, in
    /// slow start by at most one SMSS each (eq. 2), so one ACK that covers what reordering held
    /// back adds one SMSS, however much it acknowledges.
    Rfc5681,
}

/// Tunables of one socket. `TcpConfig::default()` is Linux-like where the RFCs leave a choice;
/// each field gives its default and the reason for it.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpConfig {
    /// Bytes the application may queue for sending (unacknowledged + unsent). Default 256 KiB.
    pub send_buffer: usize,
    /// Bytes of received data held for the application; bounds the advertised window and sets
    /// our window scale shift (the smallest that fits it, RFC 7323 2.3). Default 256 KiB.
    pub recv_buffer: usize,
    /// MSS we announce and the upper bound of what we send, in bytes without IP and TCP headers or
    /// options (RFC 9293 3.7.1). Default 1460 (Ethernet MTU 1500 - 40); the host lowers it to its
    /// interface MTU - 40.
    pub mss: u16,
    /// Nagle's algorithm (RFC 1122 4.2.3.4): hold a small segment while data is unacknowledged.
    /// Default on.
    pub nagle: bool,
    /// Delay ACKs (RFC 1122 4.2.3.2, RFC 5681 4.2): every second segment of new data is still
    /// ACKed at once, and so is out-of-order data. Default on.
    pub delayed_ack: bool,
    /// Longest ACK delay: the delay adapts from 40 ms (Linux's TCP_ATO_MIN) up to this. Default
    /// 200 ms (Linux's TCP_DELACK_MAX); values above RFC 1122 4.2.3.2's 500 ms are clamped.
    pub delayed_ack_timeout: Duration,
    /// Offer and accept SACK (RFC 2018), enabling SACK-based recovery (RFC 6675). Default on.
    pub sack: bool,
    /// Offer and accept window scaling (RFC 7323 2). Default on.
    pub window_scaling: bool,
    /// Offer and accept timestamps (RFC 7323 3-5: RTT samples and PAWS); they take 12 bytes of
    /// every segment's payload room. Default on.
    pub timestamps: bool,
    /// Congestion control algorithm. Default NewReno.
    pub congestion: CongestionAlgorithm,
    /// Floor of the RTO. Default 200 ms (Linux's TCP_RTO_MIN): RFC 6298 2.4's 1 s floor would make
    /// every loss on a LAN-scale simulated path cost a second.
    pub rto_min: Duration,
    /// Ceiling of the RTO, also bounding its backoff and the persist timer. Default 60 s (RFC 6298
    /// 2.5 allows a maximum of at least 60 s).
    pub rto_max: Duration,
    /// RTO before the first RTT sample. Default 1 s (RFC 6298 2.1).
    pub rto_initial: Duration,
    /// Consecutive retransmissions of the same data (or unanswered zero-window probes) before the
    /// connection is aborted with a RST and `TcpError::TimedOut`. Default 15 (Linux's
    /// tcp_retries2).
    pub max_retransmissions: u32,
    /// SYN (or SYN-ACK) retransmissions before the handshake gives up: connect() fails with
    /// `TcpError::TimedOut`, an embryonic passive connection just disappears. Default 7, so that
    /// connect() gives up after the 3 minutes RFC 9293 3.8.3 requires (MUST-23); Linux's
    /// tcp_syn_retries is 6.
    pub max_syn_retransmissions: u32,
    /// Maximum segment lifetime: TIME-WAIT lasts 2*MSL, and so does an orphaned FIN-WAIT-2 before
    /// it gives up. Default 30 s, so both last 60 s like Linux (RFC 9293 3.4.2 suggests 2 min).
    pub msl: Duration,
    /// Keepalive (RFC 1122 4.2.3.6), in ESTABLISHED: after this long without receiving anything,
    /// probe every min(idle, 75 s); 9 unanswered probes abort with `TcpError::TimedOut` (Linux's
    /// probe count and interval). Default `None` (off, as RFC 1122 requires).
    pub keepalive: Option<Duration>,
    /// Initial congestion window in segments; 10 or more gives RFC 6928's
    /// `min(10*MSS, max(2*MSS, 14600))` bytes. Default 10 (RFC 6928).
    pub initial_window_segments: u32,
    /// D-SACK (RFC 2883): report a duplicate segment in the first SACK block, and read the peer's
    /// D-SACKs (reordering window, undo). Needs SACK. Default on (Linux's tcp_dsack = 1).
    pub dsack: bool,
    /// Loss detection with SACK: RACK-TLP (RFC 8985) or duplicate ACKs (RFC 6675). Default RACK.
    pub recovery: LossDetection,
    /// Tail loss probes (RFC 8985 7) with RACK. Default on (Linux's tcp_early_retrans = 3).
    pub tlp: bool,
    /// Undo window reductions proven spurious by D-SACKs (RFC 2883 / 3708), timestamps (Eifel,
    /// RFC 3522 / 4015) or F-RTO. Default on, as Linux does.
    pub undo: bool,
    /// F-RTO (RFC 5682) after a retransmission timeout: send new data before going back N, and
    /// undo if the ACKs show the timeout was spurious. Default on (Linux's tcp_frto = 2).
    pub frto: bool,
    /// Proportional Rate Reduction (RFC 6937) for the window during SACK recovery; off gives RFC
    /// 6675's cwnd = ssthresh at once. Default on, as Linux does.
    pub prr: bool,
    /// HyStart (Linux CUBIC's hybrid slow start, `congestion/hystart.rs`): CUBIC leaves slow start
    /// when ACK trains or RTTs show the pipe full, before the overshoot. Default on (Linux's
    /// `tcp_cubic hystart=1`); no effect on NewReno.
    pub hystart: bool,
    /// How ACKs grow cwnd (`CwndGrowth`). Default Linux's.
    pub cwnd_growth: CwndGrowth,
    /// SACK compression, as Linux's receiver does it (`tcp_comp_sack_nr`): while out-of-order
    /// data is held, after the first three duplicate ACKs for one RCV.NXT, up to this many ACKs
    /// are held back and sent as one after `comp_sack_delay`. 0 turns it off: every out-of-order
    /// segment is acknowledged at once (RFC 5681 4.2). Default 44, as Linux.
    pub comp_sack_nr: u32,
    /// The longest a compressed SACK waits (`tcp_comp_sack_delay_ns`); never more than 5% of the
    /// RTT. Default 1 ms, as Linux.
    pub comp_sack_delay: Duration,
}

/// Errors of the socket calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub enum TcpError {
    /// The peer answered our SYN with a RST (nothing listens there), or reset a simultaneous open
    /// in SYN-RECEIVED.
    #[error("connection refused")]
    ConnectionRefused,
    /// The peer reset an established connection (ESTABLISHED, FIN-WAIT or CLOSE-WAIT).
    #[error("connection reset")]
    ConnectionReset,
    /// The peer stopped answering: SYN retransmissions (`max_syn_retransmissions`), data
    /// retransmissions or zero-window probes (`max_retransmissions`) or keepalive probes ran out.
    #[error("connection timed out")]
    TimedOut,
    /// The call needs an open connection and this one is CLOSED (it never opened, or it ended
    /// without an error to report).
    #[error("not connected")]
    NotConnected,
    /// listen() on an address and port a listener already covers (0.0.0.0 overlaps every
    /// address), connect() on a 4-tuple in use, or no free ephemeral port.
    #[error("address in use")]
    AddrInUse,
    /// The socket id is unknown or already freed, or of the wrong kind for the call (accept() on a
    /// connection, send() on a listener).
    #[error("invalid socket")]
    InvalidSocket,
    /// send() after the sending direction was shut (shutdown_write, close, or a state past
    /// ESTABLISHED / CLOSE-WAIT).
    #[error("connection closing")]
    Closing,
    /// A bad argument: listen() on port 0, connect() to port 0 or with an unspecified address,
    /// recv() into an empty buffer.
    #[error("invalid argument")]
    InvalidArgument,
}

/// One observable thing that happened inside the stack (state change, segment in/out, retransmission,
/// timer, cwnd/RTT change, application call). Serialized into `trace.jsonl` by the host.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TcpEvent {
    /// When it happened: the `now` of the call that caused it.
    pub time: Instant,
    /// The socket it belongs to; `NO_SOCKET` for segments no socket handled (a RST for a closed
    /// port).
    pub socket: SocketId,
    /// Our address of the connection or listener; `None` for an application call on an unknown
    /// socket id.
    pub local: Option<SocketAddrV4>,
    /// The peer's address; `None` for a listener's state changes and application calls.
    pub remote: Option<SocketAddrV4>,
    /// What happened.
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

/// What a `TcpEvent` records; serialized with an `"event"` tag in snake_case
/// (`"state_change"`, `"segment_sent"`...).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TcpEventKind {
    /// A connection or listener moved from one RFC 9293 state to another.
    StateChange {
        /// The state before.
        from: TcpState,
        /// The state after.
        to: TcpState,
    },
    /// A segment was handed to the IP layer (by `TcpStack::poll_transmit`).
    SegmentSent(SegmentInfo),
    /// A segment arrived (`TcpStack::on_segment`), recorded before it is processed.
    SegmentReceived(SegmentInfo),
    /// A segment sent again (the matching `segment_sent` follows).
    Retransmit {
        /// Its first sequence number.
        seq: u32,
        /// Its payload length in bytes (0 for a SYN or SYN-ACK).
        len: usize,
        /// Why it was sent again.
        reason: RetransmitReason,
    },
    /// A timer was armed (a detail event, see `TcpEventKind::is_detail`).
    TimerSet {
        /// Which timer.
        timer: TimerKind,
        /// When it will expire.
        deadline: Instant,
    },
    /// A timer expired and is being handled (a detail event).
    TimerFired {
        /// Which timer.
        timer: TimerKind,
    },
    /// cwnd / ssthresh changed (bytes).
    Congestion {
        /// The new congestion window, bytes.
        cwnd: u32,
        /// The new slow start threshold, bytes (`u32::MAX` until the first loss).
        ssthresh: u32,
        /// What changed them: "ack", "fast_retransmit", "dupack_inflation", "partial_ack",
        /// "recovery_exit", "rto" or "restart_after_idle".
        reason: &'static str,
    },
    /// A new RTT sample and the resulting estimator state (RFC 6298).
    Rtt {
        /// The sample: from the timed segment, or from the echoed timestamp (RFC 7323 4).
        sample: Duration,
        /// Smoothed RTT after the sample.
        srtt: Duration,
        /// RTT variation after the sample.
        rttvar: Duration,
        /// Retransmission timeout after the sample (clamped to `rto_min`..`rto_max`).
        rto: Duration,
    },
    /// The retransmission timer expired and was backed off (RFC 6298 5.5).
    RtoBackoff {
        /// The doubled RTO (at most `rto_max`).
        rto: Duration,
        /// Consecutive expirations so far.
        retries: u32,
    },
    /// Loss recovery began: three duplicate ACKs (RFC 5681 3.2) or SACK loss detection
    /// (RFC 6675 5).
    RecoveryStart {
        /// The recovery point: SND.MAX when it began (RFC 6582 "recover").
        recover: u32,
        /// SACK-based recovery (RFC 6675) rather than NewReno (RFC 6582).
        sack: bool,
    },
    /// A D-SACK arrived (RFC 2883): the peer received [left, right) twice. Linux's TCPDSACKRecv.
    DsackReceived {
        /// First duplicated sequence number.
        left: u32,
        /// End of the duplicated range (exclusive).
        right: u32,
    },
    /// We answered a duplicate segment with a D-SACK (RFC 2883) for [left, right). Linux's
    /// TCPDSACKOldSent (below RCV.NXT) / TCPDSACKOfoSent (out of order).
    DsackSent {
        /// First duplicated sequence number.
        left: u32,
        /// End of the duplicated range (exclusive).
        right: u32,
        /// The duplicate lay below RCV.NXT (else it repeated out-of-order data).
        old: bool,
    },
    /// Reordering was detected: a segment never retransmitted was delivered after later ones
    /// (RFC 8985 6.2 step 1), or a retransmission proved spurious. Linux's TCPSACKReorder.
    Reordering {
        /// How far out of order, in segments (Linux's tp->reordering sample).
        degree: u32,
        /// The reordering threshold (segments) now in force.
        threshold: u32,
    },
    /// RACK marked a segment lost (RFC 8985 6.2 step 5), or the dupack rule did (RFC 6675).
    MarkedLost {
        /// Its first sequence number.
        seq: u32,
        /// Its length in bytes.
        len: u32,
        /// The reordering window in force (zero for the dupack rule).
        reo_wnd: Duration,
    },
    /// A tail loss probe was sent (RFC 8985 7.3). Linux's TCPLossProbes.
    LossProbe {
        /// Its first sequence number.
        seq: u32,
        /// Its length in bytes.
        len: u32,
        /// New data (rather than the last segment sent again).
        new_data: bool,
    },
    /// A window reduction was undone because it proved spurious (RFC 3522, 4015, 2883, 5682).
    Undo {
        /// The evidence: "dsack", "timestamp", "frto", or "no_retransmission" (the recovery
        /// ended without any segment resent: what was thought lost arrived late).
        reason: &'static str,
        /// What was undone: "recovery" (fast recovery, partial or full) or "rto".
        episode: &'static str,
        /// The restored congestion window, bytes.
        cwnd: u32,
        /// The restored slow start threshold, bytes.
        ssthresh: u32,
    },
    /// Loss recovery ended: a full ACK reached the recovery point, or an RTO cut it short.
    RecoveryEnd {
        /// SND.UNA at that moment.
        ack: u32,
    },
    /// An application call and its result (a detail event).
    AppCall {
        /// Which call.
        call: AppCall,
        /// Its size argument: the bytes offered to send, the buffer size of recv, the backlog
        /// of listen.
        len: Option<usize>,
        /// What it returned.
        result: AppResult,
    },
    /// A received segment was dropped (after any ACK it required).
    Dropped {
        /// Why, e.g. "unacceptable_seq", "paws", "backlog_full", "rst_to_closed_port".
        reason: &'static str,
    },
    /// RFC 5961 challenge ACK.
    ChallengeAck {
        /// What prompted it: "rst_not_exact" (3.2), "syn_in_synchronized_state" (4.2) or
        /// "ack_too_old" (5.2).
        reason: &'static str,
    },
    /// ICMP "fragmentation needed" lowered the path MTU (RFC 1191): the new MSS (without options).
    PathMtu {
        /// The next-hop MTU the router reported, bytes.
        mtu: u16,
        /// The new MSS: `mtu` - 40, bytes.
        mss: u32,
    },
    /// The connection failed with this error (reset, refused, timed out).
    Error {
        /// The error the application's calls now return.
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
    /// - initial window 10 segments (RFC 6928);
    /// - loss recovery as Linux's: D-SACK, RACK-TLP, undo, F-RTO and PRR all on.
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
            dsack: true,
            recovery: LossDetection::Rack,
            tlp: true,
            undo: true,
            frto: true,
            prr: true,
            hystart: true,
            cwnd_growth: CwndGrowth::Linux,
            comp_sack_nr: 44,
            comp_sack_delay: Duration::from_millis(1),
        }
    }
}
