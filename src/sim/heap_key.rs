//! The key the event queue's heaps order: a time and an insertion sequence number, plus the index
//! of what the key stands for (a slot or a lane). Keys compare by (time, sequence) as one 128-bit
//! number: sequence numbers are unique, so the index never decides, and one wide comparison
//! (two instructions, no branch) replaces the field-by-field comparison of a tuple, which the
//! heap's sift-down performs a few times per event.

use super::time::Instant;
use std::cmp::Ordering;

/// (time, sequence) order, carrying `idx`.
#[derive(Clone, Copy, Debug)]
pub struct HeapKey {
    /// When the event is due.
    pub time: Instant,
    /// The insertion sequence number (unique within a queue).
    pub seq: u64,
    /// What the key stands for (a slot of the general heap, or a lane).
    pub idx: u32,
}

impl HeapKey {
    /// (time, sequence) as one number whose order is theirs.
    fn order(&self) -> u128 {
        (u128::from(self.time.as_nanos()) << 64) | u128::from(self.seq)
    }
}

impl PartialEq for HeapKey {
    fn eq(&self, other: &Self) -> bool {
        self.order() == other.order()
    }
}

impl Eq for HeapKey {}

impl PartialOrd for HeapKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
    fn lt(&self, other: &Self) -> bool {
        self.order() < other.order()
    }
    fn le(&self, other: &Self) -> bool {
        self.order() <= other.order()
    }
}

impl Ord for HeapKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order().cmp(&other.order())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_by_time_then_sequence_whatever_their_index() {
        let k = |t: u64, seq: u64, idx: u32| HeapKey { time: Instant::from_nanos(t), seq, idx };
        assert!(k(1, 9, 0) < k(2, 0, 0));
        assert!(k(5, 1, 7) < k(5, 2, 0));
        assert!(k(u64::MAX, 0, 0) > k(u64::MAX - 1, u64::MAX, 0));
        assert!(k(3, 3, 1) <= k(3, 3, 2) && k(3, 3, 2) <= k(3, 3, 1));
        let mut v = [k(2, 5, 0), k(1, 7, 1), k(2, 4, 2), k(1, 6, 3)];
        v.sort();
        assert_eq!(v.iter().map(|x| x.idx).collect::<Vec<_>>(), [3, 1, 2, 0]);
    }
}
