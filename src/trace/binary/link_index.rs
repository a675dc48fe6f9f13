//! The index's `link counts` section: how many frames each link direction sent, delivered,
//! dropped, duplicated and corrupted in each checkpoint block (the events from one checkpoint to
//! the next), only for the directions that did something in the block. A viewer adds the blocks
//! before its cursor to get the links' counters without reading those events. Built while the
//! trace is written; format: docs/trace-format.md, "The index".

use super::varint;
use crate::net::{Dir, NetEvent};

/// The section id of the link counts.
pub const SECTION: u64 = 6;

/// What a link direction did: sent, delivered, dropped, duplicated, corrupted (frames).
pub type Counts = [u64; 5];

/// Which of the counts an event adds to (its `ev` name), if any.
pub fn count_slot(ev: &str) -> Option<usize> {
    ["link_tx", "link_deliver", "link_drop", "link_duplicate", "link_corrupt"].iter().position(|e| *e == ev)
}

/// The link, direction (0: a->b) and count slot of a link event; `None` for other events. Link
/// events that count nothing (a reorder) still give the link, with slot `None`.
fn link_of(e: &NetEvent) -> Option<(usize, usize, Option<usize>)> {
    let d = |dir: &Dir| usize::from(*dir == Dir::BtoA);
    match e {
        NetEvent::LinkTx { link, dir, .. } => Some((*link, d(dir), Some(0))),
        NetEvent::LinkDeliver { link, dir, .. } => Some((*link, d(dir), Some(1))),
        NetEvent::LinkDrop { link, dir, .. } => Some((*link, d(dir), Some(2))),
        NetEvent::LinkDuplicate { link, dir, .. } => Some((*link, d(dir), Some(3))),
        NetEvent::LinkCorrupt { link, dir, .. } => Some((*link, d(dir), Some(4))),
        NetEvent::LinkReorder { link, dir, .. } => Some((*link, d(dir), None)),
        NetEvent::LinkState { link, .. } => Some((*link, 0, None)),
        _ => None,
    }
}

/// Collects the link counts while events are written.
#[derive(Default)]
pub struct LinkIndexBuilder {
    /// This block's counts by link direction (`link * 2 + dir`).
    counts: Vec<Counts>,
    /// The directions counted in this block.
    touched: Vec<usize>,
    /// Links seen (the highest link number + 1).
    links: usize,
    blocks: u64,
    buf: Vec<u8>,
}

impl LinkIndexBuilder {
    /// Records event number `ev`; a new block starts at every checkpoint (`SYNC_EVERY` events).
    pub fn observe(&mut self, ev: u64, e: &NetEvent) {
        if ev.is_multiple_of(super::SYNC_EVERY) && ev > 0 {
            self.close_block();
        }
        let Some((link, dir, slot)) = link_of(e) else { return };
        self.links = self.links.max(link + 1);
        let Some(slot) = slot else { return };
        let i = link * 2 + dir;
        if i >= self.counts.len() {
            self.counts.resize(i + 1, [0; 5]);
        }
        if self.counts[i] == [0; 5] {
            self.touched.push(i);
        }
        self.counts[i][slot] += 1;
    }

    /// Writes the current block's counts and starts the next block.
    fn close_block(&mut self) {
        self.touched.sort_unstable();
        varint::put(&mut self.buf, self.touched.len() as u64);
        let mut prev = 0;
        for &i in &self.touched {
            varint::put(&mut self.buf, (i - prev) as u64);
            prev = i;
            for v in std::mem::take(&mut self.counts[i]) {
                varint::put(&mut self.buf, v);
            }
        }
        self.touched.clear();
        self.blocks += 1;
    }

    /// The section body for a trace of `events` events: the number of links, the number of
    /// blocks, then each block's counts.
    pub fn section(&mut self, events: u64) -> Vec<u8> {
        if events > 0 {
            self.close_block();
        }
        let mut out = Vec::new();
        varint::put(&mut out, self.links as u64);
        varint::put(&mut out, self.blocks);
        out.extend_from_slice(&self.buf);
        out
    }
}

/// Running totals are kept every this many blocks.
const SNAPSHOT_EVERY: usize = 64;

/// The link counts of a trace, read back: the blocks stay encoded, with running totals every
/// `SNAPSHOT_EVERY` blocks, so that the totals before any block are a few additions away.
#[derive(Debug, Clone, Default)]
pub struct LinkCounts {
    /// Links in the trace (the highest link number + 1).
    pub links: usize,
    raw: Vec<u8>,
    /// Where each block starts in `raw`.
    block_at: Vec<usize>,
    /// Totals before block `k * SNAPSHOT_EVERY`, by link direction.
    snapshots: Vec<Vec<Counts>>,
}

impl LinkCounts {
    /// Reads a link counts section; None if it is damaged.
    pub fn read(sec: &[u8]) -> Option<LinkCounts> {
        let mut p = 0;
        let links = varint::get(sec, &mut p)? as usize;
        let n = varint::get(sec, &mut p)? as usize;
        let mut lc = LinkCounts { links, raw: sec.to_vec(), block_at: Vec::new(), snapshots: Vec::new() };
        let mut total = vec![[0; 5]; links * 2];
        for b in 0..n {
            if b % SNAPSHOT_EVERY == 0 {
                lc.snapshots.push(total.clone());
            }
            lc.block_at.push(p);
            p = add_block(sec, p, &mut total)?;
        }
        Some(lc)
    }

    /// The counts of every link direction (`link * 2 + dir`) over the blocks before block `b`.
    pub fn before_block(&self, b: usize) -> Vec<Counts> {
        let b = b.min(self.block_at.len());
        let k = b / SNAPSHOT_EVERY;
        let Some(snap) = self.snapshots.get(k) else { return vec![[0; 5]; self.links * 2] };
        let mut out = snap.clone();
        for &at in &self.block_at[k * SNAPSHOT_EVERY..b] {
            let _ = add_block(&self.raw, at, &mut out);
        }
        out
    }
}

/// Adds the block at `p` in `sec` to `total`; where the next block starts.
fn add_block(sec: &[u8], mut p: usize, total: &mut [Counts]) -> Option<usize> {
    let k = varint::get(sec, &mut p)?;
    let mut i = 0usize;
    for _ in 0..k {
        i = i.checked_add(varint::get(sec, &mut p)? as usize)?;
        let row = total.get_mut(i)?;
        for v in row.iter_mut() {
            *v += varint::get(sec, &mut p)?;
        }
    }
    Some(p)
}
