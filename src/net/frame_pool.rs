//! Free frame buffers, kept for reuse so that the steady state of a run allocates none.
//!
//! A buffer is still in the CPU's caches for as many bytes as its last frame had (they were just
//! read: checksummed, copied into a receive buffer). A data segment written into a buffer whose last
//! frame was a 66-byte ACK would miss the cache on its other twenty-odd lines, so buffers are kept
//! in two stacks by the size of their last frame, and a frame takes one that last held a frame of
//! its own size class. Which buffer a frame gets changes nothing but the cache: every byte of a new
//! frame is written before it is sent.

/// Frames of at least this many bytes are large (full-sized data segments, not ACKs).
const LARGE: usize = 512;

/// At most this many buffers are kept.
const KEEP: usize = 4096;

/// Free frame buffers in two stacks, by the size of the frame each last held.
#[derive(Default)]
pub(crate) struct FramePool {
    small: Vec<Vec<u8>>,
    large: Vec<Vec<u8>>,
}

impl FramePool {
    /// A buffer for a frame of `len` bytes (0 when not known): the one freed last among those whose
    /// last frame was of the same size class, else any, else a new one. Its contents are stale.
    pub(crate) fn take(&mut self, len: usize) -> Vec<u8> {
        let (first, second) =
            if len >= LARGE { (&mut self.large, &mut self.small) } else { (&mut self.small, &mut self.large) };
        first.pop().or_else(|| second.pop()).unwrap_or_else(|| Vec::with_capacity(1514))
    }

    /// Keeps `buf` for reuse (unless `KEEP` buffers are kept already).
    pub(crate) fn give(&mut self, buf: Vec<u8>) {
        if self.small.len() + self.large.len() >= KEEP {
            return;
        }
        if buf.len() >= LARGE { self.large.push(buf) } else { self.small.push(buf) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_gets_a_buffer_that_last_held_a_frame_of_its_size_class() {
        let mut pool = FramePool::default();
        pool.give(vec![1; 1514]);
        pool.give(vec![2; 66]);
        assert_eq!(pool.take(1514)[0], 1, "a data segment takes the buffer of a data segment");
        assert_eq!(pool.take(66)[0], 2);
        // With only one class left, either size takes it.
        pool.give(vec![3; 66]);
        assert_eq!(pool.take(1514)[0], 3);
        // An empty pool makes a new buffer.
        assert!(pool.take(0).is_empty());
    }

    #[test]
    fn keeps_a_bounded_number_of_buffers() {
        let mut pool = FramePool::default();
        for i in 0..KEEP + 10 {
            pool.give(vec![0; if i % 2 == 0 { 60 } else { 1500 }]);
        }
        assert_eq!(pool.small.len() + pool.large.len(), KEEP);
    }
}
