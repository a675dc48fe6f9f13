//! UDP (RFC 768) with the pseudo-header checksum.
use super::checksum;
use super::{Result, WireError};
use std::net::Ipv4Addr;

/// A UDP header; the length and checksum are computed by `emit` and checked by `parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

const PROTO_UDP: u8 = 17;

impl UdpRepr {
    /// Ports, length and checksum: 4 x 2 bytes.
    pub const HEADER_LEN: usize = 8;
    /// Parses a datagram; verifies the checksum unless it is zero (no checksum). The payload is
    /// trimmed to the UDP length field.
    ///
    /// A length field < 8 is `Malformed`; one larger than `buf` is `Truncated`.
    pub fn parse(buf: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<(UdpRepr, &[u8])> {
        let Some(h) = buf.first_chunk::<8>() else {
            return Err(WireError::Truncated);
        };
        let len = u16::from_be_bytes([h[4], h[5]]);
        let ulen = usize::from(len);
        if ulen < Self::HEADER_LEN {
            return Err(WireError::Malformed("udp length < 8"));
        }
        if ulen > buf.len() {
            return Err(WireError::Truncated);
        }
        let datagram = &buf[..ulen];
        // RFC 768: an all-zero checksum field means the sender computed none.
        if u16::from_be_bytes([h[6], h[7]]) != 0 {
            let s = checksum::sum(checksum::pseudo_header(src, dst, PROTO_UDP, len), datagram);
            if checksum::finish(s) != 0 {
                return Err(WireError::BadChecksum);
            }
        }
        let repr = UdpRepr { src_port: u16::from_be_bytes([h[0], h[1]]), dst_port: u16::from_be_bytes([h[2], h[3]]) };
        Ok((repr, &datagram[Self::HEADER_LEN..]))
    }

    /// Writes header + payload with checksum into `buf[..8 + payload.len()]`.
    ///
    /// Panics if `buf` is too short or `8 + payload.len()` exceeds 65535 (caller bugs).
    pub fn emit(&self, buf: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) {
        let len = u16::try_from(Self::HEADER_LEN + payload.len()).expect("udp datagram longer than 65535 bytes");
        let buf = &mut buf[..usize::from(len)];
        buf[0..2].copy_from_slice(&self.src_port.to_be_bytes());
        buf[2..4].copy_from_slice(&self.dst_port.to_be_bytes());
        buf[4..6].copy_from_slice(&len.to_be_bytes());
        buf[6..8].copy_from_slice(&[0, 0]);
        buf[8..].copy_from_slice(payload);
        let mut c = checksum::finish(checksum::sum(checksum::pseudo_header(src, dst, PROTO_UDP, len), buf));
        // RFC 768: a computed checksum of zero is transmitted as all ones (0 means "none").
        if c == 0 {
            c = 0xffff;
        }
        buf[6..8].copy_from_slice(&c.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const REPR: UdpRepr = UdpRepr { src_port: 5353, dst_port: 53 };

    #[test]
    fn roundtrip_and_padding_trimmed() {
        let mut buf = [0xaau8; 20];
        REPR.emit(&mut buf, SRC, DST, b"abcde");
        assert_eq!(UdpRepr::parse(&buf[..13], SRC, DST), Ok((REPR, &b"abcde"[..])));
        // Trailing bytes beyond the UDP length are ignored.
        assert_eq!(UdpRepr::parse(&buf, SRC, DST), Ok((REPR, &b"abcde"[..])));
    }

    #[test]
    fn checksum_covers_pseudo_header() {
        let mut buf = [0u8; 13];
        REPR.emit(&mut buf, SRC, DST, b"abcde");
        assert_eq!(UdpRepr::parse(&buf, SRC, Ipv4Addr::new(10, 0, 0, 3)), Err(WireError::BadChecksum));
        let mut b = buf;
        b[12] ^= 1;
        assert_eq!(UdpRepr::parse(&b, SRC, DST), Err(WireError::BadChecksum));
    }

    #[test]
    fn zero_checksum_means_none() {
        let mut buf = [0u8; 13];
        REPR.emit(&mut buf, SRC, DST, b"abcde");
        buf[6] = 0;
        buf[7] = 0;
        buf[12] ^= 0xff;
        assert!(UdpRepr::parse(&buf, SRC, DST).is_ok());
    }

    #[test]
    fn computed_zero_sent_as_ffff() {
        // Find a payload word that makes the computed checksum 0: with the checksum field 0, the
        // checksum is !(S + w); choose w so the folded sum is 0xffff.
        let mut buf = [0u8; 10];
        REPR.emit(&mut buf, SRC, DST, &[0, 0]);
        let s = checksum::sum(checksum::pseudo_header(SRC, DST, 17, 10), &{
            let mut b = buf;
            b[6] = 0;
            b[7] = 0;
            b
        });
        let w: u16 = 0xffff - s as u16;
        let mut buf = [0u8; 10];
        REPR.emit(&mut buf, SRC, DST, &w.to_be_bytes());
        assert_eq!(&buf[6..8], &[0xff, 0xff]);
        assert!(UdpRepr::parse(&buf, SRC, DST).is_ok());
    }

    #[test]
    fn bad_lengths() {
        let mut buf = [0u8; 13];
        REPR.emit(&mut buf, SRC, DST, b"abcde");
        assert_eq!(UdpRepr::parse(&buf[..7], SRC, DST), Err(WireError::Truncated));
        assert_eq!(UdpRepr::parse(&buf[..12], SRC, DST), Err(WireError::Truncated));
        let mut b = buf;
        b[4..6].copy_from_slice(&7u16.to_be_bytes());
        assert!(matches!(UdpRepr::parse(&b, SRC, DST), Err(WireError::Malformed(_))));
    }
}
