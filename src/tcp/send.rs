//! The SACK scoreboard (RFC 2018, RFC 6675): what the peer holds above SND.UNA. The send buffer
//! itself is in `send_buffer`.

use super::seq::Seq;

/// SACKed ranges above SND.UNA, sorted and disjoint, as half-open [left, right).
#[derive(Debug, Clone, Default)]
pub struct Scoreboard {
    blocks: Vec<(Seq, Seq)>,
}

impl Scoreboard {
    pub fn clear(&mut self) {
        self.blocks.clear();
    }
    #[allow(dead_code)]
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
    #[allow(dead_code)]
    pub fn blocks(&self) -> &[(Seq, Seq)] {
        &self.blocks
    }
    /// Records a SACK block, ignoring what is outside (una, max]. Returns true if it added news.
    pub fn add(&mut self, mut l: Seq, mut r: Seq, una: Seq, max: Seq) -> bool {
        if l < una {
            l = una;
        }
        if r > max {
            r = max;
        }
        if l >= r {
            return false;
        }
        let before: u32 = self.sacked_bytes();
        // Blocks [i, j) overlap or touch [l, r): merge them in place.
        let i = self.blocks.partition_point(|b| b.1 < l);
        let j = self.blocks.partition_point(|b| b.0 <= r);
        if i < j {
            l = l.min(self.blocks[i].0);
            r = r.max(self.blocks[j - 1].1);
        }
        self.blocks.splice(i..j, [(l, r)]);
        self.sacked_bytes() != before
    }
    /// Forgets everything below the new SND.UNA.
    pub fn advance(&mut self, una: Seq) {
        self.blocks.retain(|&(_, r)| r > una);
        if let Some(first) = self.blocks.first_mut()
            && first.0 < una
        {
            first.0 = una;
        }
    }
    pub fn sacked_bytes(&self) -> u32 {
        self.blocks.iter().map(|&(l, r)| r.since(l)).sum()
    }
    #[allow(dead_code)]
    pub fn is_sacked(&self, s: Seq) -> bool {
        self.blocks.iter().any(|&(l, r)| s.in_range(l, r))
    }
    /// The highest SACKed sequence number (exclusive), if any.
    pub fn high(&self) -> Option<Seq> {
        self.blocks.last().map(|b| b.1)
    }
    /// RFC 6675 IsLost: an unSACKed octet is lost when DupThresh discontiguous SACKed blocks, or more
    /// than (DupThresh - 1) * SMSS SACKed bytes, lie above it. Because that count only decreases with
    /// the sequence number, the lost octets are exactly the unSACKed ones below the returned boundary.
    pub fn lost_boundary(&self, una: Seq, dupthresh: u32, mss: u32) -> Seq {
        let mut bytes = 0u32;
        for (count, &(l, r)) in self.blocks.iter().rev().enumerate() {
            bytes += r.since(l);
            if count as u32 + 1 >= dupthresh || bytes > (dupthresh - 1) * mss {
                return l;
            }
        }
        una
    }
    /// UnSACKed bytes in [from, to).
    pub fn unsacked_in(&self, from: Seq, to: Seq) -> u32 {
        if from >= to {
            return 0;
        }
        let mut n = to.since(from);
        for &(l, r) in &self.blocks {
            let lo = l.max(from);
            let hi = r.min(to);
            if lo < hi {
                n -= hi.since(lo);
            }
        }
        n
    }
    /// The first unSACKed octet at or above `from` and below `to`, and the end of that hole
    /// (exclusive, bounded by `to`).
    pub fn next_hole(&self, from: Seq, to: Seq) -> Option<(Seq, Seq)> {
        let mut s = from;
        for &(l, r) in &self.blocks {
            if r <= s {
                continue;
            }
            if l <= s {
                s = r;
                continue;
            }
            // l > s: hole [s, l)
            let end = l.min(to);
            return if s < end { Some((s, end)) } else { None };
        }
        if s < to { Some((s, to)) } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoreboard_merge_and_holes() {
        let mut s = Scoreboard::default();
        let una = Seq(1000);
        let max = Seq(10000);
        assert!(s.add(Seq(3000), Seq(4000), una, max));
        assert!(s.add(Seq(5000), Seq(6000), una, max));
        assert!(!s.add(Seq(3000), Seq(3500), una, max));
        assert!(s.add(Seq(3900), Seq(5100), una, max));
        assert_eq!(s.blocks(), &[(Seq(3000), Seq(6000))]);
        assert!(s.add(Seq(7000), Seq(8000), una, max));
        assert_eq!(s.next_hole(una, max), Some((Seq(1000), Seq(3000))));
        assert_eq!(s.next_hole(Seq(3000), max), Some((Seq(6000), Seq(7000))));
        assert_eq!(s.next_hole(Seq(8000), Seq(8000)), None);
        assert_eq!(s.unsacked_in(una, max), 9000 - 4000);
        // 4000 bytes sacked above 1000..3000 > 2*1000: lost boundary at 3000 with mss 1000
        assert_eq!(s.lost_boundary(una, 3, 1000), Seq(3000));
        // with mss 2000: blocks (7000,8000)=1000, then (3000,6000) -> 4000 > 4000? no; 2 blocks < 3
        assert_eq!(s.lost_boundary(una, 3, 2000), una);
        s.advance(Seq(3500));
        assert_eq!(s.blocks()[0], (Seq(3500), Seq(6000)));
    }
}
