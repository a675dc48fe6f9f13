//! The segments in flight, one record per transmission unit, in sequence order: what RACK
//! (RFC 8985 section 5.2: per-segment transmission time, SACKed / lost / retransmitted flags) and
//! the undo logic need beyond the byte-range SACK scoreboard.

use crate::sim::Instant;
use crate::tcp::seq::Seq;
use std::collections::VecDeque;

/// One transmitted segment [start, end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentSeg {
    /// First sequence number.
    pub start: Seq,
    /// End (exclusive).
    pub end: Seq,
    /// When it was (last) sent.
    pub xmit: Instant,
    /// The TSval it (last) carried, 0 without timestamps.
    pub tsval: u32,
    /// It was sent more than once.
    pub retransmitted: bool,
    /// The peer SACKed all of it.
    pub sacked: bool,
    /// Deemed lost and not retransmitted since.
    pub lost: bool,
    /// It was SACKed before a retransmission timeout forgot the SACKs: SACKed again, it says
    /// nothing about reordering (the receiver's blocks come back in any order).
    pub sacked_before_rto: bool,
}

impl SentSeg {
    /// Its length in bytes.
    pub fn len(&self) -> u32 {
        self.end.since(self.start)
    }
}

/// Sent, not yet cumulatively acknowledged segments, sorted and disjoint.
#[derive(Debug, Clone, Default)]
pub struct SentMap {
    segs: VecDeque<SentSeg>,
    /// False only when no record is marked lost: `first_lost` then answers without a scan (it is
    /// asked on every ACK, and with a large window most ACKs find nothing). Set by whatever marks
    /// a record lost (`reset_marks`, `note_lost`), cleared by a scan that finds none.
    maybe_lost: bool,
}

impl SentMap {
    /// Records a transmission of [start, end) at `now`. A retransmission of exactly one earlier
    /// record updates it; any other overlap replaces the parts it covers.
    pub fn on_send(&mut self, start: Seq, end: Seq, now: Instant, tsval: u32) {
        if start >= end {
            return;
        }
        let i = self.segs.partition_point(|s| s.end <= start);
        if i == self.segs.len() {
            self.segs.push_back(SentSeg {
                start,
                end,
                xmit: now,
                tsval,
                retransmitted: false,
                sacked: false,
                lost: false,
                sacked_before_rto: false,
            });
            return;
        }
        let s = &mut self.segs[i];
        if s.start == start && s.end == end {
            *s = SentSeg { xmit: now, tsval, retransmitted: true, lost: false, sacked: false, ..*s };
            return;
        }
        // General case (go-back-N with other boundaries): cut the overlapped records.
        let mut j = i;
        let mut keep = Vec::new();
        while j < self.segs.len() && self.segs[j].start < end {
            let s = self.segs[j];
            if s.start < start {
                keep.push(SentSeg { end: start, ..s });
            }
            if s.end > end {
                keep.push(SentSeg { start: end, ..s });
            }
            j += 1;
        }
        let new = SentSeg {
            start,
            end,
            xmit: now,
            tsval,
            retransmitted: true,
            sacked: false,
            lost: false,
            sacked_before_rto: false,
        };
        keep.push(new);
        keep.sort_by(|a, b| a.start.partial_cmp(&b.start).expect("sequence numbers within 2^31 compare"));
        self.segs.drain(i..j);
        for (k, s) in keep.into_iter().enumerate() {
            self.segs.insert(i + k, s);
        }
    }

    /// Removes what `una` acknowledges cumulatively; calls `f` for every removed record that was
    /// not SACKed before (newly delivered).
    pub fn ack(&mut self, una: Seq, f: &mut dyn FnMut(&SentSeg)) {
        while let Some(s) = self.segs.front_mut() {
            if s.end <= una {
                let s = self.segs.pop_front().expect("front exists");
                if !s.sacked {
                    f(&s);
                }
            } else {
                if s.start < una {
                    s.start = una;
                }
                break;
            }
        }
    }

    /// Marks the records [l, r) covers entirely as SACKed; calls `f` for each newly SACKed one.
    pub fn sack(&mut self, l: Seq, r: Seq, f: &mut dyn FnMut(&SentSeg)) {
        let i = self.segs.partition_point(|s| s.end <= l);
        for s in self.segs.range_mut(i..) {
            if s.start >= r {
                break;
            }
            if !s.sacked && l <= s.start && s.end <= r {
                s.sacked = true;
                s.lost = false;
                f(s);
            }
        }
    }

    /// Every record, in sequence order.
    pub fn iter(&self) -> impl Iterator<Item = &SentSeg> {
        self.segs.iter()
    }

    /// Every record, mutable.
    /// (A caller that marks a record lost calls `note_lost` afterwards.)
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut SentSeg> {
        self.segs.iter_mut()
    }

    /// The first record at or above `from` that is lost and not yet resent.
    pub fn first_lost(&mut self, from: Seq) -> Option<SentSeg> {
        if !self.maybe_lost {
            debug_assert!(!self.segs.iter().any(|s| s.lost), "a record was marked lost without note_lost");
            return None;
        }
        let i = self.segs.partition_point(|s| s.end <= from);
        let found = self.segs.range(i..).find(|s| s.lost).copied();
        if found.is_none() && i == 0 {
            self.maybe_lost = false;
        }
        found
    }

    /// Records that the caller marked a record lost through `iter_mut` (every caller that sets
    /// `SentSeg::lost` must say so, or `first_lost` may miss it).
    pub fn note_lost(&mut self) {
        self.maybe_lost = true;
    }

    /// The record holding `seq`.
    #[cfg(test)]
    pub fn find(&self, seq: Seq) -> Option<&SentSeg> {
        let i = self.segs.partition_point(|s| s.end <= seq);
        self.segs.get(i).filter(|s| s.start <= seq)
    }

    /// The last record.
    pub fn last(&self) -> Option<&SentSeg> {
        self.segs.back()
    }

    /// Forgets the SACK and loss marks (after a retransmission timeout, RFC 2018 section 8) and
    /// marks everything lost when `all_lost`.
    pub fn reset_marks(&mut self, all_lost: bool) {
        self.maybe_lost |= all_lost;
        for s in &mut self.segs {
            s.sacked_before_rto |= s.sacked;
            s.sacked = false;
            s.lost = all_lost;
        }
    }

    /// Bytes in flight in RFC 6675's sense: neither SACKed nor lost-and-not-resent.
    pub fn pipe(&self) -> u32 {
        self.segs.iter().filter(|s| !s.sacked && !s.lost).map(SentSeg::len).sum()
    }

    /// Number of SACKed records.
    pub fn sacked_count(&self) -> u32 {
        self.segs.iter().filter(|s| s.sacked).count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Duration;

    fn t(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn a_record_marked_lost_after_a_scan_that_found_none_is_found() {
        let mut m = SentMap::default();
        for k in 0..4u32 {
            m.on_send(Seq(k * 100), Seq(k * 100 + 100), t(u64::from(k)), k);
        }
        // A scan that finds nothing lets the next questions skip the scan...
        assert_eq!(m.first_lost(Seq(0)), None);
        assert_eq!(m.first_lost(Seq(0)), None);
        // ...until a record is marked lost again.
        m.iter_mut().nth(2).expect("a third record").lost = true;
        m.note_lost();
        assert_eq!(m.first_lost(Seq(0)).map(|s| s.start), Some(Seq(200)));
        m.reset_marks(false);
        assert_eq!(m.first_lost(Seq(0)), None);
        m.reset_marks(true);
        assert_eq!(m.first_lost(Seq(150)).map(|s| s.start), Some(Seq(100)));
    }

    #[test]
    fn records_sack_ack_and_retransmit() {
        let mut m = SentMap::default();
        for k in 0..4u32 {
            m.on_send(Seq(k * 100), Seq(k * 100 + 100), t(u64::from(k)), k);
        }
        let mut newly = Vec::new();
        m.sack(Seq(150), Seq(400), &mut |s| newly.push(s.start));
        assert_eq!(newly, vec![Seq(200), Seq(300)]);
        m.on_send(Seq(0), Seq(100), t(10), 10);
        assert!(m.find(Seq(50)).unwrap().retransmitted);
        let mut acked = Vec::new();
        m.ack(Seq(400), &mut |s| acked.push(s.start));
        assert_eq!(acked, vec![Seq(0), Seq(100)]);
        assert!(m.last().is_none());
    }

    #[test]
    fn a_timeout_forgets_sacks_but_remembers_they_were_there() {
        let mut m = SentMap::default();
        for k in 0..3u32 {
            m.on_send(Seq(k * 100), Seq(k * 100 + 100), t(0), 1);
        }
        m.sack(Seq(100), Seq(200), &mut |_| {});
        m.reset_marks(false);
        let v: Vec<(bool, bool)> = m.iter().map(|s| (s.sacked, s.sacked_before_rto)).collect();
        assert_eq!(v, vec![(false, false), (false, true), (false, false)]);
    }

    #[test]
    fn go_back_n_with_other_boundaries_splits_records() {
        let mut m = SentMap::default();
        m.on_send(Seq(0), Seq(100), t(0), 1);
        m.on_send(Seq(100), Seq(200), t(0), 1);
        m.on_send(Seq(50), Seq(150), t(5), 2);
        let v: Vec<(u32, u32, bool)> = m.iter().map(|s| (s.start.0, s.end.0, s.retransmitted)).collect();
        assert_eq!(v, vec![(0, 50, false), (50, 150, true), (150, 200, false)]);
    }
}
