//! The run's events kept in memory, for expectations that look at single packets and times
//! ("4 ICMP packets left on lb", "the SYN was sent again at 1 s"). Kept only when asked
//! (`Tracer::set_keep_log`): the counters answer every other question without it. Each frame offered
//! to a link is decoded once into the fields packet rules match on, so link and node events, which
//! name frames by id only, can be matched too.

use crate::net::NetEvent;
use crate::net::rules::FrameInfo;
use crate::sim::Instant;
use crate::tcp::TcpEvent;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// A TCP flow: source address and port, destination address and port.
type FlowKey = (Ipv4Addr, u16, Ipv4Addr, u16);

/// A frame as it was offered to its first link: its decoded fields and its sequence number relative
/// to its flow's SYN (TCP only, once the SYN was seen).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LoggedFrame {
    /// The fields packet rules match on.
    pub info: FrameInfo,
    /// The relative sequence number (the SYN is 0), as packet rules count it.
    pub rel_seq: Option<u32>,
}

/// Every event of a run, in the order they happened, with the decoded frames they name.
#[derive(Default)]
pub struct EventLog {
    /// The events: network events as emitted, TCP events as `NetEvent::Tcp`.
    pub events: Vec<(Instant, NetEvent)>,
    frames: BTreeMap<u64, LoggedFrame>,
    isn: BTreeMap<FlowKey, u32>,
}

impl EventLog {
    /// Records one network event (a duplicate's copy inherits the original's decoded frame).
    pub fn push(&mut self, t: Instant, ev: &NetEvent) {
        if let NetEvent::LinkDuplicate { frame, copy, .. } = ev
            && let Some(f) = self.frames.get(frame).copied()
        {
            self.frames.insert(*copy, f);
        }
        self.events.push((t, ev.clone()));
    }

    /// Records one TCP event of `node`.
    pub fn push_tcp(&mut self, node: usize, ev: &TcpEvent) {
        let kind = NetEvent::Tcp { node, frame: None, event: Box::new(ev.clone()) };
        self.events.push((ev.time, kind));
    }

    /// Decodes a frame offered to a link. A frame forwarded by a router is a new frame with its own
    /// id, so the first offer of an id is the one that counts.
    pub fn frame_offered(&mut self, id: u64, data: &[u8]) {
        if self.frames.contains_key(&id) {
            return;
        }
        let info = FrameInfo::of(data);
        let flow = match (info.src, info.dst) {
            (Some(s), Some(d)) if info.proto == Some(crate::net::rules::MatchProto::Tcp) => {
                Some((s, info.src_port, d, info.dst_port))
            }
            _ => None,
        };
        if let Some(k) = flow
            && info.flags.syn()
        {
            self.isn.insert(k, info.seq);
        }
        let rel_seq = flow.and_then(|k| self.isn.get(&k)).map(|isn| info.seq.wrapping_sub(*isn));
        self.frames.insert(id, LoggedFrame { info, rel_seq });
    }

    /// The decoded frame with this id (`None` for id 0, frames never offered to a link, e.g. a
    /// forged RST, and frames of a run that did not keep the log from the start).
    pub(crate) fn frame(&self, id: u64) -> Option<&LoggedFrame> {
        self.frames.get(&id)
    }
}
