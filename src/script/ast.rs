//! The syntax tree of a packetdrill script: header options, then timed events.

use super::error::Pos;

/// Nanoseconds of script time.
pub type Nanos = u64;

/// A whole script.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// `--name=value` lines before the first event.
    pub options: Vec<ScriptOption>,
    pub events: Vec<Event>,
}

/// `--name` or `--name=value`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptOption {
    pub pos: Pos,
    pub name: String,
    pub value: Option<String>,
}

/// One timed line.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Where the event's time starts.
    pub pos: Pos,
    pub time: EventTime,
    pub action: Action,
}

/// When an event happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventTime {
    /// `1.5`: seconds since the start.
    Absolute(Nanos),
    /// `+0.1`: after the previous event.
    Relative(Nanos),
    /// `*`: any time (outbound packets only).
    Any,
    /// `1.0~1.2`: any time in the window (outbound packets only).
    AbsoluteRange(Nanos, Nanos),
    /// `+0.1~+0.3`.
    RelativeRange(Nanos, Nanos),
}

/// What an event does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Packet(Packet),
    Syscall(Syscall),
    /// A back-quoted shell command (not run; see docs/scripts.md).
    Command(String),
    /// `%{ python }%` (not run).
    Code(String),
}

/// `<` (the script sends it to the stack) or `>` (the stack must send it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

/// A packet line.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub direction: Direction,
    pub body: PacketBody,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PacketBody {
    Tcp(TcpSpec),
    Icmp(IcmpSpec),
}

/// `flags start:end(len) [ack N] [win N] [urg N] [<options>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpSpec {
    /// Flag letters as written, `.` for ACK: "S", "S.", "P.", "F.", "R", "" (for `-`).
    pub flags: String,
    pub seq: u32,
    pub len: u16,
    pub ack: Option<u32>,
    /// None: not checked on outbound packets (required on inbound ones).
    pub win: Option<u16>,
    pub urg: u16,
    /// None: `<...>`, options not checked.
    pub options: Option<Vec<TcpOpt>>,
}

/// One TCP option as written.
#[derive(Debug, Clone, PartialEq)]
pub enum TcpOpt {
    Nop,
    Eol,
    Mss(u16),
    Wscale(u8),
    SackOk,
    Sack(Vec<(u32, u32)>),
    Timestamp { val: u32, ecr: u32 },
}

/// `icmp TYPE [CODE] [mtu N] [[start:end(len)]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct IcmpSpec {
    pub kind: String,
    pub code: Option<String>,
    pub mtu: Option<u16>,
    /// The TCP segment the ICMP message quotes: (start sequence, payload length).
    pub echoed: Option<(u32, u16)>,
}

/// `[...END] name(args) = result [ERRNO (note)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Syscall {
    /// `...0.2`: the call blocks and returns at this time (same base as the start time).
    pub end: Option<Nanos>,
    pub name: String,
    pub name_pos: Pos,
    pub args: Vec<Expr>,
    pub result: Expr,
    pub errno: Option<String>,
}

/// An argument or result expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `...`: anything.
    Ellipsis,
    Int(i64),
    Word(String),
    Str(String),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `{name=expr, ...}`.
    Struct(Vec<(String, Expr)>),
    /// `f(expr)`, as in `htons(8080)`.
    Call(String, Vec<Expr>),
    /// `A|B|C`.
    Or(Vec<Expr>),
}
