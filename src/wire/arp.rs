//! ARP for IPv4 over Ethernet (RFC 826).
use super::{MacAddr, Result, WireError};
use std::net::Ipv4Addr;

/// The ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOp {
    /// "Who has `target_ip`? Tell `sender_ip`" (broadcast).
    Request,
    /// "`sender_ip` is at `sender_mac`" (unicast to the requester).
    Reply,
}

impl ArpOp {
    /// Operation code on the wire (RFC 826: 1 = request, 2 = reply).
    pub fn code(self) -> u16 {
        match self {
            ArpOp::Request => 1,
            ArpOp::Reply => 2,
        }
    }
}

/// An ARP packet for IPv4 over Ethernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    /// Request or reply.
    pub op: ArpOp,
    /// The hardware address of the sender.
    pub sender_mac: MacAddr,
    /// The protocol address of the sender.
    pub sender_ip: Ipv4Addr,
    /// The hardware address of the target (zero in a request: it is what is asked for).
    pub target_mac: MacAddr,
    /// The protocol address of the target.
    pub target_ip: Ipv4Addr,
}

const HTYPE_ETHERNET: u16 = 1;
const PTYPE_IPV4: u16 = 0x0800;

impl ArpRepr {
    /// Length of an Ethernet/IPv4 ARP packet: 8 bytes of header and two (MAC, IPv4) pairs.
    pub const LEN: usize = 28;
    /// Parses an ARP packet (htype 1, ptype 0x0800, hlen 6, plen 4; anything else is Unsupported).
    /// Bytes after the first 28 (Ethernet padding) are ignored.
    pub fn parse(buf: &[u8]) -> Result<ArpRepr> {
        let Some(b) = buf.first_chunk::<28>() else {
            return Err(WireError::Truncated);
        };
        let htype = u16::from_be_bytes([b[0], b[1]]);
        let ptype = u16::from_be_bytes([b[2], b[3]]);
        if htype != HTYPE_ETHERNET || ptype != PTYPE_IPV4 || b[4] != 6 || b[5] != 4 {
            return Err(WireError::Unsupported("arp hardware/protocol type"));
        }
        let op = match u16::from_be_bytes([b[6], b[7]]) {
            1 => ArpOp::Request,
            2 => ArpOp::Reply,
            _ => return Err(WireError::Unsupported("arp operation")),
        };
        let mac = |at: usize| {
            let mut m = [0u8; 6];
            m.copy_from_slice(&b[at..at + 6]);
            MacAddr(m)
        };
        let ip = |at: usize| Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]);
        Ok(ArpRepr { op, sender_mac: mac(8), sender_ip: ip(14), target_mac: mac(18), target_ip: ip(24) })
    }
    /// Writes the 28-byte packet into `buf[..28]` (panics only if `buf` is shorter: a caller bug).
    pub fn emit(&self, buf: &mut [u8]) {
        let b = &mut buf[..Self::LEN];
        b[0..2].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        b[2..4].copy_from_slice(&PTYPE_IPV4.to_be_bytes());
        b[4] = 6;
        b[5] = 4;
        b[6..8].copy_from_slice(&self.op.code().to_be_bytes());
        b[8..14].copy_from_slice(&self.sender_mac.0);
        b[14..18].copy_from_slice(&self.sender_ip.octets());
        b[18..24].copy_from_slice(&self.target_mac.0);
        b[24..28].copy_from_slice(&self.target_ip.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ArpRepr {
        ArpRepr {
            op: ArpOp::Request,
            sender_mac: MacAddr([2, 0, 0, 0, 0, 1]),
            sender_ip: Ipv4Addr::new(10, 0, 0, 1),
            target_mac: MacAddr::ZERO,
            target_ip: Ipv4Addr::new(10, 0, 0, 2),
        }
    }

    #[test]
    fn roundtrip_with_padding() {
        let mut buf = [0u8; 46];
        sample().emit(&mut buf);
        assert_eq!(ArpRepr::parse(&buf), Ok(sample()));
        assert_eq!(ArpRepr::parse(&buf[..28]), Ok(sample()));
    }

    #[test]
    fn truncated() {
        let mut buf = [0u8; 28];
        sample().emit(&mut buf);
        assert_eq!(ArpRepr::parse(&buf[..27]), Err(WireError::Truncated));
    }

    #[test]
    fn unsupported_types_and_ops() {
        let mut buf = [0u8; 28];
        sample().emit(&mut buf);
        for (i, v) in [(1usize, 6u8), (3, 0xdd), (4, 8), (5, 16), (7, 3)] {
            let mut b = buf;
            b[i] = v;
            assert!(matches!(ArpRepr::parse(&b), Err(WireError::Unsupported(_))), "byte {i}");
        }
        let mut b = buf;
        b[7] = 2;
        assert_eq!(ArpRepr::parse(&b).unwrap().op, ArpOp::Reply);
    }
}
