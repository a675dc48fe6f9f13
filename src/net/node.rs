//! Hosts and routers. Both have Ethernet interfaces with ARP, an IPv4 layer and a routing table;
//! a router forwards (longest-prefix match, TTL, ICMP errors), a host runs a TCP stack and ICMP
//! sockets for its applications.

use super::addr::Cidr;
use super::event::{NetEvent, NodeDropCause};
use super::fabric::{Event, Fabric, Frame};
use super::ids::NodeId;
use super::observer::Observer;
use super::route::RoutingTable;
use crate::sim::FastSet;
use crate::sim::{Duration, Instant};
use crate::stack::Stack;
use crate::tcp::TcpStack;
use crate::wire::{
    ArpOp, ArpRepr, EtherType, EthernetRepr, IcmpRepr, IpProtocol, Ipv4Addr, Ipv4Repr, MacAddr, QuotedDatagram,
    TcpRepr, UdpRepr, WireError, ipv4,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::task::Waker;

/// CS144 checkpoint 5: a learned mapping lives 30 s.
pub const ARP_ENTRY_TTL: Duration = Duration::from_secs(30);
/// CS144 checkpoint 5: at most one request per target per 5 s; waiting datagrams are dropped when
/// no reply came within that time.
pub const ARP_REQUEST_INTERVAL: Duration = Duration::from_secs(5);
/// Datagrams that may wait for one ARP reply.
const ARP_MAX_WAITING: usize = 256;

struct ArpWaiting {
    requested_at: Instant,
    frames: Vec<Frame>,
}

/// An interface's ARP cache and the datagrams waiting for a reply. Ordered maps: iteration order
/// never depends on hashing.
#[derive(Default)]
pub struct ArpTable {
    entries: BTreeMap<Ipv4Addr, (MacAddr, Instant)>,
    /// The entry learned last, a copy of its line in `entries`: most interfaces talk to one
    /// neighbour, whose mapping is then found without leaving the interface (a router with ten
    /// thousand ports would otherwise miss the cache on every frame it forwards).
    last: Option<(Ipv4Addr, MacAddr, Instant)>,
    waiting: BTreeMap<Ipv4Addr, ArpWaiting>,
}

impl ArpTable {
    pub fn lookup(&self, ip: Ipv4Addr, now: Instant) -> Option<MacAddr> {
        let (mac, exp) = match self.last {
            Some((last_ip, mac, exp)) if last_ip == ip => (mac, exp),
            _ => *self.entries.get(&ip)?,
        };
        (exp > now).then_some(mac)
    }
    fn learn(&mut self, ip: Ipv4Addr, mac: MacAddr, expires: Instant) {
        self.entries.insert(ip, (mac, expires));
        self.last = Some((ip, mac, expires));
    }
}

pub struct Iface {
    pub mac: MacAddr,
    pub addr: Cidr,
    pub link: usize,
    /// 0 = end a of the link, 1 = end b.
    pub side: usize,
    pub capture: Option<usize>,
    pub arp: ArpTable,
}

/// An ICMP message delivered to an application's ICMP socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcmpMessage {
    /// The address that sent it (the pinged host, or a router on the way).
    pub from: Ipv4Addr,
    /// When it arrived.
    pub at: Instant,
    /// The TTL of the IP packet that carried it.
    pub ttl: u8,
    /// The sequence number of the echo request it answers (for errors: quoted from the request).
    pub seq: u16,
    /// What it says.
    pub kind: IcmpKind,
}

/// What an ICMP message delivered to an application says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpKind {
    /// The destination answered.
    EchoReply {
        /// Bytes of echoed data.
        len: usize,
    },
    /// A router dropped the request because its TTL ran out (traceroute's answer).
    TimeExceeded,
    /// The request could not be delivered.
    Unreachable {
        /// The destination-unreachable code (0 net, 1 host, 2 protocol, 3 port, 4 fragmentation needed).
        code: u8,
    },
}

#[derive(Default)]
pub struct IcmpSocket {
    pub inbox: VecDeque<IcmpMessage>,
    pub waker: Option<Waker>,
}

pub struct Node {
    pub id: NodeId,
    pub name: String,
    /// Routers forward packets not addressed to them; hosts drop them.
    pub forwarding: bool,
    pub ifaces: Vec<Iface>,
    pub routes: RoutingTable,
    pub tcp: Option<TcpStack>,
    /// A stack under test in place of netlab's own (`tcp` is then `None`): it gets whole IPv4
    /// datagrams and hands back whole datagrams (`crate::stack::Stack`).
    pub(crate) foreign: Option<Box<dyn Stack>>,
    /// What the wire shows of the stack under test's connections.
    observer: Option<Observer>,
    /// ICMP echo sockets by identifier.
    pub icmp: BTreeMap<u16, IcmpSocket>,
    /// When the NodeTimer event that is currently meant to fire is due (MAX: none).
    pub timer_at: Instant,
    /// Our addresses (interface and directed broadcast): `is_local` is one hash probe, not a scan of
    /// every interface of a router with a thousand ports.
    local: FastSet<u32>,
    /// (requested at, interface, next hop) of every ARP request whose datagrams wait for a reply,
    /// over all interfaces: the earliest ARP deadline is the first, without a scan of every
    /// interface.
    arp_waiting: BTreeSet<(Instant, usize, Ipv4Addr)>,
    /// Scratch space of `flush_tcp` (kept to avoid an allocation per flush).
    frame_ids: Vec<Option<u64>>,
    ip_ident: u16,
}

/// What IPv4 gives a transport: the header fields and where the payload is in the frame.
struct Received {
    ip: Ipv4Repr,
    start: usize,
    end: usize,
}

impl Node {
    pub fn new(id: NodeId, name: String, forwarding: bool, tcp: Option<TcpStack>) -> Node {
        Node {
            id,
            name,
            forwarding,
            ifaces: Vec::new(),
            routes: RoutingTable::default(),
            tcp,
            foreign: None,
            observer: None,
            icmp: BTreeMap::new(),
            timer_at: Instant::MAX,
            local: FastSet::default(),
            arp_waiting: BTreeSet::new(),
            frame_ids: Vec::new(),
            ip_ident: 0,
        }
    }

    pub fn is_local(&self, ip: Ipv4Addr) -> bool {
        ip.is_broadcast() || self.local.contains(&u32::from(ip))
    }

    /// Adds an interface (used while building the topology).
    pub fn add_iface(&mut self, iface: Iface) {
        for ip in [iface.addr.addr, iface.addr.broadcast()] {
            self.local.insert(u32::from(ip));
        }
        self.ifaces.push(iface);
    }

    /// The address of the interface a packet to `dst` leaves from.
    pub fn source_for(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        self.routes.lookup(dst).map(|r| self.ifaces[r.iface].addr.addr)
    }

    fn drop_frame(&self, fab: &mut Fabric, frame: Frame, cause: NodeDropCause) {
        fab.trace(NetEvent::NodeDrop { node: self.id, frame: frame.id, cause });
        fab.recycle(frame);
    }

    // ------------------------------------------------------------------ receive path

    /// A frame arrived at interface `ifx`.
    pub fn receive(&mut self, fab: &mut Fabric, ifx: usize, frame: Frame) {
        let eth = match EthernetRepr::parse(&frame.data) {
            Ok((eth, _)) => eth,
            Err(_) => return self.drop_frame(fab, frame, NodeDropCause::Malformed),
        };
        if eth.dst != self.ifaces[ifx].mac && !eth.dst.is_broadcast() {
            return self.drop_frame(fab, frame, NodeDropCause::NotForUs);
        }
        match eth.ethertype {
            EtherType::Arp => {
                match ArpRepr::parse(&frame.data[EthernetRepr::HEADER_LEN..]) {
                    Ok(arp) => self.receive_arp(fab, ifx, &arp),
                    Err(_) => return self.drop_frame(fab, frame, NodeDropCause::Malformed),
                }
                fab.recycle(frame);
            }
            EtherType::Ipv4 => self.receive_ipv4(fab, ifx, frame),
            EtherType::Other(_) => self.drop_frame(fab, frame, NodeDropCause::Unsupported),
        }
    }

    fn receive_arp(&mut self, fab: &mut Fabric, ifx: usize, arp: &ArpRepr) {
        let now = fab.now;
        let iface = &mut self.ifaces[ifx];
        // CS144: learn the sender's mapping from every ARP message, request or reply.
        if arp.sender_ip != Ipv4Addr::UNSPECIFIED && arp.sender_mac != MacAddr::BROADCAST {
            iface.arp.learn(arp.sender_ip, arp.sender_mac, now + ARP_ENTRY_TTL);
        }
        if arp.op == ArpOp::Request && arp.target_ip == iface.addr.addr {
            let reply = ArpRepr {
                op: ArpOp::Reply,
                sender_mac: iface.mac,
                sender_ip: iface.addr.addr,
                target_mac: arp.sender_mac,
                target_ip: arp.sender_ip,
            };
            fab.trace(NetEvent::ArpReply { node: self.id, target: arp.sender_ip });
            self.send_arp(fab, ifx, arp.sender_mac, &reply);
        }
        // Datagrams that waited for this mapping can go now.
        let iface = &mut self.ifaces[ifx];
        if let Some(w) = iface.arp.waiting.remove(&arp.sender_ip) {
            self.arp_waiting.remove(&(w.requested_at, ifx, arp.sender_ip));
            for frame in w.frames {
                self.put_on_wire(fab, ifx, arp.sender_mac, frame);
            }
        }
    }

    fn receive_ipv4(&mut self, fab: &mut Fabric, ifx: usize, frame: Frame) {
        let l2 = EthernetRepr::HEADER_LEN;
        let rx = match Ipv4Repr::parse(&frame.data[l2..]) {
            Ok((ip, payload)) => {
                let start = payload.as_ptr() as usize - frame.data.as_ptr() as usize;
                Received { ip, start, end: start + payload.len() }
            }
            Err(WireError::BadChecksum) => {
                return self.drop_frame(fab, frame, NodeDropCause::BadIpChecksum);
            }
            Err(WireError::Unsupported(_)) => {
                return self.drop_frame(fab, frame, NodeDropCause::Unsupported);
            }
            Err(_) => return self.drop_frame(fab, frame, NodeDropCause::Malformed),
        };
        if self.is_local(rx.ip.dst) {
            self.deliver_local(fab, ifx, &rx, frame);
        } else if self.forwarding {
            self.forward(fab, ifx, rx, frame);
        } else {
            self.drop_frame(fab, frame, NodeDropCause::NotForwarding);
        }
    }

    fn deliver_local(&mut self, fab: &mut Fabric, ifx: usize, rx: &Received, frame: Frame) {
        let payload = &frame.data[rx.start..rx.end];
        let ip = rx.ip;
        match ip.protocol {
            IpProtocol::Icmp => match IcmpRepr::parse(payload) {
                Ok(icmp) => {
                    self.receive_icmp(fab, &ip, &icmp);
                    // ICMP errors about its segments (path MTU discovery) concern a stack under test too.
                    let is_error = matches!(icmp, IcmpRepr::DestUnreachable { .. } | IcmpRepr::TimeExceeded { .. });
                    if is_error && self.foreign.is_some() {
                        return self.deliver_foreign(fab, rx, frame);
                    }
                    fab.recycle(frame);
                }
                Err(WireError::BadChecksum) => self.drop_frame(fab, frame, NodeDropCause::BadChecksum),
                Err(_) => self.drop_frame(fab, frame, NodeDropCause::Malformed),
            },
            IpProtocol::Tcp if self.foreign.is_some() => match TcpRepr::parse(payload, ip.src, ip.dst) {
                Ok(_) => self.deliver_foreign(fab, rx, frame),
                Err(WireError::BadChecksum) => self.drop_frame(fab, frame, NodeDropCause::BadChecksum),
                Err(_) => self.drop_frame(fab, frame, NodeDropCause::Malformed),
            },
            IpProtocol::Tcp => {
                let Some(stack) = self.tcp.as_mut() else {
                    return self.drop_frame(fab, frame, NodeDropCause::NoListener);
                };
                let parsed = if frame.tcp_checksum_known {
                    TcpRepr::parse_known_good(payload)
                } else {
                    TcpRepr::parse(payload, ip.src, ip.dst)
                };
                match parsed {
                    Ok(seg) => {
                        stack.on_segment(fab.now, ip.src, ip.dst, &seg);
                        fab.recycle(frame);
                    }
                    Err(WireError::BadChecksum) => self.drop_frame(fab, frame, NodeDropCause::BadChecksum),
                    Err(_) => self.drop_frame(fab, frame, NodeDropCause::Malformed),
                }
            }
            IpProtocol::Udp => match UdpRepr::parse(payload, ip.src, ip.dst) {
                Ok(_) => {
                    // No UDP sockets yet: port unreachable (RFC 1122 3.2.2.1), as a real host does.
                    if !ip.dst.is_broadcast() {
                        self.send_icmp_error(fab, ifx, &frame.data[EthernetRepr::HEADER_LEN..rx.end], 3, 3, 0);
                    }
                    self.drop_frame(fab, frame, NodeDropCause::NoListener);
                }
                Err(WireError::BadChecksum) => self.drop_frame(fab, frame, NodeDropCause::BadChecksum),
                Err(_) => self.drop_frame(fab, frame, NodeDropCause::Malformed),
            },
            IpProtocol::Other(_) => {
                // Protocol unreachable (code 2).
                self.send_icmp_error(fab, ifx, &frame.data[EthernetRepr::HEADER_LEN..rx.end], 3, 2, 0);
                self.drop_frame(fab, frame, NodeDropCause::NoListener);
            }
        }
    }

    fn receive_icmp(&mut self, fab: &mut Fabric, ip: &Ipv4Repr, icmp: &IcmpRepr<'_>) {
        let now = fab.now;
        match *icmp {
            IcmpRepr::EchoRequest { ident, seq, data } => {
                // Reply from the address that was asked (not a broadcast address).
                let src = if self.ifaces.iter().any(|i| i.addr.addr == ip.dst) { Some(ip.dst) } else { None };
                let reply = IcmpRepr::EchoReply { ident, seq, data };
                self.send_ip(fab, src, ip.src, IpProtocol::Icmp, 64, false, reply.buffer_len(), |buf, _| {
                    reply.emit(buf)
                });
            }
            IcmpRepr::EchoReply { ident, seq, data } => {
                let msg = IcmpMessage {
                    from: ip.src,
                    at: now,
                    ttl: ip.ttl,
                    seq,
                    kind: IcmpKind::EchoReply { len: data.len() },
                };
                self.icmp_deliver(ident, msg);
            }
            IcmpRepr::TimeExceeded { invoking, .. } | IcmpRepr::DestUnreachable { invoking, .. } => {
                // Path MTU discovery (RFC 1191): TCP checks the quoted segment and shrinks its MSS.
                if let IcmpRepr::DestUnreachable { code: IcmpRepr::DEST_UNREACH_FRAG_NEEDED, next_hop_mtu, .. } = *icmp
                    && QuotedDatagram::parse(invoking).is_some_and(|q| q.protocol == IpProtocol::Tcp)
                    && let Some(tcp) = self.tcp.as_mut()
                {
                    tcp.on_icmp_frag_needed(now, invoking, next_hop_mtu);
                }
                let kind = match *icmp {
                    IcmpRepr::DestUnreachable { code, .. } => IcmpKind::Unreachable { code },
                    _ => IcmpKind::TimeExceeded,
                };
                // The invoking datagram: IP header + at least 8 bytes (RFC 792). For an echo we can
                // find the socket by its identifier.
                if let Some((ident, seq)) = QuotedDatagram::parse(invoking).and_then(|q| q.echo_request()) {
                    self.icmp_deliver(ident, IcmpMessage { from: ip.src, at: now, ttl: ip.ttl, seq, kind });
                }
            }
            IcmpRepr::Other { .. } => {}
        }
    }

    fn icmp_deliver(&mut self, ident: u16, msg: IcmpMessage) {
        if let Some(sock) = self.icmp.get_mut(&ident) {
            sock.inbox.push_back(msg);
            if let Some(w) = sock.waker.take() {
                w.wake();
            }
        }
    }

    fn forward(&mut self, fab: &mut Fabric, in_ifx: usize, rx: Received, mut frame: Frame) {
        let l2 = EthernetRepr::HEADER_LEN;
        if rx.ip.ttl <= 1 {
            // RFC 1812 5.3.1: TTL exceeded in transit.
            self.send_icmp_error(fab, in_ifx, &frame.data[l2..rx.end], 11, 0, 0);
            return self.drop_frame(fab, frame, NodeDropCause::TtlExpired);
        }
        let Some(route) = self.routes.lookup(rx.ip.dst).copied() else {
            self.send_icmp_error(fab, in_ifx, &frame.data[l2..rx.end], 3, IcmpRepr::DEST_UNREACH_NET, 0);
            return self.drop_frame(fab, frame, NodeDropCause::NoRoute);
        };
        let out = &self.ifaces[route.iface];
        fab.prefetch_transmit(out.link, out.side);
        let mtu = fab.links[out.link].dirs[out.side].params.mtu;
        let ip_len = rx.end - l2;
        if ip_len > mtu {
            if rx.ip.dont_frag {
                // RFC 1191: fragmentation needed, with the next-hop MTU.
                let code = IcmpRepr::DEST_UNREACH_FRAG_NEEDED;
                self.send_icmp_error(fab, in_ifx, &frame.data[l2..rx.end], 3, code, mtu.min(65535) as u16);
            }
            // netlab does not fragment.
            return self.drop_frame(fab, frame, NodeDropCause::TooBig);
        }
        frame.data.truncate(rx.end); // drop Ethernet padding
        ipv4::decrement_ttl(&mut frame.data[l2..]);
        let next_hop = route.via.unwrap_or(rx.ip.dst);
        frame.route = Some(route.prefix);
        self.send_frame(fab, route.iface, next_hop, frame);
    }

    // ------------------------------------------------------------------ send path

    /// Sends an ICMP error about `invoking` (the offending IP datagram) back to its source, unless
    /// RFC 1122 3.2.2 forbids it (errors about ICMP errors, broadcasts).
    fn send_icmp_error(&mut self, fab: &mut Fabric, in_ifx: usize, invoking: &[u8], icmp_type: u8, code: u8, mtu: u16) {
        let Ok((orig, orig_payload)) = Ipv4Repr::parse(invoking) else {
            return;
        };
        if orig.src.is_broadcast() || orig.src.is_unspecified() || orig.dst.is_broadcast() {
            return;
        }
        if orig.protocol == IpProtocol::Icmp
            && let Some(&t) = orig_payload.first()
            && !matches!(t, 0 | 8)
        {
            return; // never an error about an error
        }
        // IP header + 8 bytes of the original (RFC 792); we quote up to 28 bytes of payload, enough for
        // a TCP header's ports and sequence numbers.
        let header_len = invoking.len() - orig_payload.len();
        let quote = &invoking[..(header_len + orig_payload.len().min(28))];
        let msg = if icmp_type == 11 {
            IcmpRepr::TimeExceeded { code, invoking: quote }
        } else {
            IcmpRepr::DestUnreachable { code, next_hop_mtu: mtu, invoking: quote }
        };
        let src = self.ifaces[in_ifx].addr.addr;
        fab.trace(NetEvent::IcmpError { node: self.id, icmp_type, code, to: orig.src });
        self.send_ip(fab, Some(src), orig.src, IpProtocol::Icmp, 64, false, msg.buffer_len(), |buf, _| msg.emit(buf));
    }

    /// Builds and routes an IP datagram. `fill` writes the `len`-byte payload, given the source address.
    /// Returns the id of the frame it became (None: no route).
    #[allow(clippy::too_many_arguments)]
    pub fn send_ip(
        &mut self,
        fab: &mut Fabric,
        src: Option<Ipv4Addr>,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        ttl: u8,
        dont_frag: bool,
        len: usize,
        fill: impl FnOnce(&mut [u8], Ipv4Addr),
    ) -> Option<u64> {
        let Some(route) = self.routes.lookup(dst).copied() else {
            fab.trace(NetEvent::NodeDrop { node: self.id, frame: 0, cause: NodeDropCause::NoRoute });
            return None;
        };
        let src = src.unwrap_or(self.ifaces[route.iface].addr.addr);
        self.ip_ident = self.ip_ident.wrapping_add(1);
        let ip = Ipv4Repr { src, dst, protocol, ttl, tos: 0, ident: self.ip_ident, dont_frag, payload_len: len };
        let l2 = EthernetRepr::HEADER_LEN;
        let l3 = l2 + Ipv4Repr::HEADER_LEN;
        // TCP's `emit` writes every byte of the segment, Ethernet and IP headers are written below
        // and in `put_on_wire`: its frame need not be cleared first. Other fills may leave bytes.
        let mut frame = if protocol == IpProtocol::Tcp {
            fab.new_frame_overwritten(l3 + len)
        } else {
            let mut frame = fab.new_frame();
            frame.data.resize(l3 + len, 0);
            frame
        };
        ip.emit(&mut frame.data[l2..l3]);
        fill(&mut frame.data[l3..], src);
        // Only `flush_tcp` sends TCP this way, with `TcpRepr::emit`, which computes the checksum.
        frame.tcp_checksum_known = protocol == IpProtocol::Tcp;
        let next_hop = route.via.unwrap_or(dst);
        let id = frame.id;
        self.send_frame(fab, route.iface, next_hop, frame);
        Some(id)
    }

    /// Sends a frame whose IP part is complete to `next_hop` out of interface `ifx`, resolving the
    /// next hop's MAC address with ARP first if needed.
    fn send_frame(&mut self, fab: &mut Fabric, ifx: usize, next_hop: Ipv4Addr, frame: Frame) {
        let now = fab.now;
        let iface = &mut self.ifaces[ifx];
        let dst_is_broadcast = next_hop.is_broadcast() || next_hop == iface.addr.broadcast();
        let mac = if dst_is_broadcast { Some(MacAddr::BROADCAST) } else { iface.arp.lookup(next_hop, now) };
        if let Some(mac) = mac {
            return self.put_on_wire(fab, ifx, mac, frame);
        }
        let waiting = iface.arp.waiting.entry(next_hop).or_insert_with(|| {
            self.arp_waiting.insert((now, ifx, next_hop));
            ArpWaiting { requested_at: now, frames: Vec::new() }
        });
        let fresh = waiting.frames.is_empty() && waiting.requested_at == now;
        if waiting.frames.len() >= ARP_MAX_WAITING {
            return self.drop_frame(fab, frame, NodeDropCause::ArpQueueFull);
        }
        waiting.frames.push(frame);
        if fresh {
            let req = ArpRepr {
                op: ArpOp::Request,
                sender_mac: iface.mac,
                sender_ip: iface.addr.addr,
                target_mac: MacAddr::ZERO,
                target_ip: next_hop,
            };
            fab.trace(NetEvent::ArpRequest { node: self.id, target: next_hop });
            self.send_arp(fab, ifx, MacAddr::BROADCAST, &req);
        }
    }

    fn put_on_wire(&mut self, fab: &mut Fabric, ifx: usize, dst: MacAddr, mut frame: Frame) {
        let iface = &self.ifaces[ifx];
        EthernetRepr { dst, src: iface.mac, ethertype: EtherType::Ipv4 }
            .emit(&mut frame.data[..EthernetRepr::HEADER_LEN]);
        fab.transmit(iface.link, iface.side, iface.capture, frame);
    }

    fn send_arp(&mut self, fab: &mut Fabric, ifx: usize, dst: MacAddr, arp: &ArpRepr) {
        let iface = &self.ifaces[ifx];
        let mut frame = fab.new_frame();
        // Minimum Ethernet payload is 46 bytes: pad the 28-byte ARP packet as a real NIC would.
        frame.data.resize(EthernetRepr::HEADER_LEN + 46, 0);
        EthernetRepr { dst, src: iface.mac, ethertype: EtherType::Arp }
            .emit(&mut frame.data[..EthernetRepr::HEADER_LEN]);
        arp.emit(&mut frame.data[EthernetRepr::HEADER_LEN..EthernetRepr::HEADER_LEN + ArpRepr::LEN]);
        fab.transmit(iface.link, iface.side, iface.capture, frame);
    }

    // ------------------------------------------------------------------ timers and TCP output

    /// Sends whatever the TCP stack has to send and records its events.
    pub fn flush_tcp(&mut self, fab: &mut Fabric) {
        if self.foreign.is_some() {
            return self.flush_foreign(fab);
        }
        let Some(mut stack) = self.tcp.take() else {
            return;
        };
        let now = fab.now;
        // The frame each segment became, in the order the stack emitted them: the stack records one
        // `segment_sent` event per segment, in the same order, so the trace can name the frame of each
        // (and a viewer can tell which segments a link dropped, duplicated or corrupted).
        let mut frames = std::mem::take(&mut self.frame_ids);
        frames.clear();
        stack.poll_transmit(now, &mut |src, dst, seg| {
            let f = self.send_ip(fab, Some(src), dst, IpProtocol::Tcp, 64, true, seg.buffer_len(), |buf, src| {
                seg.emit(buf, src, dst)
            });
            frames.push(f);
        });
        let id = self.id;
        let mut next = frames.iter();
        stack.drain_events(&mut |event| {
            let frame = if matches!(event.kind, crate::tcp::TcpEventKind::SegmentSent(_)) {
                next.next().copied().flatten()
            } else {
                None
            };
            fab.sink.emit_tcp(id, event, frame)
        });
        fab.sink.count_skipped_tcp(id, stack.take_skipped_events());
        self.frame_ids = frames;
        self.tcp = Some(stack);
    }

    /// The earliest time this node needs to run its timers.
    pub fn next_deadline(&self) -> Option<Instant> {
        let arp = self.arp_waiting.first().map(|(requested_at, _, _)| *requested_at + ARP_REQUEST_INTERVAL);
        let tcp = match &self.foreign {
            Some(f) => f.poll_timeout(),
            None => self.tcp.as_ref().and_then(|t| t.poll_timeout()),
        };
        match (arp, tcp) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Makes sure a NodeTimer event is scheduled no later than the next deadline.
    pub fn reschedule(&mut self, fab: &mut Fabric) {
        if let Some(next) = self.next_deadline() {
            let next = next.max(fab.now);
            if next < self.timer_at {
                self.timer_at = next;
                fab.queue.push(next, Event::NodeTimer { node: self.id });
            }
        }
    }

    /// Runs due timers: expires unanswered ARP requests, then TCP's timers.
    pub fn on_timer(&mut self, fab: &mut Fabric) {
        let now = fab.now;
        // Expired requests by interface, then by address: the order the drops are recorded in.
        let mut expired: Vec<(usize, Ipv4Addr)> = Vec::new();
        while let Some(&(at, ifx, ip)) = self.arp_waiting.first()
            && at + ARP_REQUEST_INTERVAL <= now
        {
            self.arp_waiting.pop_first();
            expired.push((ifx, ip));
        }
        expired.sort_unstable();
        for (ifx, ip) in expired {
            if let Some(w) = self.ifaces[ifx].arp.waiting.remove(&ip) {
                for f in w.frames {
                    self.drop_frame(fab, f, NodeDropCause::ArpTimeout);
                }
            }
        }
        if let Some(t) = self.tcp.as_mut() {
            t.handle_timeout(now);
        }
        if let Some(f) = self.foreign.as_mut() {
            f.handle_timeout(now);
        }
    }

    // ------------------------------------------------------------------ a stack under test

    /// Puts a stack under test (that gets whole datagrams) in place of netlab's TCP.
    pub(crate) fn set_foreign(&mut self, stack: Box<dyn Stack>) {
        self.tcp = None;
        self.observer = Some(Observer::new(stack.reports_states(), stack.reports_events()));
        self.foreign = Some(stack);
    }

    /// A TCP datagram that this node's real counterpart outside the process (a namespace host's
    /// kernel) sent (`sent`) or was sent: the passive tracker follows its connections, which then
    /// appear in the summary like any other.
    #[cfg(feature = "live")]
    pub(crate) fn observe_outside(&mut self, fab: &mut Fabric, sent: bool, datagram: &[u8]) {
        let (now, node) = (fab.now, self.id);
        let o = self.observer.get_or_insert_with(|| Observer::new(false, false));
        let mut out = |e| record_observed(fab, node, e, None);
        if sent { o.sent(now, datagram, &mut out) } else { o.received(now, datagram, &mut out) }
    }

    /// Hands the IP datagram of `frame` (header included) to the stack under test.
    fn deliver_foreign(&mut self, fab: &mut Fabric, rx: &Received, frame: Frame) {
        let datagram = &frame.data[EthernetRepr::HEADER_LEN..rx.end];
        if rx.ip.protocol == IpProtocol::Tcp
            && let Some(o) = self.observer.as_mut()
        {
            let node = self.id;
            o.received(fab.now, datagram, &mut |e| record_observed(fab, node, e, None));
        }
        if let Some(f) = self.foreign.as_mut() {
            f.receive(fab.now, datagram);
        }
        fab.recycle(frame);
    }

    /// Sends what the stack under test has to send and records the events it reports.
    fn flush_foreign(&mut self, fab: &mut Fabric) {
        let Some(mut stack) = self.foreign.take() else {
            return;
        };
        let (now, node) = (fab.now, self.id);
        // The stack's own reports first (its states), relabelled to the tracker's connections;
        // what happened on the wire comes from the tracker, with the frame each segment became.
        let mut observer = self.observer.take();
        let own_retransmissions = stack.reports_events();
        stack.drain_events(&mut |event| {
            use crate::tcp::TcpEventKind::{Retransmit, SegmentReceived, SegmentSent};
            let from_wire = match event.kind {
                SegmentSent(_) | SegmentReceived(_) => true,
                Retransmit { .. } => !own_retransmissions,
                _ => false,
            };
            match observer.as_mut() {
                Some(_) if from_wire => {}
                Some(o) => fab.sink.emit_tcp(node, o.relabel(event), None),
                None => fab.sink.emit_tcp(node, event, None),
            }
        });
        fab.sink.count_skipped_tcp(node, stack.take_skipped_events());
        stack.poll_transmit(now, &mut |datagram| {
            let frame = self.send_datagram(fab, datagram);
            if let Some(o) = observer.as_mut() {
                o.sent(now, datagram, &mut |e| record_observed(fab, node, e, frame));
            }
        });
        self.observer = observer;
        self.foreign = Some(stack);
    }

    /// Routes a whole IPv4 datagram that a stack under test built. One that does not parse (or
    /// names a source address that is not ours) is dropped as malformed. Returns its frame's id.
    fn send_datagram(&mut self, fab: &mut Fabric, datagram: &[u8]) -> Option<u64> {
        let ip = match Ipv4Repr::parse(datagram) {
            Ok((ip, _)) if self.is_local(ip.src) && !ip.src.is_broadcast() => ip,
            _ => {
                fab.trace(NetEvent::NodeDrop { node: self.id, frame: 0, cause: NodeDropCause::Malformed });
                return None;
            }
        };
        let Some(route) = self.routes.lookup(ip.dst).copied() else {
            fab.trace(NetEvent::NodeDrop { node: self.id, frame: 0, cause: NodeDropCause::NoRoute });
            return None;
        };
        let mut frame = fab.new_frame();
        frame.data.resize(EthernetRepr::HEADER_LEN, 0);
        frame.data.extend_from_slice(datagram);
        let id = frame.id;
        self.send_frame(fab, route.iface, route.via.unwrap_or(ip.dst), frame);
        Some(id)
    }

    /// Whether netlab's own TCP stack is the one this host's connections run on: not when a stack
    /// under test replaced it, nor when the host is outside the process (a namespace host, whose
    /// connections the passive tracker follows on the wire).
    pub(crate) fn runs_own_tcp(&self) -> bool {
        self.tcp.is_some() && self.observer.is_none()
    }

    /// Steps taken by this node's stack under test, if it runs in a process.
    pub(crate) fn stack_steps(&self) -> Option<u64> {
        self.foreign.as_ref()?.steps()
    }

    /// The error that made this node's stack under test fail, if it did.
    pub(crate) fn stack_failure(&self) -> Option<String> {
        let f = self.foreign.as_ref()?.failure()?;
        let mut f = f.clone();
        if f.host.is_empty() {
            f.host = self.name.clone();
        }
        Some(f.to_string())
    }
}

/// Records an event of the passive tracker (`frame`: the frame a sent segment became).
fn record_observed(fab: &mut Fabric, node: NodeId, event: crate::tcp::TcpEvent, frame: Option<u64>) {
    let socket = event.socket;
    let frame = if matches!(event.kind, crate::tcp::TcpEventKind::SegmentSent(_)) { frame } else { None };
    fab.sink.emit_tcp(node, event, frame);
    fab.sink.observed(node, socket);
}
