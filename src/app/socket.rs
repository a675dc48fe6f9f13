//! TCP sockets for applications: the blocking-style calls of the classic lab (`sleep_on`/`wake_up`),
//! as `async fn`s that suspend on the simulated clock until they can proceed.

use super::Ctx;
use crate::net::world::Network;
use crate::sim::Instant;
use crate::tcp::{SocketId, TcpConfig, TcpError, TcpStack};
use std::future::poll_fn;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::task::Poll;

impl Ctx {
    /// Runs `f` on this host's TCP stack and marks the host for output processing.
    pub(crate) fn with_stack<R>(&self, f: impl FnOnce(&mut TcpStack, Instant) -> R) -> Result<R, TcpError> {
        let mut net = self.core.net.borrow_mut();
        let now = net.fab.now;
        let Network { nodes, .. } = &mut *net;
        let stack = nodes[self.node].tcp.as_mut().ok_or(TcpError::InvalidArgument)?;
        let r = f(stack, now);
        net.touch(self.node);
        Ok(r)
    }

    /// Polls `op` until it returns `Some`, registering the task's waker with socket `id` in between.
    async fn wait_on<R>(
        &self,
        id: SocketId,
        mut op: impl FnMut(&mut TcpStack, Instant) -> Option<R>,
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
        Ok(TcpListener { ctx: self.clone(), id })
    }

    /// connect(): returns once the connection is established, or with the error that ended it.
    pub async fn connect(&self, remote: SocketAddrV4, cfg: Option<TcpConfig>) -> Result<TcpStream, TcpError> {
        self.connect_from(0, remote, cfg).await
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
        Ok(TcpStream { ctx: self.clone(), id })
    }
}

pub struct TcpListener {
    ctx: Ctx,
    pub id: SocketId,
}

impl TcpListener {
    pub async fn accept(&self) -> Result<TcpStream, TcpError> {
        let id = self.id;
        let child = self
            .ctx
            .wait_on(id, |s, now| match s.accept(now, id) {
                Ok(Some(c)) => Some(Ok(c)),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            })
            .await??;
        Ok(TcpStream { ctx: self.ctx.clone(), id: child })
    }

    pub fn close(&self) -> Result<(), TcpError> {
        self.ctx.with_stack(|s, now| s.close(now, self.id))?
    }
}

pub struct TcpStream {
    ctx: Ctx,
    pub id: SocketId,
}

impl TcpStream {
    /// Reads at least one byte; `Ok(0)` at end of stream.
    pub async fn read(&self, buf: &mut [u8]) -> Result<usize, TcpError> {
        let id = self.id;
        self.ctx
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
                .ctx
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
                .ctx
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

    /// Reads until end of stream, handing `sink` the received bytes straight from the connection's
    /// receive buffer (no copy into an application buffer).
    pub async fn read_to_end(&self, mut sink: impl FnMut(&[u8])) -> Result<u64, TcpError> {
        let id = self.id;
        let mut total = 0u64;
        loop {
            let n = self
                .ctx
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
        self.read_to_end(|_| {}).await?;
        self.close()
    }

    /// shutdown(SHUT_WR).
    pub fn shutdown(&self) -> Result<(), TcpError> {
        self.ctx.with_stack(|s, now| s.shutdown_write(now, self.id))?
    }

    /// close(): the connection finishes on its own (FIN, TIME_WAIT) after the call returns.
    pub fn close(&self) -> Result<(), TcpError> {
        self.ctx.with_stack(|s, now| s.close(now, self.id))?
    }

    /// abort(): RST now.
    pub fn abort(&self) -> Result<(), TcpError> {
        self.ctx.with_stack(|s, now| s.abort(now, self.id))?
    }

    pub fn state(&self) -> Option<crate::tcp::TcpState> {
        self.ctx.with_stack(|s, _| s.state(self.id)).ok().flatten()
    }
}
