//! The per-connection summaries of a run, kept for two kinds of use: the tracer finds one by
//! (node, socket) for every TCP event (a hash probe, however many thousand connections there are),
//! and the summary, the report and expectations list them in (node, socket) order.

use super::conn::{ConnKey, ConnSummary};
use crate::sim::FastMap;
use std::collections::BTreeMap;

/// Connection summaries by (node, socket).
#[derive(Default)]
pub struct ConnTable {
    /// The summaries, in the order they were first seen.
    rows: Vec<ConnSummary>,
    /// Where each key's summary is in `rows`, for lookups.
    index: FastMap<ConnKey, usize>,
    /// The same, in key order, for listing.
    order: BTreeMap<ConnKey, usize>,
    /// Per node, the socket found last for it and its row (`NONE`: none yet): a segment's handling
    /// reports several events of one connection in a row (received, congestion, sent), and a host
    /// in a many-flow world has one busy connection; each event would otherwise probe `index`
    /// (two cache misses with thousands of connections). 8 bytes per node.
    last_by_node: Vec<(u32, u32)>,
}

/// No row (`last_by_node`).
const NONE: u32 = u32::MAX;

impl ConnTable {
    /// The summary of `key`, made by `new` if there is none yet.
    pub fn get_or_insert_with(&mut self, key: ConnKey, new: impl FnOnce() -> ConnSummary) -> &mut ConnSummary {
        if let Some(i) = self.last_row(key) {
            return &mut self.rows[i];
        }
        let i = *self.index.entry(key).or_insert_with(|| {
            self.rows.push(new());
            self.order.insert(key, self.rows.len() - 1);
            self.rows.len() - 1
        });
        self.remember(key, i);
        &mut self.rows[i]
    }

    /// The summary of `key`, if there is one.
    pub fn get_mut(&mut self, key: &ConnKey) -> Option<&mut ConnSummary> {
        if let Some(i) = self.last_row(*key) {
            return self.rows.get_mut(i);
        }
        let i = *self.index.get(key)?;
        self.remember(*key, i);
        self.rows.get_mut(i)
    }

    /// Starts loading the summary that `node`'s next event most likely goes to (its last one).
    pub fn prefetch_node(&self, node: usize) {
        if let Some(&(_, row)) = self.last_by_node.get(node)
            && let Some(summary) = self.rows.get(row as usize)
        {
            crate::sys::prefetch_whole(summary);
        }
    }

    /// The row of `key` if it is the one last found for its node.
    #[inline]
    fn last_row(&self, (node, socket): ConnKey) -> Option<usize> {
        match self.last_by_node.get(node) {
            Some(&(s, row)) if row != NONE && s == socket.0 => Some(row as usize),
            _ => None,
        }
    }

    /// Notes `row` as `node`'s last (a row number that does not fit is simply not remembered).
    fn remember(&mut self, (node, socket): ConnKey, row: usize) {
        let Ok(row) = u32::try_from(row) else { return };
        if node >= self.last_by_node.len() {
            self.last_by_node.resize(node + 1, (0, NONE));
        }
        self.last_by_node[node] = (socket.0, row);
    }

    /// Every summary, in (node, socket) order.
    pub fn values(&self) -> impl Iterator<Item = &ConnSummary> {
        self.order.values().map(|&i| &self.rows[i])
    }

    /// How many connections there are.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::SocketId;

    #[test]
    fn the_last_row_remembered_per_node_never_answers_for_another_key() {
        let mut t = ConnTable::default();
        let mk = |node: usize, socket: u32| ConnSummary { node, socket, ..Default::default() };
        // Two sockets on node 5 used in turn, one on node 2, a node far beyond the others.
        for (node, socket) in [(5, 1), (5, 2), (5, 1), (2, 1), (5, 2), (900, 7), (2, 1)] {
            let row = t.get_or_insert_with((node, SocketId(socket)), || mk(node, socket));
            assert_eq!((row.node, row.socket), (node, socket));
            row.segments_sent += 1;
        }
        for (node, socket, events) in [(5, 1, 2), (5, 2, 2), (2, 1, 2), (900, 7, 1)] {
            let row = t.get_mut(&(node, SocketId(socket))).expect("known");
            assert_eq!((row.node, row.socket, row.segments_sent), (node, socket, events));
        }
        // A socket never seen on a node whose last socket is known: no answer.
        assert!(t.get_mut(&(5, SocketId(3))).is_none());
        assert!(t.get_mut(&(901, SocketId(7))).is_none());
        assert_eq!(t.len(), 4);
        t.prefetch_node(5);
        t.prefetch_node(100_000); // beyond every node: nothing to load
    }

    #[test]
    fn lists_in_key_order_whatever_the_order_seen() {
        let mut t = ConnTable::default();
        for (node, socket) in [(3, 1), (1, 2), (3, 0), (1, 1)] {
            t.get_or_insert_with((node, SocketId(socket)), || ConnSummary { node, socket, ..Default::default() });
        }
        t.get_or_insert_with((1, SocketId(2)), || unreachable!("already there")).observed = true;
        let listed: Vec<(usize, u32, bool)> = t.values().map(|c| (c.node, c.socket, c.observed)).collect();
        assert_eq!(listed, [(1, 1, false), (1, 2, true), (3, 0, false), (3, 1, false)]);
        assert!(t.get_mut(&(2, SocketId(0))).is_none());
        assert_eq!(t.len(), 4);
    }
}
