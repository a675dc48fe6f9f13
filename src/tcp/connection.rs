//! One connection's state machine: segment arrival (RFC 9293 section 3.10.7), timers (RFC 6298,
//! persist, delayed ACK, TIME-WAIT, keepalive) and output (data, FIN, ACKs, probes, recovery).
//!
//! The connection never sends directly: input handlers set flags and timers, and `poll_transmit`
//! decides what to put on the wire. Segments that must go out although the connection is gone
//! (RSTs) are pushed to the stack's outbox.

use super::congestion::{CongestionControl, initial_window, new_controller};
use super::event::{RetransmitReason, SegmentInfo, TimerKind};
use super::recv::RecvBuffer;
use super::rtt::RttEstimator;
use super::send::{Scoreboard, SendBuffer};
use super::seq::Seq;
use super::{SocketId, TcpConfig, TcpError, TcpEvent, TcpEventKind, TcpState};
use crate::sim::{Duration, Instant};
use crate::wire::{TcpFlags, TcpOptions, TcpRepr};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::task::Waker;

/// Duplicate ACK threshold (RFC 5681 section 3.2, RFC 6675 DupThresh).
const DUPTHRESH: u32 = 3;
/// Keepalive: probes before giving up, and the maximum interval between probes (Linux defaults).
const KEEPALIVE_PROBES: u32 = 9;
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(75);
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
    pub events: &'a mut Vec<TcpEvent>,
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
    pub cfg: TcpConfig,
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
    /// Send (or resend) our SYN / SYN-ACK.
    syn_pending: bool,
    syn_retransmit: bool,
    /// Send a zero-window probe.
    probe_pending: bool,
    keepalive_pending: bool,
    /// NewReno: retransmit the first unacknowledged segment (RFC 6582 / 5681 fast retransmit).
    rexmit_una_pending: bool,

    // ---- timers ----
    timers: [Option<Instant>; 6],
    /// Consecutive expirations of the retransmission timer (reset by an ACK of new data).
    retries: u32,
    persist_backoff: u32,
    /// Zero-window probes sent since the last ACK.
    unanswered_probes: u32,
    keepalive_probes: u32,
    last_rx: Instant,
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
    scoreboard: Scoreboard,
}

impl Connection {
    pub fn new(
        id: SocketId,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        cfg: TcpConfig,
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
            syn_pending: false,
            syn_retransmit: false,
            probe_pending: false,
            keepalive_pending: false,
            rexmit_una_pending: false,
            timers: [None; 6],
            retries: 0,
            persist_backoff: 0,
            unanswered_probes: 0,
            keepalive_probes: 0,
            last_rx: now,
            last_send: None,
            rtt: RttEstimator::new(cfg.rto_initial, cfg.rto_min, cfg.rto_max),
            rtt_timing: None,
            cc: new_controller(cfg.congestion, mss, cfg.initial_window_segments),
            dupacks: 0,
            in_recovery: false,
            recover: iss,
            high_rxt: iss,
            scoreboard: Scoreboard::default(),
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
                    self.timers[t.index()] = None;
                }
                let d = self.cfg.msl.saturating_mul(2);
                self.set_timer(ctx, now, TimerKind::TimeWait, now + d);
            }
            TcpState::Closed => {
                self.timers = [None; 6];
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
        if self.app_closed
            && self.state == TcpState::FinWait2
            && self.timer(TimerKind::FinWait2).is_none()
        {
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

    pub fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    fn timer(&self, t: TimerKind) -> Option<Instant> {
        self.timers[t.index()]
    }
    fn set_timer(&mut self, ctx: &mut Ctx<'_>, now: Instant, t: TimerKind, at: Instant) {
        self.timers[t.index()] = Some(at);
        self.ev(
            ctx,
            now,
            TcpEventKind::TimerSet {
                timer: t,
                deadline: at,
            },
        );
    }
    fn cancel_timer(&mut self, t: TimerKind) {
        self.timers[t.index()] = None;
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.iter().flatten().min().copied()
    }

    fn is_synchronized(&self) -> bool {
        !matches!(
            self.state,
            TcpState::Closed | TcpState::Listen | TcpState::SynSent | TcpState::SynReceived
        )
    }

    /// The largest payload of one segment: the MSS less the fixed options (RFC 9293 3.7.1: the MSS
    /// option counts neither IP nor TCP options).
    fn eff_mss(&self) -> u32 {
        let ts = if self.ts_ok { 12 } else { 0 };
        (self.send_mss - ts).max(1)
    }

    fn data_end(&self) -> Seq {
        if let Some(f) = self.fin_seq {
            return f;
        }
        let base = if self.syn_acked {
            self.snd_una
        } else {
            self.iss + 1u32
        };
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
        self.ev(
            ctx,
            now,
            TcpEventKind::Congestion {
                cwnd: self.cc.cwnd(),
                ssthresh: self.cc.ssthresh(),
                reason,
            },
        );
    }

    pub fn readable(&self) -> bool {
        self.rbuf.readable() > 0 || self.fin_rcvd || self.error.is_some()
    }
    pub fn writable(&self) -> bool {
        self.sbuf.free() > 0
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
        self.ev(
            ctx,
            now,
            TcpEventKind::SegmentReceived(SegmentInfo::of(seg)),
        );
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

    pub fn send(&mut self, data: &[u8]) -> Result<usize, TcpError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.fin_queued {
            return Err(TcpError::Closing);
        }
        match self.state {
            TcpState::SynSent
            | TcpState::SynReceived
            | TcpState::Established
            | TcpState::CloseWait => Ok(self.sbuf.push(data)),
            TcpState::Closed | TcpState::Listen => Err(TcpError::NotConnected),
            _ => Err(TcpError::Closing),
        }
    }

    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, TcpError> {
        if buf.is_empty() {
            // Ok(Some(0)) would read as end of stream.
            return Err(TcpError::InvalidArgument);
        }
        if self.rbuf.readable() > 0 {
            let before = self.advertisable_right();
            let n = self.rbuf.read(buf);
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
        ctx.outbox.push(Outgoing {
            socket: self.id,
            local: self.local,
            remote: self.remote,
            repr,
        });
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

    // ------------------------------------------------------------------ segment arrival

    pub fn on_segment(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg: &TcpRepr<'_>) {
        self.ev(
            ctx,
            now,
            TcpEventKind::SegmentReceived(SegmentInfo::of(seg)),
        );
        self.last_rx = now;
        self.keepalive_probes = 0;
        match self.state {
            TcpState::Closed | TcpState::Listen => return,
            TcpState::SynSent => {
                self.on_segment_syn_sent(ctx, now, seg);
                self.rearm_keepalive();
                return;
            }
            _ => {}
        }
        self.on_segment_sync(ctx, now, seg);
        self.rearm_keepalive();
    }

    /// RFC 9293 3.10.7.3, SYN-SENT.
    fn on_segment_syn_sent(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg: &TcpRepr<'_>) {
        let f = seg.flags;
        let ack = Seq(seg.ack);
        // First: the ACK bit.
        if f.ack() && (ack <= self.iss || ack > self.snd_max) {
            if !f.rst() {
                ctx.outbox.push(Outgoing {
                    socket: self.id,
                    local: self.local,
                    remote: self.remote,
                    repr: reset_for(seg),
                });
            }
            self.ev(
                ctx,
                now,
                TcpEventKind::Dropped {
                    reason: "bad_ack_in_syn_sent",
                },
            );
            return;
        }
        // Second: RST, acceptable only with an acceptable ACK (RFC 5961 3.2 leaves SYN-SENT as is).
        if f.rst() {
            if f.ack() {
                self.fail(ctx, now, TcpError::ConnectionRefused);
            } else {
                self.ev(
                    ctx,
                    now,
                    TcpEventKind::Dropped {
                        reason: "rst_without_ack_in_syn_sent",
                    },
                );
            }
            return;
        }
        if !f.syn() {
            self.ev(
                ctx,
                now,
                TcpEventKind::Dropped {
                    reason: "no_syn_in_syn_sent",
                },
            );
            return;
        }
        // Fourth: SYN.
        self.irs = Seq(seg.seq);
        self.rcv_nxt = self.irs + 1u32;
        self.negotiate(&seg.options);
        self.init_rcv_window();
        self.snd_wnd = u32::from(seg.window);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = Seq(seg.seq);
        self.snd_wl2 = ack;
        if f.ack() {
            self.snd_una = ack;
            self.syn_acked = true;
            if self.snd_nxt < ack {
                self.snd_nxt = ack;
            }
            self.take_rtt_sample(ctx, now, seg);
            self.retries = 0;
            self.cancel_timer(TimerKind::Retransmit);
            self.ack_pending = true;
            self.syn_pending = false;
            self.set_state(ctx, now, TcpState::Established);
            if self.fin_queued {
                self.set_state(ctx, now, TcpState::FinWait1);
            }
        } else {
            // Simultaneous open: SYN-SENT -> SYN-RECEIVED, send SYN,ACK with our ISS.
            self.syn_pending = true;
            self.set_state(ctx, now, TcpState::SynReceived);
        }
    }

    /// RFC 9293 3.10.7.4: SYN-RECEIVED and the synchronized states.
    fn on_segment_sync(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg_in: &TcpRepr<'_>) {
        let mut seg = *seg_in;
        let f = seg.flags;
        if self.state == TcpState::SynReceived && f.syn() && Seq(seg.seq) == self.irs {
            if !f.ack() {
                // Retransmitted SYN: our SYN-ACK was lost; send it again.
                self.syn_pending = true;
                self.ev(
                    ctx,
                    now,
                    TcpEventKind::Dropped {
                        reason: "retransmitted_syn",
                    },
                );
                return;
            }
            // Simultaneous open: the peer's SYN,ACK repeats the SYN we already have; only its ACK
            // is news (RFC 9293 figure 8, line 6).
            seg.flags = TcpFlags(seg.flags.0 & !TcpFlags::SYN.0);
            seg.seq = seg.seq.wrapping_add(1);
        }
        let f = seg.flags;
        let seq = Seq(seg.seq);
        let seg_len = seg.segment_len() as u32;
        let rcv_wnd = self.rcv_adv.since(self.rcv_nxt);

        // RFC 7323 5.3 R1 (PAWS): a segment whose TSval is older than TS.Recent is an old
        // duplicate: ACK it (unless RST) and drop it.
        if self.ts_ok
            && let Some((tsval, _)) = seg.options.timestamps
            && (tsval.wrapping_sub(self.ts_recent) as i32) < 0
        {
            if !f.rst() {
                self.ack_pending = true;
            }
            self.ev(ctx, now, TcpEventKind::Dropped { reason: "paws" });
            return;
        }

        // First: sequence number acceptability, the four cases.
        let mut acceptable = if seg_len == 0 {
            if rcv_wnd == 0 {
                seq == self.rcv_nxt
            } else {
                seq.in_range(self.rcv_nxt, self.rcv_nxt + rcv_wnd)
            }
        } else if rcv_wnd == 0 {
            false
        } else {
            seq.in_range(self.rcv_nxt, self.rcv_nxt + rcv_wnd)
                || (seq + (seg_len - 1)).in_range(self.rcv_nxt, self.rcv_nxt + rcv_wnd)
        };
        let mut zero_window_text = false;
        if !acceptable && rcv_wnd == 0 && seq == self.rcv_nxt && !f.rst() {
            // "special allowance should be made to accept valid ACKs, URGs, and RSTs": process the
            // ACK of a zero-window probe, drop its text.
            acceptable = true;
            zero_window_text = true;
        }
        if !acceptable {
            if !f.rst() {
                if self.state == TcpState::TimeWait && f.fin() && seq + seg_len == self.rcv_nxt {
                    // A retransmitted FIN in TIME-WAIT: ACK it and restart the 2 MSL timeout.
                    let d = self.cfg.msl.saturating_mul(2);
                    self.set_timer(ctx, now, TimerKind::TimeWait, now + d);
                }
                self.ack_pending = true;
            }
            self.ev(
                ctx,
                now,
                TcpEventKind::Dropped {
                    reason: "unacceptable_seq",
                },
            );
            return;
        }

        // Second: RST (RFC 5961 3.2).
        if f.rst() {
            if self.state == TcpState::TimeWait {
                // RFC 1337 section 3 (TIME-WAIT assassination): ignore RSTs in TIME-WAIT so that
                // the 2 MSL quiet time always runs out. RFC 9293 would close; Linux's
                // net.ipv4.tcp_rfc1337=1 behaves like this.
                self.ev(
                    ctx,
                    now,
                    TcpEventKind::Dropped {
                        reason: "rst_in_time_wait",
                    },
                );
                return;
            }
            if seq == self.rcv_nxt {
                self.on_reset(ctx, now);
            } else {
                self.ack_pending = true;
                self.ev(
                    ctx,
                    now,
                    TcpEventKind::ChallengeAck {
                        reason: "rst_not_exact",
                    },
                );
            }
            return;
        }

        // Fourth: SYN (RFC 5961 4.2: challenge ACK in every synchronized state).
        if f.syn() {
            if self.state == TcpState::SynReceived && self.passive {
                // RFC 9293: a passive SYN-RECEIVED connection returns to LISTEN.
                self.ev(
                    ctx,
                    now,
                    TcpEventKind::Dropped {
                        reason: "syn_in_syn_received",
                    },
                );
                self.set_state(ctx, now, TcpState::Closed);
                return;
            }
            self.ack_pending = true;
            self.ev(
                ctx,
                now,
                TcpEventKind::ChallengeAck {
                    reason: "syn_in_synchronized_state",
                },
            );
            return;
        }

        // Fifth: ACK.
        if !f.ack() {
            self.ev(ctx, now, TcpEventKind::Dropped { reason: "no_ack" });
            return;
        }
        let ack = Seq(seg.ack);
        if self.state == TcpState::SynReceived {
            if ack > self.snd_una && ack <= self.snd_max {
                self.snd_wnd = u32::from(seg.window) << self.snd_wscale;
                self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
                self.snd_wl1 = seq;
                self.snd_wl2 = ack;
                self.syn_pending = false;
                self.set_state(ctx, now, TcpState::Established);
                if self.fin_queued {
                    self.set_state(ctx, now, TcpState::FinWait1);
                }
            } else {
                ctx.outbox.push(Outgoing {
                    socket: self.id,
                    local: self.local,
                    remote: self.remote,
                    repr: reset_for(&seg),
                });
                self.ev(
                    ctx,
                    now,
                    TcpEventKind::Dropped {
                        reason: "bad_ack_in_syn_received",
                    },
                );
                return;
            }
        }
        if ack > self.snd_max {
            // Acknowledges something not yet sent: ACK and drop (RFC 9293; RFC 5961 5.2).
            self.ack_pending = true;
            self.ev(
                ctx,
                now,
                TcpEventKind::Dropped {
                    reason: "ack_of_unsent_data",
                },
            );
            return;
        }
        if ack < self.snd_una - self.max_snd_wnd.max(1) {
            // RFC 5961 5.2: older than SND.UNA - MAX.SND.WND: challenge ACK, drop.
            self.ack_pending = true;
            self.ev(
                ctx,
                now,
                TcpEventKind::ChallengeAck {
                    reason: "ack_too_old",
                },
            );
            return;
        }
        // RFC 7323 4.3: TS.Recent update.
        if self.ts_ok
            && let Some((tsval, _)) = seg.options.timestamps
            && seq <= self.last_ack_sent
        {
            self.ts_recent = tsval;
        }
        let fin_was_acked = self.fin_acked_now();
        self.process_ack(ctx, now, &seg);
        if !fin_was_acked && self.fin_acked_now() {
            match self.state {
                TcpState::FinWait1 => self.set_state(ctx, now, TcpState::FinWait2),
                TcpState::Closing => self.set_state(ctx, now, TcpState::TimeWait),
                TcpState::LastAck => {
                    self.set_state(ctx, now, TcpState::Closed);
                    return;
                }
                _ => {}
            }
        }

        // Seventh: segment text.
        let payload: &[u8] = if zero_window_text { &[] } else { seg.payload };
        if !payload.is_empty() {
            match self.state {
                TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2 => {
                    self.receive_text(ctx, now, seq, payload);
                }
                _ => {
                    // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer already sent FIN.
                    self.ev(
                        ctx,
                        now,
                        TcpEventKind::Dropped {
                            reason: "text_after_fin",
                        },
                    );
                }
            }
        } else if zero_window_text && !seg.payload.is_empty() {
            self.ack_pending = true;
        }

        // Eighth: FIN.
        if f.fin() && !zero_window_text {
            let fin_seq = seq + seg.payload.len();
            if fin_seq < self.rcv_adv || fin_seq == self.rcv_nxt {
                self.rcv_fin = Some(fin_seq);
            }
        }
        self.check_fin(ctx, now);
    }

    fn fin_acked_now(&self) -> bool {
        self.fin_seq.is_some_and(|f| self.snd_una > f)
    }

    fn check_fin(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        if self.fin_rcvd || self.rcv_fin != Some(self.rcv_nxt) {
            return;
        }
        self.fin_rcvd = true;
        self.rcv_nxt += 1u32;
        self.rcv_adv = self.rcv_adv.max(self.rcv_nxt);
        self.ack_pending = true;
        match self.state {
            TcpState::SynReceived | TcpState::Established => {
                self.set_state(ctx, now, TcpState::CloseWait)
            }
            TcpState::FinWait1 => {
                if self.fin_acked_now() {
                    self.set_state(ctx, now, TcpState::TimeWait);
                } else {
                    // Simultaneous close.
                    self.set_state(ctx, now, TcpState::Closing);
                }
            }
            TcpState::FinWait2 => self.set_state(ctx, now, TcpState::TimeWait),
            _ => {}
        }
        self.wake();
    }

    fn on_reset(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        match self.state {
            TcpState::SynReceived if self.passive => {
                // Back to LISTEN: the embryonic connection just disappears.
                self.set_state(ctx, now, TcpState::Closed);
            }
            TcpState::SynReceived => self.fail(ctx, now, TcpError::ConnectionRefused),
            TcpState::Established
            | TcpState::FinWait1
            | TcpState::FinWait2
            | TcpState::CloseWait => self.fail(ctx, now, TcpError::ConnectionReset),
            _ => self.set_state(ctx, now, TcpState::Closed),
        }
    }

    fn receive_text(&mut self, ctx: &mut Ctx<'_>, now: Instant, seq: Seq, payload: &[u8]) {
        let out = self
            .rbuf
            .insert(&mut self.rcv_nxt, seq, payload, self.rcv_adv);
        if self.app_closed {
            // Nobody will read it.
            self.rbuf.discard_ready();
        }
        if out.out_of_order || out.filled_hole || out.duplicate || self.rbuf.has_ooo() {
            // RFC 5681 4.2: immediate ACK for out-of-order segments and when a gap is filled.
            self.ack_pending = true;
        } else if out.advanced > 0 {
            if !self.cfg.delayed_ack {
                self.ack_pending = true;
            } else {
                // RFC 1122 4.2.3.2 / RFC 5681 4.2: at least every second full-sized segment.
                self.delack_segs += 1;
                if self.delack_segs >= 2 {
                    self.ack_pending = true;
                } else if self.timer(TimerKind::DelayedAck).is_none() {
                    let d = self.cfg.delayed_ack_timeout.min(Duration::from_millis(500));
                    self.set_timer(ctx, now, TimerKind::DelayedAck, now + d);
                }
            }
        }
        if out.advanced > 0 {
            self.wake();
        }
    }

    fn take_rtt_sample(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg: &TcpRepr<'_>) {
        let mut sample = None;
        if self.ts_ok
            && let Some((_, ecr)) = seg.options.timestamps
            && ecr != 0
        {
            let ms = Self::tsval(now).wrapping_sub(ecr);
            if ms < 0x8000_0000 {
                sample = Some(Duration::from_millis(u64::from(ms)));
            }
        }
        if let Some((s, t)) = self.rtt_timing
            && Seq(seg.ack) > s
        {
            if sample.is_none() {
                sample = Some(now - t);
            }
            self.rtt_timing = None;
        }
        if let Some(r) = sample {
            self.rtt.sample(r);
            self.ev(
                ctx,
                now,
                TcpEventKind::Rtt {
                    sample: r,
                    srtt: self.rtt.srtt().unwrap_or(r),
                    rttvar: self.rtt.rttvar(),
                    rto: self.rtt.rto(),
                },
            );
        }
    }

    /// The handshake completed at some point.
    pub fn was_established(&self) -> bool {
        self.established_once
    }

    pub fn rcv_nxt(&self) -> u32 {
        self.rcv_nxt.0
    }

    fn flight(&self) -> u32 {
        self.snd_max.since(self.snd_una)
    }

    /// RFC 6675 pipe: unSACKed octets not deemed lost, plus retransmitted ones.
    fn pipe(&self) -> u32 {
        let lost_b = self
            .scoreboard
            .lost_boundary(self.snd_una, DUPTHRESH, self.eff_mss())
            .min(self.snd_max);
        let total = self.scoreboard.unsacked_in(self.snd_una, self.snd_max);
        let lost = self.scoreboard.unsacked_in(self.snd_una, lost_b);
        let rexmitted = self
            .scoreboard
            .unsacked_in(self.snd_una, self.high_rxt.min(self.snd_max));
        total - lost + rexmitted
    }

    fn process_ack(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg: &TcpRepr<'_>) {
        self.unanswered_probes = 0;
        let ack = Seq(seg.ack);
        let seq = Seq(seg.seq);
        let mss = self.eff_mss();
        if self.sack_ok {
            for (l, r) in seg.options.sack_blocks.iter().flatten() {
                self.scoreboard
                    .add(Seq(*l), Seq(*r), self.snd_una, self.snd_max);
            }
        }
        let wnd = u32::from(seg.window) << self.snd_wscale;
        if ack > self.snd_una {
            let flight_before = self.flight();
            let mut acked = ack.since(self.snd_una);
            let total_acked = acked;
            if !self.syn_acked {
                self.syn_acked = true;
                acked -= 1;
            }
            let consumed = (acked as usize).min(self.sbuf.len());
            self.sbuf.consume(consumed);
            self.take_rtt_sample(ctx, now, seg);
            self.snd_una = ack;
            if self.snd_nxt < ack {
                self.snd_nxt = ack;
            }
            if self.high_rxt < ack {
                self.high_rxt = ack;
            }
            self.scoreboard.advance(ack);
            if !self.in_recovery && self.recover < ack - 1u32 {
                // Keep "recover" trailing SND.UNA so that the RFC 6582 comparison stays within
                // 2^31 of it on long transfers.
                self.recover = ack - 1u32;
            }
            self.retries = 0;
            self.dupacks = 0;
            if self.in_recovery {
                if ack >= self.recover {
                    // Full ACK: RFC 6582 3.2 step 3 (option 1) / RFC 6675 exit.
                    self.in_recovery = false;
                    self.rexmit_una_pending = false;
                    let ss = self.cc.ssthresh();
                    let c = ss.min(self.flight().max(mss) + mss);
                    self.cc.set_cwnd(c);
                    self.cc.on_recovery_exit(now);
                    self.ev(ctx, now, TcpEventKind::RecoveryEnd { ack: ack.0 });
                    self.emit_cc(ctx, now, "recovery_exit");
                } else if !self.sack_ok {
                    // RFC 6582 3.2 step 5: partial ACK: retransmit the first unacknowledged segment,
                    // deflate cwnd by the amount acknowledged, add back one SMSS if >= SMSS.
                    self.rexmit_una_pending = true;
                    let mut c = self.cc.cwnd().saturating_sub(total_acked);
                    if total_acked >= mss {
                        c += mss;
                    }
                    self.cc.set_cwnd(c);
                    self.emit_cc(ctx, now, "partial_ack");
                }
            } else {
                let before = (self.cc.cwnd(), self.cc.ssthresh());
                self.cc
                    .on_ack(now, total_acked, flight_before, self.rtt.srtt());
                if before != (self.cc.cwnd(), self.cc.ssthresh()) {
                    self.emit_cc(ctx, now, "ack");
                }
            }
            // RFC 6298 5.2 / 5.3: stop the timer when all is acknowledged, else restart it.
            if self.snd_una == self.snd_max {
                self.cancel_timer(TimerKind::Retransmit);
            } else {
                let at = now + self.rtt.rto();
                self.set_timer(ctx, now, TimerKind::Retransmit, at);
            }
            self.wake();
        } else if ack == self.snd_una
            && seg.payload.is_empty()
            && !seg.flags.syn()
            && !seg.flags.fin()
            && wnd == self.snd_wnd
            && self.snd_max > self.snd_una
        {
            // A duplicate ACK (RFC 5681 section 2).
            self.dupacks += 1;
            if self.in_recovery && !self.sack_ok {
                // RFC 6582 3.2 step 4: inflate by one SMSS per additional duplicate ACK.
                let c = self.cc.cwnd() + mss;
                self.cc.set_cwnd(c);
                self.emit_cc(ctx, now, "dupack_inflation");
            }
        }
        // Window update (RFC 9293 3.10.7.4, ESTABLISHED, fifth check).
        if self.snd_wl1 < seq || (self.snd_wl1 == seq && self.snd_wl2 <= ack) {
            let opened = self.snd_wnd == 0 && wnd > 0;
            self.snd_wnd = wnd;
            self.max_snd_wnd = self.max_snd_wnd.max(wnd);
            self.snd_wl1 = seq;
            self.snd_wl2 = ack;
            if opened {
                self.cancel_timer(TimerKind::Persist);
                self.persist_backoff = 0;
                self.probe_pending = false;
                if self.snd_max > self.snd_una && self.timer(TimerKind::Retransmit).is_none() {
                    let at = now + self.rtt.rto();
                    self.set_timer(ctx, now, TimerKind::Retransmit, at);
                }
            }
        }
        // Loss detection: three duplicate ACKs (RFC 5681 3.2), or IsLost(SND.UNA) from SACK
        // (RFC 6675 section 5); not again for the same window (RFC 6582 "recover" check).
        if !self.in_recovery && self.snd_max > self.snd_una && self.snd_una > self.recover {
            let sack_lost = self.sack_ok
                && self.scoreboard.lost_boundary(self.snd_una, DUPTHRESH, mss) > self.snd_una;
            if self.dupacks >= DUPTHRESH || sack_lost {
                self.enter_recovery(ctx, now);
            }
        }
    }

    fn enter_recovery(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        let mss = self.eff_mss();
        let flight = self.flight();
        self.cc.on_loss(now, flight);
        self.in_recovery = true;
        self.recover = self.snd_max;
        self.high_rxt = self.snd_una;
        self.rtt_timing = None;
        if !self.sack_ok {
            // RFC 6582 3.2 step 3: cwnd = ssthresh + 3*SMSS.
            let c = self.cc.ssthresh() + 3 * mss;
            self.cc.set_cwnd(c);
        }
        // Fast retransmit of the first unacknowledged segment (RFC 5681 3.2 step 3, RFC 6675
        // step 4.3).
        self.rexmit_una_pending = true;
        self.ev(
            ctx,
            now,
            TcpEventKind::RecoveryStart {
                recover: self.recover.0,
                sack: self.sack_ok,
            },
        );
        self.emit_cc(ctx, now, "fast_retransmit");
    }

    // ------------------------------------------------------------------ timers

    pub fn handle_timeout(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        for t in TimerKind::ALL {
            match self.timer(t) {
                Some(at) if at <= now => {}
                _ => continue,
            }
            self.cancel_timer(t);
            self.ev(ctx, now, TcpEventKind::TimerFired { timer: t });
            match t {
                TimerKind::Retransmit => self.on_rto(ctx, now),
                TimerKind::Persist => {
                    // Probing goes on as long as the peer answers (RFC 1122 4.2.2.17); a peer that
                    // stopped answering altogether is given up on like an RTO (Linux does too).
                    if self.unanswered_probes >= self.cfg.max_retransmissions {
                        self.send_reset(ctx);
                        self.fail(ctx, now, TcpError::TimedOut);
                        return;
                    }
                    self.unanswered_probes += 1;
                    self.probe_pending = true;
                    self.persist_backoff = (self.persist_backoff + 1).min(16);
                }
                TimerKind::DelayedAck => self.ack_pending = true,
                TimerKind::TimeWait | TimerKind::FinWait2 => {
                    self.set_state(ctx, now, TcpState::Closed)
                }
                TimerKind::Keepalive => self.on_keepalive(ctx, now),
            }
            if self.state == TcpState::Closed {
                return;
            }
        }
    }

    fn on_rto(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        match self.state {
            TcpState::SynSent | TcpState::SynReceived => {
                if self.retries >= self.cfg.max_syn_retransmissions {
                    if self.passive && self.state == TcpState::SynReceived {
                        self.set_state(ctx, now, TcpState::Closed);
                    } else {
                        self.fail(ctx, now, TcpError::TimedOut);
                    }
                    return;
                }
                self.retries += 1;
                self.rtt.backoff();
                self.rtt_timing = None;
                self.syn_pending = true;
                self.syn_retransmit = true;
                self.ev(
                    ctx,
                    now,
                    TcpEventKind::RtoBackoff {
                        rto: self.rtt.rto(),
                        retries: self.retries,
                    },
                );
            }
            TcpState::Closed | TcpState::Listen | TcpState::TimeWait => {}
            _ => {
                if self.snd_max == self.snd_una {
                    return;
                }
                if self.retries >= self.cfg.max_retransmissions {
                    // Give up: RST the peer, the application's calls return TimedOut.
                    self.send_reset(ctx);
                    self.fail(ctx, now, TcpError::TimedOut);
                    return;
                }
                self.retries += 1;
                let flight = self.flight();
                self.cc.on_rto(now, flight);
                self.rtt.backoff();
                self.ev(
                    ctx,
                    now,
                    TcpEventKind::RtoBackoff {
                        rto: self.rtt.rto(),
                        retries: self.retries,
                    },
                );
                self.emit_cc(ctx, now, "rto");
                // Go back N from SND.UNA. RFC 2018 section 8: SACK information is not trusted
                // after a timeout. RFC 6582: recover <- highest sequence sent, so the duplicate ACKs
                // the retransmissions cause do not trigger a fast retransmit.
                self.snd_nxt = self.snd_una;
                if self.in_recovery {
                    self.ev(
                        ctx,
                        now,
                        TcpEventKind::RecoveryEnd {
                            ack: self.snd_una.0,
                        },
                    );
                }
                self.in_recovery = false;
                self.rexmit_una_pending = false;
                self.dupacks = 0;
                self.recover = self.snd_max;
                self.high_rxt = self.snd_una;
                self.scoreboard.clear();
                self.rtt_timing = None;
            }
        }
    }

    fn rearm_keepalive(&mut self) {
        if let Some(idle) = self.cfg.keepalive
            && self.state == TcpState::Established
            && !idle.is_zero()
        {
            let at = self.last_rx + idle;
            if self.timer(TimerKind::Keepalive) != Some(at) {
                self.timers[TimerKind::Keepalive.index()] = Some(at);
            }
        }
    }

    fn on_keepalive(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        let Some(idle) = self.cfg.keepalive else {
            return;
        };
        if self.state != TcpState::Established {
            return;
        }
        if self.keepalive_probes >= KEEPALIVE_PROBES {
            self.send_reset(ctx);
            self.fail(ctx, now, TcpError::TimedOut);
            return;
        }
        if now - self.last_rx >= idle || self.keepalive_probes > 0 {
            self.keepalive_probes += 1;
            self.keepalive_pending = true;
            let at = now + idle.min(KEEPALIVE_INTERVAL);
            self.set_timer(ctx, now, TimerKind::Keepalive, at);
        } else {
            let at = self.last_rx + idle;
            self.set_timer(ctx, now, TimerKind::Keepalive, at);
        }
    }

    // ------------------------------------------------------------------ output

    /// The right edge we may advertise now: free space, rounded down to the scale granularity.
    fn advertisable_right(&self) -> Seq {
        let max = 65535u32 << self.rcv_wscale;
        let free = (self.rbuf.free() as u32).min(max);
        let free = (free >> self.rcv_wscale) << self.rcv_wscale;
        self.rcv_nxt + free
    }

    /// The window field of a non-SYN segment; records the advertised right edge.
    fn window_field(&mut self) -> u16 {
        let mut right = self.advertisable_right();
        if right > self.rcv_adv {
            // Receiver SWS avoidance (RFC 1122 4.2.3.3): move the right edge only by at least
            // min(RCV.BUFF / 2, MSS).
            let thresh = (self.rbuf.capacity() as u32 / 2).min(self.send_mss).max(1);
            if right.since(self.rcv_adv) < thresh {
                right = self.rcv_adv;
            }
        }
        // Never shrink the window (RFC 9293 3.8.6.2.2, RFC 7323 2.4).
        right = right.max(self.rcv_adv);
        let wnd = right.since(self.rcv_nxt);
        let g = 1u32 << self.rcv_wscale;
        let field = wnd.div_ceil(g).min(65535);
        self.rcv_adv = self.rcv_adv.max(self.rcv_nxt + (field << self.rcv_wscale));
        field as u16
    }

    fn options(&self, now: Instant, with_sack: bool) -> TcpOptions {
        let mut o = TcpOptions::default();
        if self.ts_ok {
            o.timestamps = Some((Self::tsval(now), self.ts_recent));
        }
        if with_sack && self.sack_ok && self.rbuf.has_ooo() {
            let max = if self.ts_ok { 3 } else { 4 };
            for (i, (l, r)) in self.rbuf.sack_blocks(max).into_iter().enumerate() {
                o.sack_blocks[i] = Some((l.0, r.0));
            }
        }
        o
    }

    fn sack_option_len(o: &TcpOptions) -> u32 {
        let n = o.sack_blocks.iter().flatten().count() as u32;
        if n == 0 { 0 } else { 2 + 8 * n + 2 }
    }

    /// Emits a segment and does the bookkeeping common to everything carrying an ACK.
    fn emit(
        &self,
        ctx: &mut Ctx<'_>,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
        now: Instant,
        repr: &TcpRepr<'_>,
    ) {
        out(*self.local.ip(), *self.remote.ip(), repr);
        self.ev(ctx, now, TcpEventKind::SegmentSent(SegmentInfo::of(repr)));
    }

    fn after_ack_sent(&mut self) {
        self.ack_pending = false;
        self.delack_segs = 0;
        self.last_ack_sent = self.rcv_nxt;
        self.cancel_timer(TimerKind::DelayedAck);
    }

    fn start_rto_if_idle(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        if self.timer(TimerKind::Retransmit).is_none() {
            let at = now + self.rtt.rto();
            self.set_timer(ctx, now, TimerKind::Retransmit, at);
        }
    }

    pub fn poll_transmit(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
    ) {
        match self.state {
            TcpState::Closed | TcpState::Listen => {}
            TcpState::SynSent | TcpState::SynReceived => {
                if self.syn_pending {
                    self.send_syn(ctx, now, out);
                } else if self.ack_pending && self.state == TcpState::SynReceived {
                    self.send_pure_ack(ctx, now, out);
                }
            }
            _ => self.transmit_synchronized(ctx, now, out),
        }
    }

    fn send_syn(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
    ) {
        let active = self.state == TcpState::SynSent;
        let mut o = TcpOptions {
            mss: Some(self.cfg.mss),
            ..TcpOptions::default()
        };
        let ws_ok = if active {
            self.cfg.window_scaling
        } else {
            self.ws_ok
        };
        if ws_ok {
            o.window_scale = Some(self.our_wscale);
        }
        if (active && self.cfg.sack) || (!active && self.sack_ok) {
            o.sack_permitted = true;
        }
        if (active && self.cfg.timestamps) || (!active && self.ts_ok) {
            o.timestamps = Some((Self::tsval(now), if active { 0 } else { self.ts_recent }));
        }
        let mut flags = TcpFlags::SYN;
        let mut ack = 0;
        if !active {
            flags |= TcpFlags::ACK;
            ack = self.rcv_nxt.0;
        }
        let repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq: self.iss.0,
            ack,
            flags,
            window: self.syn_window() as u16,
            urgent: 0,
            options: o,
            payload: &[],
        };
        if self.syn_retransmit || self.snd_max > self.iss {
            self.ev(
                ctx,
                now,
                TcpEventKind::Retransmit {
                    seq: self.iss.0,
                    len: 0,
                    reason: RetransmitReason::Rto,
                },
            );
        }
        self.emit(ctx, out, now, &repr);
        if self.snd_max == self.iss {
            self.rtt_timing = Some((self.iss, now));
        }
        self.snd_nxt = self.iss + 1u32;
        self.snd_max = self.snd_max.max(self.snd_nxt);
        self.syn_pending = false;
        self.syn_retransmit = false;
        if !active {
            self.after_ack_sent();
        }
        self.start_rto_if_idle(ctx, now);
    }

    /// Sends one segment of [seq, seq+len) data (+FIN) from the send buffer.
    #[allow(clippy::too_many_arguments)]
    fn send_data(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
        seq: Seq,
        len: u32,
        fin: bool,
        reason: Option<RetransmitReason>,
    ) {
        let window = self.window_field();
        let mut options = self.options(now, true);
        if len > 0 && len + Self::sack_option_len(&options) > self.eff_mss() {
            // No room for SACK blocks in a full-sized data segment.
            options.sack_blocks = [None; 4];
        }
        let mut flags = TcpFlags::ACK;
        if fin {
            flags |= TcpFlags::FIN;
        }
        let off = seq.since(self.snd_una) as usize;
        if len > 0 && seq + len == self.data_end() {
            flags |= TcpFlags::PSH;
        }
        if let Some(reason) = reason {
            self.ev(
                ctx,
                now,
                TcpEventKind::Retransmit {
                    seq: seq.0,
                    len: len as usize,
                    reason,
                },
            );
        }
        {
            let repr = TcpRepr {
                src_port: self.local.port(),
                dst_port: self.remote.port(),
                seq: seq.0,
                ack: self.rcv_nxt.0,
                flags,
                window,
                urgent: 0,
                options,
                payload: self.sbuf.slice(off, len as usize),
            };
            self.emit(ctx, out, now, &repr);
        }
        self.after_ack_sent();
        let end = seq + len + u32::from(fin);
        if fin {
            self.fin_seq = Some(seq + len);
        }
        if reason.is_some() {
            // Karn: a retransmission invalidates the timing in progress.
            self.rtt_timing = None;
        } else if self.rtt_timing.is_none() && !self.ts_ok && end > self.snd_max {
            self.rtt_timing = Some((seq, now));
        }
        if end > self.snd_max {
            self.snd_max = end;
        }
        if len + u32::from(fin) > 0 {
            self.last_send = Some(now);
            self.start_rto_if_idle(ctx, now);
        }
    }

    fn transmit_synchronized(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
    ) {
        let mss = self.eff_mss();
        let mut sent_any = false;
        let data_end = self.data_end();

        // 1. Fast retransmit / partial-ACK retransmit of the first unacknowledged segment.
        if self.rexmit_una_pending {
            self.rexmit_una_pending = false;
            let mut avail = data_end.since(self.snd_una).min(mss);
            if let Some((_, hole_end)) = self.scoreboard.next_hole(self.snd_una, data_end) {
                // Do not resend bytes the peer already SACKed.
                avail = avail.min(hole_end.since(self.snd_una));
            }
            let fin = self.fin_queued && self.snd_una + avail == data_end && self.fin_sent();
            if avail > 0 || fin {
                let reason = if self.sack_ok {
                    RetransmitReason::Sack
                } else {
                    RetransmitReason::FastRetransmit
                };
                let reason = if self.in_recovery && self.high_rxt == self.snd_una {
                    reason
                } else {
                    RetransmitReason::FastRetransmit
                };
                self.send_data(ctx, now, out, self.snd_una, avail, fin, Some(reason));
                let end = self.snd_una + avail + u32::from(fin);
                self.high_rxt = self.high_rxt.max(end);
                sent_any = true;
            }
        }

        // 2. RFC 6675 NextSeg rules 1 and 3 while pipe < cwnd.
        if self.in_recovery && self.sack_ok {
            let mut guard = 0;
            loop {
                guard += 1;
                if guard > 1000 {
                    break;
                }
                let pipe = self.pipe();
                let cwnd = self.cc.cwnd();
                if pipe >= cwnd || cwnd - pipe < mss.min(cwnd) {
                    break;
                }
                let lost_b = self
                    .scoreboard
                    .lost_boundary(self.snd_una, DUPTHRESH, mss)
                    .min(self.snd_max);
                let from = self.high_rxt.max(self.snd_una);
                let mut hole = self.scoreboard.next_hole(from, lost_b);
                if hole.is_none() {
                    // Rule 2 (new data) goes first; rule 3 only when there is none to send.
                    let new_data = data_end.since(self.snd_nxt) > 0 && self.wnd_room() > 0;
                    if !new_data && (!self.fin_queued || self.fin_sent()) {
                        hole = self.scoreboard.next_hole(from, self.snd_max.min(data_end));
                    }
                }
                let Some((s, e)) = hole else { break };
                let s_end = e.min(data_end);
                if s_end <= s {
                    break;
                }
                let len = s_end.since(s).min(mss);
                let fin = self.fin_sent() && s + len == data_end && e > data_end;
                self.send_data(ctx, now, out, s, len, fin, Some(RetransmitReason::Sack));
                self.high_rxt = s + len + u32::from(fin);
                sent_any = true;
            }
        }

        // RFC 5681 4.1: after an idle period longer than the RTO, restart from
        // cwnd = min(IW, cwnd) rather than bursting a stale window.
        if self.snd_una == self.snd_max
            && data_end > self.snd_nxt
            && let Some(last) = self.last_send
            && now - last > self.rtt.rto()
        {
            let iw = initial_window(self.cfg.initial_window_segments, mss);
            if self.cc.cwnd() > iw {
                self.cc.set_cwnd(iw);
                self.emit_cc(ctx, now, "restart_after_idle");
            }
        }

        // 3. New data (or go-back-N after an RTO) at SND.NXT, then the FIN.
        let mut guard = 0;
        loop {
            guard += 1;
            if guard > 100_000 {
                break;
            }
            let data_end = self.data_end();
            let avail = data_end.since(self.snd_nxt);
            let fin_todo = self.fin_queued && self.snd_nxt <= data_end && {
                // The FIN is still to be sent at this position (first time or after go-back-N).
                true
            };
            if avail == 0 && !fin_todo {
                break;
            }
            if self.snd_nxt > data_end {
                break;
            }
            let wnd_room = self.wnd_room();
            let cwnd_room = self.cwnd_room();
            let mut len = avail.min(mss).min(wnd_room);
            if len > 0 && cwnd_room < len {
                // Congestion-limited: wait for ACKs (send only whole segments).
                break;
            }
            if len < avail && len < mss {
                // Window-limited small segment (sender SWS avoidance, RFC 1122 4.2.3.4): only if
                // it is at least half the largest window the peer offered or nothing is in flight.
                let in_flight = self.snd_nxt > self.snd_una;
                if len == 0 || (in_flight && len < self.max_snd_wnd / 2) {
                    break;
                }
            }
            if len > 0
                && len < mss
                && len == avail
                && self.cfg.nagle
                && self.snd_max > self.snd_una
                && !self.fin_queued
                && self.snd_nxt >= self.snd_max
            {
                // Nagle (RFC 1122 4.2.3.4): hold a small segment while data is unacknowledged.
                break;
            }
            len = len.min(avail);
            let fin = fin_todo && self.snd_nxt + len == data_end;
            if len == 0 && !fin {
                break;
            }
            let seq = self.snd_nxt;
            let end = seq + len + u32::from(fin);
            let reason = if seq < self.snd_max {
                Some(RetransmitReason::Rto)
            } else {
                None
            };
            self.send_data(ctx, now, out, seq, len, fin, reason);
            sent_any = true;
            self.snd_nxt = end;
            if fin {
                break;
            }
        }

        // 4. Zero-window probe (persist timer expired).
        if self.probe_pending {
            self.probe_pending = false;
            let data_end = self.data_end();
            if data_end > self.snd_una {
                // One octet of data beyond the (zero) window, RFC 9293 3.8.6.1.
                self.send_data(
                    ctx,
                    now,
                    out,
                    self.snd_una,
                    1,
                    false,
                    Some(RetransmitReason::Probe),
                );
                if self.snd_nxt < self.snd_una + 1u32 {
                    self.snd_nxt = self.snd_una + 1u32;
                }
                sent_any = true;
            } else if self.fin_queued {
                self.send_data(
                    ctx,
                    now,
                    out,
                    self.snd_una,
                    0,
                    true,
                    Some(RetransmitReason::Probe),
                );
                sent_any = true;
            }
        }

        // 5. Keepalive probe: SEG.SEQ = SND.NXT - 1 with no data (RFC 1122 4.2.3.6).
        if self.keepalive_pending {
            self.keepalive_pending = false;
            let window = self.window_field();
            let repr = TcpRepr {
                src_port: self.local.port(),
                dst_port: self.remote.port(),
                seq: (self.snd_una - 1u32).0,
                ack: self.rcv_nxt.0,
                flags: TcpFlags::ACK,
                window,
                urgent: 0,
                options: self.options(now, true),
                payload: &[],
            };
            self.emit(ctx, out, now, &repr);
            self.after_ack_sent();
            sent_any = true;
        }

        // 6. A pure ACK (delayed ACK expired, every second segment, out-of-order, challenge...).
        if self.ack_pending && !sent_any {
            self.send_pure_ack(ctx, now, out);
        }

        // Persist timer: the peer's window is closed and we have something to send.
        let data_end = self.data_end();
        // Data not yet acknowledged (a lone FIN is covered by the retransmission timer).
        let pending = data_end > self.snd_una;
        if self.snd_wnd == 0
            && pending
            && self.state != TcpState::TimeWait
            && self.timer(TimerKind::Persist).is_none()
        {
            self.cancel_timer(TimerKind::Retransmit);
            let d = self
                .rtt
                .rto()
                .saturating_mul(1u64 << self.persist_backoff.min(16))
                .min(self.cfg.rto_max);
            self.set_timer(ctx, now, TimerKind::Persist, now + d);
        }
    }

    /// `<SEQ=SND.MAX><ACK=RCV.NXT><CTL=ACK>`.
    fn send_pure_ack(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
    ) {
        let window = if self.state == TcpState::SynReceived {
            self.syn_window() as u16
        } else {
            self.window_field()
        };
        let repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            // SND.MAX rather than a go-back-N rewound SND.NXT, as BSD does: a pure ACK must stay
            // acceptable to a peer that already received what we are resending.
            seq: self.snd_max.0,
            ack: self.rcv_nxt.0,
            flags: TcpFlags::ACK,
            window,
            urgent: 0,
            options: self.options(now, true),
            payload: &[],
        };
        self.emit(ctx, out, now, &repr);
        self.after_ack_sent();
    }

    fn wnd_room(&self) -> u32 {
        let right = self.snd_una + self.snd_wnd;
        right.since(self.snd_nxt)
    }

    fn cwnd_room(&self) -> u32 {
        let used = if self.in_recovery && self.sack_ok {
            self.pipe()
        } else if self.in_recovery {
            self.flight()
        } else {
            self.snd_nxt.since(self.snd_una)
        };
        let mut cwnd = self.cc.cwnd();
        if !self.in_recovery && self.snd_nxt == self.snd_max {
            // RFC 3042 limited transmit: one new segment for each of the first two duplicate ACKs.
            cwnd += self.dupacks.min(2) * self.eff_mss();
        }
        cwnd.saturating_sub(used)
    }
}
