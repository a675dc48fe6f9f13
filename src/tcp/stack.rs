//! The socket table of one host: listeners (SYN queue + accept queue, backlog), connections,
//! demultiplexing by the full 4-tuple first and then the listening address, RSTs for segments to
//! closed ports, ephemeral ports.

use super::connection::{Connection, Ctx, Outgoing, reset_for};
use super::event::{AppCall, AppResult, SegmentInfo, TimerKind};
use super::{SharedContent, SocketId, TcpConfig, TcpError, TcpEvent, TcpEventKind, TcpState, isn};
use crate::sim::{Duration, Instant};
use crate::wire::TcpRepr;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::task::Waker;

const EPHEMERAL_FIRST: u16 = 49152;
const EPHEMERAL_COUNT: u32 = 65536 - EPHEMERAL_FIRST as u32;

/// The socket id used in events that belong to no socket (e.g. a RST sent for a closed port).
pub const NO_SOCKET: SocketId = SocketId(0);

struct Listener {
    local: SocketAddrV4,
    backlog: usize,
    cfg: Arc<TcpConfig>,
    /// Embryonic connections (SYN-RECEIVED), ascending id = arrival order.
    syn_queue: BTreeSet<SocketId>,
    /// Established, not yet accepted.
    accept_queue: VecDeque<SocketId>,
    waker: Option<Waker>,
}

enum Socket {
    Listener(Listener),
    Conn(Box<Connection>),
}

/// A snapshot of a connection's internals, for tests and tools.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnInfo {
    /// RFC 9293 state.
    pub state: TcpState,
    /// Our address.
    pub local: SocketAddrV4,
    /// The peer's address.
    pub remote: SocketAddrV4,
    /// Congestion window, bytes.
    pub cwnd: u32,
    /// Slow start threshold, bytes (`u32::MAX` until the first loss).
    pub ssthresh: u32,
    /// Current retransmission timeout, backoff included.
    pub rto: Duration,
    /// Smoothed RTT; `None` before the first sample.
    pub srtt: Option<Duration>,
    /// In loss recovery (RFC 6582 / RFC 6675).
    pub in_recovery: bool,
    /// In-order bytes the application has not read yet.
    pub unread: usize,
    /// Bytes in the send buffer (unacknowledged + unsent).
    pub send_queued: usize,
    /// The error that failed the connection, if any.
    pub error: Option<TcpError>,
    /// Armed timers and their deadlines, in `TimerKind::ALL` order.
    pub timers: Vec<(TimerKind, Instant)>,
    /// SND.UNA, SND.NXT (rewound by a retransmission timeout) and the highest sequence number sent + 1.
    pub send_sequence: (u32, u32, u32),
}

/// One host's TCP: socket table, demultiplexing, connections.
pub struct TcpStack {
    isn_key: u64,
    defaults: TcpConfig,
    shared_defaults: Arc<TcpConfig>,
    next_id: u32,
    sockets: BTreeMap<SocketId, Socket>,
    by_tuple: BTreeMap<(SocketAddrV4, SocketAddrV4), SocketId>,
    listeners: BTreeMap<SocketAddrV4, SocketId>,
    outbox: Vec<Outgoing>,
    events: super::EventLog,
    next_ephemeral: u32,
    /// Connections that may have something to send: marked by segment arrival, application calls
    /// and timer expiry (each at most once, `Connection::in_dirty`). `poll_transmit` visits only
    /// these, in ascending id order (a pure function of the event order, and the same order as a
    /// walk over every socket).
    dirty: Vec<SocketId>,
    /// A lower bound of every connection's earliest deadline, ordered: `poll_timeout` and
    /// `handle_timeout` cost O(log n) instead of a scan of the socket table.
    /// `Connection::indexed_deadline` is the key; it is only updated when the deadline moves earlier.
    deadlines: BTreeSet<(Instant, SocketId)>,
}

impl TcpStack {
    /// `isn_key` keys the RFC 6528 style ISN generator (drawn from the host's seeded stream).
    pub fn new(isn_key: u64, defaults: TcpConfig) -> Self {
        TcpStack {
            isn_key,
            shared_defaults: Arc::new(defaults.clone()),
            defaults,
            next_id: 1,
            sockets: BTreeMap::new(),
            by_tuple: BTreeMap::new(),
            listeners: BTreeMap::new(),
            outbox: Vec::new(),
            events: super::EventLog { detail: true, ..Default::default() },
            // Deterministic, but different per host key (RFC 6056 style offset).
            next_ephemeral: (isn::keyed_hash(isn_key, [0x6570, 0]) % u64::from(EPHEMERAL_COUNT)) as u32,
            dirty: Vec::new(),
            deadlines: BTreeSet::new(),
        }
    }
    /// The configuration of sockets opened without one.
    pub fn defaults(&self) -> &TcpConfig {
        &self.defaults
    }

    fn alloc_id(&mut self) -> SocketId {
        let id = SocketId(self.next_id);
        self.next_id += 1;
        id
    }

    fn conn_mut(&mut self, id: SocketId) -> Option<&mut Connection> {
        match self.sockets.get_mut(&id) {
            Some(Socket::Conn(c)) => Some(c),
            _ => None,
        }
    }
    fn conn(&self, id: SocketId) -> Option<&Connection> {
        match self.sockets.get(&id) {
            Some(Socket::Conn(c)) => Some(c),
            _ => None,
        }
    }

    /// Runs `f` on connection `id` with a context, then does the stack-level follow-up.
    fn with_conn<R>(&mut self, id: SocketId, f: impl FnOnce(&mut Connection, &mut Ctx<'_>) -> R) -> Option<R> {
        let Some(Socket::Conn(c)) = self.sockets.get_mut(&id) else {
            return None;
        };
        let mut ctx = Ctx { events: &mut self.events, outbox: &mut self.outbox };
        let r = f(c, &mut ctx);
        self.after_conn(id);
        Some(r)
    }

    /// Moves newly established children to their listener's accept queue and frees connections
    /// that reached CLOSED with nobody holding them.
    fn after_conn(&mut self, id: SocketId) {
        self.mark_dirty(id);
        self.sync_deadline(id);
        let Some(Socket::Conn(c)) = self.sockets.get_mut(&id) else {
            return;
        };
        let synchronized =
            !matches!(c.state, TcpState::Closed | TcpState::Listen | TcpState::SynSent | TcpState::SynReceived);
        if let Some(lid) = c.listener
            && !c.queued_for_accept
            && synchronized
        {
            c.queued_for_accept = true;
            if let Some(Socket::Listener(l)) = self.sockets.get_mut(&lid) {
                l.syn_queue.remove(&id);
                l.accept_queue.push_back(id);
                if let Some(w) = l.waker.take() {
                    w.wake();
                }
            }
        }
        let Some(Socket::Conn(c)) = self.sockets.get(&id) else {
            return;
        };
        if c.state == TcpState::Closed && c.orphan {
            self.free(id);
        }
    }

    /// Marks connection `id` as possibly having something to send.
    fn mark_dirty(&mut self, id: SocketId) {
        if let Some(Socket::Conn(c)) = self.sockets.get_mut(&id)
            && !c.in_dirty
        {
            c.in_dirty = true;
            self.dirty.push(id);
        }
    }

    /// Re-files connection `id` in the deadline index after anything that may have changed its
    /// timers (O(log n), and nothing when the earliest deadline stayed the same).
    fn sync_deadline(&mut self, id: SocketId) {
        let Some(Socket::Conn(c)) = self.sockets.get_mut(&id) else {
            return;
        };
        let want = c.poll_timeout();
        let have = c.indexed_deadline;
        // The index may hold a time earlier than the connection's real deadline: `handle_timeout`
        // then finds nothing due and re-indexes it. So a deadline that moves later need not touch
        // the index now; that is the common move, the retransmission timer restarted by every ACK
        // (RFC 6298 5.3). A deadline that appears, moves earlier or goes away (an idle connection
        // should not wake up for nothing) updates it at once.
        match (have, want) {
            (None, None) => return,
            (Some(h), Some(w)) if h <= w => return,
            _ => {}
        }
        c.indexed_deadline = want;
        if let Some(t) = have {
            self.deadlines.remove(&(t, id));
        }
        if let Some(t) = want {
            self.deadlines.insert((t, id));
        }
    }

    fn free(&mut self, id: SocketId) {
        // A freed id left in `dirty` is skipped by poll_transmit.
        match self.sockets.remove(&id) {
            Some(Socket::Conn(mut c)) => {
                if let Some(t) = c.indexed_deadline {
                    self.deadlines.remove(&(t, id));
                }
                self.by_tuple.remove(&(c.local, c.remote));
                if let Some(lid) = c.listener
                    && let Some(Socket::Listener(l)) = self.sockets.get_mut(&lid)
                {
                    l.syn_queue.remove(&id);
                    if !l.accept_queue.is_empty() {
                        l.accept_queue.retain(|&x| x != id);
                    }
                }
                c.wake();
            }
            Some(Socket::Listener(mut l)) => {
                self.listeners.remove(&l.local);
                if let Some(w) = l.waker.take() {
                    w.wake();
                }
            }
            None => {}
        }
    }

    fn stack_event(&mut self, now: Instant, local: SocketAddrV4, remote: SocketAddrV4, kind: TcpEventKind) {
        self.events.push(TcpEvent { time: now, socket: NO_SOCKET, local: Some(local), remote: Some(remote), kind });
    }

    fn listener_state_event(&mut self, now: Instant, id: SocketId, local: SocketAddrV4, from: TcpState, to: TcpState) {
        self.events.push(TcpEvent {
            time: now,
            socket: id,
            local: Some(local),
            remote: None,
            kind: TcpEventKind::StateChange { from, to },
        });
    }

    fn app_event<T: Copy + Into<AppResult>>(
        &mut self,
        now: Instant,
        id: SocketId,
        call: AppCall,
        len: Option<usize>,
        result: &T,
    ) {
        if self.events.skip_detail() {
            return;
        }
        let (local, remote) = match self.sockets.get(&id) {
            Some(Socket::Conn(c)) => (Some(c.local), Some(c.remote)),
            Some(Socket::Listener(l)) => (Some(l.local), None),
            None => (None, None),
        };
        self.events.push(TcpEvent {
            time: now,
            socket: id,
            local,
            remote,
            kind: TcpEventKind::AppCall { call, len, result: (*result).into() },
        });
    }

    // ---- network side ----

    /// A segment arrived for one of our addresses; the IP layer has already verified its
    /// checksum.
    pub fn on_segment(&mut self, now: Instant, src: Ipv4Addr, dst: Ipv4Addr, seg: &TcpRepr<'_>) {
        let local = SocketAddrV4::new(dst, seg.dst_port);
        let remote = SocketAddrV4::new(src, seg.src_port);
        if let Some(&id) = self.by_tuple.get(&(local, remote)) {
            let reuse = matches!(self.sockets.get(&id), Some(Socket::Conn(c))
                if c.state == TcpState::TimeWait
                    && c.orphan
                    && seg.flags.syn()
                    && !seg.flags.ack()
                    && !seg.flags.rst()
                    && (seg.seq.wrapping_sub(c.rcv_nxt()) as i32) > 0);
            if !reuse {
                self.with_conn(id, |c, ctx| c.on_segment(ctx, now, seg));
                return;
            }
            // RFC 9293 3.10.7.4 / RFC 6191: a new SYN above RCV.NXT may reopen a connection in
            // TIME-WAIT: the old incarnation ends here and a listener, if any, takes the SYN.
            self.with_conn(id, |c, ctx| c.set_state(ctx, now, TcpState::Closed));
        }
        let lid = self
            .listeners
            .get(&local)
            .or_else(|| self.listeners.get(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, seg.dst_port)))
            .copied();
        if let Some(lid) = lid {
            self.listener_segment(now, lid, local, remote, seg);
            return;
        }
        // CLOSED (RFC 9293 3.10.7.1): anything but a RST gets a RST.
        self.stack_event(now, local, remote, TcpEventKind::SegmentReceived(SegmentInfo::of(seg)));
        if seg.flags.rst() {
            self.stack_event(now, local, remote, TcpEventKind::Dropped { reason: "rst_to_closed_port" });
        } else {
            self.outbox.push(Outgoing { socket: NO_SOCKET, local, remote, repr: reset_for(seg) });
        }
    }

    /// RFC 9293 3.10.7.2, LISTEN.
    fn listener_segment(
        &mut self,
        now: Instant,
        lid: SocketId,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        seg: &TcpRepr<'_>,
    ) {
        let Some(Socket::Listener(l)) = self.sockets.get(&lid) else {
            return;
        };
        let f = seg.flags;
        let ev = |kind| TcpEvent { time: now, socket: lid, local: Some(local), remote: Some(remote), kind };
        if f.rst() {
            self.events.push(ev(TcpEventKind::SegmentReceived(SegmentInfo::of(seg))));
            self.events.push(ev(TcpEventKind::Dropped { reason: "rst_in_listen" }));
            return;
        }
        if f.ack() {
            self.events.push(ev(TcpEventKind::SegmentReceived(SegmentInfo::of(seg))));
            self.outbox.push(Outgoing { socket: lid, local, remote, repr: reset_for(seg) });
            return;
        }
        if !f.syn() {
            self.events.push(ev(TcpEventKind::SegmentReceived(SegmentInfo::of(seg))));
            self.events.push(ev(TcpEventKind::Dropped { reason: "no_syn_in_listen" }));
            return;
        }
        if l.syn_queue.len() + l.accept_queue.len() >= l.backlog {
            // Backlog full: drop silently (the client retries), as Linux does; no RST.
            self.events.push(ev(TcpEventKind::SegmentReceived(SegmentInfo::of(seg))));
            self.events.push(ev(TcpEventKind::Dropped { reason: "backlog_full" }));
            return;
        }
        let cfg = l.cfg.clone();
        let id = self.alloc_id();
        let iss = isn::isn(self.isn_key, now, local, remote);
        let mut c = Box::new(Connection::new(id, local, remote, cfg, iss, now));
        c.listener = Some(lid);
        c.orphan = true;
        let mut ctx = Ctx { events: &mut self.events, outbox: &mut self.outbox };
        c.open_passive(&mut ctx, now, seg);
        self.by_tuple.insert((local, remote), id);
        self.sockets.insert(id, Socket::Conn(c));
        if let Some(Socket::Listener(l)) = self.sockets.get_mut(&lid) {
            l.syn_queue.insert(id);
        }
        self.mark_dirty(id);
        self.sync_deadline(id);
    }

    /// ICMP destination unreachable, "fragmentation needed" (type 3 code 4), about a TCP segment
    /// we sent: `invoking` is the quoted IP datagram (IP header + at least the first 8 octets of
    /// the TCP header, RFC 792), `next_hop_mtu` the MTU the router reported (RFC 1191).
    pub fn on_icmp_frag_needed(&mut self, now: Instant, invoking: &[u8], next_hop_mtu: u16) {
        let Some((local, remote, seq)) = crate::wire::QuotedDatagram::parse(invoking).and_then(|q| q.tcp()) else {
            return;
        };
        if let Some(&id) = self.by_tuple.get(&(local, remote)) {
            self.with_conn(id, |c, ctx| c.on_frag_needed(ctx, now, seq, next_hop_mtu));
        }
    }

    /// Calls `out(src, dst, segment)` for each segment to send now (data, ACKs, RSTs...).
    pub fn poll_transmit(&mut self, now: Instant, out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>)) {
        self.flush_outbox(now, out);
        // Only connections marked since the last call can have anything to send.
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        for &id in &dirty {
            if let Some(Socket::Conn(c)) = self.sockets.get_mut(&id) {
                c.in_dirty = false;
                let mut ctx = Ctx { events: &mut self.events, outbox: &mut self.outbox };
                c.poll_transmit(&mut ctx, now, out);
                self.sync_deadline(id);
            }
        }
        dirty.clear();
        self.dirty = dirty;
        self.flush_outbox(now, out);
    }

    fn flush_outbox(&mut self, now: Instant, out: &mut dyn FnMut(Ipv4Addr, Ipv4Addr, &TcpRepr<'_>)) {
        for o in std::mem::take(&mut self.outbox) {
            out(*o.local.ip(), *o.remote.ip(), &o.repr);
            self.events.push(TcpEvent {
                time: now,
                socket: o.socket,
                local: Some(o.local),
                remote: Some(o.remote),
                kind: TcpEventKind::SegmentSent(SegmentInfo::of(&o.repr)),
            });
        }
    }

    /// The earliest time `handle_timeout` must be called. It may be earlier than any timer that is
    /// really due (see `sync_deadline`); calling `handle_timeout` then only updates the index.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(t, _)| t)
    }

    /// Runs the connection timers due at `now` (retransmission, persist, delayed ACK, TIME-WAIT,
    /// FIN-WAIT-2, keepalive); what they send goes out on the next `poll_transmit`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due: Vec<SocketId> = Vec::new();
        while let Some(&(t, id)) = self.deadlines.first() {
            if t > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(Socket::Conn(c)) = self.sockets.get_mut(&id) {
                c.indexed_deadline = None;
                due.push(id);
            }
        }
        // Ascending id, as a walk over the socket table would visit them.
        due.sort_unstable();
        for id in due {
            let Some(Socket::Conn(c)) = self.sockets.get(&id) else { continue };
            if c.poll_timeout().is_some_and(|t| t <= now) {
                self.with_conn(id, |c, ctx| c.handle_timeout(ctx, now));
            } else {
                // A stale index entry (the deadline moved later or went away): index the real one.
                self.sync_deadline(id);
            }
        }
    }

    /// Whether timer and application-call events are recorded (the default) or only counted
    /// (`take_skipped_events`): a host whose trace is not written sets this to false, as building
    /// and handing over those events is a noticeable part of a fast transfer's run time.
    pub fn set_detail_events(&mut self, on: bool) {
        self.events.detail = on;
    }

    /// How many detail events were counted instead of recorded since the last call.
    pub fn take_skipped_events(&mut self) -> u64 {
        std::mem::take(&mut self.events.skipped)
    }

    /// Hands over the events recorded since the last call, oldest first.
    pub fn drain_events(&mut self, f: &mut dyn FnMut(TcpEvent)) {
        for e in self.events.list.drain(..) {
            f(e);
        }
        // A burst (thousands of connects in one step) must not pin its high-water mark.
        if self.events.list.capacity() > 4096 {
            self.events.list.shrink_to(1024);
        }
    }

    // ---- application side ----

    /// Opens a listener on `local` (port not 0; IP 0.0.0.0 listens on every address). `backlog`
    /// (at least 1) bounds its embryonic plus not yet accepted connections; SYNs beyond it are
    /// dropped without a RST, as Linux does. Its connections use `cfg`, or the stack's defaults.
    pub fn listen(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        backlog: usize,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        let r = self.listen_inner(local, backlog, cfg);
        let id = *r.as_ref().unwrap_or(&NO_SOCKET);
        self.app_event(now, id, AppCall::Listen, Some(backlog), &r);
        if r.is_ok() {
            self.listener_state_event(now, id, local, TcpState::Closed, TcpState::Listen);
        }
        r
    }

    fn listen_inner(
        &mut self,
        local: SocketAddrV4,
        backlog: usize,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        let port = local.port();
        if port == 0 {
            return Err(TcpError::InvalidArgument);
        }
        let clash = self.listeners.keys().any(|a| {
            a.port() == port && (a.ip() == local.ip() || a.ip().is_unspecified() || local.ip().is_unspecified())
        });
        if clash {
            return Err(TcpError::AddrInUse);
        }
        let id = self.alloc_id();
        self.listeners.insert(local, id);
        self.sockets.insert(
            id,
            Socket::Listener(Listener {
                local,
                backlog: backlog.max(1),
                cfg: cfg.map_or_else(|| self.shared_defaults.clone(), Arc::new),
                syn_queue: BTreeSet::new(),
                accept_queue: VecDeque::new(),
                waker: None,
            }),
        );
        Ok(id)
    }

    /// An established connection from the accept queue, or `Ok(None)` if there is none yet.
    pub fn accept(&mut self, now: Instant, listener: SocketId) -> Result<Option<SocketId>, TcpError> {
        let r = match self.sockets.get_mut(&listener) {
            Some(Socket::Listener(l)) => Ok(l.accept_queue.pop_front()),
            _ => Err(TcpError::InvalidSocket),
        };
        if let Ok(Some(id)) = r
            && let Some(c) = self.conn_mut(id)
        {
            c.orphan = false;
        }
        self.app_event(now, listener, AppCall::Accept, None, &r);
        r
    }

    fn ephemeral_port(&mut self, local_ip: Ipv4Addr, remote: SocketAddrV4) -> Option<u16> {
        for _ in 0..EPHEMERAL_COUNT {
            let port = EPHEMERAL_FIRST + (self.next_ephemeral % EPHEMERAL_COUNT) as u16;
            self.next_ephemeral = (self.next_ephemeral + 1) % EPHEMERAL_COUNT;
            let local = SocketAddrV4::new(local_ip, port);
            let used = self.by_tuple.contains_key(&(local, remote)) || self.listeners.keys().any(|a| a.port() == port);
            if !used {
                return Some(port);
            }
        }
        None
    }

    /// Starts an active open. A local port of 0 picks an ephemeral port.
    pub fn connect(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        let r = self.connect_inner(now, local, remote, cfg);
        let id = *r.as_ref().unwrap_or(&NO_SOCKET);
        self.app_event(now, id, AppCall::Connect, None, &r);
        r
    }

    fn connect_inner(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        if remote.port() == 0 || remote.ip().is_unspecified() || local.ip().is_unspecified() {
            return Err(TcpError::InvalidArgument);
        }
        let local = if local.port() == 0 {
            let p = self.ephemeral_port(*local.ip(), remote).ok_or(TcpError::AddrInUse)?;
            SocketAddrV4::new(*local.ip(), p)
        } else {
            local
        };
        if self.by_tuple.contains_key(&(local, remote)) {
            return Err(TcpError::AddrInUse);
        }
        let id = self.alloc_id();
        let iss = isn::isn(self.isn_key, now, local, remote);
        let cfg = cfg.map_or_else(|| self.shared_defaults.clone(), Arc::new);
        let mut c = Box::new(Connection::new(id, local, remote, cfg, iss, now));
        let mut ctx = Ctx { events: &mut self.events, outbox: &mut self.outbox };
        c.open_active(&mut ctx, now);
        self.by_tuple.insert((local, remote), id);
        self.sockets.insert(id, Socket::Conn(c));
        self.mark_dirty(id);
        self.sync_deadline(id);
        Ok(id)
    }

    /// `Ok(None)` while the handshake is in progress; `Ok(Some(()))` once established; `Err` if it failed.
    pub fn connect_result(&self, id: SocketId) -> Result<Option<()>, TcpError> {
        let c = self.conn(id).ok_or(TcpError::InvalidSocket)?;
        if let Some(e) = c.error {
            return Err(e);
        }
        match c.state {
            TcpState::SynSent | TcpState::SynReceived => Ok(None),
            // A connection that was established and then closed normally still "connected".
            TcpState::Closed if c.was_established() => Ok(Some(())),
            TcpState::Closed | TcpState::Listen => Err(TcpError::NotConnected),
            _ => Ok(Some(())),
        }
    }

    /// Queues as much of `data` as the send buffer takes; `Ok(0)` when it is full.
    pub fn send(&mut self, now: Instant, id: SocketId, data: &[u8]) -> Result<usize, TcpError> {
        self.send_with(now, id, data.len(), &mut |off, dst| dst.copy_from_slice(&data[off..off + dst.len()]))
    }

    /// Like `send`, without a copy: queues up to `max` bytes (as many as the send buffer has room
    /// for) that `fill(offset, dst)` writes straight into the send buffer; returns the count.
    pub fn send_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        fill: &mut dyn FnMut(usize, &mut [u8]),
    ) -> Result<usize, TcpError> {
        let r = self.with_conn(id, |c, _| c.send_with(max, fill)).unwrap_or(Err(TcpError::InvalidSocket));
        self.app_event(now, id, AppCall::Send, Some(max), &r);
        r
    }

    /// Like `send_with` for bytes whose content is known: queues up to `max` bytes of `content`
    /// from its offset `at` (as many as the send buffer has room for) as a range, without storing
    /// them; segments carrying them produce them from `content` when they are sent (see
    /// `ContentSource`). The wire sees exactly what `send` of the same bytes would give.
    pub fn send_content(
        &mut self,
        now: Instant,
        id: SocketId,
        content: &SharedContent,
        at: u64,
        max: usize,
    ) -> Result<usize, TcpError> {
        let r = self.with_conn(id, |c, _| c.send_content(content, at, max)).unwrap_or(Err(TcpError::InvalidSocket));
        self.app_event(now, id, AppCall::Send, Some(max), &r);
        r
    }

    /// Reads in-order data. `Ok(Some(n))` with n > 0: data; `Ok(Some(0))`: end of stream (peer's FIN);
    /// `Ok(None)`: nothing yet.
    pub fn recv(&mut self, now: Instant, id: SocketId, buf: &mut [u8]) -> Result<Option<usize>, TcpError> {
        let r = self.with_conn(id, |c, _| c.recv(buf)).unwrap_or(Err(TcpError::InvalidSocket));
        self.app_event(now, id, AppCall::Recv, Some(buf.len()), &r);
        r
    }

    /// Like `recv`, without a copy: hands up to `max` in-order bytes to `f` as slices of the
    /// receive buffer (called once or twice: the buffer is a ring), then consumes them.
    pub fn recv_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<usize>, TcpError> {
        let r = self
            .with_conn(id, |c, _| c.recv_with(max, &mut |_, chunk| f(chunk)))
            .unwrap_or(Err(TcpError::InvalidSocket));
        self.app_event(now, id, AppCall::Recv, Some(max), &r);
        r
    }

    /// shutdown(SHUT_WR): send FIN after the queued data; keep receiving.
    pub fn shutdown_write(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        let r = self.with_conn(id, |c, ctx| c.shutdown_write(ctx, now)).unwrap_or(Err(TcpError::InvalidSocket));
        self.app_event(now, id, AppCall::ShutdownWrite, None, &r);
        r
    }

    /// close(): shutdown_write + the application gives up the socket; the connection lives on until
    /// CLOSED (after TIME_WAIT for the active closer).
    pub fn close(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        let r = self.close_inner(now, id);
        self.app_event(now, id, AppCall::Close, None, &r);
        r
    }

    fn close_inner(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        match self.sockets.get(&id) {
            None => return Err(TcpError::InvalidSocket),
            Some(Socket::Listener(l)) => {
                // Connections never accepted are reset (Linux does the same).
                let local = l.local;
                let children: Vec<SocketId> = l.syn_queue.iter().chain(l.accept_queue.iter()).copied().collect();
                self.listener_state_event(now, id, local, TcpState::Listen, TcpState::Closed);
                for child in children {
                    self.abort_conn(now, child);
                }
                self.free(id);
                return Ok(());
            }
            Some(Socket::Conn(_)) => {}
        }
        self.with_conn(id, |c, ctx| {
            c.orphan = true;
            match c.state {
                TcpState::Closed | TcpState::Listen => c.set_state(ctx, now, TcpState::Closed),
                TcpState::SynSent => c.set_state(ctx, now, TcpState::Closed),
                _ if c.unread() > 0 => {
                    // RFC 2525 2.17 / Linux: closing with unread data resets the connection.
                    if c.abort_sends_rst() {
                        c.send_reset(ctx);
                    }
                    c.set_state(ctx, now, TcpState::Closed);
                }
                _ => {
                    let _ = c.shutdown_write(ctx, now);
                    c.on_orphaned(ctx, now);
                }
            }
        });
        Ok(())
    }

    fn abort_conn(&mut self, now: Instant, id: SocketId) {
        if let Some(Socket::Conn(c)) = self.sockets.get_mut(&id) {
            let mut ctx = Ctx { events: &mut self.events, outbox: &mut self.outbox };
            if c.abort_sends_rst() {
                c.send_reset(&mut ctx);
            }
            c.set_state(&mut ctx, now, TcpState::Closed);
        }
        self.free(id);
    }

    /// abort(): send RST at once, free the connection.
    pub fn abort(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        let r = match self.sockets.get(&id) {
            None => Err(TcpError::InvalidSocket),
            Some(Socket::Listener(_)) => return self.close(now, id),
            Some(Socket::Conn(_)) => Ok(()),
        };
        self.app_event(now, id, AppCall::Abort, None, &r);
        if r.is_ok() {
            self.abort_conn(now, id);
        }
        r
    }

    /// The RFC 9293 state of socket `id` (`Listen` for a listener); `None` once it is freed.
    pub fn state(&self, id: SocketId) -> Option<TcpState> {
        match self.sockets.get(&id)? {
            Socket::Listener(_) => Some(TcpState::Listen),
            Socket::Conn(c) => Some(c.state),
        }
    }

    /// Wake `waker` when `id` becomes readable, writable, connected, accepted, closed or fails.
    pub fn register_waker(&mut self, id: SocketId, waker: &Waker) {
        match self.sockets.get_mut(&id) {
            Some(Socket::Conn(c)) => c.waker = Some(waker.clone()),
            Some(Socket::Listener(l)) => l.waker = Some(waker.clone()),
            // Already freed: wake at once so that the caller sees InvalidSocket.
            None => waker.wake_by_ref(),
        }
    }

    /// Number of sockets not yet freed (for "no connection left open" checks and leak tests).
    pub fn open_sockets(&self) -> usize {
        self.sockets.len()
    }

    // ---- introspection ----

    /// Internals of a connection (None for listeners and freed sockets).
    pub fn conn_info(&self, id: SocketId) -> Option<ConnInfo> {
        let c = self.conn(id)?;
        Some(ConnInfo {
            state: c.state,
            local: c.local,
            remote: c.remote,
            cwnd: c.cwnd(),
            ssthresh: c.ssthresh(),
            rto: c.rto(),
            srtt: c.srtt(),
            in_recovery: c.in_recovery(),
            unread: c.unread(),
            send_queued: c.send_queue_len(),
            error: c.error,
            timers: TimerKind::ALL.iter().filter_map(|&t| c.timer_deadline(t).map(|d| (t, d))).collect(),
            send_sequence: c.send_sequence(),
        })
    }

    /// How many bytes `send` would take now on connection `id`, or the error it would give (no
    /// bytes are taken, nothing is recorded).
    pub fn send_space(&self, id: SocketId) -> Result<usize, TcpError> {
        self.conn(id).ok_or(TcpError::InvalidSocket)?.send_space()
    }

    /// Connections waiting in listener `id`'s accept queue (`None` if `id` is not a listener).
    pub fn accept_queue_len(&self, id: SocketId) -> Option<usize> {
        match self.sockets.get(&id)? {
            Socket::Listener(l) => Some(l.accept_queue.len()),
            Socket::Conn(_) => None,
        }
    }

    /// Whether `recv` would return something other than `Ok(None)` / `send` would accept bytes.
    pub fn readiness(&self, id: SocketId) -> Option<(bool, bool)> {
        let c = self.conn(id)?;
        Some((c.readable(), c.writable()))
    }
}
