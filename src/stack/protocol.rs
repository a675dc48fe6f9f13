//! The codec of the external stack protocol, version 1 (`docs/stack-protocol.md` is the
//! specification; the section numbers below refer to it).
//!
//! A message on the pipe is `u32 length` (big-endian, of what follows), `u8 type`, body. This module
//! reads and writes whole messages: `read_frame` gets one frame (type + body) off a reader, the
//! `decode_*` functions turn a frame into a typed message borrowing from it, the `encode_*` functions
//! append a message with its length prefix to a buffer. Decoding never panics: any byte string gives
//! a message or a `DecodeError` saying what is wrong.

use crate::sim::{Duration, Instant};
use crate::tcp::{CongestionAlgorithm, SocketId, TcpConfig, TcpError, TcpState};
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4};

/// The protocol version this codec speaks (HELLO and READY carry it).
pub const VERSION: u16 = 1;
/// The largest `length` a message may have (type + body), 16 MiB (section 1).
pub const MAX_MESSAGE: usize = 16 << 20;
/// Bytes of an encoded `config` (section 1).
pub const CONFIG_LEN: usize = 72;

/// Message types (sections 3 and 4).
mod ty {
    pub const HELLO: u8 = 0x01;
    pub const TIME: u8 = 0x02;
    pub const DATAGRAM: u8 = 0x03;
    pub const CALL: u8 = 0x04;
    pub const TIMEOUT: u8 = 0x05;
    pub const END: u8 = 0x06;
    pub const TRANSMIT: u8 = 0x07;
    pub const READY: u8 = 0x81;
    pub const OUT_DATAGRAM: u8 = 0x83;
    pub const RESULT: u8 = 0x84;
    pub const EVENT: u8 = 0x85;
    pub const STATE: u8 = 0x86;
    pub const REPORT: u8 = 0x89;
    pub const WAKE: u8 = 0x87;
    pub const DONE: u8 = 0x88;
    pub const FAIL: u8 = 0x8f;
}

/// Whether an answer message of type `t` ends an answer: DONE, FAIL, READY (the answer to HELLO)
/// and any type this codec does not know (the decoder then reports it). DATAGRAM, RESULT, EVENT,
/// STATE, REPORT and WAKE come inside an answer.
pub fn ends_answer(t: u8) -> bool {
    !matches!(t, ty::OUT_DATAGRAM | ty::RESULT | ty::EVENT | ty::STATE | ty::REPORT | ty::WAKE)
}

/// A message from netlab to the process.
#[derive(Debug, Clone, PartialEq)]
pub enum Request<'a> {
    /// Opens the conversation.
    Hello(Hello),
    /// Starts a step at this time.
    Time(Instant),
    /// A whole IPv4 datagram for the host.
    Datagram(&'a [u8]),
    /// A socket call; `id` is answered by the RESULT with the same id.
    Call {
        /// The call id (1, 2, 3, ... in a run).
        id: u32,
        /// The call and its arguments.
        call: Call<'a>,
    },
    /// Run the timers due at the step's time.
    Timeout,
    /// Ends the step's inputs.
    End,
    /// Hand over the datagrams held back (only to a process whose READY set flag bit 1).
    Transmit,
}

/// HELLO's body (section 3).
#[derive(Debug, Clone, PartialEq)]
pub struct Hello {
    /// The protocol version netlab speaks.
    pub version: u16,
    /// The only source of randomness the process may use.
    pub seed: u64,
    /// The smallest MTU of the host's links.
    pub mtu: u16,
    /// The simulated host's name.
    pub host: String,
    /// The host's addresses with their prefix lengths.
    pub addrs: Vec<(Ipv4Addr, u8)>,
    /// TCP defaults for sockets opened without a config of their own.
    pub defaults: TcpConfig,
}

/// A socket call with its arguments (section 5).
#[derive(Debug, Clone, PartialEq)]
pub enum Call<'a> {
    /// Op 1.
    Listen {
        /// Local address (0.0.0.0 = any).
        local: SocketAddrV4,
        /// Connections not yet accepted that the listener keeps.
        backlog: u32,
        /// Overrides the defaults.
        cfg: Option<TcpConfig>,
    },
    /// Op 2.
    Accept {
        /// The listener.
        listener: SocketId,
    },
    /// Op 3.
    Connect {
        /// Local address (port 0 = ephemeral).
        local: SocketAddrV4,
        /// The peer.
        remote: SocketAddrV4,
        /// Overrides the defaults.
        cfg: Option<TcpConfig>,
    },
    /// Op 4.
    Send {
        /// The connection.
        socket: SocketId,
        /// Bytes to queue.
        data: &'a [u8],
    },
    /// Op 5.
    Recv {
        /// The connection.
        socket: SocketId,
        /// At most this many bytes (>= 1).
        max: u32,
    },
    /// Op 6.
    ShutdownWrite(SocketId),
    /// Op 7.
    Close(SocketId),
    /// Op 8.
    Abort(SocketId),
    /// Op 9: how many bytes a send would take now (answered like send: a count, or an error).
    SendSpace(SocketId),
}

impl Call<'_> {
    /// The call's name as in the specification ("listen", "recv", ...).
    pub fn name(&self) -> &'static str {
        match self {
            Call::Listen { .. } => "listen",
            Call::Accept { .. } => "accept",
            Call::Connect { .. } => "connect",
            Call::Send { .. } => "send",
            Call::Recv { .. } => "recv",
            Call::ShutdownWrite(_) => "shutdown_write",
            Call::Close(_) => "close",
            Call::Abort(_) => "abort",
            Call::SendSpace(_) => "send_space",
        }
    }
}

/// A message from the process to netlab.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<'a> {
    /// Answers HELLO.
    Ready {
        /// Must equal HELLO's version.
        version: u16,
        /// READY flag bit 0: the process sends STATE reports.
        reports_states: bool,
        /// READY flag bit 1: the process holds its datagrams until a TRANSMIT input.
        transmit_on_request: bool,
        /// READY flag bit 2: the process sends REPORT messages (its TCP's own events).
        reports_events: bool,
        /// READY flag bit 3: the process sends an EVENT whenever READABLE or ACCEPTABLE changes, so
        /// netlab answers a `recv` or `accept` that would block without a step.
        exact_readiness: bool,
        /// A name for reports.
        name: &'a str,
    },
    /// A whole IPv4 datagram to send.
    Datagram(&'a [u8]),
    /// The result of the call with this id.
    Result {
        /// The CALL's id.
        id: u32,
        /// What the call gave.
        result: CallResult<'a>,
    },
    /// The complete current readiness of a socket (section 6).
    Event {
        /// The socket.
        socket: SocketId,
        /// Readiness flags.
        flags: Readiness,
        /// The error the connection failed with, if it did.
        error: Option<TcpError>,
    },
    /// A connection (or listener) entered `state`.
    State {
        /// The socket.
        socket: SocketId,
        /// The state entered.
        state: TcpState,
        /// Local address.
        local: SocketAddrV4,
        /// Remote address (0.0.0.0:0 for a listener).
        remote: SocketAddrV4,
    },
    /// Something the stack's TCP did that the wire does not show (section 6a, `report.rs`).
    Report {
        /// The socket.
        socket: SocketId,
        /// Local address.
        local: SocketAddrV4,
        /// Remote address.
        remote: SocketAddrV4,
        /// What happened, as netlab's own event.
        kind: crate::tcp::TcpEventKind,
    },
    /// The next time the process wants a TIMEOUT (`None`: no timer).
    Wake(Option<Instant>),
    /// Ends the answer.
    Done,
    /// The process gives up, with a reason.
    Fail(&'a str),
}

/// The outcome of a call (RESULT's status and payload, section 5).
#[derive(Debug, Clone, PartialEq)]
pub enum CallResult<'a> {
    /// Status 0 from listen, accept, connect: the socket.
    Socket(SocketId),
    /// Status 0 from send (the bytes taken) and send_space (the bytes a send would take).
    Count(u32),
    /// Status 0 from recv: the bytes read (empty = end of stream).
    Data(&'a [u8]),
    /// Status 0 from shutdown_write, close, abort.
    Unit,
    /// Status 1 (accept, recv).
    WouldBlock,
    /// Status 2.
    Error(TcpError),
}

/// EVENT's readiness flags (section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness(pub u8);

impl Readiness {
    /// recv would not block.
    pub const READABLE: u8 = 1;
    /// send would take a byte.
    pub const WRITABLE: u8 = 2;
    /// The connection reached ESTABLISHED at some point.
    pub const CONNECTED: u8 = 4;
    /// accept would return a connection.
    pub const ACCEPTABLE: u8 = 8;
    /// The socket is freed.
    pub const CLOSED: u8 = 16;
    /// Every defined bit.
    pub const ALL: u8 = 31;

    /// Whether every bit of `bit` is set.
    pub fn has(self, bit: u8) -> bool {
        self.0 & bit == bit
    }
}

/// Why bytes are not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError(msg.into()))
}

// ---------------------------------------------------------------- framing

/// Reads one message off `r` into `frame` (type + body, without the length prefix). `Ok(false)` at
/// a clean end of input (before the first byte of a message); an end inside a message is
/// `UnexpectedEof`, a length of 0 or above `MAX_MESSAGE` is `InvalidData`.
pub fn read_frame(r: &mut impl Read, frame: &mut Vec<u8>) -> io::Result<bool> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "end of input inside a length prefix")),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_be_bytes(len) as usize;
    if len == 0 || len > MAX_MESSAGE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("message length {len} outside 1..={MAX_MESSAGE}"),
        ));
    }
    frame.clear();
    frame.resize(len, 0);
    r.read_exact(frame).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(io::ErrorKind::UnexpectedEof, format!("end of input inside a {len}-byte message"))
        } else {
            e
        }
    })?;
    Ok(true)
}

/// Appends a message of type `t` whose body `body` writes, with its length prefix.
fn message(out: &mut Vec<u8>, t: u8, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0, t]);
    body(out);
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

// ---------------------------------------------------------------- field writers

fn put_addr(out: &mut Vec<u8>, a: SocketAddrV4) {
    out.extend_from_slice(&a.ip().octets());
    out.extend_from_slice(&a.port().to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Longer strings are cut at a character boundary (a host name never is this long).
    let mut n = s.len().min(usize::from(u16::MAX));
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..n]);
}

fn sat_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Appends the 72-byte `config` (section 1). Values beyond a field's range are saturated.
pub fn put_config(out: &mut Vec<u8>, c: &TcpConfig) {
    out.extend_from_slice(&sat_u32(c.send_buffer).to_be_bytes());
    out.extend_from_slice(&sat_u32(c.recv_buffer).to_be_bytes());
    out.extend_from_slice(&c.mss.to_be_bytes());
    let flags = u8::from(c.nagle)
        | u8::from(c.delayed_ack) << 1
        | u8::from(c.sack) << 2
        | u8::from(c.window_scaling) << 3
        | u8::from(c.timestamps) << 4
        | u8::from(c.recovery == crate::tcp::LossDetection::Dupack) << 5
        | u8::from(!c.prr) << 6
        | u8::from(!c.hystart) << 7;
    out.push(flags);
    out.push(match c.congestion {
        CongestionAlgorithm::NewReno => 0,
        CongestionAlgorithm::Cubic => 1,
    });
    for d in [c.delayed_ack_timeout, c.rto_min, c.rto_max, c.rto_initial] {
        out.extend_from_slice(&d.as_nanos().to_be_bytes());
    }
    out.extend_from_slice(&c.max_retransmissions.to_be_bytes());
    out.extend_from_slice(&c.max_syn_retransmissions.to_be_bytes());
    out.extend_from_slice(&c.msl.as_nanos().to_be_bytes());
    out.extend_from_slice(&c.keepalive.map_or(0, Duration::as_nanos).to_be_bytes());
    out.extend_from_slice(&c.initial_window_segments.to_be_bytes());
}

fn put_opt_config(out: &mut Vec<u8>, c: &Option<TcpConfig>) {
    match c {
        None => out.push(0),
        Some(c) => {
            out.push(1);
            put_config(out, c);
        }
    }
}

fn error_code(e: TcpError) -> u8 {
    match e {
        TcpError::ConnectionRefused => 1,
        TcpError::ConnectionReset => 2,
        TcpError::TimedOut => 3,
        TcpError::NotConnected => 4,
        TcpError::AddrInUse => 5,
        TcpError::InvalidSocket => 6,
        TcpError::Closing => 7,
        TcpError::InvalidArgument => 8,
    }
}

fn error_from_code(c: u8) -> Option<TcpError> {
    Some(match c {
        1 => TcpError::ConnectionRefused,
        2 => TcpError::ConnectionReset,
        3 => TcpError::TimedOut,
        4 => TcpError::NotConnected,
        5 => TcpError::AddrInUse,
        6 => TcpError::InvalidSocket,
        7 => TcpError::Closing,
        8 => TcpError::InvalidArgument,
        _ => return None,
    })
}

const STATES: [TcpState; 11] = [
    TcpState::Closed,
    TcpState::Listen,
    TcpState::SynSent,
    TcpState::SynReceived,
    TcpState::Established,
    TcpState::FinWait1,
    TcpState::FinWait2,
    TcpState::CloseWait,
    TcpState::Closing,
    TcpState::LastAck,
    TcpState::TimeWait,
];

fn state_code(s: TcpState) -> u8 {
    STATES.iter().position(|&x| x == s).unwrap_or(0) as u8
}

// ---------------------------------------------------------------- encoders

/// Appends `m` with its length prefix to `out`.
pub fn encode_request(m: &Request<'_>, out: &mut Vec<u8>) {
    match m {
        Request::Hello(h) => message(out, ty::HELLO, |o| {
            o.extend_from_slice(&h.version.to_be_bytes());
            o.extend_from_slice(&h.seed.to_be_bytes());
            o.extend_from_slice(&h.mtu.to_be_bytes());
            put_str(o, &h.host);
            let n = h.addrs.len().min(255);
            o.push(n as u8);
            for (a, p) in &h.addrs[..n] {
                o.extend_from_slice(&a.octets());
                o.push(*p);
            }
            put_config(o, &h.defaults);
        }),
        Request::Time(t) => message(out, ty::TIME, |o| o.extend_from_slice(&t.as_nanos().to_be_bytes())),
        Request::Datagram(d) => message(out, ty::DATAGRAM, |o| o.extend_from_slice(d)),
        Request::Call { id, call } => message(out, ty::CALL, |o| {
            o.extend_from_slice(&id.to_be_bytes());
            put_call(o, call);
        }),
        Request::Timeout => message(out, ty::TIMEOUT, |_| {}),
        Request::End => message(out, ty::END, |_| {}),
        Request::Transmit => message(out, ty::TRANSMIT, |_| {}),
    }
}

fn put_call(o: &mut Vec<u8>, call: &Call<'_>) {
    let sock = |o: &mut Vec<u8>, op: u8, s: SocketId| {
        o.push(op);
        o.extend_from_slice(&s.0.to_be_bytes());
    };
    match call {
        Call::Listen { local, backlog, cfg } => {
            o.push(1);
            put_addr(o, *local);
            o.extend_from_slice(&backlog.to_be_bytes());
            put_opt_config(o, cfg);
        }
        Call::Accept { listener } => sock(o, 2, *listener),
        Call::Connect { local, remote, cfg } => {
            o.push(3);
            put_addr(o, *local);
            put_addr(o, *remote);
            put_opt_config(o, cfg);
        }
        Call::Send { socket, data } => {
            sock(o, 4, *socket);
            o.extend_from_slice(data);
        }
        Call::Recv { socket, max } => {
            sock(o, 5, *socket);
            o.extend_from_slice(&max.to_be_bytes());
        }
        Call::ShutdownWrite(s) => sock(o, 6, *s),
        Call::Close(s) => sock(o, 7, *s),
        Call::Abort(s) => sock(o, 8, *s),
        Call::SendSpace(s) => sock(o, 9, *s),
    }
}

/// Appends `m` with its length prefix to `out`.
pub fn encode_answer(m: &Answer<'_>, out: &mut Vec<u8>) {
    match m {
        Answer::Ready { version, reports_states, transmit_on_request, reports_events, exact_readiness, name } => {
            message(out, ty::READY, |o| {
                o.extend_from_slice(&version.to_be_bytes());
                o.push(
                    u8::from(*reports_states)
                        | (u8::from(*transmit_on_request) << 1)
                        | (u8::from(*reports_events) << 2)
                        | (u8::from(*exact_readiness) << 3),
                );
                put_str(o, name);
            })
        }
        Answer::Datagram(d) => message(out, ty::OUT_DATAGRAM, |o| o.extend_from_slice(d)),
        Answer::Result { id, result } => message(out, ty::RESULT, |o| {
            o.extend_from_slice(&id.to_be_bytes());
            match result {
                CallResult::Socket(s) => {
                    o.push(0);
                    o.extend_from_slice(&s.0.to_be_bytes());
                }
                CallResult::Count(n) => {
                    o.push(0);
                    o.extend_from_slice(&n.to_be_bytes());
                }
                CallResult::Data(d) => {
                    o.push(0);
                    o.extend_from_slice(d);
                }
                CallResult::Unit => o.push(0),
                CallResult::WouldBlock => o.push(1),
                CallResult::Error(e) => o.extend_from_slice(&[2, error_code(*e)]),
            }
        }),
        Answer::Event { socket, flags, error } => message(out, ty::EVENT, |o| {
            o.extend_from_slice(&socket.0.to_be_bytes());
            o.push(flags.0);
            o.push(error.map_or(0, error_code));
        }),
        Answer::Report { socket, local, remote, kind } => {
            let mut body = Vec::new();
            if super::report::encode(kind, &mut body, error_code) {
                message(out, ty::REPORT, |o| {
                    o.extend_from_slice(&socket.0.to_be_bytes());
                    put_addr(o, *local);
                    put_addr(o, *remote);
                    o.extend_from_slice(&body);
                });
            }
        }
        Answer::State { socket, state, local, remote } => message(out, ty::STATE, |o| {
            o.extend_from_slice(&socket.0.to_be_bytes());
            o.push(state_code(*state));
            put_addr(o, *local);
            put_addr(o, *remote);
        }),
        Answer::Wake(t) => {
            message(out, ty::WAKE, |o| o.extend_from_slice(&t.map_or(u64::MAX, Instant::as_nanos).to_be_bytes()))
        }
        Answer::Done => message(out, ty::DONE, |_| {}),
        Answer::Fail(why) => message(out, ty::FAIL, |o| put_str(o, why)),
    }
}

// ---------------------------------------------------------------- decoders

/// A cursor over a message body; every read checks the length.
struct Body<'a> {
    b: &'a [u8],
    what: &'static str,
}

impl<'a> Body<'a> {
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], DecodeError> {
        if self.b.len() < n {
            return err(format!("{}: body ends inside {field}", self.what));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self, field: &str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }
    fn u16(&mut self, field: &str) -> Result<u16, DecodeError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, field: &str) -> Result<u32, DecodeError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self, field: &str) -> Result<u64, DecodeError> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn ip(&mut self, field: &str) -> Result<Ipv4Addr, DecodeError> {
        let b = self.take(4, field)?;
        Ok(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }
    fn addr(&mut self, field: &str) -> Result<SocketAddrV4, DecodeError> {
        Ok(SocketAddrV4::new(self.ip(field)?, self.u16(field)?))
    }
    fn socket(&mut self) -> Result<SocketId, DecodeError> {
        match self.u32("socket")? {
            0 => err(format!("{}: socket id 0", self.what)),
            s => Ok(SocketId(s)),
        }
    }
    fn str(&mut self, field: &str) -> Result<&'a str, DecodeError> {
        let n = usize::from(self.u16(field)?);
        let b = self.take(n, field)?;
        std::str::from_utf8(b).map_err(|_| DecodeError(format!("{}: {field} is not UTF-8", self.what)))
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.b)
    }
    fn finish<T>(self, v: T) -> Result<T, DecodeError> {
        if self.b.is_empty() { Ok(v) } else { err(format!("{}: {} bytes too many", self.what, self.b.len())) }
    }
    fn config(&mut self) -> Result<TcpConfig, DecodeError> {
        let send_buffer = self.u32("config")? as usize;
        let recv_buffer = self.u32("config")? as usize;
        let mss = self.u16("config")?;
        let flags = self.u8("config")?;
        let congestion = match self.u8("config")? {
            0 => CongestionAlgorithm::NewReno,
            1 => CongestionAlgorithm::Cubic,
            c => return err(format!("{}: unknown congestion control {c}", self.what)),
        };
        let mut ns = || self.u64("config").map(Duration::from_nanos);
        let (delayed_ack_timeout, rto_min, rto_max, rto_initial) = (ns()?, ns()?, ns()?, ns()?);
        let max_retransmissions = self.u32("config")?;
        let max_syn_retransmissions = self.u32("config")?;
        let msl = Duration::from_nanos(self.u64("config")?);
        let keepalive = Some(Duration::from_nanos(self.u64("config")?)).filter(|d| !d.is_zero());
        let initial_window_segments = self.u32("config")?;
        let bit = |b: u8| flags & (1 << b) != 0;
        Ok(TcpConfig {
            send_buffer,
            recv_buffer,
            mss,
            nagle: bit(0),
            delayed_ack: bit(1),
            delayed_ack_timeout,
            sack: bit(2),
            window_scaling: bit(3),
            timestamps: bit(4),
            congestion,
            rto_min,
            rto_max,
            rto_initial,
            max_retransmissions,
            max_syn_retransmissions,
            msl,
            keepalive,
            initial_window_segments,
            recovery: if bit(5) { crate::tcp::LossDetection::Dupack } else { crate::tcp::LossDetection::Rack },
            prr: !bit(6),
            hystart: !bit(7),
            // The other recovery switches are not in the protocol: defaults.
            ..TcpConfig::default()
        })
    }
    fn opt_config(&mut self) -> Result<Option<TcpConfig>, DecodeError> {
        match self.u8("config presence")? {
            0 => Ok(None),
            1 => self.config().map(Some),
            v => err(format!("{}: config presence byte {v} (0 or 1)", self.what)),
        }
    }
}

/// Splits a frame into its type and body; an empty frame is an error.
fn split(frame: &[u8]) -> Result<(u8, &[u8]), DecodeError> {
    match frame.split_first() {
        Some((&t, body)) => Ok((t, body)),
        None => err("empty message (no type byte)"),
    }
}

/// Decodes a frame (type + body) sent by netlab.
pub fn decode_request(frame: &[u8]) -> Result<Request<'_>, DecodeError> {
    let (t, b) = split(frame)?;
    let name = match t {
        ty::HELLO => "HELLO",
        ty::TIME => "TIME",
        ty::DATAGRAM => "DATAGRAM",
        ty::CALL => "CALL",
        ty::TIMEOUT => "TIMEOUT",
        ty::END => "END",
        ty::TRANSMIT => "TRANSMIT",
        other => return err(format!("unknown request type {other:#04x}")),
    };
    let mut b = Body { b, what: name };
    let m = match t {
        ty::HELLO => {
            let version = b.u16("version")?;
            let seed = b.u64("seed")?;
            let mtu = b.u16("mtu")?;
            let host = b.str("host name")?.to_string();
            let n = b.u8("address count")?;
            let mut addrs = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                let a = b.ip("address")?;
                let p = b.u8("prefix")?;
                if p > 32 {
                    return err(format!("HELLO: prefix length {p} > 32"));
                }
                addrs.push((a, p));
            }
            let defaults = b.config()?;
            Request::Hello(Hello { version, seed, mtu, host, addrs, defaults })
        }
        ty::TIME => Request::Time(Instant::from_nanos(b.u64("time")?)),
        ty::DATAGRAM => Request::Datagram(b.rest()),
        ty::CALL => {
            let id = b.u32("call id")?;
            let call = call_body(&mut b)?;
            Request::Call { id, call }
        }
        ty::TIMEOUT => Request::Timeout,
        ty::TRANSMIT => Request::Transmit,
        _ => Request::End,
    };
    b.finish(m)
}

fn call_body<'a>(b: &mut Body<'a>) -> Result<Call<'a>, DecodeError> {
    Ok(match b.u8("op")? {
        1 => Call::Listen { local: b.addr("local")?, backlog: b.u32("backlog")?, cfg: b.opt_config()? },
        2 => Call::Accept { listener: b.socket()? },
        3 => Call::Connect { local: b.addr("local")?, remote: b.addr("remote")?, cfg: b.opt_config()? },
        4 => Call::Send { socket: b.socket()?, data: b.rest() },
        5 => {
            let socket = b.socket()?;
            match b.u32("max")? {
                0 => return err("CALL recv: max 0"),
                max => Call::Recv { socket, max },
            }
        }
        6 => Call::ShutdownWrite(b.socket()?),
        7 => Call::Close(b.socket()?),
        8 => Call::Abort(b.socket()?),
        9 => Call::SendSpace(b.socket()?),
        op => return err(format!("CALL: unknown op {op}")),
    })
}

/// Decodes a frame (type + body) sent by the process. The shape of a RESULT's success payload
/// depends on the call it answers, so the caller passes `call`, the call's name ("listen", "send",
/// ... as `Call::name`; any name for messages other than RESULT).
pub fn decode_answer<'a>(frame: &'a [u8], call: Option<&str>) -> Result<Answer<'a>, DecodeError> {
    let (t, b) = split(frame)?;
    let name = match t {
        ty::READY => "READY",
        ty::OUT_DATAGRAM => "DATAGRAM",
        ty::RESULT => "RESULT",
        ty::EVENT => "EVENT",
        ty::STATE => "STATE",
        ty::REPORT => "REPORT",
        ty::WAKE => "WAKE",
        ty::DONE => "DONE",
        ty::FAIL => "FAIL",
        other => return err(format!("unknown answer type {other:#04x}")),
    };
    let mut b = Body { b, what: name };
    let m = match t {
        ty::READY => {
            let version = b.u16("version")?;
            let flags = b.u8("flags")?;
            if flags & !0x0f != 0 {
                return err(format!("READY: flags {flags:#04x} use undefined bits"));
            }
            Answer::Ready {
                version,
                reports_states: flags & 1 != 0,
                transmit_on_request: flags & 2 != 0,
                reports_events: flags & 4 != 0,
                exact_readiness: flags & 8 != 0,
                name: b.str("name")?,
            }
        }
        ty::OUT_DATAGRAM => Answer::Datagram(b.rest()),
        ty::RESULT => {
            let id = b.u32("call id")?;
            Answer::Result { id, result: result_body(&mut b, call)? }
        }
        ty::EVENT => {
            let socket = b.socket()?;
            let flags = b.u8("flags")?;
            if flags & !Readiness::ALL != 0 {
                return err(format!("EVENT: flags {flags:#04x} use undefined bits"));
            }
            let error = match b.u8("error")? {
                0 => None,
                c => Some(error_from_code(c).ok_or_else(|| DecodeError(format!("EVENT: unknown error code {c}")))?),
            };
            Answer::Event { socket, flags: Readiness(flags), error }
        }
        ty::STATE => {
            let socket = b.socket()?;
            let code = b.u8("state")?;
            let state =
                *STATES.get(usize::from(code)).ok_or_else(|| DecodeError(format!("STATE: unknown state {code}")))?;
            Answer::State { socket, state, local: b.addr("local")?, remote: b.addr("remote")? }
        }
        ty::REPORT => {
            let (socket, local, remote) = (b.socket()?, b.addr("local")?, b.addr("remote")?);
            let kind =
                super::report::decode(b.rest(), error_from_code).map_err(|e| DecodeError(format!("REPORT: {e}")))?;
            Answer::Report { socket, local, remote, kind }
        }
        ty::WAKE => Answer::Wake(match b.u64("deadline")? {
            u64::MAX => None,
            t => Some(Instant::from_nanos(t)),
        }),
        ty::DONE => Answer::Done,
        _ => Answer::Fail(b.str("reason")?),
    };
    b.finish(m)
}

fn result_body<'a>(b: &mut Body<'a>, call: Option<&str>) -> Result<CallResult<'a>, DecodeError> {
    match b.u8("status")? {
        0 => Ok(match call {
            Some("listen" | "accept" | "connect") => CallResult::Socket(b.socket()?),
            Some("send" | "send_space") => CallResult::Count(b.u32("count")?),
            Some("recv") => CallResult::Data(b.rest()),
            Some(_) => CallResult::Unit,
            None => return err("RESULT: no call is waiting for a result"),
        }),
        1 => Ok(CallResult::WouldBlock),
        2 => {
            let c = b.u8("error")?;
            error_from_code(c)
                .map(CallResult::Error)
                .ok_or_else(|| DecodeError(format!("RESULT: unknown error code {c}")))
        }
        s => err(format!("RESULT: unknown status {s}")),
    }
}

#[cfg(test)]
mod tests;
