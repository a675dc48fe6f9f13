//! Packets between the script and the stack: inbound datagrams built from `<` lines with the
//! script's sequence numbers mapped to live ones, outbound datagrams parsed and mapped back to
//! script space, compared with `>` lines, and both printed the way packetdrill prints them.
//!
//! Sequence spaces (as packetdrill): the remote (script) side's numbers are used as written; the
//! stack's numbers are relative to its ISN, learned from the first SYN it sends. So inbound `ack`s
//! and SACK blocks get the ISN added, outbound `seq`s get it subtracted. Inbound TS ecr values are
//! mapped to the TS val the stack sent for the script value they name.

use super::ast::{IcmpSpec, TcpOpt, TcpSpec};
use crate::wire::{IcmpRepr, IpProtocol, Ipv4Repr, checksum};
use std::fmt::Write as _;
use std::net::SocketAddrV4;

/// The connection's 4-tuple from the stack's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    /// The stack's address and port.
    pub local: SocketAddrV4,
    /// The script's (remote peer's) address and port.
    pub remote: SocketAddrV4,
}

/// Script <-> live sequence and timestamp mapping of the connection under test.
#[derive(Debug, Default, Clone)]
pub struct SeqMap {
    /// The stack's ISN, once it has sent a SYN.
    pub local_isn: Option<u32>,
    /// (script TS val, live TS val) of matched outbound packets, most recent last.
    ts_vals: Vec<(u32, u32)>,
}

impl SeqMap {
    fn ack_offset(&self) -> u32 {
        self.local_isn.unwrap_or(0)
    }

    /// Remembers the stack's TS val for a `>` line's value.
    pub fn learn_ts(&mut self, script: u32, live: u32) {
        self.ts_vals.push((script, live));
    }

    /// The live TS val an inbound ecr refers to: the one sent for that script value, else an
    /// interpolation from the first one seen, else the value as written.
    fn live_ecr(&self, script: u32) -> u32 {
        if let Some(&(_, live)) = self.ts_vals.iter().rev().find(|(s, _)| *s == script) {
            return live;
        }
        match self.ts_vals.first() {
            Some(&(s0, l0)) => script.wrapping_sub(s0).wrapping_add(l0),
            None => script,
        }
    }
}

/// Bit of each flag letter (`.` is ACK; E = ECE, W = CWR).
pub fn flag_bits(letters: &str) -> u8 {
    letters.chars().fold(0, |acc, c| acc | flag_bit(c))
}

fn flag_bit(c: char) -> u8 {
    match c {
        'F' => 0x01,
        'S' => 0x02,
        'R' => 0x04,
        'P' => 0x08,
        '.' => 0x10,
        'U' => 0x20,
        'E' => 0x40,
        'W' => 0x80,
        _ => 0,
    }
}

/// Flag letters in packetdrill's order.
pub fn flag_letters(bits: u8) -> String {
    let s: String = "FSRP.UEW".chars().filter(|&c| bits & flag_bit(c) != 0).collect();
    if s.is_empty() { "-".into() } else { s }
}

/// A TCP segment the stack sent, with its options as they appear on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct WireSeg {
    /// The connection the segment belongs to (`local` is its source).
    pub tuple: Tuple,
    /// The sequence number: live as parsed, relative to the ISN after `to_script_space`.
    pub seq: u32,
    /// The acknowledgment number (the script's sequence space, used as written).
    pub ack: u32,
    /// The flag byte of the TCP header (FIN = 0x01 ... CWR = 0x80).
    pub flags: u8,
    /// The window field as sent (not scaled).
    pub window: u16,
    /// The urgent pointer.
    pub urgent: u16,
    /// The options in wire order, NOP and EOL included.
    pub options: Vec<TcpOpt>,
    /// Payload bytes.
    pub payload_len: usize,
}

/// Parses an outbound IPv4 datagram carrying TCP; `Err` says what else it is.
pub fn parse_outbound(datagram: &[u8]) -> Result<WireSeg, String> {
    let (ip, payload) = Ipv4Repr::parse(datagram).map_err(|e| format!("malformed IPv4 datagram: {e}"))?;
    if ip.protocol != IpProtocol::Tcp {
        return Err(format!("a non-TCP datagram (IP protocol {})", u8::from(ip.protocol)));
    }
    let repr =
        crate::wire::TcpRepr::parse(payload, ip.src, ip.dst).map_err(|e| format!("malformed TCP segment: {e}"))?;
    Ok(WireSeg {
        tuple: Tuple {
            local: SocketAddrV4::new(ip.src, repr.src_port),
            remote: SocketAddrV4::new(ip.dst, repr.dst_port),
        },
        seq: repr.seq,
        ack: repr.ack,
        flags: repr.flags.0,
        window: repr.window,
        urgent: repr.urgent,
        options: raw_options(payload),
        payload_len: repr.payload.len(),
    })
}

/// The options of `segment`'s header in wire order (an unknown kind is skipped).
fn raw_options(segment: &[u8]) -> Vec<TcpOpt> {
    use crate::wire::TcpOptionView as O;
    let Some(view) = crate::wire::TcpView::new(segment) else { return Vec::new() };
    let mut out = Vec::new();
    for o in view.options() {
        out.push(match o {
            O::Eol => {
                out.push(TcpOpt::Eol);
                break;
            }
            O::Nop => TcpOpt::Nop,
            O::Mss(m) => TcpOpt::Mss(m),
            O::WindowScale(w) => TcpOpt::Wscale(w),
            O::SackPermitted => TcpOpt::SackOk,
            O::Sack(blocks) => TcpOpt::Sack(blocks.iter().collect()),
            O::Timestamps { val, ecr } => TcpOpt::Timestamp { val, ecr },
            O::Other { .. } => continue,
        });
    }
    out
}

/// The segment in script space: seq relative to the stack's ISN (learned here from a SYN).
pub fn to_script_space(seg: &WireSeg, map: &mut SeqMap) -> WireSeg {
    if seg.flags & 0x02 != 0 && map.local_isn.is_none() {
        map.local_isn = Some(seg.seq);
    }
    let mut s = seg.clone();
    s.seq = seg.seq.wrapping_sub(map.local_isn.unwrap_or(0));
    s
}

/// Encodes options in the order written, padded with EOL to a multiple of 4 bytes.
fn encode_options(opts: &[TcpOpt], map: &SeqMap, ack_flag: bool) -> Vec<u8> {
    let mut b = Vec::new();
    for o in opts {
        match o {
            TcpOpt::Nop => b.push(1),
            TcpOpt::Eol => b.push(0),
            TcpOpt::Mss(m) => b.extend([2, 4, (m >> 8) as u8, *m as u8]),
            TcpOpt::Wscale(w) => b.extend([3, 3, *w]),
            TcpOpt::SackOk => b.extend([4, 2]),
            TcpOpt::Sack(blocks) => {
                b.extend([5, (2 + 8 * blocks.len()) as u8]);
                for (l, r) in blocks {
                    b.extend(l.wrapping_add(map.ack_offset()).to_be_bytes());
                    b.extend(r.wrapping_add(map.ack_offset()).to_be_bytes());
                }
            }
            TcpOpt::Timestamp { val, ecr } => {
                let ecr = if ack_flag { map.live_ecr(*ecr) } else { *ecr };
                b.extend([8, 10]);
                b.extend(val.to_be_bytes());
                b.extend(ecr.to_be_bytes());
            }
        }
    }
    while b.len() % 4 != 0 {
        b.push(0);
    }
    b
}

/// The IPv4 datagram for a `<` TCP line (payload bytes are zeros). `Err` if the options do not fit.
pub fn inbound_tcp(spec: &TcpSpec, tuple: Tuple, map: &SeqMap) -> Result<Vec<u8>, String> {
    let flags = flag_bits(&spec.flags);
    let opts = encode_options(spec.options.as_deref().unwrap_or(&[]), map, flags & 0x10 != 0);
    if opts.len() > 40 {
        return Err(format!("TCP options take {} bytes (at most 40 fit)", opts.len()));
    }
    let header_len = 20 + opts.len();
    let mut tcp = vec![0u8; header_len + usize::from(spec.len)];
    tcp[0..2].copy_from_slice(&tuple.remote.port().to_be_bytes());
    tcp[2..4].copy_from_slice(&tuple.local.port().to_be_bytes());
    tcp[4..8].copy_from_slice(&spec.seq.to_be_bytes());
    let ack =
        if flags & 0x10 != 0 { spec.ack.unwrap_or(0).wrapping_add(map.ack_offset()) } else { spec.ack.unwrap_or(0) };
    tcp[8..12].copy_from_slice(&ack.to_be_bytes());
    tcp[12] = ((header_len / 4) as u8) << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&spec.win.unwrap_or(0).to_be_bytes());
    tcp[18..20].copy_from_slice(&spec.urg.to_be_bytes());
    tcp[20..header_len].copy_from_slice(&opts);
    Ok(ip_datagram(*tuple.remote.ip(), *tuple.local.ip(), IpProtocol::Tcp, tcp))
}

/// Wraps `payload` (its checksum field filled in here for TCP) in an IPv4 header.
fn ip_datagram(
    src: std::net::Ipv4Addr,
    dst: std::net::Ipv4Addr,
    protocol: IpProtocol,
    mut payload: Vec<u8>,
) -> Vec<u8> {
    if protocol == IpProtocol::Tcp {
        let len = payload.len() as u16;
        let c = checksum::finish(checksum::sum(checksum::pseudo_header(src, dst, 6, len), &payload));
        payload[16..18].copy_from_slice(&c.to_be_bytes());
    }
    let ip = Ipv4Repr { src, dst, protocol, ttl: 64, tos: 0, ident: 0, dont_frag: true, payload_len: payload.len() };
    let mut out = vec![0u8; Ipv4Repr::HEADER_LEN + payload.len()];
    ip.emit(&mut out);
    out[Ipv4Repr::HEADER_LEN..].copy_from_slice(&payload);
    out
}

/// The IPv4 datagram for a `< icmp ...` line: it quotes the IP header and first 8 TCP bytes of a
/// segment the stack sent (`[start:end(len)]`, in the stack's script space).
pub fn inbound_icmp(spec: &IcmpSpec, tuple: Tuple, map: &SeqMap) -> Result<Vec<u8>, String> {
    let code = match (spec.kind.as_str(), spec.code.as_deref()) {
        ("unreachable", Some("net_unreachable")) => IcmpRepr::DEST_UNREACH_NET,
        ("unreachable", Some("host_unreachable")) => IcmpRepr::DEST_UNREACH_HOST,
        ("unreachable", Some("port_unreachable")) => IcmpRepr::DEST_UNREACH_PORT,
        ("unreachable", Some("frag_needed")) => IcmpRepr::DEST_UNREACH_FRAG_NEEDED,
        (k, c) => return Err(format!("unsupported ICMP message `{k} {}`", c.unwrap_or(""))),
    };
    let (seq, len) = spec.echoed.unwrap_or((0, 0));
    let mut quoted_tcp = [0u8; 20];
    quoted_tcp[0..2].copy_from_slice(&tuple.local.port().to_be_bytes());
    quoted_tcp[2..4].copy_from_slice(&tuple.remote.port().to_be_bytes());
    quoted_tcp[4..8].copy_from_slice(&seq.wrapping_add(map.ack_offset()).to_be_bytes());
    quoted_tcp[12] = 5 << 4;
    let quoted_ip = Ipv4Repr {
        src: *tuple.local.ip(),
        dst: *tuple.remote.ip(),
        protocol: IpProtocol::Tcp,
        ttl: 64,
        tos: 0,
        ident: 0,
        dont_frag: true,
        payload_len: 20 + usize::from(len),
    };
    let mut invoking = vec![0u8; Ipv4Repr::HEADER_LEN + 8];
    quoted_ip.emit(&mut invoking);
    invoking[Ipv4Repr::HEADER_LEN..].copy_from_slice(&quoted_tcp[..8]);
    let icmp = IcmpRepr::DestUnreachable { code, next_hop_mtu: spec.mtu.unwrap_or(0), invoking: &invoking };
    let mut body = vec![0u8; icmp.buffer_len()];
    icmp.emit(&mut body);
    Ok(ip_datagram(*tuple.remote.ip(), *tuple.local.ip(), IpProtocol::Icmp, body))
}

/// Checks an outbound segment (in script space) against a `>` line; `Err` names the first field
/// that differs, as packetdrill does. TS val is not compared (see docs/scripts.md).
pub fn compare(spec: &TcpSpec, seg: &WireSeg) -> Result<(), String> {
    let field = |name: &str, expected: u32, actual: u32| -> Result<(), String> {
        if expected == actual {
            Ok(())
        } else {
            Err(format!(
                "live packet field {name}: expected: {expected} (0x{expected:x}) vs actual: {actual} (0x{actual:x})"
            ))
        }
    };
    let want = flag_bits(&spec.flags);
    for (name, bit) in [("tcp_fin", 0x01), ("tcp_syn", 0x02), ("tcp_rst", 0x04), ("tcp_psh", 0x08), ("tcp_ack", 0x10)] {
        field(name, u32::from(want & bit != 0), u32::from(seg.flags & bit != 0))?;
    }
    for (name, bit) in [("tcp_urg", 0x20), ("tcp_ece", 0x40), ("tcp_cwr", 0x80)] {
        field(name, u32::from(want & bit != 0), u32::from(seg.flags & bit != 0))?;
    }
    field("tcp_seq", spec.seq, seg.seq)?;
    field("tcp_payload_len", spec.len.into(), seg.payload_len as u32)?;
    if want & 0x10 != 0 {
        field("tcp_ack_seq", spec.ack.unwrap_or(0), seg.ack)?;
    }
    if let Some(w) = spec.win {
        field("tcp_window", w.into(), seg.window.into())?;
    }
    if let Some(opts) = &spec.options {
        compare_options(opts, &seg.options)?;
    }
    Ok(())
}

/// The options that matter, without padding, with TS val blanked (not compared), sorted.
fn essential(opts: &[TcpOpt]) -> Vec<String> {
    let mut v: Vec<String> = opts
        .iter()
        .filter(|o| !matches!(o, TcpOpt::Nop | TcpOpt::Eol))
        .map(|o| match o {
            TcpOpt::Timestamp { ecr, .. } => format!("TS ecr {ecr}"),
            o => option_text(o),
        })
        .collect();
    v.sort();
    v
}

fn compare_options(expected: &[TcpOpt], actual: &[TcpOpt]) -> Result<(), String> {
    if essential(expected) == essential(actual) {
        Ok(())
    } else {
        Err(format!(
            "bad outbound TCP options: expected <{}> vs actual <{}>",
            options_text(expected),
            options_text(actual)
        ))
    }
}

fn option_text(o: &TcpOpt) -> String {
    match o {
        TcpOpt::Nop => "nop".into(),
        TcpOpt::Eol => "eol".into(),
        TcpOpt::Mss(m) => format!("mss {m}"),
        TcpOpt::Wscale(w) => format!("wscale {w}"),
        TcpOpt::SackOk => "sackOK".into(),
        TcpOpt::Sack(b) => {
            let blocks: Vec<String> = b.iter().map(|(l, r)| format!("{l}:{r}")).collect();
            format!("sack {}", blocks.join(" "))
        }
        TcpOpt::Timestamp { val, ecr } => format!("TS val {val} ecr {ecr}"),
    }
}

/// `mss 1460,sackOK,...` (without the angle brackets).
pub fn options_text(opts: &[TcpOpt]) -> String {
    opts.iter().map(option_text).collect::<Vec<_>>().join(",")
}

/// A `>`/`<` line's packet as packetdrill prints it: `S. 0:0(0) ack 1 win 100 <mss 1460>`.
pub fn spec_text(spec: &TcpSpec) -> String {
    let mut s =
        format!("{} {}:{}({})", flag_text(&spec.flags), spec.seq, spec.seq.wrapping_add(spec.len.into()), spec.len);
    if let Some(a) = spec.ack.filter(|_| spec.flags.contains('.')) {
        let _ = write!(s, " ack {a}");
    }
    if let Some(w) = spec.win {
        let _ = write!(s, " win {w}");
    }
    match &spec.options {
        None => s.push_str(" <...>"),
        Some(o) if o.is_empty() => {}
        Some(o) => {
            let _ = write!(s, " <{}>", options_text(o));
        }
    }
    s
}

fn flag_text(f: &str) -> String {
    flag_letters(flag_bits(f))
}

/// An outbound segment (in script space) printed like a `>` line.
pub fn seg_text(seg: &WireSeg) -> String {
    let len = seg.payload_len as u32;
    let mut s = format!("{} {}:{}({})", flag_letters(seg.flags), seg.seq, seg.seq.wrapping_add(len), len);
    if seg.flags & 0x10 != 0 {
        let _ = write!(s, " ack {}", seg.ack);
    }
    let _ = write!(s, " win {}", seg.window);
    if !seg.options.is_empty() {
        let _ = write!(s, " <{}>", options_text(&seg.options));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn tuple() -> Tuple {
        Tuple {
            local: SocketAddrV4::new(Ipv4Addr::new(192, 168, 0, 1), 8080),
            remote: SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 40000),
        }
    }

    fn spec(flags: &str, seq: u32, len: u16, ack: Option<u32>, opts: Vec<TcpOpt>) -> TcpSpec {
        TcpSpec { flags: flags.into(), seq, len, ack, win: Some(1000), urg: 0, options: Some(opts) }
    }

    #[test]
    fn an_inbound_segment_comes_back_with_its_options_in_order_and_the_ack_mapped() {
        let map = SeqMap { local_isn: Some(1000), ..Default::default() };
        let opts = vec![TcpOpt::Mss(1000), TcpOpt::Nop, TcpOpt::Wscale(7), TcpOpt::SackOk];
        let d = inbound_tcp(&spec(".", 5, 10, Some(1), opts.clone()), tuple(), &map).unwrap();
        let seg = parse_outbound(&d).unwrap();
        assert_eq!((seg.seq, seg.ack, seg.window, seg.payload_len), (5, 1001, 1000, 10));
        assert_eq!(seg.options[..4], opts[..]);
        assert_eq!(seg.tuple.local, tuple().remote);
    }

    #[test]
    fn comparison_names_the_first_differing_field() {
        let want = spec("S.", 0, 0, Some(1), vec![TcpOpt::Mss(1460)]);
        let mut seg = WireSeg {
            tuple: tuple(),
            seq: 0,
            ack: 2,
            flags: 0x12,
            window: 1000,
            urgent: 0,
            options: vec![TcpOpt::Mss(1460)],
            payload_len: 0,
        };
        assert_eq!(
            compare(&want, &seg).unwrap_err(),
            "live packet field tcp_ack_seq: expected: 1 (0x1) vs actual: 2 (0x2)"
        );
        seg.ack = 1;
        assert_eq!(compare(&want, &seg), Ok(()));
        seg.options.push(TcpOpt::SackOk);
        assert!(compare(&want, &seg).unwrap_err().starts_with("bad outbound TCP options"));
    }

    #[test]
    fn ts_ecr_maps_to_the_live_value_sent_for_that_script_value() {
        let mut map = SeqMap::default();
        map.learn_ts(100, 5_000);
        assert_eq!(map.live_ecr(100), 5_000);
        assert_eq!(map.live_ecr(110), 5_010);
    }
}
