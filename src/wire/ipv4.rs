//! IPv4 (RFC 791): header checksum, TTL, DF; options are skipped by IHL.
use super::Result;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpProtocol {
    Icmp,
    Tcp,
    Udp,
    Other(u8),
}
// From<u8> / From<IpProtocol> for u8 to be implemented.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: IpProtocol,
    pub ttl: u8,
    /// DSCP and ECN byte (TOS).
    pub tos: u8,
    pub ident: u16,
    pub dont_frag: bool,
    /// Length of the payload (total length minus header length).
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Header length without options; `emit` always writes this many bytes.
    pub const HEADER_LEN: usize = 20;
    /// Parses and validates a packet: version 4, IHL >= 5, total length within the buffer (the payload
    /// is trimmed to the total length, so Ethernet padding is ignored), the header checksum (returns
    /// `WireError::BadChecksum`), options skipped. Fragments (MF set or offset != 0) are `Unsupported`.
    pub fn parse(packet: &[u8]) -> Result<(Ipv4Repr, &[u8])> {
        todo!()
    }
    /// Writes a 20-byte header (no options) with its checksum into `buf[..20]`.
    pub fn emit(&self, buf: &mut [u8]) {
        todo!()
    }
}

/// Decrements the TTL of a valid IPv4 header in place and updates the header checksum incrementally
/// (RFC 1624). Returns the new TTL. The caller must have parsed `packet` successfully first.
pub fn decrement_ttl(packet: &mut [u8]) -> u8 {
    todo!()
}
