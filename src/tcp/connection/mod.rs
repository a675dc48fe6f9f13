//! One connection's state machine: segment arrival (RFC 9293 section 3.10.7), timers (RFC 6298,
//! persist, delayed ACK, TIME-WAIT, keepalive) and output (data, FIN, ACKs, probes, recovery).
//!
//! The connection never sends directly: input handlers set flags and timers, and `poll_transmit`
//! decides what to put on the wire. Segments that must go out although the connection is gone
//! (RSTs) are pushed to the stack's outbox.

use super::congestion::{AckSample, CongestionControl, initial_window, new_controller};
use super::event::{RetransmitReason, SegmentInfo, TimerKind};
use super::recovery::prr::Prr;
use super::recovery::rack::{Probe, Rack};
use super::recovery::sent::SentMap;
use super::recovery::undo::Undo;
use super::recv::RecvBuffer;
use super::rtt::RttEstimator;
use super::send::Scoreboard;
use super::send_buffer::SendBuffer;
use super::seq::Seq;
use super::{SharedContent, SocketId, TcpConfig, TcpError, TcpEvent, TcpEventKind, TcpState};
use crate::sim::{Duration, Instant};
use crate::wire::{TcpFlags, TcpOptions, TcpRepr};
use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::task::Waker;

/// Duplicate ACK threshold (RFC 5681 section 3.2, RFC 6675 DupThresh).
use super::recovery::rack::DUPTHRESH;
/// Keepalive: probes before giving up, and the maximum interval between probes (Linux defaults).
const KEEPALIVE_PROBES: u32 = 9;
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(75);
/// Minimum interval between ACKs answering dropped segments without data.
const OOW_ACK_INTERVAL: Duration = Duration::from_millis(500);
/// Shortest delayed-ACK timeout.
const DELACK_MIN: Duration = Duration::from_millis(40);
/// Default MSS when the peer sends no MSS option (RFC 9293 3.7.1).
const DEFAULT_MSS: u16 = 536;

/// A segment owned by the stack's outbox (RSTs never carry payload, so 'static fits).
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub socket: SocketId,
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    pub repr: TcpRepr<'static>,
}

/// What a connection call may need from its surroundings.
pub(crate) struct Ctx<'a> {
    pub events: &'a mut super::EventLog,
    pub outbox: &'a mut Vec<Outgoing>,
}

/// The reply RST for an unacceptable ACK in the SYN states and for closed ports
/// (RFC 9293 3.10.7.1 / 3.10.7.3): `<SEQ=SEG.ACK><CTL=RST>` if the segment has ACK, else
/// `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
pub(crate) fn reset_for(seg: &TcpRepr<'_>) -> TcpRepr<'static> {
    let mut r = TcpRepr {
        src_port: seg.dst_port,
        dst_port: seg.src_port,
        seq: 0,
        ack: 0,
        flags: TcpFlags::RST,
        window: 0,
        urgent: 0,
        options: TcpOptions::default(),
        payload: &[],
    };
    if seg.flags.ack() {
        r.seq = seg.ack;
    } else {
        r.ack = seg.seq.wrapping_add(seg.segment_len() as u32);
        r.flags = TcpFlags::RST | TcpFlags::ACK;
    }
    r
}

pub(crate) struct Connection {
    pub id: SocketId,
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    /// Shared with the listener or the stack's defaults (one allocation, not one per connection).
    pub cfg: Arc<TcpConfig>,
    pub state: TcpState,
    /// The listener of a passive open.
    pub listener: Option<SocketId>,
    /// Created by a passive open (a SYN to a listener) rather than connect().
    pub passive: bool,
    /// Freed as soon as it reaches CLOSED: the application closed it, or never accepted it.
    pub orphan: bool,
    /// The application closed the socket (nobody will read).
    pub app_closed: bool,
    /// Reached ESTABLISHED at some point.
    established_once: bool,
    /// Put in the listener's accept queue already.
    pub queued_for_accept: bool,
    pub error: Option<TcpError>,
    pub waker: Option<Waker>,
    /// A writer found the send buffer full since the last wake for freed space (Linux's
    /// `SOCK_NOSPACE`): only then do ACKs that free space wake the socket's task. A task that has
    /// queued everything and now waits for something else (the peer's FIN) is not woken by every
    /// ACK (Linux's `tcp_check_space` calls `tcp_new_space` only with `SOCK_NOSPACE` set). A `Cell`
    /// because asking how much space there is (`send_space`, like `poll` in Linux) sets it too.
    nospace: Cell<bool>,
    /// Listed in the stack's set of connections that may have something to send.
    pub in_dirty: bool,
    /// The deadline under which the stack's timer index holds this connection.
    pub indexed_deadline: Option<Instant>,

    // ---- send sequence space (RFC 9293 3.3.1) ----
    iss: Seq,
    snd_una: Seq,
    /// Next sequence number to send new (or go-back-N) data at.
    snd_nxt: Seq,
    /// Highest sequence number sent + 1 (snd_nxt may be rewound by an RTO).
    snd_max: Seq,
    snd_wnd: u32,
    max_snd_wnd: u32,
    snd_wl1: Seq,
    snd_wl2: Seq,
    syn_acked: bool,
    sbuf: SendBuffer,
    /// The application shut the write side: a FIN follows the data.
    fin_queued: bool,
    /// Sequence number of our FIN, once sent.
    fin_seq: Option<Seq>,

    // ---- options ----
    our_wscale: u8,
    snd_wscale: u8,
    rcv_wscale: u8,
    ws_ok: bool,
    sack_ok: bool,
    ts_ok: bool,
    ts_recent: u32,
    last_ack_sent: Seq,
    /// min(our MSS, peer's MSS): the MSS of RFC 9293 3.7.1 (without options).
    send_mss: u32,

    // ---- receive sequence space ----
    irs: Seq,
    rcv_nxt: Seq,
    /// The right edge of the window we advertised (never moves left, RFC 9293 3.8.6.2.2).
    rcv_adv: Seq,
    rbuf: RecvBuffer,
    /// Sequence number of the peer's FIN once seen (it may arrive before the data preceding it).
    rcv_fin: Option<Seq>,
    /// The peer's FIN was consumed: end of stream.
    fin_rcvd: bool,

    // ---- output requests ----
    ack_pending: bool,
    delack_segs: u32,
    /// SACK compression (Linux's `__tcp_ack_snd_check`): the RCV.NXT the duplicate-ACK count is
    /// for, that count (the first three go at once), and the ACKs held back since the last one sent.
    comp_rcv_nxt: Seq,
    comp_dupacks: u8,
    compressed_acks: u32,
    /// The options of an ACK that reports the SACK blocks as they stood before an out-of-order
    /// segment pushed a held-back block out of the report (`Connection::flush_compressed_sack`).
    flush_ack: Option<TcpOptions>,
    /// Current delayed-ACK timeout, adapted between `ato_min` and `ato_max`.
    ato: Duration,
    /// Send (or resend) our SYN / SYN-ACK.
    syn_pending: bool,
    syn_retransmit: bool,
    /// The pending SYN-ACK answers a duplicate SYN (counted as `SynReply`, not as an RTO).
    syn_reply: bool,
    /// What our last SYN segment was: `Some(false)` a SYN, `Some(true)` a SYN-ACK.
    syn_sent_as: Option<bool>,
    /// Send a zero-window probe.
    probe_pending: bool,
    /// A zero-window probe byte is beyond everything else sent (SND.MAX = SND.UNA + 1 because of it).
    probe_outstanding: bool,
    keepalive_pending: bool,
    /// NewReno: retransmit the first unacknowledged segment (RFC 6582 / 5681 fast retransmit).
    rexmit_una_pending: bool,

    // ---- timers ----
    /// Deadlines by `TimerKind::index`; `Instant::MAX` when not armed (8 bytes each, not 16).
    timers: [Instant; TimerKind::ALL.len()],
    /// Consecutive expirations of the retransmission timer (reset by an ACK of new data).
    retries: u32,
    persist_backoff: u32,
    /// Zero-window probes sent since the last ACK.
    unanswered_probes: u32,
    keepalive_probes: u32,
    last_rx: Instant,
    /// When we last answered a dropped segment without data (rate limit).
    last_oow_ack: Option<Instant>,
    /// When we last sent a segment occupying sequence space.
    last_send: Option<Instant>,

    // ---- RTT and congestion ----
    rtt: RttEstimator,
    /// (sequence number, send time) of the segment being timed (Karn: never a retransmitted one).
    rtt_timing: Option<(Seq, Instant)>,
    cc: Box<dyn CongestionControl>,
    dupacks: u32,
    in_recovery: bool,
    /// RFC 6582 "recover": snd_max when recovery (or an RTO) started.
    recover: Seq,
    /// RFC 6675 HighRxt (exclusive): everything below was retransmitted in this recovery.
    high_rxt: Seq,
    /// RFC 6675 RescueRxt: the recovery point when the last rescue retransmission (NextSeg rule 4)
    /// was sent; at most one per recovery episode.
    rescue_rxt: Option<Seq>,
    scoreboard: Scoreboard,

    // ---- modern recovery (`recovery.rs`) ----
    /// One record per segment in flight (with SACK only): RACK's send times, loss marks.
    sent: SentMap,
    rack: Rack,
    /// The tail loss probe in flight (RFC 8985 7.4).
    tlp: Option<Probe>,
    /// The probe timer fired: send a probe with the next transmission.
    tlp_pending: bool,
    /// A D-SACK reported the probe's retransmission (original and probe both arrived).
    tlp_dsacked: bool,
    /// The last window reduction, while it may still be undone.
    undo: Option<Undo>,
    /// The current episode's reduction was undone.
    undone: bool,
    /// PRR state during SACK recovery (RFC 6937).
    prr: Option<Prr>,
    /// Transmit time and RTT of the newest never-retransmitted segment the ACK being processed
    /// delivered (for `CongestionControl::pkts_acked`).
    newest_delivered: Option<(Instant, Duration)>,
    /// D-SACK block to put first in the next ACK (RFC 2883).
    dsack_pending: Option<(Seq, Seq)>,
    /// Retransmissions in the current recovery episode (the first is the fast retransmit).
    episode_rexmits: u32,
    /// F-RTO (RFC 5682) in progress after a timeout.
    frto: Option<Frto>,
    /// Bytes of new data F-RTO may send beyond cwnd (step 2b: two new segments).
    frto_room: u32,
}

/// Where F-RTO (RFC 5682 section 3, the SACK-enhanced variant) stands after a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frto {
    /// The first unacknowledged segment was retransmitted; waiting for the first ACK (step 2).
    FirstAck {
        /// SND.MAX when the timer expired ("recover").
        recover: Seq,
    },
    /// Two new segments went out; the next ACK decides (step 3).
    SecondAck,
}

impl Connection {
    pub fn new(
        id: SocketId,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        cfg: Arc<TcpConfig>,
        iss: u32,
        now: Instant,
    ) -> Self {
        let mut our_wscale = 0u8;
        while our_wscale < 14 && (cfg.recv_buffer >> our_wscale) > 65535 {
            our_wscale += 1;
        }
        let iss = Seq(iss);
        let mss = u32::from(cfg.mss.max(64));
        Connection {
            id,
            local,
            remote,
            state: TcpState::Closed,
            listener: None,
            passive: false,
            orphan: false,
            app_closed: false,
            queued_for_accept: false,
            established_once: false,
            error: None,
            waker: None,
            nospace: Cell::new(false),
            in_dirty: false,
            indexed_deadline: None,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: Seq(0),
            snd_wl2: iss,
            syn_acked: false,
            sbuf: SendBuffer::new(cfg.send_buffer),
            fin_queued: false,
            fin_seq: None,
            our_wscale,
            snd_wscale: 0,
            rcv_wscale: 0,
            ws_ok: false,
            sack_ok: false,
            ts_ok: false,
            ts_recent: 0,
            last_ack_sent: Seq(0),
            send_mss: mss,
            irs: Seq(0),
            rcv_nxt: Seq(0),
            rcv_adv: Seq(0),
            rbuf: RecvBuffer::new(cfg.recv_buffer),
            rcv_fin: None,
            fin_rcvd: false,
            ack_pending: false,
            delack_segs: 0,
            comp_rcv_nxt: Seq(0),
            comp_dupacks: 0,
            compressed_acks: 0,
            flush_ack: None,
            ato: DELACK_MIN.min(cfg.delayed_ack_timeout.min(Duration::from_millis(500))),
            syn_pending: false,
            syn_retransmit: false,
            syn_reply: false,
            syn_sent_as: None,
            probe_pending: false,
            probe_outstanding: false,
            keepalive_pending: false,
            rexmit_una_pending: false,
            timers: [Instant::MAX; TimerKind::ALL.len()],
            retries: 0,
            persist_backoff: 0,
            unanswered_probes: 0,
            keepalive_probes: 0,
            last_rx: now,
            last_send: None,
            last_oow_ack: None,
            rtt: RttEstimator::new(cfg.rto_initial, cfg.rto_min, cfg.rto_max),
            rtt_timing: None,
            cc: new_controller(&cfg, mss),
            dupacks: 0,
            in_recovery: false,
            recover: iss,
            high_rxt: iss,
            rescue_rxt: None,
            scoreboard: Scoreboard::default(),
            sent: SentMap::default(),
            rack: Rack::default(),
            tlp: None,
            tlp_pending: false,
            tlp_dsacked: false,
            undo: None,
            undone: false,
            prr: None,
            newest_delivered: None,
            dsack_pending: None,
            episode_rexmits: 0,
            frto: None,
            frto_room: 0,
            cfg,
        }
    }

    // ------------------------------------------------------------------ helpers

    fn ev(&self, ctx: &mut Ctx<'_>, now: Instant, kind: TcpEventKind) {
        ctx.events.push(TcpEvent {
            time: now,
            socket: self.id,
            local: Some(self.local),
            remote: Some(self.remote),
            kind,
        });
    }

    pub fn set_state(&mut self, ctx: &mut Ctx<'_>, now: Instant, to: TcpState) {
        if self.state == to {
            return;
        }
        let from = self.state;
        self.state = to;
        if to == TcpState::Established {
            self.established_once = true;
        }
        self.ev(ctx, now, TcpEventKind::StateChange { from, to });
        match to {
            TcpState::TimeWait => {
                // RFC 9293 3.10.7.4: TIME-WAIT lasts 2 MSL; nothing else is pending.
                for t in TimerKind::ALL {
                    self.timers[t.index()] = Instant::MAX;
                }
                let d = self.cfg.msl.saturating_mul(2);
                self.set_timer(ctx, now, TimerKind::TimeWait, now + d);
            }
            TcpState::Closed => {
                self.timers = [Instant::MAX; TimerKind::ALL.len()];
                self.ack_pending = false;
                self.syn_pending = false;
                self.probe_pending = false;
                self.rexmit_una_pending = false;
                self.keepalive_pending = false;
            }
            TcpState::FinWait2 => self.arm_fin_wait_2(ctx, now),
            _ => {}
        }
        self.wake();
    }

    fn arm_fin_wait_2(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        // An orphaned FIN-WAIT-2 would wait for the peer's FIN forever: give up after 2*MSL
        // (Linux's tcp_fin_timeout plays this role).
        if self.app_closed && self.state == TcpState::FinWait2 && self.timer(TimerKind::FinWait2).is_none() {
            let d = self.cfg.msl.saturating_mul(2);
            self.set_timer(ctx, now, TimerKind::FinWait2, now + d);
        }
    }

    /// The application closed the socket: nobody reads any more.
    pub fn on_orphaned(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        self.orphan = true;
        self.app_closed = true;
        self.rbuf.discard_ready();
        self.arm_fin_wait_2(ctx, now);
    }

    /// Delayed-ACK timeout bounds: 40 ms (Linux's TCP_ATO_MIN) up to `delayed_ack_timeout`, which
    /// is itself capped at RFC 1122's 500 ms.
    fn ato_max(&self) -> Duration {
        self.cfg.delayed_ack_timeout.min(Duration::from_millis(500))
    }
    fn ato_min(&self) -> Duration {
        DELACK_MIN.min(self.ato_max())
    }

    pub fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    fn timer(&self, t: TimerKind) -> Option<Instant> {
        let at = self.timers[t.index()];
        (at != Instant::MAX).then_some(at)
    }
    fn set_timer(&mut self, ctx: &mut Ctx<'_>, now: Instant, t: TimerKind, at: Instant) {
        self.timers[t.index()] = at;
        self.ev(ctx, now, TcpEventKind::TimerSet { timer: t, deadline: at });
    }
    fn cancel_timer(&mut self, t: TimerKind) {
        self.timers[t.index()] = Instant::MAX;
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let at = *self.timers.iter().min().unwrap_or(&Instant::MAX);
        (at != Instant::MAX).then_some(at)
    }

    fn is_synchronized(&self) -> bool {
        !matches!(self.state, TcpState::Closed | TcpState::Listen | TcpState::SynSent | TcpState::SynReceived)
    }

    /// The largest payload of one segment: the MSS less the fixed options (RFC 9293 3.7.1: the MSS
    /// option counts neither IP nor TCP options).
    ///
    /// Whatever the configured and announced MSS (both may be 65,535), a segment must fit in one
    /// IPv4 datagram of at most 65,535 bytes (RFC 9293 3.7.1, RFC 6691): the payload is capped so
    /// that a 20-byte IP header and the largest TCP header (60 bytes, options included) still fit.
    fn eff_mss(&self) -> u32 {
        const MAX_PAYLOAD: u32 = 65_535 - 20 - 60;
        let ts = if self.ts_ok { 12 } else { 0 };
        (self.send_mss - ts).clamp(1, MAX_PAYLOAD)
    }

    fn data_end(&self) -> Seq {
        if let Some(f) = self.fin_seq {
            return f;
        }
        let base = if self.syn_acked { self.snd_una } else { self.iss + 1u32 };
        base + self.sbuf.len()
    }
    fn fin_sent(&self) -> bool {
        self.fin_seq.is_some()
    }

    fn tsval(now: Instant) -> u32 {
        // RFC 7323 5.4: a millisecond clock; +1 so that TSval is never 0 at the start of a run.
        (now.as_nanos() / 1_000_000) as u32 + 1
    }

    fn emit_cc(&self, ctx: &mut Ctx<'_>, now: Instant, reason: &'static str) {
        self.ev(ctx, now, TcpEventKind::Congestion { cwnd: self.cc.cwnd(), ssthresh: self.cc.ssthresh(), reason });
    }

    pub fn readable(&self) -> bool {
        self.rbuf.readable() > 0 || self.fin_rcvd || self.error.is_some()
    }
    pub fn writable(&self) -> bool {
        self.sbuf.free() > 0
    }
    /// SND.UNA, SND.NXT and the highest sequence number sent + 1 (RFC 9293 3.3.1), for introspection.
    pub fn send_sequence(&self) -> (u32, u32, u32) {
        (self.snd_una.0, self.snd_nxt.0, self.snd_max.0)
    }
    pub fn send_queue_len(&self) -> usize {
        self.sbuf.len()
    }
    pub fn cwnd(&self) -> u32 {
        self.cc.cwnd()
    }
    pub fn ssthresh(&self) -> u32 {
        self.cc.ssthresh()
    }
    pub fn rto(&self) -> Duration {
        self.rtt.rto()
    }
    pub fn srtt(&self) -> Option<Duration> {
        self.rtt.srtt()
    }
    pub fn timer_deadline(&self, t: TimerKind) -> Option<Instant> {
        self.timer(t)
    }
    pub fn in_recovery(&self) -> bool {
        self.in_recovery
    }
    pub fn unread(&self) -> usize {
        self.rbuf.readable()
    }

    // ------------------------------------------------------------------ opening

    /// Active open (RFC 9293 3.10.1): CLOSED -> SYN-SENT.
    pub fn open_active(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        self.syn_pending = true;
        self.set_state(ctx, now, TcpState::SynSent);
    }

    /// Passive open: a SYN arrived at a listener. LISTEN -> SYN-RECEIVED (RFC 9293 3.10.7.2).
    pub fn open_passive(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg: &TcpRepr<'_>) {
        self.passive = true;
        self.state = TcpState::Listen;
        self.ev(ctx, now, TcpEventKind::SegmentReceived(SegmentInfo::of(seg)));
        self.irs = Seq(seg.seq);
        self.rcv_nxt = self.irs + 1u32;
        self.negotiate(&seg.options);
        self.init_rcv_window();
        // The SYN's window is never scaled (RFC 7323 2.2).
        self.snd_wnd = u32::from(seg.window);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = self.irs;
        self.syn_pending = true;
        self.set_state(ctx, now, TcpState::SynReceived);
    }

    fn negotiate(&mut self, o: &TcpOptions) {
        let peer_mss = o.mss.unwrap_or(DEFAULT_MSS).max(64);
        self.send_mss = u32::from(self.cfg.mss.min(peer_mss).max(64));
        if self.cfg.window_scaling
            && let Some(ws) = o.window_scale
        {
            // RFC 7323 2.3: a shift above 14 is used as 14.
            self.snd_wscale = ws.min(14);
            self.rcv_wscale = self.our_wscale;
            self.ws_ok = true;
        } else {
            self.ws_ok = false;
            self.snd_wscale = 0;
            self.rcv_wscale = 0;
        }
        self.sack_ok = self.cfg.sack && o.sack_permitted;
        self.ts_ok = self.cfg.timestamps && o.timestamps.is_some();
        if let Some((tsval, _)) = o.timestamps {
            self.ts_recent = tsval;
        }
        let mss = self.eff_mss();
        self.cc.set_mss(mss);
    }

    /// The window carried by our SYN: unscaled (RFC 7323 2.2).
    fn syn_window(&self) -> u32 {
        (self.rbuf.free() as u32).min(65535)
    }
    fn init_rcv_window(&mut self) {
        self.rcv_adv = self.rcv_nxt + self.syn_window();
    }

    // ------------------------------------------------------------------ application side

    /// send(): queues up to `max` bytes that `fill(offset, dst)` writes straight into the send
    /// buffer (the stack's `send` copies from an application buffer this way).
    pub fn send_with(&mut self, max: usize, fill: &mut dyn FnMut(usize, &mut [u8])) -> Result<usize, TcpError> {
        self.send_space()?;
        let n = self.sbuf.push_with(max, fill);
        self.note_full(n < max);
        Ok(n)
    }

    /// send() of content: queues up to `max` bytes of `content` from its offset `at` as a range
    /// (see `tcp::payload`); the bytes are produced when segments carrying them are sent.
    pub fn send_content(&mut self, content: &SharedContent, at: u64, max: usize) -> Result<usize, TcpError> {
        self.send_space()?;
        let n = self.sbuf.push_content(content, at, max);
        self.note_full(n < max);
        Ok(n)
    }

    /// Remembers that a writer was refused space (it will wait for freed space).
    fn note_full(&self, full: bool) {
        if full {
            self.nospace.set(true);
        }
    }

    /// Whether freed send-buffer space should wake the task now: a writer was refused space and a
    /// useful amount is free (see `nospace`). Clears the mark when it says yes.
    pub(super) fn take_write_space(&self, threshold: usize) -> bool {
        let wake = self.nospace.get() && self.sbuf.free() >= threshold;
        if wake {
            self.nospace.set(false);
        }
        wake
    }

    /// How many bytes `send_with` would take now, or the error it would give.
    pub fn send_space(&self) -> Result<usize, TcpError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.fin_queued {
            return Err(TcpError::Closing);
        }
        match self.state {
            TcpState::SynSent | TcpState::SynReceived | TcpState::Established | TcpState::CloseWait => {
                // No space: the asker will wait for some (an external stack's send asks first).
                let free = self.sbuf.free();
                self.note_full(free == 0);
                Ok(free)
            }
            TcpState::Closed | TcpState::Listen => Err(TcpError::NotConnected),
            _ => Err(TcpError::Closing),
        }
    }

    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, TcpError> {
        self.recv_with(buf.len(), &mut |off, chunk| buf[off..off + chunk.len()].copy_from_slice(chunk))
    }

    /// Like `recv`, but hands up to `max` bytes to `f(offset, chunk)` as slices of the receive
    /// buffer (at most two) instead of copying them into a caller's buffer.
    pub fn recv_with(&mut self, max: usize, f: &mut dyn FnMut(usize, &[u8])) -> Result<Option<usize>, TcpError> {
        if max == 0 {
            // Ok(Some(0)) would read as end of stream.
            return Err(TcpError::InvalidArgument);
        }
        if self.rbuf.readable() > 0 {
            let before = self.advertisable_right();
            let n = self.rbuf.read_with(max, f);
            // RFC 1122 4.2.3.3: send a window update when the window can move right by at least
            // min(RCV.BUFF / 2, MSS), in particular when it reopens after being (nearly) closed.
            let after = self.advertisable_right();
            let cur_wnd = self.rcv_adv.since(self.rcv_nxt);
            let thresh = (self.rbuf.capacity() as u32 / 2).min(self.send_mss);
            if self.is_synchronized()
                && after.since(self.rcv_adv) >= thresh
                && after > before
                && cur_wnd < self.rbuf.capacity() as u32 / 2
            {
                self.ack_pending = true;
            }
            return Ok(Some(n));
        }
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.fin_rcvd {
            return Ok(Some(0));
        }
        match self.state {
            TcpState::Closed if self.syn_acked => Ok(Some(0)),
            TcpState::Closed | TcpState::Listen => Err(TcpError::NotConnected),
            _ => Ok(None),
        }
    }

    /// shutdown(SHUT_WR): RFC 9293 3.10.4 CLOSE for the sending direction.
    pub fn shutdown_write(&mut self, ctx: &mut Ctx<'_>, now: Instant) -> Result<(), TcpError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.fin_queued {
            return Ok(());
        }
        match self.state {
            TcpState::SynSent | TcpState::SynReceived => {
                // Queued: FIN-WAIT-1 is entered once the handshake completes.
                self.fin_queued = true;
                Ok(())
            }
            TcpState::Established => {
                self.fin_queued = true;
                self.set_state(ctx, now, TcpState::FinWait1);
                Ok(())
            }
            TcpState::CloseWait => {
                self.fin_queued = true;
                self.set_state(ctx, now, TcpState::LastAck);
                Ok(())
            }
            TcpState::Closed | TcpState::Listen => Err(TcpError::NotConnected),
            _ => Ok(()),
        }
    }

    /// Sends `<SEQ=SND.MAX><CTL=RST>` (RFC 9293 3.10.5 ABORT) through the outbox.
    pub fn send_reset(&mut self, ctx: &mut Ctx<'_>) {
        let repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq: self.snd_max.0,
            ack: self.rcv_nxt.0,
            flags: TcpFlags::RST | TcpFlags::ACK,
            window: 0,
            urgent: 0,
            options: TcpOptions::default(),
            payload: &[],
        };
        ctx.outbox.push(Outgoing { socket: self.id, local: self.local, remote: self.remote, repr });
    }

    /// Whether ABORT sends a RST in this state (RFC 9293 3.10.5).
    pub fn abort_sends_rst(&self) -> bool {
        matches!(
            self.state,
            TcpState::SynReceived
                | TcpState::Established
                | TcpState::FinWait1
                | TcpState::FinWait2
                | TcpState::CloseWait
        )
    }

    /// Fails the connection: error recorded, CLOSED.
    fn fail(&mut self, ctx: &mut Ctx<'_>, now: Instant, e: TcpError) {
        self.error = Some(e);
        self.ev(ctx, now, TcpEventKind::Error { error: e });
        self.set_state(ctx, now, TcpState::Closed);
    }
}

mod input;
mod output;
mod recovery;
mod timers;
