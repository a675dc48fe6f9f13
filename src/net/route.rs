//! Longest-prefix-match routing tables.

use super::addr::Cidr;
use super::route_lookup::RouteLookup;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Where a route sends a packet: out of interface `iface`, to `via` (a gateway) or, when `via` is
/// `None`, directly to the destination (a connected subnet).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Route {
    /// The destinations it covers (stored as the network address).
    pub prefix: Cidr,
    /// The node's interface to send on.
    pub iface: usize,
    /// The gateway to hand the packet to, or `None` for a connected subnet.
    pub via: Option<Ipv4Addr>,
    /// How the route came to be.
    pub origin: RouteOrigin,
}

/// How a route came to be (what `netlab routes` and `summary.json` show beside it).
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteOrigin {
    /// The subnet of one of the node's own interfaces.
    Connected,
    /// Given in the scenario (`routes = [...]`).
    Static,
    /// A single-link host's default route via the router at the other end.
    Default,
    /// Computed from the topology (shortest path through routers, by link delay).
    Computed,
    /// What lies beyond a live bridge (added by the bridge; fills gaps only).
    Fallback,
}

impl RouteOrigin {
    /// The name shown in tables ("connected", "static", ...).
    pub fn name(self) -> &'static str {
        match self {
            RouteOrigin::Connected => "connected",
            RouteOrigin::Static => "static",
            RouteOrigin::Default => "default",
            RouteOrigin::Computed => "computed",
            RouteOrigin::Fallback => "fallback",
        }
    }
}

/// A routing table. Lookups pick the longest matching prefix; among equal prefixes the route added
/// first wins, so the result never depends on anything but the table's contents and order.
///
/// Routes are kept per prefix length in ordered maps keyed by network address (the order `iter`
/// lists them in), and again for lookups ([`RouteLookup`]: a short list, or one hash probe per
/// distinct prefix length): a router with ten thousand attached subnets forwards as fast as one
/// with three.
#[derive(Clone, Debug, Default)]
pub struct RoutingTable {
    /// (prefix length, network -> route), longest prefix first.
    by_len: Vec<(u8, BTreeMap<u32, Route>)>,
    /// The same routes, arranged for lookups (a short list, or a hash map per prefix length).
    fast: RouteLookup,
}

impl RoutingTable {
    /// Adds a route (host bits of its prefix are cleared); a route for a prefix already in the table
    /// is ignored.
    pub fn add(&mut self, route: Route) {
        let route = Route { prefix: route.prefix.network(), ..route };
        let len = route.prefix.len;
        let pos = match self.by_len.binary_search_by(|(l, _)| len.cmp(l)) {
            Ok(p) => p,
            Err(p) => {
                self.by_len.insert(p, (len, BTreeMap::new()));
                p
            }
        };
        // The first route for a prefix stays.
        if let std::collections::btree_map::Entry::Vacant(e) = self.by_len[pos].1.entry(u32::from(route.prefix.addr)) {
            e.insert(route);
            self.fast.add(route);
        }
    }
    /// The route for `dst` with the longest matching prefix, if any.
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<&Route> {
        self.fast.lookup(u32::from(dst))
    }
    /// Every route, longest prefix first, then by network address: the order lookups try them.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.by_len.iter().flat_map(|(_, map)| map.values())
    }

    /// Whether a route for exactly this prefix (after clearing host bits) is in the table.
    pub fn has_prefix(&self, p: Cidr) -> bool {
        let p = p.network();
        self.by_len.iter().any(|(len, map)| *len == p.len && map.contains_key(&u32::from(p.addr)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mut t = RoutingTable::default();
        let r = |p: &str, iface| Route { prefix: p.parse().unwrap(), iface, via: None, origin: RouteOrigin::Static };
        t.add(r("0.0.0.0/0", 0));
        t.add(r("10.0.0.0/8", 1));
        t.add(r("10.1.0.0/16", 2));
        t.add(r("10.1.2.0/24", 3));
        t.add(r("10.1.2.0/24", 4)); // same prefix later: loses
        let look = |ip: &str| t.lookup(ip.parse().unwrap()).unwrap().iface;
        assert_eq!(look("10.1.2.3"), 3);
        assert_eq!(look("10.1.3.3"), 2);
        assert_eq!(look("10.2.0.1"), 1);
        assert_eq!(look("192.168.0.1"), 0);
        let mut empty = RoutingTable::default();
        assert!(empty.lookup("1.1.1.1".parse().unwrap()).is_none());
        empty.add(r("1.0.0.0/8", 0));
        assert!(empty.lookup("2.1.1.1".parse().unwrap()).is_none());
    }
}
