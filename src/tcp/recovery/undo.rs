//! Undoing a window reduction that proved spurious. What the reduction replaced is kept with the
//! evidence gathered since: the TSval of the episode's first retransmission (Eifel detection,
//! RFC 3522: an ACK echoing an older TSval was caused by the original, so the retransmission was
//! unnecessary) and the retransmissions not yet reported back as duplicates (RFC 2883 / 3708: once
//! the peer has D-SACKed every one, none was needed). The response restores cwnd and ssthresh
//! (RFC 4015 section 3: the "reversal" of the reduction).

use crate::tcp::seq::Seq;

/// One window reduction (a fast recovery or a retransmission timeout) that may still be undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undo {
    /// cwnd before the reduction.
    pub prior_cwnd: u32,
    /// ssthresh before the reduction.
    pub prior_ssthresh: u32,
    /// Started by a retransmission timeout rather than fast recovery.
    pub after_rto: bool,
    /// SND.UNA when the reduction began (Linux's undo_marker).
    pub marker: Seq,
    /// TSval of the episode's first retransmission, once one is sent.
    retrans_ts: Option<u32>,
    /// The ranges retransmitted in the episode, and whether the peer D-SACKed each (only a
    /// D-SACK for one of these proves a retransmission spurious: a copy the network made proves
    /// nothing, RFC 3708 section 3).
    retrans: Vec<(Seq, Seq, bool)>,
    /// More retransmissions than `MAX_TRACKED`: D-SACK undo is given up for this episode.
    overflow: bool,
}

/// Retransmissions tracked per episode for D-SACK undo.
const MAX_TRACKED: usize = 1024;

impl Undo {
    /// A reduction from `cwnd` / `ssthresh` begins.
    pub fn new(cwnd: u32, ssthresh: u32, after_rto: bool, marker: Seq) -> Self {
        Undo {
            prior_cwnd: cwnd,
            prior_ssthresh: ssthresh,
            after_rto,
            marker,
            retrans_ts: None,
            retrans: Vec::new(),
            overflow: false,
        }
    }

    /// A retransmission of [start, end) carrying `tsval` (0 without timestamps) went out.
    pub fn on_retransmit(&mut self, tsval: u32, start: Seq, end: Seq) {
        if tsval != 0 {
            self.retrans_ts.get_or_insert(tsval);
        }
        if self.retrans.len() >= MAX_TRACKED {
            self.overflow = true;
            return;
        }
        self.retrans.push((start, end, false));
    }

    /// A D-SACK reported [l, r) twice. True once every retransmission of the episode was.
    pub fn on_dsack(&mut self, l: Seq, r: Seq) -> bool {
        for (s, e, d) in &mut self.retrans {
            if !*d && l < *e && *s < r {
                *d = true;
            }
        }
        !self.overflow && !self.retrans.is_empty() && self.retrans.iter().all(|x| x.2)
    }

    /// Nothing was retransmitted in the episode: the segments thought lost all arrived on their
    /// own (Linux's tcp_may_undo with undo_retrans = 0).
    pub fn nothing_retransmitted(&self) -> bool {
        self.retrans.is_empty() && !self.overflow
    }

    /// Eifel detection (RFC 3522 section 2): an ACK of retransmitted data that echoes a TSval older
    /// than the first retransmission's was caused by the original transmission.
    pub fn eifel(&self, tsecr: u32) -> bool {
        self.retrans_ts.is_some_and(|r| tsecr != 0 && (tsecr.wrapping_sub(r) as i32) < 0)
    }

    /// The window to go back to: never smaller than the current one (RFC 4015 section 3).
    pub fn restored(&self, cwnd: u32, ssthresh: u32) -> (u32, u32) {
        let ss = if ssthresh == u32::MAX { ssthresh } else { ssthresh.max(self.prior_ssthresh) };
        (cwnd.max(self.prior_cwnd), ss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eifel_compares_the_echo_with_the_first_retransmission() {
        let mut u = Undo::new(20_000, u32::MAX, false, Seq(0));
        assert!(!u.eifel(5), "no retransmission yet");
        u.on_retransmit(100, Seq(0), Seq(10));
        u.on_retransmit(120, Seq(10), Seq(20));
        assert!(u.eifel(99));
        assert!(!u.eifel(100));
        assert!(!u.eifel(0), "no timestamp echoed");
    }

    #[test]
    fn all_retransmissions_dsacked_means_undo() {
        let mut u = Undo::new(20_000, 30_000, false, Seq(0));
        u.on_retransmit(0, Seq(0), Seq(10));
        u.on_retransmit(0, Seq(10), Seq(20));
        assert!(!u.on_dsack(Seq(0), Seq(10)));
        assert!(!u.on_dsack(Seq(50), Seq(60)), "a range never retransmitted proves nothing");
        assert!(u.on_dsack(Seq(10), Seq(20)));
        assert_eq!(u.restored(10_000, 10_000), (20_000, 30_000));
    }
}
