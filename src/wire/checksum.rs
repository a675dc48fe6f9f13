//! The Internet checksum (RFC 1071) and the IPv4 pseudo-header.
use std::net::Ipv4Addr;

/// One's-complement sum of `data` (odd length padded with a zero byte), folded to 16 bits, added to
/// `initial` (an unfolded partial sum).
pub fn sum(initial: u32, data: &[u8]) -> u32 {
    todo!()
}

/// Folds a partial sum to 16 bits and complements it: the checksum field value.
pub fn finish(sum: u32) -> u16 {
    todo!()
}

/// Partial sum of the IPv4 pseudo-header (RFC 9293 section 3.1) for `protocol` and `length`.
pub fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u32 {
    todo!()
}

/// `finish(sum(0, data))`.
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(0, data))
}
