//! The index's `connections` section: for every TCP connection of the run, what a viewer shows
//! about it over the whole run (state changes, cwnd and RTT series, retransmissions, byte
//! counters), with the event number of each point, so that a viewer of a big run needs no pass
//! over the events. Built while the trace is written (`ConnIndexBuilder::observe`); read back with
//! `read_section`. Format: docs/trace-format.md, "The index".

use super::varint;
use crate::net::NodeId;
use crate::tcp::{TcpEvent, TcpEventKind};

/// The section id of the connections index.
pub const SECTION: u64 = 5;

/// A byte-counter sample every this many segments of a connection (and after its last one).
pub const BYTES_EVERY: u64 = 16;

/// A connection as the index describes it. Event numbers count from 0 in trace order; times are ns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnRecord {
    /// The node whose stack it is.
    pub node: usize,
    /// Its socket id in that stack.
    pub socket: u32,
    /// Local "address:port" (from its first event that names the peer).
    pub local: String,
    /// Remote "address:port".
    pub remote: String,
    /// (event, time, state) for every transition; the first entry is the state it left first (at
    /// the same event as the second).
    pub states: Vec<(u64, u64, String)>,
    /// (event, time, cwnd, ssthresh) for every congestion window change.
    pub cwnd: Vec<(u64, u64, u32, u32)>,
    /// (event, time, srtt ns, rto ns) for every RTT sample and RTO backoff.
    pub rtt: Vec<(u64, u64, u64, u64)>,
    /// Events of the retransmitted segments (the `segment_sent` after each `retransmit`).
    pub retx: Vec<u64>,
    /// (event, bytes sent, bytes received) after every `BYTES_EVERY`-th segment and the last one.
    pub bytes: Vec<(u64, u64, u64)>,
    /// The sequence number of its first SYN sent.
    pub isn_local: Option<u32>,
    /// The sequence number of the first SYN received.
    pub isn_remote: Option<u32>,
    /// How many events it has.
    pub events: u64,
}

/// One connection while the run goes on: its lists already varint-encoded (deltas).
#[derive(Default)]
struct Building {
    node: usize,
    socket: u32,
    /// Event number of its first event naming a peer (None: not a connection, e.g. a listener).
    named_at: Option<u64>,
    local: String,
    remote: String,
    states: Lists,
    cwnd: Lists,
    rtt: Lists,
    retx: Lists,
    bytes: Lists,
    last_srtt: u64,
    pending_retx: bool,
    segments: u64,
    sent: u64,
    recv: u64,
    /// (event, time) of its last segment.
    last_segment: (u64, u64),
    /// (sent, received) at the last sample.
    bytes_last: (u64, u64),
    isn_local: Option<u32>,
    isn_remote: Option<u32>,
    events: u64,
}

/// An encoded list: its entry count, bytes, and the previous event and time (deltas start there).
#[derive(Default, Clone)]
struct Lists {
    n: u64,
    buf: Vec<u8>,
    prev_ev: u64,
    prev_t: u64,
}

impl Lists {
    /// Starts an entry at event `ev`, time `t` (written as deltas).
    fn entry(&mut self, ev: u64, t: u64) -> &mut Vec<u8> {
        self.n += 1;
        varint::put(&mut self.buf, ev - self.prev_ev);
        varint::put(&mut self.buf, t.saturating_sub(self.prev_t));
        self.prev_ev = ev;
        self.prev_t = t;
        &mut self.buf
    }

    fn write(&self, out: &mut Vec<u8>) {
        varint::put(out, self.n);
        varint::put(out, self.buf.len() as u64);
        out.extend_from_slice(&self.buf);
    }
}

/// Collects the connections section while events are written.
#[derive(Default)]
pub struct ConnIndexBuilder {
    conns: Vec<Building>,
    /// Position in `conns` + 1 (0: none yet), by node and socket id (sockets are numbered from 0 up
    /// in each stack: a direct index is the cheapest lookup on this per-event path).
    by_key: Vec<Vec<u32>>,
}

/// A state's name as the trace spells it ("SynSent").
fn state_text<T: serde::Serialize>(s: &T) -> String {
    match serde_json::to_value(s) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    varint::put(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

impl ConnIndexBuilder {
    /// Records TCP event number `ev` (its position in the trace) of `node`.
    pub fn observe(&mut self, ev: u64, node: NodeId, e: &TcpEvent) {
        let i = self.position(node, e.socket.0);
        let c = &mut self.conns[i];
        c.events += 1;
        if c.named_at.is_none()
            && let Some(remote) = e.remote
        {
            c.named_at = Some(ev);
            c.local = e.local.map(|l| l.to_string()).unwrap_or_default();
            c.remote = remote.to_string();
        }
        let t = e.time.as_nanos();
        c.record(ev, t, &e.kind);
    }

    /// The position in `conns` of (node, socket), added if it is new.
    fn position(&mut self, node: NodeId, socket: u32) -> usize {
        if node >= self.by_key.len() {
            self.by_key.resize_with(node + 1, Vec::new);
        }
        let sockets = &mut self.by_key[node];
        let s = socket as usize;
        if s >= sockets.len() {
            sockets.resize(s + 1, 0);
        }
        if sockets[s] == 0 {
            self.conns.push(Building { node, socket, ..Default::default() });
            sockets[s] = self.conns.len() as u32;
        }
        sockets[s] as usize - 1
    }

    /// The section body (see the module comment); connections in the order they were first named.
    pub fn section(&self) -> Vec<u8> {
        let mut named: Vec<&Building> = self.conns.iter().filter(|c| c.named_at.is_some()).collect();
        named.sort_by_key(|c| c.named_at);
        let mut out = Vec::new();
        varint::put(&mut out, named.len() as u64);
        for c in named {
            c.write(&mut out);
        }
        out
    }
}

impl Building {
    fn record(&mut self, ev: u64, t: u64, kind: &TcpEventKind) {
        match kind {
            TcpEventKind::StateChange { from, to } => {
                if self.states.n == 0 {
                    put_str(self.states.entry(ev, t), &state_text(from));
                }
                put_str(self.states.entry(ev, t), &state_text(to));
            }
            TcpEventKind::Congestion { cwnd, ssthresh, .. } => {
                let b = self.cwnd.entry(ev, t);
                varint::put(b, u64::from(*cwnd));
                varint::put(b, u64::from(*ssthresh));
            }
            TcpEventKind::Rtt { srtt, rto, .. } => {
                self.last_srtt = srtt.as_nanos();
                let b = self.rtt.entry(ev, t);
                varint::put(b, srtt.as_nanos());
                varint::put(b, rto.as_nanos());
            }
            TcpEventKind::RtoBackoff { rto, .. } => {
                let srtt = self.last_srtt;
                let b = self.rtt.entry(ev, t);
                varint::put(b, srtt);
                varint::put(b, rto.as_nanos());
            }
            TcpEventKind::Retransmit { .. } => self.pending_retx = true,
            TcpEventKind::SegmentSent(s) | TcpEventKind::SegmentReceived(s) => {
                let sent = matches!(kind, TcpEventKind::SegmentSent(_));
                if s.flags.0.syn() {
                    let isn = if sent { &mut self.isn_local } else { &mut self.isn_remote };
                    isn.get_or_insert(s.seq);
                }
                if sent && std::mem::take(&mut self.pending_retx) {
                    self.retx.entry(ev, t);
                }
                self.segment(ev, t, sent, u64::from(s.len));
            }
            _ => {}
        }
    }

    /// Counts a segment's bytes; samples the counters every `BYTES_EVERY` segments.
    fn segment(&mut self, ev: u64, t: u64, sent: bool, len: u64) {
        if sent {
            self.sent += len;
        } else {
            self.recv += len;
        }
        self.segments += 1;
        self.last_segment = (ev, t);
        if self.segments.is_multiple_of(BYTES_EVERY) {
            sample(&mut self.bytes, (ev, t), self.bytes_last, (self.sent, self.recv));
            self.bytes_last = (self.sent, self.recv);
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        varint::put(out, self.node as u64);
        varint::put(out, u64::from(self.socket));
        put_str(out, &self.local);
        put_str(out, &self.remote);
        varint::put(out, self.isn_local.map_or(0, |i| u64::from(i) + 1));
        varint::put(out, self.isn_remote.map_or(0, |i| u64::from(i) + 1));
        varint::put(out, self.events);
        for l in [&self.states, &self.cwnd, &self.rtt, &self.retx] {
            l.write(out);
        }
        // A last sample after the segments since the last one.
        let mut bytes = self.bytes.clone();
        if !self.segments.is_multiple_of(BYTES_EVERY) {
            sample(&mut bytes, self.last_segment, self.bytes_last, (self.sent, self.recv));
        }
        bytes.write(out);
    }
}

/// Adds a byte-counter sample at (event, time): the counters `now`, as deltas from `before`.
fn sample(list: &mut Lists, (ev, t): (u64, u64), before: (u64, u64), now: (u64, u64)) {
    let b = list.entry(ev, t);
    varint::put(b, now.0 - before.0);
    varint::put(b, now.1 - before.1);
}

/// Reads a connections section back; None if it is damaged.
pub fn read_section(sec: &[u8]) -> Option<Vec<ConnRecord>> {
    let mut p = 0;
    let n = varint::get(sec, &mut p)?;
    let mut out = Vec::with_capacity(n.min(1 << 20) as usize);
    for _ in 0..n {
        out.push(read_conn(sec, &mut p)?);
    }
    Some(out)
}

fn get_str(b: &[u8], p: &mut usize) -> Option<String> {
    let l = varint::get(b, p)? as usize;
    let s = b.get(*p..p.checked_add(l)?)?;
    *p += l;
    String::from_utf8(s.to_vec()).ok()
}

fn get_isn(b: &[u8], p: &mut usize) -> Option<Option<u32>> {
    let v = varint::get(b, p)?;
    Some(v.checked_sub(1).map(|i| i as u32))
}

fn read_conn(b: &[u8], p: &mut usize) -> Option<ConnRecord> {
    let mut c = ConnRecord {
        node: varint::get(b, p)? as usize,
        socket: varint::get(b, p)? as u32,
        local: get_str(b, p)?,
        remote: get_str(b, p)?,
        isn_local: get_isn(b, p)?,
        isn_remote: get_isn(b, p)?,
        events: varint::get(b, p)?,
        ..Default::default()
    };
    c.states = read_list(b, p, |b, p, ev, t| Some((ev, t, get_str(b, p)?)))?;
    c.cwnd = read_list(b, p, |b, p, ev, t| Some((ev, t, varint::get(b, p)? as u32, varint::get(b, p)? as u32)))?;
    c.rtt = read_list(b, p, |b, p, ev, t| Some((ev, t, varint::get(b, p)?, varint::get(b, p)?)))?;
    c.retx = read_list(b, p, |_, _, ev, _| Some(ev))?;
    let mut total = (0, 0);
    c.bytes = read_list(b, p, |b, p, ev, _| {
        total.0 += varint::get(b, p)?;
        total.1 += varint::get(b, p)?;
        Some((ev, total.0, total.1))
    })?;
    Some(c)
}

/// Reads one list: its count, byte length, then entries of (event delta, time delta, rest).
fn read_list<T>(
    b: &[u8],
    p: &mut usize,
    mut entry: impl FnMut(&[u8], &mut usize, u64, u64) -> Option<T>,
) -> Option<Vec<T>> {
    let n = varint::get(b, p)?;
    let len = varint::get(b, p)? as usize;
    let end = p.checked_add(len).filter(|&e| e <= b.len())?;
    let body = &b[*p..end];
    let mut q = 0;
    let (mut ev, mut t) = (0u64, 0u64);
    let mut out = Vec::with_capacity(n.min(len as u64) as usize);
    for _ in 0..n {
        ev = ev.checked_add(varint::get(body, &mut q)?)?;
        t = t.checked_add(varint::get(body, &mut q)?)?;
        out.push(entry(body, &mut q, ev, t)?);
    }
    *p = end;
    Some(out)
}
