//! Send side storage: the send buffer (unacknowledged + unsent bytes, contiguous so that an outgoing
//! segment's payload can borrow it without copying) and the SACK scoreboard (RFC 2018, RFC 6675).

use super::seq::Seq;

/// Bytes from SND.UNA (offset 0) to the end of the data the application queued: a ring buffer
/// that grows (doubling, up to its capacity) only as data is queued, so an idle connection holds
/// no storage and acknowledged bytes are never moved. A segment's payload borrows the ring; the
/// rare segment that straddles the wrap point is copied once into a scratch buffer.
#[derive(Debug, Clone, Default)]
pub struct SendBuffer {
    ring: Vec<u8>,
    /// Index in `ring` of offset 0 (SND.UNA).
    head: usize,
    len: usize,
    cap: usize,
    scratch: Vec<u8>,
}

impl SendBuffer {
    pub fn new(cap: usize) -> Self {
        SendBuffer { ring: Vec::new(), head: 0, len: 0, cap, scratch: Vec::new() }
    }
    pub fn len(&self) -> usize {
        self.len
    }
    #[allow(dead_code)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn free(&self) -> usize {
        self.cap.saturating_sub(self.len)
    }
    /// Makes the ring at least `need` bytes long, unwrapping the data to index 0.
    fn grow(&mut self, need: usize) {
        let size = need.max(self.ring.len() * 2).max(4096).min(self.cap.max(need));
        let mut ring = vec![0u8; size];
        let (a, b) = self.parts(0, self.len);
        ring[..a.len()].copy_from_slice(a);
        ring[a.len()..a.len() + b.len()].copy_from_slice(b);
        self.ring = ring;
        self.head = 0;
    }
    /// The bytes [offset, offset + len) as up to two slices of the ring.
    fn parts(&self, offset: usize, len: usize) -> (&[u8], &[u8]) {
        let n = self.ring.len();
        if len == 0 || n == 0 {
            return (&[], &[]);
        }
        let start = (self.head + offset) % n;
        let first = len.min(n - start);
        (&self.ring[start..start + first], &self.ring[..len - first])
    }
    /// Appends as much of `data` as fits; returns the count.
    #[cfg(test)]
    pub fn push(&mut self, data: &[u8]) -> usize {
        self.push_with(data.len(), &mut |off, dst| dst.copy_from_slice(&data[off..off + dst.len()]))
    }
    /// Appends `min(max, free)` bytes that `fill(offset, dst)` writes straight into the ring (called
    /// once or twice, as the free space may wrap); returns the count.
    pub fn push_with(&mut self, max: usize, fill: &mut dyn FnMut(usize, &mut [u8])) -> usize {
        let n = max.min(self.free());
        if n == 0 {
            return 0;
        }
        if self.len + n > self.ring.len() {
            self.grow(self.len + n);
        }
        let size = self.ring.len();
        let tail = (self.head + self.len) % size;
        let first = n.min(size - tail);
        fill(0, &mut self.ring[tail..tail + first]);
        if n > first {
            fill(first, &mut self.ring[..n - first]);
        }
        self.len += n;
        n
    }
    /// `len` bytes from `offset` (relative to SND.UNA), clipped to what exists; contiguous
    /// (copied to the scratch buffer if they straddle the wrap point).
    pub fn slice(&mut self, offset: usize, len: usize) -> &[u8] {
        let offset = offset.min(self.len);
        let len = len.min(self.len - offset);
        let n = self.ring.len();
        if len == 0 || n == 0 {
            return &[];
        }
        let start = (self.head + offset) % n;
        if start + len <= n {
            return &self.ring[start..start + len];
        }
        let first = n - start;
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.ring[start..]);
        self.scratch.extend_from_slice(&self.ring[..len - first]);
        &self.scratch
    }
    /// Drops `n` acknowledged bytes from the front.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        if self.len == 0 {
            self.head = 0;
        } else {
            self.head = (self.head + n) % self.ring.len();
        }
    }
}

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
    fn send_buffer_push_consume() {
        let mut b = SendBuffer::new(10);
        assert_eq!(b.push(b"hello world"), 10);
        assert_eq!(b.push(b"x"), 0);
        assert_eq!(b.slice(6, 100), b"worl");
        b.consume(6);
        assert_eq!(b.len(), 4);
        assert_eq!(b.push(b"abcdefgh"), 6);
        assert_eq!(b.slice(0, 10), b"worlabcdef");
    }

    #[test]
    fn send_buffer_wraps_without_moving_data() {
        let mut b = SendBuffer::new(8192);
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mut pushed = b.push(&data);
        let mut una = 0;
        // Consume and refill many times around the ring; every slice reads the right bytes.
        while una < data.len() {
            let take = 1000.min(b.len());
            let off = take / 2;
            assert_eq!(b.slice(off, 777), &data[una + off..(una + off + 777).min(pushed)]);
            b.consume(take);
            una += take;
            pushed += b.push(&data[pushed..]);
        }
        assert!(b.is_empty());
        assert!(b.ring.len() <= 8192);
    }

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
