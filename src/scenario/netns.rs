//! Namespace hosts (`[[hosts]] stack = "linux"`): real Linux hosts at nodes of the graph. Each is a
//! network namespace with one TAP interface per link (`h1-eth0`, `h1-eth1`, ... as Mininet names
//! them); the node's link ends lead outside the process (src/bridge/netns/), so every frame the
//! kernel sends crosses the simulated link and every frame the link delivers reaches the kernel.
//! The node's own stack never runs. A scenario with such a host runs in real time.

use crate::net::{Cidr, LinkId, NodeId};
use crate::wire::MacAddr;
use std::net::Ipv4Addr;

/// Interface names are at most 15 bytes (IFNAMSIZ - 1).
pub const MAX_IFNAME: usize = 15;

/// A `stack = "linux"` host.
#[derive(Debug, Clone)]
pub struct NetnsHost {
    /// The host's name (its interfaces are `NAME-eth0`, ...).
    pub name: String,
    /// Its node.
    pub node: NodeId,
    /// One interface per link, in link order.
    pub ifaces: Vec<NetnsIface>,
    /// Static routes (prefix, gateway) from the scenario.
    pub routes: Vec<(Cidr, Ipv4Addr)>,
    /// The default route's gateway: the far end of the only link of a host without static routes.
    pub default_gateway: Option<Ipv4Addr>,
    /// Silence the kernel's own TCP on the host's interfaces (`lab_stack = true`).
    pub lab_stack: bool,
}

/// One interface of a namespace host: a TAP device at end `side` of `link`.
#[derive(Debug, Clone)]
pub struct NetnsIface {
    /// `HOST-ethN`.
    pub name: String,
    /// The link it attaches to.
    pub link: LinkId,
    /// The host's end of the link.
    pub side: usize,
    /// Its address and prefix.
    pub addr: Cidr,
    /// Its MTU: the link's MTU in the direction the host sends.
    pub mtu: usize,
    /// Its MAC address, also the simulated interface's (so captures and ARP agree).
    pub mac: MacAddr,
}

/// The MAC of a namespace host's interface: locally administered, derived from its (unique) address.
pub fn iface_mac(addr: Ipv4Addr) -> MacAddr {
    let o = addr.octets();
    MacAddr([0x02, 0x6e, o[0], o[1], o[2], o[3]])
}

impl super::Scenario {
    /// Whether the scenario runs in real time: it has live bridges or namespace hosts.
    pub fn is_live(&self) -> bool {
        !self.bridges.is_empty() || !self.netns.is_empty()
    }

    /// The namespace host on node `node`, if it is one.
    pub fn netns_host(&self, node: NodeId) -> Option<&NetnsHost> {
        self.netns.iter().find(|h| h.node == node)
    }
}
