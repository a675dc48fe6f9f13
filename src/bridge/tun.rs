//! The TUN bridge: a node's interface attached to a Linux TUN device (layer 3, no packet-information
//! header). netlab creates and configures the device itself (address, MTU, up, the kernel routes
//! into it; needs root or CAP_NET_ADMIN), or attaches to one made beforehand (`configure = false`).
//! A device netlab created is not persistent: the kernel removes it when netlab closes it or exits.

use super::Input;
use crate::net::Cidr;
use crate::net::NodeDropCause;
use crate::wire::{EthernetRepr, Ipv4Repr, WireError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;

/// The device a TUN bridge opens.
pub struct TunConfig {
    /// The device's name.
    pub device: String,
    /// The kernel side's address on the bridge subnet (the device's address).
    pub address: Cidr,
    /// The device's MTU (the bridge link's MTU).
    pub mtu: usize,
    /// Prefixes the kernel routes into the device.
    pub kernel_routes: Vec<Cidr>,
    /// Create and configure the device (else attach to an existing one and leave it as it is).
    pub configure: bool,
}

/// An open TUN device: the writing half (the reader thread holds the other).
pub struct TunPort {
    writer: ::tun::Writer,
    device: String,
    address: Cidr,
    routes: Vec<Cidr>,
}

fn netmask(len: u8) -> std::net::Ipv4Addr {
    let bits = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len.min(32))) };
    std::net::Ipv4Addr::from(bits)
}

impl TunPort {
    /// Opens (and configures) the device and starts the reader thread.
    pub fn open(
        bridge: usize,
        cfg: &TunConfig,
        tx: SyncSender<Input>,
        stop: Arc<AtomicBool>,
    ) -> Result<(TunPort, std::thread::JoinHandle<()>), String> {
        if let Err(e) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/net/tun") {
            return Err(format!("cannot open /dev/net/tun ({e}); a TUN bridge needs root (or CAP_NET_ADMIN)"));
        }
        let mut c = ::tun::Configuration::default();
        c.tun_name(&cfg.device);
        if cfg.configure {
            let mtu = u16::try_from(cfg.mtu).unwrap_or(u16::MAX);
            c.address(cfg.address.addr).netmask(netmask(cfg.address.len)).mtu(mtu).up();
        } else {
            // Attach only: no ioctl that needs privileges (a device made with `user` can be used by it).
            c.platform_config(|p| {
                p.ensure_root_privileges(false);
            });
        }
        let dev = ::tun::create(&c).map_err(|e| format!("cannot create TUN device {}: {e}", cfg.device))?;
        if cfg.configure {
            for r in &cfg.kernel_routes {
                let prefix = format!("{}/{}", r.network().addr, r.len);
                let out = std::process::Command::new("ip")
                    .args(["route", "replace", &prefix, "dev", &cfg.device])
                    .output()
                    .map_err(|e| format!("cannot run `ip route replace {prefix} dev {}`: {e}", cfg.device))?;
                if !out.status.success() {
                    return Err(format!(
                        "`ip route replace {prefix} dev {}` failed: {}",
                        cfg.device,
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
            }
        }
        let (reader, writer) = dev.split();
        let t = spawn_reader(format!("netlab-tun-{bridge}"), reader, bridge, tx, stop)?;
        let routes = if cfg.configure { cfg.kernel_routes.clone() } else { Vec::new() };
        Ok((TunPort { writer, device: cfg.device.clone(), address: cfg.address, routes }, t))
    }

    /// Writes one IP packet into the device (to the kernel).
    pub fn send(&mut self, packet: &[u8]) -> std::io::Result<usize> {
        std::io::Write::write(&mut self.writer, packet)
    }

    /// One line for the console: the device, its address and routes, and the simulated node's address.
    pub fn describe(&self, node_ip: std::net::Ipv4Addr) -> String {
        let routes: Vec<String> = self.routes.iter().map(|r| r.to_string()).collect();
        format!(
            "TUN device {} (kernel side {}) <-> simulated {}{}",
            self.device,
            self.address,
            node_ip,
            if routes.is_empty() { String::new() } else { format!("; kernel routes {} into it", routes.join(", ")) }
        )
    }

    /// Closes the device; the kernel removes a non-persistent device (and its routes) with it.
    pub fn close(self) {
        drop(self.writer);
    }
}

/// Starts the thread that reads a TUN or TAP device (`reader`) and sends each packet or frame as an
/// `Input` of end `end`, until `stop` is set or the driver is gone.
pub(super) fn spawn_reader(
    name: String,
    reader: ::tun::Reader,
    end: usize,
    tx: SyncSender<Input>,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, String> {
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !stop.load(Ordering::Relaxed) {
                match reader.recv_timeout(&mut buf, std::time::Duration::from_millis(200)) {
                    Ok(n) => {
                        if tx.send(Input { bridge: end, data: buf[..n].to_vec(), from_peer: true }).is_err() {
                            break;
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::TimedOut
                                | std::io::ErrorKind::WouldBlock
                                | std::io::ErrorKind::Interrupted
                        ) => {}
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
                }
            }
        })
        .map_err(|e| e.to_string())
}

/// Is `data` a packet netlab takes from a TUN device: an IPv4 packet whose header parses (IPv6 and
/// anything else are refused with the cause to count)?
pub fn check_packet(data: &[u8]) -> Result<(), NodeDropCause> {
    match data.first().map(|b| b >> 4) {
        Some(4) => {}
        // IPv6 (router solicitations and the like): not for us.
        Some(6) => return Err(NodeDropCause::Unsupported),
        _ => return Err(NodeDropCause::Malformed),
    }
    if data.len() > crate::net::fabric::MAX_FRAME - EthernetRepr::HEADER_LEN {
        return Err(NodeDropCause::Malformed);
    }
    match Ipv4Repr::parse(data) {
        Ok(_) => Ok(()),
        Err(WireError::BadChecksum) => Err(NodeDropCause::BadIpChecksum),
        Err(WireError::Unsupported(_)) => Err(NodeDropCause::Unsupported),
        Err(_) => Err(NodeDropCause::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimRng;

    #[test]
    fn packets_from_the_device_are_checked_never_trusted() {
        assert_eq!(check_packet(&[]), Err(NodeDropCause::Malformed));
        assert_eq!(check_packet(&[0x60; 48]), Err(NodeDropCause::Unsupported));
        assert_eq!(check_packet(&[0x45, 0, 0]), Err(NodeDropCause::Malformed));
        // A valid header passes; a flipped bit in it does not.
        let ip = Ipv4Repr {
            src: [10, 50, 0, 1].into(),
            dst: [10, 0, 2, 2].into(),
            protocol: crate::wire::IpProtocol::Udp,
            ttl: 64,
            tos: 0,
            ident: 1,
            dont_frag: true,
            payload_len: 8,
        };
        let mut p = vec![0u8; 28];
        ip.emit(&mut p[..20]);
        assert_eq!(check_packet(&p), Ok(()));
        p[8] ^= 1;
        assert_eq!(check_packet(&p), Err(NodeDropCause::BadIpChecksum));
        // Random bytes of any length: an answer, never a panic.
        let mut rng = SimRng::for_component(7, "tun-junk");
        for _ in 0..20_000 {
            let len = rng.below(1600) as usize;
            let mut b = vec![0u8; len];
            rng.fill_bytes(&mut b);
            if len > 0 && rng.chance(0.5) {
                b[0] = 0x45;
            }
            let _ = check_packet(&b);
        }
    }
}
