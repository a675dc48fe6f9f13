//! The system calls a script may make, mapped onto the `Stack` socket interface.
//!
//! File descriptors are the script's numbers (the result the script expects from `socket` and
//! `accept`). Socket options set before `listen`/`connect` become that socket's `TcpConfig`; the
//! interface has no way to change a connection's configuration later (docs/scripts.md).

use super::ast::{Expr, Syscall};
use crate::sim::{Duration, Instant};
use crate::stack::Stack;
use crate::tcp::{SocketId, TcpConfig, TcpError};
use std::collections::BTreeMap;
use std::net::SocketAddrV4;

/// What a socket descriptor refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handle {
    /// `socket()` was called; nothing else yet.
    Fresh,
    /// A listening socket, after `listen()`.
    Listener(SocketId),
    /// A connection, from `connect()` or `accept()`.
    Conn(SocketId),
}

/// One descriptor of the script.
#[derive(Debug, Clone)]
pub struct Fd {
    /// What the descriptor refers to in the stack.
    pub handle: Handle,
    /// Options set so far (None: the stack's defaults).
    pub cfg: Option<TcpConfig>,
    /// `O_NONBLOCK` is set (by `fcntl`): calls return at once (EAGAIN,
    /// EINPROGRESS ...) instead of blocking.
    pub nonblocking: bool,
    /// SO_LINGER with a zero timeout: close() sends a RST (abort).
    pub linger_zero: bool,
    /// Nonzero once `bind()` was called: `connect()` then uses `Sockets::bind_port` as the local
    /// port (0: not bound, the stack picks one).
    pub bound_port: u16,
}

/// The result of one attempt at a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Returned this value (and errno name when it is -1).
    Done(i64, Option<&'static str>),
    /// A blocking socket would block: the call stays pending.
    WouldBlock,
}

/// The runner's view of the socket side: descriptors and the addresses calls use.
#[derive(Debug)]
pub struct Sockets {
    /// Open descriptors by the script's number.
    pub fds: BTreeMap<i64, Fd>,
    /// The stack's address, used by `listen()` and `connect()`.
    pub local_ip: std::net::Ipv4Addr,
    /// Where `connect()` connects to: the script's address and port.
    pub remote: SocketAddrV4,
    /// The port `bind` uses (packetdrill's --bind_port, 8080).
    pub bind_port: u16,
    /// The configuration a socket starts from when the script sets an option on it.
    pub defaults: TcpConfig,
}

/// Bytes a blocked `write` has already handed over, keyed by nothing: one call blocks at a time.
#[derive(Debug, Default, Clone, Copy)]
pub struct Progress {
    /// Bytes accepted by the stack so far.
    pub written: usize,
}

/// A script-level error in a call (bad arguments, unsupported call): the message for the report.
pub type CallError = String;

/// The errno name of a stack error (Linux's choice for the same situation).
pub fn errno(e: TcpError) -> &'static str {
    match e {
        TcpError::ConnectionRefused => "ECONNREFUSED",
        TcpError::ConnectionReset => "ECONNRESET",
        TcpError::TimedOut => "ETIMEDOUT",
        TcpError::NotConnected => "ENOTCONN",
        TcpError::AddrInUse => "EADDRINUSE",
        TcpError::InvalidSocket => "EBADF",
        TcpError::Closing => "EPIPE",
        TcpError::InvalidArgument => "EINVAL",
    }
}

/// Linux's errno numbers for SO_ERROR values.
fn errno_number(name: &str) -> i64 {
    match name {
        "ECONNREFUSED" => 111,
        "ECONNRESET" => 104,
        "ETIMEDOUT" => 110,
        "ENOTCONN" => 107,
        "EADDRINUSE" => 98,
        "EBADF" => 9,
        "EPIPE" => 32,
        "EINVAL" => 22,
        _ => 0,
    }
}

fn fail(e: TcpError) -> Outcome {
    Outcome::Done(-1, Some(errno(e)))
}

/// Linux's O_NONBLOCK and O_RDWR.
const O_NONBLOCK: i64 = 0o4000;
const O_RDWR: i64 = 2;

fn int_arg(call: &Syscall, i: usize) -> Result<i64, CallError> {
    match call.args.get(i) {
        Some(e) => eval_int(e).ok_or_else(|| format!("{}: argument {} must be an integer", call.name, i + 1)),
        None => Err(format!("{}: missing argument {}", call.name, i + 1)),
    }
}

/// The integer value of an expression: numbers, known constants, `[n]`, `A|B`.
pub fn eval_int(e: &Expr) -> Option<i64> {
    match e {
        Expr::Int(v) => Some(*v),
        Expr::List(v) if v.len() == 1 => eval_int(&v[0]),
        Expr::Or(parts) => parts.iter().try_fold(0, |acc, p| Some(acc | eval_int(p)?)),
        Expr::Word(w) => constant(w),
        Expr::Call(f, args) if f == "htons" && args.len() == 1 => eval_int(&args[0]),
        _ => None,
    }
}

fn constant(w: &str) -> Option<i64> {
    Some(match w {
        "O_RDWR" => O_RDWR,
        "O_NONBLOCK" => O_NONBLOCK,
        "SHUT_RD" => 0,
        "SHUT_WR" => 1,
        "SHUT_RDWR" => 2,
        "MSG_DONTWAIT" => 0x40,
        "MSG_NOSIGNAL" => 0x4000,
        "F_GETFL" => 3,
        "F_SETFL" => 4,
        e if e.starts_with('E') && errno_number(e) != 0 => errno_number(e),
        _ => return None,
    })
}

fn word_arg(call: &Syscall, i: usize) -> Result<&str, CallError> {
    match call.args.get(i) {
        Some(Expr::Word(w)) => Ok(w),
        _ => Err(format!("{}: argument {} must be a name", call.name, i + 1)),
    }
}

impl Sockets {
    /// Runs one attempt of `call` at `now`. `progress` carries a blocked write's state.
    pub fn call(
        &mut self,
        stack: &mut dyn Stack,
        now: Instant,
        call: &Syscall,
        progress: &mut Progress,
    ) -> Result<Outcome, CallError> {
        match call.name.as_str() {
            "socket" => self.socket(call),
            "setsockopt" => self.setsockopt(call),
            "getsockopt" => self.getsockopt(stack, call),
            "fcntl" => self.fcntl(call),
            "bind" => self.with_fd(call, |_, fd| {
                fd.bound_port = fd.bound_port.max(1);
                Ok(Outcome::Done(0, None))
            }),
            "listen" => self.listen(stack, now, call),
            "accept" => self.accept(stack, now, call),
            "connect" => self.connect(stack, now, call),
            "write" | "send" => self.write(stack, now, call, progress),
            "read" | "recv" => self.read(stack, now, call),
            "shutdown" => self.shutdown(stack, now, call),
            "close" => self.close(stack, now, call),
            other => Err(format!("unsupported system call `{other}` (see docs/scripts.md)")),
        }
    }

    fn with_fd(
        &mut self,
        call: &Syscall,
        f: impl FnOnce(&Self, &mut Fd) -> Result<Outcome, CallError>,
    ) -> Result<Outcome, CallError> {
        let n = int_arg(call, 0)?;
        let Some(mut fd) = self.fds.remove(&n) else {
            return Ok(Outcome::Done(-1, Some("EBADF")));
        };
        let r = f(self, &mut fd);
        self.fds.insert(n, fd);
        r
    }

    fn fd(&self, call: &Syscall) -> Result<Option<&Fd>, CallError> {
        Ok(self.fds.get(&int_arg(call, 0)?))
    }

    fn socket(&mut self, call: &Syscall) -> Result<Outcome, CallError> {
        let ty = word_arg(call, 1)?;
        if ty != "SOCK_STREAM" {
            return Err(format!("socket: only SOCK_STREAM is supported, not {ty}"));
        }
        let n = eval_int(&call.result).unwrap_or_else(|| self.fds.keys().next_back().map_or(3, |k| k + 1).max(3));
        // Header options (`--tcp_recovery=0`...) changed the defaults: the socket starts from them.
        let cfg = (self.defaults != TcpConfig::default()).then(|| self.defaults.clone());
        let fd = Fd { handle: Handle::Fresh, cfg, nonblocking: false, linger_zero: false, bound_port: 0 };
        self.fds.insert(n, fd);
        Ok(Outcome::Done(n, None))
    }

    fn setsockopt(&mut self, call: &Syscall) -> Result<Outcome, CallError> {
        let name = word_arg(call, 2)?.to_string();
        let value = call.args.get(3).cloned().unwrap_or(Expr::Ellipsis);
        let defaults = self.defaults.clone();
        self.with_fd(call, |_, fd| {
            if name == "SO_LINGER" {
                fd.linger_zero = linger_zero(&value);
                return Ok(Outcome::Done(0, None));
            }
            if matches!(name.as_str(), "SO_REUSEADDR" | "SO_REUSEPORT") {
                return Ok(Outcome::Done(0, None));
            }
            if fd.handle != Handle::Fresh {
                return Err(format!("setsockopt {name} after listen/connect/accept is not supported"));
            }
            let v = eval_int(&value).ok_or_else(|| format!("setsockopt {name}: the value must be [integer]"))?;
            let cfg = fd.cfg.get_or_insert(defaults);
            apply_option(cfg, &name, v)?;
            Ok(Outcome::Done(0, None))
        })
    }

    fn getsockopt(&mut self, stack: &mut dyn Stack, call: &Syscall) -> Result<Outcome, CallError> {
        let name = word_arg(call, 2)?;
        if name != "SO_ERROR" {
            return Err(format!("getsockopt: only SO_ERROR is supported, not {name}"));
        }
        let Some(fd) = self.fd(call)? else { return Ok(Outcome::Done(-1, Some("EBADF"))) };
        let actual = match fd.handle {
            Handle::Conn(id) => stack.connect_result(id).err().map_or(0, |e| errno_number(errno(e))),
            _ => 0,
        };
        match call.args.get(3).and_then(eval_int) {
            Some(want) if want != actual => Err(format!("getsockopt SO_ERROR: expected [{want}] but got [{actual}]")),
            _ => Ok(Outcome::Done(0, None)),
        }
    }

    fn fcntl(&mut self, call: &Syscall) -> Result<Outcome, CallError> {
        let cmd = int_arg(call, 1)?;
        let arg = call.args.get(2).and_then(eval_int);
        self.with_fd(call, |_, fd| match (cmd, arg) {
            (3, _) => Ok(Outcome::Done(O_RDWR | if fd.nonblocking { O_NONBLOCK } else { 0 }, None)),
            (4, Some(flags)) => {
                fd.nonblocking = flags & O_NONBLOCK != 0;
                Ok(Outcome::Done(0, None))
            }
            _ => Err("fcntl: only F_GETFL and F_SETFL with flags are supported".into()),
        })
    }

    fn listen(&mut self, stack: &mut dyn Stack, now: Instant, call: &Syscall) -> Result<Outcome, CallError> {
        let backlog = int_arg(call, 1)?.max(1) as usize;
        let local = SocketAddrV4::new(self.local_ip, self.bind_port);
        self.with_fd(call, |_, fd| {
            Ok(match stack.listen(now, local, backlog, fd.cfg.clone()) {
                Ok(id) => {
                    fd.handle = Handle::Listener(id);
                    Outcome::Done(0, None)
                }
                Err(e) => fail(e),
            })
        })
    }

    fn accept(&mut self, stack: &mut dyn Stack, now: Instant, call: &Syscall) -> Result<Outcome, CallError> {
        let Some(fd) = self.fd(call)?.cloned() else { return Ok(Outcome::Done(-1, Some("EBADF"))) };
        let Handle::Listener(l) = fd.handle else { return Ok(Outcome::Done(-1, Some("EINVAL"))) };
        match stack.accept(now, l) {
            Ok(Some(id)) => {
                let n = eval_int(&call.result).unwrap_or_else(|| self.fds.keys().next_back().map_or(3, |k| k + 1));
                let child = Fd {
                    handle: Handle::Conn(id),
                    cfg: None,
                    nonblocking: false,
                    linger_zero: fd.linger_zero,
                    bound_port: 0,
                };
                self.fds.insert(n, child);
                Ok(Outcome::Done(n, None))
            }
            Ok(None) if fd.nonblocking => Ok(Outcome::Done(-1, Some("EAGAIN"))),
            Ok(None) => Ok(Outcome::WouldBlock),
            Err(e) => Ok(fail(e)),
        }
    }

    fn connect(&mut self, stack: &mut dyn Stack, now: Instant, call: &Syscall) -> Result<Outcome, CallError> {
        let n = int_arg(call, 0)?;
        let Some(fd) = self.fds.get(&n).cloned() else { return Ok(Outcome::Done(-1, Some("EBADF"))) };
        let id = match fd.handle {
            Handle::Conn(id) => id,
            Handle::Listener(_) => return Ok(Outcome::Done(-1, Some("EINVAL"))),
            Handle::Fresh => {
                let port = if fd.bound_port != 0 { self.bind_port } else { 0 };
                let local = SocketAddrV4::new(self.local_ip, port);
                match stack.connect(now, local, self.remote, fd.cfg.clone()) {
                    Ok(id) => {
                        if let Some(f) = self.fds.get_mut(&n) {
                            f.handle = Handle::Conn(id);
                        }
                        if fd.nonblocking {
                            return Ok(Outcome::Done(-1, Some("EINPROGRESS")));
                        }
                        id
                    }
                    Err(e) => return Ok(fail(e)),
                }
            }
        };
        Ok(match stack.connect_result(id) {
            Ok(Some(())) if fd.nonblocking => Outcome::Done(-1, Some("EISCONN")),
            Ok(Some(())) => Outcome::Done(0, None),
            Ok(None) if fd.nonblocking => Outcome::Done(-1, Some("EALREADY")),
            Ok(None) => Outcome::WouldBlock,
            Err(e) => fail(e),
        })
    }

    fn conn(&self, call: &Syscall) -> Result<Result<(SocketId, bool), Outcome>, CallError> {
        Ok(match self.fd(call)? {
            Some(Fd { handle: Handle::Conn(id), nonblocking, .. }) => Ok((*id, *nonblocking)),
            Some(_) => Err(Outcome::Done(-1, Some("ENOTCONN"))),
            None => Err(Outcome::Done(-1, Some("EBADF"))),
        })
    }

    fn write(
        &mut self,
        stack: &mut dyn Stack,
        now: Instant,
        call: &Syscall,
        progress: &mut Progress,
    ) -> Result<Outcome, CallError> {
        let len = int_arg(call, 2)?.max(0) as usize;
        let (id, nonblocking) = match self.conn(call)? {
            Ok(c) => c,
            Err(o) => return Ok(o),
        };
        let data = vec![0u8; len - progress.written.min(len)];
        match stack.send(now, id, &data) {
            Ok(n) => {
                progress.written += n;
                if progress.written >= len || (nonblocking && progress.written > 0) {
                    Ok(Outcome::Done(progress.written as i64, None))
                } else if nonblocking {
                    Ok(Outcome::Done(-1, Some("EAGAIN")))
                } else {
                    Ok(Outcome::WouldBlock)
                }
            }
            Err(e) if progress.written > 0 => {
                let _ = e;
                Ok(Outcome::Done(progress.written as i64, None))
            }
            Err(e) => Ok(fail(e)),
        }
    }

    fn read(&mut self, stack: &mut dyn Stack, now: Instant, call: &Syscall) -> Result<Outcome, CallError> {
        let len = int_arg(call, 2)?.max(0) as usize;
        let (id, nonblocking) = match self.conn(call)? {
            Ok(c) => c,
            Err(o) => return Ok(o),
        };
        let mut buf = vec![0u8; len];
        Ok(match stack.recv(now, id, &mut buf) {
            Ok(Some(n)) => Outcome::Done(n as i64, None),
            Ok(None) if nonblocking => Outcome::Done(-1, Some("EAGAIN")),
            Ok(None) => Outcome::WouldBlock,
            Err(e) => fail(e),
        })
    }

    fn shutdown(&mut self, stack: &mut dyn Stack, now: Instant, call: &Syscall) -> Result<Outcome, CallError> {
        let how = int_arg(call, 1)?;
        let (id, _) = match self.conn(call)? {
            Ok(c) => c,
            Err(o) => return Ok(o),
        };
        if how == 0 {
            return Ok(Outcome::Done(0, None));
        }
        Ok(match stack.shutdown_write(now, id) {
            Ok(()) => Outcome::Done(0, None),
            Err(e) => fail(e),
        })
    }

    fn close(&mut self, stack: &mut dyn Stack, now: Instant, call: &Syscall) -> Result<Outcome, CallError> {
        let n = int_arg(call, 0)?;
        let Some(fd) = self.fds.remove(&n) else { return Ok(Outcome::Done(-1, Some("EBADF"))) };
        let r = match fd.handle {
            Handle::Fresh => Ok(()),
            Handle::Listener(id) => stack.close(now, id),
            Handle::Conn(id) if fd.linger_zero => stack.abort(now, id),
            Handle::Conn(id) => stack.close(now, id),
        };
        // close() of a connection that already failed still releases the descriptor.
        Ok(match r {
            Ok(()) | Err(TcpError::ConnectionReset | TcpError::TimedOut | TcpError::ConnectionRefused) => {
                Outcome::Done(0, None)
            }
            Err(e) => fail(e),
        })
    }
}

/// `{onoff=1, linger=0}` (also `l_onoff`/`l_linger`).
fn linger_zero(v: &Expr) -> bool {
    let Expr::Struct(fields) = v else { return false };
    let get =
        |names: [&str; 2]| fields.iter().find(|(n, _)| names.contains(&n.as_str())).and_then(|(_, e)| eval_int(e));
    get(["onoff", "l_onoff"]) == Some(1) && get(["linger", "l_linger"]) == Some(0)
}

/// Applies a socket option that maps onto `TcpConfig`.
fn apply_option(cfg: &mut TcpConfig, name: &str, v: i64) -> Result<(), CallError> {
    let positive = |v: i64| usize::try_from(v).ok().filter(|&v| v > 0).ok_or_else(|| format!("{name}: bad value {v}"));
    match name {
        "SO_RCVBUF" => cfg.recv_buffer = positive(v)?,
        "SO_SNDBUF" => cfg.send_buffer = positive(v)?,
        "TCP_NODELAY" => cfg.nagle = v == 0,
        "SO_KEEPALIVE" => {
            cfg.keepalive = if v != 0 { Some(cfg.keepalive.unwrap_or(Duration::from_secs(7200))) } else { None };
        }
        "TCP_KEEPIDLE" => cfg.keepalive = Some(Duration::from_secs(positive(v)? as u64)),
        "TCP_MAXSEG" => cfg.mss = u16::try_from(positive(v)?).map_err(|_| format!("TCP_MAXSEG: bad value {v}"))?,
        other => return Err(format!("unsupported socket option {other} (see docs/scripts.md)")),
    }
    Ok(())
}
