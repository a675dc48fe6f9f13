//! The TCP stack, sans-IO. `TcpStack` is one host's socket table; it takes segments, timer expiries and
//! application calls together with `now`, and gives back segments to send, its next deadline and
//! events. It never reads a clock and never touches the network itself.
//!
//! THIS FILE IS THE CONTRACT between the host IP layer (`net/`) and the TCP implementation: the
//! signatures below are what `net/` and `app/` call. The implementation behind them lives in the
//! sibling modules.

use crate::sim::{Duration, Instant};
use crate::wire::TcpRepr;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::task::Waker;

/// Identifies a socket (listener or connection) within one host's stack. Never reused within a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct SocketId(pub u32);

/// The eleven states of RFC 9293 section 3.3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum TcpState {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CongestionAlgorithm {
    NewReno,
    Cubic,
}

/// Tunables of one socket (defaults documented on each field by the implementation).
#[derive(Debug, Clone, PartialEq)]
pub struct TcpConfig {
    pub send_buffer: usize,
    pub recv_buffer: usize,
    /// MSS we announce and the upper bound of what we send (the host sets it from the interface MTU).
    pub mss: u16,
    pub nagle: bool,
    pub delayed_ack: bool,
    pub delayed_ack_timeout: Duration,
    pub sack: bool,
    pub window_scaling: bool,
    pub timestamps: bool,
    pub congestion: CongestionAlgorithm,
    pub rto_min: Duration,
    pub rto_max: Duration,
    pub rto_initial: Duration,
    /// Consecutive retransmissions of the same data before the connection is aborted.
    pub max_retransmissions: u32,
    /// SYN retransmissions before connect() fails with TimedOut.
    pub max_syn_retransmissions: u32,
    pub msl: Duration,
    pub keepalive: Option<Duration>,
    pub initial_window_segments: u32,
}

impl Default for TcpConfig {
    fn default() -> Self {
        todo!()
    }
}

/// Errors of the socket calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub enum TcpError {
    #[error("connection refused")]
    ConnectionRefused,
    #[error("connection reset")]
    ConnectionReset,
    #[error("connection timed out")]
    TimedOut,
    #[error("not connected")]
    NotConnected,
    #[error("address in use")]
    AddrInUse,
    #[error("invalid socket")]
    InvalidSocket,
    #[error("connection closing")]
    Closing,
    #[error("invalid argument")]
    InvalidArgument,
}

/// One observable thing that happened inside the stack (state change, segment in/out, retransmission,
/// timer, cwnd/RTT change, application call). Serialized into `trace.jsonl` by the host.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TcpEvent {
    pub time: Instant,
    pub socket: SocketId,
    /// (local, remote) of the connection, if it has one.
    pub local: Option<SocketAddrV4>,
    pub remote: Option<SocketAddrV4>,
    pub kind: TcpEventKind,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TcpEventKind {
    StateChange { from: TcpState, to: TcpState },
    // The implementation adds the rest.
}

/// One host's TCP: socket table, demultiplexing, connections.
pub struct TcpStack {}

impl TcpStack {
    /// `isn_key` keys the RFC 6528 style ISN generator (drawn from the host's seeded stream).
    pub fn new(isn_key: u64, defaults: TcpConfig) -> Self {
        todo!()
    }
    pub fn defaults(&self) -> &TcpConfig {
        todo!()
    }

    // ---- network side ----
    /// A segment arrived for one of our addresses; its checksum was already verified by `net/`.
    pub fn on_segment(&mut self, now: Instant, src: Ipv4Addr, dst: Ipv4Addr, seg: &TcpRepr<'_>) {
        todo!()
    }
    /// Calls `out(src, dst, segment)` for each segment to send now (data, ACKs, RSTs...).
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>),
    ) {
        todo!()
    }
    /// The earliest time `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }
    pub fn handle_timeout(&mut self, now: Instant) {
        todo!()
    }
    /// Hands over the events recorded since the last call, oldest first.
    pub fn drain_events(&mut self, f: &mut dyn FnMut(TcpEvent)) {
        todo!()
    }

    // ---- application side (non-blocking; `app::socket` builds the async calls on these) ----
    pub fn listen(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        backlog: usize,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        todo!()
    }
    /// An established connection from the accept queue, or `Ok(None)` if there is none yet.
    pub fn accept(
        &mut self,
        now: Instant,
        listener: SocketId,
    ) -> Result<Option<SocketId>, TcpError> {
        todo!()
    }
    /// Starts an active open. A local port of 0 picks an ephemeral port.
    pub fn connect(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        todo!()
    }
    /// `Ok(None)` while the handshake is in progress; `Ok(Some(()))` once established; `Err` if it failed.
    pub fn connect_result(&self, id: SocketId) -> Result<Option<()>, TcpError> {
        todo!()
    }
    /// Queues as much of `data` as the send buffer takes; `Ok(0)` when it is full.
    pub fn send(&mut self, now: Instant, id: SocketId, data: &[u8]) -> Result<usize, TcpError> {
        todo!()
    }
    /// Reads in-order data. `Ok(Some(n))` with n > 0: data; `Ok(Some(0))`: end of stream (peer's FIN);
    /// `Ok(None)`: nothing yet.
    pub fn recv(
        &mut self,
        now: Instant,
        id: SocketId,
        buf: &mut [u8],
    ) -> Result<Option<usize>, TcpError> {
        todo!()
    }
    /// shutdown(SHUT_WR): send FIN after the queued data; keep receiving.
    pub fn shutdown_write(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        todo!()
    }
    /// close(): shutdown_write + the application gives up the socket; the connection lives on until
    /// CLOSED (after TIME_WAIT for the active closer).
    pub fn close(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        todo!()
    }
    /// abort(): send RST at once, free the connection.
    pub fn abort(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        todo!()
    }
    pub fn state(&self, id: SocketId) -> Option<TcpState> {
        todo!()
    }
    /// Wake `waker` when `id` becomes readable, writable, connected, accepted, closed or fails.
    pub fn register_waker(&mut self, id: SocketId, waker: &Waker) {
        todo!()
    }
    /// Number of sockets not yet freed (for "no connection left open" checks and leak tests).
    pub fn open_sockets(&self) -> usize {
        todo!()
    }
}
