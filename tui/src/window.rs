//! The events around the cursor of a streamed run (`stream::Streamed`): the checkpoint block the
//! cursor is in and the one before it, turned into a small timeline of their own, so that the
//! panels that list single events (segments, timers, frame marks, event log) have them. Nothing
//! before the window is known to it: a timer armed before it is not listed, a segment before it
//! is not in the segment list.

use crate::{ConnView, Timeline};
use netlab::trace::read::{ConnId, Topology};

/// Blocks before the cursor's block that the window also holds.
const BLOCKS_BEFORE: usize = 1;

/// A stretch of a streamed run, with its events' numbers in the whole run.
#[derive(Debug, Clone)]
pub struct Window {
    /// The first event it holds.
    pub lo: usize,
    /// The event after the last it holds.
    pub hi: usize,
    /// Its events as a timeline, every event number counted from the start of the run.
    pub tl: Timeline,
    /// What a connection with no event in the window has: nothing.
    empty: ConnView,
}

impl Window {
    /// The window for cursor `cursor` of the streamed timeline `full`, or None if `full` is
    /// loaded whole.
    pub fn around(full: &Timeline, cursor: usize) -> Option<Window> {
        let s = full.stream.as_ref()?;
        let b = s.block_of(cursor.min(s.len().saturating_sub(1)));
        let lo = s.block_start(b.saturating_sub(BLOCKS_BEFORE));
        let hi = s.block_start(b + 1);
        let events: Vec<_> = s.range(lo, hi).into_iter().map(|(_, e)| e).collect();
        let tl = Timeline::new_at(events, Topology::default(), lo);
        let id = ConnId { node: 0, socket: 0, host: String::new(), local: String::new(), remote: String::new() };
        let empty = ConnView::empty(id);
        Some(Window { lo, hi, tl, empty })
    }

    /// Whether the window serves cursor `cursor` (it holds the cursor's block and the one before).
    pub fn serves(&self, full: &Timeline, cursor: usize) -> bool {
        full.stream.as_ref().is_some_and(|s| {
            let b = s.block_of(cursor.min(s.len().saturating_sub(1)));
            s.block_start(b.saturating_sub(BLOCKS_BEFORE)) == self.lo && s.block_start(b + 1) == self.hi
        })
    }

    /// The window's view of connection `c` (same node and socket): its segments and timers there.
    pub fn conn(&self, c: &ConnView) -> &ConnView {
        self.tl.conns.iter().find(|w| w.id.node == c.id.node && w.id.socket == c.id.socket).unwrap_or(&self.empty)
    }
}
