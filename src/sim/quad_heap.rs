//! A min-heap with four children per node, for the event queue's keys. Half as deep as a binary
//! heap: with tens of thousands of pending timers and busy lanes, most levels of either heap are
//! out of the cache, and a pop costs one miss per level; four sibling keys of 24 bytes share one
//! or two cache lines.
//!
//! Keys must be distinct (the queue's keys end in a unique sequence number), so the order things
//! come out in is fully determined by the keys, whatever the heap's shape.

/// A min-heap of `Copy` keys with four children per node.
pub struct QuadHeap<T> {
    items: Vec<T>,
}

impl<T> Default for QuadHeap<T> {
    fn default() -> Self {
        QuadHeap { items: Vec::new() }
    }
}

impl<T: Ord + Copy> QuadHeap<T> {
    /// An empty heap with room for `n` keys.
    pub fn with_capacity(n: usize) -> Self {
        QuadHeap { items: Vec::with_capacity(n) }
    }

    /// The smallest key.
    pub fn peek(&self) -> Option<&T> {
        self.items.first()
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds `key`.
    pub fn push(&mut self, key: T) {
        let mut i = self.items.len();
        self.items.push(key);
        while i > 0 {
            let parent = (i - 1) / 4;
            if self.items[parent] <= key {
                break;
            }
            self.items[i] = self.items[parent];
            i = parent;
        }
        self.items[i] = key;
    }

    /// Removes and returns the smallest key.
    pub fn pop(&mut self) -> Option<T> {
        let last = self.items.pop()?;
        let Some(&top) = self.items.first() else { return Some(last) };
        self.sift_down(last);
        Some(top)
    }

    /// Replaces the smallest key by `key` (cheaper than a pop and a push).
    pub fn replace_top(&mut self, key: T) {
        if self.items.is_empty() {
            self.items.push(key);
        } else {
            self.sift_down(key);
        }
    }

    /// The index of the least of the children starting at `first` (the earliest on a tie). Four
    /// children are compared as a tournament of independent pairs rather than one after the other.
    fn least_child(&self, first: usize, n: usize) -> usize {
        if let Some(kids) = self.items.get(first..first + 4) {
            let a = if kids[1] < kids[0] { 1 } else { 0 };
            let b = if kids[3] < kids[2] { 3 } else { 2 };
            return first + if kids[b] < kids[a] { b } else { a };
        }
        let mut best = first;
        for c in first + 1..n {
            if self.items[c] < self.items[best] {
                best = c;
            }
        }
        best
    }

    /// Puts `key` at the root and moves it down to its place.
    fn sift_down(&mut self, key: T) {
        let n = self.items.len();
        let mut i = 0;
        loop {
            let first = 4 * i + 1;
            if first >= n {
                break;
            }
            let best = self.least_child(first, n);
            if key <= self.items[best] {
                break;
            }
            self.items[i] = self.items[best];
            i = best;
        }
        self.items[i] = key;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_out_in_order_through_pushes_pops_and_replacements() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut h = QuadHeap::default();
        let mut model: Vec<(u64, u64)> = Vec::new();
        for seq in 0..5000u64 {
            match next() % 4 {
                0 | 1 => {
                    let k = (next() % 100, seq);
                    h.push(k);
                    model.push(k);
                }
                2 => {
                    model.sort();
                    let want = if model.is_empty() { None } else { Some(model.remove(0)) };
                    assert_eq!(h.pop(), want);
                }
                _ if !model.is_empty() => {
                    model.sort();
                    let k = (next() % 100, seq);
                    model[0] = k;
                    h.replace_top(k);
                }
                _ => {}
            }
            model.sort();
            assert_eq!(h.peek(), model.first());
            assert_eq!(h.len(), model.len());
        }
        model.sort();
        for want in model {
            assert_eq!(h.pop(), Some(want));
        }
        assert!(h.is_empty() && h.pop().is_none());
    }
}
