//! The event queue, ordered by (time, insertion sequence). Two events at the same simulated time
//! always come out in the order they were scheduled, which is what makes runs reproducible bit for
//! bit.
//!
//! Most events in a busy run are frames arriving at the end of a link, and on a link without jitter
//! they arrive in the order they were sent. Such events can be pushed into a *lane* (one per link
//! direction): a FIFO that stays sorted by (time, sequence) on its own, so it costs O(1) instead of
//! a heap operation among every frame in flight. Only the head of each non-empty lane sits in a
//! small heap. An event that would break a lane's order (jitter, a rule's delay) goes to the general
//! heap instead; the merged order is the same (time, sequence) order either way.
//!
//! The general heap holds only (time, sequence, slot) keys; the events wait in a slab of slots
//! whose free places are reused. With thousands of hosts, each with a timer pending, the heap is
//! large: keys a third the size of whole events make each step of a push or pop touch one cache
//! line instead of three.

use super::heap_key::HeapKey;
use super::quad_heap::QuadHeap;
use super::time::Instant;
use std::collections::VecDeque;

struct Entry<E> {
    time: Instant,
    seq: u64,
    event: E,
}

/// A deterministic priority queue of events.
pub struct EventQueue<E> {
    /// (time, seq, slot) of the events not in a lane, earliest first.
    heap: QuadHeap<HeapKey>,
    /// The events of `heap`, by slot.
    slots: Vec<Option<E>>,
    /// Slots of `slots` that are free.
    free: Vec<u32>,
    lanes: Vec<VecDeque<Entry<E>>>,
    /// (time, seq, lane) of the first event of every non-empty lane.
    heads: QuadHeap<HeapKey>,
    len: usize,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }
    /// An empty queue with room for `n` events in its main heap before it reallocates.
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: QuadHeap::with_capacity(n),
            slots: Vec::with_capacity(n),
            free: Vec::new(),
            lanes: Vec::new(),
            heads: QuadHeap::default(),
            len: 0,
            next_seq: 0,
        }
    }
    fn entry(&mut self, time: Instant, event: E) -> Entry<E> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        Entry { time, seq, event }
    }
    /// Schedules `event` at `time`. Ties are broken by the order of calls.
    pub fn push(&mut self, time: Instant, event: E) {
        let e = self.entry(time, event);
        self.push_heap(e);
    }
    fn push_heap(&mut self, e: Entry<E>) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(e.event);
                slot
            }
            None => {
                self.slots.push(Some(e.event));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 events pending")
            }
        };
        self.heap.push(HeapKey { time: e.time, seq: e.seq, idx: slot });
    }
    /// Like `push`, for an event that usually comes no earlier than the last one pushed into `lane`
    /// (frames leaving one end of a link). The order of events out of the queue is exactly the same
    /// as with `push`; this is only faster.
    pub fn push_in_lane(&mut self, lane: usize, time: Instant, event: E) {
        let e = self.entry(time, event);
        if lane >= self.lanes.len() {
            self.lanes.resize_with(lane + 1, VecDeque::new);
        }
        let q = &mut self.lanes[lane];
        match q.back() {
            None => {
                self.heads.push(HeapKey { time: e.time, seq: e.seq, idx: lane_index(lane) });
                q.push_back(e);
            }
            Some(last) if last.time <= time => q.push_back(e),
            Some(_) => self.push_heap(e),
        }
    }
    /// Starts loading `lane`'s ring header (a `push_in_lane` into it is coming).
    pub fn prefetch_lane(&self, lane: usize) {
        if let Some(q) = self.lanes.get(lane) {
            crate::sys::prefetch_value(q);
        }
    }
    /// The next event in `lane`, if any (it need not be the next event overall).
    pub fn lane_front(&self, lane: usize) -> Option<&E> {
        self.lanes.get(lane).and_then(|q| q.front()).map(|e| &e.event)
    }
    /// The lane whose first event comes first among the lanes (it need not be the next event
    /// overall): what the caller may start loading ahead.
    pub fn next_lane(&self) -> Option<usize> {
        self.heads.peek().map(|h| h.idx as usize)
    }
    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<Instant> {
        match (self.heap.peek(), self.heads.peek()) {
            (Some(h), Some(l)) => Some(h.time.min(l.time)),
            (Some(h), None) => Some(h.time),
            (None, Some(l)) => Some(l.time),
            (None, None) => None,
        }
    }
    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(Instant, E)> {
        let from_lane = match (self.heap.peek(), self.heads.peek()) {
            (Some(h), Some(l)) => l < h,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        let e = if from_lane {
            let lane = self.heads.peek().expect("a lane head").idx as usize;
            let q = &mut self.lanes[lane];
            let e = q.pop_front().expect("lane heads are non-empty lanes");
            match q.front() {
                Some(next) => self.heads.replace_top(HeapKey { time: next.time, seq: next.seq, idx: lane_index(lane) }),
                None => {
                    self.heads.pop();
                }
            }
            (e.time, e.event)
        } else {
            let HeapKey { time, idx: slot, .. } = self.heap.pop()?;
            self.free.push(slot);
            let event = self.slots[slot as usize].take().expect("a heap key names a full slot");
            (time, event)
        };
        self.len -= 1;
        self.prefetch_next();
        Some(e)
    }
    /// Starts loading what the next `pop` reads first (the next lane's ring, the next heap event),
    /// which after a long run is rarely in a cache any more.
    fn prefetch_next(&self) {
        if let Some(head) = self.heads.peek()
            && let Some(q) = self.lanes.get(head.idx as usize)
        {
            crate::sys::prefetch_value(q);
        }
        if let Some(key) = self.heap.peek()
            && let Some(e) = self.slots.get(key.idx as usize)
        {
            crate::sys::prefetch_value(e);
        }
    }
    /// Events scheduled and not yet popped (in the heap and in all lanes).
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// How many events were ever scheduled.
    pub fn scheduled(&self) -> u64 {
        self.next_seq
    }
}

/// A lane's number as a heap key's index.
fn lane_index(lane: usize) -> u32 {
    u32::try_from(lane).expect("fewer than 2^32 lanes (two per link)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_break_by_insertion_order() {
        let mut q = EventQueue::new();
        let t = Instant::from_nanos(10);
        q.push(Instant::from_nanos(20), "late");
        for name in ["a", "b", "c", "d"] {
            q.push(t, name);
        }
        q.push(Instant::from_nanos(5), "early");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["early", "a", "b", "c", "d", "late"]);
    }

    #[test]
    fn lanes_merge_with_the_heap_in_time_then_insertion_order() {
        // A random mix of plain pushes and lane pushes (some out of the lane's order) must come out
        // exactly as a plain sort by (time, insertion order) says.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _round in 0..50 {
            let mut q = EventQueue::new();
            let mut expected = Vec::new();
            let mut now = 0u64;
            let mut id = 0u32;
            for _ in 0..400 {
                let r = next();
                if r % 3 == 0 {
                    // Pop one, as the engine does, and check it.
                    expected.sort();
                    if !expected.is_empty() {
                        let (t, _, want) = expected.remove(0);
                        let got = q.pop().unwrap();
                        assert_eq!(got, (Instant::from_nanos(t), want));
                        now = t;
                    }
                    continue;
                }
                let t = now + (next() % 50);
                let seq = id;
                if r % 3 == 1 {
                    q.push(Instant::from_nanos(t), id);
                } else {
                    q.push_in_lane((next() % 4) as usize, Instant::from_nanos(t), id);
                }
                expected.push((t, seq, id));
                id += 1;
                assert_eq!(q.len(), expected.len());
            }
            expected.sort();
            for (t, _, want) in expected {
                assert_eq!(q.peek_time(), Some(Instant::from_nanos(t)));
                assert_eq!(q.pop(), Some((Instant::from_nanos(t), want)));
            }
            assert!(q.is_empty() && q.pop().is_none() && q.peek_time().is_none());
        }
    }
}
