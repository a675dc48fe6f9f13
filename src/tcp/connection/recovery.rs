//! The modern loss recovery of `super::super::recovery` wired into the connection: D-SACK
//! generation and reception (RFC 2883), RACK loss marking and its reordering timer, tail loss
//! probes (RFC 8985), undo of spurious reductions (RFC 3522 / 4015 / 2883) and PRR (RFC 6937).

use super::*;
use crate::tcp::LossDetection;
use crate::tcp::recovery::dsack::{dsack_block, duplicate_part};
use crate::tcp::recovery::prr::Prr;
use crate::tcp::recovery::rack::{Probe, probe_timeout};
use crate::tcp::recovery::sent::SentSeg;
use crate::tcp::recovery::undo::Undo;

/// What the SACK option of one ACK told.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct SackNews {
    /// Bytes newly SACKed.
    pub sacked: u32,
    /// The D-SACK block, if the ACK carried one.
    pub dsack: Option<(Seq, Seq)>,
}

impl Connection {
    /// RACK-TLP is the loss detection (SACK negotiated and `recovery = "rack"`).
    pub(super) fn rack_on(&self) -> bool {
        self.sack_ok && self.cfg.recovery == LossDetection::Rack
    }

    /// D-SACK is in use: SACK negotiated and `dsack` on.
    pub(super) fn dsack_on(&self) -> bool {
        self.sack_ok && self.cfg.dsack
    }

    /// The duplicate-ACK threshold of the dupack rule: DupThresh, raised to the reordering degree
    /// seen when SACK tells it (Linux's tp->reordering).
    pub(super) fn dupthresh(&self) -> u32 {
        if self.sack_ok { self.rack.reordering } else { DUPTHRESH }
    }

    // ------------------------------------------------------------------ receiver: D-SACK

    /// A segment [seq, end) arrived of which part had been received before (below `rcv_nxt_before`,
    /// or all of it out of order when `ooo_dup`): the next ACK reports it first (RFC 2883 4).
    pub(super) fn note_duplicate(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        seq: Seq,
        end: Seq,
        rcv_nxt_before: Seq,
        ooo_dup: bool,
    ) {
        if !self.dsack_on() {
            return;
        }
        let (block, old) = match duplicate_part(seq, end, rcv_nxt_before) {
            Some(b) => (b, true),
            None if ooo_dup => ((seq, end), false),
            None => return,
        };
        self.dsack_pending = Some(block);
        self.ack_pending = true;
        self.ev(ctx, now, TcpEventKind::DsackSent { left: block.0.0, right: block.1.0, old });
    }

    // ------------------------------------------------------------------ sender: SACK, D-SACK, RACK

    /// Reads the SACK option of an ACK: D-SACK first (RFC 2883 4), then the blocks into the
    /// scoreboard and the per-segment records, RACK learning from each newly SACKed segment.
    pub(super) fn on_sack_option(&mut self, ctx: &mut Ctx<'_>, now: Instant, seg: &TcpRepr<'_>) -> SackNews {
        let mut news = SackNews::default();
        let blocks = &seg.options.sack_blocks;
        let dsack = if self.dsack_on() { dsack_block(blocks, Seq(seg.ack)) } else { None };
        let tsecr = self.tsecr_of(seg);
        let mss = self.eff_mss();
        for (i, (l, r)) in blocks.iter().flatten().enumerate() {
            if i == 0 && dsack.is_some() {
                continue;
            }
            let (l, r) = (Seq(*l), Seq(*r));
            self.scoreboard.add(l, r, self.snd_una, self.snd_max);
            let mut newly: Vec<SentSeg> = Vec::new();
            self.sent.sack(l.max(self.snd_una), r.min(self.snd_max), &mut |s| newly.push(*s));
            for s in &newly {
                news.sacked += s.len();
                self.on_delivered(ctx, now, s, tsecr, mss);
            }
        }
        if let Some((l, r)) = dsack {
            news.dsack = Some((l, r));
            self.on_dsack(ctx, now, l, r);
        }
        news
    }

    /// The peer reported [l, r) twice (RFC 2883).
    fn on_dsack(&mut self, ctx: &mut Ctx<'_>, now: Instant, l: Seq, r: Seq) {
        self.ev(ctx, now, TcpEventKind::DsackReceived { left: l.0, right: r.0 });
        // RFC 8985 6.2 step 3: D-SACKs widen the reordering window.
        self.rack.on_dsack(self.snd_nxt.max(self.snd_max));
        if let Some(p) = self.tlp
            && p.retrans
            && r == p.end
        {
            self.tlp_dsacked = true;
        }
        let all_spurious = self.undo.as_mut().is_some_and(|u| u.on_dsack(l, r));
        if all_spurious && self.cfg.undo {
            self.undo_reduction(ctx, now, "dsack");
        }
    }

    /// One segment newly delivered (SACKed or cumulatively acknowledged): reordering check and
    /// RACK's RTT / most recent delivery (RFC 8985 6.2 steps 1 and 2).
    fn on_delivered(&mut self, ctx: &mut Ctx<'_>, now: Instant, s: &SentSeg, tsecr: u32, mss: u32) {
        if let Some(degree) = self.rack.check_reordering(s, mss) {
            self.ev(ctx, now, TcpEventKind::Reordering { degree, threshold: self.rack.reordering });
        }
        self.rack.on_delivered(s, now, tsecr);
        // The newest never-retransmitted segment delivered by this ACK times the round trip for
        // the congestion control (Linux's ca_rtt_us).
        if !s.retransmitted && self.newest_delivered.is_none_or(|(xmit, _)| s.xmit >= xmit) {
            self.newest_delivered = Some((s.xmit, now - s.xmit));
        }
    }

    /// The cumulative ACK moved to `ack`: the records below it are delivered. Returns their bytes.
    pub(super) fn on_cum_ack(&mut self, ctx: &mut Ctx<'_>, now: Instant, ack: Seq, tsecr: u32) -> u32 {
        let mut newly: Vec<SentSeg> = Vec::new();
        self.sent.ack(ack, &mut |s| newly.push(*s));
        let mss = self.eff_mss();
        let mut bytes = 0;
        for s in &newly {
            bytes += s.len();
            self.on_delivered(ctx, now, s, tsecr, mss);
        }
        self.rack.on_ack(ack);
        bytes
    }

    /// The echoed timestamp of a segment, 0 without one.
    pub(super) fn tsecr_of(&self, seg: &TcpRepr<'_>) -> u32 {
        if self.ts_ok { seg.options.timestamps.map_or(0, |t| t.1) } else { 0 }
    }

    /// RACK loss detection (RFC 8985 6.2 step 5) after an ACK or when the reordering timer fires:
    /// marks segments lost, starts recovery for a loss in a new window, arms the timer.
    pub(super) fn rack_detect(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        let reo_wnd = self.rack.reo_wnd(self.in_recovery, self.sent.sacked_count(), self.rtt.srtt());
        let mut lost: Vec<SentSeg> = Vec::new();
        let wait = self.rack.detect_loss(&mut self.sent, now, reo_wnd, &mut |s| lost.push(*s));
        for s in &lost {
            self.ev(ctx, now, TcpEventKind::MarkedLost { seq: s.start.0, len: s.len(), reo_wnd });
        }
        match wait {
            // RFC 8985 6.3: the timer fires when the waiting segment's window has passed.
            Some(d) => self.set_timer(ctx, now, TimerKind::RackReorder, now + d),
            None => self.cancel_timer(TimerKind::RackReorder),
        }
        if !self.in_recovery
            && let Some(first) = self.sent.first_lost(self.snd_una)
            && first.start >= self.recover
        {
            // A loss in a window not yet recovered (RFC 6582's "recover" keeps one reduction per
            // window, and go-back-N covers what an RTO resends).
            self.enter_recovery(ctx, now);
        }
    }

    /// RACK's send step: retransmit lost segments, lowest first, while pipe < cwnd.
    pub(super) fn send_rack_lost(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
    ) -> bool {
        let mss = self.eff_mss();
        let mut sent_any = false;
        loop {
            let cwnd = self.cc.cwnd();
            let pipe = self.pipe();
            if pipe >= cwnd || cwnd - pipe < mss.min(cwnd) {
                break;
            }
            let Some(seg) = self.sent.first_lost(self.snd_una) else { break };
            let data_end = self.data_end();
            let s = seg.start.max(self.snd_una);
            let e = seg.end.min(data_end);
            let len = if e > s { e.since(s).min(mss) } else { 0 };
            let fin = self.fin_sent() && seg.end > data_end && s + len == data_end;
            if len == 0 && !fin {
                // Nothing left of it to send (acknowledged meanwhile): forget the mark.
                if let Some(r) = self.sent.iter_mut().find(|r| r.start == seg.start) {
                    r.lost = false;
                }
                continue;
            }
            let reason =
                if self.episode_rexmits == 0 { RetransmitReason::FastRetransmit } else { RetransmitReason::Sack };
            self.send_data(ctx, now, out, s, len, fin, Some(reason));
            self.high_rxt = self.high_rxt.max(s + len + u32::from(fin));
            sent_any = true;
        }
        sent_any
    }

    /// Bookkeeping after a segment with data or FIN [seq, end) went out: its record, the undo
    /// evidence and PRR's count for a retransmission, the probe timer for new data.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn after_data_sent(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        seq: Seq,
        end: Seq,
        tsval: u32,
        reason: Option<RetransmitReason>,
        new_data: bool,
    ) {
        if self.sack_ok {
            self.sent.on_send(seq, end, now, tsval);
        }
        if let Some(r) = reason
            && r != RetransmitReason::Probe
        {
            if let Some(u) = self.undo.as_mut() {
                u.on_retransmit(tsval, seq, end);
            }
            if self.in_recovery {
                self.episode_rexmits += 1;
            }
        }
        if let Some(p) = self.prr.as_mut()
            && self.in_recovery
        {
            p.on_sent(end.since(seq));
        }
        if new_data && reason.is_none() {
            self.frto_room = self.frto_room.saturating_sub(end.since(seq));
        }
        if new_data && reason.is_none() && !self.tlp_pending {
            self.schedule_pto(ctx, now);
        }
    }

    // ------------------------------------------------------------------ PRR

    /// RFC 6937 on an ACK during SACK recovery: cwnd = pipe + sndcnt.
    pub(super) fn prr_on_ack(&mut self, ctx: &mut Ctx<'_>, now: Instant, delivered: u32) {
        let pipe = self.pipe();
        let ss = self.cc.ssthresh();
        let mss = self.eff_mss();
        let Some(prr) = self.prr.as_mut() else { return };
        let sndcnt = prr.sndcnt(delivered, pipe, ss, mss);
        let c = pipe + sndcnt;
        if c != self.cc.cwnd() {
            self.cc.set_cwnd(c);
            self.emit_cc(ctx, now, "prr");
        }
    }

    /// Starts the bookkeeping of a new reduction (recovery or RTO): what to restore, PRR.
    pub(super) fn begin_reduction(&mut self, cwnd: u32, ssthresh: u32, after_rto: bool) {
        let una = self.snd_una;
        self.undo = self.cfg.undo.then(|| Undo::new(cwnd, ssthresh, after_rto, una));
        self.undone = false;
        self.episode_rexmits = 0;
        self.prr = (!after_rto && self.sack_ok && self.cfg.prr).then(|| Prr::new(self.flight()));
    }

    // ------------------------------------------------------------------ undo

    /// Eifel detection (RFC 3522) on an ACK moving SND.UNA from `old_una`: true if it acknowledges
    /// retransmitted data but echoes a TSval older than the first retransmission.
    pub(super) fn eifel_spurious(&self, tsecr: u32) -> bool {
        self.cfg.undo && !self.undone && self.undo.as_ref().is_some_and(|u| u.eifel(tsecr))
    }

    /// A retransmission is in flight: neither acknowledged, SACKed nor marked lost again (Linux's
    /// `retrans_out` > 0).
    pub(super) fn retrans_out(&self) -> bool {
        self.sent.iter().any(|s| s.retransmitted && !s.sacked && !s.lost)
    }

    /// Restores the window a spurious reduction replaced (RFC 4015 3 / Linux's undo): cwnd and
    /// ssthresh back; after an RTO, go-back-N stops (the originals arrived); PRR stops.
    pub(super) fn undo_reduction(&mut self, ctx: &mut Ctx<'_>, now: Instant, reason: &'static str) {
        let Some(u) = self.undo.take() else { return };
        let (cwnd, ssthresh) = u.restored(self.cc.cwnd(), self.cc.ssthresh());
        self.cc.undo(now, cwnd, ssthresh);
        self.undone = true;
        self.prr = None;
        let episode = if u.after_rto {
            // The retransmissions after the timeout were needless: send new data again.
            self.snd_nxt = self.snd_max;
            "loss"
        } else if self.in_recovery {
            "partial"
        } else {
            "full"
        };
        // A spurious reduction means the network reordered (or delayed) what we thought lost: as
        // far as from where the episode began to the highest segment delivered (Linux's
        // tcp_check_sack_reordering on undo).
        let fack = self.rack.fack().unwrap_or(self.snd_una).max(self.snd_una);
        let degree = fack.since(u.marker).div_ceil(self.eff_mss()).max(1);
        self.rack.note_reordering(degree);
        self.ev(ctx, now, TcpEventKind::Reordering { degree, threshold: self.rack.reordering });
        self.ev(ctx, now, TcpEventKind::Undo { reason, episode, cwnd: self.cc.cwnd(), ssthresh: self.cc.ssthresh() });
        self.emit_cc(ctx, now, "undo");
        if episode == "partial" {
            self.leave_recovery_undone(ctx, now);
        }
    }

    /// A recovery undone part way ends there, as Linux's does (`tcp_try_undo_partial` and
    /// `tcp_try_undo_dsack` go on to `tcp_try_keep_open`): the window grows again at once instead
    /// of waiting for "recover" to be acknowledged, and the segments marked lost are unmarked
    /// (`tcp_undo_cwnd_reduction` with `unmark_loss`), so none of them is resent for nothing.
    fn leave_recovery_undone(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        for s in self.sent.iter_mut() {
            s.lost = false;
        }
        self.in_recovery = false;
        self.rexmit_una_pending = false;
        self.rack.on_recovery_exit();
        self.cc.on_recovery_exit(now);
        self.ev(ctx, now, TcpEventKind::RecoveryEnd { ack: self.snd_una.0 });
    }

    // ------------------------------------------------------------------ F-RTO

    /// RFC 5682 3 steps 2 and 3 on an ACK after a timeout. Step 2: an ACK that advances SND.UNA
    /// (but not to "recover") lets two new segments out instead of going back N; anything else ends
    /// F-RTO (conventional recovery). Step 3: if the next ACK again acknowledges data that was
    /// never retransmitted, the timeout was spurious: undo. A duplicate ACK means a real loss: go
    /// back N after all.
    pub(super) fn frto_on_ack(&mut self, ctx: &mut Ctx<'_>, now: Instant, advanced: bool, dupack: bool) {
        let Some(step) = self.frto else { return };
        if self.undone {
            self.frto = None;
            return;
        }
        match step {
            Frto::FirstAck { recover } => {
                let new_data = self.data_end() > self.snd_max;
                if advanced && self.snd_una < recover && new_data {
                    // Step 2b: the sender keeps its position and sends new data.
                    self.snd_nxt = self.snd_max;
                    self.frto_room = 2 * self.eff_mss();
                    self.frto = Some(Frto::SecondAck);
                } else if advanced || dupack {
                    self.frto = None;
                }
            }
            Frto::SecondAck => {
                if advanced {
                    // Step 3b: data never retransmitted was acknowledged: spurious timeout.
                    self.frto = None;
                    self.frto_room = 0;
                    if self.cfg.undo {
                        self.undo_reduction(ctx, now, "frto");
                    }
                } else if dupack {
                    // Step 3a: a real loss; conventional recovery (go back N).
                    self.frto = None;
                    self.frto_room = 0;
                    self.snd_nxt = self.snd_una;
                }
            }
        }
    }

    // ------------------------------------------------------------------ tail loss probe

    /// RFC 8985 7.2: (re)arms the probe timeout after new data went out or an ACK advanced, when
    /// a probe may be sent: RACK on, not in recovery, no probe outstanding, data in flight.
    pub(super) fn schedule_pto(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        let may = self.rack_on()
            && self.cfg.tlp
            && !self.in_recovery
            && self.tlp.is_none()
            && self.retries == 0
            && self.snd_max > self.snd_una
            && self.snd_wnd > 0;
        if !may {
            self.cancel_timer(TimerKind::LossProbe);
            return;
        }
        let one = self.flight() <= self.eff_mss();
        let rto_at = self.timer(TimerKind::Retransmit).unwrap_or(now + self.rtt.rto());
        let at = (now + probe_timeout(self.rtt.srtt(), one, self.rtt.rto())).min(rto_at);
        if self.timer(TimerKind::LossProbe) != Some(at) {
            self.set_timer(ctx, now, TimerKind::LossProbe, at);
        }
    }

    /// RFC 8985 7.3: the probe timer fired; the probe goes out with the next transmission.
    pub(super) fn on_pto(&mut self) {
        if self.rack_on() && !self.in_recovery && self.tlp.is_none() && self.snd_max > self.snd_una {
            self.tlp_pending = true;
        }
    }

    /// Sends the loss probe: one new segment if the peer's window allows, else the last segment
    /// again; then the RTO is re-armed (RFC 8985 7.3).
    pub(super) fn send_loss_probe(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
    ) -> bool {
        self.tlp_pending = false;
        if self.in_recovery || self.snd_max == self.snd_una || self.snd_nxt < self.snd_max {
            return false;
        }
        let mss = self.eff_mss();
        let data_end = self.data_end();
        let avail = data_end.since(self.snd_nxt);
        let len = avail.min(mss).min(self.wnd_room());
        let (seq, len, retrans) = if len > 0 {
            let seq = self.snd_nxt;
            let fin = self.fin_queued && seq + len == data_end;
            self.send_data(ctx, now, out, seq, len, fin, None);
            self.snd_nxt = seq + len + u32::from(fin);
            (seq, len, false)
        } else {
            let top = self.snd_max.min(data_end);
            let s = self
                .sent
                .last()
                .map_or(self.snd_una, |r| r.start)
                .max(self.snd_una)
                .max(top - mss.min(top.since(self.snd_una)));
            let len = top.since(s);
            let fin = self.fin_sent() && self.snd_max > data_end;
            if len == 0 && !fin {
                return false;
            }
            self.send_data(ctx, now, out, s, len, fin, Some(RetransmitReason::LossProbe));
            (s, len, true)
        };
        self.tlp = Some(Probe { end: self.snd_max, retrans });
        self.tlp_dsacked = false;
        self.cancel_timer(TimerKind::LossProbe);
        self.ev(ctx, now, TcpEventKind::LossProbe { seq: seq.0, len, new_data: !retrans });
        let at = now + self.rtt.rto();
        self.set_timer(ctx, now, TimerKind::Retransmit, at);
        true
    }

    /// RFC 8985 7.4: what an ACK says about the probe in flight. A probe that repaired a loss (its
    /// ACK goes beyond it with no D-SACK for it) still costs a window reduction (7.4.2).
    pub(super) fn tlp_on_ack(&mut self, ctx: &mut Ctx<'_>, now: Instant, advanced: bool, news: SackNews) {
        let Some(p) = self.tlp else { return };
        if self.in_recovery {
            // Recovery took over the repair.
            self.tlp = None;
            return;
        }
        if self.snd_una < p.end {
            return;
        }
        if !p.retrans || self.tlp_dsacked {
            self.tlp = None;
        } else if self.snd_una > p.end {
            self.tlp = None;
            let flight = self.flight();
            self.cc.on_loss(now, flight);
            self.emit_cc(ctx, now, "loss_probe_recovery");
        } else if !advanced && news.sacked == 0 && news.dsack.is_none() {
            // A pure duplicate ACK: original and probe both arrived.
            self.tlp = None;
        }
    }
}
