//! Zero-copy views of transport headers: checked accessors over borrowed bytes, for code that needs
//! a few fields of a packet without parsing (or checksumming) all of it: packet-matching rules, and
//! the datagram quoted in an ICMP error. Constructors check the length once; accessors cannot fail.

use super::ipv4::IpProtocol;
use std::net::{Ipv4Addr, SocketAddrV4};

/// The fixed part of a TCP header (20 bytes, RFC 9293 3.1), and what follows it.
#[derive(Clone, Copy, Debug)]
pub struct TcpView<'a> {
    bytes: &'a [u8],
}

impl<'a> TcpView<'a> {
    /// A view of `segment` (TCP header first), if it holds at least the 20-byte fixed header.
    pub fn new(segment: &'a [u8]) -> Option<TcpView<'a>> {
        (segment.len() >= 20).then_some(TcpView { bytes: segment })
    }
    fn u16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.bytes[at], self.bytes[at + 1]])
    }
    /// Source port.
    pub fn src_port(&self) -> u16 {
        self.u16_at(0)
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        self.u16_at(2)
    }
    /// Sequence number.
    pub fn seq(&self) -> u32 {
        u32::from_be_bytes([self.bytes[4], self.bytes[5], self.bytes[6], self.bytes[7]])
    }
    /// The flags byte (CWR ECE URG ACK PSH RST SYN FIN).
    pub fn flags(&self) -> super::TcpFlags {
        super::TcpFlags(self.bytes[13])
    }
    /// Header length from the data offset (not checked against the buffer).
    pub fn header_len(&self) -> usize {
        usize::from(self.bytes[12] >> 4) * 4
    }
    /// Bytes after the header (0 when the data offset points past the end).
    pub fn payload_len(&self) -> usize {
        self.bytes.len().saturating_sub(self.header_len())
    }
    /// The options in wire order (RFC 9293 3.1), NOPs and EOL included; nothing if the data offset
    /// is out of range.
    pub fn options(&self) -> TcpOptionIter<'a> {
        let end = self.header_len().clamp(20, self.bytes.len().max(20));
        TcpOptionIter { rest: self.bytes.get(20..end).unwrap_or(&[]) }
    }
}

/// One TCP option as it is on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpOptionView<'a> {
    /// Kind 0: end of the option list.
    Eol,
    /// Kind 1: padding.
    Nop,
    /// Kind 2: maximum segment size (RFC 9293 3.7.1).
    Mss(u16),
    /// Kind 3: window scale shift (RFC 7323 2.2).
    WindowScale(u8),
    /// Kind 4: SACK permitted (RFC 2018 2).
    SackPermitted,
    /// Kind 5: SACK blocks as (left, right) edges (RFC 2018 3); `blocks` holds 8 bytes a block.
    Sack(SackBlocks<'a>),
    /// Kind 8: timestamps (RFC 7323 3.2).
    Timestamps {
        /// TSval.
        val: u32,
        /// TSecr.
        ecr: u32,
    },
    /// Any other kind, or a known kind with the wrong length.
    Other {
        /// The option kind.
        kind: u8,
        /// Its data (after kind and length).
        data: &'a [u8],
    },
}

/// The blocks of a SACK option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SackBlocks<'a>(&'a [u8]);

impl SackBlocks<'_> {
    /// The (left edge, right edge) of each block, in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.0.chunks_exact(8).map(|b| (be32(&b[..4]), be32(&b[4..])))
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The options of a TCP header, in wire order; stops at a truncated option.
#[derive(Clone, Debug)]
pub struct TcpOptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for TcpOptionIter<'a> {
    type Item = TcpOptionView<'a>;
    fn next(&mut self) -> Option<TcpOptionView<'a>> {
        let kind = *self.rest.first()?;
        if kind <= 1 {
            self.rest = &self.rest[1..];
            return Some(if kind == 0 { TcpOptionView::Eol } else { TcpOptionView::Nop });
        }
        let len = usize::from(*self.rest.get(1)?);
        let Some(data) = self.rest.get(2..len.max(2)) else {
            self.rest = &[];
            return None;
        };
        self.rest = &self.rest[len.max(2)..];
        Some(match (kind, data.len()) {
            (2, 2) => TcpOptionView::Mss(u16::from_be_bytes([data[0], data[1]])),
            (3, 1) => TcpOptionView::WindowScale(data[0]),
            (4, 0) => TcpOptionView::SackPermitted,
            (5, n) if n % 8 == 0 => TcpOptionView::Sack(SackBlocks(data)),
            (8, 8) => TcpOptionView::Timestamps { val: be32(&data[..4]), ecr: be32(&data[4..]) },
            _ => TcpOptionView::Other { kind, data },
        })
    }
}

/// The ports of a UDP header (RFC 768) and the length of what follows it.
#[derive(Clone, Copy, Debug)]
pub struct UdpView<'a> {
    bytes: &'a [u8],
}

impl<'a> UdpView<'a> {
    /// A view of `datagram` (UDP header first), if it holds the 8-byte header.
    pub fn new(datagram: &'a [u8]) -> Option<UdpView<'a>> {
        (datagram.len() >= 8).then_some(UdpView { bytes: datagram })
    }
    /// Source port.
    pub fn src_port(&self) -> u16 {
        u16::from_be_bytes([self.bytes[0], self.bytes[1]])
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        u16::from_be_bytes([self.bytes[2], self.bytes[3]])
    }
    /// Bytes after the header.
    pub fn payload_len(&self) -> usize {
        self.bytes.len() - 8
    }
}

/// The datagram quoted in an ICMP error (RFC 792): its IPv4 header and at least the first 8 bytes
/// of its transport header, which are all an ICMP error promises. Nothing else is checked: a quote
/// may be truncated, and its checksums cannot be verified.
#[derive(Clone, Copy, Debug)]
pub struct QuotedDatagram<'a> {
    /// Source address of the quoted datagram (our own, when it is one we sent).
    pub src: Ipv4Addr,
    /// Its destination address.
    pub dst: Ipv4Addr,
    /// Its protocol.
    pub protocol: IpProtocol,
    /// The first 8 bytes of its transport header.
    head: &'a [u8; 8],
}

impl<'a> QuotedDatagram<'a> {
    /// Reads the quote: an IPv4 header (version 4, IHL >= 5) followed by at least 8 bytes.
    pub fn parse(invoking: &'a [u8]) -> Option<QuotedDatagram<'a>> {
        let first = *invoking.first()?;
        let ihl = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || ihl < 20 {
            return None;
        }
        let addr = |o: usize| invoking.get(o..o + 4).map(|b| Ipv4Addr::new(b[0], b[1], b[2], b[3]));
        let head = invoking.get(ihl..ihl + 8)?.first_chunk::<8>()?;
        Some(QuotedDatagram { src: addr(12)?, dst: addr(16)?, protocol: IpProtocol::from(invoking[9]), head })
    }

    /// (local, remote, sequence number) of a quoted TCP segment we sent.
    pub fn tcp(&self) -> Option<(SocketAddrV4, SocketAddrV4, u32)> {
        if self.protocol != IpProtocol::Tcp {
            return None;
        }
        let h = self.head;
        let (sport, dport) = (u16::from_be_bytes([h[0], h[1]]), u16::from_be_bytes([h[2], h[3]]));
        let seq = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        Some((SocketAddrV4::new(self.src, sport), SocketAddrV4::new(self.dst, dport), seq))
    }

    /// (identifier, sequence) of a quoted ICMP echo request.
    pub fn echo_request(&self) -> Option<(u16, u16)> {
        let h = self.head;
        (self.protocol == IpProtocol::Icmp && h[0] == 8)
            .then(|| (u16::from_be_bytes([h[4], h[5]]), u16::from_be_bytes([h[6], h[7]])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(proto: u8, head: [u8; 8]) -> Vec<u8> {
        let mut d = vec![0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        d.extend_from_slice(&head);
        d
    }

    #[test]
    fn a_quoted_tcp_segment_gives_its_ends_and_sequence_number() {
        let q = quote(6, [0x13, 0x88, 0, 80, 0, 0, 1, 0]);
        let (local, remote, seq) = QuotedDatagram::parse(&q).unwrap().tcp().unwrap();
        assert_eq!((local.to_string(), remote.to_string(), seq), ("10.0.0.1:5000".into(), "10.0.0.2:80".into(), 256));
        assert!(QuotedDatagram::parse(&q).unwrap().echo_request().is_none());
    }

    #[test]
    fn a_quoted_echo_request_gives_its_identifier_and_sequence() {
        let q = quote(1, [8, 0, 0, 0, 0, 7, 0, 3]);
        assert_eq!(QuotedDatagram::parse(&q).unwrap().echo_request(), Some((7, 3)));
        assert!(QuotedDatagram::parse(&q[..27]).is_none(), "fewer than 8 quoted bytes");
        assert!(QuotedDatagram::parse(&[0x65; 28]).is_none(), "not IPv4");
    }

    #[test]
    fn options_come_in_wire_order_with_their_values() {
        let mut seg = vec![0u8; 20];
        seg[12] = 8 << 4; // 32-byte header
        seg.extend_from_slice(&[2, 4, 5, 0xb4, 1, 3, 3, 7, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0]);
        seg.truncate(32);
        seg.extend_from_slice(b"data");
        let opts: Vec<_> = TcpView::new(&seg).unwrap().options().collect();
        assert_eq!(
            opts,
            [TcpOptionView::Mss(1460), TcpOptionView::Nop, TcpOptionView::WindowScale(7)],
            "a truncated timestamps option ends the list"
        );
        let mut sack = vec![0u8; 20];
        sack[12] = 8 << 4;
        sack.extend_from_slice(&[1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
        let TcpOptionView::Sack(b) = TcpView::new(&sack).unwrap().options().nth(2).unwrap() else { panic!() };
        assert_eq!(b.iter().collect::<Vec<_>>(), [(1, 2)]);
    }

    #[test]
    fn views_refuse_short_headers_and_read_fields() {
        assert!(TcpView::new(&[0; 19]).is_none());
        let mut seg = [0u8; 24];
        seg[..4].copy_from_slice(&[0, 1, 0, 2]);
        seg[12] = 5 << 4;
        seg[13] = 0x12;
        let v = TcpView::new(&seg).unwrap();
        assert_eq!((v.src_port(), v.dst_port(), v.header_len(), v.payload_len()), (1, 2, 20, 4));
        assert!(v.flags().syn() && v.flags().ack());
        assert!(UdpView::new(&[0; 7]).is_none());
        assert_eq!(UdpView::new(&[0, 9, 0, 10, 0, 0, 0, 0, 1]).map(|u| (u.dst_port(), u.payload_len())), Some((10, 1)));
    }
}
