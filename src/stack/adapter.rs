//! The process side of the external stack protocol with netlab's own stack behind it: the
//! protocol's reference implementation (`netlab stack-adapter`; for now also the
//! `netlab-stack-adapter` binary). netlab talking to it through `ExternalStack` must give the same
//! run as `NetlabStack` in-process: the HELLO seed is used as the ISN key unchanged.

use super::protocol::{self, Answer, Call, CallResult, Readiness, Request};
use super::{NetlabStack, Stack};
use crate::sim::Instant;
use crate::stack::Sockets;
use crate::tcp::{SocketId, TcpError, TcpEventKind};
use std::collections::BTreeMap;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

/// Why `serve` stopped before a clean end of input.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Reading requests or writing answers failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// netlab sent something this adapter cannot accept (a FAIL with the same text was sent).
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// Serves one conversation: HELLO, then steps until `input` ends. Answers go to `output`, flushed
/// once per step.
pub fn serve(input: impl Read, output: impl Write) -> Result<(), ServeError> {
    let mut input = BufReader::with_capacity(64 * 1024, input);
    let mut out = BufWriter::with_capacity(64 * 1024, output);
    let mut frame = Vec::new();
    let mut adapter = match hello(&mut input, &mut frame) {
        Ok(a) => a,
        Err(e) => return Err(fail(&mut out, e)),
    };
    let mut answer = Vec::with_capacity(64 * 1024);
    protocol::encode_answer(
        &Answer::Ready {
            version: protocol::VERSION,
            reports_states: true,
            transmit_on_request: true,
            reports_events: true,
            exact_readiness: true,
            name: "netlab",
        },
        &mut answer,
    );
    out.write_all(&answer)?;
    out.flush()?;
    loop {
        answer.clear();
        match adapter.step(&mut input, &mut frame, &mut answer) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(ServeError::Protocol(m)) => return Err(fail(&mut out, m)),
            Err(e) => return Err(e),
        }
        out.write_all(&answer)?;
        out.flush()?;
    }
}

/// Sends FAIL (best effort: netlab may be gone) and gives the error back.
fn fail(out: &mut impl Write, why: String) -> ServeError {
    let mut buf = Vec::new();
    protocol::encode_answer(&Answer::Fail(&why), &mut buf);
    let _ = out.write_all(&buf).and_then(|()| out.flush());
    ServeError::Protocol(why)
}

fn read(input: &mut impl Read, frame: &mut Vec<u8>) -> Result<bool, String> {
    protocol::read_frame(input, frame).map_err(|e| format!("reading a request: {e}"))
}

/// Reads HELLO and builds the stack it describes.
fn hello(input: &mut impl Read, frame: &mut Vec<u8>) -> Result<Adapter, String> {
    if !read(input, frame)? {
        return Err("end of input before HELLO".into());
    }
    let Request::Hello(h) = protocol::decode_request(frame).map_err(|e| e.0)? else {
        return Err("the first message is not HELLO".into());
    };
    if h.version != protocol::VERSION {
        return Err(format!("unsupported protocol version {}", h.version));
    }
    let mut stack = NetlabStack::new(h.seed, h.defaults);
    stack.configure(&h.addrs, h.mtu).map_err(|e| e.kind.to_string())?;
    // Only state changes are reported; timer and call events would only be counted.
    stack.set_detail_events(false);
    Ok(Adapter {
        stack,
        sockets: BTreeMap::new(),
        woken: Arc::new(Mutex::new(Vec::new())),
        now: Instant::ZERO,
        recv_buf: Vec::new(),
    })
}

/// The last readiness reported for a socket the application knows.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
struct Reported {
    flags: u8,
    error: Option<TcpError>,
}

struct Adapter {
    stack: NetlabStack,
    /// Sockets the application got (listen, connect, accept), with what was last reported.
    sockets: BTreeMap<SocketId, Reported>,
    /// Sockets whose waker the stack woke since the last step (its own wake-up rule).
    woken: Arc<Mutex<Vec<SocketId>>>,
    now: Instant,
    recv_buf: Vec<u8>,
}

impl Adapter {
    /// Reads and handles one step, appending its answer to `answer`. `Ok(false)` at the end of input.
    fn step(&mut self, input: &mut impl Read, frame: &mut Vec<u8>, answer: &mut Vec<u8>) -> Result<bool, ServeError> {
        if !protocol::read_frame(input, frame)? {
            return Ok(false);
        }
        match protocol::decode_request(frame) {
            Ok(Request::Time(t)) if t >= self.now => self.now = t,
            Ok(Request::Time(t)) => return Err(proto(format!("time went backwards: {t:?} after {:?}", self.now))),
            Ok(other) => return Err(proto(format!("a step must start with TIME, not {other:?}"))),
            Err(e) => return Err(proto(e.0)),
        }
        let mut transmit = false;
        loop {
            if !protocol::read_frame(input, frame)? {
                return Err(proto("end of input inside a step".into()));
            }
            match protocol::decode_request(frame).map_err(|e| proto(e.0))? {
                Request::End => break,
                Request::Transmit => transmit = true,
                Request::Datagram(d) => self.stack.receive(self.now, d),
                Request::Timeout => self.stack.handle_timeout(self.now),
                Request::Call { id, call } => self.call(id, call, answer),
                other => return Err(proto(format!("{other:?} inside a step"))),
            }
        }
        self.finish_step(transmit, answer);
        Ok(true)
    }

    fn call(&mut self, id: u32, call: Call<'_>, answer: &mut Vec<u8>) {
        let now = self.now;
        let s = &mut self.stack;
        let result = match call {
            Call::Listen { local, backlog, cfg } => socket(s.listen(now, local, backlog as usize, cfg)),
            Call::Accept { listener } => match s.accept(now, listener) {
                Ok(Some(c)) => CallResult::Socket(c),
                Ok(None) => CallResult::WouldBlock,
                Err(e) => CallResult::Error(e),
            },
            Call::Connect { local, remote, cfg } => socket(s.connect(now, local, remote, cfg)),
            Call::Send { socket, data } => match s.send(now, socket, data) {
                Ok(n) => CallResult::Count(n as u32),
                Err(e) => CallResult::Error(e),
            },
            Call::Recv { socket, max } => {
                self.recv_buf.resize(max.min(protocol::MAX_MESSAGE as u32 / 2) as usize, 0);
                match s.recv(now, socket, &mut self.recv_buf) {
                    Ok(Some(n)) => CallResult::Data(&self.recv_buf[..n]),
                    Ok(None) => CallResult::WouldBlock,
                    Err(e) => CallResult::Error(e),
                }
            }
            Call::SendSpace(c) => match s.tcp().send_space(c) {
                Ok(n) => CallResult::Count(u32::try_from(n).unwrap_or(u32::MAX)),
                Err(e) => CallResult::Error(e),
            },
            Call::ShutdownWrite(c) => unit(s.shutdown_write(now, c)),
            Call::Close(c) => unit(s.close(now, c)),
            Call::Abort(c) => unit(s.abort(now, c)),
        };
        let new_socket = match result {
            CallResult::Socket(c) if !self.sockets.contains_key(&c) => Some(c),
            _ => None,
        };
        protocol::encode_answer(&Answer::Result { id, result }, answer);
        if let Some(c) = new_socket {
            self.sockets.insert(c, Reported::default());
            self.watch(c);
        }
    }

    /// Datagrams (only when asked: READY set flag bit 1, so that segments are formed exactly when an
    /// in-process stack would form them), state reports, readiness changes, the next deadline, DONE.
    fn finish_step(&mut self, transmit: bool, answer: &mut Vec<u8>) {
        if transmit {
            self.stack.poll_transmit(self.now, &mut |d| protocol::encode_answer(&Answer::Datagram(d), answer));
        }
        self.stack.drain_events(&mut |e| {
            let Some(local) = e.local.filter(|_| e.socket.0 != 0) else { return };
            let remote = e.remote.unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
            let socket = e.socket;
            match e.kind {
                TcpEventKind::StateChange { to, .. } => {
                    protocol::encode_answer(&Answer::State { socket, state: to, local, remote }, answer)
                }
                // What the wire does not show (REPORT encodes only those kinds).
                kind => protocol::encode_answer(&Answer::Report { socket, local, remote, kind }, answer),
            }
        });
        self.report_readiness(answer);
        protocol::encode_answer(&Answer::Wake(self.stack.poll_timeout()), answer);
        protocol::encode_answer(&Answer::Done, answer);
    }

    /// Registers a waker that notes `id` when the stack wakes it.
    fn watch(&mut self, id: SocketId) {
        let tag = Arc::new(WakeTag { id, woken: self.woken.clone() });
        self.stack.register_waker(id, &Waker::from(tag));
    }

    /// An EVENT for each socket the stack woke (the application's wake-ups happen exactly when
    /// they would in-process), and for any whose READABLE, ACCEPTABLE, CONNECTED, CLOSED or error
    /// changed (READY bit 3: netlab answers a `recv` or `accept` that would block by itself).
    fn report_readiness(&mut self, answer: &mut Vec<u8>) {
        let mut woken = std::mem::take(&mut *self.woken.lock().unwrap_or_else(|e| e.into_inner()));
        woken.sort_unstable();
        woken.dedup();
        let tcp = self.stack.tcp();
        let mut rewatch = Vec::new();
        self.sockets.retain(|&id, last| {
            let now = readiness(tcp, id);
            let was_woken = woken.binary_search(&id).is_ok();
            let key = Readiness::READABLE | Readiness::ACCEPTABLE | Readiness::CONNECTED | Readiness::CLOSED;
            if was_woken || now.flags & key != last.flags & key || now.error != last.error {
                let flags = Readiness(now.flags);
                protocol::encode_answer(&Answer::Event { socket: id, flags, error: now.error }, answer);
                *last = now;
            }
            let alive = now.flags & Readiness::CLOSED == 0;
            if was_woken && alive {
                rewatch.push(id);
            }
            alive
        });
        for id in rewatch {
            self.watch(id);
        }
    }
}

/// A waker that records its socket in the adapter's list.
struct WakeTag {
    id: SocketId,
    woken: Arc<Mutex<Vec<SocketId>>>,
}

impl Wake for WakeTag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.lock().unwrap_or_else(|e| e.into_inner()).push(self.id);
    }
}

fn proto(m: String) -> ServeError {
    ServeError::Protocol(m)
}

fn socket(r: Result<SocketId, TcpError>) -> CallResult<'static> {
    r.map_or_else(CallResult::Error, CallResult::Socket)
}

fn unit(r: Result<(), TcpError>) -> CallResult<'static> {
    r.map_or_else(CallResult::Error, |()| CallResult::Unit)
}

/// The readiness of socket `id` as section 6 of the protocol defines it.
fn readiness(tcp: &crate::tcp::TcpStack, id: SocketId) -> Reported {
    if tcp.state(id).is_none() {
        return Reported { flags: Readiness::CLOSED, error: None };
    }
    if let Some(waiting) = tcp.accept_queue_len(id) {
        let flags = if waiting > 0 { Readiness::ACCEPTABLE } else { 0 };
        return Reported { flags, error: None };
    }
    let (readable, writable) = tcp.readiness(id).unwrap_or((false, false));
    let bit = |on: bool, b: u8| if on { b } else { 0 };
    let mut flags = bit(readable, Readiness::READABLE) | bit(writable, Readiness::WRITABLE);
    let mut error = None;
    match tcp.connect_result(id) {
        Ok(Some(())) => flags |= Readiness::CONNECTED,
        Err(e @ (TcpError::ConnectionRefused | TcpError::ConnectionReset | TcpError::TimedOut)) => error = Some(e),
        _ => {}
    }
    Reported { flags, error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::protocol::{Hello, decode_answer, encode_request, read_frame};
    use crate::tcp::{TcpConfig, TcpState};

    fn hello(version: u16) -> Request<'static> {
        Request::Hello(Hello {
            version,
            seed: 1,
            mtu: 1500,
            host: "h".into(),
            addrs: vec![(Ipv4Addr::new(10, 0, 0, 1), 24)],
            defaults: TcpConfig::default(),
        })
    }

    /// Runs `serve` on `requests`; returns its result and the frames it answered.
    fn converse(requests: &[Request<'_>]) -> (Result<(), ServeError>, Vec<Vec<u8>>) {
        let mut input = Vec::new();
        for r in requests {
            encode_request(r, &mut input);
        }
        let mut output = Vec::new();
        let r = serve(&input[..], &mut output);
        let (mut frames, mut f, mut rd) = (Vec::new(), Vec::new(), &output[..]);
        while read_frame(&mut rd, &mut f).unwrap() {
            frames.push(f.clone());
        }
        (r, frames)
    }

    fn fail_text(frames: &[Vec<u8>]) -> String {
        match decode_answer(frames.last().expect("an answer"), None) {
            Ok(Answer::Fail(why)) => why.to_string(),
            other => panic!("not FAIL: {other:?}"),
        }
    }

    #[test]
    fn a_listen_step_answers_result_state_wake_done() {
        let listen = Call::Listen { local: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80), backlog: 4, cfg: None };
        let steps = [hello(1), Request::Time(Instant::ZERO), Request::Call { id: 1, call: listen }, Request::End];
        let (r, frames) = converse(&steps);
        assert!(r.is_ok());
        let ready = decode_answer(&frames[0], None).unwrap();
        assert!(matches!(ready, Answer::Ready { version: 1, reports_states: true, transmit_on_request: true, .. }));
        assert_eq!(
            decode_answer(&frames[1], Some("listen")),
            Ok(Answer::Result { id: 1, result: CallResult::Socket(SocketId(1)) })
        );
        assert!(matches!(decode_answer(&frames[2], None), Ok(Answer::State { state: TcpState::Listen, .. })));
        assert_eq!(decode_answer(&frames[3], None), Ok(Answer::Wake(None)));
        assert_eq!(decode_answer(&frames[4], None), Ok(Answer::Done));
        assert_eq!(frames.len(), 5);
    }

    #[test]
    fn bad_requests_are_answered_with_fail() {
        let (r, frames) = converse(&[hello(2)]);
        assert!(matches!(r, Err(ServeError::Protocol(_))));
        assert_eq!(fail_text(&frames), "unsupported protocol version 2");
        let (_, frames) = converse(&[Request::Time(Instant::ZERO)]);
        assert_eq!(fail_text(&frames), "the first message is not HELLO");
        let (_, frames) = converse(&[hello(1), Request::Timeout]);
        assert!(fail_text(&frames).contains("must start with TIME"));
        let later = Instant::from_nanos(5);
        let (_, frames) = converse(&[hello(1), Request::Time(later), Request::End, Request::Time(Instant::ZERO)]);
        assert!(fail_text(&frames).contains("time went backwards"));
        let (_, frames) = converse(&[hello(1), Request::Time(Instant::ZERO), Request::Timeout]);
        assert!(fail_text(&frames).contains("end of input inside a step"));
    }

    #[test]
    fn end_of_input_between_steps_is_a_clean_end() {
        let (r, frames) = converse(&[hello(1), Request::Time(Instant::ZERO), Request::Timeout, Request::End]);
        assert!(r.is_ok());
        assert_eq!(frames.len(), 3, "READY, WAKE, DONE");
    }
}
