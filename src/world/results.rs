//! Typed results of a run, read from the world: per link, per node, per connection, per
//! application. The summary (`report`) and expectations are made of these.

use super::core::Core;
use super::{AppReport, Host, World};
use crate::trace::conn::ConnSummary;
use crate::trace::{LinkDirStats, NodeStats, Tracer};
use serde::Serialize;
use std::cell::Ref;

/// One link's counters, both directions.
#[derive(Debug, Clone, Serialize)]
pub struct LinkReport {
    /// The link's name.
    pub name: String,
    /// The node at end a.
    pub a: String,
    /// The node at end b.
    pub b: String,
    /// Frames from a to b.
    #[serde(rename = "a->b")]
    pub a_to_b: LinkDirStats,
    /// Frames from b to a.
    #[serde(rename = "b->a")]
    pub b_to_a: LinkDirStats,
}

/// One route of a node's table, as `netlab routes` and `summary.json` show it.
#[derive(Debug, Clone, Serialize)]
pub struct RouteReport {
    /// The destinations it covers ("10.0.0.0/16").
    pub prefix: String,
    /// The gateway, or `None` for a connected subnet (delivered directly).
    pub via: Option<std::net::Ipv4Addr>,
    /// The node's interface it sends on (its index: `eth0` is 0).
    pub iface: usize,
    /// The link on that interface.
    pub link: String,
    /// How the route came to be.
    pub origin: crate::net::RouteOrigin,
}

/// A node's routing table, in lookup order (longest prefix first).
#[derive(Debug, Clone, Serialize)]
pub struct NodeRoutes {
    /// The node's name.
    pub node: String,
    /// Whether it is a router.
    pub router: bool,
    /// Its routes.
    pub routes: Vec<RouteReport>,
}

/// One node's counters.
#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    /// The node's name.
    pub name: String,
    /// Whether it is a router.
    pub router: bool,
    /// Its counters.
    #[serde(flatten)]
    pub stats: NodeStats,
    /// Request/answer steps its stack under test took, if that stack runs in a process
    /// (docs/stack-protocol.md): the figure that says what the process boundary costs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_steps: Option<u64>,
    /// The congestion control of the node's own TCP stack (absent for a stack under test and for a
    /// namespace host whose connections were seen on the wire).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub congestion: Option<crate::tcp::CongestionAlgorithm>,
}

impl World {
    /// The trace's books: every counter, connection summary and event count so far.
    pub fn observed(&self) -> Ref<'_, Tracer> {
        Ref::map(self.core.net.borrow(), |net| {
            net.fab.sink.as_any().downcast_ref::<Tracer>().expect("a world's event sink is its Tracer")
        })
    }

    /// Every link's counters, in the order the links were added.
    pub fn links(&self) -> Vec<LinkReport> {
        link_reports(&self.core)
    }

    /// The counters of link `name`.
    pub fn link_stats(&self, name: &str) -> Option<LinkReport> {
        self.links().into_iter().find(|l| l.name == name)
    }

    /// Every node's counters, in the order the nodes were added.
    pub fn nodes(&self) -> Vec<NodeReport> {
        let net = self.core.net.borrow();
        let t = self.observed();
        net.nodes
            .iter()
            .zip(&t.nodes)
            .map(|(n, st)| NodeReport {
                name: n.name.clone(),
                router: n.forwarding,
                stats: st.clone(),
                stack_steps: n.stack_steps(),
                congestion: n.tcp.as_ref().filter(|_| n.runs_own_tcp()).map(|s| s.defaults().congestion),
            })
            .collect()
    }

    /// Every node's routing table (given, computed, connected), in the order the nodes were added.
    pub fn routes(&self) -> Vec<NodeRoutes> {
        let net = self.core.net.borrow();
        net.nodes
            .iter()
            .map(|n| NodeRoutes {
                node: n.name.clone(),
                router: n.forwarding,
                routes: n
                    .routes
                    .iter()
                    .map(|r| RouteReport {
                        prefix: r.prefix.to_string(),
                        via: r.via,
                        iface: r.iface,
                        link: net.fab.links[n.ifaces[r.iface].link].name.clone(),
                        origin: r.origin,
                    })
                    .collect(),
            })
            .collect()
    }

    /// Every TCP connection seen so far (listeners excluded), in (host, socket) order.
    pub fn connections(&self) -> Vec<ConnSummary> {
        self.observed().conns.values().filter(|c| !c.is_listener()).cloned().collect()
    }

    /// Every application's record (including tasks started with `spawn`), in start order.
    pub fn apps(&self) -> Vec<AppReport> {
        self.core.apps.borrow().clone()
    }

    /// The record of the application called `name`.
    pub fn app(&self, name: &str) -> Option<AppReport> {
        self.core.apps.borrow().iter().find(|a| a.name == name).cloned()
    }

    /// Events recorded by the trace so far.
    pub fn trace_events(&self) -> u64 {
        self.observed().events
    }
}

/// Every link's counters, from the world's shared state.
fn link_reports(core: &Core) -> Vec<LinkReport> {
    let net = core.net.borrow();
    let t = net.fab.sink.as_any().downcast_ref::<Tracer>().expect("a world's event sink is its Tracer");
    net.fab
        .links
        .iter()
        .zip(&t.links)
        .map(|(l, st)| LinkReport {
            name: l.name.clone(),
            a: net.nodes[l.ends[0].0].name.clone(),
            b: net.nodes[l.ends[1].0].name.clone(),
            a_to_b: st[0].clone(),
            b_to_a: st[1].clone(),
        })
        .collect()
}

impl Host {
    /// The counters of link `name` so far: what a monitoring program on this host would read from
    /// the network's management interface.
    pub fn link_stats(&self, name: &str) -> Option<LinkReport> {
        link_reports(&self.core).into_iter().find(|l| l.name == name)
    }
}
