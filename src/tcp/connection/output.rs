//! Output: SYN / SYN-ACK, fast and SACK retransmissions (RFC 5681, 6582, 6675), new data under
//! the receive and congestion windows (Nagle, sender SWS avoidance), zero-window and keepalive
//! probes, pure ACKs; the advertised window (never shrinking, receiver SWS avoidance).

use super::*;

impl Connection {
    // ------------------------------------------------------------------ output

    /// The right edge we may advertise now: free space, rounded down to the scale granularity.
    pub(super) fn advertisable_right(&self) -> Seq {
        let max = 65535u32 << self.rcv_wscale;
        let free = (self.rbuf.free() as u32).min(max);
        let free = (free >> self.rcv_wscale) << self.rcv_wscale;
        self.rcv_nxt + free
    }

    /// The window field of a non-SYN segment; records the advertised right edge.
    pub(super) fn window_field(&mut self) -> u16 {
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

    pub(super) fn options(&self, now: Instant, with_sack: bool) -> TcpOptions {
        let mut o = TcpOptions::default();
        if self.ts_ok {
            o.timestamps = Some((Self::tsval(now), self.ts_recent));
        }
        if with_sack && self.sack_ok && (self.rbuf.has_ooo() || self.dsack_pending.is_some()) {
            let max = if self.ts_ok { 3 } else { 4 };
            let mut i = 0;
            if let Some((l, r)) = self.dsack_pending {
                // RFC 2883 4: the D-SACK block goes first, the usual blocks follow.
                o.sack_blocks[0] = Some((l.0, r.0));
                i = 1;
            }
            for (l, r) in self.rbuf.sack_blocks(max - i) {
                o.sack_blocks[i] = Some((l.0, r.0));
                i += 1;
            }
        }
        o
    }

    pub(super) fn sack_option_len(o: &TcpOptions) -> u32 {
        let n = o.sack_blocks.iter().flatten().count() as u32;
        if n == 0 { 0 } else { 2 + 8 * n + 2 }
    }

    /// Emits a segment and does the bookkeeping common to everything carrying an ACK.
    pub(super) fn emit(
        &self,
        ctx: &mut Ctx<'_>,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
        now: Instant,
        repr: &TcpRepr<'_>,
    ) {
        out(*self.local.ip(), *self.remote.ip(), repr);
        self.ev(ctx, now, TcpEventKind::SegmentSent(SegmentInfo::of(repr)));
    }

    pub(super) fn after_ack_sent(&mut self) {
        self.ack_pending = false;
        // A D-SACK is reported once (RFC 2883 4).
        self.dsack_pending = None;
        self.delack_segs = 0;
        self.last_ack_sent = self.rcv_nxt;
        self.cancel_timer(TimerKind::DelayedAck);
        self.compressed_acks = 0;
        self.cancel_timer(TimerKind::CompressedAck);
    }

    pub(super) fn start_rto_if_idle(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
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

    pub(super) fn send_syn(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
    ) {
        let active = self.state == TcpState::SynSent;
        let mut o = TcpOptions { mss: Some(self.cfg.mss), ..TcpOptions::default() };
        let ws_ok = if active { self.cfg.window_scaling } else { self.ws_ok };
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
        if self.snd_max > self.iss {
            // Karn: our SYN's sequence number is being sent again; its ACK will be ambiguous.
            self.rtt_timing = None;
        }
        // A retransmission only if this very segment (SYN, or SYN-ACK) went out before: the
        // SYN-ACK of a simultaneous open (RFC 9293 figure 8) follows our SYN but repeats nothing.
        if self.syn_retransmit || self.syn_sent_as == Some(!active) {
            let reason =
                if self.syn_reply && !self.syn_retransmit { RetransmitReason::SynReply } else { RetransmitReason::Rto };
            self.ev(ctx, now, TcpEventKind::Retransmit { seq: self.iss.0, len: 0, reason });
        }
        self.syn_reply = false;
        self.syn_sent_as = Some(!active);
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
    pub(super) fn send_data(
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
        let tsval = options.timestamps.map_or(0, |t| t.0);
        let mut flags = TcpFlags::ACK;
        if fin {
            flags |= TcpFlags::FIN;
        }
        let off = seq.since(self.snd_una) as usize;
        if len > 0 && seq + len == self.data_end() {
            flags |= TcpFlags::PSH;
        }
        if let Some(reason) = reason {
            self.ev(ctx, now, TcpEventKind::Retransmit { seq: seq.0, len: len as usize, reason });
        }
        {
            // The buffer lends the payload (mutably: a segment straddling the ring's wrap point
            // is made contiguous) while the rest of the connection is borrowed for emit.
            let mut sbuf = std::mem::take(&mut self.sbuf);
            sbuf.with_slice(off, len as usize, |payload| {
                let repr = TcpRepr {
                    src_port: self.local.port(),
                    dst_port: self.remote.port(),
                    seq: seq.0,
                    ack: self.rcv_nxt.0,
                    flags,
                    window,
                    urgent: 0,
                    options,
                    payload,
                };
                self.emit(ctx, out, now, &repr);
            });
            self.sbuf = sbuf;
        }
        self.after_ack_sent();
        let end = seq + len + u32::from(fin);
        if fin {
            self.fin_seq = Some(seq + len);
        }
        if reason.is_some() {
            // Karn: a retransmission invalidates the timing in progress.
            self.rtt_timing = None;
        } else if self.rtt_timing.is_none() && end > self.snd_max {
            // Timed even with timestamps: the fallback when the peer does not echo TSecr.
            self.rtt_timing = Some((seq, now));
        }
        let new_data = end > self.snd_max;
        if end > self.snd_max {
            self.snd_max = end;
        }
        if len + u32::from(fin) > 0 {
            self.last_send = Some(now);
            self.start_rto_if_idle(ctx, now);
            self.after_data_sent(ctx, now, seq, end, tsval, reason, new_data);
        }
    }

    pub(super) fn transmit_synchronized(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
    ) {
        let mss = self.eff_mss();
        let mut sent_any = false;
        let data_end = self.data_end();

        // The held-back ACK an out-of-order segment flushed (`flush_compressed_sack`) goes first.
        if let Some(options) = self.flush_ack.take() {
            self.emit_pure_ack(ctx, now, out, options);
        }

        // 0. A tail loss probe (RFC 8985 7.3).
        if self.tlp_pending {
            sent_any |= self.send_loss_probe(ctx, now, out);
        }

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
                // The retransmission the duplicate-ACK threshold (or SACK loss detection, at the
                // start of recovery) triggers is the fast retransmit (RFC 5681 3.2 step 3, RFC
                // 6675 5 step 4.3), with or without SACK; so is NewReno's partial-ACK one (RFC 6582
                // 3.2 step 5). Only the later NextSeg retransmissions are `sack` (docs/conformance.md
                // maps these to Wireshark's labels).
                let reason = RetransmitReason::FastRetransmit;
                self.send_data(ctx, now, out, self.snd_una, avail, fin, Some(reason));
                let end = self.snd_una + avail + u32::from(fin);
                self.high_rxt = self.high_rxt.max(end);
                sent_any = true;
            }
        }

        // 2. RACK: the segments marked lost (RFC 8985 6.1); else RFC 6675 NextSeg rules 1 and 3
        // while pipe < cwnd.
        if self.rack_on() {
            sent_any |= self.send_rack_lost(ctx, now, out);
        } else if self.in_recovery && self.sack_ok {
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
                let lost_b = self.scoreboard.lost_boundary(self.snd_una, self.dupthresh(), mss).min(self.snd_max);
                let from = self.high_rxt.max(self.snd_una);
                let mut hole = self.scoreboard.next_hole(from, lost_b);
                let new_data = data_end.since(self.snd_nxt) > 0 && self.wnd_room() > 0;
                let nothing_new = !new_data && (!self.fin_queued || self.fin_sent());
                if hole.is_none() && nothing_new {
                    // Rule 2 (new data) goes first; rule 3 only when there is none to send, and
                    // only below the highest SACKed octet (criterion 1.b): what lies above it is
                    // merely in flight.
                    let high_sacked = self.scoreboard.high().unwrap_or(self.snd_una).min(self.snd_max);
                    hole = self.scoreboard.next_hole(from, high_sacked.min(data_end));
                }
                if hole.is_none() && nothing_new {
                    // Rule 4: one "rescue" retransmission per recovery episode of the segment
                    // holding the highest outstanding unSACKed octet, so that a loss at the tail
                    // of the window does not stall until the RTO. HighRxt is not updated.
                    if self.rescue_rxt.is_none_or(|r| self.snd_una > r) {
                        let top = self.snd_max.min(data_end);
                        let floor = self.scoreboard.high().unwrap_or(self.snd_una).max(self.snd_una);
                        if top > floor {
                            self.rescue_rxt = Some(self.recover);
                            let s = if top.since(floor) > mss { top - mss } else { floor };
                            let len = top.since(s);
                            let fin = self.fin_sent() && top == data_end;
                            self.send_data(ctx, now, out, s, len, fin, Some(RetransmitReason::Sack));
                            sent_any = true;
                        }
                    }
                    break;
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
            let reason = if seq < self.snd_max { Some(RetransmitReason::Rto) } else { None };
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
                // One octet of data beyond the (zero) window, RFC 9293 3.8.6.1. It is part of the
                // send sequence (SND.NXT moves past it) in case the peer accepts it; if the peer
                // reopens the window without taking it, process_ack rewinds to SND.UNA.
                if self.snd_max == self.snd_una {
                    self.probe_outstanding = true;
                }
                self.send_data(ctx, now, out, self.snd_una, 1, false, Some(RetransmitReason::Probe));
                if self.snd_nxt < self.snd_una + 1u32 {
                    self.snd_nxt = self.snd_una + 1u32;
                }
                sent_any = true;
            } else if self.fin_queued && self.snd_una == data_end {
                // The FIN is the one unacknowledged thing left (data_end is its sequence number).
                // Once it is acknowledged, a persist timer still armed from an earlier zero window
                // must not send a FIN again: that would be a FIN beyond the first one.
                self.send_data(ctx, now, out, self.snd_una, 0, true, Some(RetransmitReason::Probe));
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
        if self.snd_wnd == 0 && pending && self.state != TcpState::TimeWait && self.timer(TimerKind::Persist).is_none()
        {
            self.cancel_timer(TimerKind::Retransmit);
            let d = self.rtt.rto().saturating_mul(1u64 << self.persist_backoff.min(16)).min(self.cfg.rto_max);
            self.set_timer(ctx, now, TimerKind::Persist, now + d);
        }
    }

    /// `<SEQ=SND.MAX><ACK=RCV.NXT><CTL=ACK>`.
    pub(super) fn send_pure_ack(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
    ) {
        let options = self.options(now, true);
        self.emit_pure_ack(ctx, now, out, options);
        self.after_ack_sent();
    }

    /// A pure ACK with the given options (the SACK blocks of an earlier moment, for the ACK an
    /// out-of-order segment flushed: RCV.NXT has not moved since, and whatever ACK is owed for the
    /// data since stays owed).
    fn emit_pure_ack(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
        options: TcpOptions,
    ) {
        let window = if self.state == TcpState::SynReceived { self.syn_window() as u16 } else { self.window_field() };
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
            options,
            payload: &[],
        };
        self.emit(ctx, out, now, &repr);
    }

    pub(super) fn wnd_room(&self) -> u32 {
        let right = self.snd_una + self.snd_wnd;
        right.since(self.snd_nxt)
    }

    pub(super) fn cwnd_room(&self) -> u32 {
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
        // F-RTO step 2b (RFC 5682 2.1 and 3): up to two new segments whatever cwnd and the data
        // still outstanding from before the timeout say ("an F-RTO TCP sender simply chooses
        // different segments to transmit"; Linux counts that data as lost, so its cwnd allows them).
        cwnd.saturating_sub(used).max(self.frto_room)
    }
}
