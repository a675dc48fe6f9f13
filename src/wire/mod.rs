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
pub use view::{QuotedDatagram, SackBlocks, TcpOptionIter, TcpOptionView, TcpView, UdpView};

/// Why a buffer could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The buffer ends before the header (or the length it declares).
    #[error("truncated packet")]
    Truncated,
    /// A field has an impossible value (e.g. an IPv4 IHL below 5); the text names it.
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    /// The checksum does not verify.
    #[error("bad checksum")]
    BadChecksum,
    /// Well-formed, but something netlab does not implement (e.g. IPv4 fragments); the text names it.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

/// The result of parsing a buffer.
pub type Result<T> = std::result::Result<T, WireError>;
