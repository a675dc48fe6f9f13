//! UDP (RFC 768) with the pseudo-header checksum.
use super::Result;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRepr {
    pub src_port: u16,
    pub dst_port: u16,
}

impl UdpRepr {
    pub const HEADER_LEN: usize = 8;
    /// Parses a datagram; verifies the checksum unless it is zero (no checksum). The payload is
    /// trimmed to the UDP length field.
    pub fn parse(buf: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<(UdpRepr, &[u8])> {
        todo!()
    }
    /// Writes header + payload with checksum into `buf[..8 + payload.len()]`.
    pub fn emit(&self, buf: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) {
        todo!()
    }
}
