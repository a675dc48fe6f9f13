//! HyStart, the hybrid slow start Linux's CUBIC runs by default (`tcp_cubic` module parameters
//! `hystart=1`, `hystart_detect=3`; Ha and Rhee, "Taming the elephants: New TCP slow start",
//! Computer Networks 55(9), 2011). RFC 9438 section 4.10 lets CUBIC leave the first slow start
//! early; netlab follows what Linux does (not RFC 9406's HyStart++), because Linux is the
//! yardstick its users compare against.
//!
//! Two detectors look at each round trip of slow start (a round ends when SND.UNA passes what was
//! SND.NXT when it began) once cwnd is at least 16 segments:
//! - **ACK train**: ACKs keep arriving less than 2 ms apart for longer than half the minimum RTT
//!   (plus a pacing allowance): the path's pipe is full, since a round's ACKs now take half an RTT
//!   to drain through the bottleneck;
//! - **delay**: the smallest of the round's first 8 RTT samples exceeds the minimum RTT by
//!   `clamp(min_rtt / 8, 4 ms, 16 ms)`: a queue is building.
//!
//! Either ends slow start with ssthresh = cwnd, before the overshoot that would cost a burst of
//! losses.

use super::AckSample;
use crate::sim::{Duration, Instant};
use crate::tcp::seq::Seq;

/// cwnd (segments) below which HyStart does not act (`hystart_low_window`).
const LOW_WINDOW: u32 = 16;
/// Largest gap between two ACKs of one train (`hystart_ack_delta_us`).
const ACK_DELTA: Duration = Duration::from_millis(2);
/// RTT samples per round before the delay detector judges (`HYSTART_MIN_SAMPLES`).
const MIN_SAMPLES: u32 = 8;
/// Bounds of the delay increase that ends slow start (`HYSTART_DELAY_MIN`, `HYSTART_DELAY_MAX`).
const DELAY_MIN: Duration = Duration::from_millis(4);
const DELAY_MAX: Duration = Duration::from_millis(16);
/// The GSO burst size Linux allows for when pacing could delay a train (`sk_gso_max_size`).
const GSO_MAX_SIZE: u64 = 65_536;

/// Which detector ended slow start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The ACK train outlasted half the minimum RTT (Linux's `TCPHystartTrainDetect`).
    AckTrain,
    /// The round's RTT rose above the minimum by the threshold (`TCPHystartDelayDetect`).
    Delay,
}

impl Exit {
    /// The reason a congestion event gives for the exit.
    pub fn reason(self) -> &'static str {
        match self {
            Exit::AckTrain => "hystart_train",
            Exit::Delay => "hystart_delay",
        }
    }
}

/// The HyStart state of one connection.
#[derive(Debug, Clone, Default)]
pub struct HyStart {
    /// When the current round's first ACK arrived, and the last ACK of its unbroken train.
    round_start: Instant,
    last_ack: Instant,
    /// The round ends when SND.UNA passes this (SND.NXT when the round began).
    end_seq: Option<Seq>,
    /// Smallest RTT sample of the current round, and how many samples it has seen.
    curr_rtt: Option<Duration>,
    sample_cnt: u32,
    /// Smallest RTT seen since the connection began or the last timeout (`delay_min`).
    delay_min: Option<Duration>,
    /// Slow start has been ended by HyStart (until a timeout re-arms it).
    found: bool,
}

/// The congestion window as HyStart sees it on an ACK.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// cwnd, bytes.
    pub cwnd: u32,
    /// The SMSS, bytes.
    pub mss: u32,
    /// cwnd < ssthresh: HyStart only watches slow start (the minimum RTT is kept always).
    pub in_slow_start: bool,
}

impl HyStart {
    /// After a retransmission timeout: slow start begins again and HyStart with it, the minimum
    /// RTT forgotten (Linux's `bictcp_reset` and `bictcp_hystart_reset` on entering Loss).
    pub fn rearm(&mut self) {
        *self = HyStart::default();
    }

    /// One ACK (`bictcp_acked`, and `hystart_update` during slow start). Returns the detector
    /// that ended slow start, once.
    pub fn on_ack(&mut self, a: &AckSample, w: Window) -> Option<Exit> {
        let rtt = a.rtt?;
        let delay = rtt.max(Duration::from_nanos(1));
        let delay_min = self.delay_min.map_or(delay, |m| m.min(delay));
        self.delay_min = Some(delay_min);
        if self.found || !w.in_slow_start {
            return None;
        }
        if self.end_seq.is_none_or(|e| a.snd_una > e) {
            self.new_round(a.now, a.snd_nxt);
        }
        if w.cwnd / w.mss.max(1) < LOW_WINDOW {
            return None;
        }
        let exit = self.ack_train(a, w.cwnd, delay_min).or_else(|| self.delay_rise(delay, delay_min));
        self.found = exit.is_some();
        exit
    }

    /// `bictcp_hystart_reset`: a new round begins with this ACK.
    fn new_round(&mut self, now: Instant, snd_nxt: Seq) {
        self.round_start = now;
        self.last_ack = now;
        self.end_seq = Some(snd_nxt);
        self.curr_rtt = None;
        self.sample_cnt = 0;
    }

    /// The ACK-train detector: ACKs closer than 2 ms keep the train going; a train longer than
    /// half of (minimum RTT + pacing allowance) means the pipe is full.
    fn ack_train(&mut self, a: &AckSample, cwnd: u32, delay_min: Duration) -> Option<Exit> {
        if a.now - self.last_ack > ACK_DELTA {
            return None;
        }
        self.last_ack = a.now;
        // Without fq pacing (SK_PACING_NONE) Linux halves the threshold.
        let threshold = Duration::from_nanos((delay_min + pacing_allowance(cwnd, a.srtt)).as_nanos() / 2);
        (a.now - self.round_start > threshold).then_some(Exit::AckTrain)
    }

    /// The delay detector: the minimum of the round's first samples against the minimum RTT.
    fn delay_rise(&mut self, delay: Duration, delay_min: Duration) -> Option<Exit> {
        let curr = self.curr_rtt.map_or(delay, |c| c.min(delay));
        self.curr_rtt = Some(curr);
        if self.sample_cnt < MIN_SAMPLES {
            self.sample_cnt += 1;
            return None;
        }
        let thresh = Duration::from_nanos(delay_min.as_nanos() / 8).clamp(DELAY_MIN, DELAY_MAX);
        (curr > delay_min + thresh).then_some(Exit::Delay)
    }
}

/// Linux's `hystart_ack_delay`: how long pacing may hold a GSO burst, at most 1 ms, with the
/// slow-start pacing rate of twice cwnd per smoothed RTT.
fn pacing_allowance(cwnd_bytes: u32, srtt: Option<Duration>) -> Duration {
    let Some(srtt) = srtt.filter(|s| !s.is_zero()) else { return Duration::ZERO };
    let rate_bytes_per_sec = 2 * u64::from(cwnd_bytes) * 1_000_000_000 / srtt.as_nanos().max(1);
    if rate_bytes_per_sec == 0 {
        return Duration::ZERO;
    }
    let ns = GSO_MAX_SIZE * 4 * 1_000_000_000 / rate_bytes_per_sec;
    Duration::from_nanos(ns).min(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;

    /// An ACK at `now_us` with an RTT sample of `rtt_us`, cwnd `cwnd_segs` in slow start.
    fn ack(now_us: u64, rtt_us: u64, snd_una: u32, snd_nxt: u32, cwnd_segs: u32) -> (AckSample, Window) {
        let a = AckSample {
            now: Instant::ZERO + Duration::from_micros(now_us),
            rtt: Some(Duration::from_micros(rtt_us)),
            srtt: Some(Duration::from_micros(rtt_us)),
            snd_una: Seq(snd_una),
            snd_nxt: Seq(snd_nxt),
        };
        (a, Window { cwnd: cwnd_segs * MSS, mss: MSS, in_slow_start: true })
    }

    fn feed(h: &mut HyStart, (a, w): (AckSample, Window)) -> Option<Exit> {
        h.on_ack(&a, w)
    }

    #[test]
    fn a_train_longer_than_half_the_rtt_ends_slow_start() {
        let mut h = HyStart::default();
        // RTT 20 ms; ACKs of a 100-segment round arrive every 120 us (a full 100 Mbit/s pipe).
        let mut exit = None;
        let mut at_us = 0;
        for i in 0..100u32 {
            at_us = 1_000_000 + u64::from(i) * 120;
            exit = feed(&mut h, ack(at_us, 20_000, i * MSS + 1, 100 * MSS, 32 + i));
            if exit.is_some() {
                break;
            }
        }
        assert_eq!(exit, Some(Exit::AckTrain));
        // Threshold: (20 ms + at most 1 ms) / 2, so the train ended slow start after 10-10.5 ms.
        let train_us = at_us - 1_000_000;
        assert!((10_000..=10_620).contains(&train_us), "{train_us} us");
    }

    #[test]
    fn broken_trains_never_end_slow_start() {
        let mut h = HyStart::default();
        // ACKs 3 ms apart: no train, and the RTT stays at its minimum.
        for i in 0..200u32 {
            let a = ack(u64::from(i) * 3000, 20_000, i * MSS + 1, 400 * MSS, 32);
            assert_eq!(feed(&mut h, a), None, "ack {i}");
        }
    }

    #[test]
    fn a_rtt_rise_past_the_threshold_ends_slow_start() {
        let mut h = HyStart::default();
        // Round 1 sets the minimum RTT of 20 ms (ACKs 3 ms apart: no train).
        for i in 0..10u32 {
            assert_eq!(feed(&mut h, ack(u64::from(i) * 3000, 20_000, i * MSS + 1, 10 * MSS, 20)), None);
        }
        // Round 2: every sample 24.5 ms; the threshold is 20 + clamp(2.5, 4, 16) = 24 ms.
        let mut exits = Vec::new();
        for i in 10..20u32 {
            exits.push(feed(&mut h, ack(u64::from(i) * 3000, 24_500, i * MSS + 1, 30 * MSS, 20)));
        }
        // The first ACK of round 2 starts it, eight samples are gathered, the next one judges.
        assert_eq!(exits.iter().position(Option::is_some), Some(8));
        assert_eq!(exits[8], Some(Exit::Delay));
        assert!(exits[9].is_none(), "HyStart ends slow start once");
    }

    #[test]
    fn a_rise_within_the_threshold_is_tolerated() {
        let mut h = HyStart::default();
        for i in 0..10u32 {
            feed(&mut h, ack(u64::from(i) * 3000, 20_000, i * MSS + 1, 10 * MSS, 20));
        }
        for i in 10..40u32 {
            assert_eq!(feed(&mut h, ack(u64::from(i) * 3000, 23_900, i * MSS + 1, 60 * MSS, 20)), None);
        }
    }

    #[test]
    fn small_windows_are_left_to_slow_start() {
        let mut h = HyStart::default();
        for i in 0..10u32 {
            feed(&mut h, ack(u64::from(i) * 3000, 20_000, i * MSS + 1, 10 * MSS, 15));
        }
        for i in 10..40u32 {
            assert_eq!(feed(&mut h, ack(u64::from(i) * 3000, 40_000, i * MSS + 1, 60 * MSS, 15)), None);
        }
    }

    #[test]
    fn a_timeout_rearms_it() {
        let mut h = HyStart::default();
        let mut found = false;
        for i in 0..200u32 {
            found |= feed(&mut h, ack(u64::from(i) * 120, 20_000, i * MSS + 1, 200 * MSS, 32)).is_some();
        }
        assert!(found);
        h.rearm();
        let mut again = false;
        for i in 0..200u32 {
            again |= feed(&mut h, ack(1_000_000 + u64::from(i) * 120, 20_000, i * MSS + 1, 200 * MSS, 32)).is_some();
        }
        assert!(again, "slow start after a timeout is watched again");
    }
}
