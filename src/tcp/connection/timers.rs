//! Timer expiries: retransmission (RFC 6298), persist, delayed ACK, TIME-WAIT, FIN-WAIT-2 and
//! keepalive.

use super::*;

impl Connection {
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
                TimerKind::DelayedAck => {
                    self.ack_pending = true;
                    // The second segment did not come in time (interactive traffic): wait longer
                    // next time, up to the configured maximum (Linux's ATO heuristic, simplified).
                    self.ato = self.ato.saturating_mul(2).min(self.ato_max());
                }
                TimerKind::CompressedAck => self.ack_pending = true,
                TimerKind::TimeWait | TimerKind::FinWait2 => self.set_state(ctx, now, TcpState::Closed),
                TimerKind::Keepalive => self.on_keepalive(ctx, now),
                TimerKind::RackReorder => {
                    if self.rack_on() && self.snd_max > self.snd_una {
                        self.rack_detect(ctx, now);
                    }
                }
                TimerKind::LossProbe => self.on_pto(),
            }
            if self.state == TcpState::Closed {
                return;
            }
        }
    }

    pub(super) fn on_rto(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
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
                self.ev(ctx, now, TcpEventKind::RtoBackoff { rto: self.rtt.rto(), retries: self.retries });
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
                self.frto = None;
                self.frto_room = 0;
                if self.retries == 0 {
                    // The first timeout of a window: what it reduces may prove spurious (Eifel
                    // with timestamps, RFC 3522 / 4015, or F-RTO, RFC 5682). Backoffs keep the
                    // first episode's values.
                    self.begin_reduction(self.cc.cwnd(), self.cc.ssthresh(), true);
                    if self.cfg.frto && self.sack_ok && !self.in_recovery {
                        // RFC 5682 3 step 1 (SACK-enhanced): only the first segment is resent
                        // (cwnd is one segment) until the next ACK tells more.
                        self.frto = Some(Frto::FirstAck { recover: self.snd_max });
                    }
                }
                self.retries += 1;
                let flight = self.flight();
                self.cc.on_rto(now, flight);
                self.rtt.backoff();
                self.ev(ctx, now, TcpEventKind::RtoBackoff { rto: self.rtt.rto(), retries: self.retries });
                self.emit_cc(ctx, now, "rto");
                // Go back N from SND.UNA. RFC 2018 section 8: SACK information is not trusted
                // after a timeout. RFC 6582: recover <- highest sequence sent, so the duplicate ACKs
                // the retransmissions cause do not trigger a fast retransmit.
                self.snd_nxt = self.snd_una;
                if self.in_recovery {
                    self.ev(ctx, now, TcpEventKind::RecoveryEnd { ack: self.snd_una.0 });
                }
                self.in_recovery = false;
                self.rexmit_una_pending = false;
                self.dupacks = 0;
                self.recover = self.snd_max;
                self.high_rxt = self.snd_una;
                self.scoreboard.clear();
                self.sent.reset_marks(false);
                self.rack.on_rto();
                self.prr = None;
                self.tlp = None;
                self.tlp_pending = false;
                self.cancel_timer(TimerKind::LossProbe);
                self.cancel_timer(TimerKind::RackReorder);
                self.rtt_timing = None;
            }
        }
    }

    /// ICMP destination unreachable, "fragmentation needed and DF set" (RFC 1191), quoting one of
    /// our segments with sequence number `quoted_seq`; `mtu` is the next-hop MTU.
    pub fn on_frag_needed(&mut self, ctx: &mut Ctx<'_>, now: Instant, quoted_seq: u32, mtu: u16) {
        // RFC 5927 section 4.1: believe the error only if the quoted segment is one in flight
        // (SND.UNA <= SEG.SEQ < SND.MAX); anything else may be forged or stale.
        let seq = Seq(quoted_seq);
        if !(self.snd_una <= seq && seq < self.snd_max) {
            self.ev(ctx, now, TcpEventKind::Dropped { reason: "icmp_seq_not_in_flight" });
            return;
        }
        // RFC 1191 section 3 / RFC 791: no IPv4 path carries less than 68 octets; an MTU that does
        // not shrink our segments is no news (nor a way to make us grow them).
        if mtu < 68 {
            self.ev(ctx, now, TcpEventKind::Dropped { reason: "icmp_mtu_too_small" });
            return;
        }
        let mss = u32::from(mtu) - 40;
        if mss >= self.send_mss {
            self.ev(ctx, now, TcpEventKind::Dropped { reason: "icmp_mtu_not_smaller" });
            return;
        }
        self.send_mss = mss;
        // cwnd (in bytes) is kept: a smaller MTU is not congestion.
        let cwnd = self.cc.cwnd();
        let eff = self.eff_mss();
        self.cc.set_mss(eff);
        self.cc.set_cwnd(cwnd.max(2 * eff));
        self.ev(ctx, now, TcpEventKind::PathMtu { mtu, mss });
        if self.is_synchronized() && self.snd_max > self.snd_una {
            // RFC 1191 section 6.4: retransmit at once, at the new size. Every segment sent above
            // the new MSS was dropped: go back to SND.UNA without backing off the RTO or reducing
            // cwnd (Linux's tcp_simple_retransmit does the same), and with "recover" at SND.MAX so
            // that the duplicate ACKs this may cause do not start a fast retransmit (RFC 6582).
            self.snd_nxt = self.snd_una;
            self.rtt_timing = None;
            if !self.in_recovery {
                self.recover = self.snd_max;
            }
            let at = now + self.rtt.rto();
            self.set_timer(ctx, now, TimerKind::Retransmit, at);
        }
    }

    /// Arms the keepalive timer once established; on expiry `on_keepalive` checks the actual idle
    /// time and re-arms, so segment arrivals need not touch it.
    pub(super) fn rearm_keepalive(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        if let Some(idle) = self.cfg.keepalive
            && self.state == TcpState::Established
            && !idle.is_zero()
            && self.timer(TimerKind::Keepalive).is_none()
        {
            let at = self.last_rx + idle;
            self.set_timer(ctx, now, TimerKind::Keepalive, at);
        }
    }

    pub(super) fn on_keepalive(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
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
}
