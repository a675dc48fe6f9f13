//! The socket half of a host's transport, as tasks use it: netlab's `TcpStack` directly, or any
//! stack under test through `crate::stack::Stack`. The methods have `TcpStack`'s semantics.

use crate::sim::Instant;
use crate::stack::Stack;
use crate::tcp::{SocketId, TcpConfig, TcpError, TcpStack, TcpState};
use std::net::SocketAddrV4;
use std::task::Waker;

/// Socket calls of a host's transport layer.
pub(crate) trait Sockets {
    fn listen(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        backlog: usize,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError>;
    fn accept(&mut self, now: Instant, listener: SocketId) -> Result<Option<SocketId>, TcpError>;
    fn connect(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError>;
    fn connect_result(&self, id: SocketId) -> Result<Option<()>, TcpError>;
    fn send(&mut self, now: Instant, id: SocketId, data: &[u8]) -> Result<usize, TcpError>;
    fn send_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        fill: &mut dyn FnMut(usize, &mut [u8]),
    ) -> Result<usize, TcpError>;
    fn recv(&mut self, now: Instant, id: SocketId, buf: &mut [u8]) -> Result<Option<usize>, TcpError>;
    fn recv_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<usize>, TcpError>;
    fn shutdown_write(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError>;
    fn close(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError>;
    fn abort(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError>;
    fn state(&self, id: SocketId) -> Option<TcpState>;
    fn register_waker(&mut self, id: SocketId, waker: &Waker);
}

/// Forwards every socket call of [`Sockets`] to the same-named method of `$t`.
macro_rules! forward_sockets {
    ($t:ty, $s:ident => $target:expr) => {
        impl Sockets for $t {
            fn listen(
                &mut self,
                now: Instant,
                local: SocketAddrV4,
                backlog: usize,
                cfg: Option<TcpConfig>,
            ) -> Result<SocketId, TcpError> {
                {
                    let $s = self;
                    $target.listen(now, local, backlog, cfg)
                }
            }
            fn accept(&mut self, now: Instant, listener: SocketId) -> Result<Option<SocketId>, TcpError> {
                {
                    let $s = self;
                    $target.accept(now, listener)
                }
            }
            fn connect(
                &mut self,
                now: Instant,
                local: SocketAddrV4,
                remote: SocketAddrV4,
                cfg: Option<TcpConfig>,
            ) -> Result<SocketId, TcpError> {
                {
                    let $s = self;
                    $target.connect(now, local, remote, cfg)
                }
            }
            fn connect_result(&self, id: SocketId) -> Result<Option<()>, TcpError> {
                {
                    let $s = self;
                    $target.connect_result(id)
                }
            }
            fn send(&mut self, now: Instant, id: SocketId, data: &[u8]) -> Result<usize, TcpError> {
                {
                    let $s = self;
                    $target.send(now, id, data)
                }
            }
            fn send_with(
                &mut self,
                now: Instant,
                id: SocketId,
                max: usize,
                fill: &mut dyn FnMut(usize, &mut [u8]),
            ) -> Result<usize, TcpError> {
                {
                    let $s = self;
                    $target.send_with(now, id, max, fill)
                }
            }
            fn recv(&mut self, now: Instant, id: SocketId, buf: &mut [u8]) -> Result<Option<usize>, TcpError> {
                {
                    let $s = self;
                    $target.recv(now, id, buf)
                }
            }
            fn recv_with(
                &mut self,
                now: Instant,
                id: SocketId,
                max: usize,
                f: &mut dyn FnMut(&[u8]),
            ) -> Result<Option<usize>, TcpError> {
                {
                    let $s = self;
                    $target.recv_with(now, id, max, f)
                }
            }
            fn shutdown_write(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
                {
                    let $s = self;
                    $target.shutdown_write(now, id)
                }
            }
            fn close(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
                {
                    let $s = self;
                    $target.close(now, id)
                }
            }
            fn abort(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
                {
                    let $s = self;
                    $target.abort(now, id)
                }
            }
            fn state(&self, id: SocketId) -> Option<TcpState> {
                {
                    let $s = self;
                    $target.state(id)
                }
            }
            fn register_waker(&mut self, id: SocketId, waker: &Waker) {
                {
                    let $s = self;
                    $target.register_waker(id, waker)
                }
            }
        }
    };
}

forward_sockets!(TcpStack, s => (*s));
// `(**s)` is the `dyn Stack` itself: calling on the box would recurse into this impl.
forward_sockets!(Box<dyn Stack>, s => (**s));
