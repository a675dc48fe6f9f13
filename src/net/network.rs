//! The network as one value: its nodes and the fabric that joins them, and the handling of one
//! event at a time. The simulated and the real-time drivers (`world::driver`) both run events
//! through `Network::dispatch`.

use super::event::NetEvent;
use super::fabric::{Event, Fabric, Frame, arrival_lane, lane_link, prefetch, prefetch_value, prefetch_whole};
use super::faults::TimedFault;
use super::ids::{Dir, LinkId, NodeId};
use super::node::Node;
use crate::sim::Instant;

/// The bytes of a frame a router reads to forward it: Ethernet, IPv4 and the first bytes of TCP.
const ROUTER_READS: usize = 128;

/// What the network is: nodes, and the fabric (links, queue, tracer, captures).
pub(crate) struct Network {
    pub(crate) nodes: Vec<Node>,
    pub(crate) fab: Fabric,
    dirty: Vec<NodeId>,
    is_dirty: Vec<bool>,
    pub(crate) faults: Vec<TimedFault>,
    /// The first failure of a stack under test (a crashed or hung external process), which stops
    /// the run.
    pub(crate) stack_failure: Option<String>,
    /// The node that frames of each arrival lane arrive at (by lane; see `fabric::arrival_lane`):
    /// a few bytes per link, so that the next event's node can be prefetched without first
    /// loading its link.
    lane_receiver: Vec<u32>,
}

/// From this many nodes on, a world's state is taken to be larger than the caches (`Fabric::
/// prefetch_state`). Chosen between measured worlds: the engine bench (118 nodes, pings) ran 1%
/// slower with the hints, a dumbbell of 100 flows (202 nodes) the same, one of 1000 flows (2002
/// nodes) 7% faster; a line of three is all in a cache.
const PREFETCH_MIN_NODES: usize = 512;

impl Network {
    /// A network of `nodes` joined by `fab`, with the timed faults `faults` (already scheduled).
    pub(crate) fn new(nodes: Vec<Node>, mut fab: Fabric, faults: Vec<TimedFault>) -> Network {
        let n = nodes.len();
        fab.prefetch_state = n >= PREFETCH_MIN_NODES;
        let mut lane_receiver = vec![u32::MAX; fab.links.len() * 2];
        for (id, link) in fab.links.iter().enumerate() {
            for dir in [Dir::AtoB, Dir::BtoA] {
                let node = link.ends[dir.receiver_side()].0;
                lane_receiver[arrival_lane(id, dir)] = u32::try_from(node).unwrap_or(u32::MAX);
            }
        }
        Network { nodes, fab, dirty: Vec::new(), is_dirty: vec![false; n], faults, stack_failure: None, lane_receiver }
    }

    /// Notes that a node may have output or new deadlines to process after the current step.
    pub fn touch(&mut self, node: NodeId) {
        if !self.is_dirty[node] {
            self.is_dirty[node] = true;
            self.dirty.push(node);
        }
    }

    /// Lets every touched node send what it has and schedule its next timer.
    pub fn flush(&mut self) {
        // Indexing by position: flushing a node never touches another node directly.
        let mut i = 0;
        while i < self.dirty.len() {
            let id = self.dirty[i];
            self.is_dirty[id] = false;
            let node = &mut self.nodes[id];
            node.flush_tcp(&mut self.fab);
            node.reschedule(&mut self.fab);
            if node.foreign.is_some() && self.stack_failure.is_none() {
                self.stack_failure = node.stack_failure();
            }
            i += 1;
        }
        self.dirty.clear();
    }

    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Executes one event at time `t` (the simulated and the real-time loop share this). A frame
    /// arriving at a link end that leads outside the process goes to `outside` (live bridges).
    pub(crate) fn dispatch(
        &mut self,
        t: Instant,
        ev: Event,
        outside: &mut dyn FnMut(&mut Network, LinkId, usize, Frame),
    ) {
        match ev {
            Event::Arrive { link, dir, frame } => {
                let side = dir.receiver_side();
                let (node, ifx) = self.fab.links[link].ends[side];
                if let Some(Event::Arrive { frame: next, .. }) = self.fab.queue.lane_front(arrival_lane(link, dir)) {
                    // The next frame of this lane goes to the same node: a router reads only its
                    // headers, a host all of it.
                    let reads =
                        if self.nodes[node].forwarding { next.data.len().min(ROUTER_READS) } else { next.data.len() };
                    prefetch(&next.data[..reads]);
                }
                // And the ends of the link the next lane's frame arrives over, and the node it
                // arrives at: with thousands of links and nodes, rarely still in a cache.
                if let Some(lane) = self.fab.queue.next_lane() {
                    if let Some(l) = self.fab.links.get(lane_link(lane)) {
                        prefetch_value(&l.ends);
                    }
                    if let Some(&n) = self.lane_receiver.get(lane)
                        && let Some(node) = self.nodes.get(n as usize)
                    {
                        prefetch_whole(node);
                        // And the counters its TCP events will update.
                        if self.fab.prefetch_state {
                            self.fab.sink.prefetch_node(n as usize);
                        }
                    }
                }
                let len = frame.data.len();
                self.fab.trace(NetEvent::LinkDeliver { link, dir, frame: frame.id, len });
                if let Some(c) = self.nodes[node].ifaces[ifx].capture {
                    self.fab.recorders[c].record_frame(t, t, frame.id, false, &frame.data);
                }
                if self.fab.is_external(link, side) {
                    outside(self, link, side, frame);
                } else {
                    self.nodes[node].receive(&mut self.fab, ifx, frame);
                    self.touch(node);
                }
            }
            Event::NodeTimer { node } => {
                if self.nodes[node].timer_at == t {
                    self.nodes[node].timer_at = Instant::MAX;
                    self.nodes[node].on_timer(&mut self.fab);
                    self.touch(node);
                }
            }
            Event::Wake(w) => w.wake(),
            Event::Fault(i) => self.apply_fault(i),
            Event::Release { link, dir, frame } => self.fab.release(link, dir, frame),
        }
    }
}

#[cfg(feature = "live")]
impl Network {
    /// Puts `data` on `link` from its end `side` (an external end) at the current time: the link's
    /// impairments apply, then it arrives at the other end like any frame.
    pub fn inject(&mut self, link: LinkId, side: usize, data: &[u8]) {
        let (n, ifx) = self.fab.links[link].ends[side];
        let capture = self.nodes[n].ifaces[ifx].capture;
        let mut frame = self.fab.new_frame();
        frame.data.extend_from_slice(data);
        self.fab.transmit(link, side, capture, frame);
    }

    /// The passive connection tracker of `node` sees a TCP datagram its real counterpart outside
    /// the process (a namespace host's kernel) sent (`sent`) or was sent.
    pub(crate) fn observe_outside(&mut self, node: NodeId, sent: bool, datagram: &[u8]) {
        self.nodes[node].observe_outside(&mut self.fab, sent, datagram);
    }
}
