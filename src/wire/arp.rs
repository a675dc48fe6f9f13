//! ARP for IPv4 over Ethernet (RFC 826).
use super::{MacAddr, Result};
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOp {
    Request,
    Reply,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    pub op: ArpOp,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    pub const LEN: usize = 28;
    /// Parses an ARP packet (htype 1, ptype 0x0800, hlen 6, plen 4; anything else is Unsupported).
    pub fn parse(buf: &[u8]) -> Result<ArpRepr> {
        todo!()
    }
    pub fn emit(&self, buf: &mut [u8]) {
        todo!()
    }
}
