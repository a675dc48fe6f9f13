//! Ethernet II framing.
use super::{Result, WireError};
use std::fmt;

/// A 48-bit Ethernet address, shown as `02:00:00:00:00:01`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// `ff:ff:ff:ff:ff:ff`: every station on the link.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// `00:00:00:00:00:00`: "unknown", as in the target of an ARP request.
    pub const ZERO: MacAddr = MacAddr([0; 6]);
    /// Whether this is the broadcast address.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }
    /// Group bit (I/G, least significant bit of the first octet): multicast or broadcast.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(b: [u8; 6]) -> MacAddr {
        MacAddr(b)
    }
}

/// What an Ethernet frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtherType {
    /// IPv4 (0x0800).
    Ipv4,
    /// ARP (0x0806).
    Arp,
    /// Any other type, kept so that it can be counted and shown.
    Other(u16),
}

impl EtherType {
    /// The EtherType of IPv4.
    pub const IPV4: u16 = 0x0800;
    /// The EtherType of ARP.
    pub const ARP: u16 = 0x0806;
}

impl From<u16> for EtherType {
    fn from(v: u16) -> EtherType {
        match v {
            EtherType::IPV4 => EtherType::Ipv4,
            EtherType::ARP => EtherType::Arp,
            other => EtherType::Other(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(t: EtherType) -> u16 {
        match t {
            EtherType::Ipv4 => EtherType::IPV4,
            EtherType::Arp => EtherType::ARP,
            EtherType::Other(v) => v,
        }
    }
}

/// An Ethernet II header (no 802.1Q tag; the frame check sequence is not modelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Destination address.
    pub dst: MacAddr,
    /// Source address.
    pub src: MacAddr,
    /// What the payload is.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Destination, source and type: 6 + 6 + 2 bytes.
    pub const HEADER_LEN: usize = 14;
    /// Splits a frame into its header and payload.
    ///
    /// The payload may include Ethernet padding (frames shorter than 60 bytes are padded); the
    /// network layer trims it by its own length field (see `Ipv4Repr::parse`).
    pub fn parse(frame: &[u8]) -> Result<(EthernetRepr, &[u8])> {
        let Some((hdr, payload)) = frame.split_first_chunk::<14>() else {
            return Err(WireError::Truncated);
        };
        let mut dst = [0; 6];
        let mut src = [0; 6];
        dst.copy_from_slice(&hdr[0..6]);
        src.copy_from_slice(&hdr[6..12]);
        let ethertype = EtherType::from(u16::from_be_bytes([hdr[12], hdr[13]]));
        Ok((EthernetRepr { dst: MacAddr(dst), src: MacAddr(src), ethertype }, payload))
    }
    /// Writes the 14-byte header into `buf[..14]` (panics only if `buf` is shorter: a caller bug).
    pub fn emit(&self, buf: &mut [u8]) {
        let buf = &mut buf[..Self::HEADER_LEN];
        buf[0..6].copy_from_slice(&self.dst.0);
        buf[6..12].copy_from_slice(&self.src.0);
        buf[12..14].copy_from_slice(&u16::from(self.ethertype).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_display() {
        let m = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
        assert_eq!(m.to_string(), "02:00:00:00:00:01");
        assert_eq!(format!("{m:?}"), "02:00:00:00:00:01");
        assert!(MacAddr::BROADCAST.is_broadcast());
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(!m.is_multicast());
    }

    #[test]
    fn ethertype_conversions() {
        assert_eq!(EtherType::from(0x0800), EtherType::Ipv4);
        assert_eq!(EtherType::from(0x0806), EtherType::Arp);
        assert_eq!(EtherType::from(0x86dd), EtherType::Other(0x86dd));
        assert_eq!(u16::from(EtherType::Arp), 0x0806);
        assert_eq!(u16::from(EtherType::Other(0x1234)), 0x1234);
    }

    #[test]
    fn roundtrip_and_payload() {
        let repr =
            EthernetRepr { dst: MacAddr::BROADCAST, src: MacAddr([2, 0, 0, 0, 0, 9]), ethertype: EtherType::Arp };
        let mut buf = [0u8; 20];
        repr.emit(&mut buf);
        buf[14..].copy_from_slice(&[1, 2, 3, 4, 5, 6]);
        let (parsed, payload) = EthernetRepr::parse(&buf).unwrap();
        assert_eq!(parsed, repr);
        assert_eq!(payload, &[1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn truncated() {
        assert_eq!(EthernetRepr::parse(&[0; 13]), Err(WireError::Truncated));
        assert_eq!(EthernetRepr::parse(&[]), Err(WireError::Truncated));
        let (_, p) = EthernetRepr::parse(&[0; 14]).unwrap();
        assert!(p.is_empty());
    }

    #[test]
    #[should_panic]
    fn emit_short_buffer_panics() {
        let repr = EthernetRepr { dst: MacAddr::ZERO, src: MacAddr::ZERO, ethertype: EtherType::Ipv4 };
        repr.emit(&mut [0u8; 13]);
    }
}
