//! Runs a parsed script against a stack under test on the simulated clock.
//!
//! The clock only moves forward: to the time of the next event, or through the stack's own
//! timers while the script waits for an outbound packet or a blocked call. Every datagram the stack
//! sends is queued with its send time and matched, in order, by the next `>` line. Relative times
//! are relative to the clock when the event is processed (after an outbound packet: when it was
//! matched), as in packetdrill.

use super::ast::{Action, Direction, Event, EventTime, PacketBody, Script, Syscall};
use super::packet::{self, SeqMap, Tuple, WireSeg};
use super::syscalls::{Outcome, Progress, Sockets, eval_int};
use crate::output::Capture;
use crate::sim::{Duration, Instant};
use crate::stack::Stack;
use crate::wire::{EtherType, EthernetRepr, MacAddr};
use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};

/// packetdrill's default addresses: the stack under test is in 192.168.0.0/16, the remote peer
/// in TEST-NET-1 (RFC 5737); packetdrill's own port for bind() and connect() is 8080.
pub const LOCAL_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 1);
/// The script's (remote peer's) address: packetdrill's `--remote_ip` default.
pub const REMOTE_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The port `bind()` gives the stack's socket and `connect()` connects to (packetdrill's
/// `--bind_port` and `--connect_port` default).
pub const SCRIPT_PORT: u16 = 8080;
/// The remote port of the first passively opened connection (the next ones count up).
pub const FIRST_REMOTE_PORT: u16 = 40000;
/// The prefix length of the stack's address (192.168.0.0/16).
pub const PREFIX: u8 = 16;
/// The stack's interface MTU in bytes (Ethernet's).
pub const MTU: u16 = 1500;

/// How long a `*` line (any time) waits for a packet before giving up.
const ANY_TIME_LIMIT: Duration = Duration::from_secs(3600);
/// Timer callbacks at one instant before the runner decides the stack is spinning.
const SPIN_LIMIT: u32 = 100_000;

/// Settings of one run.
pub struct RunSettings {
    /// File name used in reports.
    pub file: String,
    /// How far from its scripted time an event may happen, either way (packetdrill's
    /// `--tolerance_usecs`).
    pub tolerance: Duration,
    /// Where the pcap goes (None: no capture).
    pub capture: Option<Capture>,
}

/// Why a script failed: packetdrill's report (first line `file:line: ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The script line of the event that failed (0: before the first event, e.g. the stack
    /// refused its configuration).
    pub line: u32,
    /// The whole report, starting `file:line: `.
    pub text: String,
}

/// The result of a run.
#[derive(Debug)]
pub struct Report {
    /// None: every event happened as the script says.
    pub failure: Option<Failure>,
    /// Things skipped (shell commands, unknown options, unmatched packets left at the end).
    pub notes: Vec<String>,
    /// Datagrams the script injected into the stack (`<` lines run).
    pub packets_in: u64,
    /// Datagrams the stack sent, matched or not.
    pub packets_out: u64,
    /// Simulated time at the end.
    pub end: Instant,
    /// An error writing the capture, if any.
    pub capture_error: Option<String>,
}

/// A call on a blocking socket that has not returned yet.
struct Pending {
    call: Syscall,
    line: u32,
    /// When it must return (± tolerance).
    due: Instant,
    progress: Progress,
}

struct Runner<'a> {
    stack: &'a mut dyn Stack,
    file: String,
    tolerance: Duration,
    now: Instant,
    capture: Option<Capture>,
    /// Sent, not yet matched: (time, datagram).
    outbox: VecDeque<(Instant, Vec<u8>)>,
    map: SeqMap,
    tuple: Option<Tuple>,
    next_remote_port: u16,
    sockets: Sockets,
    pending: Option<Pending>,
    notes: Vec<String>,
    packets_in: u64,
    packets_out: u64,
}

type Step = Result<(), Failure>;

/// Runs `script` against `stack` (configured here with packetdrill's local address).
pub fn run(script: &Script, stack: &mut dyn Stack, settings: RunSettings) -> Report {
    let mut r = Runner {
        file: settings.file,
        tolerance: settings.tolerance,
        now: Instant::ZERO,
        capture: settings.capture,
        outbox: VecDeque::new(),
        map: SeqMap::default(),
        tuple: None,
        next_remote_port: FIRST_REMOTE_PORT,
        sockets: Sockets {
            fds: BTreeMap::new(),
            local_ip: LOCAL_IP,
            remote: SocketAddrV4::new(REMOTE_IP, SCRIPT_PORT),
            bind_port: SCRIPT_PORT,
            defaults: crate::tcp::TcpConfig::default(),
        },
        pending: None,
        notes: Vec::new(),
        packets_in: 0,
        packets_out: 0,
        stack,
    };
    let failure = r.run(script).err();
    let capture_error = r.capture.as_mut().and_then(|c| c.finish().err());
    Report { failure, notes: r.notes, packets_in: r.packets_in, packets_out: r.packets_out, end: r.now, capture_error }
}

/// Header options named after Linux's sysctls that choose the loss recovery the script expects:
/// `--tcp_recovery=0` gives the RFC 6675 dupack rule instead of RACK (`=1`), `--tcp_dsack=0`
/// turns D-SACK off, `--tcp_prr=0` (netlab's own) gives RFC 6675's cwnd = ssthresh instead of
/// PRR, `--tcp_comp_sack_nr=N` holds back at most N out-of-order ACKs (0: every one goes at once,
/// RFC 5681 4.2). Other options are the runner's own or ignored.
fn apply_sysctl(cfg: &mut crate::tcp::TcpConfig, o: &super::ast::ScriptOption) -> Result<(), String> {
    let flag = |v: Option<&str>| match v {
        Some("0") => Ok(false),
        Some("1") => Ok(true),
        other => Err(format!("--{} expects 0 or 1, found `{}`", o.name, other.unwrap_or(""))),
    };
    match o.name.as_str() {
        "tcp_recovery" => {
            cfg.recovery = if flag(o.value.as_deref())? {
                crate::tcp::LossDetection::Rack
            } else {
                crate::tcp::LossDetection::Dupack
            };
        }
        "tcp_dsack" => cfg.dsack = flag(o.value.as_deref())?,
        // netlab's own: Linux has no switch for PRR.
        "tcp_prr" => cfg.prr = flag(o.value.as_deref())?,
        "tcp_comp_sack_nr" => {
            cfg.comp_sack_nr = o.value.as_deref().and_then(|v| v.parse().ok()).ok_or_else(|| {
                format!("--tcp_comp_sack_nr expects a count, found `{}`", o.value.as_deref().unwrap_or(""))
            })?;
        }
        _ => {}
    }
    Ok(())
}

fn secs(t: Instant) -> String {
    format!("{:.6}", t.as_secs_f64())
}

impl Runner<'_> {
    fn run(&mut self, script: &Script) -> Step {
        if let Err(e) = self.stack.configure(&[(LOCAL_IP, PREFIX)], MTU) {
            return Err(Failure { line: 0, text: format!("{}: the stack refused its configuration: {e}", self.file) });
        }
        for o in &script.options {
            if let Err(e) = apply_sysctl(&mut self.sockets.defaults, o) {
                return Err(Failure {
                    line: o.pos.line,
                    text: format!("{}:{}:{}: {e}", self.file, o.pos.line, o.pos.col),
                });
            }
        }
        for ev in &script.events {
            self.event(ev)?;
        }
        if let Some(p) = &self.pending {
            let (line, due, name) = (p.line, p.due, p.call.name.clone());
            return Err(self.fail(
                line,
                format!(
                    "{name} call was expected to return at {} but had not returned at the end of the script",
                    secs(due)
                ),
            ));
        }
        self.note_unmatched();
        Ok(())
    }

    fn fail(&self, line: u32, message: String) -> Failure {
        Failure { line, text: format!("{}:{line}: {message}", self.file) }
    }

    fn note_unmatched(&mut self) {
        for (t, d) in &self.outbox {
            let text = match packet::parse_outbound(d) {
                Ok(seg) => packet::seg_text(&packet::to_script_space(&seg, &mut self.map.clone())),
                Err(e) => e,
            };
            self.notes.push(format!("packet sent at {} after the last event, not checked: {text}", secs(*t)));
        }
    }

    fn event(&mut self, ev: &Event) -> Step {
        let line = ev.pos.line;
        let base = self.now;
        let (at, until) = match ev.time {
            EventTime::Absolute(t) => (Instant::from_nanos(t), None),
            EventTime::Relative(d) => (base + Duration::from_nanos(d), None),
            EventTime::Any => (base, Some(base + ANY_TIME_LIMIT)),
            EventTime::AbsoluteRange(a, b) => (Instant::from_nanos(a), Some(Instant::from_nanos(b))),
            EventTime::RelativeRange(a, b) => (base + Duration::from_nanos(a), Some(base + Duration::from_nanos(b))),
        };
        match &ev.action {
            Action::Packet(p) if p.direction == Direction::Outbound => {
                let (lo, hi) = match (ev.time, until) {
                    (EventTime::Any, Some(u)) => (Instant::ZERO, u),
                    (_, Some(u)) => (at, u),
                    _ => (at - self.tolerance.min(at.since_start()), at + self.tolerance),
                };
                self.expect(line, at, lo, hi, &p.body)
            }
            Action::Packet(p) => {
                self.start_at(line, at)?;
                self.inject(line, &p.body)
            }
            Action::Syscall(call) => {
                self.start_at(line, at)?;
                let due = match call.end {
                    Some(end) if matches!(ev.time, EventTime::Relative(_)) => base + Duration::from_nanos(end),
                    Some(end) => Instant::from_nanos(end),
                    None => self.now,
                };
                self.syscall(line, call, due)
            }
            Action::Command(c) => {
                self.notes.push(format!("{}:{line}: shell command not run: `{c}`", self.file));
                self.start_at(line, at)
            }
            Action::Code(_) => {
                self.notes.push(format!("{}:{line}: %{{ code }}% not run", self.file));
                Ok(())
            }
        }
    }

    /// Moves the clock to `at` for an inbound packet or a call; an event already more than the
    /// tolerance in the past is a timing error.
    fn start_at(&mut self, line: u32, at: Instant) -> Step {
        if at + self.tolerance < self.now {
            return Err(self.fail(
                line,
                format!(
                    "timing error: event expected at {} sec but the clock is already at {} sec",
                    secs(at),
                    secs(self.now)
                ),
            ));
        }
        self.advance_to(line, at)
    }

    /// Runs the stack's timers up to `t` (inclusive), then sets the clock to `t`.
    fn advance_to(&mut self, line: u32, t: Instant) -> Step {
        self.run_until(line, t, false)
    }

    /// Runs the stack's timers up to `t`; with `stop_on_packet`, stops at the first timer that makes
    /// the stack send something (the clock stays at that timer).
    fn run_until(&mut self, line: u32, t: Instant, stop_on_packet: bool) -> Step {
        let mut spins = 0;
        while let Some(d) = self.stack.poll_timeout().filter(|&d| d <= t) {
            if stop_on_packet && !self.outbox.is_empty() {
                return Ok(());
            }
            let at = d.max(self.now);
            spins = if at == self.now { spins + 1 } else { 0 };
            if spins > SPIN_LIMIT {
                return Err(
                    self.fail(line, format!("the stack asks for its timer at {} sec again and again", secs(at)))
                );
            }
            self.now = at;
            self.stack.handle_timeout(at);
            self.collect();
            self.retry_pending()?;
        }
        if stop_on_packet && !self.outbox.is_empty() {
            return Ok(());
        }
        self.now = self.now.max(t);
        self.collect();
        self.retry_pending()
    }

    /// Takes what the stack wants to send now into the outbox (and the capture).
    fn collect(&mut self) {
        let now = self.now;
        let mut sent = Vec::new();
        self.stack.poll_transmit(now, &mut |d| sent.push(d.to_vec()));
        for d in sent {
            self.packets_out += 1;
            self.learn_from(&d);
            self.record(&d, false);
            self.outbox.push_back((now, d));
        }
    }

    /// The first SYN the stack sends gives its ISN and, for an active open, the 4-tuple.
    fn learn_from(&mut self, d: &[u8]) {
        let Ok(seg) = packet::parse_outbound(d) else { return };
        if seg.flags & 0x02 == 0 || self.map.local_isn.is_some() {
            return;
        }
        self.map.local_isn = Some(seg.seq);
        if self.tuple.is_none() {
            self.tuple = Some(seg.tuple);
        }
    }

    fn record(&mut self, datagram: &[u8], inbound: bool) {
        let Some(cap) = self.capture.as_mut() else { return };
        let (local, remote) = (MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2]));
        let (src, dst) = if inbound { (remote, local) } else { (local, remote) };
        let eth = EthernetRepr { dst, src, ethertype: EtherType::Ipv4 };
        let mut frame = vec![0u8; EthernetRepr::HEADER_LEN + datagram.len()];
        eth.emit(&mut frame);
        frame[EthernetRepr::HEADER_LEN..].copy_from_slice(datagram);
        cap.record(self.now, self.now, &frame);
    }

    fn inject(&mut self, line: u32, body: &PacketBody) -> Step {
        let datagram = match body {
            PacketBody::Tcp(spec) => {
                if spec.flags.contains('S') && !spec.flags.contains('.') && self.tuple.is_none() {
                    let remote = SocketAddrV4::new(REMOTE_IP, self.next_remote_port);
                    self.next_remote_port += 1;
                    self.tuple = Some(Tuple { local: SocketAddrV4::new(LOCAL_IP, SCRIPT_PORT), remote });
                }
                let tuple = self.tuple.unwrap_or(Tuple {
                    local: SocketAddrV4::new(LOCAL_IP, SCRIPT_PORT),
                    remote: SocketAddrV4::new(REMOTE_IP, self.next_remote_port),
                });
                packet::inbound_tcp(spec, tuple, &self.map)
            }
            PacketBody::Icmp(spec) => match self.tuple {
                Some(t) => packet::inbound_icmp(spec, t, &self.map),
                None => Err("an ICMP message needs a connection to quote".to_string()),
            },
        };
        let datagram = datagram.map_err(|e| self.fail(line, format!("error handling packet: {e}")))?;
        self.record(&datagram, true);
        self.packets_in += 1;
        self.stack.receive(self.now, &datagram);
        self.collect();
        self.retry_pending()
    }

    /// Matches the next packet the stack sends, in `[lo, hi]`, against a `>` line.
    fn expect(&mut self, line: u32, at: Instant, lo: Instant, hi: Instant, body: &PacketBody) -> Step {
        let PacketBody::Tcp(spec) = body else {
            return Err(self.fail(line, "outbound ICMP is not supported".into()));
        };
        let (sent_at, datagram) = self.next_sent(line, hi, || format!("{} {}", secs(at), packet::spec_text(spec)))?;
        let seg = match packet::parse_outbound(&datagram) {
            Ok(seg) => packet::to_script_space(&seg, &mut self.map),
            Err(e) => return Err(self.fail(line, format!("error handling packet: expected a TCP segment, got {e}"))),
        };
        let mismatch = packet::compare(spec, &seg).err().or_else(|| {
            (sent_at < lo || sent_at > hi).then(|| {
                format!(
                    "timing error: expected outbound packet at {} sec but happened at {} sec; tolerance {} sec",
                    secs(at),
                    secs(sent_at),
                    secs(Instant::ZERO + self.tolerance)
                )
            })
        });
        if let Some(why) = mismatch {
            return Err(self.packet_failure(line, &why, at, spec, sent_at, &seg));
        }
        if let (Some((script_val, _)), Some((live_val, _))) =
            (ts_of(spec.options.as_deref().unwrap_or(&[])), ts_of(&seg.options))
        {
            self.map.learn_ts(script_val, live_val);
        }
        Ok(())
    }

    fn packet_failure(
        &self,
        line: u32,
        why: &str,
        at: Instant,
        spec: &super::ast::TcpSpec,
        sent_at: Instant,
        seg: &WireSeg,
    ) -> Failure {
        self.fail(
            line,
            format!(
                "error handling packet: {why}\nscript packet: {:>10} {}\nactual packet: {:>10} {}",
                secs(at),
                packet::spec_text(spec),
                secs(sent_at),
                packet::seg_text(seg)
            ),
        )
    }

    /// The oldest unmatched datagram, running the stack's timers up to `hi` for one.
    fn next_sent(
        &mut self,
        line: u32,
        hi: Instant,
        script: impl Fn() -> String,
    ) -> Result<(Instant, Vec<u8>), Failure> {
        if self.outbox.is_empty() {
            self.run_until(line, hi, true)?;
        }
        match self.outbox.pop_front() {
            Some(p) => Ok(p),
            None => Err(self.fail(
                line,
                format!(
                    "error handling packet: timed out waiting for packet\nscript packet: {}\nno packet by {} sec",
                    script(),
                    secs(hi)
                ),
            )),
        }
    }

    fn syscall(&mut self, line: u32, call: &Syscall, due: Instant) -> Step {
        if let Some(p) = &self.pending {
            let (pl, name) = (p.line, p.call.name.clone());
            return Err(
                self.fail(line, format!("a new system call while the {name} call of line {pl} is still blocked"))
            );
        }
        let pending = Pending { call: call.clone(), line, due, progress: Progress::default() };
        self.pending = Some(pending);
        self.retry_pending()
    }

    /// Tries the blocked call again; checks its result and time once it returns.
    fn retry_pending(&mut self) -> Step {
        let Some(mut p) = self.pending.take() else { return Ok(()) };
        let outcome = self
            .sockets
            .call(self.stack, self.now, &p.call, &mut p.progress)
            .map_err(|e| self.fail(p.line, format!("runtime error in {} call: {e}", p.call.name)))?;
        self.collect();
        match outcome {
            Outcome::WouldBlock => {
                if self.now > p.due + self.tolerance {
                    return Err(self.fail(
                        p.line,
                        format!(
                            "{} call expected to return at {} sec but still blocked at {} sec",
                            p.call.name,
                            secs(p.due),
                            secs(self.now)
                        ),
                    ));
                }
                self.pending = Some(p);
                Ok(())
            }
            Outcome::Done(value, errno) => self.check_result(&p, value, errno),
        }
    }

    fn check_result(&self, p: &Pending, value: i64, errno: Option<&str>) -> Step {
        let call = &p.call;
        let got = match errno {
            Some(e) => format!("{value} with errno {e}"),
            None => value.to_string(),
        };
        if let Some(want) = eval_int(&call.result) {
            let errno_ok = want != -1 || call.errno.is_none() || call.errno.as_deref() == errno;
            if want != value || !errno_ok {
                let want_text = match &call.errno {
                    Some(e) if want == -1 => format!("-1 with errno {e}"),
                    _ => want.to_string(),
                };
                return Err(self.fail(
                    p.line,
                    format!("runtime error in {} call: Expected result {want_text} but got {got}", call.name),
                ));
            }
        }
        let early = self.now + self.tolerance < p.due;
        if early || self.now > p.due + self.tolerance {
            return Err(self.fail(
                p.line,
                format!(
                    "timing error: {} call expected to return at {} sec but returned at {} sec",
                    call.name,
                    secs(p.due),
                    secs(self.now)
                ),
            ));
        }
        Ok(())
    }
}

/// (TS val, TS ecr) of an option list.
fn ts_of(options: &[super::ast::TcpOpt]) -> Option<(u32, u32)> {
    options.iter().find_map(|o| match o {
        super::ast::TcpOpt::Timestamp { val, ecr } => Some((*val, *ecr)),
        _ => None,
    })
}
