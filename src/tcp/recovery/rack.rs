//! RACK (RFC 8985): time-based loss detection. A segment is lost once a segment sent after it has
//! been delivered (SACKed or cumulatively acknowledged) and a reordering window has passed since
//! it should have been. The window starts at min_RTT / 4 once reordering has been seen, grows by
//! that step for each round trip with D-SACKs (section 6.2 step 3), and decays after 16 recoveries
//! without any. Also here: the reordering degree (Linux's tp->reordering), which the dupack rule
//! uses as its threshold, and the tail loss probe's state (section 7).

use super::sent::{SentMap, SentSeg};
use crate::sim::{Duration, Instant};
use crate::tcp::seq::Seq;

/// RFC 6675 DupThresh, the reordering degree assumed until a larger one is seen.
pub const DUPTHRESH: u32 = 3;
/// Largest reordering degree tracked (Linux's tcp_max_reordering).
const MAX_REORDERING: u32 = 300;
/// Recoveries a grown reordering window persists without D-SACKs (RFC 8985 6.2 step 3).
const REO_WND_PERSIST: u32 = 16;
/// Largest reordering window multiplier (Linux keeps it in a byte).
const MAX_REO_WND_MULT: u32 = 255;

/// RACK's state for one connection.
#[derive(Debug, Clone)]
pub struct Rack {
    /// Send time and end of the most recently sent segment known delivered (RACK.xmit_ts,
    /// RACK.end_seq).
    xmit: Option<(Instant, Seq)>,
    /// RTT of that segment (RACK.rtt).
    rtt: Duration,
    /// Smallest RTT sample seen (RACK.min_RTT).
    min_rtt: Option<Duration>,
    /// End of the highest segment delivered (RACK.fack).
    fack: Option<Seq>,
    /// RACK.fack before the ACK being processed: reordering is judged against it, so that a
    /// cumulative ACK and a SACK block of the same ACK never make each other look reordered.
    prior_fack: Option<Seq>,
    /// Reordering has been observed on this connection (RACK.reordering_seen).
    pub reordering_seen: bool,
    reo_wnd_mult: u32,
    reo_wnd_persist: u32,
    /// SND.NXT when the window last grew on a D-SACK: one growth per round trip.
    dsack_round: Option<Seq>,
    /// The reordering degree in segments: DupThresh, raised to the largest degree seen.
    pub reordering: u32,
}

impl Default for Rack {
    fn default() -> Self {
        Rack {
            xmit: None,
            rtt: Duration::ZERO,
            min_rtt: None,
            fack: None,
            prior_fack: None,
            reordering_seen: false,
            reo_wnd_mult: 1,
            reo_wnd_persist: 0,
            dsack_round: None,
            reordering: DUPTHRESH,
        }
    }
}

/// RFC 8985 `RACK_sent_after`: sent later, or at the same time but higher in sequence.
fn sent_after(t1: Instant, end1: Seq, t2: Instant, end2: Seq) -> bool {
    t1 > t2 || (t1 == t2 && end1 > end2)
}

impl Rack {
    /// An ACK is about to be processed: RACK.fack as it stands is what earlier ACKs delivered.
    pub fn begin_ack(&mut self) {
        self.prior_fack = self.fack;
    }

    /// A retransmission timeout forgot every SACK (RFC 2018 section 8): what is SACKed again was
    /// not overtaken by anything, so RACK.fack starts afresh.
    pub fn on_rto(&mut self) {
        self.fack = None;
        self.prior_fack = None;
    }

    /// RFC 8985 6.2 step 1: a segment that was never retransmitted and is delivered below the
    /// highest sequence an earlier ACK delivered arrived out of order (Linux compares with the
    /// fack prior to the ACK likewise). Returns its degree in segments.
    pub fn check_reordering(&mut self, seg: &SentSeg, mss: u32) -> Option<u32> {
        let degree = match self.prior_fack {
            Some(prior) if seg.end < prior && !seg.retransmitted && !seg.sacked_before_rto => {
                Some(prior.since(seg.start).div_ceil(mss.max(1)))
            }
            _ => None,
        };
        self.fack = Some(self.fack.map_or(seg.end, |f| f.max(seg.end)));
        if let Some(d) = degree {
            self.note_reordering(d);
        }
        degree
    }

    /// Reordering of `degree` segments was observed (directly, or proven by an undo).
    pub fn note_reordering(&mut self, degree: u32) {
        self.reordering_seen = true;
        self.reordering = self.reordering.max(degree).min(MAX_REORDERING);
    }

    /// RFC 8985 6.2 step 2 (`RACK_update`) for a newly delivered segment; `tsecr` is the ACK's
    /// echoed timestamp (0 without timestamps).
    pub fn on_delivered(&mut self, seg: &SentSeg, now: Instant, tsecr: u32) {
        let rtt = now - seg.xmit;
        if seg.retransmitted {
            // Ambiguous: the ACK may be for the original. Timestamps tell (RFC 8985 6.2 step 2),
            // and so does an RTT shorter than any possible one.
            let echo_older = tsecr != 0 && seg.tsval != 0 && (tsecr.wrapping_sub(seg.tsval) as i32) < 0;
            if echo_older || self.min_rtt.is_some_and(|m| rtt < m) {
                return;
            }
        }
        self.rtt = rtt;
        self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
        match self.xmit {
            Some((t, e)) if !sent_after(seg.xmit, seg.end, t, e) => {}
            _ => self.xmit = Some((seg.xmit, seg.end)),
        }
    }

    /// RFC 8985 6.2 step 3, first half: an ACK with a D-SACK grows the window, once per round
    /// trip (`snd_nxt` marks the round).
    pub fn on_dsack(&mut self, snd_nxt: Seq) {
        if self.dsack_round.is_none() {
            self.reo_wnd_mult = (self.reo_wnd_mult + 1).min(MAX_REO_WND_MULT);
            self.reo_wnd_persist = REO_WND_PERSIST;
            self.dsack_round = Some(snd_nxt);
        }
    }

    /// RFC 8985 6.2 step 3: the D-SACK round ends once SND.UNA passes it.
    pub fn on_ack(&mut self, snd_una: Seq) {
        if self.dsack_round.is_some_and(|r| snd_una >= r) {
            self.dsack_round = None;
        }
    }

    /// RFC 8985 6.2 step 3, second half: each recovery without D-SACK wears the grown window down.
    pub fn on_recovery_exit(&mut self) {
        if self.reo_wnd_persist > 0 {
            self.reo_wnd_persist -= 1;
            if self.reo_wnd_persist == 0 {
                self.reo_wnd_mult = 1;
            }
        }
    }

    /// RFC 8985 6.2 step 4 (`RACK_update_reo_wnd`): zero while no reordering was seen and either
    /// recovery is under way or `reordering` segments are SACKed (the dupack rule would fire
    /// anyway); else min_RTT / 4 per step, at most SRTT.
    pub fn reo_wnd(&self, in_recovery: bool, sacked_segs: u32, srtt: Option<Duration>) -> Duration {
        if !self.reordering_seen && (in_recovery || sacked_segs >= self.reordering) {
            return Duration::ZERO;
        }
        let Some(min_rtt) = self.min_rtt else { return Duration::ZERO };
        let w = Duration::from_nanos(min_rtt.as_nanos() / 4).saturating_mul(u64::from(self.reo_wnd_mult));
        srtt.map_or(w, |s| w.min(s))
    }

    /// The end of the highest segment delivered so far (RACK.fack).
    pub fn fack(&self) -> Option<Seq> {
        self.fack
    }

    /// The current reordering window multiplier (RACK.reo_wnd_mult).
    #[cfg(test)]
    pub fn reo_wnd_mult(&self) -> u32 {
        self.reo_wnd_mult
    }

    /// RFC 8985 6.2 step 5 (`RACK_detect_loss`): marks lost every segment not yet delivered that
    /// was sent before the most recently delivered one and whose time plus RACK.rtt plus the
    /// window has passed; `on_lost` sees each. Returns how long until the next segment would be
    /// (the reordering timer), if any is waiting.
    pub fn detect_loss(
        &self,
        map: &mut SentMap,
        now: Instant,
        reo_wnd: Duration,
        on_lost: &mut dyn FnMut(&SentSeg),
    ) -> Option<Duration> {
        let (rack_t, rack_end) = self.xmit?;
        let mut timeout: Option<Duration> = None;
        let mut marked = false;
        for seg in map.iter_mut() {
            if seg.sacked || seg.lost || !sent_after(rack_t, rack_end, seg.xmit, seg.end) {
                continue;
            }
            let deadline = seg.xmit + self.rtt + reo_wnd;
            if deadline <= now {
                seg.lost = true;
                marked = true;
                on_lost(seg);
            } else {
                let left = deadline - now;
                timeout = Some(timeout.map_or(left, |t| t.max(left)));
            }
        }
        if marked {
            map.note_lost();
        }
        timeout
    }
}

/// RFC 8985 7.2: the probe timeout. 2 * SRTT, plus the worst-case delayed ACK when a single
/// segment is in flight (or 2 ms otherwise, as Linux adds), and never later than the RTO.
pub fn probe_timeout(srtt: Option<Duration>, one_segment: bool, rto: Duration) -> Duration {
    let pto = match srtt {
        Some(s) => {
            let extra = if one_segment { Duration::from_millis(200) } else { Duration::from_millis(2) };
            s.saturating_mul(2) + extra
        }
        None => Duration::from_secs(1),
    };
    pto.min(rto)
}

/// The tail loss probe in flight (RFC 8985 7.4: TLP.end_seq, TLP.is_retrans).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// SND.NXT after the probe went out.
    pub end: Seq,
    /// The probe resent the last segment (rather than new data).
    pub retrans: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    fn map_of(n: u32) -> SentMap {
        let mut m = SentMap::default();
        for k in 0..n {
            m.on_send(Seq(k * 1000), Seq(k * 1000 + 1000), t(u64::from(k)), 0);
        }
        m
    }

    #[test]
    fn a_segment_sent_before_a_delivered_one_is_lost_after_the_window() {
        let mut m = map_of(4);
        let mut rack = Rack::default();
        let mut delivered = Vec::new();
        m.sack(Seq(1000), Seq(4000), &mut |s| delivered.push(*s));
        for s in &delivered {
            rack.on_delivered(s, t(13), 0);
        }
        // Three SACKed segments, no reordering seen: the window is zero, segment 0 is lost now.
        let w = rack.reo_wnd(false, m.sacked_count(), None);
        assert_eq!(w, Duration::ZERO);
        let mut lost = Vec::new();
        rack.detect_loss(&mut m, t(13), w, &mut |s| lost.push(s.start));
        assert_eq!(lost, vec![Seq(0)]);
    }

    #[test]
    fn once_reordering_is_seen_the_window_waits_and_dsacks_grow_it() {
        let mut m = map_of(2);
        let mut rack = Rack::default();
        let mut d = Vec::new();
        m.sack(Seq(1000), Seq(2000), &mut |s| d.push(*s));
        rack.on_delivered(&d[0], t(11), 0);
        rack.check_reordering(&d[0], 1000);
        rack.note_reordering(2);
        let w = rack.reo_wnd(false, 1, None);
        // min_RTT 10 ms: a quarter of it.
        assert_eq!(w, Duration::from_micros(2500));
        let mut lost = Vec::new();
        let left = rack.detect_loss(&mut m, t(11), w, &mut |s| lost.push(s.start));
        assert!(lost.is_empty());
        assert_eq!(left, Some(Duration::from_micros(1500)));
        rack.on_dsack(Seq(2000));
        rack.on_dsack(Seq(2000));
        assert_eq!(rack.reo_wnd_mult(), 2, "one growth per round trip");
        rack.on_ack(Seq(2000));
        rack.on_dsack(Seq(3000));
        assert_eq!(rack.reo_wnd_mult(), 3);
        for _ in 0..16 {
            rack.on_recovery_exit();
        }
        assert_eq!(rack.reo_wnd_mult(), 1, "decays after 16 recoveries without D-SACK");
    }

    /// Segment `k` of 1000 bytes, sent once at time 0.
    fn seg(k: u32) -> SentSeg {
        SentSeg {
            start: Seq(k * 1000),
            end: Seq(k * 1000 + 1000),
            xmit: t(0),
            tsval: 0,
            retransmitted: false,
            sacked: false,
            lost: false,
            sacked_before_rto: false,
        }
    }

    #[test]
    fn reordering_degree_counts_the_segments_overtaken() {
        let mut rack = Rack::default();
        rack.begin_ack();
        assert_eq!(rack.check_reordering(&seg(9), 1000), None);
        rack.begin_ack();
        assert_eq!(rack.check_reordering(&seg(2), 1000), Some(8));
        assert_eq!(rack.reordering, 8);
        assert!(rack.reordering_seen);
    }

    #[test]
    fn one_ack_delivering_below_and_above_is_not_reordering() {
        let mut rack = Rack::default();
        rack.begin_ack();
        assert_eq!(rack.check_reordering(&seg(0), 1000), None);
        // One ACK: a SACK block for segment 5 (read first), the cumulative part up to segment 3.
        rack.begin_ack();
        assert_eq!(rack.check_reordering(&seg(5), 1000), None);
        for k in 1..4 {
            assert_eq!(rack.check_reordering(&seg(k), 1000), None, "segment {k}");
        }
        assert!(!rack.reordering_seen);
        // After a timeout has forgotten the SACKs, SACKing 5 and then 4 again is no news either.
        rack.on_rto();
        for k in [5, 4] {
            rack.begin_ack();
            let again = SentSeg { sacked_before_rto: true, ..seg(k) };
            assert_eq!(rack.check_reordering(&again, 1000), None, "segment {k} after the RTO");
        }
        assert!(!rack.reordering_seen);
    }
}
