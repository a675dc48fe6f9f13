//! The wire parsers: whatever bytes come in, parsing never panics, and what parses is emitted and
//! parsed again to the same thing (for TCP: the options as `TcpOptions::normalized` says a receiver
//! reads them back). The first byte picks the parser; with its top bit set, the checksum field is
//! made right first, so that the fuzzer gets past the checksum to the fields behind it.

use netlab::wire::checksum;
use netlab::wire::{ArpRepr, EthernetRepr, IcmpRepr, Ipv4Repr, QuotedDatagram, TcpRepr, TcpView, UdpRepr, UdpView};
use std::net::Ipv4Addr;

const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Checks one input.
pub fn check(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut buf = rest.to_vec();
    let fix = mode & 0x80 != 0;
    match (mode & 0x7f) % 7 {
        0 => ethernet(&buf),
        1 => arp(&buf),
        2 => {
            if fix {
                fix_ipv4_checksum(&mut buf);
            }
            ipv4(&buf)
        }
        3 => {
            if fix {
                fix_l4_checksum(&mut buf, 6, 16);
            }
            tcp(&buf)
        }
        4 => {
            if fix {
                fix_l4_checksum(&mut buf, 17, 6);
            }
            udp(&buf)
        }
        5 => {
            if fix && buf.len() >= 4 {
                buf[2..4].fill(0);
                let c = checksum::checksum(&buf);
                buf[2..4].copy_from_slice(&c.to_be_bytes());
            }
            icmp(&buf)
        }
        _ => views(&buf),
    }
}

fn fix_ipv4_checksum(buf: &mut [u8]) {
    let Some(&b0) = buf.first() else { return };
    let ihl = usize::from(b0 & 0x0f) * 4;
    if ihl >= 20 && ihl <= buf.len() {
        buf[10..12].fill(0);
        let c = checksum::checksum(&buf[..ihl]);
        buf[10..12].copy_from_slice(&c.to_be_bytes());
    }
}

/// Makes the TCP (`at` = 16) or UDP (`at` = 6) checksum right for a segment from SRC to DST.
fn fix_l4_checksum(buf: &mut [u8], protocol: u8, at: usize) {
    let Ok(len) = u16::try_from(buf.len()) else { return };
    if buf.len() < at + 2 {
        return;
    }
    if protocol == 17 && buf.len() >= 6 {
        buf[4..6].copy_from_slice(&len.to_be_bytes());
    }
    buf[at..at + 2].fill(0);
    let c = checksum::finish(checksum::sum(checksum::pseudo_header(SRC, DST, protocol, len), buf));
    buf[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

fn ethernet(buf: &[u8]) {
    let Ok((repr, payload)) = EthernetRepr::parse(buf) else { return };
    let mut out = vec![0u8; EthernetRepr::HEADER_LEN + payload.len()];
    repr.emit(&mut out);
    out[EthernetRepr::HEADER_LEN..].copy_from_slice(payload);
    let (again, payload2) = EthernetRepr::parse(&out).expect("an emitted Ethernet header parses");
    assert_eq!(again, repr);
    assert_eq!(payload2, payload);
}

fn arp(buf: &[u8]) {
    let Ok(repr) = ArpRepr::parse(buf) else { return };
    let mut out = [0u8; ArpRepr::LEN];
    repr.emit(&mut out);
    assert_eq!(ArpRepr::parse(&out).expect("an emitted ARP packet parses"), repr);
}

fn ipv4(buf: &[u8]) {
    let Ok((repr, payload)) = Ipv4Repr::parse(buf) else { return };
    assert_eq!(repr.payload_len, payload.len());
    let mut out = vec![0u8; Ipv4Repr::HEADER_LEN + payload.len()];
    repr.emit(&mut out);
    out[Ipv4Repr::HEADER_LEN..].copy_from_slice(payload);
    let (again, payload2) = Ipv4Repr::parse(&out).expect("an emitted IPv4 packet parses");
    assert_eq!(again, repr);
    assert_eq!(payload2, payload);
    let _ = QuotedDatagram::parse(buf);
}

fn tcp(buf: &[u8]) {
    let view = TcpView::new(buf);
    if let Some(v) = view {
        let _ = (v.src_port(), v.dst_port(), v.seq(), v.flags(), v.header_len(), v.payload_len());
        for _ in v.options() {}
    }
    let Ok(repr) = TcpRepr::parse(buf, SRC, DST) else { return };
    assert!(view.is_some(), "a segment TcpRepr parses is one TcpView takes");
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut out, SRC, DST);
    let again = TcpRepr::parse(&out, SRC, DST).expect("an emitted TCP segment parses");
    let expected = TcpRepr { options: repr.options.normalized(), ..repr };
    assert_eq!(again, expected);
}

fn udp(buf: &[u8]) {
    let _ = UdpView::new(buf).map(|v| (v.src_port(), v.dst_port(), v.payload_len()));
    let Ok((repr, payload)) = UdpRepr::parse(buf, SRC, DST) else { return };
    let mut out = vec![0u8; UdpRepr::HEADER_LEN + payload.len()];
    repr.emit(&mut out, SRC, DST, payload);
    let (again, payload2) = UdpRepr::parse(&out, SRC, DST).expect("an emitted UDP datagram parses");
    assert_eq!(again, repr);
    assert_eq!(payload2, payload);
}

fn icmp(buf: &[u8]) {
    let Ok(repr) = IcmpRepr::parse(buf) else { return };
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut out);
    assert_eq!(IcmpRepr::parse(&out).expect("an emitted ICMP message parses"), repr);
}

/// The zero-copy views of quoted datagrams (ICMP errors) and TCP options.
fn views(buf: &[u8]) {
    if let Some(q) = QuotedDatagram::parse(buf) {
        let _ = (q.tcp(), q.echo_request());
    }
}
