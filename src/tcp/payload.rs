//! Payload without storage. Data whose bytes are a function of their position in a stream (a seeded
//! test pattern, a file that does not change) can be queued for sending as a *content source and a
//! range* instead of as a copy: the send buffer then holds an `Arc` and two numbers, and the payload
//! of a segment is produced from the source each time that segment is sent or resent. A connection's
//! memory is its control state plus whatever the application wrote by hand, however large its send
//! buffer.
//!
//! The bytes on the wire are the same either way: queuing `fill_at(at, n)` bytes by hand
//! (`TcpStack::send`) or as content (`TcpStack::send_content`) gives identical segments. Stacks that
//! cannot hold ranges (smoltcp, a stack in another process) take content through
//! `stack::Sockets::send_content`'s default, which materialises the bytes through `send_with`.

use std::sync::Arc;

/// A stream of bytes readable at any offset, any number of times, always giving the same bytes.
///
/// The send buffer asks for a segment's payload when the segment is sent, again when it is
/// retransmitted, and in pieces of any size and alignment, so `fill_at` must depend on nothing but
/// its arguments. It runs on the per-packet path: it should write `dst` without allocating.
pub trait ContentSource: Send + Sync {
    /// Writes the stream's bytes `[offset, offset + dst.len())` into `dst`.
    fn fill_at(&self, offset: u64, dst: &mut [u8]);
}

/// A content source shared by the application that queues ranges of it and the send buffers that
/// hold those ranges.
pub type SharedContent = Arc<dyn ContentSource>;

#[cfg(test)]
pub(crate) mod testing {
    use super::ContentSource;

    /// Byte `i` of the stream is `(i * 7 + i / 251) mod 256`: not periodic in any small power of
    /// two, so a range read at the wrong offset does not match.
    pub(crate) struct Counting;

    impl ContentSource for Counting {
        fn fill_at(&self, offset: u64, dst: &mut [u8]) {
            for (i, d) in dst.iter_mut().enumerate() {
                let o = offset + i as u64;
                *d = (o.wrapping_mul(7) + o / 251) as u8;
            }
        }
    }

    /// The stream's bytes `[from, from + len)`, for comparisons.
    pub(crate) fn bytes(from: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        Counting.fill_at(from, &mut v);
        v
    }
}
