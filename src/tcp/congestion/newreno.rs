//! RFC 5681 slow start and congestion avoidance (the recovery part of NewReno, RFC 6582, is in the
//! connection, which inflates and deflates cwnd through `set_cwnd`).

use super::{CongestionControl, initial_window};
use crate::sim::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct NewReno {
    cwnd: u32,
    ssthresh: u32,
    mss: u32,
    iw_segments: u32,
    /// Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 5681 eq. 3 variant with
    /// byte counting, RFC 3465).
    acked_acc: u32,
    /// Slow start adds at most one SMSS per ACK (RFC 5681 eq. 2); else every acknowledged byte,
    /// up to ssthresh (Linux's `tcp_slow_start`).
    ss_one_smss: bool,
    /// A reduction halves cwnd in whole segments (Linux's `tcp_reno_ssthresh`) rather than
    /// FlightSize (RFC 5681 eq. 4).
    halve_cwnd: bool,
}

impl NewReno {
    pub fn new(mss: u32, iw_segments: u32) -> Self {
        NewReno {
            cwnd: initial_window(iw_segments, mss),
            // RFC 5681 3.1: initial ssthresh arbitrarily high.
            ssthresh: u32::MAX,
            mss,
            iw_segments,
            acked_acc: 0,
            ss_one_smss: true,
            halve_cwnd: false,
        }
    }
    /// Slow start adds at most one SMSS per ACK (`true`, RFC 5681) or all it acknowledges.
    pub fn with_one_smss_per_ack(mut self, on: bool) -> Self {
        self.ss_one_smss = on;
        self
    }
    /// A reduction halves cwnd, in whole segments, as Linux does (`true`), or FlightSize (RFC 5681).
    pub fn with_halved_cwnd(mut self, on: bool) -> Self {
        self.halve_cwnd = on;
        self
    }
    /// The ssthresh of a reduction. RFC 5681 eq. 4: max(FlightSize / 2, 2*SMSS). Linux's
    /// `tcp_reno_ssthresh` halves cwnd in segments instead, which differs where FlightSize has
    /// outgrown cwnd: a recovery that begins as the last one ends still counts as outstanding
    /// what was SACKed or is to be resent (RFC 6675 sent new data for it while pipe < cwnd), and
    /// half of that can be more than cwnd, a "reduction" that grows the window.
    fn reduced(&self, flight: u32) -> u32 {
        if self.halve_cwnd { (self.cwnd / self.mss / 2).max(2) * self.mss } else { (flight / 2).max(2 * self.mss) }
    }
}

impl CongestionControl for NewReno {
    fn cwnd(&self) -> u32 {
        self.cwnd
    }
    fn ssthresh(&self) -> u32 {
        self.ssthresh
    }
    fn set_cwnd(&mut self, cwnd: u32) {
        self.cwnd = cwnd.max(self.mss);
    }
    fn on_ack(&mut self, _now: Instant, acked: u32, _flight: u32, _srtt: Option<Duration>) {
        if self.cwnd < self.ssthresh {
            // RFC 5681 eq. 2: cwnd += min(N, SMSS); Linux adds N, up to ssthresh.
            if self.ss_one_smss {
                self.cwnd = self.cwnd.saturating_add(acked.min(self.mss));
            } else {
                self.cwnd = self.cwnd.saturating_add(acked).min(self.ssthresh);
            }
        } else {
            // RFC 5681 eq. 3 with appropriate byte counting: one SMSS per cwnd of acknowledged bytes.
            self.acked_acc += acked;
            if self.acked_acc >= self.cwnd {
                self.acked_acc -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(self.mss);
            }
        }
    }
    fn on_loss(&mut self, _now: Instant, flight: u32) {
        self.ssthresh = self.reduced(flight);
        self.cwnd = self.ssthresh;
        self.acked_acc = 0;
    }
    fn on_rto(&mut self, _now: Instant, flight: u32) {
        self.ssthresh = self.reduced(flight);
        self.cwnd = self.mss;
        self.acked_acc = 0;
    }
    fn on_recovery_exit(&mut self, _now: Instant) {
        self.acked_acc = 0;
    }
    fn undo(&mut self, _now: Instant, cwnd: u32, ssthresh: u32) {
        self.cwnd = cwnd.max(self.mss);
        self.ssthresh = ssthresh;
        self.acked_acc = 0;
    }
    fn set_mss(&mut self, mss: u32) {
        self.mss = mss;
        self.cwnd = initial_window(self.iw_segments, mss);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_then_avoidance() {
        let t = Instant::ZERO;
        let mut c = NewReno::new(1000, 10);
        assert_eq!(c.cwnd(), 10_000);
        c.on_ack(t, 1000, 0, None);
        assert_eq!(c.cwnd(), 11_000);
        c.on_loss(t, 11_000);
        assert_eq!((c.cwnd(), c.ssthresh()), (5500, 5500));
        for _ in 0..5 {
            c.on_ack(t, 1000, 0, None);
        }
        assert_eq!(c.cwnd(), 5500);
        c.on_ack(t, 1000, 0, None);
        assert_eq!(c.cwnd(), 6500);
        c.on_rto(t, 3000);
        assert_eq!((c.cwnd(), c.ssthresh()), (1000, 2000));
    }

    #[test]
    fn one_ack_for_many_segments_grows_slow_start_by_all_of_them_as_linux_does() {
        // A cumulative ACK that arrives after reordering held a segment back covers ten.
        let t = Instant::ZERO;
        let mut linux = NewReno::new(1000, 10).with_one_smss_per_ack(false);
        let mut rfc = NewReno::new(1000, 10).with_one_smss_per_ack(true);
        linux.on_ack(t, 10_000, 0, None);
        rfc.on_ack(t, 10_000, 0, None);
        assert_eq!(linux.cwnd(), 20_000, "Linux: every acknowledged byte");
        assert_eq!(rfc.cwnd(), 11_000, "RFC 5681 eq. 2: at most one SMSS");
    }

    #[test]
    fn linux_halves_cwnd_where_rfc_5681_halves_a_flightsize_that_outgrew_it() {
        // A recovery starts as the last one ends: 200 segments outstanding (most of them SACKed
        // or to be resent) against a cwnd of 50.5 segments.
        let t = Instant::ZERO;
        let mut linux = NewReno::new(1000, 10).with_halved_cwnd(true);
        let mut rfc = NewReno::new(1000, 10);
        for c in [&mut linux, &mut rfc] {
            c.set_cwnd(50_500);
            c.on_loss(t, 200_000);
        }
        assert_eq!(linux.ssthresh(), 25_000, "Linux: half of cwnd's 50 whole segments");
        assert_eq!(rfc.ssthresh(), 100_000, "RFC 5681 eq. 4: half of FlightSize, above cwnd");
        linux.on_rto(t, 200_000);
        assert_eq!((linux.cwnd(), linux.ssthresh()), (1000, 12_000), "after an RTO too, from cwnd");
    }

    #[test]
    fn linux_slow_start_stops_at_ssthresh() {
        let t = Instant::ZERO;
        let mut c = NewReno::new(1000, 10).with_one_smss_per_ack(false);
        c.on_loss(t, 30_000); // ssthresh 15,000, cwnd 15,000
        c.on_rto(t, 30_000); // cwnd 1 SMSS, ssthresh 15,000
        c.on_ack(t, 40_000, 0, None);
        assert_eq!(c.cwnd(), 15_000);
    }
}
