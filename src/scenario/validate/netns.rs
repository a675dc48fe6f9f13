//! `[[hosts]] stack = "linux"`: namespace hosts (see scenario/netns.rs). Checks that each has links
//! and interface names that fit, is not a bridge's node, and runs only `exec` applications (and
//! that `exec` applications run only on such hosts).

use super::Known;
use crate::net::Cidr;
use crate::scenario::error::{SpanError, at};
use crate::scenario::netns::{MAX_IFNAME, NetnsHost, NetnsIface, iface_mac};
use crate::scenario::schema::{AppSpec, HostSpec, StackSpec};
use crate::scenario::{AppDef, BridgeDef};

/// The application kind that runs a program in a namespace host.
pub(crate) const EXEC_KIND: &str = "exec";

fn is_linux(h: &HostSpec) -> bool {
    matches!(h.stack.as_ref().map(|s| s.get_ref()), Some(StackSpec::Name(n)) if n == "linux")
}

/// Every namespace host of the scenario, in file order.
pub(super) fn validate(hosts: &[HostSpec], k: &Known, bridges: &[BridgeDef]) -> Result<Vec<NetnsHost>, SpanError> {
    let mut out = Vec::new();
    for h in hosts {
        let name = h.name.get_ref();
        if !is_linux(h) {
            if let Some(l) = &h.lab_stack {
                return at(
                    l.span(),
                    format!("expected `lab_stack` only on a `stack = \"linux\"` host; \"{name}\" is not one"),
                );
            }
            continue;
        }
        let node = k.names.nodes[name];
        if let Some(b) = bridges.iter().find(|b| b.node == node) {
            return at(
                h.name.span(),
                format!("expected no bridge on a linux host; bridge \"{}\" is attached to \"{name}\"", b.name),
            );
        }
        let mut ifaces = Vec::new();
        for (link, l) in k.links.iter().enumerate() {
            for side in 0..2 {
                let (n, addr) = l.ends[side];
                if n == node {
                    ifaces.push(NetnsIface {
                        name: format!("{name}-eth{}", ifaces.len()),
                        link,
                        side,
                        addr,
                        mtu: l.params[side].mtu,
                        mac: iface_mac(addr.addr),
                    });
                }
            }
        }
        let Some(last) = ifaces.last() else {
            return at(h.name.span(), format!("expected a link to the linux host \"{name}\" (it has no interface)"));
        };
        if last.name.len() > MAX_IFNAME {
            return at(
                h.name.span(),
                format!(
                    "expected a shorter name for a linux host: its interface \"{}\" would be longer than {MAX_IFNAME} bytes",
                    last.name
                ),
            );
        }
        let routes: Vec<(Cidr, std::net::Ipv4Addr)> =
            h.routes.iter().flatten().map(|r| (r.prefix.get_ref().0, r.via.get_ref().0)).collect();
        let default_gateway = match (&ifaces[..], h.routes.is_some()) {
            ([only], false) => Some(k.links[only.link].ends[1 - only.side].1.addr),
            _ => None,
        };
        let lab_stack = h.lab_stack.as_ref().is_some_and(|l| *l.get_ref());
        out.push(NetnsHost { name: name.clone(), node, ifaces, routes, default_gateway, lab_stack });
    }
    Ok(out)
}

/// Applications on a namespace host must be `exec` (netlab's own applications need netlab's stack),
/// and `exec` applications need a namespace host.
pub(super) fn check_apps(specs: &[AppSpec], apps: &[AppDef], netns: &[NetnsHost]) -> Result<(), SpanError> {
    for (spec, app) in specs.iter().zip(apps) {
        let on_linux = netns.iter().any(|h| h.node == app.host);
        match (on_linux, app.kind() == EXEC_KIND) {
            (true, false) => {
                return at(
                    spec.kind.span(),
                    format!(
                        "expected kind \"{EXEC_KIND}\" on the linux host \"{}\" (a {} app needs netlab's stack; run a program instead)",
                        spec.host.get_ref(),
                        app.kind()
                    ),
                );
            }
            (false, true) => {
                return at(
                    spec.host.span(),
                    format!(
                        "expected a `stack = \"linux\"` host for an exec app; \"{}\" is simulated",
                        spec.host.get_ref()
                    ),
                );
            }
            _ => {}
        }
    }
    Ok(())
}
