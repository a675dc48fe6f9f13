//! Live bridges: a running netlab attached to the world outside the process. The network stays
//! simulated (links with their impairments, routers, hosts with our stack); only the clock becomes
//! real time, and some link ends lead outside:
//!
//! - `kind = "tun"`: the far end is the Linux kernel, through a TUN device. IP packets the kernel
//!   routes into the device enter the simulated network wrapped in Ethernet; packets routed to the
//!   device leave it with the Ethernet header stripped. The bridge answers the node's ARP requests
//!   for the kernel side itself.
//! - `kind = "udp"`: the far end is another netlab process or a CS144 `endtoend`; every Ethernet
//!   frame travels as one UDP datagram (CS144 checkpoint 7). `remote = "learn"` takes the peer's
//!   address from the first datagram, as the CS144 relay does; empty datagrams are hellos.
//!
//! This is the only part of netlab that reads the OS clock: simulated time is the wall time elapsed
//! since the start of the run. Reader threads (one per bridge) feed a channel; the event loop (the
//! world's one driver, with `Live` as its clock) blocks on it until the next event is due. Nothing that arrives from
//! outside can panic netlab: what does not parse is counted (a `NodeDrop` of the bridge's stand-in
//! node `<bridge>-peer`, cause malformed or unsupported) and dropped.

pub mod netns;
mod tun;
mod udp;

use crate::net::fabric::Frame;
use crate::net::network::Network;
use crate::net::{LinkId, NetEvent, NodeDropCause};
use crate::scenario::{BridgeKind, Scenario};
use crate::sim::{Duration, Instant};
use crate::wire::{ArpOp, ArpRepr, EtherType, EthernetRepr, MacAddr};
use crate::world::Clock;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};

/// The longest the driver blocks at once, so that it notices Ctrl-C.
const MAX_WAIT: std::time::Duration = std::time::Duration::from_millis(250);
/// Inputs taken per `deliver` call, so that due events are not starved by a flood of packets.
const DELIVER_BATCH: usize = 256;

/// Something a reader thread received: the raw bytes and the bridge they came from.
pub(crate) struct Input {
    /// The bridge's index in the scenario's bridges.
    pub bridge: usize,
    /// A TUN bridge: one IP packet; a UDP bridge: one Ethernet frame.
    pub data: Vec<u8>,
    /// UDP: the datagram came from the configured remote address.
    pub from_peer: bool,
}

enum Port {
    Udp(udp::UdpPort),
    Tun(tun::TunPort),
    /// A namespace host's interface (layer 2: frames pass unchanged).
    Tap(netns::TapPort),
}

struct End {
    /// The bridge's or the interface's name.
    name: String,
    /// The link and the end of it that leads outside.
    link: LinkId,
    side: usize,
    /// The node at that end (a bridge's stand-in, a namespace host).
    outside_node: crate::net::NodeId,
    port: Port,
    /// The simulated node's interface on the bridge (its MAC and address).
    node_mac: MacAddr,
    node_ip: std::net::Ipv4Addr,
    /// The MAC of the far side's stand-in (TUN: the source of the frames we build).
    peer_mac: MacAddr,
    /// Frames the port could not send (e.g. the kernel refused a write).
    send_errors: u64,
    /// UDP: frames lost because no peer was known yet (learn mode, before the first datagram).
    no_peer: u64,
    /// UDP: empty datagrams (hellos) from the peer.
    hellos: u64,
    /// UDP learn mode: the peer last announced to the user.
    announced: Option<std::net::SocketAddr>,
}

/// The bridges of a live run and the wall clock: the `Clock` of a live `World::drive`.
pub struct Live {
    start: std::time::Instant,
    rx: Receiver<Input>,
    pending: Option<Input>,
    ends: Vec<End>,
    /// Tells the reader threads to stop.
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// Namespace hosts and their programs.
    namespaces: Option<netns::Namespaces>,
}

impl Live {
    /// Opens every bridge of `sc` (sockets, TUN devices) and creates its namespace hosts, and starts
    /// their reader threads. Programs in namespace hosts write their output into `out_dir`.
    pub fn open(sc: &Scenario, world: &crate::world::World, out_dir: &std::path::Path) -> Result<Live, String> {
        let (tx, rx): (SyncSender<Input>, Receiver<Input>) = sync_channel(4096);
        let stop = Arc::new(AtomicBool::new(false));
        let mut ends = Vec::new();
        let mut threads = Vec::new();
        let mut net = world.network();
        for (i, b) in sc.bridges.iter().enumerate() {
            let (n, ifx) = net.fab.links[b.link].ends[0];
            let (pn, pifx) = net.fab.links[b.link].ends[1];
            let node_ip = net.nodes[n].ifaces[ifx].addr;
            let mtu = net.fab.links[b.link].dirs[0].params.mtu;
            let port = match &b.kind {
                BridgeKind::Udp { local, remote } => {
                    let (port, t) = udp::UdpPort::open(i, *local, *remote, tx.clone(), stop.clone())
                        .map_err(|e| format!("bridge {}: {e}", b.name))?;
                    threads.push(t);
                    Port::Udp(port)
                }
                BridgeKind::Tun { device, kernel_routes, configure } => {
                    let peer = crate::net::Cidr { addr: b.peer, len: node_ip.len };
                    let cfg = tun::TunConfig {
                        device: device.clone(),
                        address: peer,
                        mtu,
                        kernel_routes: kernel_routes.clone(),
                        configure: *configure,
                    };
                    let (port, t) = tun::TunPort::open(i, &cfg, tx.clone(), stop.clone())
                        .map_err(|e| format!("bridge {}: {e}", b.name))?;
                    threads.push(t);
                    Port::Tun(port)
                }
            };
            ends.push(End {
                name: b.name.clone(),
                link: b.link,
                side: 1,
                outside_node: b.peer_node,
                port,
                node_mac: net.nodes[n].ifaces[ifx].mac,
                node_ip: node_ip.addr,
                peer_mac: net.nodes[pn].ifaces[pifx].mac,
                send_errors: 0,
                no_peer: 0,
                hellos: 0,
                announced: None,
            });
        }
        let namespaces = if sc.netns.is_empty() {
            None
        } else {
            let (ns, taps) = netns::Namespaces::open(sc, ends.len(), out_dir, &tx, &stop)?;
            for t in taps {
                let (n, ifx) = net.fab.links[t.link].ends[t.side];
                let (pn, pifx) = net.fab.links[t.link].ends[1 - t.side];
                threads.push(t.thread);
                ends.push(End {
                    name: t.name,
                    link: t.link,
                    side: t.side,
                    outside_node: t.node,
                    port: Port::Tap(t.port),
                    node_mac: net.nodes[pn].ifaces[pifx].mac,
                    node_ip: net.nodes[pn].ifaces[pifx].addr.addr,
                    peer_mac: net.nodes[n].ifaces[ifx].mac,
                    send_errors: 0,
                    no_peer: 0,
                    hellos: 0,
                    announced: None,
                });
            }
            Some(ns)
        };
        drop(tx);
        let start = std::time::Instant::now();
        // Captures show wall-clock time: the run's start plus simulated time.
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(0));
        for c in &mut net.fab.recorders {
            c.set_epoch_offset(epoch);
        }
        Ok(Live { start, rx, pending: None, ends, stop, threads, namespaces })
    }

    /// A line per bridge, for the user.
    pub fn describe(&self) -> Vec<String> {
        let hosts = self.namespaces.iter().flat_map(|n| n.describe().iter().cloned());
        self.ends
            .iter()
            .filter(|e| !matches!(e.port, Port::Tap(_)))
            .map(|e| match &e.port {
                Port::Udp(p) => {
                    let remote = match p.remote() {
                        Some(r) if !p.learns => r.to_string(),
                        _ => "learn (the first datagram's source)".to_string(),
                    };
                    format!("bridge {}: udp {} <-> {remote} ({} at {})", e.name, p.local, e.name, e.node_ip)
                }
                Port::Tun(p) => format!("bridge {}: {}", e.name, p.describe(e.node_ip)),
                Port::Tap(_) => String::new(),
            })
            .chain(hosts)
            .collect()
    }

    /// Stops the reader threads and closes sockets and devices (a TUN device netlab created is removed).
    pub fn close(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let mut notes = Vec::new();
        if let Some(ns) = &mut self.namespaces {
            notes.extend(ns.stop_programs());
        }
        let ends: Vec<End> = self.ends.drain(..).collect();
        for e in ends {
            if e.send_errors > 0 {
                notes.push(format!("{}: {} frames could not be sent out", e.name, e.send_errors));
            }
            if e.hellos > 0 {
                notes.push(format!("bridge {}: {} hellos (empty datagrams) from the peer", e.name, e.hellos));
            }
            if e.no_peer > 0 {
                notes.push(format!("bridge {}: {} frames lost before the peer was known", e.name, e.no_peer));
            }
            if let Port::Tun(p) = e.port {
                p.close();
            }
        }
        // The TAP devices are closed (dropped with their ends): now stop the programs and remove
        // the namespaces.
        if let Some(mut ns) = self.namespaces.take() {
            notes.extend(ns.close());
        }
        notes
    }

    fn take(&mut self, net: &mut Network, input: Input) {
        let Some(end) = self.ends.get_mut(input.bridge) else { return };
        let (link, side, peer_node) = (end.link, end.side, end.outside_node);
        let drop_it = |net: &mut Network, cause: NodeDropCause| {
            net.fab.trace(NetEvent::NodeDrop { node: peer_node, frame: 0, cause });
        };
        match &end.port {
            Port::Udp(p) => {
                if !input.from_peer {
                    return drop_it(net, NodeDropCause::Unsupported);
                }
                let peer = p.remote();
                if p.learns && peer != end.announced {
                    end.announced = peer;
                    eprintln!("netlab: bridge {}: peer is {}", end.name, peer.map_or("?".into(), |a| a.to_string()));
                }
                if input.data.is_empty() {
                    end.hellos += 1;
                    return;
                }
                match udp::check_frame(&input.data) {
                    Ok(()) => net.inject(link, 1, &input.data),
                    Err(cause) => drop_it(net, cause),
                }
            }
            Port::Tun(_) => {
                let data = &input.data;
                if let Err(cause) = tun::check_packet(data) {
                    return drop_it(net, cause);
                }
                let mut frame = Vec::with_capacity(EthernetRepr::HEADER_LEN + data.len());
                frame.resize(EthernetRepr::HEADER_LEN, 0);
                EthernetRepr { dst: end.node_mac, src: end.peer_mac, ethertype: EtherType::Ipv4 }.emit(&mut frame);
                frame.extend_from_slice(data);
                net.inject(link, 1, &frame);
            }
            Port::Tap(_) => match udp::check_frame(&input.data) {
                Ok(()) => {
                    if let Some(d) = tcp_datagram(&input.data) {
                        net.observe_outside(peer_node, true, d);
                    }
                    net.inject(link, side, &input.data)
                }
                Err(cause) => drop_it(net, cause),
            },
        }
    }
}

/// The IPv4 datagram of an Ethernet frame if it carries TCP (without Ethernet padding).
fn tcp_datagram(frame: &[u8]) -> Option<&[u8]> {
    let ip = frame.get(EthernetRepr::HEADER_LEN..)?;
    if frame.get(12..14)? != [0x08, 0x00] || *ip.get(9)? != 6 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    ip.get(..total)
}

impl Drop for Live {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Live {
    fn wall(&self) -> Instant {
        Instant::from_nanos(u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }
}

impl Clock for Live {
    fn now(&mut self, _next_event: Option<Instant>) -> Instant {
        self.wall()
    }

    fn stops_when_idle(&self) -> bool {
        false
    }

    /// After the applications are done, run on a little so that their last frames (a FIN, the
    /// final ACK) still cross the bridges.
    fn linger(&self) -> Duration {
        Duration::from_secs(2)
    }

    fn progress(&mut self, _now: Instant) {}

    fn wait(&mut self, deadline: Instant) {
        if self.pending.is_some() {
            return;
        }
        let now = self.wall();
        if deadline <= now {
            return;
        }
        let d = std::time::Duration::from_nanos((deadline - now).as_nanos()).min(MAX_WAIT);
        match self.rx.recv_timeout(d) {
            Ok(input) => self.pending = Some(input),
            Err(RecvTimeoutError::Timeout) => {}
            // Every reader has stopped (its socket or device failed): nothing more can come in.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(d),
        }
    }

    fn deliver(&mut self, net: &mut Network) -> usize {
        let mut n = 0;
        if let Some(ns) = &mut self.namespaces
            && ns.start_due()
        {
            n += 1;
        }
        if let Some(input) = self.pending.take() {
            self.take(net, input);
            n += 1;
        }
        while n < DELIVER_BATCH {
            match self.rx.try_recv() {
                Ok(input) => {
                    self.take(net, input);
                    n += 1;
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        n
    }

    fn output(&mut self, net: &mut Network, link: LinkId, side: usize, frame: Frame) {
        let Some(end) = self.ends.iter_mut().find(|e| e.link == link && e.side == side) else {
            net.fab.recycle(frame);
            return;
        };
        match &mut end.port {
            Port::Udp(p) => match p.send(&frame.data) {
                Ok(true) => {}
                Ok(false) => end.no_peer += 1,
                Err(_) => end.send_errors += 1,
            },
            Port::Tap(p) => {
                if let Some(d) = tcp_datagram(&frame.data) {
                    net.observe_outside(end.outside_node, false, d);
                }
                if p.send(&frame.data).is_err() {
                    end.send_errors += 1;
                }
            }
            Port::Tun(p) => {
                let Ok((eth, payload)) = EthernetRepr::parse(&frame.data) else {
                    net.fab.recycle(frame);
                    return;
                };
                match eth.ethertype {
                    EtherType::Arp => {
                        // The kernel side has no Ethernet: answer for every address but the node's own.
                        if let Ok(arp) = ArpRepr::parse(payload)
                            && arp.op == ArpOp::Request
                            && arp.target_ip != end.node_ip
                        {
                            let reply = ArpRepr {
                                op: ArpOp::Reply,
                                sender_mac: end.peer_mac,
                                sender_ip: arp.target_ip,
                                target_mac: arp.sender_mac,
                                target_ip: arp.sender_ip,
                            };
                            let mut buf = [0u8; EthernetRepr::HEADER_LEN + 46];
                            EthernetRepr { dst: arp.sender_mac, src: end.peer_mac, ethertype: EtherType::Arp }
                                .emit(&mut buf[..EthernetRepr::HEADER_LEN]);
                            reply.emit(&mut buf[EthernetRepr::HEADER_LEN..EthernetRepr::HEADER_LEN + ArpRepr::LEN]);
                            net.inject(link, 1, &buf);
                        }
                    }
                    EtherType::Ipv4 => {
                        // Strip the Ethernet header and any padding: the IP total length says how much.
                        let total = payload.get(2..4).map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
                        let len = if total >= 20 && total <= payload.len() { total } else { payload.len() };
                        if p.send(&payload[..len]).is_err() {
                            end.send_errors += 1;
                        }
                    }
                    EtherType::Other(_) => {}
                }
            }
        }
        net.fab.recycle(frame);
    }

    fn interrupted(&mut self) -> bool {
        crate::sys::signal::interrupted()
    }
}
