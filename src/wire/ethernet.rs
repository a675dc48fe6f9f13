//! Ethernet II framing.
use super::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    pub const ZERO: MacAddr = MacAddr([0; 6]);
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }
}
// Display/Debug as "02:00:00:00:00:01" to be implemented.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtherType {
    Ipv4,
    Arp,
    Other(u16),
}
// From<u16> for EtherType and From<EtherType> for u16 to be implemented.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    pub dst: MacAddr,
    pub src: MacAddr,
    pub ethertype: EtherType,
}

impl EthernetRepr {
    pub const HEADER_LEN: usize = 14;
    /// Splits a frame into its header and payload.
    pub fn parse(frame: &[u8]) -> Result<(EthernetRepr, &[u8])> {
        todo!()
    }
    /// Writes the 14-byte header into `buf[..14]` (panics only if `buf` is shorter: a caller bug).
    pub fn emit(&self, buf: &mut [u8]) {
        todo!()
    }
}
