//! The Internet checksum (RFC 1071) and the IPv4 pseudo-header.
use std::net::Ipv4Addr;

/// One's-complement sum of `data` (odd length padded with a zero byte), folded to 16 bits, added to
/// `initial` (an unfolded partial sum).
pub fn sum(initial: u32, data: &[u8]) -> u32 {
    // RFC 1071 section 2 allows two shortcuts, both used here:
    // (B) the sum may be computed in either byte order, as long as the result is swapped back. We
    //     add native-order words and swap once at the end, so no per-word byte swap is needed.
    // (C) the sum may be computed in wider words and folded later (2^16 = 1 modulo 0xffff). We add
    //     32-bit words into a 64-bit accumulator: no carry can be lost before 2^32 additions,
    //     so there is no end-around carry in the loop, which lets the compiler vectorise it.
    let mut words = data.chunks_exact(4);
    let wide: u64 = (&mut words).map(|w| u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))).sum();
    // 0 to 3 bytes are left, starting on a 16-bit boundary; an odd last byte is padded with zero
    // (the padding byte follows it in memory, so it is the low-order byte in network order).
    let rest = words.remainder();
    let mut tail = [0u8; 4];
    tail[..rest.len()].copy_from_slice(rest);
    let wide = wide + u64::from(u32::from_ne_bytes(tail));
    let mut s = fold64(wide) as u16;
    if cfg!(target_endian = "little") {
        s = s.swap_bytes();
    }
    fold64(u64::from(s) + u64::from(initial))
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

/// `checksum(data)`, with a short path for a 20-byte IPv4 header without options (checked at every
/// hop): five words added directly, without the general loop's setup and tail handling.
pub fn header_checksum(data: &[u8]) -> u16 {
    let Ok(h) = <&[u8; 20]>::try_from(data) else {
        return checksum(data);
    };
    let word = |i: usize| u64::from(u32::from_ne_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]));
    // Shortcuts (B) and (C) of RFC 1071 section 2, as in `sum`.
    let mut s = fold64(word(0) + word(4) + word(8) + word(12) + word(16)) as u16;
    if cfg!(target_endian = "little") {
        s = s.swap_bytes();
    }
    finish(u32::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_short_path_agrees_with_the_general_sum() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for len in [19usize, 20, 21, 24] {
            for _ in 0..2000 {
                let data: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                assert_eq!(header_checksum(&data), checksum(&data), "{data:02x?}");
            }
        }
        assert_eq!(header_checksum(&[0xff; 20]), checksum(&[0xff; 20]));
        assert_eq!(header_checksum(&[0; 20]), 0xffff);
    }

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

    /// The textbook algorithm: big-endian 16-bit words, end-around carry after each addition.
    fn reference_sum(initial: u32, data: &[u8]) -> u32 {
        let mut acc = fold64(u64::from(initial));
        for w in data.chunks(2) {
            acc += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc
    }

    #[test]
    fn wide_native_order_sum_equals_the_textbook_one() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for len in 0..300 {
            for _ in 0..20 {
                let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                let initial = next() as u32 >> (next() % 32);
                assert_eq!(sum(initial, &data), reference_sum(initial, &data), "len {len} initial {initial:#x}");
            }
        }
        // Long runs of 0xff exercise the wide accumulators' carries.
        for len in [1500, 9000, 65535] {
            let data = vec![0xffu8; len];
            assert_eq!(sum(0, &data), reference_sum(0, &data));
        }
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
