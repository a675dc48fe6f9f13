//! IPv4 (RFC 791): header checksum, TTL, DF; options are skipped by IHL.
use super::checksum;
use super::{Result, WireError};
use std::net::Ipv4Addr;

/// The protocol field of an IPv4 header: what the payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpProtocol {
    /// ICMP (1).
    Icmp,
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// Any other protocol number.
    Other(u8),
}

impl IpProtocol {
    /// The protocol number of ICMP.
    pub const ICMP: u8 = 1;
    /// The protocol number of TCP.
    pub const TCP: u8 = 6;
    /// The protocol number of UDP.
    pub const UDP: u8 = 17;
}

impl From<u8> for IpProtocol {
    fn from(v: u8) -> IpProtocol {
        match v {
            IpProtocol::ICMP => IpProtocol::Icmp,
            IpProtocol::TCP => IpProtocol::Tcp,
            IpProtocol::UDP => IpProtocol::Udp,
            other => IpProtocol::Other(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(p: IpProtocol) -> u8 {
        match p {
            IpProtocol::Icmp => IpProtocol::ICMP,
            IpProtocol::Tcp => IpProtocol::TCP,
            IpProtocol::Udp => IpProtocol::UDP,
            IpProtocol::Other(v) => v,
        }
    }
}

/// An IPv4 header without options (options are skipped on parse, never emitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// What the payload is.
    pub protocol: IpProtocol,
    /// Hops left; a router that decrements it to zero drops the packet (ICMP time exceeded).
    pub ttl: u8,
    /// DSCP and ECN byte (TOS).
    pub tos: u8,
    /// Identification field (RFC 791; only meaningful for fragments, which netlab does not make).
    pub ident: u16,
    /// The DF (don't fragment) flag; set on TCP segments for path MTU discovery (RFC 1191).
    pub dont_frag: bool,
    /// Length of the payload (total length minus header length).
    pub payload_len: usize,
}

/// Flags/fragment-offset word (RFC 791 section 3.1): bit 15 reserved, 14 DF, 13 MF, 12..0 offset.
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

impl Ipv4Repr {
    /// Header length without options; `emit` always writes this many bytes.
    pub const HEADER_LEN: usize = 20;
    /// Largest `payload_len` `emit` can express (the total length field is 16 bits).
    pub const MAX_PAYLOAD_LEN: usize = 65535 - Self::HEADER_LEN;

    /// Parses and validates a packet: version 4, IHL >= 5, total length within the buffer (the payload
    /// is trimmed to the total length, so Ethernet padding is ignored), the header checksum (returns
    /// `WireError::BadChecksum`), options skipped. Fragments (MF set or offset != 0) are `Unsupported`.
    ///
    /// Order of checks: length/version/IHL/total length, then the checksum, then fragmentation, so
    /// that a corrupted header is reported as `BadChecksum` rather than as a fragment.
    pub fn parse(packet: &[u8]) -> Result<(Ipv4Repr, &[u8])> {
        let Some(h) = packet.first_chunk::<20>() else {
            return Err(WireError::Truncated);
        };
        if h[0] >> 4 != 4 {
            return Err(WireError::Malformed("ip version is not 4"));
        }
        let header_len = usize::from(h[0] & 0x0f) * 4;
        if header_len < Self::HEADER_LEN {
            return Err(WireError::Malformed("ipv4 ihl < 5"));
        }
        if header_len > packet.len() {
            return Err(WireError::Truncated);
        }
        let total_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        if total_len < header_len {
            return Err(WireError::Malformed("ipv4 total length < header length"));
        }
        if total_len > packet.len() {
            return Err(WireError::Truncated);
        }
        // The checksum covers the whole header including options (RFC 791 section 3.1).
        if checksum::header_checksum(&packet[..header_len]) != 0 {
            return Err(WireError::BadChecksum);
        }
        let frag = u16::from_be_bytes([h[6], h[7]]);
        if frag & FLAG_MF != 0 || frag & FRAG_OFFSET_MASK != 0 {
            return Err(WireError::Unsupported("fragment"));
        }
        let repr = Ipv4Repr {
            src: Ipv4Addr::new(h[12], h[13], h[14], h[15]),
            dst: Ipv4Addr::new(h[16], h[17], h[18], h[19]),
            protocol: IpProtocol::from(h[9]),
            ttl: h[8],
            tos: h[1],
            ident: u16::from_be_bytes([h[4], h[5]]),
            dont_frag: frag & FLAG_DF != 0,
            payload_len: total_len - header_len,
        };
        Ok((repr, &packet[header_len..total_len]))
    }

    /// Writes a 20-byte header (no options) with its checksum into `buf[..20]`.
    ///
    /// Panics if `buf` is shorter than 20 bytes or `payload_len > MAX_PAYLOAD_LEN` (caller bugs).
    pub fn emit(&self, buf: &mut [u8]) {
        let total_len = u16::try_from(Self::HEADER_LEN + self.payload_len)
            .expect("ipv4 payload_len exceeds the 16-bit total length");
        let h = &mut buf[..Self::HEADER_LEN];
        h[0] = 0x45;
        h[1] = self.tos;
        h[2..4].copy_from_slice(&total_len.to_be_bytes());
        h[4..6].copy_from_slice(&self.ident.to_be_bytes());
        let frag = if self.dont_frag { FLAG_DF } else { 0 };
        h[6..8].copy_from_slice(&frag.to_be_bytes());
        h[8] = self.ttl;
        h[9] = u8::from(self.protocol);
        h[10..12].copy_from_slice(&[0, 0]);
        h[12..16].copy_from_slice(&self.src.octets());
        h[16..20].copy_from_slice(&self.dst.octets());
        let c = checksum::header_checksum(h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
    }
}

/// Decrements the TTL of a valid IPv4 header in place and updates the header checksum incrementally
/// (RFC 1624). Returns the new TTL. The caller must have parsed `packet` successfully first.
///
/// A TTL of 0 is left unchanged (0 is returned); the caller drops the packet either way. Panics if
/// `packet` is shorter than 20 bytes (a caller bug).
pub fn decrement_ttl(packet: &mut [u8]) -> u8 {
    let h = &mut packet[..Ipv4Repr::HEADER_LEN];
    let ttl = h[8];
    if ttl == 0 {
        return 0;
    }
    let new_ttl = ttl - 1;
    // RFC 1624 section 3, eqn. 3: HC' = ~(~HC + ~m + m'), where m is the 16-bit word holding TTL
    // (high byte) and protocol (low byte). Eqn. 3 (rather than eqn. 2 of RFC 1141) never yields
    // 0xffff for a non-zero header, so it agrees with a full recomputation.
    let old_word = u16::from_be_bytes([ttl, h[9]]);
    let new_word = u16::from_be_bytes([new_ttl, h[9]]);
    let hc = u16::from_be_bytes([h[10], h[11]]);
    let partial = u32::from(!hc) + u32::from(!old_word) + u32::from(new_word);
    let new_hc = checksum::finish(partial);
    h[8] = new_ttl;
    h[10..12].copy_from_slice(&new_hc.to_be_bytes());
    new_ttl
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Ipv4Repr {
        Ipv4Repr {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 1, 2),
            protocol: IpProtocol::Udp,
            ttl: 64,
            tos: 0xb8,
            ident: 0x1234,
            dont_frag: true,
            payload_len: 8,
        }
    }

    fn emitted() -> [u8; 28] {
        let mut buf = [0u8; 28];
        sample().emit(&mut buf);
        buf[20..].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        buf
    }

    fn fix_checksum(h: &mut [u8]) {
        let hl = usize::from(h[0] & 0xf) * 4;
        h[10] = 0;
        h[11] = 0;
        let c = checksum::checksum(&h[..hl]);
        h[10..12].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn roundtrip() {
        let buf = emitted();
        let (repr, payload) = Ipv4Repr::parse(&buf).unwrap();
        assert_eq!(repr, sample());
        assert_eq!(payload, &[1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn known_header_bytes() {
        // Example header from RFC 1071 discussions / Wikipedia: checksum 0xb861.
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8,
            0x00, 0xc7,
        ];
        let mut pkt = [0u8; 0x73];
        pkt[..20].copy_from_slice(&hdr);
        let (repr, payload) = Ipv4Repr::parse(&pkt).unwrap();
        assert_eq!(repr.payload_len, 0x73 - 20);
        assert_eq!(payload.len(), 0x73 - 20);
        assert!(repr.dont_frag);
        let mut again = [0u8; 20];
        repr.emit(&mut again);
        assert_eq!(again, hdr);
    }

    #[test]
    fn ethernet_padding_trimmed() {
        let mut frame = [0u8; 46];
        frame[..28].copy_from_slice(&emitted());
        frame[28..].fill(0xee);
        let (repr, payload) = Ipv4Repr::parse(&frame).unwrap();
        assert_eq!(repr.payload_len, 8);
        assert_eq!(payload, &[1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn options_skipped_by_ihl() {
        // IHL 7: 8 bytes of options (NOP NOP, then record-route-ish bytes), 4 payload bytes.
        let mut pkt = [0u8; 32];
        let mut h = [0u8; 20];
        Ipv4Repr { payload_len: 4, ..sample() }.emit(&mut h);
        pkt[..20].copy_from_slice(&h);
        pkt[0] = 0x47;
        pkt[2..4].copy_from_slice(&32u16.to_be_bytes());
        pkt[20..28].copy_from_slice(&[1, 1, 7, 3, 4, 0, 0, 0]);
        pkt[28..].copy_from_slice(&[9, 9, 9, 9]);
        fix_checksum(&mut pkt);
        let (repr, payload) = Ipv4Repr::parse(&pkt).unwrap();
        assert_eq!(repr.payload_len, 4);
        assert_eq!(payload, &[9, 9, 9, 9]);
        // The checksum covers the options.
        pkt[22] ^= 1;
        assert_eq!(Ipv4Repr::parse(&pkt), Err(WireError::BadChecksum));
    }

    #[test]
    fn truncated_and_malformed() {
        let buf = emitted();
        assert_eq!(Ipv4Repr::parse(&buf[..19]), Err(WireError::Truncated));
        // Total length 28 > buffer 27.
        assert_eq!(Ipv4Repr::parse(&buf[..27]), Err(WireError::Truncated));
        let mut b = buf;
        b[0] = 0x65;
        assert!(matches!(Ipv4Repr::parse(&b), Err(WireError::Malformed(_))));
        let mut b = buf;
        b[0] = 0x44;
        assert!(matches!(Ipv4Repr::parse(&b), Err(WireError::Malformed(_))));
        // IHL 15 = 60 bytes > 28-byte buffer.
        let mut b = buf;
        b[0] = 0x4f;
        assert_eq!(Ipv4Repr::parse(&b), Err(WireError::Truncated));
        let mut b = buf;
        b[2..4].copy_from_slice(&19u16.to_be_bytes());
        fix_checksum(&mut b);
        assert!(matches!(Ipv4Repr::parse(&b), Err(WireError::Malformed(_))));
    }

    #[test]
    fn bad_checksum_detected() {
        let mut b = emitted();
        b[10] ^= 0x80;
        assert_eq!(Ipv4Repr::parse(&b), Err(WireError::BadChecksum));
        let mut b = emitted();
        b[15] ^= 0x01;
        assert_eq!(Ipv4Repr::parse(&b), Err(WireError::BadChecksum));
        // The payload is not covered.
        let mut b = emitted();
        b[25] ^= 0xff;
        assert!(Ipv4Repr::parse(&b).is_ok());
    }

    #[test]
    fn fragments_unsupported() {
        for frag in [FLAG_MF, 1, FLAG_DF | 0x00b9, FLAG_MF | 3] {
            let mut b = emitted();
            b[6..8].copy_from_slice(&frag.to_be_bytes());
            fix_checksum(&mut b);
            assert_eq!(Ipv4Repr::parse(&b), Err(WireError::Unsupported("fragment")));
        }
        let mut b = emitted();
        b[6..8].copy_from_slice(&0u16.to_be_bytes());
        fix_checksum(&mut b);
        assert!(!Ipv4Repr::parse(&b).unwrap().0.dont_frag);
    }

    #[test]
    fn decrement_ttl_matches_full_recompute() {
        for ttl in 1..=255u8 {
            for ident in [0u16, 1, 0x00ff, 0xbeef, 0xffff] {
                let mut b = [0u8; 20];
                Ipv4Repr { ttl, ident, payload_len: 0, ..sample() }.emit(&mut b);
                assert_eq!(decrement_ttl(&mut b), ttl - 1);
                let mut full = b;
                fix_checksum(&mut full);
                assert_eq!(b, full, "ttl {ttl} ident {ident:#x}");
                assert_eq!(Ipv4Repr::parse(&b).unwrap().0.ttl, ttl - 1);
            }
        }
    }

    #[test]
    fn decrement_ttl_with_options_and_zero() {
        let mut pkt = [0u8; 24];
        sample().emit(&mut pkt);
        pkt[0] = 0x46;
        pkt[2..4].copy_from_slice(&24u16.to_be_bytes());
        pkt[20..24].copy_from_slice(&[0x94, 0x04, 0, 0]);
        fix_checksum(&mut pkt);
        decrement_ttl(&mut pkt);
        let mut full = pkt;
        fix_checksum(&mut full);
        assert_eq!(pkt, full);
        let mut z = emitted();
        z[8] = 0;
        fix_checksum(&mut z);
        let before = z;
        assert_eq!(decrement_ttl(&mut z), 0);
        assert_eq!(z, before);
    }

    #[test]
    fn protocol_conversions() {
        assert_eq!(IpProtocol::from(1), IpProtocol::Icmp);
        assert_eq!(IpProtocol::from(6), IpProtocol::Tcp);
        assert_eq!(IpProtocol::from(17), IpProtocol::Udp);
        assert_eq!(IpProtocol::from(89), IpProtocol::Other(89));
        for v in 0..=255u8 {
            assert_eq!(u8::from(IpProtocol::from(v)), v);
        }
    }
}
