//! `ExternalStack`: a child process speaking the external stack protocol (docs/stack-protocol.md)
//! on its stdin/stdout, behind the `Stack` trait.
//!
//! Each trait call that needs the process is one step: TIME, the input, END written with one flush,
//! then the whole answer read up to DONE. A reader thread reads the process's stdout and hands each
//! complete answer over a channel, so that netlab can wait with a timeout (`recv_timeout`): the
//! step timeout is the only use of the wall clock, and it can only end a run with an error, never
//! change its result. Datagrams of an answer wait in a queue for `poll_transmit`; readiness and
//! state reports are kept per socket and answer `connect_result` and `state` without a step.
//!
//! Any failure (crash, hang, garbage, FAIL) kills the process and makes the stack inert; `failure`
//! then returns the error, which names the host, the stack and the step.

use super::answers::{Answers, FromReader, TimedOut};
use super::protocol::{self, Answer, Call, CallResult, Hello, Readiness, Request};
use super::{Sockets, Stack, StackError, StackErrorKind};
use crate::sim::Instant;
use crate::tcp::{SocketId, TcpConfig, TcpError, TcpEvent, TcpEventKind, TcpState};
use crate::wire::Ipv4Repr;
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufWriter, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::task::Waker;
use std::time::Duration as WallDuration;

/// The per-step timeout unless the caller sets another (docs/stack-protocol.md section 9).
pub const DEFAULT_STEP_TIMEOUT: WallDuration = WallDuration::from_secs(5);
/// The most bytes one send or recv call moves through the pipe.
const MAX_CALL_DATA: usize = 1 << 20;

/// How to start an external stack.
#[derive(Debug, Clone)]
pub struct ExternalConfig {
    /// The program and its arguments.
    pub command: Vec<String>,
    /// The simulated host's name (for HELLO and error messages).
    pub host: String,
    /// HELLO's seed. Pass the key an in-process `NetlabStack` would get as its ISN key, so that
    /// netlab's reference adapter gives the same run as the in-process stack.
    pub seed: u64,
    /// TCP defaults sent in HELLO.
    pub defaults: TcpConfig,
    /// Wall-clock time a step may take.
    pub step_timeout: WallDuration,
    /// Where the process's standard error goes (`None`: inherited from netlab).
    pub stderr: Option<PathBuf>,
}

impl ExternalConfig {
    /// A configuration with the default step timeout and inherited standard error.
    pub fn new(command: Vec<String>, host: &str, seed: u64, defaults: TcpConfig) -> Self {
        ExternalConfig {
            command,
            host: host.to_string(),
            seed,
            defaults,
            step_timeout: DEFAULT_STEP_TIMEOUT,
            stderr: None,
        }
    }
}

/// What the last EVENT and STATE said about a socket.
#[derive(Debug, Clone, Copy, Default)]
struct SocketView {
    flags: u8,
    error: Option<TcpError>,
    state: Option<TcpState>,
    listener: bool,
    /// The application knows the socket (a RESULT gave it, or an EVENT reported it).
    known: bool,
}

/// The owned outcome of the step's call.
enum Outcome {
    Socket(SocketId),
    Count(usize),
    Data(usize),
    Unit,
    WouldBlock,
    Error(TcpError),
}

/// A stack in a child process.
pub struct ExternalStack {
    name: String,
    cfg: ExternalConfig,
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    answers: Answers,
    failure: Option<StackError>,
    addrs: Vec<Ipv4Addr>,
    mtu: u16,
    reports_states: bool,
    /// READY flag bit 2: the process sends REPORTs.
    reports_events: bool,
    /// READY flag bit 1: datagrams come only in answer to TRANSMIT.
    transmit_on_request: bool,
    /// READY flag bit 3: EVENTs keep READABLE and ACCEPTABLE exact, so a `recv` or `accept` that
    /// would block is answered without a step.
    exact_readiness: bool,
    /// A step happened since the last TRANSMIT.
    untransmitted: bool,
    step_no: u64,
    next_call: u32,
    now: Instant,
    wake: Option<Instant>,
    outq: VecDeque<Vec<u8>>,
    sockets: BTreeMap<SocketId, SocketView>,
    wakers: BTreeMap<SocketId, Waker>,
    events: Vec<TcpEvent>,
    request: Vec<u8>,
    /// The current step's answer, and one frame of it (kept to avoid allocations per step).
    answer: Vec<u8>,
    frame: Vec<u8>,
    /// Buffers of datagrams already handed out, for reuse.
    spare: Vec<Vec<u8>>,
    /// What the current step is about (for error messages).
    doing: Doing,
    recv_data: Vec<u8>,
    send_data: Vec<u8>,
}

/// The input of the current step, kept cheaply; formatted only when an error needs it.
#[derive(Debug, Clone, Copy)]
enum Doing {
    Hello,
    Call(u32, &'static str),
    Datagram(usize),
    Timeout,
    Transmit,
}

impl ExternalStack {
    /// Starts the process. HELLO is sent by `configure`.
    pub fn spawn(cfg: ExternalConfig) -> Result<Self, StackError> {
        let name = format!("external:{}", cfg.command.first().map_or("", String::as_str));
        let err = |kind| StackError { host: cfg.host.clone(), stack: name.clone(), kind };
        let Some((program, args)) = cfg.command.split_first() else {
            return Err(err(StackErrorKind::Spawn("empty command".into())));
        };
        let stderr = match &cfg.stderr {
            None => Stdio::inherit(),
            Some(p) => std::fs::File::create(p)
                .map(Stdio::from)
                .map_err(|e| err(StackErrorKind::Spawn(format!("{}: {e}", p.display()))))?,
        };
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| err(StackErrorKind::Spawn(format!("{program}: {e}"))))?;
        let stdin = child.stdin.take().map(|s| BufWriter::with_capacity(64 * 1024, s));
        let stdout = child.stdout.take().expect("stdout was piped");
        let answers =
            Answers::start(stdout, &cfg.host).map_err(|e| err(StackErrorKind::Spawn(format!("reader thread: {e}"))))?;
        Ok(ExternalStack {
            name,
            cfg,
            child,
            stdin,
            answers,
            failure: None,
            addrs: Vec::new(),
            mtu: 0,
            reports_states: false,
            reports_events: false,
            transmit_on_request: false,
            exact_readiness: false,
            untransmitted: false,
            step_no: 0,
            next_call: 0,
            now: Instant::ZERO,
            wake: None,
            outq: VecDeque::new(),
            sockets: BTreeMap::new(),
            wakers: BTreeMap::new(),
            events: Vec::new(),
            request: Vec::with_capacity(64 * 1024),
            answer: Vec::with_capacity(64 * 1024),
            frame: Vec::new(),
            spare: Vec::new(),
            doing: Doing::Hello,
            recv_data: Vec::new(),
            send_data: Vec::new(),
        })
    }

    /// Steps (request/answer round trips) so far, HELLO not counted.
    pub fn steps(&self) -> u64 {
        self.step_no
    }

    fn error(&self, kind: StackErrorKind) -> StackError {
        StackError { host: self.cfg.host.clone(), stack: self.name.clone(), kind }
    }

    /// Records the failure (the first one sticks), kills the process and wakes every waiter.
    fn fail(&mut self, kind: StackErrorKind) {
        if self.failure.is_none() {
            self.failure = Some(self.error(kind));
        }
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.outq.clear();
        self.wake = None;
        for (_, w) in std::mem::take(&mut self.wakers) {
            w.wake();
        }
    }

    /// Writes `self.request` (a whole step) with one flush and reads the answer into `self.answer`;
    /// false if the process failed.
    fn exchange(&mut self) -> bool {
        // Anything already waiting was sent without being asked for (after the last DONE). Before
        // HELLO there was no DONE: what the process said first is judged as the answer to HELLO.
        if self.step_no > 0
            && let Some(extra) = self.answers.unasked()
        {
            let message = format!("{extra} bytes sent after the previous DONE, unasked");
            self.fail(StackErrorKind::Protocol { during: self.during(), message });
            return false;
        }
        let Some(stdin) = self.stdin.as_mut() else { return false };
        if let Err(e) = stdin.write_all(&self.request).and_then(|()| stdin.flush()) {
            // A broken pipe means the process is gone: report how it ended if the reader saw it.
            let next = self.answers.next(self.cfg.step_timeout, &mut self.answer);
            let exited = matches!(next, Ok(FromReader::Closed(_)) | Err(_));
            let kind = if exited {
                StackErrorKind::Exited { during: self.during(), status: self.exit_status() }
            } else {
                StackErrorKind::Io(e.to_string())
            };
            self.fail(kind);
            return false;
        }
        let kind = match self.answers.next(self.cfg.step_timeout, &mut self.answer) {
            Ok(FromReader::Answer) => return true,
            Ok(FromReader::Closed(why)) if why.is_empty() => {
                StackErrorKind::Exited { during: self.during(), status: self.exit_status() }
            }
            Ok(FromReader::Closed(why)) => StackErrorKind::Protocol { during: self.during(), message: why },
            Err(TimedOut) => {
                let timeout_ms = self.cfg.step_timeout.as_millis() as u64;
                StackErrorKind::Timeout { during: self.during(), timeout_ms }
            }
        };
        self.fail(kind);
        false
    }

    /// The process's exit status, waiting for it briefly (it closed its stdout).
    fn exit_status(&mut self) -> String {
        for _ in 0..200 {
            match self.child.try_wait() {
                Ok(Some(s)) => return s.to_string(),
                Ok(None) => std::thread::sleep(WallDuration::from_millis(5)),
                Err(e) => return format!("status unknown: {e}"),
            }
        }
        "still running after closing its output".into()
    }

    /// One step at `now` with one input; returns the call's outcome (if `call` is given).
    fn step(&mut self, now: Instant, input: Request<'_>) -> Option<Outcome> {
        if self.failure.is_some() {
            return None;
        }
        self.now = self.now.max(now);
        self.step_no += 1;
        self.untransmitted = !matches!(input, Request::Transmit);
        self.request.clear();
        protocol::encode_request(&Request::Time(self.now), &mut self.request);
        let call = match &input {
            Request::Call { id, call } => Some((*id, call.name())),
            _ => None,
        };
        self.doing = match &input {
            Request::Call { id, call } => Doing::Call(*id, call.name()),
            Request::Datagram(d) => Doing::Datagram(d.len()),
            Request::Transmit => Doing::Transmit,
            _ => Doing::Timeout,
        };
        protocol::encode_request(&input, &mut self.request);
        protocol::encode_request(&Request::End, &mut self.request);
        if !self.exchange() {
            return None;
        }
        let answer = std::mem::take(&mut self.answer);
        let applied = self.apply(&answer, call);
        self.answer = answer;
        match applied {
            Ok(outcome) => outcome,
            Err(message) => {
                self.fail(StackErrorKind::Protocol { during: self.during(), message });
                None
            }
        }
    }

    /// "step 17 at 1.250000000 s (CALL 9 recv)", or "HELLO".
    fn during(&self) -> String {
        let what = match self.doing {
            Doing::Hello => return "HELLO".into(),
            Doing::Call(id, name) => format!("CALL {id} {name}"),
            Doing::Datagram(len) => format!("DATAGRAM of {len} bytes"),
            Doing::Timeout => "TIMEOUT".into(),
            Doing::Transmit => "TRANSMIT".into(),
        };
        format!("step {} at {:.9} s ({what})", self.step_no, self.now.as_secs_f64())
    }

    /// Applies one answer; `Err` names the first thing wrong with it.
    fn apply(&mut self, answer: &[u8], call: Option<(u32, &'static str)>) -> Result<Option<Outcome>, String> {
        let mut r = answer;
        let mut frame = std::mem::take(&mut self.frame);
        let applied = self.apply_frames(&mut r, &mut frame, call);
        self.frame = frame;
        applied
    }

    fn apply_frames(
        &mut self,
        mut r: &mut &[u8],
        frame: &mut Vec<u8>,
        call: Option<(u32, &'static str)>,
    ) -> Result<Option<Outcome>, String> {
        let (mut outcome, mut woke, mut done) = (None, false, false);
        while protocol::read_frame(&mut r, frame).map_err(|e| e.to_string())? {
            if done {
                return Err("messages after DONE".into());
            }
            let pending = call.filter(|_| outcome.is_none()).map(|c| c.1);
            match protocol::decode_answer(frame, pending).map_err(|e| e.0)? {
                Answer::Datagram(d) => self.outgoing(d)?,
                Answer::Result { id, result } => outcome = Some(self.result(call, id, result)?),
                Answer::Event { socket, flags, error } => self.event(socket, flags, error),
                Answer::State { socket, state, local, remote } => self.state_report(socket, state, local, remote),
                Answer::Report { socket, local, remote, kind } => {
                    let (local, remote) = (Some(local), Some(remote));
                    self.events.push(TcpEvent { time: self.now, socket, local, remote, kind });
                }
                Answer::Wake(t) if !woke => (self.wake, woke) = (t, true),
                Answer::Wake(_) => return Err("a second WAKE".into()),
                Answer::Done => done = true,
                Answer::Fail(why) => return Err(format!("FAIL: {why}")),
                Answer::Ready { .. } => return Err("READY inside a step".into()),
            }
        }
        if !woke {
            return Err("DONE without WAKE".into());
        }
        match call {
            Some((id, _)) if outcome.is_none() => Err(format!("no RESULT for CALL {id}")),
            _ => Ok(outcome),
        }
    }

    fn outgoing(&mut self, d: &[u8]) -> Result<(), String> {
        let (ip, _) = Ipv4Repr::parse(d).map_err(|e| format!("DATAGRAM with a bad IPv4 header: {e}"))?;
        if d.len() > usize::from(self.mtu) {
            return Err(format!("DATAGRAM of {} bytes exceeds the MTU {}", d.len(), self.mtu));
        }
        if !self.addrs.contains(&ip.src) {
            return Err(format!("DATAGRAM from {}, not an address of this host", ip.src));
        }
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(d);
        self.outq.push_back(buf);
        Ok(())
    }

    fn result(&mut self, call: Option<(u32, &str)>, id: u32, r: CallResult<'_>) -> Result<Outcome, String> {
        let Some((want, name)) = call else {
            return Err(format!("RESULT {id} without a CALL"));
        };
        if id != want {
            return Err(format!("RESULT {id} for CALL {want}"));
        }
        Ok(match r {
            CallResult::Socket(s) => {
                let view = self.sockets.entry(s).or_default();
                view.listener = name == "listen";
                view.known = true;
                Outcome::Socket(s)
            }
            CallResult::Count(n) => Outcome::Count(n as usize),
            CallResult::Data(d) => {
                self.recv_data.clear();
                self.recv_data.extend_from_slice(d);
                Outcome::Data(d.len())
            }
            CallResult::Unit => Outcome::Unit,
            CallResult::WouldBlock if matches!(name, "accept" | "recv") => Outcome::WouldBlock,
            CallResult::WouldBlock => return Err(format!("RESULT {id}: {name} cannot block")),
            CallResult::Error(e) => Outcome::Error(e),
        })
    }

    fn event(&mut self, socket: SocketId, flags: Readiness, error: Option<TcpError>) {
        let (old_flags, old_error) = self.sockets.get(&socket).map_or((0, None), |v| (v.flags, v.error));
        // Section 6: an EVENT whose only news is that READABLE or ACCEPTABLE went off wakes no one
        // (nobody waits for that); any other EVENT wakes the socket's waiter.
        let lost = old_flags & !flags.0;
        let only_went_off = flags.0 & !old_flags == 0
            && lost != 0
            && lost & !(Readiness::READABLE | Readiness::ACCEPTABLE) == 0
            && error == old_error;
        if !only_went_off && let Some(w) = self.wakers.remove(&socket) {
            w.wake();
        }
        if flags.has(Readiness::CLOSED) {
            // Freed: its id is invalid from now on, as with netlab's stack.
            self.sockets.remove(&socket);
            return;
        }
        let view = self.sockets.entry(socket).or_default();
        view.flags = flags.0;
        view.error = error;
        view.known = true;
    }

    fn state_report(&mut self, socket: SocketId, to: TcpState, local: SocketAddrV4, remote: SocketAddrV4) {
        let view = self.sockets.entry(socket).or_default();
        let from = view.state.replace(to).unwrap_or(TcpState::Closed);
        let remote = Some(remote).filter(|r| !r.ip().is_unspecified() || r.port() != 0);
        if to == TcpState::Closed && !view.known {
            // A connection the application never saw (a child never accepted) ended.
            self.sockets.remove(&socket);
        }
        let kind = TcpEventKind::StateChange { from, to };
        self.events.push(TcpEvent { time: self.now, socket, local: Some(local), remote, kind });
    }

    /// True if the last EVENT of `id` says that a `recv` (or, for a listener, an `accept`) would
    /// block, and the process keeps those flags exact (READY bit 3): the call needs no step.
    fn would_block(&self, id: SocketId, flag: u8) -> bool {
        self.exact_readiness
            && self.failure.is_none()
            && self.sockets.get(&id).is_some_and(|v| v.known && v.error.is_none() && v.flags & flag == 0)
    }

    /// A socket call as one step; a failed stack gives `InvalidSocket`.
    fn call(&mut self, now: Instant, call: Call<'_>) -> Outcome {
        self.next_call += 1;
        let id = self.next_call;
        self.step(now, Request::Call { id, call }).unwrap_or(Outcome::Error(TcpError::InvalidSocket))
    }

    /// An outcome of an unexpected kind is a protocol violation (the codec gives each call its shape).
    fn unexpected<T>(&mut self, what: &str) -> Result<T, TcpError> {
        let during = self.during();
        self.fail(StackErrorKind::Protocol { during, message: format!("unexpected result for {what}") });
        Err(TcpError::InvalidSocket)
    }

    fn socket_result(&mut self, o: Outcome, what: &str) -> Result<SocketId, TcpError> {
        match o {
            Outcome::Socket(s) => Ok(s),
            Outcome::Error(e) => Err(e),
            _ => self.unexpected(what),
        }
    }

    fn unit_result(&mut self, o: Outcome, what: &str) -> Result<(), TcpError> {
        match o {
            Outcome::Unit => Ok(()),
            Outcome::Error(e) => Err(e),
            _ => self.unexpected(what),
        }
    }
}

impl Drop for ExternalStack {
    /// Closes the process's stdin (the end of the conversation), gives it the step timeout to exit,
    /// then kills it.
    fn drop(&mut self) {
        self.stdin = None;
        let deadline = std::time::Instant::now() + self.cfg.step_timeout;
        while std::time::Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(WallDuration::from_millis(1)),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sockets for ExternalStack {
    fn listen(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        backlog: usize,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        let backlog = u32::try_from(backlog).unwrap_or(u32::MAX);
        let o = self.call(now, Call::Listen { local, backlog, cfg });
        self.socket_result(o, "listen")
    }

    fn accept(&mut self, now: Instant, listener: SocketId) -> Result<Option<SocketId>, TcpError> {
        if self.would_block(listener, Readiness::ACCEPTABLE) && self.sockets[&listener].listener {
            return Ok(None);
        }
        match self.call(now, Call::Accept { listener }) {
            Outcome::WouldBlock => Ok(None),
            o => self.socket_result(o, "accept").map(Some),
        }
    }

    fn connect(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        let o = self.call(now, Call::Connect { local, remote, cfg });
        self.socket_result(o, "connect")
    }

    fn connect_result(&self, id: SocketId) -> Result<Option<()>, TcpError> {
        if self.failure.is_some() {
            return Err(TcpError::InvalidSocket);
        }
        let v = self.sockets.get(&id).ok_or(TcpError::InvalidSocket)?;
        match v.error {
            Some(e) => Err(e),
            None if v.flags & Readiness::CONNECTED != 0 => Ok(Some(())),
            None if v.listener => Err(TcpError::NotConnected),
            None => Ok(None),
        }
    }

    fn send(&mut self, now: Instant, id: SocketId, data: &[u8]) -> Result<usize, TcpError> {
        let data = &data[..data.len().min(MAX_CALL_DATA)];
        match self.call(now, Call::Send { socket: id, data }) {
            Outcome::Count(n) if n <= data.len() => Ok(n),
            Outcome::Error(e) => Err(e),
            _ => self.unexpected("send (more bytes taken than offered?)"),
        }
    }

    /// Two steps: send_space, then a send of exactly that many bytes (at most `max`), so that
    /// `fill` only produces bytes the process takes.
    fn send_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        fill: &mut dyn FnMut(usize, &mut [u8]),
    ) -> Result<usize, TcpError> {
        let space = match self.call(now, Call::SendSpace(id)) {
            Outcome::Count(n) => n,
            Outcome::Error(e) => return Err(e),
            _ => return self.unexpected("send_space"),
        };
        let n = space.min(max).min(MAX_CALL_DATA);
        if n == 0 {
            return Ok(0);
        }
        let mut data = std::mem::take(&mut self.send_data);
        data.clear();
        data.resize(n, 0);
        fill(0, &mut data);
        let r = match self.call(now, Call::Send { socket: id, data: &data }) {
            Outcome::Count(taken) if taken == n => Ok(n),
            Outcome::Error(e) => Err(e),
            _ => self.unexpected("send (fewer bytes taken than send_space promised?)"),
        };
        self.send_data = data;
        r
    }

    fn recv(&mut self, now: Instant, id: SocketId, buf: &mut [u8]) -> Result<Option<usize>, TcpError> {
        let max = buf.len().min(MAX_CALL_DATA) as u32;
        if max == 0 {
            return Err(TcpError::InvalidArgument);
        }
        if self.would_block(id, Readiness::READABLE) && !self.sockets[&id].listener {
            return Ok(None);
        }
        match self.call(now, Call::Recv { socket: id, max }) {
            Outcome::Data(n) if n <= max as usize => {
                buf[..n].copy_from_slice(&self.recv_data[..n]);
                Ok(Some(n))
            }
            Outcome::WouldBlock => Ok(None),
            Outcome::Error(e) => Err(e),
            _ => self.unexpected("recv (more bytes than asked for?)"),
        }
    }

    fn recv_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<usize>, TcpError> {
        let max = max.clamp(1, MAX_CALL_DATA) as u32;
        if self.would_block(id, Readiness::READABLE) && !self.sockets[&id].listener {
            return Ok(None);
        }
        match self.call(now, Call::Recv { socket: id, max }) {
            Outcome::Data(n) if n <= max as usize => {
                if n > 0 {
                    f(&self.recv_data[..n]);
                }
                Ok(Some(n))
            }
            Outcome::WouldBlock => Ok(None),
            Outcome::Error(e) => Err(e),
            _ => self.unexpected("recv (more bytes than asked for?)"),
        }
    }

    fn shutdown_write(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        let o = self.call(now, Call::ShutdownWrite(id));
        self.unit_result(o, "shutdown_write")
    }

    fn close(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        let o = self.call(now, Call::Close(id));
        self.unit_result(o, "close")
    }

    fn abort(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        let o = self.call(now, Call::Abort(id));
        self.unit_result(o, "abort")
    }

    /// The reported state if the process sends STATE reports; otherwise a coarse one from the
    /// readiness: LISTEN for listeners, CLOSED after an error, ESTABLISHED once connected, SYN-SENT
    /// before. `None` once the socket is freed (EVENT bit CLOSED) or unknown.
    fn state(&self, id: SocketId) -> Option<TcpState> {
        let v = self.sockets.get(&id)?;
        if self.failure.is_some() {
            return None;
        }
        if let Some(s) = v.state {
            return Some(s);
        }
        Some(match v {
            v if v.listener => TcpState::Listen,
            v if v.error.is_some() => TcpState::Closed,
            v if v.flags & Readiness::CONNECTED != 0 => TcpState::Established,
            _ => TcpState::SynSent,
        })
    }

    fn register_waker(&mut self, id: SocketId, waker: &Waker) {
        let gone = self.failure.is_some() || !self.sockets.contains_key(&id);
        if gone {
            waker.wake_by_ref();
        } else {
            self.wakers.insert(id, waker.clone());
        }
    }
}

impl Stack for ExternalStack {
    fn name(&self) -> &str {
        &self.name
    }

    fn reports_states(&self) -> bool {
        self.reports_states
    }

    fn reports_events(&self) -> bool {
        self.reports_events
    }

    fn configure(&mut self, addrs: &[(Ipv4Addr, u8)], mtu: u16) -> Result<(), StackError> {
        self.addrs = addrs.iter().map(|&(a, _)| a).collect();
        self.mtu = mtu;
        let hello = Hello {
            version: protocol::VERSION,
            seed: self.cfg.seed,
            mtu,
            host: self.cfg.host.clone(),
            addrs: addrs.to_vec(),
            defaults: self.cfg.defaults.clone(),
        };
        self.request.clear();
        protocol::encode_request(&Request::Hello(hello), &mut self.request);
        self.doing = Doing::Hello;
        if !self.exchange() {
            return Err(self.failure.clone().expect("exchange failed"));
        }
        let answer = std::mem::take(&mut self.answer);
        let mut frame = Vec::new();
        let ready = match protocol::read_frame(&mut &answer[..], &mut frame) {
            Ok(true) => protocol::decode_answer(&frame, None).map_err(|e| e.0),
            _ => Err("no message".into()),
        };
        let message = match ready {
            Ok(Answer::Ready {
                version, reports_states, transmit_on_request, reports_events, exact_readiness, ..
            }) if version == protocol::VERSION => {
                self.exact_readiness = exact_readiness;
                self.reports_states = reports_states;
                self.reports_events = reports_events;
                self.transmit_on_request = transmit_on_request;
                return Ok(());
            }
            Ok(Answer::Ready { version, .. }) => {
                format!("READY with version {version}, netlab speaks {}", protocol::VERSION)
            }
            Ok(Answer::Fail(why)) => {
                let why = why.to_string();
                self.fail(StackErrorKind::Failed(why));
                return Err(self.failure.clone().expect("just failed"));
            }
            Ok(other) => format!("expected READY, got {other:?}"),
            Err(e) => e,
        };
        self.fail(StackErrorKind::Protocol { during: "HELLO".into(), message });
        Err(self.failure.clone().expect("just failed"))
    }

    fn receive(&mut self, now: Instant, datagram: &[u8]) {
        self.step(now, Request::Datagram(datagram));
    }

    fn poll_transmit(&mut self, now: Instant, out: &mut dyn FnMut(&[u8])) {
        if self.transmit_on_request && self.untransmitted {
            self.step(now, Request::Transmit);
        }
        while let Some(d) = self.outq.pop_front() {
            out(&d);
            self.spare.push(d);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.wake
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.step(now, Request::Timeout);
    }

    fn drain_events(&mut self, f: &mut dyn FnMut(TcpEvent)) {
        for e in self.events.drain(..) {
            f(e);
        }
    }

    fn steps(&self) -> Option<u64> {
        Some(self.step_no)
    }

    fn failure(&self) -> Option<&StackError> {
        self.failure.as_ref()
    }
}
