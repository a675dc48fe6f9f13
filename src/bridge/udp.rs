//! Ethernet over UDP (CS144 checkpoint 7): each frame is one datagram between two netlab processes
//! (or a netlab and a CS144 `endtoend`). Only datagrams from the remote address are taken; each must
//! be a whole Ethernet frame carrying IPv4 or ARP, else it is counted and dropped. An empty datagram
//! is a hello (what `endtoend` sends a relay to say where it is), counted apart and never a frame.
//!
//! The remote is either fixed or learned (`remote = "learn"`), as the CS144 relay does: the source
//! of the first datagram becomes the peer, and a later hello from another address replaces it (a
//! restarted `endtoend` comes back on a new port). Until a peer is known, frames to it are lost.

use super::Input;
use crate::net::NodeDropCause;
use crate::net::fabric::MAX_FRAME;
use crate::wire::{EtherType, EthernetRepr};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, PoisonError};

/// One end of a UDP bridge: the bound socket and the peer's address (fixed, or learned).
pub struct UdpPort {
    socket: UdpSocket,
    /// The bound local address.
    pub local: SocketAddr,
    /// Whether the peer's address is learned from what arrives (`remote = "learn"`).
    pub learns: bool,
    /// The peer's address: the fixed remote, or the learned one (None until the first datagram).
    remote: SharedPeer,
}

/// The peer's address, shared by the reader thread (which learns it) and the sender.
type SharedPeer = Arc<Mutex<Option<SocketAddr>>>;

impl UdpPort {
    /// Binds `local` and starts the reader thread, which sends what it receives to `tx`. `remote`
    /// None: learn the peer from the first datagram.
    pub fn open(
        bridge: usize,
        local: SocketAddr,
        remote: Option<SocketAddr>,
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
        let learns = remote.is_none();
        let peer: SharedPeer = Arc::new(Mutex::new(remote));
        let shared = peer.clone();
        let t = std::thread::Builder::new().name(format!("netlab-udp-{bridge}")).spawn(move || {
            let mut buf = vec![0u8; MAX_FRAME + 1];
            while !stop.load(Ordering::Relaxed) {
                match reader.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        let from_peer = if learns { learn(&shared, from, n == 0) } else { remote == Some(from) };
                        let input = Input { bridge, data: buf[..n].to_vec(), from_peer };
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
        Ok((UdpPort { socket, local, learns, remote: peer }, t))
    }

    /// The peer's address: the fixed remote, or the learned one once a datagram has come.
    pub fn remote(&self) -> Option<SocketAddr> {
        *self.remote.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends one frame as one datagram; Ok(false) when no peer is known yet (the frame is lost). A
    /// peer that is not there is not an error worth stopping for: the frame is lost, as on a dead link.
    pub fn send(&self, frame: &[u8]) -> std::io::Result<bool> {
        let Some(remote) = self.remote() else { return Ok(false) };
        match self.socket.send_to(frame, remote) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(true),
            Err(e) => Err(e),
        }
    }
}

/// Learn mode: is a datagram from `from` the peer's? The first datagram's source becomes the peer,
/// and a hello (empty datagram) from a new source replaces it.
fn learn(peer: &Mutex<Option<SocketAddr>>, from: SocketAddr, hello: bool) -> bool {
    let mut known = peer.lock().unwrap_or_else(PoisonError::into_inner);
    match *known {
        Some(p) if p == from => true,
        Some(_) if !hello => false,
        _ => {
            *known = Some(from);
            true
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
    fn learning_takes_the_first_source_and_moves_only_on_a_hello() {
        let (a, b): (SocketAddr, SocketAddr) = ("127.0.0.1:5000".parse().unwrap(), "127.0.0.1:6000".parse().unwrap());
        let peer = Mutex::new(None);
        assert!(learn(&peer, a, false), "the first datagram's source is the peer");
        assert!(learn(&peer, a, true));
        assert!(!learn(&peer, b, false), "a frame from someone else is not the peer's");
        assert_eq!(*peer.lock().unwrap(), Some(a));
        assert!(learn(&peer, b, true), "a hello from a new address: the peer restarted there");
        assert_eq!(*peer.lock().unwrap(), Some(b));
        assert!(!learn(&peer, a, false));
    }

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
