//! Proportional Rate Reduction, RFC 6937: during recovery, cwnd follows the data delivered so that
//! the window falls smoothly to ssthresh over one round trip (proportional part) and, if losses
//! drain the pipe below ssthresh, grows back towards it no faster than slow start (the
//! slow-start reduction bound, PRR-SSRB).

/// PRR's state for one recovery episode (RFC 6937 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prr {
    /// RecoverFS: the flight size when recovery began.
    recover_fs: u32,
    /// prr_delivered: bytes delivered to the receiver since recovery began.
    delivered: u32,
    /// prr_out: bytes sent since recovery began.
    out: u32,
}

impl Prr {
    /// Recovery begins with `flight` bytes outstanding.
    pub fn new(flight: u32) -> Self {
        Prr { recover_fs: flight.max(1), delivered: 0, out: 0 }
    }

    /// `bytes` were sent during recovery.
    pub fn on_sent(&mut self, bytes: u32) {
        self.out = self.out.saturating_add(bytes);
    }

    /// An ACK reported `delivered` newly delivered bytes (cumulatively or by SACK); returns
    /// sndcnt, the bytes that may be sent now (cwnd = pipe + sndcnt).
    pub fn sndcnt(&mut self, delivered: u32, pipe: u32, ssthresh: u32, mss: u32) -> u32 {
        self.delivered = self.delivered.saturating_add(delivered);
        let sndcnt = if pipe > ssthresh {
            // Proportional part: CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out.
            let target = (u64::from(self.delivered) * u64::from(ssthresh)).div_ceil(u64::from(self.recover_fs));
            (target as i64 - i64::from(self.out)).max(0) as u32
        } else {
            // PRR-SSRB: limit = MAX(prr_delivered - prr_out, DeliveredData) + MSS.
            let limit = self.delivered.saturating_sub(self.out).max(delivered) + mss;
            ssthresh.saturating_sub(pipe).min(limit)
        };
        if sndcnt < mss && self.out == 0 && delivered > 0 {
            // The fast retransmit goes out on the first ACK of recovery (RFC 6937 section 3:
            // "force a fast retransmit upon entering recovery").
            return mss;
        }
        sndcnt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportional_part_sends_half_the_delivered_data_for_beta_one_half() {
        let mss = 1000;
        let mut p = Prr::new(20 * mss);
        // ssthresh = 10 segments: one segment out for every two delivered.
        let mut sent = 0;
        for _ in 0..10 {
            let n = p.sndcnt(mss, 19 * mss, 10 * mss, mss);
            p.on_sent(n);
            sent += n;
        }
        assert_eq!(sent, 5 * mss);
    }

    #[test]
    fn ssrb_grows_back_no_faster_than_slow_start() {
        let mss = 1000;
        let mut p = Prr::new(20 * mss);
        p.on_sent(mss);
        // pipe far below ssthresh: what was delivered plus one MSS, as slow start would.
        assert_eq!(p.sndcnt(2 * mss, 2 * mss, 10 * mss, mss), 3 * mss);
        // and never beyond ssthresh.
        assert_eq!(p.sndcnt(2 * mss, 9 * mss, 10 * mss, mss), mss);
    }
}
