//! ICMP for IPv4 (RFC 792, RFC 1191 for fragmentation-needed).
use super::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpRepr<'a> {
    EchoRequest {
        ident: u16,
        seq: u16,
        data: &'a [u8],
    },
    EchoReply {
        ident: u16,
        seq: u16,
        data: &'a [u8],
    },
    /// Type 11; code 0 = TTL exceeded in transit. `invoking` is the IP header + first bytes of the
    /// datagram that caused it.
    TimeExceeded { code: u8, invoking: &'a [u8] },
    /// Type 3; code 0 net, 1 host, 3 port unreachable, 4 fragmentation needed (with next_hop_mtu).
    DestUnreachable {
        code: u8,
        next_hop_mtu: u16,
        invoking: &'a [u8],
    },
    /// Any other type: kept so that it can be counted and shown.
    Other { icmp_type: u8, code: u8 },
}

impl<'a> IcmpRepr<'a> {
    pub const DEST_UNREACH_NET: u8 = 0;
    pub const DEST_UNREACH_HOST: u8 = 1;
    pub const DEST_UNREACH_PORT: u8 = 3;
    pub const DEST_UNREACH_FRAG_NEEDED: u8 = 4;

    /// Parses an ICMP message and verifies its checksum.
    pub fn parse(buf: &'a [u8]) -> Result<IcmpRepr<'a>> {
        todo!()
    }
    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        todo!()
    }
    /// Writes the message with its checksum into `buf[..self.buffer_len()]`. `Other` emits 8 bytes.
    pub fn emit(&self, buf: &mut [u8]) {
        todo!()
    }
}
