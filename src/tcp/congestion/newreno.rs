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
        }
    }
    /// Slow start adds at most one SMSS per ACK (`true`, RFC 5681) or all it acknowledges.
    pub fn with_one_smss_per_ack(mut self, on: bool) -> Self {
        self.ss_one_smss = on;
        self
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
        // RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2*SMSS).
        self.ssthresh = (flight / 2).max(2 * self.mss);
        self.cwnd = self.ssthresh;
        self.acked_acc = 0;
    }
    fn on_rto(&mut self, _now: Instant, flight: u32) {
        self.ssthresh = (flight / 2).max(2 * self.mss);
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
    fn linux_slow_start_stops_at_ssthresh() {
        let t = Instant::ZERO;
        let mut c = NewReno::new(1000, 10).with_one_smss_per_ack(false);
        c.on_loss(t, 30_000); // ssthresh 15,000, cwnd 15,000
        c.on_rto(t, 30_000); // cwnd 1 SMSS, ssthresh 15,000
        c.on_ack(t, 40_000, 0, None);
        assert_eq!(c.cwnd(), 15_000);
    }
}
