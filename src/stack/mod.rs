//! The stack boundary (issue 10): a host's transport layer behind one interface, so that a host can
//! run netlab's own TCP, smoltcp, or any program that speaks the protocol of `docs/stack-protocol.md`.
//!
//! The shape is sans-IO, like `TcpStack`: whole IPv4 datagrams in and out, `now` in and the next
//! deadline out, socket calls in and readiness out. A `Stack` never reads a clock and never touches
//! the network; the caller (a simulated host) owns time, links and applications.
//!
//! Floor: `sim, wire < tcp < stack < net`; this module imports only `sim`, `wire` and `tcp`.
//!
//! Implementations:
//! - `NetlabStack` (`netlab.rs`): netlab's `TcpStack` and a minimal IPv4 layer;
//! - `SmoltcpStack` (`smoltcp.rs`, cargo feature `smoltcp`): the smoltcp crate in-process;
//! - `ExternalStack` (`external.rs`): a child process speaking `protocol.rs` on stdin/stdout;
//!   `adapter::serve` is the other end of that protocol with `NetlabStack` behind it.

use crate::sim::Instant;
use crate::tcp::{ConnInfo, SharedContent, SocketId, TcpConfig, TcpError, TcpEvent, TcpState};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::task::Waker;

pub mod adapter;
mod answers;
mod choice;
pub mod external;
pub mod netlab;
pub mod protocol;
mod report;
#[cfg(feature = "smoltcp")]
pub mod smoltcp;

pub use choice::StackChoice;
pub use external::{ExternalConfig, ExternalStack};
pub use netlab::NetlabStack;
#[cfg(feature = "smoltcp")]
pub use smoltcp::SmoltcpStack;

/// The process exit code `netlab` uses when a stack under test failed (crashed, hung past its step
/// timeout, spoke garbage or reported a fatal error): distinct from 1 (expectations failed), 2 (bad
/// command line or scenario) and 3 (run-time I/O errors).
pub const EXIT_STACK_FAILED: u8 = 4;

/// The socket half of a host's transport layer: the calls applications make, with the semantics
/// of `netlab::tcp::TcpStack`'s methods of the same names (netlab's `TcpStack` implements it directly).
pub trait Sockets {
    /// Opens a listening socket on `local` (port != 0; address 0.0.0.0 = every address) with room
    /// for `backlog` connections not yet accepted. `cfg` overrides the stack's defaults.
    fn listen(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        backlog: usize,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError>;

    /// An established connection from the listener's queue, or `Ok(None)` if there is none yet.
    fn accept(&mut self, now: Instant, listener: SocketId) -> Result<Option<SocketId>, TcpError>;

    /// Starts an active open from `local` (port 0 = an ephemeral port) to `remote`.
    fn connect(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError>;

    /// `Ok(None)` while the handshake is in progress, `Ok(Some(()))` once established (also after
    /// a normal close), `Err` if it failed.
    fn connect_result(&self, id: SocketId) -> Result<Option<()>, TcpError>;

    /// Queues as much of `data` as the send buffer takes; `Ok(0)` when it is full.
    fn send(&mut self, now: Instant, id: SocketId, data: &[u8]) -> Result<usize, TcpError>;

    /// Reads in-order data: `Ok(Some(n))`, n > 0: data; `Ok(Some(0))`: end of stream (the peer's
    /// FIN); `Ok(None)`: nothing yet (would block).
    fn recv(&mut self, now: Instant, id: SocketId, buf: &mut [u8]) -> Result<Option<usize>, TcpError>;

    /// Like `send`, with the bytes produced by `fill(offset, dst)`: the stack calls `fill` only
    /// for bytes it takes (at most `max`, in order, `offset` counting from 0), because `fill` may be
    /// a generator that cannot take bytes back.
    fn send_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        fill: &mut dyn FnMut(usize, &mut [u8]),
    ) -> Result<usize, TcpError>;

    /// Like `send` of the bytes `[at, at + max)` of `content`, as many as the send buffer takes. A
    /// stack that can hold such a range without its bytes does (netlab's: see
    /// `tcp::ContentSource`); the default materialises the bytes through `send_with`. The bytes on
    /// the wire are the same either way.
    fn send_content(
        &mut self,
        now: Instant,
        id: SocketId,
        content: &SharedContent,
        at: u64,
        max: usize,
    ) -> Result<usize, TcpError> {
        self.send_with(now, id, max, &mut |off, dst| content.fill_at(at + off as u64, dst))
    }

    /// Like `recv`, handing up to `max` bytes to `f` (once or more) instead of copying into a
    /// buffer. The default reads through a bounded scratch buffer.
    fn recv_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<usize>, TcpError> {
        let mut scratch = vec![0u8; max.clamp(1, SCRATCH_LEN)];
        let r = self.recv(now, id, &mut scratch)?;
        if let Some(n) = r
            && n > 0
        {
            f(&scratch[..n]);
        }
        Ok(r)
    }

    /// shutdown(SHUT_WR): a FIN after the queued data; receiving goes on.
    fn shutdown_write(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError>;

    /// close(): the application gives the socket up; the connection finishes on its own (FIN,
    /// TIME-WAIT). Closing a listener resets its connections that were never accepted.
    fn close(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError>;

    /// abort(): a RST at once and the socket is freed.
    fn abort(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError>;

    /// The socket's state as far as the stack knows it; `None` once the socket is freed. A stack
    /// that does not report states gives a coarse one (see the implementation).
    fn state(&self, id: SocketId) -> Option<TcpState>;

    /// Wakes `waker` when socket `id` may have become ready (readable, writable, connected,
    /// acceptable, closed, failed). Spurious wake-ups are allowed; a socket already freed wakes at once.
    fn register_waker(&mut self, id: SocketId, waker: &Waker);

    /// A snapshot of a connection for the summary, if the stack can give one.
    fn conn_info(&self, id: SocketId) -> Option<ConnInfo> {
        let _ = id;
        None
    }
}

/// A host's transport layer behind one interface: IPv4 datagrams in and out, the clock, sockets.
///
/// Call order: `configure` once, then any interleaving of the rest. After any call that can give the
/// stack something to send (`receive`, `handle_timeout`, a socket call) the caller calls
/// `poll_transmit` and re-reads `poll_timeout`. Socket calls have the semantics of
/// `netlab::tcp::TcpStack`'s methods of the same names (the same `Ok`/`Err` values in the same
/// situations, as far as the implementation allows; differences are findings for `docs/stacks.md`).
///
/// A stack that can fail as a whole (an external process) reports it through `failure`; once it
/// has failed it is inert (socket calls return `Err(TcpError::InvalidSocket)`, nothing is sent) and
/// the caller must stop the run and report the error (exit code `EXIT_STACK_FAILED`).
pub trait Stack: Sockets {
    /// Short name for reports: "netlab", "smoltcp", "external:`program`".
    fn name(&self) -> &str;

    /// Whether this stack reports its own connection states and events through `drain_events`
    /// (false: the caller has to observe the connections on the wire).
    fn reports_states(&self) -> bool {
        false
    }

    /// Whether this stack reports its TCP's own events through `drain_events` (retransmissions
    /// with their reason, RTT and RTO, congestion window, challenge ACKs, errors); segments are
    /// then still taken from the wire, but retransmissions are the stack's.
    fn reports_events(&self) -> bool {
        false
    }

    /// Sets the host's addresses (with prefix length) and the MTU of its interfaces. Called once,
    /// before anything else. An address set the stack cannot use is an error.
    fn configure(&mut self, addrs: &[(Ipv4Addr, u8)], mtu: u16) -> Result<(), StackError>;

    /// A whole IPv4 datagram (header included, header checksum already verified) addressed to this
    /// host arrives at `now`. Datagrams the stack does not handle are dropped by it.
    fn receive(&mut self, now: Instant, datagram: &[u8]);

    /// Hands each IPv4 datagram (header included, checksums filled in) the stack wants to send now
    /// to `out`, in order.
    fn poll_transmit(&mut self, now: Instant, out: &mut dyn FnMut(&[u8]));

    /// The next time `handle_timeout` must be called, if any. It may be earlier than anything that
    /// is really due (calling `handle_timeout` then does nothing visible).
    fn poll_timeout(&self) -> Option<Instant>;

    /// Runs the timers that are due at `now`.
    fn handle_timeout(&mut self, now: Instant);

    /// Hands over the connection-state reports and events the stack produced since the last call,
    /// oldest first (netlab's own stack: its `TcpEvent`s). Stacks that report nothing do nothing.
    fn drain_events(&mut self, f: &mut dyn FnMut(TcpEvent)) {
        let _ = f;
    }

    /// Whether detail events (timers, application calls) are recorded or only counted; see
    /// `TcpStack::set_detail_events`. Stacks without such events ignore it.
    fn set_detail_events(&mut self, on: bool) {
        let _ = on;
    }

    /// Detail events counted instead of recorded since the last call (see `set_detail_events`).
    fn take_skipped_events(&mut self) -> u64 {
        0
    }

    /// Request/answer exchanges with a process so far (external stacks); `None` for in-process
    /// stacks. Deterministic: the same run takes the same steps.
    fn steps(&self) -> Option<u64> {
        None
    }

    /// The error that made this stack fail as a whole, if it did (sticky). In-process stacks never fail.
    fn failure(&self) -> Option<&StackError> {
        None
    }
}

/// Upper bound of the scratch buffer the default `recv_with` uses per call.
const SCRATCH_LEN: usize = 64 * 1024;

/// A stack under test failed as a whole. The message names the host and the stack (an in-process
/// stack does not know its host's name and leaves `host` empty for the caller to fill in).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("host {host}: stack {stack}: {kind}")]
pub struct StackError {
    /// The simulated host the stack runs on.
    pub host: String,
    /// The stack's name (`Stack::name`).
    pub stack: String,
    /// What went wrong.
    pub kind: StackErrorKind,
}

/// What went wrong with a stack under test.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StackErrorKind {
    /// The host's configuration cannot be used by this stack (e.g. no address, MTU too small).
    #[error("unusable configuration: {0}")]
    Config(String),
    /// The process could not be started.
    #[error("could not start the process: {0}")]
    Spawn(String),
    /// The process exited (or closed its stdout) while netlab waited for `during`.
    #[error("the process exited during {during} ({status})")]
    Exited {
        /// The step netlab was waiting for.
        during: String,
        /// The exit status, as far as it is known.
        status: String,
    },
    /// The process did not finish a step within the per-step timeout.
    #[error("no answer to {during} within {timeout_ms} ms (the process was killed)")]
    Timeout {
        /// The step netlab was waiting for.
        during: String,
        /// The per-step timeout.
        timeout_ms: u64,
    },
    /// The process sent bytes that are not a valid message, or a message out of place.
    #[error("protocol violation in the answer to {during}: {message}")]
    Protocol {
        /// The step netlab was waiting for.
        during: String,
        /// What was wrong.
        message: String,
    },
    /// The process reported a fatal error of its own (a FAIL message).
    #[error("the process failed: {0}")]
    Failed(String),
    /// Reading from or writing to the process failed.
    #[error("i/o error talking to the process: {0}")]
    Io(String),
}
