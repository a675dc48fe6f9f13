//! TCP sockets for tasks: the blocking-style calls of the classic lab (`sleep_on`/`wake_up`), as
//! `async fn`s that suspend on the simulated clock until they can proceed. `TcpStream` also
//! implements the `futures-io` `AsyncRead` and `AsyncWrite` traits, and closes when dropped.

use super::Host;
use crate::net::network::Network;
use crate::sim::Instant;
use crate::stack::Sockets;
use crate::tcp::{SharedContent, SocketId, TcpConfig, TcpError};
use std::cell::Cell;
use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::pin::Pin;
use std::task::{Context, Poll};

impl Host {
    /// Runs `f` on this host's TCP stack and marks the host for output processing.
    pub(crate) fn with_stack<R>(&self, f: impl FnOnce(&mut dyn Sockets, Instant) -> R) -> Result<R, TcpError> {
        let mut net = self.core.net.borrow_mut();
        let now = net.fab.now;
        let Network { nodes, .. } = &mut *net;
        let node = &mut nodes[self.node];
        let stack: &mut dyn Sockets = match (node.tcp.as_mut(), node.foreign.as_mut()) {
            (Some(tcp), _) => tcp,
            (None, Some(foreign)) => foreign.as_mut(),
            (None, None) => return Err(TcpError::InvalidArgument),
        };
        let r = f(stack, now);
        net.touch(self.node);
        Ok(r)
    }

    /// Polls `op` until it returns `Some`, registering the task's waker with socket `id` in between.
    async fn wait_on<R>(
        &self,
        id: SocketId,
        mut op: impl FnMut(&mut dyn Sockets, Instant) -> Option<R>,
    ) -> Result<R, TcpError> {
        poll_fn(|cx| {
            let r = self.with_stack(|s, now| match op(s, now) {
                Some(r) => Some(r),
                None => {
                    s.register_waker(id, cx.waker());
                    None
                }
            });
            match r {
                Ok(Some(r)) => Poll::Ready(Ok(r)),
                Ok(None) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            }
        })
        .await
    }

    /// listen() on `port` of every address of this host.
    pub fn listen(&self, port: u16, backlog: usize, cfg: Option<TcpConfig>) -> Result<TcpListener, TcpError> {
        let local = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
        let id = self.with_stack(|s, now| s.listen(now, local, backlog, cfg))??;
        Ok(TcpListener { host: self.clone(), id })
    }

    /// connect(): returns once the connection is established, or with the error that ended it.
    pub async fn connect(&self, remote: SocketAddrV4, cfg: Option<TcpConfig>) -> Result<TcpStream, TcpError> {
        self.connect_from(0, remote, cfg).await
    }

    /// A non-blocking connect(): sends the SYN and returns the stream at once, in SYN-SENT
    /// (`connect` then returns -1 EINPROGRESS in C). Reads and writes wait for the handshake.
    pub fn connect_start(&self, remote: SocketAddrV4, cfg: Option<TcpConfig>) -> Result<TcpStream, TcpError> {
        let src = self.source_for(*remote.ip()).ok_or(TcpError::InvalidArgument)?;
        let local = SocketAddrV4::new(src, 0);
        let id = self.with_stack(|s, now| s.connect(now, local, remote, cfg))??;
        Ok(TcpStream::new(self.clone(), id))
    }

    /// connect() from a chosen local port (0: an ephemeral one).
    pub async fn connect_from(
        &self,
        local_port: u16,
        remote: SocketAddrV4,
        cfg: Option<TcpConfig>,
    ) -> Result<TcpStream, TcpError> {
        let src = self.source_for(*remote.ip()).ok_or(TcpError::InvalidArgument)?;
        let local = SocketAddrV4::new(src, local_port);
        let id = self.with_stack(|s, now| s.connect(now, local, remote, cfg))??;
        self.wait_on(id, |s, _| match s.connect_result(id) {
            Ok(None) => None,
            Ok(Some(())) => Some(Ok(())),
            Err(e) => Some(Err(e)),
        })
        .await??;
        Ok(TcpStream::new(self.clone(), id))
    }
}

/// A listening socket (`listen()`); closed when dropped.
pub struct TcpListener {
    host: Host,
    id: SocketId,
}

impl TcpListener {
    /// The socket's id in its host's stack.
    pub fn id(&self) -> SocketId {
        self.id
    }

    /// accept(): the next established connection, waiting for one if needed.
    pub async fn accept(&self) -> Result<TcpStream, TcpError> {
        let id = self.id;
        let child = self
            .host
            .wait_on(id, |s, now| match s.accept(now, id) {
                Ok(Some(c)) => Some(Ok(c)),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            })
            .await??;
        Ok(TcpStream::new(self.host.clone(), child))
    }

    /// close(): stops listening; connections not yet accepted are reset.
    pub fn close(self) -> Result<(), TcpError> {
        self.host.with_stack(|s, now| s.close(now, self.id))?
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let _ = self.host.with_stack(|s, now| {
            if s.state(self.id).is_some() {
                let _ = s.close(now, self.id);
            }
        });
    }
}

/// A TCP connection. Dropping it closes it, as `close()` would, unless it was closed or aborted
/// before or has already ended.
///
/// Besides its own methods it implements `futures-io`'s `AsyncRead` and `AsyncWrite`, so code
/// written against those traits runs on it unchanged. Where a trait method has the name of an
/// inherent one (`read`, `write_all`, `close`), Rust picks the inherent one; call the trait's
/// explicitly (`AsyncWriteExt::close(&mut stream)`) to get its meaning: the trait's `close` is a
/// half-close (shutdown(SHUT_WR)), the inherent `close` a full close().
pub struct TcpStream {
    host: Host,
    id: SocketId,
    closed: Cell<bool>,
}

impl TcpStream {
    fn new(host: Host, id: SocketId) -> TcpStream {
        TcpStream { host, id, closed: Cell::new(false) }
    }

    /// The socket's id in its host's stack.
    pub fn id(&self) -> SocketId {
        self.id
    }

    /// Reads at least one byte; `Ok(0)` at end of stream.
    pub async fn read(&self, buf: &mut [u8]) -> Result<usize, TcpError> {
        let id = self.id;
        self.host
            .wait_on(id, |s, now| match s.recv(now, id, buf) {
                Ok(Some(n)) => Some(Ok(n)),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            })
            .await?
    }

    /// Writes all of `data`, waiting for buffer space as needed.
    pub async fn write_all(&self, mut data: &[u8]) -> Result<(), TcpError> {
        let id = self.id;
        while !data.is_empty() {
            let n = self
                .host
                .wait_on(id, |s, now| match s.send(now, id, data) {
                    Ok(0) => None,
                    Ok(n) => Some(Ok(n)),
                    Err(e) => Some(Err(e)),
                })
                .await??;
            data = &data[n..];
        }
        Ok(())
    }

    /// Writes `len` bytes that `fill` produces straight into the connection's send buffer, in
    /// order, as room becomes free: `fill(dst)` must write the next `dst.len()` bytes.
    pub async fn write_with(&self, len: u64, fill: &mut dyn FnMut(&mut [u8])) -> Result<(), TcpError> {
        let id = self.id;
        let mut left = len;
        while left > 0 {
            let max = usize::try_from(left).unwrap_or(usize::MAX);
            let n = self
                .host
                .wait_on(id, |s, now| match s.send_with(now, id, max, &mut |_, dst| fill(dst)) {
                    Ok(0) => None,
                    Ok(n) => Some(Ok(n)),
                    Err(e) => Some(Err(e)),
                })
                .await??;
            left -= n as u64;
        }
        Ok(())
    }

    /// Writes the bytes `[at, at + len)` of `content`, waiting for buffer space as needed. The
    /// stack keeps them as a range where it can (netlab's own stack: no copy of them is held, the
    /// payload of each segment is produced from `content` when it is sent; see
    /// `tcp::ContentSource`), so a bulk sender's memory does not grow with its send buffer.
    pub async fn write_content(&self, content: &SharedContent, at: u64, len: u64) -> Result<(), TcpError> {
        let id = self.id;
        let mut done = 0u64;
        while done < len {
            let max = usize::try_from(len - done).unwrap_or(usize::MAX);
            let n = self
                .host
                .wait_on(id, |s, now| match s.send_content(now, id, content, at + done, max) {
                    Ok(0) => None,
                    Ok(n) => Some(Ok(n)),
                    Err(e) => Some(Err(e)),
                })
                .await??;
            done += n as u64;
        }
        Ok(())
    }

    /// Reads until end of stream, handing `sink` the received bytes straight from the connection's
    /// receive buffer (no copy into an application buffer).
    pub async fn read_to_end_with(&self, mut sink: impl FnMut(&[u8])) -> Result<u64, TcpError> {
        let id = self.id;
        let mut total = 0u64;
        loop {
            let n = self
                .host
                .wait_on(id, |s, now| match s.recv_with(now, id, usize::MAX, &mut |chunk| sink(chunk)) {
                    Ok(Some(n)) => Some(Ok(n)),
                    Ok(None) => None,
                    Err(e) => Some(Err(e)),
                })
                .await??;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
        }
    }

    /// The orderly end of a sender: half-close, read until the peer's FIN (discarding anything it
    /// still sends), then close (the connection goes on to TIME-WAIT).
    pub async fn finish(&self) -> Result<(), TcpError> {
        self.shutdown()?;
        self.read_to_end_with(|_| {}).await?;
        self.close()
    }

    /// shutdown(SHUT_WR).
    pub fn shutdown(&self) -> Result<(), TcpError> {
        self.host.with_stack(|s, now| s.shutdown_write(now, self.id))?
    }

    /// close(): the connection finishes on its own (FIN, TIME_WAIT) after the call returns.
    pub fn close(&self) -> Result<(), TcpError> {
        self.closed.set(true);
        self.host.with_stack(|s, now| s.close(now, self.id))?
    }

    /// abort(): RST now.
    pub fn abort(&self) -> Result<(), TcpError> {
        self.closed.set(true);
        self.host.with_stack(|s, now| s.abort(now, self.id))?
    }

    /// The connection's state, while the stack still knows it.
    pub fn state(&self) -> Option<crate::tcp::TcpState> {
        self.host.with_stack(|s, _| s.state(self.id)).ok().flatten()
    }

    /// Polls `op` once; registers the task's waker with the socket when it would block (`None`).
    fn poll_op<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnOnce(&mut dyn Sockets, Instant) -> Result<Option<R>, TcpError>,
    ) -> Poll<io::Result<R>> {
        let id = self.id;
        let r = self.host.with_stack(|s, now| {
            let r = op(s, now);
            if matches!(r, Ok(None)) {
                s.register_waker(id, cx.waker());
            }
            r
        });
        match r.and_then(|r| r) {
            Ok(Some(v)) => Poll::Ready(Ok(v)),
            Ok(None) => Poll::Pending,
            Err(e) => Poll::Ready(Err(io_error(e))),
        }
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        if self.closed.get() {
            return;
        }
        let _ = self.host.with_stack(|s, now| {
            if s.state(self.id).is_some_and(|st| st != crate::tcp::TcpState::Closed) {
                let _ = s.close(now, self.id);
            }
        });
    }
}

/// The `std::io` error for a socket error.
fn io_error(e: TcpError) -> io::Error {
    let kind = match e {
        TcpError::ConnectionRefused => io::ErrorKind::ConnectionRefused,
        TcpError::ConnectionReset => io::ErrorKind::ConnectionReset,
        TcpError::TimedOut => io::ErrorKind::TimedOut,
        TcpError::NotConnected => io::ErrorKind::NotConnected,
        TcpError::AddrInUse => io::ErrorKind::AddrInUse,
        TcpError::InvalidSocket | TcpError::InvalidArgument => io::ErrorKind::InvalidInput,
        TcpError::Closing => io::ErrorKind::BrokenPipe,
    };
    io::Error::new(kind, e)
}

impl futures_io::AsyncRead for TcpStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let id = self.id;
        self.poll_op(cx, |s, now| s.recv(now, id, buf))
    }
}

impl futures_io::AsyncWrite for TcpStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let id = self.id;
        self.poll_op(cx, |s, now| s.send(now, id, buf).map(|n| (n > 0 || buf.is_empty()).then_some(n)))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Written bytes are in the connection's send buffer; TCP sends them as it can.
        Poll::Ready(Ok(()))
    }

    /// Half-closes the connection (shutdown(SHUT_WR)): the peer reads end of stream.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let id = self.id;
        Poll::Ready(self.host.with_stack(|s, now| s.shutdown_write(now, id)).and_then(|r| r).map_err(io_error))
    }
}
