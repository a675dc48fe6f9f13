//! `SmoltcpStack`: the smoltcp crate's TCP and IPv4 in-process, on the simulated clock.
//!
//! smoltcp runs on a `Medium::Ip` device whose receive and transmit queues are plain `VecDeque`s:
//! `receive` queues a datagram and polls the interface, `poll_transmit` polls and drains the
//! transmit queue. Time is our nanosecond `Instant` in smoltcp's microseconds. The interface's
//! random seed (ISNs) is the key the host gives, so runs replay exactly.
//!
//! netlab's socket API on smoltcp's:
//! - a listener with backlog n is a pool of listening smoltcp sockets on the same endpoint (at most
//!   `POOL_MAX` at a time, and never more than n minus the connections waiting for `accept`); a pool
//!   socket that receives a SYN becomes a child connection with its own `SocketId` and is replaced;
//! - ephemeral ports are ours (smoltcp wants a local port), from 49152 up, offset by the key;
//! - close with unread data aborts (RST), as netlab's stack does (RFC 2525 2.17);
//! - connection failures are inferred from the state before CLOSED and whether a RST for the
//!   connection was just received: smoltcp does not say why a connection closed (see `failure_of`).
//!
//! What smoltcp 0.14 cannot be told (findings for docs/stacks.md): RTO bounds (fixed 1 s initial and
//! minimum, 60 s maximum), TIME-WAIT length (fixed 10 s, not 2 x MSL), MSS (derived from the MTU
//! only), SACK (no SACK-based recovery), timestamps (its generator is a context-free `fn`, so
//! simulated time cannot reach it; left off), retransmission counts (one "no progress" timeout
//! instead, set from the counts), a full backlog (a SYN nobody listens for gets a RST; netlab's
//! stack and Linux drop it), and at most 2 addresses per interface (its build-time default).

use super::{Sockets, Stack, StackError, StackErrorKind};
use crate::sim::{Duration, Instant};
use crate::tcp::{CongestionAlgorithm, SocketId, TcpConfig, TcpError, TcpEvent, TcpEventKind, TcpState};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::socket::tcp;
use smoltcp::wire::{HardwareAddress, IpCidr, IpListenEndpoint};
use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::task::Waker;

/// At most this many listening smoltcp sockets per listener at a time (each has its buffers).
const POOL_MAX: usize = 8;
const EPHEMERAL_FIRST: u16 = 49152;
const EPHEMERAL_COUNT: u32 = 65536 - EPHEMERAL_FIRST as u32;

// ---------------------------------------------------------------- device

/// A `Medium::Ip` device on two queues.
struct Queues {
    rx: VecDeque<Vec<u8>>,
    tx: VecDeque<Vec<u8>>,
    mtu: usize,
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut VecDeque<Vec<u8>>);

impl RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0u8; len];
        let r = f(&mut buf);
        self.0.push_back(buf);
        r
    }
}

impl Device for Queues {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: smoltcp::time::Instant) -> Option<(Rx, Tx<'_>)> {
        let d = self.rx.pop_front()?;
        Some((Rx(d), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _: smoltcp::time::Instant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        caps
    }
}

// ---------------------------------------------------------------- time and config

fn to_smol(t: Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(i64::try_from(t.as_nanos() / 1000).unwrap_or(i64::MAX))
}

fn from_smol(t: smoltcp::time::Instant) -> Instant {
    Instant::from_nanos(u64::try_from(t.total_micros()).unwrap_or(0).saturating_mul(1000))
}

fn smol_duration(d: Duration) -> smoltcp::time::Duration {
    smoltcp::time::Duration::from_micros(d.as_micros())
}

/// The time netlab's stack would retransmit before giving up, as one "no progress" timeout: the
/// larger of the SYN and the data retransmission series (exponential backoff capped at `rto_max`).
fn give_up_after(cfg: &TcpConfig) -> Duration {
    let series = |first: Duration, n: u32| {
        (0..=n).fold((Duration::ZERO, first), |(sum, rto), _| (sum + rto, rto.saturating_mul(2).min(cfg.rto_max))).0
    };
    series(cfg.rto_initial, cfg.max_syn_retransmissions).max(series(cfg.rto_min, cfg.max_retransmissions))
}

/// A smoltcp socket with buffers and tunables from `cfg` (what smoltcp lets us set).
fn new_socket(cfg: &TcpConfig) -> tcp::Socket<'static> {
    let rx = tcp::SocketBuffer::new(vec![0u8; cfg.recv_buffer.max(1)]);
    let tx = tcp::SocketBuffer::new(vec![0u8; cfg.send_buffer.max(1)]);
    let mut s = tcp::Socket::new(rx, tx);
    s.set_nagle_enabled(cfg.nagle);
    s.set_ack_delay(cfg.delayed_ack.then(|| smol_duration(cfg.delayed_ack_timeout)));
    s.set_keep_alive(cfg.keepalive.map(smol_duration));
    s.set_timeout(Some(smol_duration(give_up_after(cfg))));
    s.set_congestion_control(match cfg.congestion {
        CongestionAlgorithm::NewReno => tcp::CongestionControl::Reno,
        CongestionAlgorithm::Cubic => tcp::CongestionControl::Cubic,
    });
    s
}

fn state_of(s: tcp::State) -> TcpState {
    match s {
        tcp::State::Closed => TcpState::Closed,
        tcp::State::Listen => TcpState::Listen,
        tcp::State::SynSent => TcpState::SynSent,
        tcp::State::SynReceived => TcpState::SynReceived,
        tcp::State::Established => TcpState::Established,
        tcp::State::FinWait1 => TcpState::FinWait1,
        tcp::State::FinWait2 => TcpState::FinWait2,
        tcp::State::CloseWait => TcpState::CloseWait,
        tcp::State::Closing => TcpState::Closing,
        tcp::State::LastAck => TcpState::LastAck,
        tcp::State::TimeWait => TcpState::TimeWait,
    }
}

fn synchronized(s: TcpState) -> bool {
    !matches!(s, TcpState::Closed | TcpState::Listen | TcpState::SynSent | TcpState::SynReceived)
}

// ---------------------------------------------------------------- sockets

struct Listener {
    local: SocketAddrV4,
    backlog: usize,
    cfg: TcpConfig,
    /// Listening smoltcp sockets.
    pool: Vec<SocketHandle>,
    /// Children that left LISTEN, not yet synchronized (ascending id = arrival order).
    embryonic: Vec<SocketId>,
    /// Synchronized children waiting for `accept`, in the order they got there.
    ready: VecDeque<SocketId>,
}

struct Conn {
    handle: SocketHandle,
    local: SocketAddrV4,
    remote: SocketAddrV4,
    /// The state seen after the last call or poll.
    seen: TcpState,
    established: bool,
    error: Option<TcpError>,
    /// The listener of a child not yet accepted.
    listener: Option<SocketId>,
    /// The application gave the socket up (close); it is freed once CLOSED.
    orphan: bool,
}

/// What a waiter may be waiting for; a change wakes it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Snapshot {
    state: Option<TcpState>,
    readable: bool,
    writable: bool,
    acceptable: bool,
}

/// smoltcp behind the `Stack` trait.
pub struct SmoltcpStack {
    key: u64,
    defaults: TcpConfig,
    iface: Option<Interface>,
    dev: Queues,
    set: SocketSet<'static>,
    listeners: BTreeMap<SocketId, Listener>,
    conns: BTreeMap<SocketId, Conn>,
    /// Sockets aborted or given up: removed from the set after the next poll (which sends the RST).
    graveyard: Vec<SocketHandle>,
    next_id: u32,
    next_ephemeral: u32,
    now: Instant,
    deadline: Option<Instant>,
    wakers: BTreeMap<SocketId, (Waker, Snapshot)>,
    events: Vec<TcpEvent>,
    /// While the poll of `receive` runs: (local, remote) of the connection its datagram is a RST
    /// for, if it is one (how a reset is told from a timeout, see `failure_of`).
    rst_in: Option<(SocketAddrV4, SocketAddrV4)>,
    /// While a state change caused by an application call (`shutdown_write`) is observed.
    in_app_call: bool,
}

impl SmoltcpStack {
    /// A stack whose initial sequence numbers and ephemeral ports are keyed by `key` (drawn from the
    /// host's seeded stream) and whose sockets use `defaults` unless a call gives its own config.
    pub fn new(key: u64, defaults: TcpConfig) -> Self {
        SmoltcpStack {
            key,
            defaults,
            iface: None,
            dev: Queues { rx: VecDeque::new(), tx: VecDeque::new(), mtu: 1500 },
            set: SocketSet::new(Vec::new()),
            listeners: BTreeMap::new(),
            conns: BTreeMap::new(),
            graveyard: Vec::new(),
            next_id: 1,
            next_ephemeral: (key % u64::from(EPHEMERAL_COUNT)) as u32,
            now: Instant::ZERO,
            deadline: None,
            wakers: BTreeMap::new(),
            events: Vec::new(),
            rst_in: None,
            in_app_call: false,
        }
    }

    fn alloc_id(&mut self) -> SocketId {
        let id = SocketId(self.next_id);
        self.next_id += 1;
        id
    }

    fn sock(&self, h: SocketHandle) -> &tcp::Socket<'static> {
        self.set.get::<tcp::Socket>(h)
    }

    fn sock_mut(&mut self, h: SocketHandle) -> &mut tcp::Socket<'static> {
        self.set.get_mut::<tcp::Socket>(h)
    }

    fn event(&mut self, socket: SocketId, local: SocketAddrV4, remote: Option<SocketAddrV4>, kind: TcpEventKind) {
        self.events.push(TcpEvent { time: self.now, socket, local: Some(local), remote, kind });
    }

    /// Polls the interface at `now`, then brings our view of every socket up to date.
    fn poll(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let Some(iface) = self.iface.as_mut() else { return };
        let t = to_smol(self.now);
        iface.poll(t, &mut self.dev, &mut self.set);
        for h in std::mem::take(&mut self.graveyard) {
            self.set.remove(h);
        }
        self.observe();
        let iface = self.iface.as_mut().expect("configured");
        self.deadline = iface.poll_at(t, &self.set).map(from_smol);
    }

    /// State changes, children of listeners, failures, frees, wake-ups.
    fn observe(&mut self) {
        let lids: Vec<SocketId> = self.listeners.keys().copied().collect();
        for lid in lids {
            self.adopt_children(lid);
        }
        let ids: Vec<SocketId> = self.conns.keys().copied().collect();
        for id in ids {
            self.observe_conn(id);
        }
        self.wake_changed();
    }

    /// Pool sockets that left LISTEN become children with ids of their own; the pool is refilled.
    fn adopt_children(&mut self, lid: SocketId) {
        let Some(l) = self.listeners.get_mut(&lid) else { return };
        let pool = std::mem::take(&mut l.pool);
        let mut keep = Vec::with_capacity(pool.len());
        for h in pool {
            let s = self.set.get::<tcp::Socket>(h);
            if s.state() == tcp::State::Listen {
                keep.push(h);
                continue;
            }
            let (Some(local), Some(remote)) = (s.local_endpoint(), s.remote_endpoint()) else {
                keep.push(h);
                continue;
            };
            let (local, remote) = (endpoint_v4(local), endpoint_v4(remote));
            let id = self.alloc_id();
            let conn = Conn {
                handle: h,
                local,
                remote,
                seen: TcpState::Listen,
                established: false,
                error: None,
                listener: Some(lid),
                orphan: true,
            };
            self.conns.insert(id, conn);
            self.listeners.get_mut(&lid).expect("listener").embryonic.push(id);
        }
        self.listeners.get_mut(&lid).expect("listener").pool = keep;
        self.refill(lid);
    }

    /// Keeps min(POOL_MAX, backlog - waiting children) sockets listening.
    fn refill(&mut self, lid: SocketId) {
        let Some(l) = self.listeners.get(&lid) else { return };
        let want = l.backlog.saturating_sub(l.embryonic.len() + l.ready.len()).min(POOL_MAX);
        let (have, local, cfg) = (l.pool.len(), l.local, l.cfg.clone());
        for _ in have..want {
            let mut s = new_socket(&cfg);
            if s.listen(listen_endpoint(local)).is_err() {
                return;
            }
            let h = self.set.add(s);
            self.listeners.get_mut(&lid).expect("listener").pool.push(h);
        }
    }

    fn observe_conn(&mut self, id: SocketId) {
        let Some(c) = self.conns.get(&id) else { return };
        let (h, before) = (c.handle, c.seen);
        let now_state = state_of(self.sock(h).state());
        if now_state == before {
            return;
        }
        let (local, remote) = (c.local, c.remote);
        self.event(id, local, Some(remote), TcpEventKind::StateChange { from: before, to: now_state });
        let c = self.conns.get_mut(&id).expect("conn");
        c.seen = now_state;
        c.established |= synchronized(now_state);
        if now_state == TcpState::Closed {
            self.on_closed(id, before);
        } else if now_state == TcpState::Listen {
            // smoltcp returns a child to LISTEN when a RST arrives in SYN-RECEIVED: it listens again.
            self.return_to_pool(id);
        } else if synchronized(now_state) {
            self.promote(id);
        }
    }

    /// A child became synchronized: it moves to its listener's accept queue.
    fn promote(&mut self, id: SocketId) {
        let Some(lid) = self.conns.get(&id).and_then(|c| c.listener) else { return };
        if let Some(l) = self.listeners.get_mut(&lid)
            && let Some(pos) = l.embryonic.iter().position(|&x| x == id)
        {
            l.embryonic.remove(pos);
            l.ready.push_back(id);
        }
    }

    fn return_to_pool(&mut self, id: SocketId) {
        let Some(c) = self.conns.remove(&id) else { return };
        match c.listener.and_then(|lid| self.listeners.get_mut(&lid)) {
            Some(l) => {
                l.embryonic.retain(|&x| x != id);
                l.ready.retain(|&x| x != id);
                l.pool.push(c.handle);
            }
            None => self.graveyard.push(c.handle),
        }
    }

    fn on_closed(&mut self, id: SocketId, before: TcpState) {
        let c = self.conns.get_mut(&id).expect("conn");
        // A CLOSED the application's own call caused (close in SYN-SENT) is no failure.
        if (!c.orphan || c.listener.is_some()) && !self.in_app_call {
            let rst = self.rst_in == Some((c.local, c.remote));
            c.error = failure_of(before, rst);
            if let Some(error) = c.error {
                let (local, remote) = (c.local, c.remote);
                self.event(id, local, Some(remote), TcpEventKind::Error { error });
            }
        }
        let c = &self.conns[&id];
        if c.orphan {
            // Nobody holds it (given up, or a child never accepted): freed.
            let (h, lid) = (c.handle, c.listener);
            self.conns.remove(&id);
            self.graveyard.push(h);
            if let Some(l) = lid.and_then(|lid| self.listeners.get_mut(&lid)) {
                l.embryonic.retain(|&x| x != id);
                l.ready.retain(|&x| x != id);
            }
            if let Some(lid) = lid {
                self.refill(lid);
            }
        }
    }

    fn snapshot(&self, id: SocketId) -> Snapshot {
        if let Some(l) = self.listeners.get(&id) {
            return Snapshot {
                state: Some(TcpState::Listen),
                readable: false,
                writable: false,
                acceptable: !l.ready.is_empty(),
            };
        }
        match self.conns.get(&id) {
            None => Snapshot { state: None, readable: true, writable: true, acceptable: false },
            Some(c) => {
                let s = self.sock(c.handle);
                let readable = s.can_recv() || (c.established && !s.may_recv()) || c.error.is_some();
                Snapshot { state: Some(c.seen), readable, writable: s.can_send(), acceptable: false }
            }
        }
    }

    fn wake_changed(&mut self) {
        let ids: Vec<SocketId> = self.wakers.keys().copied().collect();
        for id in ids {
            let snap = self.snapshot(id);
            if self.wakers[&id].1 != snap
                && let Some((w, _)) = self.wakers.remove(&id)
            {
                w.wake();
            }
        }
    }

    fn ephemeral_port(&mut self, local_ip: Ipv4Addr, remote: SocketAddrV4) -> Option<u16> {
        for _ in 0..EPHEMERAL_COUNT {
            let port = EPHEMERAL_FIRST + (self.next_ephemeral % EPHEMERAL_COUNT) as u16;
            self.next_ephemeral = (self.next_ephemeral + 1) % EPHEMERAL_COUNT;
            let local = SocketAddrV4::new(local_ip, port);
            if !self.tuple_used(local, remote) && !self.listeners.values().any(|l| l.local.port() == port) {
                return Some(port);
            }
        }
        None
    }

    fn tuple_used(&self, local: SocketAddrV4, remote: SocketAddrV4) -> bool {
        self.conns.values().any(|c| c.local == local && c.remote == remote)
    }

    fn conn(&self, id: SocketId) -> Result<&Conn, TcpError> {
        self.conns.get(&id).ok_or(TcpError::InvalidSocket)
    }

    /// Frees connection `id` now (abort, or close of a listener's children).
    fn abort_conn(&mut self, id: SocketId) {
        if let Some(c) = self.conns.remove(&id) {
            self.sock_mut(c.handle).abort();
            let from = c.seen;
            if from != TcpState::Closed {
                self.event(id, c.local, Some(c.remote), TcpEventKind::StateChange { from, to: TcpState::Closed });
            }
            self.graveyard.push(c.handle);
        }
    }

    fn close_listener(&mut self, lid: SocketId) {
        let Some(l) = self.listeners.remove(&lid) else { return };
        for h in l.pool {
            self.sock_mut(h).abort();
            self.graveyard.push(h);
        }
        // Connections never accepted are reset, as netlab's stack does.
        for id in l.embryonic.into_iter().chain(l.ready) {
            self.abort_conn(id);
        }
        let local = l.local;
        self.event(lid, local, None, TcpEventKind::StateChange { from: TcpState::Listen, to: TcpState::Closed });
    }
}

/// Why a connection that nobody closed reached CLOSED from `before`; `rst`: the poll that closed it
/// processed a RST for it. smoltcp does not say, but outside the closing states it closes a
/// connection only on a RST or when its "no progress" timeout (`set_timeout`) expires, so a close
/// without a RST is a timeout. From SYN-SENT a RST means refused; from the closing states LAST-ACK,
/// TIME-WAIT and CLOSING the end is normal (RFC 9293 3.10.7.4: a RST there just closes).
fn failure_of(before: TcpState, rst: bool) -> Option<TcpError> {
    match before {
        TcpState::LastAck | TcpState::TimeWait | TcpState::Closing | TcpState::Closed => None,
        _ if !rst => Some(TcpError::TimedOut),
        TcpState::SynSent => Some(TcpError::ConnectionRefused),
        _ => Some(TcpError::ConnectionReset),
    }
}

/// (local, remote) of the connection a datagram arriving here resets, if it is a RST.
fn rst_target(datagram: &[u8]) -> Option<(SocketAddrV4, SocketAddrV4)> {
    let (ip, payload) = crate::wire::Ipv4Repr::parse(datagram).ok()?;
    let seg = crate::wire::TcpRepr::parse(payload, ip.src, ip.dst).ok()?;
    seg.flags.rst().then(|| (SocketAddrV4::new(ip.dst, seg.dst_port), SocketAddrV4::new(ip.src, seg.src_port)))
}

fn endpoint_v4(e: smoltcp::wire::IpEndpoint) -> SocketAddrV4 {
    let smoltcp::wire::IpAddress::Ipv4(a) = e.addr;
    SocketAddrV4::new(a, e.port)
}

fn listen_endpoint(local: SocketAddrV4) -> IpListenEndpoint {
    let addr = (!local.ip().is_unspecified()).then(|| smoltcp::wire::IpAddress::Ipv4(*local.ip()));
    IpListenEndpoint { addr, port: local.port() }
}

impl Sockets for SmoltcpStack {
    fn listen(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        backlog: usize,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        self.now = self.now.max(now);
        let port = local.port();
        if port == 0 {
            return Err(TcpError::InvalidArgument);
        }
        let clash = self.listeners.values().any(|l| {
            l.local.port() == port
                && (l.local.ip() == local.ip() || l.local.ip().is_unspecified() || local.ip().is_unspecified())
        });
        if clash {
            return Err(TcpError::AddrInUse);
        }
        let id = self.alloc_id();
        let cfg = cfg.unwrap_or_else(|| self.defaults.clone());
        let l = Listener {
            local,
            backlog: backlog.max(1),
            cfg,
            pool: Vec::new(),
            embryonic: Vec::new(),
            ready: VecDeque::new(),
        };
        self.listeners.insert(id, l);
        self.refill(id);
        self.event(id, local, None, TcpEventKind::StateChange { from: TcpState::Closed, to: TcpState::Listen });
        Ok(id)
    }

    fn accept(&mut self, now: Instant, listener: SocketId) -> Result<Option<SocketId>, TcpError> {
        self.now = self.now.max(now);
        let l = self.listeners.get_mut(&listener).ok_or(TcpError::InvalidSocket)?;
        let Some(id) = l.ready.pop_front() else { return Ok(None) };
        if let Some(c) = self.conns.get_mut(&id) {
            c.listener = None;
            c.orphan = false;
        }
        self.refill(listener);
        Ok(Some(id))
    }

    fn connect(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        self.now = self.now.max(now);
        if remote.port() == 0 || remote.ip().is_unspecified() || local.ip().is_unspecified() {
            return Err(TcpError::InvalidArgument);
        }
        let local = if local.port() == 0 {
            SocketAddrV4::new(*local.ip(), self.ephemeral_port(*local.ip(), remote).ok_or(TcpError::AddrInUse)?)
        } else {
            local
        };
        if self.tuple_used(local, remote) {
            return Err(TcpError::AddrInUse);
        }
        let cfg = cfg.unwrap_or_else(|| self.defaults.clone());
        let mut s = new_socket(&cfg);
        let iface = self.iface.as_mut().ok_or(TcpError::InvalidArgument)?;
        s.connect(iface.context(), remote, local).map_err(|_| TcpError::InvalidArgument)?;
        let handle = self.set.add(s);
        let id = self.alloc_id();
        let conn = Conn {
            handle,
            local,
            remote,
            seen: TcpState::SynSent,
            established: false,
            error: None,
            listener: None,
            orphan: false,
        };
        self.conns.insert(id, conn);
        self.event(
            id,
            local,
            Some(remote),
            TcpEventKind::StateChange { from: TcpState::Closed, to: TcpState::SynSent },
        );
        Ok(id)
    }

    fn connect_result(&self, id: SocketId) -> Result<Option<()>, TcpError> {
        let c = self.conn(id)?;
        match (c.error, c.seen) {
            (Some(e), _) => Err(e),
            (None, TcpState::SynSent | TcpState::SynReceived) => Ok(None),
            (None, _) if c.established => Ok(Some(())),
            (None, _) => Err(TcpError::NotConnected),
        }
    }

    fn send(&mut self, now: Instant, id: SocketId, data: &[u8]) -> Result<usize, TcpError> {
        self.send_with(now, id, data.len(), &mut |off, dst| dst.copy_from_slice(&data[off..off + dst.len()]))
    }

    fn send_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        fill: &mut dyn FnMut(usize, &mut [u8]),
    ) -> Result<usize, TcpError> {
        self.now = self.now.max(now);
        let c = self.conn(id)?;
        let (h, seen) = (c.handle, c.seen);
        if let Some(e) = c.error {
            return Err(e);
        }
        let s = self.sock_mut(h);
        if !s.may_send() {
            return match seen {
                // smoltcp takes no data before the handshake completes: would block.
                TcpState::SynSent | TcpState::SynReceived => Ok(0),
                TcpState::Closed => Err(TcpError::NotConnected),
                _ => Err(TcpError::Closing),
            };
        }
        // The send buffer is a ring: at most two contiguous pieces.
        let mut taken = 0;
        while taken < max {
            let piece = s.send(|buf| {
                let n = buf.len().min(max - taken);
                fill(taken, &mut buf[..n]);
                (n, n)
            });
            match piece {
                Ok(n) if n > 0 => taken += n,
                _ => break,
            }
        }
        Ok(taken)
    }

    fn recv(&mut self, now: Instant, id: SocketId, buf: &mut [u8]) -> Result<Option<usize>, TcpError> {
        let mut off = 0;
        self.recv_with(now, id, buf.len(), &mut |chunk| {
            buf[off..off + chunk.len()].copy_from_slice(chunk);
            off += chunk.len();
        })
    }

    fn recv_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<usize>, TcpError> {
        self.now = self.now.max(now);
        if max == 0 {
            // Ok(Some(0)) would read as end of stream.
            return Err(TcpError::InvalidArgument);
        }
        let c = self.conn(id)?;
        let (h, seen, error, established) = (c.handle, c.seen, c.error, c.established);
        let s = self.sock_mut(h);
        let mut got = 0;
        while got < max {
            let piece = s.recv(|buf| {
                let n = buf.len().min(max - got);
                if n > 0 {
                    f(&buf[..n]);
                }
                (n, n)
            });
            match piece {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(_) if got > 0 => break,
                Err(tcp::RecvError::Finished) => return Ok(Some(0)),
                Err(tcp::RecvError::InvalidState) => {
                    return match error {
                        Some(e) => Err(e),
                        None if matches!(seen, TcpState::SynSent | TcpState::SynReceived) => Ok(None),
                        None if established => Ok(Some(0)),
                        None => Err(TcpError::NotConnected),
                    };
                }
            }
        }
        Ok((got > 0).then_some(got))
    }

    fn shutdown_write(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        self.now = self.now.max(now);
        let c = self.conn(id)?;
        if let Some(e) = c.error {
            return Err(e);
        }
        let h = c.handle;
        self.sock_mut(h).close();
        self.in_app_call = true;
        self.observe_conn(id);
        self.in_app_call = false;
        Ok(())
    }

    fn close(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        self.now = self.now.max(now);
        if self.listeners.contains_key(&id) {
            self.close_listener(id);
            return Ok(());
        }
        let c = self.conns.get_mut(&id).ok_or(TcpError::InvalidSocket)?;
        c.orphan = true;
        let h = c.handle;
        if self.sock(h).recv_queue() > 0 {
            // RFC 2525 2.17 / netlab's stack: closing with unread data resets the connection.
            self.abort_conn(id);
            return Ok(());
        }
        self.sock_mut(h).close();
        self.observe_conn(id);
        Ok(())
    }

    fn abort(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        self.now = self.now.max(now);
        if self.listeners.contains_key(&id) {
            return self.close(now, id);
        }
        self.conn(id)?;
        self.abort_conn(id);
        Ok(())
    }

    fn state(&self, id: SocketId) -> Option<TcpState> {
        if self.listeners.contains_key(&id) {
            return Some(TcpState::Listen);
        }
        self.conns.get(&id).map(|c| c.seen)
    }

    fn register_waker(&mut self, id: SocketId, waker: &Waker) {
        if !self.listeners.contains_key(&id) && !self.conns.contains_key(&id) {
            waker.wake_by_ref();
            return;
        }
        let snap = self.snapshot(id);
        self.wakers.insert(id, (waker.clone(), snap));
    }
}

impl Stack for SmoltcpStack {
    fn name(&self) -> &str {
        "smoltcp"
    }

    /// States as seen after each call and poll (a state held only inside one poll is not seen).
    fn reports_states(&self) -> bool {
        true
    }

    fn configure(&mut self, addrs: &[(Ipv4Addr, u8)], mtu: u16) -> Result<(), StackError> {
        let fail =
            |m: String| StackError { host: String::new(), stack: "smoltcp".into(), kind: StackErrorKind::Config(m) };
        let Some(&(first, _)) = addrs.first() else {
            return Err(fail("no address".into()));
        };
        if mtu < 68 {
            return Err(fail(format!("MTU {mtu} is below IPv4's minimum of 68 (RFC 791)")));
        }
        self.dev.mtu = usize::from(mtu);
        let mut config = Config::new(HardwareAddress::Ip);
        config.random_seed = self.key;
        let mut iface = Interface::new(config, &mut self.dev, to_smol(self.now));
        let mut full = None;
        iface.update_ip_addrs(|ips| {
            for &(a, p) in addrs {
                if ips.push(IpCidr::new(smoltcp::wire::IpAddress::Ipv4(a), p)).is_err() {
                    full = Some(a);
                }
            }
        });
        if let Some(a) = full {
            return Err(fail(format!(
                "smoltcp takes at most {} addresses per interface ({a} is one too many)",
                addrs.len() - 1
            )));
        }
        // On Medium::Ip the gateway is never resolved: any address makes everything reachable.
        iface.routes_mut().add_default_ipv4_route(first).map_err(|_| fail("route table full".into()))?;
        self.iface = Some(iface);
        Ok(())
    }

    fn receive(&mut self, now: Instant, datagram: &[u8]) {
        self.dev.rx.push_back(datagram.to_vec());
        self.rst_in = rst_target(datagram);
        self.poll(now);
        self.rst_in = None;
    }

    fn poll_transmit(&mut self, now: Instant, out: &mut dyn FnMut(&[u8])) {
        self.poll(now);
        while let Some(d) = self.dev.tx.pop_front() {
            out(&d);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.poll(now);
    }

    fn drain_events(&mut self, f: &mut dyn FnMut(TcpEvent)) {
        for e in self.events.drain(..) {
            f(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn give_up_covers_both_retransmission_series() {
        // 6 SYN retransmissions (Linux's count; netlab's default is 7 since issue 12).
        let cfg = TcpConfig { max_syn_retransmissions: 6, ..TcpConfig::default() };
        // SYN: 1+2+4+8+16+32+60 = 123 s; data from 200 ms over 16 sends capped at 60 s is longer.
        let d = give_up_after(&cfg);
        assert!(d >= Duration::from_secs(123), "{d:?}");
        let syn_only = TcpConfig { max_retransmissions: 0, ..cfg };
        assert_eq!(give_up_after(&syn_only), Duration::from_secs(123));
    }

    #[test]
    fn failures_are_inferred_from_the_state_before_closed_and_a_rst() {
        assert_eq!(failure_of(TcpState::SynSent, true), Some(TcpError::ConnectionRefused));
        assert_eq!(failure_of(TcpState::SynSent, false), Some(TcpError::TimedOut));
        assert_eq!(failure_of(TcpState::Established, true), Some(TcpError::ConnectionReset));
        assert_eq!(failure_of(TcpState::Established, false), Some(TcpError::TimedOut));
        assert_eq!(failure_of(TcpState::CloseWait, false), Some(TcpError::TimedOut));
        assert_eq!(failure_of(TcpState::TimeWait, false), None);
        assert_eq!(failure_of(TcpState::LastAck, true), None);
    }

    /// Carries datagrams between two stacks at `now` until neither has anything to send.
    fn exchange(a: &mut dyn Stack, b: &mut dyn Stack, now: Instant) {
        loop {
            let (mut ab, mut ba) = (Vec::new(), Vec::new());
            a.poll_transmit(now, &mut |d| ab.push(d.to_vec()));
            b.poll_transmit(now, &mut |d| ba.push(d.to_vec()));
            if ab.is_empty() && ba.is_empty() {
                return;
            }
            ab.iter().for_each(|d| b.receive(now, d));
            ba.iter().for_each(|d| a.receive(now, d));
        }
    }

    #[test]
    fn a_backlog_of_two_accepts_two_in_order_and_refuses_the_third() {
        let (ca, sa) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let mut client = crate::stack::NetlabStack::new(1, TcpConfig::default());
        client.configure(&[(ca, 24)], 1500).unwrap();
        let mut server = SmoltcpStack::new(2, TcpConfig::default());
        server.configure(&[(sa, 24)], 1500).unwrap();
        let t = Instant::ZERO;
        let l = server.listen(t, SocketAddrV4::new(sa, 80), 2, None).unwrap();
        let conns: Vec<SocketId> = (0..3)
            .map(|_| client.connect(t, SocketAddrV4::new(ca, 0), SocketAddrV4::new(sa, 80), None).unwrap())
            .collect();
        exchange(&mut client, &mut server, t);
        assert_eq!(client.connect_result(conns[0]), Ok(Some(())));
        assert_eq!(client.connect_result(conns[1]), Ok(Some(())));
        // Finding (docs/stacks.md): no listening socket left, so smoltcp answers the SYN with a RST;
        // netlab's stack and Linux would drop it and let the client retry.
        assert_eq!(client.connect_result(conns[2]), Err(TcpError::ConnectionRefused));
        let first = server.accept(t, l).unwrap().expect("a connection");
        let second = server.accept(t, l).unwrap().expect("a second one");
        assert_eq!(server.accept(t, l), Ok(None));
        assert!(first < second);
        assert_eq!(server.state(first), Some(TcpState::Established));
        // Accepting made room: a new client gets in.
        let again = client.connect(t, SocketAddrV4::new(ca, 0), SocketAddrV4::new(sa, 80), None).unwrap();
        exchange(&mut client, &mut server, t);
        assert_eq!(client.connect_result(again), Ok(Some(())));
        assert!(server.accept(t, l).unwrap().is_some());
    }

    #[test]
    fn syn_goes_out_on_poll_with_the_mtu_mss() {
        let mut s = SmoltcpStack::new(7, TcpConfig::default());
        let a = Ipv4Addr::new(10, 0, 0, 1);
        s.configure(&[(a, 24)], 1400).unwrap();
        let id = s
            .connect(Instant::ZERO, SocketAddrV4::new(a, 0), SocketAddrV4::new(Ipv4Addr::new(10, 0, 1, 2), 80), None)
            .unwrap();
        assert_eq!(s.connect_result(id), Ok(None));
        let mut out = Vec::new();
        s.poll_transmit(Instant::ZERO, &mut |d| out.push(d.to_vec()));
        assert_eq!(out.len(), 1);
        let (ip, payload) = crate::wire::Ipv4Repr::parse(&out[0]).unwrap();
        let seg = crate::wire::TcpRepr::parse(payload, ip.src, ip.dst).unwrap();
        assert!(seg.flags.syn() && seg.src_port >= EPHEMERAL_FIRST);
        assert_eq!(seg.options.mss, Some(1360));
        assert!(s.poll_timeout().is_some());
    }
}

/// The failure a connection reports when its peer goes silent, and when its peer resets it.
#[cfg(test)]
mod failure_tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    fn host(key: u64, addr: Ipv4Addr) -> SmoltcpStack {
        // Short give-up time: 1 SYN retransmission, 2 data retransmissions, RTO capped at 1 s.
        let cfg = TcpConfig {
            max_syn_retransmissions: 1,
            max_retransmissions: 2,
            rto_max: Duration::from_secs(1),
            ..TcpConfig::default()
        };
        let mut s = SmoltcpStack::new(key, cfg);
        s.configure(&[(addr, 24)], 1500).unwrap();
        s
    }

    /// Moves every datagram either stack has to send to the other, until neither has any.
    fn exchange(a: &mut SmoltcpStack, b: &mut SmoltcpStack, now: Instant) {
        loop {
            let (mut ab, mut ba) = (Vec::new(), Vec::new());
            a.poll_transmit(now, &mut |d| ab.push(d.to_vec()));
            b.poll_transmit(now, &mut |d| ba.push(d.to_vec()));
            if ab.is_empty() && ba.is_empty() {
                return;
            }
            ab.iter().for_each(|d| b.receive(now, d));
            ba.iter().for_each(|d| a.receive(now, d));
        }
    }

    /// A connection from a to b, established and accepted: (a's socket, b's socket).
    fn connected(a: &mut SmoltcpStack, b: &mut SmoltcpStack) -> (SocketId, SocketId) {
        let l = b.listen(Instant::ZERO, SocketAddrV4::new(B, 80), 4, None).unwrap();
        let c = a.connect(Instant::ZERO, SocketAddrV4::new(A, 0), SocketAddrV4::new(B, 80), None).unwrap();
        exchange(a, b, Instant::ZERO);
        assert_eq!(a.connect_result(c), Ok(Some(())));
        let s = b.accept(Instant::ZERO, l).unwrap().expect("accepted");
        (c, s)
    }

    #[test]
    fn a_peer_that_goes_silent_times_the_connection_out() {
        let (mut a, mut b) = (host(1, A), host(2, B));
        let (c, _) = connected(&mut a, &mut b);
        assert_eq!(a.send(Instant::ZERO, c, b"hello"), Ok(5));
        // From now on nothing a sends arrives: it retransmits until its timeout ends the connection.
        let mut now = Instant::ZERO;
        while a.state(c) != Some(TcpState::Closed) {
            now = a.poll_timeout().expect("a timer runs while data is unacknowledged");
            a.handle_timeout(now);
            a.poll_transmit(now, &mut |_| {});
        }
        assert_eq!(a.send(now, c, b"more"), Err(TcpError::TimedOut));
    }

    #[test]
    fn a_rst_from_the_peer_resets_the_connection() {
        let (mut a, mut b) = (host(1, A), host(2, B));
        let (c, s) = connected(&mut a, &mut b);
        b.abort(Instant::ZERO, s).unwrap();
        exchange(&mut a, &mut b, Instant::ZERO);
        assert_eq!(a.state(c), Some(TcpState::Closed));
        assert_eq!(a.send(Instant::ZERO, c, b"more"), Err(TcpError::ConnectionReset));
    }
}
