//! What the applications of a scenario look up about the topology, indexed once: which node owns
//! an address, a node's first address, and the names already taken. With ten thousand flows a scan
//! of every link end (or every earlier application) per application made checking quadratic.

use crate::net::NodeId;
use crate::scenario::validate::Known;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// Addresses and application names, for checking `[[apps]]` entries.
pub(crate) struct AppIndex {
    /// Each address and the node of the first link end (in link order, end a before end b) that has it.
    owner: BTreeMap<Ipv4Addr, NodeId>,
    /// Each node's address on the first link end it appears at, by node.
    first: Vec<Option<Ipv4Addr>>,
    /// Names of the applications accepted so far.
    names: BTreeSet<String>,
}

impl AppIndex {
    /// The index of `known`'s links (bridges included), with no application yet.
    pub(crate) fn new(known: &Known) -> AppIndex {
        let mut owner = BTreeMap::new();
        let mut first = vec![None; known.nodes.len()];
        for (node, cidr) in known.links.iter().flat_map(|l| l.ends.iter()) {
            owner.entry(cidr.addr).or_insert(*node);
            if *node >= first.len() {
                first.resize(node + 1, None);
            }
            first[*node].get_or_insert(cidr.addr);
        }
        AppIndex { owner, first, names: BTreeSet::new() }
    }

    /// The node owning `ip`, if one does.
    pub(crate) fn owner(&self, ip: Ipv4Addr) -> Option<NodeId> {
        self.owner.get(&ip).copied()
    }

    /// The first address of `node`, if it has a link.
    pub(crate) fn first_addr(&self, node: NodeId) -> Option<Ipv4Addr> {
        self.first.get(node).copied().flatten()
    }

    /// Whether an accepted application is called `name`.
    pub(crate) fn taken(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Notes an accepted application's name.
    pub(crate) fn accept(&mut self, name: &str) {
        self.names.insert(name.to_string());
    }
}
