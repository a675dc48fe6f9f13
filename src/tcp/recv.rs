//! Receive side: in-order bytes waiting for the application, and out-of-order segments kept for
//! reassembly (overlaps merged, duplicates discarded) together with their recency for SACK (RFC 2018
//! section 4: the block holding the most recently received segment is reported first).

use super::seq::Seq;
use std::collections::VecDeque;

/// Storage a drained receive buffer keeps: two or three segments, what an application that keeps
/// up needs.
const KEEP: usize = 4 * 1024;

#[derive(Debug, Clone)]
struct OooBlock {
    start: Seq,
    data: Vec<u8>,
    /// Recency counter: higher is more recent.
    touched: u64,
}

impl OooBlock {
    fn end(&self) -> Seq {
        self.start + self.data.len()
    }
}

/// What `insert` did with a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InsertOutcome {
    /// Bytes that advanced RCV.NXT (including previously queued out-of-order bytes).
    pub advanced: u32,
    /// The segment landed beyond RCV.NXT (a hole remains before it).
    pub out_of_order: bool,
    /// Out-of-order data was joined to the in-order stream (a hole was filled).
    pub filled_hole: bool,
    /// Nothing new: every byte was already received.
    pub duplicate: bool,
}

#[derive(Debug, Clone)]
pub struct RecvBuffer {
    ready: VecDeque<u8>,
    ooo: Vec<OooBlock>,
    cap: usize,
    clock: u64,
}

impl RecvBuffer {
    pub fn new(cap: usize) -> Self {
        RecvBuffer { ready: VecDeque::new(), ooo: Vec::new(), cap, clock: 0 }
    }
    pub fn capacity(&self) -> usize {
        self.cap
    }
    /// In-order bytes the application has not read.
    pub fn readable(&self) -> usize {
        self.ready.len()
    }
    /// Free space for the receive window (out-of-order bytes live inside the advertised window).
    pub fn free(&self) -> usize {
        self.cap.saturating_sub(self.ready.len())
    }
    pub fn has_ooo(&self) -> bool {
        !self.ooo.is_empty()
    }
    #[cfg(test)]
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        self.read_with(buf.len(), &mut |off, chunk| buf[off..off + chunk.len()].copy_from_slice(chunk))
    }
    /// Hands up to `max` in-order bytes to `f(offset, chunk)` (one or two slices) and consumes them.
    pub fn read_with(&mut self, max: usize, f: &mut dyn FnMut(usize, &[u8])) -> usize {
        let n = max.min(self.ready.len());
        let (a, b) = self.ready.as_slices();
        if n <= a.len() {
            f(0, &a[..n]);
        } else {
            f(0, a);
            f(a.len(), &b[..n - a.len()]);
        }
        self.ready.drain(..n);
        if self.ready.is_empty() {
            self.drained();
        }
        n
    }
    /// Discards unread data (when the application has closed the socket).
    pub fn discard_ready(&mut self) {
        self.drained();
    }
    /// Nothing is waiting to be read: start over at the front of the buffer (an application that
    /// keeps up then touches the same few cache lines instead of sweeping the whole buffer through
    /// the cache), and give back storage beyond `KEEP` bytes that a burst made it grow to (a filled
    /// hole hands the application a whole window at once). With thousands of connections, a larger
    /// buffer kept per connection is only cold memory by the time its next segment comes.
    fn drained(&mut self) {
        if self.ready.capacity() > KEEP {
            self.ready = VecDeque::new();
        } else {
            self.ready.clear();
        }
    }
    /// Bytes of storage held now (in-order and out-of-order data), for memory accounting.
    #[allow(dead_code)]
    pub fn storage(&self) -> usize {
        self.ready.capacity()
            + self.ooo.capacity() * std::mem::size_of::<OooBlock>()
            + self.ooo.iter().map(|b| b.data.capacity()).sum::<usize>()
    }

    /// Inserts `data` at `seq`; `rcv_nxt` is updated. Bytes before RCV.NXT or at/after `right`
    /// (the window's right edge) are trimmed.
    pub fn insert(&mut self, rcv_nxt: &mut Seq, mut seq: Seq, mut data: &[u8], right: Seq) -> InsertOutcome {
        let mut out = InsertOutcome::default();
        if seq < *rcv_nxt {
            let skip = rcv_nxt.since(seq) as usize;
            if skip >= data.len() {
                out.duplicate = true;
                return out;
            }
            data = &data[skip..];
            seq = *rcv_nxt;
        }
        if seq + data.len() > right {
            let keep = right.since(seq) as usize;
            data = &data[..keep.min(data.len())];
        }
        if data.is_empty() {
            out.duplicate = true;
            return out;
        }
        self.clock += 1;
        if seq == *rcv_nxt {
            self.ready.extend(data);
            *rcv_nxt += data.len();
            out.advanced = data.len() as u32;
            // Pull in out-of-order blocks that are now contiguous (or overlap).
            while let Some(first) = self.ooo.first() {
                if first.start > *rcv_nxt {
                    break;
                }
                let b = self.ooo.remove(0);
                if b.end() > *rcv_nxt {
                    let skip = rcv_nxt.since(b.start) as usize;
                    self.ready.extend(&b.data[skip..]);
                    let n = b.data.len() - skip;
                    *rcv_nxt += n;
                    out.advanced += n as u32;
                    out.filled_hole = true;
                }
            }
            return out;
        }
        out.out_of_order = true;
        // Merge [seq, seq+len) with the overlapping/adjacent blocks.
        let end = seq + data.len();
        let mut i = 0;
        while i < self.ooo.len() && self.ooo[i].end() < seq {
            i += 1;
        }
        let mut j = i;
        while j < self.ooo.len() && self.ooo[j].start <= end {
            j += 1;
        }
        if i == j {
            self.ooo.insert(i, OooBlock { start: seq, data: data.to_vec(), touched: self.clock });
            return out;
        }
        if j == i + 1 && self.ooo[i].start <= seq && self.ooo[i].end() >= end {
            // Entirely a duplicate of what we hold.
            out.duplicate = true;
            self.ooo[i].touched = self.clock;
            return out;
        }
        if j == i + 1 && self.ooo[i].start <= seq {
            // The common case while a hole is open: the segment extends one block at its end.
            // Appending in place keeps the cost per segment constant however large the block.
            let b = &mut self.ooo[i];
            let overlap = b.end().since(seq) as usize;
            // As in the general merge below, the newest copy of an overlapping byte wins.
            let keep = b.data.len() - overlap;
            b.data[keep..].copy_from_slice(&data[..overlap]);
            b.data.extend_from_slice(&data[overlap..]);
            b.touched = self.clock;
            return out;
        }
        let start = seq.min(self.ooo[i].start);
        let new_end = end.max(self.ooo[j - 1].end());
        let mut merged = vec![0u8; new_end.since(start) as usize];
        for b in &self.ooo[i..j] {
            let off = b.start.since(start) as usize;
            merged[off..off + b.data.len()].copy_from_slice(&b.data);
        }
        let off = seq.since(start) as usize;
        merged[off..off + data.len()].copy_from_slice(data);
        self.ooo.splice(i..j, [OooBlock { start, data: merged, touched: self.clock }]);
        out
    }

    /// Every byte of [start, end) is already held out of order (received earlier, beyond a hole).
    pub fn holds(&self, start: Seq, end: Seq) -> bool {
        self.ooo.iter().any(|b| b.start <= start && end <= b.end())
    }

    /// Where out-of-order data [start, end) falls in the SACK report's recency order: the rank of
    /// the most recently changed block it overlaps or adjoins (0 = the block reported first), or
    /// the number of blocks when it starts a new one.
    pub fn sack_rank(&self, start: Seq, end: Seq) -> usize {
        let touching = self.ooo.iter().filter(|b| b.start <= end && start <= b.end()).map(|b| b.touched).max();
        match touching {
            Some(t) => self.ooo.iter().filter(|b| b.touched > t).count(),
            None => self.ooo.len(),
        }
    }

    /// SACK blocks (left, right), most recently changed first, at most `max`.
    pub fn sack_blocks(&self, max: usize) -> Vec<(Seq, Seq)> {
        let mut v: Vec<&OooBlock> = self.ooo.iter().collect();
        v.sort_by_key(|b| std::cmp::Reverse(b.touched));
        v.into_iter().take(max).map(|b| (b.start, b.end())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sack_rank_is_the_recency_rank_of_the_block_a_segment_joins() {
        let mut r = RecvBuffer::new(10_000);
        let mut nxt = Seq(100);
        for start in [200u32, 400, 600] {
            r.insert(&mut nxt, Seq(start), &[1; 100], Seq(10_000));
        }
        // Reported as [600,700) [400,500) [200,300).
        assert_eq!(r.sack_rank(Seq(700), Seq(800)), 0, "extends the newest block");
        assert_eq!(r.sack_rank(Seq(500), Seq(550)), 1);
        assert_eq!(r.sack_rank(Seq(150), Seq(200)), 2, "adjoining counts");
        assert_eq!(r.sack_rank(Seq(900), Seq(1000)), 3, "a new block ranks behind all");
        r.insert(&mut nxt, Seq(300), &[1; 50], Seq(10_000));
        assert_eq!(r.sack_rank(Seq(350), Seq(400)), 0, "touched last: [200,350) is now first");
    }

    #[test]
    fn reassembly_with_overlaps_and_duplicates() {
        let mut r = RecvBuffer::new(1000);
        let mut nxt = Seq(100);
        let right = Seq(1100);
        let o = r.insert(&mut nxt, Seq(110), b"klmno", right);
        assert!(o.out_of_order);
        let o = r.insert(&mut nxt, Seq(120), b"uvwxyz", right);
        assert!(o.out_of_order);
        assert_eq!(r.sack_blocks(4), vec![(Seq(120), Seq(126)), (Seq(110), Seq(115))]);
        // overlapping both blocks
        let o = r.insert(&mut nxt, Seq(113), b"nopqrstu", right);
        assert!(o.out_of_order && !o.duplicate);
        assert_eq!(r.sack_blocks(4), vec![(Seq(110), Seq(126))]);
        let o = r.insert(&mut nxt, Seq(112), b"mn", right);
        assert!(o.duplicate);
        // fill the hole, overlapping into the block
        let o = r.insert(&mut nxt, Seq(100), b"abcdefghijkl", right);
        assert!(o.filled_hole);
        assert_eq!(nxt, Seq(126));
        assert_eq!(o.advanced, 26);
        let mut buf = [0u8; 64];
        let n = r.read(&mut buf);
        assert_eq!(&buf[..n], b"abcdefghijklmnopqrstuvwxyz");
        // old duplicate
        let o = r.insert(&mut nxt, Seq(100), b"abc", right);
        assert!(o.duplicate);
        // trimmed at the right edge
        let o = r.insert(&mut nxt, Seq(1098), b"0123456789", Seq(1100));
        assert!(o.out_of_order);
        assert_eq!(r.sack_blocks(4), vec![(Seq(1098), Seq(1100))]);
    }

    #[test]
    fn a_growing_out_of_order_block_is_extended_in_place_and_given_back_once_read() {
        let mut r = RecvBuffer::new(1 << 20);
        let mut nxt = Seq(0);
        let right = Seq(1 << 20);
        let seg = |i: u32| -> Vec<u8> { (0..1000u32).map(|b| ((i * 1000 + b) % 253) as u8).collect() };
        // Segment 0 is lost; 1..500 arrive and grow one block.
        for i in 1..500u32 {
            let o = r.insert(&mut nxt, Seq(i * 1000), &seg(i), right);
            assert!(o.out_of_order && !o.duplicate);
        }
        assert_eq!(r.sack_blocks(4), vec![(Seq(1000), Seq(500_000))]);
        // A retransmission overlapping the block's end: the newest copy wins, as in a merge.
        let mut newer = seg(499);
        newer.extend_from_slice(&[0xee; 500]);
        r.insert(&mut nxt, Seq(499_000), &newer, right);
        assert_eq!(r.sack_blocks(4), vec![(Seq(1000), Seq(500_500))]);
        // The hole fills: a whole window becomes readable at once.
        let o = r.insert(&mut nxt, Seq(0), &seg(0), right);
        assert!(o.filled_hole);
        assert_eq!(nxt, Seq(500_500));
        let mut got = Vec::new();
        r.read_with(usize::MAX, &mut |_, c| got.extend_from_slice(c));
        let mut want: Vec<u8> = (0..500).flat_map(seg).collect();
        want.extend_from_slice(&[0xee; 500]);
        assert!(got == want);
        // Read to the end, the buffer gives its half megabyte back.
        assert!(r.storage() <= KEEP, "drained receive buffer holds {} bytes", r.storage());
    }
}
