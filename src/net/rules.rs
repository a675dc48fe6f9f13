//! Packet-matching fault rules: "drop the 3rd segment with FIN from h2", "duplicate the SYN-ACK",
//! "hold the first data segment until the next one has passed". A rule watches one link (one or both
//! directions), counts the frames that match, and acts on the `nth` match and the `count - 1` after it.
//! Rules act on frames that made it onto the wire, after the sender's capture saw them, so a frame a
//! rule drops shows at the sender only — like any frame lost on a link.

use super::ids::{Dir, LinkId};
use crate::sim::{Duration, Instant};
use crate::wire::{EtherType, EthernetRepr, IpProtocol, Ipv4Repr, TcpFlags, TcpView, UdpView};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The protocol a rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchProto {
    /// IPv4 carrying TCP.
    Tcp,
    /// IPv4 carrying UDP.
    Udp,
    /// IPv4 carrying ICMP.
    Icmp,
    /// ARP frames.
    Arp,
}

/// What a frame must look like. Every field that is set must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PacketMatch {
    /// The protocol.
    pub protocol: Option<MatchProto>,
    /// The IPv4 source address.
    pub src: Option<Ipv4Addr>,
    /// The IPv4 destination address.
    pub dst: Option<Ipv4Addr>,
    /// The TCP or UDP source port (never matches other protocols).
    pub src_port: Option<u16>,
    /// The TCP or UDP destination port (never matches other protocols).
    pub dst_port: Option<u16>,
    /// TCP flags that must all be set.
    pub flags: Option<TcpFlags>,
    /// TCP flags that must all be clear.
    pub not_flags: Option<TcpFlags>,
    /// Smallest payload length (TCP or UDP payload; the ICMP message for ICMP).
    pub min_len: Option<usize>,
    /// Largest payload length, inclusive.
    pub max_len: Option<usize>,
    /// Relative sequence number range (inclusive) of the segment's first byte, counted from the
    /// flow's initial sequence number as Wireshark does (the SYN has relative sequence 0).
    pub rel_seq: Option<(u32, u32)>,
    /// Only frames sent at or after this time.
    pub after: Option<Instant>,
}

/// What a rule does to the frames it acts on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PacketAction {
    /// Lose the frame in transit (traced as a link drop with cause `fault`).
    Drop,
    /// Deliver a second copy `delay` after the original.
    Duplicate(Duration),
    /// Deliver `delay` later than the link would.
    Delay(Duration),
    /// Hold the frame until the next frame in the same direction has arrived (at most `max_hold`).
    Reorder(Duration),
    /// Flip one bit of the frame (in the last byte of the IP payload, so checksums must catch it).
    Corrupt,
    /// After the matching TCP segment, deliver a forged RST with the same addresses and ports and
    /// sequence number `seq + offset` (an attacker's blind in-window RST: RFC 5961 section 3).
    ForgeRst(u32),
}

/// A packet-matching fault rule on one link.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketRule {
    /// Index of the rule in the scenario's `[[faults]]` (for the trace).
    pub index: usize,
    /// The link it watches.
    pub link: LinkId,
    /// The direction it watches; `None`: both.
    pub dir: Option<Dir>,
    /// What a frame must look like to count.
    pub matcher: PacketMatch,
    /// Act on the nth matching frame (1-based)...
    pub nth: u64,
    /// ...and this many in total (u64::MAX: every one from the nth on).
    pub count: u64,
    /// What it does to those frames.
    pub action: PacketAction,
    /// Matching frames seen so far (0 in a new rule).
    pub seen: u64,
    /// Frames acted on so far (0 in a new rule).
    pub acted: u64,
}

/// The fields of a frame the rules look at.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FrameInfo {
    pub proto: Option<MatchProto>,
    pub src: Option<Ipv4Addr>,
    pub dst: Option<Ipv4Addr>,
    pub src_port: u16,
    pub dst_port: u16,
    pub flags: TcpFlags,
    pub seq: u32,
    pub payload_len: usize,
    /// Offset of the end of the IP datagram in the frame.
    pub ip_end: usize,
}

impl FrameInfo {
    pub fn of(frame: &[u8]) -> FrameInfo {
        let mut info = FrameInfo::default();
        let Ok((eth, payload)) = EthernetRepr::parse(frame) else {
            return info;
        };
        match eth.ethertype {
            EtherType::Arp => info.proto = Some(MatchProto::Arp),
            EtherType::Ipv4 => {
                let Ok((ip, l4)) = Ipv4Repr::parse(payload) else {
                    return info;
                };
                info.src = Some(ip.src);
                info.dst = Some(ip.dst);
                info.ip_end = l4.as_ptr() as usize - frame.as_ptr() as usize + l4.len();
                match ip.protocol {
                    IpProtocol::Tcp => {
                        let Some(tcp) = TcpView::new(l4) else { return info };
                        info.proto = Some(MatchProto::Tcp);
                        info.src_port = tcp.src_port();
                        info.dst_port = tcp.dst_port();
                        info.seq = tcp.seq();
                        info.flags = tcp.flags();
                        info.payload_len = tcp.payload_len();
                    }
                    IpProtocol::Udp => {
                        let Some(udp) = UdpView::new(l4) else { return info };
                        info.proto = Some(MatchProto::Udp);
                        info.src_port = udp.src_port();
                        info.dst_port = udp.dst_port();
                        info.payload_len = udp.payload_len();
                    }
                    IpProtocol::Icmp => {
                        info.proto = Some(MatchProto::Icmp);
                        info.payload_len = l4.len();
                    }
                    _ => {}
                }
            }
            EtherType::Other(_) => {}
        }
        info
    }
}

type FlowKey = (Ipv4Addr, u16, Ipv4Addr, u16);

/// The rules of a run and the initial sequence numbers they have seen.
#[derive(Default)]
pub(crate) struct Rules {
    pub rules: Vec<PacketRule>,
    /// Rules per link, to skip parsing on links without rules.
    by_link: Vec<Vec<usize>>,
    isn: BTreeMap<FlowKey, u32>,
}

impl Rules {
    pub fn new(rules: Vec<PacketRule>, links: usize) -> Rules {
        let mut by_link = vec![Vec::new(); links];
        for (i, r) in rules.iter().enumerate() {
            by_link[r.link].push(i);
        }
        Rules { rules, by_link, isn: BTreeMap::new() }
    }

    pub fn watches(&self, link: LinkId) -> bool {
        self.by_link.get(link).is_some_and(|v| !v.is_empty())
    }

    /// The actions (with rule indices) that apply to a frame sent now on `link` in `dir`.
    pub fn apply(
        &mut self,
        now: Instant,
        link: LinkId,
        dir: Dir,
        frame: &[u8],
    ) -> (FrameInfo, Vec<(usize, PacketAction)>) {
        let info = FrameInfo::of(frame);
        if info.proto == Some(MatchProto::Tcp)
            && info.flags.syn()
            && let (Some(s), Some(d)) = (info.src, info.dst)
        {
            self.isn.insert((s, info.src_port, d, info.dst_port), info.seq);
        }
        let mut out = Vec::new();
        for &ri in &self.by_link[link] {
            let rel = match (info.src, info.dst) {
                (Some(s), Some(d)) => {
                    self.isn.get(&(s, info.src_port, d, info.dst_port)).map(|isn| info.seq.wrapping_sub(*isn))
                }
                _ => None,
            };
            let r = &mut self.rules[ri];
            if r.dir.is_some_and(|d| d != dir) || !matches(&r.matcher, &info, rel, now) {
                continue;
            }
            r.seen += 1;
            if r.seen >= r.nth && r.acted < r.count {
                r.acted += 1;
                out.push((r.index, r.action));
            }
        }
        (info, out)
    }
}

/// Whether frame `f` (sent at `now`, `rel_seq` its relative sequence number) matches `m`.
pub(crate) fn matches(m: &PacketMatch, f: &FrameInfo, rel_seq: Option<u32>, now: Instant) -> bool {
    let tcp = f.proto == Some(MatchProto::Tcp);
    m.protocol.is_none_or(|p| f.proto == Some(p))
        && m.src.is_none_or(|a| f.src == Some(a))
        && m.dst.is_none_or(|a| f.dst == Some(a))
        && m.src_port
            .is_none_or(|p| f.proto.is_some_and(|x| matches!(x, MatchProto::Tcp | MatchProto::Udp)) && f.src_port == p)
        && m.dst_port
            .is_none_or(|p| f.proto.is_some_and(|x| matches!(x, MatchProto::Tcp | MatchProto::Udp)) && f.dst_port == p)
        && m.flags.is_none_or(|fl| tcp && f.flags.contains(fl))
        && m.not_flags.is_none_or(|fl| tcp && f.flags.0 & fl.0 == 0)
        && m.min_len.is_none_or(|n| f.payload_len >= n)
        && m.max_len.is_none_or(|n| f.payload_len <= n)
        && m.rel_seq.is_none_or(|(lo, hi)| rel_seq.is_some_and(|r| (lo..=hi).contains(&r)))
        && m.after.is_none_or(|t| now >= t)
}

/// Parses "SYN|ACK", "FIN", "syn,ack" into flags.
pub fn parse_flags(s: &str) -> Result<TcpFlags, String> {
    let mut f = TcpFlags::default();
    for part in s.split(['|', ',', '+', ' ']).filter(|p| !p.is_empty()) {
        f |= match part.to_ascii_uppercase().as_str() {
            "FIN" => TcpFlags::FIN,
            "SYN" => TcpFlags::SYN,
            "RST" => TcpFlags::RST,
            "PSH" => TcpFlags::PSH,
            "ACK" => TcpFlags::ACK,
            "URG" => TcpFlags::URG,
            "ECE" => TcpFlags::ECE,
            "CWR" => TcpFlags::CWR,
            other => {
                return Err(format!(
                    "TCP flags such as \"SYN|ACK\" (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR), found \"{other}\""
                ));
            }
        };
    }
    if f.0 == 0 {
        return Err(format!("at least one TCP flag such as \"FIN\", found \"{s}\""));
    }
    Ok(f)
}
