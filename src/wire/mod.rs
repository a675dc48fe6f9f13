//! Bytes <-> typed headers. For each protocol a plain `Repr` struct with `parse` (arbitrary bytes ->
//! `Result`, never a panic) and `emit` (into a caller-provided buffer, checksums included); and
//! zero-copy views (`view`) for reading a few fields without parsing a whole packet. No other module
//! reads headers at raw offsets.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod tcp;
pub mod udp;
pub mod view;

pub use arp::{ArpOp, ArpRepr};
pub use ethernet::{EtherType, EthernetRepr, MacAddr};
pub use icmp::IcmpRepr;
pub use ipv4::{IpProtocol, Ipv4Repr};
pub use std::net::Ipv4Addr;
pub use tcp::{TcpFlags, TcpOptions, TcpRepr};
pub use udp::UdpRepr;
pub use view::{QuotedDatagram, TcpView, UdpView};

/// Why a buffer could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("truncated packet")]
    Truncated,
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    #[error("bad checksum")]
    BadChecksum,
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

pub type Result<T> = std::result::Result<T, WireError>;
