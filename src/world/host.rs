//! The host API of tasks: what a program running on a simulated host can do.

use super::core::Core;
use super::join::JoinHandle;
use crate::net::fabric::Event;
use crate::net::node::IcmpSocket;
pub use crate::net::node::{IcmpKind, IcmpMessage};
use crate::net::{NetEvent, NodeId};
use crate::sim::{Duration, Instant};
use crate::wire::{IcmpRepr, IpProtocol};
use std::future::{Future, poll_fn};
use std::net::Ipv4Addr;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

/// A task's handle on its host and the simulation: the simulated clock (`sleep`, `timeout`), tasks
/// (`spawn`), seeded randomness (`rng`), name lookup (`resolve`), TCP sockets (`listen`, `connect`)
/// and ICMP echo sockets, all as `async fn`s that suspend on the simulated clock.
///
/// Tasks run on netlab's own single-threaded, deterministic executor, not on tokio: inside a task,
/// use `Host::sleep` and `Host::spawn`, not `tokio::time::sleep` or `tokio::spawn` (they need a
/// tokio runtime and the OS clock, and would make the run irreproducible). Any future that only
/// waits on netlab's sockets, timers and join handles (and `futures` combinators) works.
#[derive(Clone)]
pub struct Host {
    pub(crate) core: Rc<Core>,
    pub(crate) node: NodeId,
    pub(crate) app: usize,
}

impl Host {
    pub(crate) fn new(core: Rc<Core>, node: NodeId, app: usize) -> Host {
        Host { core, node, app }
    }

    /// The current simulated time.
    pub fn now(&self) -> Instant {
        self.core.net.borrow().fab.now
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.core.seed
    }

    /// This host's name.
    pub fn name(&self) -> String {
        self.core.net.borrow().nodes[self.node].name.clone()
    }

    /// This host's index in its world.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// Suspends until simulated time `t`.
    pub async fn sleep_until(&self, t: Instant) {
        let mut registered = false;
        poll_fn(|cx| {
            let mut net = self.core.net.borrow_mut();
            if net.fab.now >= t {
                return Poll::Ready(());
            }
            if !registered {
                registered = true;
                net.fab.queue.push(t, Event::Wake(cx.waker().clone()));
            }
            Poll::Pending
        })
        .await
    }

    /// Suspends for `d` of simulated time.
    pub async fn sleep(&self, d: Duration) {
        let t = self.now() + d;
        self.sleep_until(t).await
    }

    /// Runs `f` until it completes or simulated time reaches `deadline` (then `None`).
    pub async fn timeout_at<F: Future>(&self, deadline: Instant, f: F) -> Option<F::Output> {
        let mut f = pin!(f);
        let mut sleep = pin!(self.sleep_until(deadline));
        poll_fn(|cx| {
            if let Poll::Ready(v) = f.as_mut().poll(cx) {
                return Poll::Ready(Some(v));
            }
            if sleep.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await
    }

    /// Runs `f` until it completes or `d` of simulated time has passed (then `None`).
    pub async fn timeout<F: Future>(&self, d: Duration, f: F) -> Option<F::Output> {
        let deadline = self.now() + d;
        self.timeout_at(deadline, f).await
    }

    /// Starts another task on this host (e.g. a server's handler for one connection); its value
    /// comes through the returned handle.
    pub fn spawn<T: 'static>(&self, fut: impl Future<Output = T> + 'static) -> JoinHandle<T> {
        let (done, handle) = super::join::pair();
        self.core.spawned.borrow_mut().push(Box::pin(super::join::Completing::new(fut, done)));
        handle
    }

    /// A random stream for this application, derived from the seed and `component`.
    pub fn rng(&self, component: &str) -> crate::sim::SimRng {
        let name = self.core.apps.borrow()[self.app].name.clone();
        crate::sim::SimRng::for_component(self.core.seed, &format!("app:{name}:{component}"))
    }

    /// Appends a line to the application's output (and to the trace).
    pub fn print(&self, line: impl Into<String>) {
        let line = line.into();
        let now = self.now();
        self.core.net.borrow_mut().fab.sink.emit(now, NetEvent::App { app: self.app, line: line.clone() });
        self.core.apps.borrow_mut()[self.app].output.push(line);
    }

    /// Sets a named figure of the application's result (checked by expectations, shown in summaries).
    pub fn metric(&self, name: &str, value: f64) {
        self.core.apps.borrow_mut()[self.app].metrics.insert(name.to_string(), value);
    }

    /// The address this host uses to reach `dst`.
    pub fn source_for(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        self.core.net.borrow().nodes[self.node].source_for(dst)
    }

    /// Resolves a host name or a dotted address to an address of that host.
    pub fn resolve(&self, name: &str) -> Option<Ipv4Addr> {
        if let Ok(ip) = name.parse() {
            return Some(ip);
        }
        let net = self.core.net.borrow();
        let n = net.node_id(name)?;
        net.nodes[n].ifaces.first().map(|i| i.addr.addr)
    }

    // ------------------------------------------------------------------ ICMP

    /// Opens an ICMP echo socket with identifier `ident`.
    pub fn icmp_open(&self, ident: u16) {
        self.core.net.borrow_mut().nodes[self.node].icmp.insert(ident, IcmpSocket::default());
    }

    /// Closes the ICMP echo socket `ident`.
    pub fn icmp_close(&self, ident: u16) {
        self.core.net.borrow_mut().nodes[self.node].icmp.remove(&ident);
    }

    /// Sends an echo request. Returns false when there is no route.
    pub fn icmp_echo(&self, dst: Ipv4Addr, ident: u16, seq: u16, ttl: u8, data: &[u8]) -> bool {
        let mut net = self.core.net.borrow_mut();
        let crate::net::network::Network { nodes, fab, .. } = &mut *net;
        let msg = IcmpRepr::EchoRequest { ident, seq, data };
        let ok = nodes[self.node]
            .send_ip(fab, None, dst, IpProtocol::Icmp, ttl, false, msg.buffer_len(), |b, _| msg.emit(b));
        net.touch(self.node);
        ok.is_some()
    }

    /// The next message for socket `ident`, waiting for it if needed.
    pub async fn icmp_recv(&self, ident: u16) -> IcmpMessage {
        poll_fn(|cx| {
            let mut net = self.core.net.borrow_mut();
            let Some(sock) = net.nodes[self.node].icmp.get_mut(&ident) else {
                return Poll::Pending;
            };
            match sock.inbox.pop_front() {
                Some(m) => Poll::Ready(m),
                None => {
                    sock.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}
