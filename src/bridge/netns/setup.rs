//! Making and removing a namespace host with iproute2 (`ip`), `sysctl`, `ethtool` and `nft`:
//! each step one command, and a failed step says which command failed and what it printed.

use crate::scenario::netns::{NetnsHost, NetnsIface};
use std::process::Command;

/// Runs `program args...`; an error names the command and its stderr.
fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let line = || format!("{program} {}", args.join(" "));
    let out = Command::new(program).args(args).output().map_err(|e| format!("cannot run `{}`: {e}", line()))?;
    if !out.status.success() {
        return Err(format!("`{}` failed: {}", line(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `args` inside namespace `ns`.
fn in_ns(ns: &str, args: &[&str]) -> Result<String, String> {
    let mut all = vec!["netns", "exec", ns];
    all.extend_from_slice(args);
    run("ip", &all)
}

fn has_program(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// The capabilities a namespace host needs: CAP_NET_ADMIN (devices) and CAP_SYS_ADMIN (namespaces),
/// /dev/net/tun, and iproute2.
pub(super) fn check_can_run() -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap_or(0);
    const NET_ADMIN: u64 = 1 << 12;
    const SYS_ADMIN: u64 = 1 << 21;
    if caps & (NET_ADMIN | SYS_ADMIN) != NET_ADMIN | SYS_ADMIN {
        return Err("a `stack = \"linux\"` host needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces and TAP devices: run netlab as root (e.g. with sudo)".to_string());
    }
    if let Err(e) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/net/tun") {
        return Err(format!(
            "a `stack = \"linux\"` host needs /dev/net/tun for its TAP interfaces: cannot open it ({e})"
        ));
    }
    if !has_program("ip") {
        return Err("a `stack = \"linux\"` host needs the `ip` command (iproute2) on PATH".to_string());
    }
    Ok(())
}

/// Creates namespace `ns` with loopback up and IPv6 off (no router solicitations, no DAD: the
/// captures show only what the scenario's programs send).
pub(super) fn create_namespace(ns: &str) -> Result<(), String> {
    run("ip", &["netns", "add", ns])?;
    run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
    for key in ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"] {
        in_ns(ns, &["sysctl", "-qw", key])?;
    }
    Ok(())
}

/// Moves TAP device `tmp` into `ns`, names it as the interface, and gives it its MAC, MTU, address
/// and IPv6 off; then turns offloads off (`ethtool`, when installed) and brings it up.
pub(super) fn move_and_configure(ns: &str, tmp: &str, i: &NetnsIface, warn_ethtool: bool) -> Result<(), String> {
    run("ip", &["link", "set", tmp, "netns", ns])?;
    let (mac, mtu, addr) = (i.mac.to_string(), i.mtu.to_string(), i.addr.to_string());
    run("ip", &["-n", ns, "link", "set", tmp, "name", &i.name])?;
    run("ip", &["-n", ns, "link", "set", &i.name, "address", &mac, "mtu", &mtu])?;
    in_ns(ns, &["sysctl", "-qw", &format!("net.ipv6.conf.{}.disable_ipv6=1", i.name)])?;
    run("ip", &["-n", ns, "addr", "add", &addr, "dev", &i.name])?;
    if has_program("ethtool") {
        // A TAP without a virtio-net header offers no TSO or checksum offload anyway; this makes
        // sure (and also covers generic segmentation and receive offload).
        in_ns(ns, &["ethtool", "-K", &i.name, "tso", "off", "gso", "off", "gro", "off", "tx", "off"])?;
    } else if warn_ethtool {
        eprintln!(
            "netlab: ethtool not found: {} keeps a TAP's default offloads (none that change segment sizes: a TAP without a virtio-net header has no TSO)",
            i.name
        );
    }
    run("ip", &["-n", ns, "link", "set", &i.name, "up"])?;
    Ok(())
}

/// The host's routes: its static routes, or a default route via the far end of its only link.
pub(super) fn routes(ns: &str, h: &NetnsHost) -> Result<(), String> {
    if let Some(gw) = h.default_gateway {
        run("ip", &["-n", ns, "route", "add", "default", "via", &gw.to_string()])?;
    }
    for (prefix, gw) in &h.routes {
        let p = format!("{}/{}", prefix.network().addr, prefix.len);
        run("ip", &["-n", ns, "route", "add", &p, "via", &gw.to_string()])?;
    }
    Ok(())
}

/// The nftables table that silences the kernel's TCP on a lab-stack host's interfaces.
pub(super) const LAB_TABLE: &str = "netlab_lab_stack";

/// `lab_stack = true`: the kernel's own TCP neither sees the host's TCP segments nor sends any on
/// its interfaces (so no RST for ports it does not know, no SYN-ACK of its own). A raw socket
/// (AF_PACKET) still receives every frame (packet taps come before the IP layer) and sends
/// without netfilter.
pub(super) fn lab_stack(ns: &str, h: &NetnsHost) -> Result<(), String> {
    if !has_program("nft") {
        return Err(format!(
            "host {}: `lab_stack = true` needs the `nft` command (apt-get install nftables) to silence the kernel's TCP",
            h.name
        ));
    }
    let ifs: Vec<String> = h.ifaces.iter().map(|i| format!("\"{}\"", i.name)).collect();
    let set = ifs.join(", ");
    let rules = format!(
        "table inet {LAB_TABLE} {{\n\
         chain input {{ type filter hook input priority -300; policy accept; iifname {{ {set} }} meta l4proto tcp drop; }}\n\
         chain output {{ type filter hook output priority -300; policy accept; oifname {{ {set} }} meta l4proto tcp drop; }}\n\
         }}\n"
    );
    let path = std::env::temp_dir().join(format!("netlab-{ns}-{}.nft", std::process::id()));
    std::fs::write(&path, rules).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let r = in_ns(ns, &["nft", "-f", &path.display().to_string()]);
    let _ = std::fs::remove_file(&path);
    r.map(|_| ())
}

/// Stops what runs in `ns` and deletes it (its devices go with it).
pub(super) fn remove_namespace(ns: &str) -> Result<(), String> {
    if let Ok(pids) = run("ip", &["netns", "pids", ns]) {
        for pid in pids.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            crate::sys::kill(pid, libc::SIGKILL);
        }
    }
    let r = run("ip", &["netns", "del", ns]).map(|_| ());
    super::leftovers::unregister(ns);
    r
}
