//! Cross-check of `netlab::wire` against an independent implementation, `etherparse`: frames
//! built by etherparse parse with ours to the same field values, and frames emitted by ours are
//! accepted by etherparse's slicer with matching fields and checksums.
use etherparse::icmpv4::{DestUnreachableHeader, TimeExceededCode};
use etherparse::{
    IcmpEchoHeader, Icmpv4Type, IpDscp, IpEcn, IpHeaders, IpNumber, Ipv4Header, LinkSlice, NetSlice, PacketBuilder,
    SlicedPacket, TcpHeader, TcpOptionElement, TransportSlice,
};
use netlab::wire::{
    EtherType, EthernetRepr, IcmpRepr, IpProtocol, Ipv4Addr, Ipv4Repr, MacAddr, TcpFlags, TcpOptions, TcpRepr, UdpRepr,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Link and network fields shared by all frames.
#[derive(Debug, Clone)]
struct Envelope {
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: [u8; 4],
    dst: [u8; 4],
    ttl: u8,
    dscp: u8,
    ecn: u8,
    ident: u16,
    dont_frag: bool,
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (any::<([u8; 6], [u8; 6], [u8; 4], [u8; 4])>(), (any::<u8>(), 0u8..64, 0u8..4, any::<u16>(), any::<bool>()))
        .prop_map(|((src_mac, dst_mac, src, dst), (ttl, dscp, ecn, ident, dont_frag))| Envelope {
            src_mac,
            dst_mac,
            src,
            dst,
            ttl,
            dscp,
            ecn,
            ident,
            dont_frag,
        })
}

impl Envelope {
    fn src_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.src)
    }
    fn dst_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.dst)
    }
    fn tos(&self) -> u8 {
        (self.dscp << 2) | self.ecn
    }
    /// etherparse's IPv4 header; total length, protocol and checksum are set by the builder.
    fn ep_ipv4(&self) -> Ipv4Header {
        let mut h = Ipv4Header::new(0, self.ttl, IpNumber::TCP, self.src, self.dst).unwrap();
        h.dscp = IpDscp::try_new(self.dscp).unwrap();
        h.ecn = IpEcn::try_new(self.ecn).unwrap();
        h.identification = self.ident;
        h.dont_fragment = self.dont_frag;
        h
    }
    fn builder(&self) -> etherparse::PacketBuilderStep<IpHeaders> {
        PacketBuilder::ethernet2(self.src_mac, self.dst_mac).ip(IpHeaders::Ipv4(self.ep_ipv4(), Default::default()))
    }
    /// Our headers for a frame carrying `payload_len` bytes of `protocol`.
    fn ours(&self, protocol: IpProtocol, payload_len: usize) -> (EthernetRepr, Ipv4Repr) {
        (
            EthernetRepr { dst: MacAddr(self.dst_mac), src: MacAddr(self.src_mac), ethertype: EtherType::Ipv4 },
            Ipv4Repr {
                src: self.src_ip(),
                dst: self.dst_ip(),
                protocol,
                ttl: self.ttl,
                tos: self.tos(),
                ident: self.ident,
                dont_frag: self.dont_frag,
                payload_len,
            },
        )
    }
}

/// Parses an etherparse-built frame with ours down to the IP payload, checking the envelope.
fn parse_envelope<'a>(frame: &'a [u8], env: &Envelope, protocol: IpProtocol) -> &'a [u8] {
    let (eth, rest) = EthernetRepr::parse(frame).unwrap();
    assert_eq!(eth.src, MacAddr(env.src_mac));
    assert_eq!(eth.dst, MacAddr(env.dst_mac));
    assert_eq!(eth.ethertype, EtherType::Ipv4);
    let (ip, payload) = Ipv4Repr::parse(rest).unwrap();
    assert_eq!(ip.src, env.src_ip());
    assert_eq!(ip.dst, env.dst_ip());
    assert_eq!(ip.ttl, env.ttl);
    assert_eq!(ip.tos, env.tos());
    assert_eq!(ip.ident, env.ident);
    assert_eq!(ip.dont_frag, env.dont_frag);
    assert_eq!(ip.protocol, protocol);
    assert_eq!(ip.payload_len, payload.len());
    payload
}

/// Emits Ethernet + IPv4 headers with ours in front of a transport message of `len` bytes that
/// `fill` writes; returns the frame.
fn emit_frame(env: &Envelope, protocol: IpProtocol, len: usize, fill: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let (eth, ip) = env.ours(protocol, len);
    let mut frame = vec![0u8; 14 + 20 + len];
    eth.emit(&mut frame);
    ip.emit(&mut frame[14..]);
    fill(&mut frame[34..]);
    frame
}

/// Slices a frame with etherparse and checks the link and IPv4 layers against the envelope,
/// including the IPv4 header checksum; returns the IPv4 header and the transport slice.
fn ep_slice<'a>(frame: &'a [u8], env: &Envelope, protocol: IpNumber) -> (Ipv4Header, TransportSlice<'a>) {
    let sliced = SlicedPacket::from_ethernet(frame).expect("etherparse rejects our frame");
    let Some(LinkSlice::Ethernet2(eth)) = &sliced.link else { panic!("no ethernet: {:?}", sliced.link) };
    assert_eq!(eth.source(), env.src_mac);
    assert_eq!(eth.destination(), env.dst_mac);
    assert_eq!(eth.ether_type(), etherparse::EtherType::IPV4);
    let Some(NetSlice::Ipv4(ip)) = &sliced.net else { panic!("no ipv4: {:?}", sliced.net) };
    let h = ip.header().to_header();
    assert_eq!(h.source, env.src);
    assert_eq!(h.destination, env.dst);
    assert_eq!(h.time_to_live, env.ttl);
    assert_eq!(h.dscp.value(), env.dscp);
    assert_eq!(h.ecn.value(), env.ecn);
    assert_eq!(h.identification, env.ident);
    assert_eq!(h.dont_fragment, env.dont_frag);
    assert!(!h.more_fragments);
    assert_eq!(h.fragment_offset.value(), 0);
    assert_eq!(h.protocol, protocol);
    assert_eq!(usize::from(h.total_len), frame.len() - 14);
    assert_eq!(h.header_checksum, h.calc_header_checksum());
    (h, sliced.transport.expect("no transport layer"))
}

/// TCP options as etherparse elements: any order, some NOPs, up to what fits in 40 bytes.
#[derive(Debug, Clone)]
struct EpOptions {
    elements: Vec<TcpOptionElement>,
}

fn ep_options() -> impl Strategy<Value = EpOptions> {
    (
        option::of(any::<u16>()),
        option::of(any::<u8>()),
        any::<bool>(),
        option::of(any::<(u32, u32)>()),
        vec(any::<(u32, u32)>(), 0..=4),
        0usize..4,
    )
        .prop_flat_map(|(mss, ws, sp, ts, sack, nops)| {
            let mut elements = Vec::new();
            let mut len = 0;
            if let Some(m) = mss {
                elements.push(TcpOptionElement::MaximumSegmentSize(m));
                len += 4;
            }
            if let Some(w) = ws {
                elements.push(TcpOptionElement::WindowScale(w));
                len += 3;
            }
            if sp {
                elements.push(TcpOptionElement::SelectiveAcknowledgementPermitted);
                len += 2;
            }
            if let Some((a, b)) = ts {
                elements.push(TcpOptionElement::Timestamp(a, b));
                len += 10;
            }
            let fit = sack.len().min(40usize.saturating_sub(len + 2) / 8);
            if fit > 0 {
                let mut rest = [None; 3];
                for (slot, b) in rest.iter_mut().zip(&sack[1..fit]) {
                    *slot = Some(*b);
                }
                elements.push(TcpOptionElement::SelectiveAcknowledgement(sack[0], rest));
                len += 2 + 8 * fit;
            }
            for _ in 0..nops.min(40 - len) {
                elements.push(TcpOptionElement::Noop);
            }
            Just(elements).prop_shuffle()
        })
        .prop_map(|elements| EpOptions { elements })
}

impl EpOptions {
    /// The options our parser should report for these elements.
    fn expected(&self) -> TcpOptions {
        let mut o = TcpOptions::default();
        for e in &self.elements {
            match *e {
                TcpOptionElement::Noop => {}
                TcpOptionElement::MaximumSegmentSize(m) => o.mss = Some(m),
                // RFC 7323 section 2.3: shifts above 14 are used as 14.
                TcpOptionElement::WindowScale(w) => o.window_scale = Some(w.min(14)),
                TcpOptionElement::SelectiveAcknowledgementPermitted => o.sack_permitted = true,
                TcpOptionElement::Timestamp(a, b) => o.timestamps = Some((a, b)),
                TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                    o.sack_blocks = [Some(first), rest[0], rest[1], rest[2]];
                }
            }
        }
        o
    }
}

/// Collects etherparse's reading of an options area into our struct.
fn ep_read_options(h: &TcpHeader) -> TcpOptions {
    let mut o = TcpOptions::default();
    for e in h.options_iterator() {
        match e.expect("etherparse rejects our option") {
            TcpOptionElement::Noop => {}
            TcpOptionElement::MaximumSegmentSize(m) => o.mss = Some(m),
            TcpOptionElement::WindowScale(w) => o.window_scale = Some(w),
            TcpOptionElement::SelectiveAcknowledgementPermitted => o.sack_permitted = true,
            TcpOptionElement::Timestamp(a, b) => o.timestamps = Some((a, b)),
            TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                o.sack_blocks = [Some(first), rest[0], rest[1], rest[2]];
            }
        }
    }
    o
}

#[derive(Debug, Clone)]
struct TcpFields {
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    urgent: u16,
}

fn tcp_fields() -> impl Strategy<Value = TcpFields> {
    any::<((u16, u16, u32, u32), (u8, u16, u16))>().prop_map(
        |((src_port, dst_port, seq, ack), (flags, window, urgent))| TcpFields {
            src_port,
            dst_port,
            seq,
            ack,
            flags,
            window,
            urgent,
        },
    )
}

fn our_options() -> impl Strategy<Value = TcpOptions> {
    (
        option::of(any::<u16>()),
        option::of(0u8..=14),
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

fn flag_bits(h: &TcpHeader) -> u8 {
    [h.fin, h.syn, h.rst, h.psh, h.ack, h.urg, h.ece, h.cwr].iter().enumerate().map(|(i, &b)| u8::from(b) << i).sum()
}

proptest! {

    #[test]
    fn etherparse_tcp_parses_with_ours(
        env in envelope(), f in tcp_fields(), opts in ep_options(),
        payload in vec(any::<u8>(), 0..200),
    ) {
        let mut tcp = TcpHeader::new(f.src_port, f.dst_port, f.seq, f.window);
        tcp.acknowledgment_number = f.ack;
        tcp.urgent_pointer = f.urgent;
        tcp.fin = f.flags & 0x01 != 0;
        tcp.syn = f.flags & 0x02 != 0;
        tcp.rst = f.flags & 0x04 != 0;
        tcp.psh = f.flags & 0x08 != 0;
        tcp.ack = f.flags & 0x10 != 0;
        tcp.urg = f.flags & 0x20 != 0;
        tcp.ece = f.flags & 0x40 != 0;
        tcp.cwr = f.flags & 0x80 != 0;
        tcp.set_options(&opts.elements).unwrap();
        let mut frame = Vec::new();
        env.builder().tcp_header(tcp).write(&mut frame, &payload).unwrap();

        let seg = parse_envelope(&frame, &env, IpProtocol::Tcp);
        let r = TcpRepr::parse(seg, env.src_ip(), env.dst_ip()).unwrap();
        prop_assert_eq!(r.src_port, f.src_port);
        prop_assert_eq!(r.dst_port, f.dst_port);
        prop_assert_eq!(r.seq, f.seq);
        prop_assert_eq!(r.ack, f.ack);
        prop_assert_eq!(r.flags, TcpFlags(f.flags));
        prop_assert_eq!(r.window, f.window);
        prop_assert_eq!(r.urgent, f.urgent);
        prop_assert_eq!(r.options, opts.expected());
        prop_assert_eq!(r.payload, &payload[..]);
    }

    #[test]
    fn our_tcp_accepted_by_etherparse(
        env in envelope(), f in tcp_fields(), options in our_options(),
        payload in vec(any::<u8>(), 0..200),
    ) {
        let repr = TcpRepr {
            src_port: f.src_port,
            dst_port: f.dst_port,
            seq: f.seq,
            ack: f.ack,
            flags: TcpFlags(f.flags),
            window: f.window,
            urgent: f.urgent,
            options,
            payload: &payload,
        };
        let frame = emit_frame(&env, IpProtocol::Tcp, repr.buffer_len(), |b| {
            repr.emit(b, env.src_ip(), env.dst_ip())
        });
        let (ip, transport) = ep_slice(&frame, &env, IpNumber::TCP);
        let TransportSlice::Tcp(tcp) = transport else { panic!("not tcp") };
        let h = tcp.to_header();
        prop_assert_eq!(h.source_port, f.src_port);
        prop_assert_eq!(h.destination_port, f.dst_port);
        prop_assert_eq!(h.sequence_number, f.seq);
        prop_assert_eq!(h.acknowledgment_number, f.ack);
        prop_assert_eq!(flag_bits(&h), f.flags);
        prop_assert!(!h.ns);
        prop_assert_eq!(h.window_size, f.window);
        prop_assert_eq!(h.urgent_pointer, f.urgent);
        prop_assert_eq!(h.header_len(), repr.header_len());
        prop_assert_eq!(ep_read_options(&h), options.normalized());
        prop_assert_eq!(tcp.payload(), &payload[..]);
        prop_assert_eq!(h.checksum, h.calc_checksum_ipv4(&ip, tcp.payload()).unwrap());
    }

    #[test]
    fn etherparse_udp_parses_with_ours(
        env in envelope(), sp in any::<u16>(), dp in any::<u16>(),
        payload in vec(any::<u8>(), 0..300),
    ) {
        let mut frame = Vec::new();
        env.builder().udp(sp, dp).write(&mut frame, &payload).unwrap();
        let dg = parse_envelope(&frame, &env, IpProtocol::Udp);
        let (r, data) = UdpRepr::parse(dg, env.src_ip(), env.dst_ip()).unwrap();
        prop_assert_eq!(r, UdpRepr { src_port: sp, dst_port: dp });
        prop_assert_eq!(data, &payload[..]);
    }

    #[test]
    fn our_udp_accepted_by_etherparse(
        env in envelope(), sp in any::<u16>(), dp in any::<u16>(),
        payload in vec(any::<u8>(), 0..300),
    ) {
        let r = UdpRepr { src_port: sp, dst_port: dp };
        let frame = emit_frame(&env, IpProtocol::Udp, 8 + payload.len(), |b| {
            r.emit(b, env.src_ip(), env.dst_ip(), &payload)
        });
        let (ip, transport) = ep_slice(&frame, &env, IpNumber::UDP);
        let TransportSlice::Udp(udp) = transport else { panic!("not udp") };
        let h = udp.to_header();
        prop_assert_eq!(h.source_port, sp);
        prop_assert_eq!(h.destination_port, dp);
        prop_assert_eq!(usize::from(h.length), 8 + payload.len());
        prop_assert_eq!(udp.payload(), &payload[..]);
        prop_assert_eq!(h.checksum, h.calc_checksum_ipv4(&ip, &payload).unwrap());
    }

    #[test]
    fn etherparse_icmp_echo_parses_with_ours(
        env in envelope(), id in any::<u16>(), seq in any::<u16>(), request in any::<bool>(),
        payload in vec(any::<u8>(), 0..200),
    ) {
        let mut frame = Vec::new();
        let b = env.builder();
        let b = if request { b.icmpv4_echo_request(id, seq) } else { b.icmpv4_echo_reply(id, seq) };
        b.write(&mut frame, &payload).unwrap();
        let msg = parse_envelope(&frame, &env, IpProtocol::Icmp);
        let expected = if request {
            IcmpRepr::EchoRequest { ident: id, seq, data: &payload }
        } else {
            IcmpRepr::EchoReply { ident: id, seq, data: &payload }
        };
        prop_assert_eq!(IcmpRepr::parse(msg), Ok(expected));
    }

    #[test]
    fn etherparse_icmp_errors_parse_with_ours(
        env in envelope(), kind in 0u8..3, mtu in any::<u16>(),
        invoking in vec(any::<u8>(), 0..64),
    ) {
        let (ty, expected) = match kind {
            0 => (
                Icmpv4Type::TimeExceeded(TimeExceededCode::TtlExceededInTransit),
                IcmpRepr::TimeExceeded { code: 0, invoking: &invoking },
            ),
            1 => (
                Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
                    next_hop_mtu: mtu,
                }),
                IcmpRepr::DestUnreachable { code: 4, next_hop_mtu: mtu, invoking: &invoking },
            ),
            _ => (
                Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port),
                IcmpRepr::DestUnreachable { code: 3, next_hop_mtu: 0, invoking: &invoking },
            ),
        };
        let mut frame = Vec::new();
        env.builder().icmpv4(ty).write(&mut frame, &invoking).unwrap();
        let msg = parse_envelope(&frame, &env, IpProtocol::Icmp);
        prop_assert_eq!(IcmpRepr::parse(msg), Ok(expected));
    }

    #[test]
    fn our_icmp_accepted_by_etherparse(
        env in envelope(), id in any::<u16>(), seq in any::<u16>(), kind in 0u8..4,
        mtu in any::<u16>(), data in vec(any::<u8>(), 0..200),
    ) {
        let (repr, expected_type) = match kind {
            0 => (
                IcmpRepr::EchoRequest { ident: id, seq, data: &data },
                Icmpv4Type::EchoRequest(IcmpEchoHeader { id, seq }),
            ),
            1 => (
                IcmpRepr::EchoReply { ident: id, seq, data: &data },
                Icmpv4Type::EchoReply(IcmpEchoHeader { id, seq }),
            ),
            2 => (
                IcmpRepr::TimeExceeded { code: 0, invoking: &data },
                Icmpv4Type::TimeExceeded(TimeExceededCode::TtlExceededInTransit),
            ),
            _ => (
                IcmpRepr::DestUnreachable { code: 4, next_hop_mtu: mtu, invoking: &data },
                Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
                    next_hop_mtu: mtu,
                }),
            ),
        };
        let frame = emit_frame(&env, IpProtocol::Icmp, repr.buffer_len(), |b| repr.emit(b));
        let (_, transport) = ep_slice(&frame, &env, IpNumber::ICMP);
        let TransportSlice::Icmpv4(icmp) = transport else { panic!("not icmpv4") };
        prop_assert_eq!(icmp.icmp_type(), expected_type.clone());
        prop_assert_eq!(icmp.payload(), &data[..]);
        prop_assert_eq!(icmp.checksum(), expected_type.calc_checksum(&data));
    }
}
