//! What annotated (pcapng) captures say about each frame: its fate, gathered from the network's
//! events. A frame's comments describe the whole journey of the packet (netlab's frame id follows
//! it through every hop): "dropped by loss on l2 a->b", "corrupted on l1 a->b (bit 812)",
//! "reordered on l2 a->b", "retransmission (rto)", "discarded by r1: ttl_expired"; a duplicate
//! says which frame of the same file it repeats ("duplicate of #17").
//!
//! A capture records a frame before its fate is known (the link decides after the sender's capture
//! saw it; TCP names a retransmission's reason after the segment went out; a later hop may lose it).
//! So an annotated capture holds each record back until its frame is *settled*: its journey ended
//! (dropped, or delivered somewhere that did not forward it) at an instant that has passed, so
//! every event of that instant (TCP's among them) is in. [`NotingSink`] sits in front of the
//! tracer and hands every event to the shared [`Annotator`]; the captures ask it when a frame is
//! settled and what to say about it.

use crate::net::{EventSink, LinkDropCause, NetEvent, NodeDropCause, NodeId};
use crate::sim::Instant;
use crate::tcp::{RetransmitReason, TcpEvent, TcpEventKind};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// What is known about one frame that a capture recorded (or that something was said about).
#[derive(Default)]
struct Entry {
    notes: Vec<String>,
    /// Captures holding a record of it that is not written yet.
    holders: u32,
    /// When its journey ended.
    closed_at: Option<Instant>,
    /// Delivered at this instant: the journey ends there unless the node forwards it at once.
    delivered_at: Option<Instant>,
    /// The other frame of a duplicate pair, and where the copy was made ("l1 a->b").
    partner: Option<(u64, Rc<str>)>,
}

/// What a capture writes about a frame.
pub struct Said {
    /// The comments.
    pub notes: Vec<String>,
    /// The other frame of a duplicate pair, and where the copy was made.
    pub partner: Option<(u64, Rc<str>)>,
}

/// The fates of frames, from the network's events (one per world, shared by its annotated captures).
#[derive(Default)]
pub struct Annotator {
    link_names: Vec<String>,
    node_names: Vec<String>,
    entries: BTreeMap<u64, Entry>,
    /// Frames delivered at some instant, to close when it has passed unless forwarded.
    delivered: Vec<u64>,
    /// Closed frames, to forget once settled and written everywhere.
    closed: Vec<u64>,
    /// The latest instant seen.
    now: Instant,
    /// A retransmission announced by a stack, waiting for its `segment_sent` (node, socket).
    retransmit: BTreeMap<(NodeId, u32), RetransmitReason>,
}

/// The shared annotator.
pub type SharedAnnotator = Rc<RefCell<Annotator>>;

/// The longest an annotated capture holds records back (frames): beyond it, the oldest record is
/// written with what is known of it, so a frame that never settles cannot hold a file back forever.
pub const MAX_HELD: usize = 1 << 16;

impl Annotator {
    /// Names links and nodes in comments by these names (indexed by their ids).
    pub fn set_names(&mut self, link_names: Vec<String>, node_names: Vec<String>) {
        self.link_names = link_names;
        self.node_names = node_names;
    }

    fn note(&mut self, frame: u64, text: String) {
        self.entries.entry(frame).or_default().notes.push(text);
    }

    fn close(&mut self, frame: u64, t: Instant) {
        if let Some(e) = self.entries.get_mut(&frame)
            && e.closed_at.is_none()
        {
            e.closed_at = Some(t);
            self.closed.push(frame);
        }
    }

    fn place(&self, link: usize, dir: crate::net::Dir) -> String {
        format!("{} {}", self.link_names.get(link).map_or("?", String::as_str), dir.as_str())
    }

    /// Moves the clock to `now`: frames delivered at an earlier instant and not forwarded then
    /// have ended their journey; frames settled and written everywhere are forgotten.
    pub fn advance(&mut self, now: Instant) {
        if now <= self.now {
            return;
        }
        self.now = now;
        let mut later = Vec::new();
        for f in std::mem::take(&mut self.delivered) {
            let Some(e) = self.entries.get_mut(&f) else { continue };
            match e.delivered_at {
                // Not forwarded during the instant it arrived: that was the end of its journey.
                Some(t) if t < now => {
                    e.delivered_at = None;
                    if e.closed_at.is_none() {
                        e.closed_at = Some(t);
                        self.closed.push(f);
                    }
                }
                Some(_) => later.push(f),
                None => {}
            }
        }
        self.delivered = later;
        let entries = &mut self.entries;
        self.closed.retain(|f| match entries.get(f) {
            Some(e) if e.holders == 0 && e.closed_at.is_some_and(|t| t < now) => {
                entries.remove(f);
                false
            }
            Some(_) => true,
            None => false,
        });
    }

    /// A capture recorded `frame` at `now`, as sent (`outbound`) or as arrived.
    pub fn recorded(&mut self, frame: u64, now: Instant, outbound: bool) {
        self.advance(now);
        let e = self.entries.entry(frame).or_default();
        e.holders += 1;
        if !outbound && e.closed_at.is_none() && e.delivered_at.is_none() {
            e.delivered_at = Some(now);
            self.delivered.push(frame);
        }
    }

    /// Whether everything that will be said about `frame` is known at `now`.
    pub fn settled(&self, frame: u64, now: Instant) -> bool {
        self.entries.get(&frame).is_none_or(|e| e.closed_at.is_some_and(|t| t < now))
    }

    /// What to write about `frame` (one of its holders writes it now).
    pub fn take(&mut self, frame: u64) -> Said {
        let Some(e) = self.entries.get_mut(&frame) else {
            return Said { notes: Vec::new(), partner: None };
        };
        e.holders = e.holders.saturating_sub(1);
        let said = Said { notes: e.notes.clone(), partner: e.partner.clone() };
        if e.holders == 0 && e.closed_at.is_some_and(|t| t < self.now) {
            self.entries.remove(&frame);
        }
        said
    }

    /// Takes note of one network event at `t`.
    pub fn observe(&mut self, t: Instant, ev: &NetEvent) {
        self.advance(t);
        match *ev {
            NetEvent::LinkTx { frame, .. } => {
                if let Some(e) = self.entries.get_mut(&frame) {
                    e.delivered_at = None; // forwarded: the journey goes on
                }
            }
            NetEvent::LinkDeliver { frame, .. } => {
                if let Some(e) = self.entries.get_mut(&frame)
                    && e.closed_at.is_none()
                {
                    e.delivered_at = Some(t);
                    self.delivered.push(frame);
                }
            }
            NetEvent::LinkDrop { link, dir, frame, cause, .. } => {
                let text = format!("dropped by {} on {}", drop_cause(cause), self.place(link, dir));
                self.note(frame, text);
                self.close(frame, t);
            }
            NetEvent::NodeDrop { node, frame, cause } if frame != 0 => {
                let name = self.node_names.get(node).map_or("?", String::as_str);
                let text = format!("discarded by {name}: {}", node_drop_cause(cause));
                self.note(frame, text);
                self.close(frame, t);
            }
            NetEvent::LinkDuplicate { link, dir, frame, copy } => {
                let place: Rc<str> = self.place(link, dir).into();
                self.entries.entry(frame).or_default().partner = Some((copy, place.clone()));
                self.entries.entry(copy).or_default().partner = Some((frame, place));
            }
            NetEvent::LinkCorrupt { link, dir, frame, bit } => {
                let text = format!("corrupted on {} (bit {bit})", self.place(link, dir));
                self.note(frame, text);
            }
            NetEvent::LinkReorder { link, dir, frame } => {
                let text = format!("reordered on {} (held back)", self.place(link, dir));
                self.note(frame, text);
            }
            NetEvent::Tcp { node, frame, ref event } => self.observe_tcp(node, event, frame),
            _ => {}
        }
    }

    /// Takes note of one TCP event of `node` (`frame`: the frame a sent segment became).
    pub fn observe_tcp(&mut self, node: NodeId, ev: &TcpEvent, frame: Option<u64>) {
        self.advance(ev.time);
        match ev.kind {
            TcpEventKind::Retransmit { reason, .. } => {
                self.retransmit.insert((node, ev.socket.0), reason);
            }
            TcpEventKind::SegmentSent(_) => {
                if let Some(reason) = self.retransmit.remove(&(node, ev.socket.0))
                    && let Some(f) = frame
                {
                    self.note(f, format!("retransmission ({})", retransmit_reason(reason)));
                }
            }
            _ => {}
        }
    }
}

fn drop_cause(c: LinkDropCause) -> &'static str {
    match c {
        LinkDropCause::Queue => "a full queue",
        LinkDropCause::Loss => "loss",
        LinkDropCause::Down => "the link being down",
        LinkDropCause::Mtu => "the MTU",
        LinkDropCause::Fault => "a fault rule",
    }
}

fn node_drop_cause(c: NodeDropCause) -> String {
    // The trace's own names (snake_case) say it best.
    serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn retransmit_reason(r: RetransmitReason) -> &'static str {
    match r {
        RetransmitReason::Rto => "rto",
        RetransmitReason::FastRetransmit => "fast",
        RetransmitReason::Sack => "sack",
        RetransmitReason::Probe => "zero-window probe",
        RetransmitReason::LossProbe => "tlp",
        RetransmitReason::SynReply => "syn-ack again",
        RetransmitReason::Observed => "seen on the wire",
    }
}

/// The event sink in front of the tracer when captures are annotated: every event goes to the
/// annotator, then on to the tracer.
pub struct NotingSink {
    /// The sink behind (the tracer).
    pub inner: Box<dyn EventSink>,
    /// The annotator the captures share.
    pub notes: SharedAnnotator,
}

impl EventSink for NotingSink {
    fn emit(&mut self, t: Instant, event: NetEvent) {
        self.notes.borrow_mut().observe(t, &event);
        self.inner.emit(t, event);
    }
    fn emit_tcp(&mut self, node: NodeId, event: TcpEvent, frame: Option<u64>) {
        self.notes.borrow_mut().observe_tcp(node, &event, frame);
        self.inner.emit_tcp(node, event, frame);
    }
    fn count_skipped_tcp(&mut self, node: NodeId, n: u64) {
        self.inner.count_skipped_tcp(node, n);
    }
    fn writes(&self) -> bool {
        self.inner.writes()
    }
    fn finish(&mut self) -> Result<(), String> {
        self.inner.finish()
    }
    fn observed(&mut self, node: NodeId, socket: crate::tcp::SocketId) {
        self.inner.observed(node, socket);
    }
    fn prefetch_node(&self, node: NodeId) {
        self.inner.prefetch_node(node);
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self.inner.as_any()
    }
}
