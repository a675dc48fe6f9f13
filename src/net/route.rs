//! Longest-prefix-match routing tables.

use super::addr::Cidr;
use std::net::Ipv4Addr;

/// Where a route sends a packet: out of interface `iface`, to `via` (a gateway) or, when `via` is
/// `None`, directly to the destination (a connected subnet).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Route {
    pub prefix: Cidr,
    pub iface: usize,
    pub via: Option<Ipv4Addr>,
}

/// A routing table. Lookups pick the longest matching prefix; among equally long prefixes the one
/// added first wins, so the result never depends on anything but the table's contents and order.
#[derive(Clone, Debug, Default)]
pub struct RoutingTable {
    /// Sorted by prefix length, longest first; stable among equal lengths.
    routes: Vec<Route>,
}

impl RoutingTable {
    pub fn add(&mut self, route: Route) {
        let route = Route { prefix: route.prefix.network(), ..route };
        let pos = self.routes.partition_point(|r| r.prefix.len >= route.prefix.len);
        self.routes.insert(pos, route);
    }
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<&Route> {
        // Linear in the number of routes: tables in a lab are small, and the scan is branch-light.
        self.routes.iter().find(|r| r.prefix.contains(dst))
    }
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
    pub fn has_prefix(&self, p: Cidr) -> bool {
        let p = p.network();
        self.routes.iter().any(|r| r.prefix == p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mut t = RoutingTable::default();
        let r = |p: &str, iface| Route { prefix: p.parse().unwrap(), iface, via: None };
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
