//! Shortest distances through routers, for computed routes: how far every router is from a node
//! when the path may only pass through routers (hosts do not forward). Built once per world from
//! one Dijkstra run per router, then asked once per link end: a dumbbell of ten thousand hosts
//! costs two runs, not one run over the whole graph per link end.

use crate::net::NodeId;
use petgraph::graph::{NodeIndex, UnGraph};
use petgraph::visit::{EdgeFiltered, EdgeRef};

/// A distance that cannot be reached.
pub(super) const UNREACHABLE: u64 = u64::MAX;

/// Distances between routers over router-only paths, and each host's links to routers.
pub(super) struct RouterPaths {
    /// The position of every node among the routers (`usize::MAX`: a host).
    position: Vec<usize>,
    /// `between[a][b]`: the distance from router position `a` to router position `b`.
    between: Vec<Vec<u64>>,
    /// For every host, its links to routers: (router position, link cost).
    host_exits: Vec<Vec<(usize, u64)>>,
}

impl RouterPaths {
    /// The paths of a network of nodes (`forwards[n]`: node `n` is a router) joined by `edges`
    /// (end, end, cost).
    pub(super) fn new(forwards: &[bool], edges: &[(NodeId, NodeId, u64)]) -> RouterPaths {
        let mut position = vec![usize::MAX; forwards.len()];
        let routers: Vec<NodeId> = (0..forwards.len()).filter(|&n| forwards[n]).collect();
        for (p, &r) in routers.iter().enumerate() {
            position[r] = p;
        }
        let mut g: UnGraph<NodeId, u64> = UnGraph::with_capacity(forwards.len(), edges.len());
        let idx: Vec<NodeIndex> = (0..forwards.len()).map(|i| g.add_node(i)).collect();
        let mut host_exits = vec![Vec::new(); forwards.len()];
        for &(a, b, w) in edges {
            g.add_edge(idx[a], idx[b], w);
            for (from, to) in [(a, b), (b, a)] {
                if !forwards[from] && forwards[to] && from != to {
                    host_exits[from].push((position[to], w));
                }
            }
        }
        let routers_only = EdgeFiltered::from_fn(&g, |e: petgraph::graph::EdgeReference<'_, u64>| {
            forwards[g[e.source()]] && forwards[g[e.target()]]
        });
        let between = routers
            .iter()
            .map(|&r| {
                let mut row = vec![UNREACHABLE; routers.len()];
                for (k, d) in petgraph::algo::dijkstra(&routers_only, idx[r], None, |e| *e.weight()) {
                    row[position[g[k]]] = d;
                }
                row
            })
            .collect();
        RouterPaths { position, between, host_exits }
    }

    /// The distance from `node` to every router (by router position) over paths whose every other
    /// node is a router: for a router, its row; for a host, the best of its links to a router
    /// plus that router's row.
    pub(super) fn from(&self, node: NodeId) -> Vec<u64> {
        if let Some(row) = self.between.get(self.position[node]) {
            return row.clone();
        }
        let mut row = vec![UNREACHABLE; self.between.len()];
        for &(r, w) in &self.host_exits[node] {
            for (best, &d) in row.iter_mut().zip(&self.between[r]) {
                if d != UNREACHABLE {
                    *best = (*best).min(w.saturating_add(d));
                }
            }
        }
        row
    }

    /// The distance from router `router` in `row` (a row of [`RouterPaths::from`]); `None` if it
    /// cannot be reached or `router` is no router.
    pub(super) fn to(&self, row: &[u64], router: NodeId) -> Option<u64> {
        row.get(self.position[router]).copied().filter(|&d| d != UNREACHABLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_go_through_routers_only() {
        // h0 - r1 - r2 - h3, and a short cut r1 - h4 - r2 through a host, which must not count.
        let forwards = [false, true, true, false, false];
        let edges = [(0, 1, 5), (1, 2, 10), (2, 3, 5), (1, 4, 1), (4, 2, 1)];
        let p = RouterPaths::new(&forwards, &edges);
        let from_r1 = p.from(1);
        assert_eq!(p.to(&from_r1, 1), Some(0));
        assert_eq!(p.to(&from_r1, 2), Some(10));
        let from_h0 = p.from(0);
        assert_eq!(p.to(&from_h0, 1), Some(5));
        assert_eq!(p.to(&from_h0, 2), Some(15));
        // h4 may start a path: it reaches both routers directly.
        let from_h4 = p.from(4);
        assert_eq!((p.to(&from_h4, 1), p.to(&from_h4, 2)), (Some(1), Some(1)));
        assert_eq!(p.to(&from_h0, 3), None, "a host is no router");
    }

    #[test]
    fn separate_islands_do_not_reach_each_other() {
        let forwards = [true, true, false];
        let p = RouterPaths::new(&forwards, &[(0, 2, 3)]);
        assert_eq!(p.to(&p.from(0), 1), None);
        assert_eq!(p.to(&p.from(2), 0), Some(3));
    }
}
