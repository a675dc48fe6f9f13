//! CUBIC's congestion avoidance as Linux computes it (`bictcp_update` in tcp_cubic.c and
//! `tcp_cong_avoid_ai` in tcp_cong.c), for `cwnd_growth = "linux"`. The curve and the Reno-friendly
//! estimate are RFC 9438's; the arithmetic around them is Linux's, and two of its differences
//! show in goodput when losses keep the window small:
//! - RFC 9438 4.3 sets cwnd to W_est on every ACK in the Reno-friendly region. Linux counts W_est
//!   (`tcp_cwnd`) in whole segments and lets cwnd chase it: +1 segment per `cnt` segments ACKed,
//!   `cnt = cwnd / (W_est - cwnd)`, so cwnd trails W_est by about a segment.
//! - The pace `cnt` is recomputed only when cwnd changed or 1/32 s passed, at most once a jiffy;
//!   time counts in jiffies (this yardstick's kernel: CONFIG_HZ = 250, 4 ms).
//!
//! Windows are whole segments here, as in Linux (`snd_cwnd`, `snd_cwnd_cnt`).

use crate::sim::{Duration, Instant};

/// Linux's CUBIC constant C (`bic_scale` 41 / 1024 * 10).
const C: f64 = 410.0 / 1024.0;
/// Linux's `beta_scale`: 8 * (1024 + 717) / 3 / (1024 - 717), integer arithmetic: W_est gains
/// one segment per `cwnd * 15 / 8` segments ACKed (alpha = 0.53 per RTT).
const BETA_SCALE: u32 = 15;
/// One jiffy at CONFIG_HZ = 250.
const JIFFY_NS: u64 = 4_000_000;

/// The state of Linux's per-ACK CUBIC update (`struct bictcp`, the congestion avoidance part).
#[derive(Debug, Clone, Default)]
pub(super) struct LinuxCa {
    /// Segments to ACK for one more segment of cwnd (`ca->cnt`).
    cnt: u32,
    /// Segments ACKed towards the next increment (`tp->snd_cwnd_cnt`).
    cwnd_cnt: u32,
    /// Segments ACKed towards W_est's next segment (`ca->ack_cnt`).
    ack_cnt: u32,
    /// The Reno-friendly window W_est, whole segments (`ca->tcp_cwnd`).
    tcp_cwnd: u32,
    last_cwnd: u32,
    last_jiffy: u64,
    /// The epoch's start, in jiffies (`ca->epoch_start`; `None` is Linux's 0).
    epoch_start: Option<u64>,
    /// K, seconds.
    k: f64,
    /// The curve's plateau, segments (`bic_origin_point`).
    origin: u32,
    /// The least RTT seen (`ca->delay_min`).
    delay_min: Option<Duration>,
}

fn jiffies(t: Instant) -> u64 {
    t.as_nanos() / JIFFY_NS
}

impl LinuxCa {
    /// A window reduction or a timeout ends the epoch (`ca->epoch_start = 0`) and the credit
    /// (`tp->snd_cwnd_cnt = 0`).
    pub(super) fn reset_epoch(&mut self) {
        self.epoch_start = None;
        self.cwnd_cnt = 0;
    }

    /// An RTT sample (`cubictcp_acked`): keeps the least.
    pub(super) fn rtt_sample(&mut self, rtt: Duration) {
        if !rtt.is_zero() && self.delay_min.is_none_or(|d| rtt < d) {
            self.delay_min = Some(rtt);
        }
    }

    /// One ACK of `acked` segments in congestion avoidance with cwnd `cwnd` segments and W_max
    /// `w_max` segments (0: none known); returns the new cwnd in segments.
    pub(super) fn on_ack(&mut self, now: Instant, cwnd: u32, acked: u32, w_max: u32) -> u32 {
        self.update(now, cwnd, acked, w_max);
        self.cong_avoid_ai(cwnd, acked)
    }

    /// `bictcp_update`: the pace `cnt` from the cubic curve and the Reno-friendly window.
    fn update(&mut self, now: Instant, cwnd: u32, acked: u32, w_max: u32) {
        self.ack_cnt += acked;
        let j = jiffies(now);
        if self.last_cwnd == cwnd && j.saturating_sub(self.last_jiffy) <= 250 / 32 {
            return;
        }
        // The curve is evaluated at most once a jiffy; the friendly part on every call.
        if self.epoch_start.is_none() || j != self.last_jiffy {
            self.last_cwnd = cwnd;
            self.last_jiffy = j;
            if self.epoch_start.is_none() {
                self.start_epoch(j, cwnd, acked, w_max);
            }
            self.curve(j, cwnd, w_max);
        }
        self.friendliness(cwnd);
        self.cnt = self.cnt.max(2);
    }

    /// A new epoch (RFC 9438 4.2): K and the plateau from W_max, W_est from cwnd.
    fn start_epoch(&mut self, j: u64, cwnd: u32, acked: u32, w_max: u32) {
        self.epoch_start = Some(j);
        self.ack_cnt = acked;
        self.tcp_cwnd = cwnd;
        if w_max <= cwnd {
            self.k = 0.0;
            self.origin = cwnd;
        } else {
            self.k = (f64::from(w_max - cwnd) / C).cbrt();
            self.origin = w_max;
        }
    }

    /// The cubic part of `bictcp_update`: `cnt` from the target W_cubic(t + delay_min).
    fn curve(&mut self, j: u64, cwnd: u32, w_max: u32) {
        let start = self.epoch_start.unwrap_or(j);
        let delay = self.delay_min.map_or(0, |d| d.as_nanos().div_ceil(JIFFY_NS));
        let t = (j - start + delay) as f64 * JIFFY_NS as f64 / 1e9;
        let delta = (C * (t - self.k).abs().powi(3)) as u32;
        let target = if t < self.k { self.origin.saturating_sub(delta) } else { self.origin + delta };
        self.cnt = if target > cwnd { cwnd / (target - cwnd) } else { 100 * cwnd };
        if w_max == 0 && self.cnt > 20 {
            // "increase cwnd 5% per RTT" while the bandwidth is unknown.
            self.cnt = 20;
        }
    }

    /// The Reno-friendly part: W_est in whole segments; cwnd chases it when the curve is slower.
    fn friendliness(&mut self, cwnd: u32) {
        let delta = (cwnd * BETA_SCALE) >> 3;
        while delta > 0 && self.ack_cnt > delta {
            self.ack_cnt -= delta;
            self.tcp_cwnd += 1;
        }
        if self.tcp_cwnd > cwnd {
            let max_cnt = cwnd / (self.tcp_cwnd - cwnd);
            self.cnt = self.cnt.min(max_cnt);
        }
    }

    /// `tcp_cong_avoid_ai`: one more segment per `cnt` segments ACKed.
    fn cong_avoid_ai(&mut self, mut cwnd: u32, acked: u32) -> u32 {
        let w = self.cnt.max(1);
        if self.cwnd_cnt >= w {
            self.cwnd_cnt = 0;
            cwnd += 1;
        }
        self.cwnd_cnt += acked;
        if self.cwnd_cnt >= w {
            let delta = self.cwnd_cnt / w;
            self.cwnd_cnt -= delta * w;
            cwnd += delta;
        }
        cwnd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ACKs one window of `cwnd` segments, two segments per ACK, spread over `rtt`.
    fn one_rtt(ca: &mut LinuxCa, t: &mut Instant, cwnd: u32, rtt: Duration, w_max: u32) -> u32 {
        let acks = (cwnd / 2).max(1);
        let step = Duration::from_nanos(rtt.as_nanos() / u64::from(acks));
        let mut c = cwnd;
        for _ in 0..acks {
            *t += step;
            c = ca.on_ack(*t, c, 2, w_max);
        }
        c
    }

    #[test]
    fn in_the_reno_friendly_region_cwnd_trails_w_est() {
        // W_max 14 just lost, cwnd 10: K is 2.2 s at C = 0.4, so the Reno-friendly window
        // (0.53 segments per RTT) leads for the first second of a 20 ms RTT.
        let mut ca = LinuxCa::default();
        let rtt = Duration::from_millis(20);
        ca.rtt_sample(rtt);
        let mut t = Instant::ZERO + Duration::from_secs(1);
        let mut cwnd = 10;
        let (mut linux_sum, mut rfc_sum) = (0.0, 0.0);
        for k in 1..=40 {
            cwnd = one_rtt(&mut ca, &mut t, cwnd, rtt, 14);
            linux_sum += f64::from(cwnd);
            // RFC 9438 4.3: cwnd = W_est, which gains alpha = 3 (1 - 0.7) / (1 + 0.7) per RTT.
            rfc_sum += 10.0 + 0.5294 * f64::from(k);
        }
        // Linux's W_est after 40 RTTs is RFC 9438's, in whole segments ...
        assert!((29..=32).contains(&ca.tcp_cwnd), "W_est {}", ca.tcp_cwnd);
        // ... but its cwnd trails it: on average by more than half a segment over these RTTs.
        let lag = (rfc_sum - linux_sum) / 40.0;
        assert!(lag > 0.5, "Linux's cwnd averaged {lag:.2} segments below RFC 9438's");
    }

    #[test]
    fn cwnd_grows_at_most_one_segment_per_two_acked() {
        // Far below the curve's plateau the cubic target runs ahead; cnt >= 2 caps the growth.
        let mut ca = LinuxCa::default();
        ca.rtt_sample(Duration::from_millis(100));
        let mut t = Instant::ZERO;
        let mut cwnd = 10;
        for _ in 0..20 {
            t += Duration::from_secs(1);
            let before = cwnd;
            cwnd = ca.on_ack(t, cwnd, 4, 1000);
            assert!(cwnd <= before + 2, "{before} -> {cwnd}");
        }
    }

    #[test]
    fn without_a_known_w_max_cwnd_grows_five_percent_per_rtt() {
        let mut ca = LinuxCa::default();
        let rtt = Duration::from_millis(20);
        ca.rtt_sample(rtt);
        let mut t = Instant::ZERO + Duration::from_secs(1);
        let mut cwnd = 100;
        for _ in 0..10 {
            cwnd = one_rtt(&mut ca, &mut t, cwnd, rtt, 0);
        }
        // 1.05^10 = 1.63; the Reno-friendly window alone would give 100 + 5.
        assert!((150..=170).contains(&cwnd), "cwnd {cwnd}");
    }
}
