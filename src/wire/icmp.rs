//! ICMP for IPv4 (RFC 792, RFC 1191 for fragmentation-needed).
use super::checksum;
use super::{Result, WireError};

/// An ICMP message; the payload borrows from the parsed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpRepr<'a> {
    /// Type 8 ("ping").
    EchoRequest {
        /// Identifier, chosen by the sender to match replies (like a port).
        ident: u16,
        /// Sequence number within `ident`.
        seq: u16,
        /// Data that the reply echoes back.
        data: &'a [u8],
    },
    /// Type 0, the answer to an echo request with the same `ident`, `seq` and `data`.
    EchoReply {
        /// Identifier copied from the request.
        ident: u16,
        /// Sequence number copied from the request.
        seq: u16,
        /// Data copied from the request.
        data: &'a [u8],
    },
    /// Type 11; code 0 = TTL exceeded in transit. `invoking` is the IP header + first bytes of the
    /// datagram that caused it.
    TimeExceeded {
        /// 0: TTL exceeded in transit; 1: fragment reassembly time exceeded.
        code: u8,
        /// The IP header and first bytes of the datagram that caused the message.
        invoking: &'a [u8],
    },
    /// Type 3; code 0 net, 1 host, 3 port unreachable, 4 fragmentation needed (with next_hop_mtu).
    DestUnreachable {
        /// Why (see the `DEST_UNREACH_*` constants).
        code: u8,
        /// For code 4, the MTU of the next hop (RFC 1191 section 4); 0 otherwise.
        next_hop_mtu: u16,
        /// The IP header and first bytes of the datagram that could not be delivered.
        invoking: &'a [u8],
    },
    /// Any other type: kept so that it can be counted and shown.
    Other {
        /// The ICMP type.
        icmp_type: u8,
        /// The ICMP code.
        code: u8,
    },
}

const TYPE_ECHO_REPLY: u8 = 0;
const TYPE_DEST_UNREACH: u8 = 3;
const TYPE_ECHO_REQUEST: u8 = 8;
const TYPE_TIME_EXCEEDED: u8 = 11;

impl<'a> IcmpRepr<'a> {
    /// Destination unreachable code 0: no route to the network.
    pub const DEST_UNREACH_NET: u8 = 0;
    /// Destination unreachable code 1: the host does not answer (e.g. ARP fails).
    pub const DEST_UNREACH_HOST: u8 = 1;
    /// Destination unreachable code 3: no one listens on the port (RFC 1122 3.2.2.1).
    pub const DEST_UNREACH_PORT: u8 = 3;
    /// Destination unreachable code 4: fragmentation needed and DF set (RFC 1191 path MTU discovery).
    pub const DEST_UNREACH_FRAG_NEEDED: u8 = 4;
    /// Time exceeded code 0: TTL exceeded in transit.
    pub const TIME_EXCEEDED_TTL: u8 = 0;
    /// Every ICMP message starts with this many bytes (type, code, checksum, 4 type-specific).
    pub const HEADER_LEN: usize = 8;

    /// Parses an ICMP message and verifies its checksum.
    ///
    /// Details: the checksum covers the whole buffer (RFC 792), so the caller passes exactly the IP
    /// payload. Echo messages with a non-zero code are reported as `Other`. `next_hop_mtu` is read
    /// from bytes 6..8 only for code 4 (RFC 1191 section 4); for other unreachable codes those bytes
    /// are unused and it is 0.
    pub fn parse(buf: &'a [u8]) -> Result<IcmpRepr<'a>> {
        let Some((h, rest)) = buf.split_first_chunk::<8>() else {
            return Err(WireError::Truncated);
        };
        if checksum::checksum(buf) != 0 {
            return Err(WireError::BadChecksum);
        }
        let (icmp_type, code) = (h[0], h[1]);
        let ident = u16::from_be_bytes([h[4], h[5]]);
        let seq = u16::from_be_bytes([h[6], h[7]]);
        Ok(match (icmp_type, code) {
            (TYPE_ECHO_REQUEST, 0) => IcmpRepr::EchoRequest { ident, seq, data: rest },
            (TYPE_ECHO_REPLY, 0) => IcmpRepr::EchoReply { ident, seq, data: rest },
            (TYPE_TIME_EXCEEDED, code) => IcmpRepr::TimeExceeded { code, invoking: rest },
            (TYPE_DEST_UNREACH, code) => IcmpRepr::DestUnreachable {
                code,
                next_hop_mtu: if code == Self::DEST_UNREACH_FRAG_NEEDED { seq } else { 0 },
                invoking: rest,
            },
            (icmp_type, code) => IcmpRepr::Other { icmp_type, code },
        })
    }

    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        Self::HEADER_LEN
            + match self {
                IcmpRepr::EchoRequest { data, .. } | IcmpRepr::EchoReply { data, .. } => data.len(),
                IcmpRepr::TimeExceeded { invoking, .. } | IcmpRepr::DestUnreachable { invoking, .. } => invoking.len(),
                IcmpRepr::Other { .. } => 0,
            }
    }

    /// Writes the message with its checksum into `buf[..self.buffer_len()]`. `Other` emits 8 bytes.
    ///
    /// `Other` writes zeros after the checksum; `DestUnreachable` writes `next_hop_mtu` only for
    /// code 4 (zeros otherwise, RFC 792). Panics if `buf` is too short (a caller bug).
    pub fn emit(&self, buf: &mut [u8]) {
        let buf = &mut buf[..self.buffer_len()];
        let (icmp_type, code, word, body): (u8, u8, [u8; 4], &[u8]) = match *self {
            IcmpRepr::EchoRequest { ident, seq, data } => (TYPE_ECHO_REQUEST, 0, join(ident, seq), data),
            IcmpRepr::EchoReply { ident, seq, data } => (TYPE_ECHO_REPLY, 0, join(ident, seq), data),
            IcmpRepr::TimeExceeded { code, invoking } => (TYPE_TIME_EXCEEDED, code, [0; 4], invoking),
            IcmpRepr::DestUnreachable { code, next_hop_mtu, invoking } => {
                let mtu = if code == Self::DEST_UNREACH_FRAG_NEEDED { next_hop_mtu } else { 0 };
                (TYPE_DEST_UNREACH, code, join(0, mtu), invoking)
            }
            IcmpRepr::Other { icmp_type, code } => (icmp_type, code, [0; 4], &[][..]),
        };
        buf[0] = icmp_type;
        buf[1] = code;
        buf[2..4].copy_from_slice(&[0, 0]);
        buf[4..8].copy_from_slice(&word);
        buf[8..].copy_from_slice(body);
        let c = checksum::checksum(buf);
        buf[2..4].copy_from_slice(&c.to_be_bytes());
    }
}

fn join(hi: u16, lo: u16) -> [u8; 4] {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    [a, b, c, d]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(repr: IcmpRepr<'_>) {
        let mut buf = [0u8; 128];
        let n = repr.buffer_len();
        repr.emit(&mut buf);
        assert_eq!(IcmpRepr::parse(&buf[..n]), Ok(repr));
    }

    #[test]
    fn roundtrips() {
        roundtrip(IcmpRepr::EchoRequest { ident: 0x1234, seq: 7, data: b"hello, ping" });
        roundtrip(IcmpRepr::EchoReply { ident: 1, seq: 0xffff, data: &[] });
        roundtrip(IcmpRepr::TimeExceeded { code: 0, invoking: &[0x45; 28] });
        roundtrip(IcmpRepr::DestUnreachable {
            code: IcmpRepr::DEST_UNREACH_FRAG_NEEDED,
            next_hop_mtu: 1400,
            invoking: &[0x45; 28],
        });
        roundtrip(IcmpRepr::DestUnreachable {
            code: IcmpRepr::DEST_UNREACH_PORT,
            next_hop_mtu: 0,
            invoking: &[1, 2, 3],
        });
        roundtrip(IcmpRepr::Other { icmp_type: 13, code: 0 });
    }

    #[test]
    fn frag_needed_mtu_in_bytes_6_8() {
        let mut buf = [0u8; 8];
        IcmpRepr::DestUnreachable { code: 4, next_hop_mtu: 0x05dc, invoking: &[] }.emit(&mut buf);
        assert_eq!(&buf[4..8], &[0, 0, 0x05, 0xdc]);
        // For other codes the field is unused and not reported.
        let mut buf = [0u8; 8];
        IcmpRepr::DestUnreachable { code: 1, next_hop_mtu: 1500, invoking: &[] }.emit(&mut buf);
        assert_eq!(&buf[4..8], &[0, 0, 0, 0]);
    }

    #[test]
    fn known_echo_bytes() {
        // Echo request, id 1, seq 1, payload "abcd": checksum computed by hand.
        let msg = [8, 0, 0x33, 0x37, 0, 1, 0, 1, b'a', b'b', b'c', b'd'];
        assert_eq!(IcmpRepr::parse(&msg), Ok(IcmpRepr::EchoRequest { ident: 1, seq: 1, data: b"abcd" }));
    }

    #[test]
    fn bad_checksum_and_truncated() {
        let mut buf = [0u8; 12];
        IcmpRepr::EchoRequest { ident: 5, seq: 6, data: &[1, 2, 3, 4] }.emit(&mut buf);
        let mut b = buf;
        b[9] ^= 0x10;
        assert_eq!(IcmpRepr::parse(&b), Err(WireError::BadChecksum));
        assert_eq!(IcmpRepr::parse(&buf[..7]), Err(WireError::Truncated));
        // Dropping payload bytes changes the checksum too.
        assert_eq!(IcmpRepr::parse(&buf[..10]), Err(WireError::BadChecksum));
    }

    #[test]
    fn echo_with_nonzero_code_is_other() {
        let mut msg = [8u8, 3, 0, 0, 0, 1, 0, 1];
        let c = checksum::checksum(&msg);
        msg[2..4].copy_from_slice(&c.to_be_bytes());
        assert_eq!(IcmpRepr::parse(&msg), Ok(IcmpRepr::Other { icmp_type: 8, code: 3 }));
    }
}
