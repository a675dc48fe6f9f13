//! A big run's trace, read by its index instead of whole: the events are read a checkpoint block
//! (4096 events) at a time when the cursor needs them, and kept in a small cache; what the panels
//! show over the whole run (connections' states, windows, RTTs, retransmissions, byte and link
//! counters) comes from the index (`netlab::trace::binary::{conn_index, link_index}`).

use crate::ConnView;
use netlab::trace::binary::index::Index;
use netlab::trace::binary::link_index::{Counts, LinkCounts};
use netlab::trace::binary::{conn_index, link_index};
use netlab::trace::read::{ConnId, Topology, TraceLine};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

/// Decoded blocks kept in memory.
const CACHE_BLOCKS: usize = 8;

/// A binary trace opened by its index.
#[derive(Debug)]
pub struct Streamed {
    index: Index,
    links: LinkCounts,
    /// The connections the index describes, in the order they were first named.
    pub conns: Vec<conn_index::ConnRecord>,
    /// Recently read blocks, most recent last.
    cache: RefCell<Vec<(usize, Rc<Vec<TraceLine>>)>>,
}

impl Streamed {
    /// Opens the binary trace at `path` by its index; None if it has no index with the viewer's
    /// sections (a trace that was cut short, or written by an older netlab).
    pub fn open(path: &Path) -> Result<Option<Streamed>, String> {
        let Some(index) = Index::read(path)? else { return Ok(None) };
        let (Some(conns), Some(links)) = (index.section(conn_index::SECTION), index.section(link_index::SECTION))
        else {
            return Ok(None);
        };
        let damaged = || format!("{}: a damaged index", path.display());
        let conns = conn_index::read_section(conns).ok_or_else(damaged)?;
        let links = LinkCounts::read(links).ok_or_else(damaged)?;
        Ok(Some(Streamed { index, links, conns, cache: RefCell::new(Vec::new()) }))
    }

    /// How many events the trace has.
    pub fn len(&self) -> usize {
        self.index.events as usize
    }

    /// Whether the trace has no events.
    pub fn is_empty(&self) -> bool {
        self.index.events == 0
    }

    /// The events of checkpoint block `b`, from the cache or the file (an unreadable block reads
    /// as empty: the file changed under the viewer).
    pub fn block(&self, b: usize) -> Rc<Vec<TraceLine>> {
        let mut cache = self.cache.borrow_mut();
        if let Some(pos) = cache.iter().position(|(i, _)| *i == b) {
            let hit = cache.remove(pos);
            cache.push(hit.clone());
            return hit.1;
        }
        let events = Rc::new(self.index.read_block(b).unwrap_or_default());
        if cache.len() >= CACHE_BLOCKS {
            cache.remove(0);
        }
        cache.push((b, events.clone()));
        events
    }

    /// The number of the first event of block `b`.
    pub fn block_start(&self, b: usize) -> usize {
        self.index.checkpoints.get(b).map_or(self.len(), |c| c.event as usize)
    }

    /// The block holding event `i`.
    pub fn block_of(&self, i: usize) -> usize {
        self.index.block_of_event(i as u64)
    }

    /// Event `i`, if there is one.
    pub fn event(&self, i: usize) -> Option<TraceLine> {
        if i >= self.len() {
            return None;
        }
        let b = self.block_of(i);
        self.block(b).get(i - self.block_start(b)).cloned()
    }

    /// How many events happen at or before time `t` (ns): the cursor that shows time `t`.
    pub fn count_until(&self, t: u64) -> usize {
        // The first block that starts after `t`: the answer is in the block before it.
        let after = self.index.checkpoints.partition_point(|c| c.t <= t);
        let Some(b) = after.checked_sub(1) else { return 0 };
        self.block_start(b) + self.block(b).partition_point(|e| e.t <= t)
    }

    /// Events `from..to` (at most to the end), with their numbers.
    pub fn range(&self, from: usize, to: usize) -> Vec<(usize, TraceLine)> {
        let to = to.min(self.len());
        let mut out = Vec::with_capacity(to.saturating_sub(from));
        let mut i = from;
        while i < to {
            let b = self.block_of(i);
            let start = self.block_start(b);
            let block = self.block(b);
            let stop = (start + block.len()).min(to);
            if stop <= i {
                break;
            }
            out.extend((i..stop).map(|k| (k, block[k - start].clone())));
            i = stop;
        }
        out
    }

    /// How many links the trace names.
    pub fn links(&self) -> usize {
        self.links.links
    }

    /// Every link direction's counters (`link * 2 + dir`) over the first `n` events.
    pub fn link_counts(&self, n: usize) -> Vec<Counts> {
        let n = n.min(self.len());
        let b = if n == self.len() { self.index.checkpoints.len() } else { self.block_of(n) };
        let mut out = self.links.before_block(b);
        let start = self.block_start(b);
        if n > start {
            for e in &self.block(b)[..n - start] {
                let (Some(l), Some(slot)) = (e.link, link_index::count_slot(&e.ev)) else { continue };
                let d = usize::from(e.dir.as_deref() == Some("b->a"));
                if let Some(c) = out.get_mut(l * 2 + d) {
                    c[slot] += 1;
                }
            }
        }
        out
    }
}

/// A connection's view from its index record: everything but its single segments, events and
/// timers (those come from the window around the cursor).
pub fn conn_view(r: &conn_index::ConnRecord, topo: &Topology) -> ConnView {
    let id = ConnId {
        node: r.node,
        socket: r.socket,
        host: topo.node_name(r.node),
        local: r.local.clone(),
        remote: r.remote.clone(),
    };
    let mut c = ConnView::empty(id);
    c.states = r.states.iter().map(|(i, t, s)| (*i as usize, *t, s.clone())).collect();
    c.cwnd = r.cwnd.iter().map(|&(i, t, w, s)| (i as usize, t, w, s)).collect();
    c.rtt = r.rtt.iter().map(|&(i, t, s, o)| (i as usize, t, s, o)).collect();
    c.retx = r.retx.iter().map(|&i| i as usize).collect();
    c.bytes = r.bytes.iter().map(|&(i, s, v)| (i as usize, s, v)).collect();
    c.isn_local = r.isn_local;
    c.isn_remote = r.isn_remote;
    c
}
