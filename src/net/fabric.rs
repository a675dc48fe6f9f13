//! The fabric: the event queue, the links, the tracer, the captures and the frame pool. Nodes hand it
//! frames to put on a link; it decides each frame's fate and schedules its arrival.

use super::event::{EventSink, FrameRecorder, LinkDropCause, NetEvent};
use super::frame_pool::FramePool;
use super::ids::{Dir, LinkId, NodeId};
use super::link::{Fate, Link};
use super::rules::{PacketAction, Rules};
use crate::sim::Duration;
use crate::sim::{EventQueue, Instant};
use std::collections::BTreeMap;
use std::task::Waker;

/// A frame in flight. `id` follows the frame through every hop (it is the same packet), so trace
/// events of one packet can be correlated; a duplicate gets a new id.
#[derive(Debug)]
pub struct Frame {
    pub id: u64,
    pub data: Vec<u8>,
    /// The prefix of the route a router forwards it by (named by the `link_tx` event of the hop).
    pub route: Option<super::addr::Cidr>,
    /// The TCP segment in it carries a checksum known to be right: netlab's own stack computed it
    /// over these very bytes, and no impairment or rule has changed a bit of the frame since. The
    /// receiving host need not read the whole segment once more to verify it. Any frame that is
    /// not known so (copies, forged segments, frames from outside or from a stack under test) is
    /// verified as usual.
    pub tcp_checksum_known: bool,
}

/// What the engine can be asked to do at a point in simulated time.
pub enum Event {
    /// A frame reaches the far end of a link.
    Arrive { link: LinkId, dir: Dir, frame: Frame },
    /// A node's earliest timer (TCP, ARP) is due.
    NodeTimer { node: NodeId },
    /// An application task's sleep is over.
    Wake(Waker),
    /// A timed fault from the scenario.
    Fault(usize),
    /// A frame held back by a reorder rule is released because no later frame came to pass it.
    Release { link: LinkId, dir: Dir, frame: u64 },
}

/// The event-queue lane of frames arriving over `link` in direction `dir`.
pub fn arrival_lane(link: LinkId, dir: Dir) -> usize {
    link * 2 + dir as usize
}

/// The link whose arrivals `lane` holds (the inverse of [`arrival_lane`]).
pub fn lane_link(lane: usize) -> LinkId {
    lane / 2
}

pub(crate) use crate::sys::{prefetch, prefetch_value, prefetch_whole};

pub struct Fabric {
    pub now: Instant,
    pub queue: EventQueue<Event>,
    pub links: Vec<Link>,
    pub sink: Box<dyn EventSink>,
    pub recorders: Vec<Box<dyn FrameRecorder>>,
    /// Free frame buffers (see `FramePool`).
    pool: FramePool,
    next_frame_id: u64,
    pub rules: Rules,
    /// Whether the world is large enough for its per-node and per-link state to fall out of the
    /// caches between two visits (set by `Network::new`): only then are the loads of what the next
    /// steps read started early (in a small world they are in a cache already, and the hints only
    /// cost instructions).
    pub(crate) prefetch_state: bool,
    /// Frames held back by a reorder rule, per (link, direction), waiting for the next frame to pass.
    held: BTreeMap<(LinkId, Dir), Frame>,
    /// Live bridges: (link, side) ends whose far side is outside the process (a TUN device, a UDP
    /// tunnel). Only the real-time driver looks at it; frames arriving there go to the bridge.
    pub external: Vec<(LinkId, usize)>,
}

/// Frames are at most this large (Ethernet header + the largest MTU we allow).
#[cfg(feature = "live")]
pub const MAX_FRAME: usize = 14 + 65535;

impl Fabric {
    pub fn new(links: Vec<Link>, sink: Box<dyn EventSink>) -> Fabric {
        Fabric {
            now: Instant::ZERO,
            queue: EventQueue::with_capacity(1024),
            links,
            sink,
            recorders: Vec::new(),
            pool: FramePool::default(),
            next_frame_id: 0,
            rules: Rules::default(),
            prefetch_state: false,
            held: BTreeMap::new(),
            external: Vec::new(),
        }
    }

    /// A new, empty frame, reusing a buffer from the pool when there is one: the steady state of a
    /// run allocates no frame buffers.
    pub fn new_frame(&mut self) -> Frame {
        let mut data = self.pool.take(0);
        data.clear();
        self.frame_with(data)
    }

    /// A new frame of `len` bytes for a caller that writes every one of them (a TCP segment's
    /// headers and payload): a recycled buffer's old bytes are left in place instead of being
    /// cleared first; only bytes beyond its old length are zeroed.
    pub fn new_frame_overwritten(&mut self, len: usize) -> Frame {
        let mut data = self.pool.take(len);
        data.resize(len, 0);
        self.frame_with(data)
    }

    fn frame_with(&mut self, data: Vec<u8>) -> Frame {
        self.next_frame_id += 1;
        Frame { id: self.next_frame_id, data, route: None, tcp_checksum_known: false }
    }

    /// Returns a frame's buffer to the pool.
    pub fn recycle(&mut self, frame: Frame) {
        self.pool.give(frame.data);
    }

    pub fn trace(&mut self, kind: NetEvent) {
        self.sink.emit(self.now, kind);
    }

    /// Starts loading what `transmit` on link `link` from end `side` reads: the direction's
    /// parameters and queue state, and the queue lane its arrivals go to. A router calls it as soon
    /// as its route lookup names the outgoing link, so that these loads overlap each other and the
    /// rest of the forwarding work instead of stalling one after another (with thousands of access
    /// links, none of them is in a cache).
    pub fn prefetch_transmit(&self, link: LinkId, side: usize) {
        if !self.prefetch_state {
            return;
        }
        let dir = Dir::from_sender_side(side);
        if let Some(l) = self.links.get(link) {
            l.dirs[dir.index()].prefetch_hot();
        }
        self.queue.prefetch_lane(arrival_lane(link, dir));
    }

    /// Offers `frame` to link `link` from end `side` (0 = a, 1 = b); `capture` is the sending
    /// interface's capture, if any.
    pub fn transmit(&mut self, link: LinkId, side: usize, capture: Option<usize>, mut frame: Frame) {
        let now = self.now;
        let dir = Dir::from_sender_side(side);
        let len = frame.data.len();
        if self.sink.wants_frames() {
            self.sink.frame_offered(frame.id, &frame.data);
        }
        let fate = self.links[link].dirs[dir.index()].offer(now, len);
        match fate {
            Fate::Rejected(cause) => {
                self.sink.emit(now, NetEvent::LinkDrop { link, dir, frame: frame.id, len, cause });
                self.recycle(frame);
            }
            Fate::Sent { tx_start, arrival, duplicate_arrival, corrupt_bit, reordered } => {
                if let Some(c) = capture {
                    self.recorders[c].record_frame(now, tx_start, frame.id, true, &frame.data);
                }
                let queued_ns = (tx_start - now).as_nanos();
                let route = frame.route.take();
                self.sink.emit(now, NetEvent::LinkTx { link, dir, frame: frame.id, len, queued_ns, route });
                // Packet-matching fault rules (only on links that have some).
                let mut rule_drop = false;
                let mut rule_delay = Duration::ZERO;
                let mut rule_dups: Vec<Duration> = Vec::new();
                let mut rule_hold = None;
                let mut rule_corrupt = None;
                let mut rule_forge = None;
                if self.rules.watches(link) {
                    let (info, acts) = self.rules.apply(now, link, dir, &frame.data);
                    for (index, act) in acts {
                        let what =
                            format!("{act:?} frame {} on link {} {}", frame.id, self.links[link].name, dir.as_str());
                        self.sink.emit(now, NetEvent::Fault { index, what });
                        match act {
                            PacketAction::Drop => rule_drop = true,
                            PacketAction::Delay(d) => rule_delay += d,
                            PacketAction::Duplicate(d) => rule_dups.push(d),
                            PacketAction::Reorder(max) => rule_hold = Some(max),
                            PacketAction::ForgeRst(offset) => rule_forge = Some(offset),
                            PacketAction::Corrupt => {
                                let end = if info.ip_end > 0 { info.ip_end } else { frame.data.len() };
                                rule_corrupt = Some((end.max(1) - 1) * 8);
                            }
                        }
                    }
                }
                let Some(at) = arrival else {
                    let cause = LinkDropCause::Loss;
                    self.sink.emit(now, NetEvent::LinkDrop { link, dir, frame: frame.id, len, cause });
                    self.recycle(frame);
                    return;
                };
                if rule_drop {
                    let cause = LinkDropCause::Fault;
                    self.sink.emit(now, NetEvent::LinkDrop { link, dir, frame: frame.id, len, cause });
                    self.recycle(frame);
                    return;
                }
                let at = at + rule_delay;
                if let Some(dup_at) = duplicate_arrival {
                    let mut copy = self.new_frame();
                    copy.data.extend_from_slice(&frame.data);
                    self.sink.emit(now, NetEvent::LinkDuplicate { link, dir, frame: frame.id, copy: copy.id });
                    self.queue.push(dup_at + rule_delay, Event::Arrive { link, dir, frame: copy });
                }
                if let Some(bit) = corrupt_bit {
                    frame.data[bit / 8] ^= 1 << (bit % 8);
                    frame.tcp_checksum_known = false;
                    self.sink.emit(now, NetEvent::LinkCorrupt { link, dir, frame: frame.id, bit });
                }
                for d in rule_dups {
                    let mut copy = self.new_frame();
                    copy.data.extend_from_slice(&frame.data);
                    self.sink.emit(now, NetEvent::LinkDuplicate { link, dir, frame: frame.id, copy: copy.id });
                    self.queue.push(at + d, Event::Arrive { link, dir, frame: copy });
                }
                if let Some(bit) = rule_corrupt {
                    frame.data[bit / 8] ^= 1;
                    frame.tcp_checksum_known = false;
                    self.sink.emit(now, NetEvent::LinkCorrupt { link, dir, frame: frame.id, bit });
                }
                if reordered {
                    self.sink.emit(now, NetEvent::LinkReorder { link, dir, frame: frame.id });
                }
                if let Some(offset) = rule_forge
                    && let Some(forged) = self.forge_rst(&frame, offset)
                {
                    // One nanosecond after the segment it imitates.
                    self.queue.push(at + Duration::from_nanos(1), Event::Arrive { link, dir, frame: forged });
                }
                if let Some(max_hold) = rule_hold
                    && !self.held.contains_key(&(link, dir))
                {
                    // Held until the next frame in this direction arrives (or `max_hold` passes).
                    self.sink.emit(now, NetEvent::LinkReorder { link, dir, frame: frame.id });
                    self.queue.push(at + max_hold, Event::Release { link, dir, frame: frame.id });
                    self.held.insert((link, dir), frame);
                    return;
                }
                // Frames leave a link end in order, so their arrivals mostly stay in order too.
                let lane = arrival_lane(link, dir);
                self.queue.push_in_lane(lane, at, Event::Arrive { link, dir, frame });
                // A held frame follows the first frame that passed it.
                if let Some(held) = self.held.remove(&(link, dir)) {
                    self.queue.push_in_lane(lane, at, Event::Arrive { link, dir, frame: held });
                }
            }
        }
    }
}

impl Fabric {
    /// Live bridges: is end `side` of `link` outside the process?
    pub fn is_external(&self, link: LinkId, side: usize) -> bool {
        !self.external.is_empty() && self.external.contains(&(link, side))
    }
}

impl Fabric {
    /// A held frame's time is up: deliver it now.
    pub fn release(&mut self, link: LinkId, dir: Dir, frame_id: u64) {
        if self.held.get(&(link, dir)).is_some_and(|f| f.id == frame_id)
            && let Some(f) = self.held.remove(&(link, dir))
        {
            self.queue.push(self.now, Event::Arrive { link, dir, frame: f });
        }
    }
}

impl Fabric {
    /// A RST imitating the TCP segment in `frame` (same addresses and ports), sequence number
    /// `seq + offset`, with valid checksums.
    fn forge_rst(&mut self, frame: &Frame, offset: u32) -> Option<Frame> {
        use crate::wire::{EthernetRepr, IpProtocol, Ipv4Repr, TcpRepr};
        let (eth, l3) = EthernetRepr::parse(&frame.data).ok()?;
        let (ip, l4) = Ipv4Repr::parse(l3).ok()?;
        if ip.protocol != IpProtocol::Tcp {
            return None;
        }
        let seg = TcpRepr::parse(l4, ip.src, ip.dst).ok()?;
        let rst = TcpRepr::rst(seg.src_port, seg.dst_port, seg.seq.wrapping_add(offset));
        let ip = Ipv4Repr { payload_len: rst.buffer_len(), ident: ip.ident.wrapping_add(0x8000), ..ip };
        let mut f = self.new_frame();
        let (l2, l3len) = (EthernetRepr::HEADER_LEN, Ipv4Repr::HEADER_LEN);
        f.data.resize(l2 + l3len + rst.buffer_len(), 0);
        eth.emit(&mut f.data[..l2]);
        ip.emit(&mut f.data[l2..l2 + l3len]);
        rst.emit(&mut f.data[l2 + l3len..], ip.src, ip.dst);
        Some(f)
    }
}
