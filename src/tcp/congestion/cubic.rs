//! CUBIC, RFC 9438: W_cubic(t) = C*(t-K)^3 + W_max, with the Reno-friendly region (section 4.3),
//! fast convergence (4.7) and beta_cubic = 0.7. Slow start is RFC 5681's, ended early by HyStart
//! (`hystart.rs`) as in Linux unless turned off; while no W_max is known (no loss yet, or since
//! a timeout) the window grows at least 5% per RTT, as Linux's `bictcp_update` does. With
//! `cwnd_growth = "linux"` congestion avoidance runs Linux's integer arithmetic
//! (`cubic_linux.rs`); with `"rfc5681"` it is RFC 9438 as written.

use super::cubic_linux::LinuxCa;
use super::hystart::{HyStart, Window};
use super::{AckSample, CongestionControl, initial_window};
use crate::sim::{Duration, Instant};

const C: f64 = 0.4;
const BETA: f64 = 0.7;

#[derive(Debug, Clone)]
pub struct Cubic {
    /// cwnd in bytes, fractional so that per-ACK increments accumulate.
    cwnd: f64,
    ssthresh: u32,
    mss: u32,
    iw_segments: u32,
    /// W_max in segments.
    w_max: f64,
    k: f64,
    epoch_start: Option<Instant>,
    /// Reno-friendly estimate, in segments (section 4.3).
    w_est: f64,
    /// No W_max is known: no loss yet, or none since the last timeout (Linux's
    /// `last_max_cwnd == 0`).
    no_max: bool,
    /// HyStart, when on.
    hystart: Option<HyStart>,
    /// Slow start adds at most one SMSS per ACK (RFC 5681 eq. 2); else every acknowledged byte,
    /// up to ssthresh (Linux's `tcp_slow_start`).
    ss_one_smss: bool,
    /// Linux's congestion avoidance arithmetic (`cwnd_growth = "linux"`), else RFC 9438's.
    linux: Option<LinuxCa>,
}

impl Cubic {
    pub fn new(mss: u32, iw_segments: u32) -> Self {
        Cubic {
            cwnd: f64::from(initial_window(iw_segments, mss)),
            ssthresh: u32::MAX,
            mss,
            iw_segments,
            w_max: 0.0,
            k: 0.0,
            epoch_start: None,
            w_est: 0.0,
            no_max: true,
            hystart: None,
            ss_one_smss: true,
            linux: None,
        }
    }
    /// RFC arithmetic (`true`): slow start adds at most one SMSS per ACK (RFC 5681) and
    /// congestion avoidance is RFC 9438's; else Linux's: slow start adds all an ACK delivers and
    /// congestion avoidance is `bictcp_update`'s (`cubic_linux.rs`).
    pub fn with_one_smss_per_ack(mut self, on: bool) -> Self {
        self.ss_one_smss = on;
        self.linux = (!on).then(LinuxCa::default);
        self
    }
    /// Turns HyStart on or off (off: slow start lasts until ssthresh or a loss).
    pub fn with_hystart(mut self, on: bool) -> Self {
        self.hystart = on.then(HyStart::default);
        self
    }
    fn segs(&self) -> f64 {
        self.cwnd / f64::from(self.mss)
    }
    fn w_cubic(&self, t: f64) -> f64 {
        C * (t - self.k).powi(3) + self.w_max
    }
}

impl CongestionControl for Cubic {
    fn cwnd(&self) -> u32 {
        self.cwnd as u32
    }
    fn ssthresh(&self) -> u32 {
        self.ssthresh
    }
    fn set_cwnd(&mut self, cwnd: u32) {
        self.cwnd = f64::from(cwnd.max(self.mss));
    }
    fn on_ack(&mut self, now: Instant, acked: u32, _flight: u32, srtt: Option<Duration>) {
        let mss = f64::from(self.mss);
        if (self.cwnd as u32) < self.ssthresh {
            if self.ss_one_smss {
                self.cwnd += f64::from(acked.min(self.mss));
            } else {
                // Linux's tcp_slow_start: every acknowledged byte, up to ssthresh.
                self.cwnd = (self.cwnd + f64::from(acked)).min(f64::from(self.ssthresh));
            }
            return;
        }
        if let Some(ca) = &mut self.linux {
            // Whole segments, as Linux counts them (a short segment is one packet).
            let cwnd_segs = (self.cwnd as u32 / self.mss).max(1);
            let w_max = if self.no_max { 0 } else { self.w_max as u32 };
            let new = ca.on_ack(now, cwnd_segs, acked.div_ceil(self.mss), w_max);
            self.cwnd = f64::from(new * self.mss);
            return;
        }
        let cwnd_segs = self.segs();
        let start = match self.epoch_start {
            Some(s) => s,
            None => {
                // Section 4.2: a new congestion avoidance epoch.
                self.epoch_start = Some(now);
                if self.w_max <= cwnd_segs {
                    self.w_max = cwnd_segs;
                    self.k = 0.0;
                } else {
                    self.k = ((self.w_max - cwnd_segs) / C).cbrt();
                }
                self.w_est = cwnd_segs;
                now
            }
        };
        let rtt = srtt.map(|d| d.as_secs_f64()).unwrap_or(0.1);
        let t = (now - start).as_secs_f64();
        let acked_segs = f64::from(acked) / mss;
        // Section 4.3: W_est grows by alpha_cubic per RTT.
        let alpha = 3.0 * (1.0 - BETA) / (1.0 + BETA);
        self.w_est += alpha * acked_segs / cwnd_segs;
        let w_cubic_now = self.w_cubic(t);
        if w_cubic_now < self.w_est {
            // Reno-friendly region.
            self.cwnd = self.w_est * mss;
        } else {
            // Section 4.4/4.5: target = W_cubic(t + RTT), clamped to [cwnd, 1.5 cwnd].
            let target = self.w_cubic(t + rtt).clamp(cwnd_segs, 1.5 * cwnd_segs);
            self.cwnd += (target - cwnd_segs) / cwnd_segs * acked_segs * mss;
        }
        if self.no_max {
            // Linux (bictcp_update, "increase cwnd 5% per RTT"): the curve from an unknown W_max
            // is too cautious while the bandwidth is still unknown. Not in RFC 9438.
            self.cwnd = self.cwnd.max((cwnd_segs + 0.05 * acked_segs) * mss);
        }
    }
    fn pkts_acked(&mut self, sample: &AckSample) -> Option<&'static str> {
        if let (Some(ca), Some(rtt)) = (&mut self.linux, sample.rtt) {
            ca.rtt_sample(rtt);
        }
        let w = Window { cwnd: self.cwnd(), mss: self.mss, in_slow_start: self.cwnd() < self.ssthresh };
        let exit = self.hystart.as_mut()?.on_ack(sample, w)?;
        self.ssthresh = self.cwnd();
        Some(exit.reason())
    }
    fn on_loss(&mut self, _now: Instant, _flight: u32) {
        self.no_max = false;
        self.epoch_start = None;
        if let Some(ca) = &mut self.linux {
            // Linux's bictcp_recalc_ssthresh, in whole segments with beta = 717/1024.
            ca.reset_epoch();
            let segs = (self.cwnd as u32 / self.mss).max(1);
            let w_max = self.w_max as u32;
            self.w_max = f64::from(if segs < w_max { segs * (1024 + 717) / 2048 } else { segs });
            let ss = (segs * 717 / 1024).max(2) * self.mss;
            self.ssthresh = ss;
            self.cwnd = f64::from(ss);
            return;
        }
        let segs = self.segs();
        // Section 4.7 fast convergence: a loss below the last W_max lowers W_max further.
        self.w_max = if segs < self.w_max { segs * (1.0 + BETA) / 2.0 } else { segs };
        // Section 4.6: ssthresh = cwnd * beta_cubic, at least 2 segments.
        let ss = (self.cwnd * BETA).max(2.0 * f64::from(self.mss));
        self.ssthresh = ss as u32;
        self.cwnd = ss;
    }
    fn on_rto(&mut self, now: Instant, flight: u32) {
        // Section 4.8: as on loss for ssthresh, then cwnd = 1 SMSS (loss window); the first
        // congestion avoidance stage after it starts from K = 0 and W_max = cwnd at its start
        // (Linux's bictcp_reset on entering Loss likewise forgets last_max_cwnd).
        self.on_loss(now, flight);
        self.cwnd = f64::from(self.mss);
        self.w_max = 0.0;
        self.no_max = true;
        if let Some(h) = &mut self.hystart {
            h.rearm();
        }
    }
    fn on_recovery_exit(&mut self, _now: Instant) {
        self.epoch_start = None;
        if let Some(ca) = &mut self.linux {
            ca.reset_epoch();
        }
    }
    fn undo(&mut self, _now: Instant, cwnd: u32, ssthresh: u32) {
        // The cubic curve restarts from the restored window (a new epoch); W_max keeps the
        // value the spurious reduction recorded, as Linux's bictcp does.
        self.cwnd = f64::from(cwnd.max(self.mss));
        self.ssthresh = ssthresh;
        self.epoch_start = None;
        if let Some(ca) = &mut self.linux {
            ca.reset_epoch();
        }
    }
    fn set_mss(&mut self, mss: u32) {
        self.mss = mss;
        self.cwnd = f64::from(initial_window(self.iw_segments, mss));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9438 4.7 (and Linux's `last_max_cwnd`): fast convergence compares cwnd at a loss with
    /// W_max as last set, so a loss above a lowered W_max remembers cwnd as it is.
    #[test]
    fn fast_convergence_compares_with_the_last_w_max() {
        for linux in [false, true] {
            let mut c = Cubic::new(1000, 10).with_one_smss_per_ack(!linux);
            let t = Instant::ZERO;
            for (cwnd, w_max) in [(20, 20.0), (18, 15.0), (17, 17.0)] {
                c.set_cwnd(cwnd * 1000);
                c.on_loss(t, cwnd * 1000);
                // 18 * 1.7 / 2 = 15.3 (RFC), 18 * 1741 / 2048 = 15 (Linux, whole segments).
                assert!((c.w_max - w_max).abs() < 0.31, "linux {linux}: loss at {cwnd}: W_max {}", c.w_max);
            }
        }
    }

    #[test]
    fn cubic_reduces_by_beta_and_regrows_towards_wmax() {
        let mss = 1000;
        let mut c = Cubic::new(mss, 10);
        c.ssthresh = 0; // force congestion avoidance
        c.cwnd = 100_000.0;
        let t0 = Instant::ZERO;
        c.on_loss(t0, 100_000);
        assert_eq!(c.cwnd(), 70_000);
        assert_eq!(c.ssthresh(), 70_000);
        let rtt = Some(Duration::from_millis(100));
        let mut t = t0;
        // K = cbrt(30 / 0.4) ~ 4.2 s: after ~4.2 s cwnd is back near W_max = 100 segments.
        for _ in 0..45 {
            t += Duration::from_millis(100);
            for _ in 0..(c.cwnd() / mss) {
                c.on_ack(t, mss, 0, rtt);
            }
        }
        let w = c.cwnd();
        assert!((95_000..=110_000).contains(&w), "{w}");
    }

    /// Feeds one RTT's worth of ACKs (one per segment of cwnd) at `t`.
    fn one_rtt(c: &mut Cubic, t: Instant, rtt: Duration) {
        for _ in 0..(c.cwnd() / c.mss) {
            c.on_ack(t, c.mss, 0, Some(rtt));
        }
    }

    #[test]
    fn without_a_known_wmax_cwnd_grows_five_percent_per_rtt() {
        let mss = 1000;
        let rtt = Duration::from_millis(20);
        let mut c = Cubic::new(mss, 10);
        // HyStart ended slow start at 100 segments: no loss has set W_max.
        c.cwnd = 100_000.0;
        c.ssthresh = 100_000;
        let mut t = Instant::ZERO;
        for _ in 0..10 {
            t += rtt;
            one_rtt(&mut c, t, rtt);
        }
        // 1.05^10 = 1.63: the cubic curve alone (K = 0) would add under one segment in 0.2 s.
        let w = c.cwnd();
        assert!((160_000..=166_000).contains(&w), "{w}");
    }

    #[test]
    fn after_a_loss_the_curve_alone_sets_the_pace() {
        let mss = 1000;
        let rtt = Duration::from_millis(20);
        let mut c = Cubic::new(mss, 10);
        c.cwnd = 100_000.0;
        c.on_loss(Instant::ZERO, 100_000);
        let mut t = Instant::ZERO;
        for _ in 0..10 {
            t += rtt;
            one_rtt(&mut c, t, rtt);
        }
        // Concave towards W_max = 100 (K = 4.2 s): a few segments in 0.2 s, nowhere near 5%/RTT.
        let w = c.cwnd();
        assert!((70_000..=76_000).contains(&w), "{w}");
    }

    #[test]
    fn after_a_timeout_congestion_avoidance_starts_from_k_zero() {
        // RFC 9438 4.8: the first congestion avoidance stage after a timeout uses K = 0 and
        // W_max = cwnd at its beginning, not the W_max of before the timeout.
        let mss = 1000;
        let rtt = Duration::from_millis(20);
        let mut c = Cubic::new(mss, 10);
        c.cwnd = 200_000.0;
        c.on_loss(Instant::ZERO, 200_000); // W_max = 200 segments
        c.on_rto(Instant::ZERO, 140_000); // ssthresh = 98 segments, cwnd = 1
        assert_eq!(c.ssthresh(), 98_000);
        c.cwnd = 98_000.0; // slow start reached ssthresh
        let t = Instant::ZERO + Duration::from_secs(1);
        c.on_ack(t, mss, 0, Some(rtt));
        assert_eq!(c.k, 0.0);
        assert!((c.w_max - 98.0).abs() < 0.1, "W_max {}", c.w_max);
    }
}
