//! The Internet checksum (RFC 1071) and the IPv4 pseudo-header.
use std::net::Ipv4Addr;

/// One's-complement sum of `data` (odd length padded with a zero byte), folded to 16 bits, added to
/// `initial` (an unfolded partial sum).
pub fn sum(initial: u32, data: &[u8]) -> u32 {
    // One's-complement addition of big-endian 64-bit words with end-around carry, folded to 16 bits
    // at the end (RFC 1071 section 2: the sum may be computed in wider words, since 2^16 = 1 modulo
    // 0xffff, and in either byte order as long as it is consistent).
    let mut acc: u64 = u64::from(initial);
    let mut chunks = data.chunks_exact(8);
    for w in &mut chunks {
        let (s, carry) = acc.overflowing_add(u64::from_be_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]));
        acc = s + u64::from(carry);
    }
    // 0 to 7 bytes are left, starting on a 16-bit boundary; an odd last byte is padded with zero.
    let rest = chunks.remainder();
    let mut tail = [0u8; 8];
    tail[..rest.len()].copy_from_slice(rest);
    let (s, carry) = acc.overflowing_add(u64::from_be_bytes(tail));
    fold64(s + u64::from(carry))
}

/// End-around-carry fold of a wide sum to 16 bits (returned as u32 so it can be fed back to `sum`).
fn fold64(mut acc: u64) -> u32 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u32
}

/// Folds a partial sum to 16 bits and complements it: the checksum field value.
pub fn finish(sum: u32) -> u16 {
    !(fold64(u64::from(sum)) as u16)
}

/// Partial sum of the IPv4 pseudo-header (RFC 9293 section 3.1) for `protocol` and `length`.
pub fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u32 {
    let s = src.octets();
    let d = dst.octets();
    let acc = u32::from(u16::from_be_bytes([s[0], s[1]]))
        + u32::from(u16::from_be_bytes([s[2], s[3]]))
        + u32::from(u16::from_be_bytes([d[0], d[1]]))
        + u32::from(u16::from_be_bytes([d[2], d[3]]))
        + u32::from(protocol)
        + u32::from(length);
    fold64(u64::from(acc))
}

/// `finish(sum(0, data))`.
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(0, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(0, &data), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(0, &[0xab]), 0xab00);
        assert_eq!(sum(0, &[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn verifying_a_checksummed_buffer_gives_zero() {
        let mut data = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0, 0, 0xc0, 0xa8];
        let c = checksum(&data);
        data[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&data), 0);
    }

    #[test]
    fn carries_are_folded() {
        assert_eq!(sum(0, &[0xff, 0xff, 0xff, 0xff]), 0xffff);
        assert_eq!(sum(0xffff_ffff, &[0x00, 0x01]), fold64(0xffff_ffff + 1));
        assert_eq!(finish(0x1_fffe), !0xffffu16);
    }

    #[test]
    fn empty_is_zero_sum() {
        assert_eq!(sum(0, &[]), 0);
        assert_eq!(checksum(&[]), 0xffff);
    }

    #[test]
    fn pseudo_header_matches_bytes() {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(192, 168, 1, 200);
        let bytes = [10, 0, 0, 1, 192, 168, 1, 200, 0, 6, 0x05, 0xdc];
        assert_eq!(pseudo_header(src, dst, 6, 1500), sum(0, &bytes));
    }
}
