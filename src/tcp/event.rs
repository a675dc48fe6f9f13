//! Event payload types and the human-readable summaries used in `TcpEvent`s.

use super::{SocketId, TcpError};
use crate::wire::{TcpFlags, TcpOptions, TcpRepr};
use serde::Serialize;

/// Summary of one segment, as it appears in `segment_sent` / `segment_received` events.
/// Flags and options are kept raw (no allocation on the per-packet path) and rendered as text
/// when serialized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentInfo {
    /// Sequence number, absolute (not relative to the ISN).
    pub seq: u32,
    /// Acknowledgment number, absolute (meaningful only with ACK).
    pub ack: u32,
    /// Serialized "SYN|ACK" style, in Wireshark's order.
    pub flags: FlagsText,
    /// The window field as on the wire (not scaled).
    pub window: u16,
    /// Payload bytes (SYN and FIN not counted).
    pub len: u32,
    /// Serialized e.g. "mss=1460 ws=7 sackok ts=1000/0 sack=[100-200]"; empty when there are none.
    pub options: OptionsText,
}

/// TCP flags, serialized (and debug-printed) as "SYN|ACK".
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FlagsText(pub TcpFlags);

impl std::fmt::Debug for FlagsText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&flags_str(self.0))
    }
}

impl Serialize for FlagsText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&flags_str(self.0))
    }
}

/// TCP options, serialized (and debug-printed) as a one-line summary. Stored compactly (48 bytes
/// rather than `TcpOptions`' 68): one event is kept per segment sent and received.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OptionsText {
    mss: u16,
    ws: u8,
    /// OPT_* bits.
    bits: u8,
    nsack: u8,
    ts: [u32; 2],
    sack: [[u32; 2]; 4],
}

const OPT_MSS: u8 = 1;
const OPT_WS: u8 = 2;
const OPT_SACKOK: u8 = 4;
const OPT_TS: u8 = 8;

impl OptionsText {
    /// The compact form of parsed options.
    pub fn new(o: &TcpOptions) -> Self {
        let mut t = OptionsText { mss: 0, ws: 0, bits: 0, nsack: 0, ts: [0; 2], sack: [[0; 2]; 4] };
        if let Some(m) = o.mss {
            t.mss = m;
            t.bits |= OPT_MSS;
        }
        if let Some(w) = o.window_scale {
            t.ws = w;
            t.bits |= OPT_WS;
        }
        if o.sack_permitted {
            t.bits |= OPT_SACKOK;
        }
        if let Some((v, e)) = o.timestamps {
            t.ts = [v, e];
            t.bits |= OPT_TS;
        }
        for (l, r) in o.sack_blocks.iter().flatten() {
            t.sack[usize::from(t.nsack)] = [*l, *r];
            t.nsack += 1;
        }
        t
    }
    /// The options as parsed (SACK blocks packed to the front).
    pub fn options(&self) -> TcpOptions {
        let mut o = TcpOptions {
            mss: (self.bits & OPT_MSS != 0).then_some(self.mss),
            window_scale: (self.bits & OPT_WS != 0).then_some(self.ws),
            sack_permitted: self.bits & OPT_SACKOK != 0,
            timestamps: (self.bits & OPT_TS != 0).then_some((self.ts[0], self.ts[1])),
            ..TcpOptions::default()
        };
        for i in 0..usize::from(self.nsack) {
            o.sack_blocks[i] = Some((self.sack[i][0], self.sack[i][1]));
        }
        o
    }
}

impl std::fmt::Debug for OptionsText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&options_str(&self.options()))
    }
}

impl Serialize for OptionsText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&options_str(&self.options()))
    }
}

impl SegmentInfo {
    /// The summary of `seg`.
    pub fn of(seg: &TcpRepr<'_>) -> Self {
        SegmentInfo {
            seq: seg.seq,
            ack: seg.ack,
            flags: FlagsText(seg.flags),
            window: seg.window,
            len: seg.payload.len() as u32,
            options: OptionsText::new(&seg.options),
        }
    }
}

/// `f` as "SYN|ACK", "FIN|PSH|ACK"... (Wireshark's order); empty when no flag is set.
pub fn flags_str(f: TcpFlags) -> String {
    // Wireshark's order: "SYN|ACK", "FIN|PSH|ACK", "RST|ACK".
    let names = [
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"),
        (TcpFlags::ACK, "ACK"),
        (TcpFlags::URG, "URG"),
        (TcpFlags::ECE, "ECE"),
        (TcpFlags::CWR, "CWR"),
    ];
    let mut s = String::new();
    for (flag, name) in names {
        if f.contains(flag) {
            if !s.is_empty() {
                s.push('|');
            }
            s.push_str(name);
        }
    }
    s
}

/// `o` as one line, e.g. "mss=1460 ws=7 sackok ts=1000/0 sack=[100-200]"; empty when there are
/// no options.
pub fn options_str(o: &TcpOptions) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if let Some(m) = o.mss {
        let _ = write!(s, "mss={m} ");
    }
    if let Some(w) = o.window_scale {
        let _ = write!(s, "ws={w} ");
    }
    if o.sack_permitted {
        s.push_str("sackok ");
    }
    if let Some((v, e)) = o.timestamps {
        let _ = write!(s, "ts={v}/{e} ");
    }
    if o.sack_blocks.iter().any(Option::is_some) {
        s.push_str("sack=");
        for (l, r) in o.sack_blocks.iter().flatten() {
            let _ = write!(s, "[{l}-{r}]");
        }
    }
    let t = s.trim_end().len();
    s.truncate(t);
    s
}

/// Why a segment was sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetransmitReason {
    /// Retransmission timeout (RFC 6298), including SYN / SYN-ACK retries.
    Rto,
    /// Fast retransmit / NewReno partial ACK (RFC 5681, RFC 6582).
    FastRetransmit,
    /// SACK-based loss recovery (RFC 6675 NextSeg).
    Sack,
    /// Zero-window probe (persist timer), RFC 9293 3.8.6.1.
    Probe,
    /// A tail loss probe resending the last segment (RFC 8985 7.3).
    LossProbe,
    /// The SYN-ACK sent again in answer to a duplicate SYN in SYN-RECEIVED (not a timeout).
    SynReply,
    /// Seen on the wire by netlab's passive tracker (a stack under test that does not say why): a
    /// segment covering sequence space that was sent before.
    Observed,
}

/// The timers of a connection (each armed at most once at a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// Retransmission timeout (RFC 6298), also for SYN and SYN-ACK.
    Retransmit,
    /// Zero-window probe (RFC 9293 3.8.6.1): the RTO backed off per probe, at most `rto_max`.
    Persist,
    /// Delayed ACK (RFC 1122 4.2.3.2): the ACK of a lone segment waits for a second one, between
    /// 40 ms and `delayed_ack_timeout`.
    DelayedAck,
    /// TIME-WAIT's 2*MSL, after which the connection is CLOSED.
    TimeWait,
    /// An orphaned FIN-WAIT-2 gives up on the peer's FIN after 2*MSL (Linux's tcp_fin_timeout).
    FinWait2,
    /// Keepalive (RFC 1122 4.2.3.6): idle time, then the interval between probes.
    Keepalive,
    /// RACK reordering timer (RFC 8985 6.3): a segment not yet deemed lost becomes lost when its
    /// reordering window has passed.
    RackReorder,
    /// Tail loss probe timeout, PTO (RFC 8985 7.2).
    LossProbe,
    /// SACK compression (Linux's `compressed_ack_timer`): the ACK for out-of-order data held back
    /// after the first three duplicate ACKs goes when this expires (`comp_sack_delay`).
    CompressedAck,
}

impl TimerKind {
    /// Every timer kind, in `index` order.
    pub const ALL: [TimerKind; 9] = [
        TimerKind::Retransmit,
        TimerKind::Persist,
        TimerKind::DelayedAck,
        TimerKind::TimeWait,
        TimerKind::FinWait2,
        TimerKind::Keepalive,
        TimerKind::RackReorder,
        TimerKind::LossProbe,
        TimerKind::CompressedAck,
    ];
    /// Position in `ALL`, for per-timer arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// An application call, for `app_call` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppCall {
    /// `TcpStack::listen`.
    Listen,
    /// `TcpStack::accept`.
    Accept,
    /// `TcpStack::connect`.
    Connect,
    /// `TcpStack::send` or `send_with`.
    Send,
    /// `TcpStack::recv` or `recv_with`.
    Recv,
    /// `TcpStack::shutdown_write`.
    ShutdownWrite,
    /// `TcpStack::close`.
    Close,
    /// `TcpStack::abort`.
    Abort,
}

/// The result of an application call, kept as a value (no allocation per call) and rendered as
/// its `Debug` text ("Ok(1448)", "Ok(Some(0))", "Err(ConnectionReset)") when printed or serialized.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AppResult {
    /// Bytes queued by send.
    Size(Result<usize, TcpError>),
    /// Bytes read by recv (`Some(0)`: end of stream, `None`: nothing yet).
    OptSize(Result<Option<usize>, TcpError>),
    /// shutdown_write, close, abort.
    Unit(Result<(), TcpError>),
    /// The new socket of listen or connect.
    Socket(Result<SocketId, TcpError>),
    /// The connection accept took from the queue, if any.
    OptSocket(Result<Option<SocketId>, TcpError>),
}

impl std::fmt::Debug for AppResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppResult::Size(r) => write!(f, "{r:?}"),
            AppResult::OptSize(r) => write!(f, "{r:?}"),
            AppResult::Unit(r) => write!(f, "{r:?}"),
            AppResult::Socket(r) => write!(f, "{r:?}"),
            AppResult::OptSocket(r) => write!(f, "{r:?}"),
        }
    }
}

impl std::fmt::Display for AppResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl Serialize for AppResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl From<Result<usize, TcpError>> for AppResult {
    fn from(r: Result<usize, TcpError>) -> Self {
        AppResult::Size(r)
    }
}
impl From<Result<Option<usize>, TcpError>> for AppResult {
    fn from(r: Result<Option<usize>, TcpError>) -> Self {
        AppResult::OptSize(r)
    }
}
impl From<Result<(), TcpError>> for AppResult {
    fn from(r: Result<(), TcpError>) -> Self {
        AppResult::Unit(r)
    }
}
impl From<Result<SocketId, TcpError>> for AppResult {
    fn from(r: Result<SocketId, TcpError>) -> Self {
        AppResult::Socket(r)
    }
}
impl From<Result<Option<SocketId>, TcpError>> for AppResult {
    fn from(r: Result<Option<SocketId>, TcpError>) -> Self {
        AppResult::OptSocket(r)
    }
}
