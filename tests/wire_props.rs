//! Property tests for `netlab::wire`: emit/parse round trips, parsers never panic on arbitrary or
//! mutated input, single-bit corruption is always detected, and the incremental TTL update agrees
//! with a full checksum recomputation.
use netlab::wire::checksum;
use netlab::wire::ipv4::decrement_ttl;
use netlab::wire::{
    ArpOp, ArpRepr, EtherType, EthernetRepr, IcmpRepr, IpProtocol, Ipv4Addr, Ipv4Repr, MacAddr, TcpFlags, TcpOptions,
    TcpRepr, UdpRepr, WireError,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn addr() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(MacAddr)
}

fn ethernet() -> impl Strategy<Value = EthernetRepr> {
    (mac(), mac(), any::<u16>()).prop_map(|(dst, src, t)| EthernetRepr { dst, src, ethertype: EtherType::from(t) })
}

fn arp() -> impl Strategy<Value = ArpRepr> {
    (any::<bool>(), mac(), addr(), mac(), addr()).prop_map(|(req, sm, si, tm, ti)| ArpRepr {
        op: if req { ArpOp::Request } else { ArpOp::Reply },
        sender_mac: sm,
        sender_ip: si,
        target_mac: tm,
        target_ip: ti,
    })
}

fn ipv4(max_payload: usize) -> impl Strategy<Value = Ipv4Repr> {
    (addr(), addr(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u16>(), any::<bool>(), 0..=max_payload).prop_map(
        |(src, dst, p, ttl, tos, ident, dont_frag, payload_len)| Ipv4Repr {
            src,
            dst,
            protocol: IpProtocol::from(p),
            ttl,
            tos,
            ident,
            dont_frag,
            payload_len,
        },
    )
}

fn tcp_options() -> impl Strategy<Value = TcpOptions> {
    (
        option::of(any::<u16>()),
        option::of(0u8..=20),
        any::<bool>(),
        proptest::array::uniform4(option::of(any::<(u32, u32)>())),
        option::of(any::<(u32, u32)>()),
    )
        .prop_map(|(mss, window_scale, sack_permitted, sack_blocks, timestamps)| TcpOptions {
            mss,
            window_scale,
            sack_permitted,
            sack_blocks,
            timestamps,
        })
}

/// Header fields of a TCP segment; the payload is generated separately (it is borrowed).
#[derive(Debug, Clone)]
struct TcpFields {
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    urgent: u16,
    options: TcpOptions,
}

fn tcp_fields() -> impl Strategy<Value = TcpFields> {
    (any::<(u16, u16, u32, u32)>(), any::<(u8, u16, u16)>(), tcp_options()).prop_map(
        |((src_port, dst_port, seq, ack), (flags, window, urgent), options)| TcpFields {
            src_port,
            dst_port,
            seq,
            ack,
            flags,
            window,
            urgent,
            options,
        },
    )
}

impl TcpFields {
    fn repr<'a>(&self, payload: &'a [u8]) -> TcpRepr<'a> {
        TcpRepr {
            src_port: self.src_port,
            dst_port: self.dst_port,
            seq: self.seq,
            ack: self.ack,
            flags: TcpFlags(self.flags),
            window: self.window,
            urgent: self.urgent,
            options: self.options,
            payload,
        }
    }
}

/// An ICMP message description; `repr` borrows the data.
#[derive(Debug, Clone)]
enum IcmpKind {
    EchoRequest(u16, u16),
    EchoReply(u16, u16),
    TimeExceeded(u8),
    DestUnreachable(u8, u16),
    Other(u8, u8),
}

fn icmp_kind() -> impl Strategy<Value = IcmpKind> {
    prop_oneof![
        any::<(u16, u16)>().prop_map(|(i, s)| IcmpKind::EchoRequest(i, s)),
        any::<(u16, u16)>().prop_map(|(i, s)| IcmpKind::EchoReply(i, s)),
        any::<u8>().prop_map(IcmpKind::TimeExceeded),
        any::<(u8, u16)>().prop_map(|(c, m)| IcmpKind::DestUnreachable(c, m)),
        any::<(u8, u8)>()
            .prop_filter("types with their own variant", |&(t, c)| {
                !(t == 3 || t == 11 || ((t == 0 || t == 8) && c == 0))
            })
            .prop_map(|(t, c)| IcmpKind::Other(t, c)),
    ]
}

impl IcmpKind {
    fn repr<'a>(&self, data: &'a [u8]) -> IcmpRepr<'a> {
        match *self {
            IcmpKind::EchoRequest(ident, seq) => IcmpRepr::EchoRequest { ident, seq, data },
            IcmpKind::EchoReply(ident, seq) => IcmpRepr::EchoReply { ident, seq, data },
            IcmpKind::TimeExceeded(code) => IcmpRepr::TimeExceeded { code, invoking: data },
            IcmpKind::DestUnreachable(code, next_hop_mtu) => {
                IcmpRepr::DestUnreachable { code, next_hop_mtu, invoking: data }
            }
            IcmpKind::Other(icmp_type, code) => IcmpRepr::Other { icmp_type, code },
        }
    }
    /// What parse returns after emit: the MTU is only carried for fragmentation-needed.
    fn expected<'a>(&self, data: &'a [u8]) -> IcmpRepr<'a> {
        match self.repr(data) {
            IcmpRepr::DestUnreachable { code, invoking, .. } if code != IcmpRepr::DEST_UNREACH_FRAG_NEEDED => {
                IcmpRepr::DestUnreachable { code, next_hop_mtu: 0, invoking }
            }
            r => r,
        }
    }
}

fn emit_tcp(f: &TcpFields, payload: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let repr = f.repr(payload);
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut buf, src, dst);
    buf
}

fn emit_udp(r: &UdpRepr, payload: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut buf = vec![0u8; UdpRepr::HEADER_LEN + payload.len()];
    r.emit(&mut buf, src, dst, payload);
    buf
}

fn emit_icmp(r: &IcmpRepr<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; r.buffer_len()];
    r.emit(&mut buf);
    buf
}

fn emit_ipv4(r: &Ipv4Repr) -> Vec<u8> {
    let mut buf = vec![0u8; Ipv4Repr::HEADER_LEN + r.payload_len];
    r.emit(&mut buf);
    for (i, b) in buf[Ipv4Repr::HEADER_LEN..].iter_mut().enumerate() {
        *b = i as u8;
    }
    buf
}

fn set_checksum(buf: &mut [u8], at: usize, initial: u32) {
    buf[at] = 0;
    buf[at + 1] = 0;
    let c = checksum::finish(checksum::sum(initial, buf));
    buf[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// Overwrites bytes of `buf` at (index mod len, value) positions.
fn mutate(buf: &mut [u8], edits: &[(usize, u8)]) {
    if buf.is_empty() {
        return;
    }
    let n = buf.len();
    for &(i, v) in edits {
        buf[i % n] = v;
    }
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8)>> {
    vec(any::<(usize, u8)>(), 1..6)
}

/// One item of a TCP options area, valid or not.
fn option_item() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![0]),
        Just(vec![1]),
        any::<u16>().prop_map(|m| {
            let [a, b] = m.to_be_bytes();
            vec![2, 4, a, b]
        }),
        any::<u8>().prop_map(|s| vec![3, 3, s]),
        Just(vec![4, 2]),
        any::<(u32, u32)>().prop_map(|(a, b)| {
            let mut v = vec![8, 10];
            v.extend(a.to_be_bytes());
            v.extend(b.to_be_bytes());
            v
        }),
        vec(any::<u32>(), 2..=8).prop_map(|w| {
            let n = w.len() / 2 * 2;
            let mut v = vec![5, (2 + 4 * n) as u8];
            w[..n].iter().for_each(|x| v.extend(x.to_be_bytes()));
            v
        }),
        // Any kind (known ones with likely wrong lengths) and any length, with filler bytes.
        (2u8..=255, 0u8..=12, any::<u8>()).prop_map(|(k, l, fill)| {
            let mut v = vec![k, l];
            v.extend(std::iter::repeat_n(fill, usize::from(l).saturating_sub(2)));
            v
        }),
        any::<u8>().prop_map(|b| vec![b]),
    ]
}

/// A straightforward, index-based reading of RFC 9293 section 3.2 / RFC 7323 / RFC 2018, written
/// separately from the library's slice-pattern parser; `Err(())` means malformed.
fn reference_options(opts: &[u8]) -> std::result::Result<TcpOptions, ()> {
    let mut o = TcpOptions::default();
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            _ => {}
        }
        if i + 1 >= opts.len() {
            return Err(());
        }
        let kind = opts[i];
        let len = usize::from(opts[i + 1]);
        if len < 2 || i + len > opts.len() {
            return Err(());
        }
        let d = &opts[i + 2..i + len];
        let be32 = |at: usize| u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]);
        match (kind, len) {
            (2, 4) => o.mss = Some(u16::from_be_bytes([d[0], d[1]])),
            (3, 3) => o.window_scale = Some(d[0].min(14)),
            (4, 2) => o.sack_permitted = true,
            (8, 10) => o.timestamps = Some((be32(0), be32(4))),
            (5, 10 | 18 | 26 | 34) => {
                o.sack_blocks = [None; 4];
                for b in 0..(len - 2) / 8 {
                    o.sack_blocks[b] = Some((be32(8 * b), be32(8 * b + 4)));
                }
            }
            (2 | 3 | 4 | 5 | 8, _) => return Err(()),
            _ => {}
        }
        i += len;
    }
    Ok(o)
}

proptest! {

    // ---- Round trips -------------------------------------------------------------------------

    #[test]
    fn ethernet_roundtrip(r in ethernet(), payload in vec(any::<u8>(), 0..64)) {
        let mut buf = vec![0u8; 14 + payload.len()];
        r.emit(&mut buf);
        buf[14..].copy_from_slice(&payload);
        let (p, rest) = EthernetRepr::parse(&buf).unwrap();
        prop_assert_eq!(p, r);
        prop_assert_eq!(rest, &payload[..]);
    }

    #[test]
    fn arp_roundtrip(r in arp()) {
        let mut buf = [0u8; ArpRepr::LEN];
        r.emit(&mut buf);
        prop_assert_eq!(ArpRepr::parse(&buf), Ok(r));
    }

    #[test]
    fn ipv4_roundtrip(r in ipv4(600), padding in 0usize..46) {
        let mut buf = emit_ipv4(&r);
        let payload = buf[20..].to_vec();
        buf.extend(std::iter::repeat_n(0xaa, padding));
        let (p, rest) = Ipv4Repr::parse(&buf).unwrap();
        prop_assert_eq!(p, r);
        prop_assert_eq!(rest, &payload[..]);
    }

    #[test]
    fn udp_roundtrip(
        sp in any::<u16>(), dp in any::<u16>(), src in addr(), dst in addr(),
        payload in vec(any::<u8>(), 0..300),
    ) {
        let r = UdpRepr { src_port: sp, dst_port: dp };
        let buf = emit_udp(&r, &payload, src, dst);
        prop_assert_ne!(&buf[6..8], &[0, 0]);
        let (p, rest) = UdpRepr::parse(&buf, src, dst).unwrap();
        prop_assert_eq!(p, r);
        prop_assert_eq!(rest, &payload[..]);
    }

    #[test]
    fn tcp_roundtrip(
        f in tcp_fields(), src in addr(), dst in addr(), payload in vec(any::<u8>(), 0..300),
    ) {
        let repr = f.repr(&payload);
        let buf = emit_tcp(&f, &payload, src, dst);
        prop_assert_eq!(buf.len(), repr.header_len() + payload.len());
        prop_assert_eq!(usize::from(buf[12] >> 4) * 4, repr.header_len());
        prop_assert!(repr.header_len() <= 60);
        let parsed = TcpRepr::parse(&buf, src, dst).unwrap();
        let expected = TcpRepr { options: f.options.normalized(), ..repr };
        prop_assert_eq!(parsed, expected);
        // Normalized options survive a second trip unchanged.
        let again = emit_tcp(&TcpFields { options: parsed.options, ..f.clone() }, &payload, src, dst);
        prop_assert_eq!(again, buf);
    }

    #[test]
    fn icmp_roundtrip(k in icmp_kind(), data in vec(any::<u8>(), 0..200)) {
        let r = k.repr(&data);
        let buf = emit_icmp(&r);
        prop_assert_eq!(buf.len(), r.buffer_len());
        prop_assert_eq!(IcmpRepr::parse(&buf), Ok(k.expected(&data)));
    }

    /// Random option areas (valid, wrong lengths, unknown kinds, EOL, truncated) parse exactly as
    /// the reference reading says, with `Malformed` where it says malformed.
    #[test]
    fn tcp_options_match_reference(
        items in vec(option_item(), 0..8), f in tcp_fields(), src in addr(), dst in addr(),
    ) {
        let mut opts: Vec<u8> = items.concat();
        opts.truncate(40);
        while !opts.len().is_multiple_of(4) {
            opts.push(0);
        }
        let mut seg = emit_tcp(&TcpFields { options: TcpOptions::default(), ..f }, b"data", src, dst);
        seg[12] = (((20 + opts.len()) / 4) as u8) << 4;
        seg.splice(20..20, opts.iter().copied());
        let l = seg.len() as u16;
        set_checksum(&mut seg, 16, checksum::pseudo_header(src, dst, 6, l));
        match (TcpRepr::parse(&seg, src, dst), reference_options(&opts)) {
            (Ok(r), Ok(o)) => {
                prop_assert_eq!(r.options, o);
                prop_assert_eq!(r.payload, b"data");
            }
            (Err(WireError::Malformed(_)), Err(())) => {}
            (got, want) => prop_assert!(false, "opts {:?}: got {:?}, want {:?}", opts, got, want),
        }
    }

    // ---- Parsers never panic -----------------------------------------------------------------

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(
        bytes in vec(any::<u8>(), 0..120), src in addr(), dst in addr(),
    ) {
        let _ = EthernetRepr::parse(&bytes);
        let _ = ArpRepr::parse(&bytes);
        let _ = Ipv4Repr::parse(&bytes);
        let _ = IcmpRepr::parse(&bytes);
        let _ = UdpRepr::parse(&bytes, src, dst);
        let _ = TcpRepr::parse(&bytes, src, dst);
    }

    /// Mutations of valid packets with the checksum repaired reach the deep parsing paths (TCP
    /// options, IPv4 lengths) that random bytes almost never get past the checksum to.
    #[test]
    fn parsers_never_panic_on_mutated_packets(
        f in tcp_fields(), ip in ipv4(64), k in icmp_kind(), src in addr(), dst in addr(),
        payload in vec(any::<u8>(), 0..40), e in edits(), cut in any::<usize>(),
    ) {
        // TCP: mutate, maybe truncate, then fix the checksum so options get parsed.
        let mut seg = emit_tcp(&f, &payload, src, dst);
        mutate(&mut seg, &e);
        seg.truncate(20.max(cut % (seg.len() + 1)));
        let l = seg.len() as u16;
        set_checksum(&mut seg, 16, checksum::pseudo_header(src, dst, 6, l));
        if let Ok(r) = TcpRepr::parse(&seg, src, dst) {
            prop_assert!(r.header_len() <= 60);
            prop_assert!(r.options.window_scale.is_none_or(|s| s <= 14));
        }
        // TCP options made of random bytes, checksum fixed.
        let mut seg = emit_tcp(&TcpFields { options: TcpOptions::default(), ..f.clone() }, &[], src, dst);
        let nopt = (cut % 11) * 4;
        seg[12] = (((20 + nopt) / 4) as u8) << 4;
        seg.extend(payload.iter().cycle().take(nopt));
        let l = seg.len() as u16;
        set_checksum(&mut seg, 16, checksum::pseudo_header(src, dst, 6, l));
        let _ = TcpRepr::parse(&seg, src, dst);

        // IPv4: mutate the header, fix the checksum over whatever IHL now says (if it fits).
        let mut pkt = emit_ipv4(&ip);
        mutate(&mut pkt[..20], &e);
        let ihl = usize::from(pkt[0] & 0x0f) * 4;
        if ihl >= 20 && ihl <= pkt.len() {
            set_checksum(&mut pkt[..ihl], 10, 0);
        }
        if let Ok((r, rest)) = Ipv4Repr::parse(&pkt) {
            prop_assert_eq!(r.payload_len, rest.len());
        }

        // UDP: mutate, fix the checksum over the whole buffer.
        let mut dg = emit_udp(&UdpRepr { src_port: 1, dst_port: 2 }, &payload, src, dst);
        mutate(&mut dg, &e);
        let _ = UdpRepr::parse(&dg, src, dst);

        // ICMP: mutate, fix the checksum.
        let mut msg = emit_icmp(&k.repr(&payload));
        mutate(&mut msg, &e);
        set_checksum(&mut msg, 2, 0);
        let _ = IcmpRepr::parse(&msg);
    }

    // ---- Single-bit corruption is detected ---------------------------------------------------

    /// The IPv4 header checksum catches every single-bit flip in the header. The one exception
    /// is a flip in IHL that makes the header longer: the checksum then covers other bytes and can
    /// match by chance (probability 2^-16); we allow that only as a visibly different parse.
    #[test]
    fn ipv4_single_bit_flip_detected(r in ipv4(64)) {
        let buf = emit_ipv4(&r);
        for bit in 0..Ipv4Repr::HEADER_LEN * 8 {
            let mut b = buf.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            match Ipv4Repr::parse(&b) {
                Err(_) => {}
                Ok((p, _)) => {
                    let ihl_grew = bit / 8 == 0 && bit % 8 < 4 && b[0] & 0x0f > 5;
                    prop_assert!(ihl_grew && p.payload_len < r.payload_len, "bit {} undetected", bit);
                }
            }
        }
    }

    #[test]
    fn tcp_single_bit_flip_detected(
        f in tcp_fields(), src in addr(), dst in addr(), payload in vec(any::<u8>(), 0..48),
    ) {
        let buf = emit_tcp(&f, &payload, src, dst);
        for bit in 0..buf.len() * 8 {
            let mut b = buf.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(TcpRepr::parse(&b, src, dst).is_err(), "bit {} undetected", bit);
        }
    }

    /// UDP has two documented exceptions: a flip that turns the checksum field into 0 ("no
    /// checksum", RFC 768), and a flip that shortens the length field, which changes what the
    /// checksum covers (undetected with probability 2^-16, and then visibly shorter).
    #[test]
    fn udp_single_bit_flip_detected(
        sp in any::<u16>(), dp in any::<u16>(), src in addr(), dst in addr(),
        payload in vec(any::<u8>(), 0..48),
    ) {
        let buf = emit_udp(&UdpRepr { src_port: sp, dst_port: dp }, &payload, src, dst);
        for bit in 0..buf.len() * 8 {
            let mut b = buf.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            match UdpRepr::parse(&b, src, dst) {
                Err(_) => {}
                Ok((_, rest)) => {
                    let zeroed = b[6..8] == [0, 0];
                    let shortened = (bit / 8 == 4 || bit / 8 == 5) && rest.len() < payload.len();
                    prop_assert!(zeroed || shortened, "bit {} undetected", bit);
                }
            }
        }
    }

    #[test]
    fn icmp_single_bit_flip_detected(k in icmp_kind(), data in vec(any::<u8>(), 0..48)) {
        let buf = emit_icmp(&k.repr(&data));
        for bit in 0..buf.len() * 8 {
            let mut b = buf.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(IcmpRepr::parse(&b), Err(WireError::BadChecksum), "bit {}", bit);
        }
    }

    // ---- Incremental TTL update --------------------------------------------------------------

    #[test]
    fn decrement_ttl_equals_full_recompute(
        r in ipv4(0), ttl in 1u8..=255, opt_words in 0usize..=10, opts in any::<[u8; 40]>(),
    ) {
        let ihl = 20 + opt_words * 4;
        let mut pkt = vec![0u8; ihl];
        Ipv4Repr { ttl, payload_len: opt_words * 4, ..r }.emit(&mut pkt);
        // Turn the emitted 20-byte header into one with options (total length unchanged).
        pkt[0] = 0x40 | (ihl / 4) as u8;
        pkt[20..].copy_from_slice(&opts[..opt_words * 4]);
        set_checksum(&mut pkt, 10, 0);
        prop_assert!(Ipv4Repr::parse(&pkt).is_ok());
        prop_assert_eq!(decrement_ttl(&mut pkt), ttl - 1);
        let mut full = pkt.clone();
        set_checksum(&mut full, 10, 0);
        prop_assert_eq!(&pkt, &full);
        let (p, _) = Ipv4Repr::parse(&pkt).unwrap();
        prop_assert_eq!(p.ttl, ttl - 1);
    }
}

#[test]
fn decrement_ttl_to_zero_and_at_zero() {
    let r = Ipv4Repr {
        src: Ipv4Addr::new(1, 2, 3, 4),
        dst: Ipv4Addr::new(5, 6, 7, 8),
        protocol: IpProtocol::Tcp,
        ttl: 1,
        tos: 0,
        ident: 0,
        dont_frag: false,
        payload_len: 0,
    };
    let mut pkt = [0u8; 20];
    r.emit(&mut pkt);
    assert_eq!(decrement_ttl(&mut pkt), 0);
    assert!(Ipv4Repr::parse(&pkt).is_ok());
    assert_eq!(decrement_ttl(&mut pkt), 0);
    assert_eq!(Ipv4Repr::parse(&pkt).unwrap().0.ttl, 0);
}
