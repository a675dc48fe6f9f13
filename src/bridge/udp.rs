//! Ethernet over UDP (CS144 checkpoint 7): each frame is one datagram between two netlab processes.
//! Only datagrams from the configured remote address are taken; each must be a whole Ethernet frame
//! carrying IPv4 or ARP, else it is counted and dropped.

use super::Input;
use crate::net::NodeDropCause;
use crate::net::fabric::MAX_FRAME;
use crate::wire::{EtherType, EthernetRepr};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;

/// A bound UDP socket carrying one bridge's frames (the reader thread holds a clone).
pub struct UdpPort {
    socket: UdpSocket,
    /// The address it is bound to.
    pub local: SocketAddr,
    /// The only address it sends to and accepts datagrams from.
    pub remote: SocketAddr,
}

impl UdpPort {
    /// Binds `local` and starts the reader thread, which sends what it receives to `tx`.
    pub fn open(
        bridge: usize,
        local: SocketAddr,
        remote: SocketAddr,
        tx: SyncSender<Input>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<(UdpPort, std::thread::JoinHandle<()>)> {
        let socket = UdpSocket::bind(local)
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot bind UDP {local}: {e}")))?;
        // Larger socket buffers than the default ~200 KB: a burst of full-size frames would overflow
        // them while the reader thread waits for the event loop, which would look like loss.
        crate::sys::set_socket_buffers(&socket, 4 << 20)
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot enlarge the buffers of UDP {local}: {e}")))?;
        let reader = socket.try_clone()?;
        reader.set_read_timeout(Some(std::time::Duration::from_millis(200)))?;
        let local = socket.local_addr()?;
        let t = std::thread::Builder::new().name(format!("netlab-udp-{bridge}")).spawn(move || {
            let mut buf = vec![0u8; MAX_FRAME + 1];
            while !stop.load(Ordering::Relaxed) {
                match reader.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        let input = Input { bridge, data: buf[..n].to_vec(), from_peer: from == remote };
                        if tx.send(input).is_err() {
                            break;
                        }
                    }
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                    // ICMP port unreachable from an earlier send (the peer is not there yet): keep going.
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                }
            }
        })?;
        Ok((UdpPort { socket, local, remote }, t))
    }

    /// Sends one frame as one datagram. A peer that is not there is not an error worth stopping for:
    /// the frame is lost, as on a dead link.
    pub fn send(&self, frame: &[u8]) -> std::io::Result<()> {
        match self.socket.send_to(frame, self.remote) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Is `data` a frame netlab takes from a tunnel: a whole Ethernet header, IPv4 or ARP, not too long?
pub fn check_frame(data: &[u8]) -> Result<(), NodeDropCause> {
    if data.len() > MAX_FRAME {
        return Err(NodeDropCause::Malformed);
    }
    match EthernetRepr::parse(data) {
        Ok((eth, payload)) => match eth.ethertype {
            EtherType::Ipv4 | EtherType::Arp if !payload.is_empty() => Ok(()),
            EtherType::Ipv4 | EtherType::Arp => Err(NodeDropCause::Malformed),
            EtherType::Other(_) => Err(NodeDropCause::Unsupported),
        },
        Err(_) => Err(NodeDropCause::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_ipv4_or_arp_frames_pass() {
        assert_eq!(check_frame(b""), Err(NodeDropCause::Malformed));
        assert_eq!(check_frame(b"hello"), Err(NodeDropCause::Malformed));
        let mut f = vec![0u8; 60];
        f[12] = 0x08;
        assert_eq!(check_frame(&f), Ok(()));
        f[13] = 0x06;
        assert_eq!(check_frame(&f), Ok(()));
        f[12] = 0x86;
        f[13] = 0xdd;
        assert_eq!(check_frame(&f), Err(NodeDropCause::Unsupported));
        assert_eq!(check_frame(&vec![0u8; MAX_FRAME + 1]), Err(NodeDropCause::Malformed));
    }
}
