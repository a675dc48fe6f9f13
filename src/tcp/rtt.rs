//! Round-trip time estimation and the retransmission timeout, RFC 6298.
//!
//! Samples come either from a single timed segment (Karn's rule: never from a retransmitted segment;
//! the connection cancels the timing when it retransmits) or from the TSecr of RFC 7323 timestamps.

use crate::sim::Duration;

/// Clock granularity G of RFC 6298 section 2: our timers have nanosecond resolution but timestamps
/// tick in milliseconds.
const GRANULARITY: Duration = Duration::from_millis(1);

#[derive(Debug, Clone)]
pub struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    min: Duration,
    max: Duration,
}

impl RttEstimator {
    pub fn new(initial: Duration, min: Duration, max: Duration) -> Self {
        RttEstimator {
            srtt: None,
            rttvar: Duration::ZERO,
            // RFC 6298 2.1: RTO <- 1s until a sample is taken (configurable).
            rto: initial.max(min).min(max),
            min,
            max,
        }
    }
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }
    pub fn rttvar(&self) -> Duration {
        self.rttvar
    }
    pub fn rto(&self) -> Duration {
        self.rto
    }

    /// RFC 6298 2.2 / 2.3. A new sample also undoes any backoff (5.7 is implied: the RTO is recomputed).
    pub fn sample(&mut self, r: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = Duration::from_nanos(r.as_nanos() / 2);
            }
            Some(srtt) => {
                let diff = if srtt > r { srtt - r } else { r - srtt };
                // RTTVAR <- (1 - 1/4) * RTTVAR + 1/4 * |SRTT - R'|
                self.rttvar = Duration::from_nanos((3 * self.rttvar.as_nanos() + diff.as_nanos()) / 4);
                // SRTT <- (1 - 1/8) * SRTT + 1/8 * R'
                self.srtt = Some(Duration::from_nanos((7 * srtt.as_nanos() + r.as_nanos()) / 8));
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        // RTO <- SRTT + max(G, K*RTTVAR), K = 4; clamped (2.4 minimum, 2.5 maximum).
        let rto = srtt + GRANULARITY.max(self.rttvar.saturating_mul(4));
        self.rto = rto.max(self.min).min(self.max);
    }

    /// RFC 6298 5.7: after a SYN timed out and no RTT sample exists, data transmission starts
    /// with this RTO (3 s).
    pub fn reinit(&mut self, rto: Duration) {
        self.rto = rto.max(self.min).min(self.max);
    }

    /// RFC 6298 5.5: back off the timer (RTO <- RTO * 2), bounded by the maximum.
    pub fn backoff(&mut self) {
        self.rto = self.rto.saturating_mul(2).min(self.max).max(self.min);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6298_formulas() {
        let mut e = RttEstimator::new(Duration::from_secs(1), Duration::from_millis(200), Duration::from_secs(60));
        assert_eq!(e.rto(), Duration::from_secs(1));
        e.sample(Duration::from_millis(100));
        assert_eq!(e.srtt(), Some(Duration::from_millis(100)));
        assert_eq!(e.rttvar(), Duration::from_millis(50));
        assert_eq!(e.rto(), Duration::from_millis(300));
        e.sample(Duration::from_millis(100));
        // rttvar = 3/4*50 = 37.5ms; rto = 100 + 150 = 250ms
        assert_eq!(e.rto(), Duration::from_micros(250_000));
        e.backoff();
        assert_eq!(e.rto(), Duration::from_millis(500));
        for _ in 0..20 {
            e.backoff();
        }
        assert_eq!(e.rto(), Duration::from_secs(60));
        // tiny RTTs are floored at rto_min
        let mut e = RttEstimator::new(Duration::from_secs(1), Duration::from_millis(200), Duration::from_secs(60));
        e.sample(Duration::from_micros(10));
        assert_eq!(e.rto(), Duration::from_millis(200));
    }
}
