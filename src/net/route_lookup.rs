//! The lookup side of a routing table: the longest matching prefix for a destination, fast both
//! for a host's handful of routes and for a router with ten thousand attached subnets. A few routes
//! sit in one short list scanned in order (one allocation, one cache line or two); past that, one
//! hash map per prefix length (one probe each, whatever the number of routes). The ordered view of
//! the table (for `netlab routes` and the summary) is [`super::route::RoutingTable`]'s own.

use super::route::Route;
use crate::sim::FastMap;

/// Up to this many routes live in the short list.
const FEW: usize = 8;

/// Routes by longest prefix, for lookups only.
#[derive(Clone, Debug)]
pub(crate) enum RouteLookup {
    /// (netmask, network, route), longest prefix first.
    Few(Vec<(u32, u32, Route)>),
    /// (netmask, network -> route), longest prefix first.
    Many(Vec<(u32, FastMap<u32, Route>)>),
}

impl Default for RouteLookup {
    fn default() -> Self {
        RouteLookup::Few(Vec::new())
    }
}

/// The netmask of a prefix of `len` bits, as a number (longer prefixes give larger numbers).
fn mask(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) }
}

impl RouteLookup {
    /// Adds `route`, whose prefix (host bits clear) is not in the table yet.
    pub(crate) fn add(&mut self, route: Route) {
        let (m, net) = (mask(route.prefix.len), u32::from(route.prefix.addr));
        match self {
            RouteLookup::Few(list) if list.len() < FEW => {
                let pos = list.iter().position(|(lm, _, _)| *lm < m).unwrap_or(list.len());
                list.insert(pos, (m, net, route));
            }
            RouteLookup::Few(list) => {
                let mut many = RouteLookup::Many(Vec::new());
                for (_, _, r) in list.drain(..) {
                    many.add(r);
                }
                many.add(route);
                *self = many;
            }
            RouteLookup::Many(maps) => {
                let pos = match maps.binary_search_by(|(lm, _)| m.cmp(lm)) {
                    Ok(p) => p,
                    Err(p) => {
                        maps.insert(p, (m, FastMap::default()));
                        p
                    }
                };
                maps[pos].1.insert(net, route);
            }
        }
    }

    /// The route with the longest prefix that contains `ip`.
    pub(crate) fn lookup(&self, ip: u32) -> Option<&Route> {
        match self {
            RouteLookup::Few(list) => list.iter().find(|(m, net, _)| ip & m == *net).map(|(_, _, r)| r),
            RouteLookup::Many(maps) => maps.iter().find_map(|(m, map)| map.get(&(ip & m))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::route::RouteOrigin;

    fn route(p: &str, iface: usize) -> Route {
        let prefix: crate::net::addr::Cidr = p.parse().unwrap();
        Route { prefix: prefix.network(), iface, via: None, origin: RouteOrigin::Static }
    }

    #[test]
    fn few_and_many_routes_answer_alike() {
        // 10.0.i.0/24 for i < n, 10.0.0.0/16, a default: the same answers with 3 routes as with 202.
        for n in [1usize, 6, 7, 8, 9, 200] {
            let mut t = RouteLookup::default();
            t.add(route("0.0.0.0/0", 9999));
            for i in 0..n {
                t.add(route(&format!("10.0.{i}.0/24"), i));
            }
            t.add(route("10.0.0.0/16", 5000));
            let look = |ip: &str| t.lookup(u32::from(ip.parse::<std::net::Ipv4Addr>().unwrap())).unwrap().iface;
            assert_eq!(look(&format!("10.0.{}.7", n - 1)), n - 1, "with {n} subnets");
            assert_eq!(look("10.0.255.1"), 5000);
            assert_eq!(look("192.168.1.1"), 9999);
            assert_eq!(matches!(t, RouteLookup::Many(_)), n + 2 > FEW, "with {n} subnets");
        }
    }
}
