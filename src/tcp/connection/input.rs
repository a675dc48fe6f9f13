//! Segment arrival (RFC 9293 section 3.10.7): SYN-SENT, acceptability, RST (RFC 5961), SYN,
//! ACK processing (RTT samples, congestion control, loss detection), text, FIN.

use super::*;

/// A writer blocked on a full send buffer is woken once this much room is free (or half of what is
/// still queued, if that is less).
const WRITE_WAKE_MAX: usize = 64 * 1024;

impl Connection {
    // ------------------------------------------------------------------ segment arrival

    pub fn on_segment(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg: &TcpRepr<'_>) {
        self.ev(ctx, now, TcpEventKind::SegmentReceived(SegmentInfo::of(seg)));
        self.last_rx = now;
        self.keepalive_probes = 0;
        match self.state {
            TcpState::Closed | TcpState::Listen => return,
            TcpState::SynSent => {
                self.on_segment_syn_sent(ctx, now, seg);
                self.rearm_keepalive(ctx, now);
                return;
            }
            _ => {}
        }
        self.on_segment_sync(ctx, now, seg);
        self.rearm_keepalive(ctx, now);
    }

    /// RFC 9293 3.10.7.3, SYN-SENT.
    pub(super) fn on_segment_syn_sent(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg: &TcpRepr<'_>) {
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
            self.ev(ctx, now, TcpEventKind::Dropped { reason: "bad_ack_in_syn_sent" });
            return;
        }
        // Second: RST, acceptable only with an acceptable ACK (RFC 5961 3.2 leaves SYN-SENT as is).
        if f.rst() {
            if f.ack() {
                self.fail(ctx, now, TcpError::ConnectionRefused);
            } else {
                self.ev(ctx, now, TcpEventKind::Dropped { reason: "rst_without_ack_in_syn_sent" });
            }
            return;
        }
        if !f.syn() {
            self.ev(ctx, now, TcpEventKind::Dropped { reason: "no_syn_in_syn_sent" });
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
            self.handshake_done();
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
    pub(super) fn on_segment_sync(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg_in: &TcpRepr<'_>) {
        let mut seg = *seg_in;
        let f = seg.flags;
        if self.state == TcpState::SynReceived && f.syn() && Seq(seg.seq) == self.irs {
            if !f.ack() {
                // Retransmitted SYN: our SYN-ACK was lost; send it again, as a reply (not an RTO
                // retransmission), and restart the retransmission timer from it, as Linux does
                // (inet_rtx_syn_ack; the request's timer is re-armed), so that the timer's own
                // SYN-ACK does not follow a few milliseconds later.
                self.syn_pending = true;
                self.syn_reply = true;
                self.cancel_timer(TimerKind::Retransmit);
                self.ev(ctx, now, TcpEventKind::Dropped { reason: "retransmitted_syn" });
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
        // RCV.WND is the window we last advertised (RFC 9293 3.10.7.4): its right edge never moves
        // left (3.8.6.2.2), and space freed since is not part of it until a segment advertises it
        // (receiver SWS avoidance and the unscaled SYN window keep the two apart).
        let rcv_right = self.rcv_adv.max(self.rcv_nxt);
        let rcv_wnd = rcv_right.since(self.rcv_nxt);

        // RFC 7323 5.3 R1 (PAWS): a non-RST segment whose TSval is older than TS.Recent is an old
        // duplicate: ACK it and drop it.
        if self.ts_ok
            && !f.rst()
            && let Some((tsval, _)) = seg.options.timestamps
            && (tsval.wrapping_sub(self.ts_recent) as i32) < 0
            && !self.disordered_ack(&seg, tsval)
        {
            if !seg.payload.is_empty() {
                // RFC 2883 4.1.1 applies to duplicates PAWS catches too (Linux reports them), but
                // only to data received before: below RCV.NXT or held out of order. A segment
                // PAWS drops beyond a hole (an original overtaken by a later retransmission that
                // raised TS.Recent) never arrived as far as we are concerned; a D-SACK for it
                // would tell the sender it was delivered, and it would wait for a timeout.
                let end = seq + seg.payload.len();
                let held = self.rbuf.holds(seq, end);
                self.note_duplicate(ctx, now, seq, end, self.rcv_nxt, held);
            }
            self.oow_ack(ctx, now, &seg);
            self.ev(ctx, now, TcpEventKind::Dropped { reason: "paws" });
            return;
        }

        // First: sequence number acceptability, the four cases.
        let mut acceptable = if seg_len == 0 {
            if rcv_wnd == 0 { seq == self.rcv_nxt } else { seq.in_range(self.rcv_nxt, self.rcv_nxt + rcv_wnd) }
        } else if rcv_wnd == 0 {
            false
        } else {
            seq.in_range(self.rcv_nxt, self.rcv_nxt + rcv_wnd)
                || (seq + (seg_len - 1)).in_range(self.rcv_nxt, self.rcv_nxt + rcv_wnd)
        };
        let mut zero_window_text = false;
        if !acceptable && rcv_wnd == 0 && !f.rst() && self.zero_window_allowance(seq) {
            // "If the RCV.WND is zero, no segments will be acceptable, but special allowance should
            // be made to accept valid ACKs, URGs, and RSTs" (3.10.7.4): process the ACK field, drop
            // the text, and answer as for an unacceptable segment.
            acceptable = true;
            zero_window_text = true;
            if seq != self.rcv_nxt {
                self.oow_ack(ctx, now, &seg);
            }
        }
        if !acceptable {
            if !f.rst() && !seg.payload.is_empty() && seq + seg.payload.len() <= self.rcv_nxt {
                // An old duplicate: report it with a D-SACK (RFC 2883 4.1.1).
                let end = seq + seg.payload.len();
                self.note_duplicate(ctx, now, seq, end, self.rcv_nxt, false);
            }
            if !f.rst() {
                if self.state == TcpState::TimeWait && f.fin() && seq + seg_len == self.rcv_nxt {
                    // A retransmitted FIN in TIME-WAIT: ACK it and restart the 2 MSL timeout.
                    let d = self.cfg.msl.saturating_mul(2);
                    self.set_timer(ctx, now, TimerKind::TimeWait, now + d);
                }
                self.oow_ack(ctx, now, &seg);
            }
            self.ev(ctx, now, TcpEventKind::Dropped { reason: "unacceptable_seq" });
            return;
        }

        // Second: RST (RFC 5961 3.2).
        if f.rst() {
            if self.state == TcpState::TimeWait {
                // RFC 1337 section 3 (TIME-WAIT assassination): ignore RSTs in TIME-WAIT so that
                // the 2 MSL quiet time always runs out. RFC 9293 would close; Linux's
                // net.ipv4.tcp_rfc1337=1 behaves like this.
                self.ev(ctx, now, TcpEventKind::Dropped { reason: "rst_in_time_wait" });
                return;
            }
            if seq == self.rcv_nxt {
                self.on_reset(ctx, now);
            } else {
                self.oow_ack(ctx, now, &seg);
                self.ev(ctx, now, TcpEventKind::ChallengeAck { reason: "rst_not_exact" });
            }
            return;
        }

        // Fourth: SYN (RFC 5961 4.2: challenge ACK in every synchronized state).
        if f.syn() {
            if self.state == TcpState::SynReceived && self.passive {
                // RFC 9293: a passive SYN-RECEIVED connection returns to LISTEN.
                self.ev(ctx, now, TcpEventKind::Dropped { reason: "syn_in_syn_received" });
                self.set_state(ctx, now, TcpState::Closed);
                return;
            }
            self.oow_ack(ctx, now, &seg);
            self.ev(ctx, now, TcpEventKind::ChallengeAck { reason: "syn_in_synchronized_state" });
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
                self.handshake_done();
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
                self.ev(ctx, now, TcpEventKind::Dropped { reason: "bad_ack_in_syn_received" });
                return;
            }
        }
        if ack > self.snd_max {
            // Acknowledges something not yet sent: ACK and drop (RFC 9293; RFC 5961 5.2).
            self.oow_ack(ctx, now, &seg);
            self.ev(ctx, now, TcpEventKind::Dropped { reason: "ack_of_unsent_data" });
            return;
        }
        if ack < self.snd_una - self.max_snd_wnd.max(1) {
            // RFC 5961 5.2: older than SND.UNA - MAX.SND.WND: challenge ACK, drop.
            self.oow_ack(ctx, now, &seg);
            self.ev(ctx, now, TcpEventKind::ChallengeAck { reason: "ack_too_old" });
            return;
        }
        // RFC 7323 4.3: TS.Recent update (SEG.TSval >= TS.Recent: a disordered ACK let through
        // PAWS above carries an older one).
        if self.ts_ok
            && let Some((tsval, _)) = seg.options.timestamps
            && seq <= self.last_ack_sent
            && (tsval.wrapping_sub(self.ts_recent) as i32) >= 0
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
        let receiving = matches!(self.state, TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2);
        if self.app_closed && receiving && !payload.is_empty() && seq + payload.len() > self.rcv_nxt {
            self.abort_on_data(ctx, now, &seg);
            return;
        }
        if !payload.is_empty() {
            match self.state {
                TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2 => {
                    self.receive_text(ctx, now, seq, payload);
                }
                _ => {
                    // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer already sent FIN.
                    self.ev(ctx, now, TcpEventKind::Dropped { reason: "text_after_fin" });
                }
            }
        } else if zero_window_text && !seg.payload.is_empty() {
            self.ack_pending = true;
        }

        // Eighth: FIN.
        if f.fin() && !zero_window_text {
            let fin_seq = seq + seg.payload.len();
            if fin_seq < rcv_right || fin_seq == self.rcv_nxt {
                self.rcv_fin = Some(fin_seq);
            }
        }
        self.check_fin(ctx, now);
    }

    /// New data for a socket the application has closed: nobody can ever read it, so the
    /// connection is reset (RFC 1122 4.2.2.13, RFC 2525 2.17; Linux's TCPAbortOnData). The RST
    /// answers the segment (`<SEQ=SEG.ACK><CTL=RST>`, RFC 9293 3.10.7.1), as Linux's does.
    fn abort_on_data(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg: &TcpRepr<'_>) {
        ctx.outbox.push(Outgoing { socket: self.id, local: self.local, remote: self.remote, repr: reset_for(seg) });
        self.ev(ctx, now, TcpEventKind::Dropped { reason: "data_after_close" });
        self.set_state(ctx, now, TcpState::Closed);
    }

    /// Whether a segment at `seq` that a zero window made unacceptable may still have its ACK
    /// processed: it starts at RCV.NXT or after it, within what the peer may have sent under windows
    /// we offered before (the buffer size). A peer that probed with new octets sends its next
    /// segments at RCV.NXT + the probe's length (seen with the CS144 stack).
    fn zero_window_allowance(&self, seq: Seq) -> bool {
        let span = (self.rbuf.capacity() as u32).max(1);
        seq.in_range(self.rcv_nxt, self.rcv_nxt + span)
    }

    /// RFC 6298 5.7: if our SYN (or SYN-ACK) timed out and no RTT sample was taken, restart with
    /// an RTO of 3 s once the handshake completes.
    fn handshake_done(&mut self) {
        if self.retries > 0 && self.rtt.srtt().is_none() {
            self.rtt.reinit(Duration::from_secs(3));
        }
    }

    /// A pure duplicate ACK that was merely overtaken by a later one on the way (the network
    /// reordered two ACKs), which PAWS must not discard: its SACK blocks are the sender's only news
    /// of what arrived. RFC 7323 5.3 R1 read literally drops it (its TSval is older than
    /// TS.Recent), losing the SACK information and stalling recovery until a timeout; Linux
    /// exempts exactly these segments (tcp_disordered_ack): a pure ACK at RCV.NXT, acknowledging
    /// SND.UNA, that would not update the send window, with a TSval at most about one RTO (x 1.2)
    /// older than TS.Recent. Such a segment cannot be an old duplicate of anything that matters:
    /// it carries no data and moves no state but the SACK scoreboard. It does not update
    /// TS.Recent (4.3: only SEG.TSval >= TS.Recent does).
    fn disordered_ack(&self, seg: &TcpRepr<'_>, tsval: u32) -> bool {
        let f = seg.flags;
        let pure_ack = f.ack() && !f.syn() && !f.fin() && seg.payload.is_empty();
        let seq = Seq(seg.seq);
        let wnd = u32::from(seg.window) << self.snd_wscale;
        let updates_window = self.snd_wl1 < seq || (self.snd_wl1 == seq && wnd > self.snd_wnd);
        let replay_ticks = (self.rtt.rto().as_nanos() / 1_000_000) as u32 * 6 / 5;
        pure_ack
            && seq == self.rcv_nxt
            && Seq(seg.ack) == self.snd_una
            && !updates_window
            && self.ts_recent.wrapping_sub(tsval) <= replay_ticks
    }

    /// An ACK answering a segment we drop (out of window, PAWS, challenge ACKs). Those answering
    /// segments without data (pure ACKs, RSTs, SYNs) go out at most once per 500 ms, so that two
    /// confused ends cannot ping-pong ACKs at wire speed (Linux's tcp_invalid_ratelimit; RFC 5961
    /// section 7 for challenge ACKs).
    fn oow_ack(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg: &TcpRepr<'_>) {
        let carries_data = !seg.payload.is_empty() || seg.flags.fin();
        if !carries_data || seg.flags.syn() {
            if let Some(t) = self.last_oow_ack
                && now - t < OOW_ACK_INTERVAL
            {
                self.ev(ctx, now, TcpEventKind::Dropped { reason: "ack_rate_limited" });
                return;
            }
            self.last_oow_ack = Some(now);
        }
        self.ack_pending = true;
    }

    pub(super) fn fin_acked_now(&self) -> bool {
        self.fin_seq.is_some_and(|f| self.snd_una > f)
    }

    pub(super) fn check_fin(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        if self.fin_rcvd || self.rcv_fin != Some(self.rcv_nxt) {
            return;
        }
        self.fin_rcvd = true;
        self.rcv_nxt += 1u32;
        self.rcv_adv = self.rcv_adv.max(self.rcv_nxt);
        self.ack_pending = true;
        match self.state {
            TcpState::SynReceived | TcpState::Established => self.set_state(ctx, now, TcpState::CloseWait),
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

    pub(super) fn on_reset(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        match self.state {
            TcpState::SynReceived if self.passive => {
                // Back to LISTEN: the embryonic connection just disappears.
                self.set_state(ctx, now, TcpState::Closed);
            }
            TcpState::SynReceived => self.fail(ctx, now, TcpError::ConnectionRefused),
            TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2 | TcpState::CloseWait => {
                self.fail(ctx, now, TcpError::ConnectionReset)
            }
            _ => self.set_state(ctx, now, TcpState::Closed),
        }
    }

    pub(super) fn receive_text(&mut self, ctx: &mut Ctx<'_>, now: Instant, seq: Seq, payload: &[u8]) {
        // Text beyond the advertised window is not kept (RFC 9293 3.10.7.4, "Seventh").
        let right = self.rcv_adv.max(self.rcv_nxt);
        let before = self.rcv_nxt;
        self.flush_compressed_sack(now, seq, (seq + payload.len()).min(right));
        let out = self.rbuf.insert(&mut self.rcv_nxt, seq, payload, right);
        if out.duplicate || seq < before {
            // Some or all of it had arrived before: D-SACK (RFC 2883 4).
            let end = (seq + payload.len()).min(right);
            self.note_duplicate(ctx, now, seq, end, before, out.duplicate && seq >= before);
        }
        if self.app_closed {
            // Nobody will read it.
            self.rbuf.discard_ready();
        }
        if out.duplicate || (out.filled_hole && !self.rbuf.has_ooo()) {
            // RFC 5681 4.2: immediate ACK for a duplicate and when the gap is filled.
            self.ack_pending = true;
        } else if out.out_of_order || out.filled_hole || self.rbuf.has_ooo() {
            self.ack_out_of_order(ctx, now);
        } else if out.advanced > 0 {
            if !self.cfg.delayed_ack {
                self.ack_pending = true;
            } else {
                // RFC 1122 4.2.3.2 / RFC 5681 4.2: at least every second full-sized segment.
                self.delack_segs += 1;
                if self.delack_segs >= 2 {
                    self.ack_pending = true;
                    // Bulk data: shorten the delay again.
                    self.ato = Duration::from_nanos(self.ato.as_nanos() / 2).max(self.ato_min());
                } else if self.timer(TimerKind::DelayedAck).is_none() {
                    let at = now + self.ato;
                    self.set_timer(ctx, now, TimerKind::DelayedAck, at);
                }
            }
        }
        if out.advanced > 0 {
            self.wake();
        }
    }

    /// An ACK while out-of-order data is held: RFC 5681 4.2 sends it at once; Linux's receiver
    /// (`__tcp_ack_snd_check`, SACK compression, `comp_sack_nr` > 0 and SACK negotiated) sends the
    /// first three duplicate ACKs for each RCV.NXT at once (so that fast retransmit is not
    /// delayed), then holds the rest back for up to `comp_sack_delay` (at most 5% of the RTT), or
    /// until `comp_sack_nr` are held; any ACK sent meanwhile carries the newest SACK blocks.
    fn ack_out_of_order(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        let nr = self.cfg.comp_sack_nr;
        // More than a full segment newly in order since the last ACK: that ACK goes now.
        let advanced = i64::from(self.rcv_nxt - self.last_ack_sent) > i64::from(self.send_mss);
        if nr == 0 || !self.sack_ok || advanced || self.compressed_acks >= nr {
            self.ack_pending = true;
            return;
        }
        if self.comp_rcv_nxt != self.rcv_nxt {
            self.comp_rcv_nxt = self.rcv_nxt;
            self.comp_dupacks = 0;
        }
        if self.comp_dupacks < 3 {
            self.comp_dupacks += 1;
            self.ack_pending = true;
            return;
        }
        self.compressed_acks += 1;
        if self.timer(TimerKind::CompressedAck).is_none() {
            let rtt = self.rtt.srtt().map_or(self.cfg.comp_sack_delay, |r| Duration::from_nanos(r.as_nanos() / 20));
            let at = now + self.cfg.comp_sack_delay.min(rtt);
            self.set_timer(ctx, now, TimerKind::CompressedAck, at);
        }
    }

    /// Linux's `tcp_sack_new_ofo_skb` (with `TCP_SACK_BLOCKS_EXPECTED` = 2): when out-of-order
    /// data [seq, end) is about to start a SACK block or grow one that is not among the two
    /// reported first, while ACKs are held back, the held-back ACK goes now, with the blocks as
    /// they stand: the block this segment moves to the front would otherwise push one that no ACK
    /// has reported yet out of the option's three or four, and the sender would take that data
    /// for lost (RFC 2018 4 asks that each block be repeated in several ACKs for this reason).
    fn flush_compressed_sack(&mut self, now: Instant, seq: Seq, end: Seq) {
        const SACK_BLOCKS_EXPECTED: usize = 2;
        if self.compressed_acks == 0 || seq <= self.rcv_nxt || end <= seq || self.rbuf.holds(seq, end) {
            return;
        }
        if self.rbuf.sack_rank(seq, end) < SACK_BLOCKS_EXPECTED {
            return;
        }
        self.flush_ack = Some(self.options(now, true));
        // That ACK carries a pending D-SACK, and it is the held-back ACK.
        self.dsack_pending = None;
        self.compressed_acks = 0;
        self.cancel_timer(TimerKind::CompressedAck);
    }

    /// RFC 6298 / RFC 7323 4: an RTT sample from the timestamp echo or the timed segment, fed to
    /// the RTO estimator; returns it.
    pub(super) fn take_rtt_sample(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg: &TcpRepr<'_>) -> Option<Duration> {
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
        sample
    }

    /// cwnd grows by every newly delivered byte (`CwndGrowth::Linux`, with SACK).
    fn counts_delivered(&self) -> bool {
        self.sack_ok && self.cfg.cwnd_growth == crate::tcp::CwndGrowth::Linux
    }

    /// Lets the congestion control grow the window for `bytes` delivered (outside recovery); a
    /// `congestion` event if cwnd or ssthresh changed.
    fn cc_on_ack(&mut self, ctx: &mut Ctx<'_>, now: Instant, bytes: u32, flight: u32) {
        let before = (self.cc.cwnd(), self.cc.ssthresh());
        self.cc.on_ack(now, bytes, flight, self.rtt.srtt());
        if before != (self.cc.cwnd(), self.cc.ssthresh()) {
            self.emit_cc(ctx, now, "ack");
        }
    }

    /// Tells the congestion control about an ACK that delivered new data (Linux's
    /// `pkts_acked`); HyStart may end slow start here.
    fn cc_pkts_acked(&mut self, ctx: &mut Ctx<'_>, now: Instant, ts_rtt: Option<Duration>) {
        let sample = AckSample {
            now,
            rtt: self.newest_delivered.map(|(_, rtt)| rtt).or(ts_rtt),
            srtt: self.rtt.srtt(),
            snd_una: self.snd_una,
            snd_nxt: self.snd_nxt,
        };
        if let Some(reason) = self.cc.pkts_acked(&sample) {
            self.emit_cc(ctx, now, reason);
        }
    }

    /// The handshake completed at some point.
    pub fn was_established(&self) -> bool {
        self.established_once
    }

    pub fn rcv_nxt(&self) -> u32 {
        self.rcv_nxt.0
    }

    pub(super) fn flight(&self) -> u32 {
        self.snd_max.since(self.snd_una)
    }

    /// RFC 6675 pipe: unSACKed octets not deemed lost, plus retransmitted ones.
    pub(super) fn pipe(&self) -> u32 {
        if self.rack_on() {
            // RACK: the records say what is SACKed and what is lost (RFC 8985 6.1 leaves the
            // rest to RFC 6675's pipe).
            return self.sent.pipe();
        }
        let lost_b = self.scoreboard.lost_boundary(self.snd_una, self.dupthresh(), self.eff_mss()).min(self.snd_max);
        let total = self.scoreboard.unsacked_in(self.snd_una, self.snd_max);
        let lost = self.scoreboard.unsacked_in(self.snd_una, lost_b);
        let rexmitted = self.scoreboard.unsacked_in(self.snd_una, self.high_rxt.min(self.snd_max));
        total - lost + rexmitted
    }

    pub(super) fn process_ack(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg: &TcpRepr<'_>) {
        self.unanswered_probes = 0;
        let ack = Seq(seg.ack);
        let seq = Seq(seg.seq);
        let mss = self.eff_mss();
        let tsecr = self.tsecr_of(seg);
        self.rack.begin_ack();
        self.newest_delivered = None;
        let news = if self.sack_ok { self.on_sack_option(ctx, now, seg) } else { Default::default() };
        let mut delivered = news.sacked;
        let advanced = ack > self.snd_una;
        let wnd = u32::from(seg.window) << self.snd_wscale;
        if ack > self.snd_una {
            // Eifel (RFC 3522): is this the ACK of an original we thought lost?
            let spurious = self.eifel_spurious(tsecr) && ack > self.snd_una;
            let flight_before = self.flight();
            let mut acked = ack.since(self.snd_una);
            let total_acked = acked;
            if !self.syn_acked {
                self.syn_acked = true;
                acked -= 1;
            }
            self.probe_outstanding = false;
            let consumed = (acked as usize).min(self.sbuf.len());
            self.sbuf.consume(consumed);
            let ts_rtt = self.take_rtt_sample(ctx, now, seg);
            self.snd_una = ack;
            if self.snd_nxt < ack {
                self.snd_nxt = ack;
            }
            if self.high_rxt < ack {
                self.high_rxt = ack;
            }
            self.scoreboard.advance(ack);
            if self.sack_ok {
                delivered += self.on_cum_ack(ctx, now, ack, tsecr);
            }
            if !self.in_recovery && self.recover < ack - 1u32 {
                // Keep "recover" trailing SND.UNA so that the RFC 6582 comparison stays within
                // 2^31 of it on long transfers.
                self.recover = ack - 1u32;
            }
            self.retries = 0;
            self.dupacks = 0;
            self.cc_pkts_acked(ctx, now, ts_rtt);
            if self.in_recovery {
                if ack >= self.recover {
                    // Full ACK: RFC 6582 3.2 step 3 (option 1) / RFC 6675 exit.
                    self.in_recovery = false;
                    self.rexmit_una_pending = false;
                    if self.cfg.undo
                        && !self.undone
                        && self.undo.as_ref().is_some_and(|u| !u.after_rto && u.nothing_retransmitted())
                    {
                        // What was taken for lost arrived before it was resent: reordering, and
                        // the reduction was needless.
                        self.undo_reduction(ctx, now, "no_retransmission");
                    }
                    let ss = self.cc.ssthresh();
                    if self.undone {
                        // The reduction was undone: keep the restored window.
                    } else if self.prr.is_some() {
                        // RFC 6937 section 3: on exit, cwnd = ssthresh.
                        self.cc.set_cwnd(ss);
                    } else {
                        let c = ss.min(self.flight().max(mss) + mss);
                        self.cc.set_cwnd(c);
                    }
                    self.prr = None;
                    self.rack.on_recovery_exit();
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
                // Linux counts what the ACK newly delivered, SACKed bytes included.
                let grow = if self.counts_delivered() { delivered } else { total_acked };
                self.cc_on_ack(ctx, now, grow, flight_before);
            }
            // Linux's tcp_try_undo_partial: while a retransmission is still in flight the
            // evidence is only that this hole was filled by a delayed original, not that the
            // retransmissions were needless (RFC 3522's Eifel test is about the ACK of the
            // retransmitted segment itself): no undo until none is out.
            if spurious && !(self.in_recovery && self.retrans_out()) {
                self.undo_reduction(ctx, now, "timestamp");
            }
            // RFC 6298 5.2 / 5.3: stop the timer when all is acknowledged, else restart it.
            if self.snd_una == self.snd_max {
                self.cancel_timer(TimerKind::Retransmit);
            } else {
                let at = now + self.rtt.rto();
                self.set_timer(ctx, now, TimerKind::Retransmit, at);
            }
            // Freed send-buffer space wakes a blocked writer only once a useful amount is free,
            // as Linux's sk_stream_write_space() does (free >= half of what is still queued), but
            // at most 64 KiB: a writer then fills the buffer in large pieces instead of being woken
            // by every ACK, and a large buffer never waits for a third of itself to drain.
            // Only a writer that was refused space is woken (`nospace`).
            let queued = self.sbuf.len();
            if self.take_write_space((queued / 2).min(WRITE_WAKE_MAX)) {
                self.wake();
            }
        } else if ack == self.snd_una
            && seg.payload.is_empty()
            && !seg.flags.syn()
            && !seg.flags.fin()
            && wnd == self.snd_wnd
            && wnd != 0
            && self.snd_max > self.snd_una
        {
            // A duplicate ACK (RFC 5681 section 2). Not one that reports a zero window: that answers
            // a zero-window probe the receiver refused (RFC 9293 3.8.6.1), it says nothing about
            // segments arriving beyond a hole.
            self.dupacks += 1;
            if self.in_recovery && !self.sack_ok {
                // RFC 6582 3.2 step 4: inflate by one SMSS per additional duplicate ACK.
                let c = self.cc.cwnd() + mss;
                self.cc.set_cwnd(c);
                self.emit_cc(ctx, now, "dupack_inflation");
            }
        }
        if !advanced && news.sacked > 0 {
            self.cc_pkts_acked(ctx, now, None);
            // Linux's tcp_may_raise_cwnd: once the reordering degree exceeds the default 3, SACKs
            // alone are progress enough to grow the window.
            if self.counts_delivered() && !self.in_recovery && self.rack.reordering > DUPTHRESH {
                let flight = self.flight();
                self.cc_on_ack(ctx, now, news.sacked, flight);
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
                if self.probe_outstanding && ack == self.snd_una && self.snd_max == self.snd_una + 1u32 {
                    // The window reopened but the peer did not take the probe byte (RFC 9293
                    // 3.8.6.1: a probe beyond a zero window is not acceptable): it was never
                    // received, so sending resumes at SND.UNA, leaving no one-byte hole that only
                    // an RTO would repair (4.4BSD rewinds SND.NXT likewise).
                    self.snd_nxt = self.snd_una;
                    self.snd_max = self.snd_una;
                }
                self.probe_outstanding = false;
                if self.snd_max > self.snd_una && self.timer(TimerKind::Retransmit).is_none() {
                    let at = now + self.rtt.rto();
                    self.set_timer(ctx, now, TimerKind::Retransmit, at);
                }
            }
        }
        if self.frto.is_some() {
            let dupack = !advanced && seg.payload.is_empty() && news.dsack.is_none();
            self.frto_on_ack(ctx, now, advanced, dupack);
        }
        // Loss detection. RACK (RFC 8985) when it is on; else three duplicate ACKs (RFC 5681 3.2),
        // or IsLost(SND.UNA) from SACK (RFC 6675 section 5) with DupThresh raised to the
        // reordering seen; not again for the same window (RFC 6582 "recover" check).
        if self.rack_on() {
            if self.snd_max > self.snd_una {
                self.rack_detect(ctx, now);
            } else {
                self.cancel_timer(TimerKind::RackReorder);
            }
        } else if !self.in_recovery && self.snd_max > self.snd_una && self.snd_una > self.recover {
            let thresh = self.dupthresh();
            let sack_lost = self.sack_ok && self.scoreboard.lost_boundary(self.snd_una, thresh, mss) > self.snd_una;
            if self.dupacks >= thresh || sack_lost {
                self.enter_recovery(ctx, now);
            }
        }
        if self.in_recovery && self.prr.is_some() {
            self.prr_on_ack(ctx, now, delivered);
        }
        self.tlp_on_ack(ctx, now, advanced, news);
        if advanced {
            self.schedule_pto(ctx, now);
        }
    }

    pub(super) fn enter_recovery(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        let mss = self.eff_mss();
        let flight = self.flight();
        self.begin_reduction(self.cc.cwnd(), self.cc.ssthresh(), false);
        self.cancel_timer(TimerKind::LossProbe);
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
        // step 4.3); with RACK, of the segments it marked lost (RFC 8985 6.1).
        self.rexmit_una_pending = !self.rack_on();
        self.ev(ctx, now, TcpEventKind::RecoveryStart { recover: self.recover.0, sack: self.sack_ok });
        self.emit_cc(ctx, now, "fast_retransmit");
    }
}
