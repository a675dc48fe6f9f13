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
    /// The key found last and its row: a segment's handling reports several events of one
    /// connection in a row (received, congestion, sent), and each would otherwise probe `index`.
    last: Option<(ConnKey, usize)>,
}

impl ConnTable {
    /// The summary of `key`, made by `new` if there is none yet.
    pub fn get_or_insert_with(&mut self, key: ConnKey, new: impl FnOnce() -> ConnSummary) -> &mut ConnSummary {
        let i = match self.last {
            Some((k, i)) if k == key => i,
            _ => *self.index.entry(key).or_insert_with(|| {
                self.rows.push(new());
                self.order.insert(key, self.rows.len() - 1);
                self.rows.len() - 1
            }),
        };
        self.last = Some((key, i));
        &mut self.rows[i]
    }

    /// The summary of `key`, if there is one.
    pub fn get_mut(&mut self, key: &ConnKey) -> Option<&mut ConnSummary> {
        let i = match self.last {
            Some((k, i)) if k == *key => i,
            _ => *self.index.get(key)?,
        };
        self.last = Some((*key, i));
        self.rows.get_mut(i)
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
