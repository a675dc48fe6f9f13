//! The syntax tree of a packetdrill script: header options, then timed events.

use super::error::Pos;

/// Nanoseconds of script time.
pub type Nanos = u64;

/// A whole script.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// `--name=value` lines before the first event.
    pub options: Vec<ScriptOption>,
    /// The timed lines, in script order.
    pub events: Vec<Event>,
}

/// `--name` or `--name=value`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptOption {
    /// Where the `--name` token starts.
    pub pos: Pos,
    /// The name without the dashes: `tolerance_usecs`.
    pub name: String,
    /// The text after `=` (None: a bare `--name`).
    pub value: Option<String>,
}

/// One timed line.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Where the event's time starts.
    pub pos: Pos,
    /// When the event happens.
    pub time: EventTime,
    /// What happens then.
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
    /// A `<` packet to inject or a `>` packet to expect.
    Packet(Packet),
    /// A socket call on the stack under test.
    Syscall(Syscall),
    /// A back-quoted shell command (not run; see docs/scripts.md).
    Command(String),
    /// `%{ python }%` (not run).
    Code(String),
}

/// `<` (the script sends it to the stack) or `>` (the stack must send it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `<`: the script injects the packet into the stack.
    Inbound,
    /// `>`: the stack must send a packet that matches.
    Outbound,
}

/// A packet line.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// `<` or `>`.
    pub direction: Direction,
    /// The segment or ICMP message.
    pub body: PacketBody,
}

/// What a packet line carries.
#[derive(Debug, Clone, PartialEq)]
pub enum PacketBody {
    /// A TCP segment: `S. 0:0(0) ack 1 <...>`.
    Tcp(TcpSpec),
    /// An ICMP message quoting a segment of the connection (inbound only).
    Icmp(IcmpSpec),
}

/// `flags start:end(len) [ack N] [win N] [urg N] [<options>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpSpec {
    /// Flag letters as written, `.` for ACK: "S", "S.", "P.", "F.", "R", "" (for `-`).
    pub flags: String,
    /// The `start` of `start:end(len)`: the first sequence number, in script space (the script's
    /// own numbers as written; the stack's relative to its ISN, as in packetdrill).
    pub seq: u32,
    /// Payload bytes, the `len` of `start:end(len)` (`end` is `start + len`).
    pub len: u16,
    /// `ack N` (None: not written, 0 on the wire), relative to the stack's ISN. Mapped (inbound)
    /// and compared (outbound) only when the flags include `.`.
    pub ack: Option<u32>,
    /// None: not checked on outbound packets (required on inbound ones).
    pub win: Option<u16>,
    /// `urg N`: the urgent pointer (0 when not written; not checked on outbound packets).
    pub urg: u16,
    /// None: `<...>`, options not checked.
    pub options: Option<Vec<TcpOpt>>,
}

/// One TCP option as written.
#[derive(Debug, Clone, PartialEq)]
pub enum TcpOpt {
    /// `nop`: kind 1, one byte of padding.
    Nop,
    /// `eol`: kind 0, end of the option list.
    Eol,
    /// `mss N`: maximum segment size in bytes (RFC 9293 3.7.1).
    Mss(u16),
    /// `wscale N`: window scale shift count (RFC 7323 2.2).
    Wscale(u8),
    /// `sackOK`: SACK permitted, on SYNs only (RFC 2018 2).
    SackOk,
    /// `sack L:R ...`: SACK blocks, each (left edge, right edge) of data received (RFC 2018 3);
    /// in script space, like `ack`.
    Sack(Vec<(u32, u32)>),
    /// `TS val V ecr E`: timestamps (RFC 7323 3.2).
    Timestamp {
        /// The sender's timestamp clock value (TSval).
        val: u32,
        /// The timestamp echo reply (TSecr): the most recent TSval received.
        ecr: u32,
    },
}

/// `icmp TYPE [CODE] [mtu N] [[start:end(len)]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct IcmpSpec {
    /// The ICMP type as written: `unreachable` (the only one the runner can send).
    pub kind: String,
    /// The code as written: `net_unreachable`, `host_unreachable`, `port_unreachable`,
    /// `frag_needed`.
    pub code: Option<String>,
    /// `mtu N`: the next-hop MTU in bytes of a `frag_needed` message (RFC 1191).
    pub mtu: Option<u16>,
    /// The TCP segment the ICMP message quotes: (start sequence, payload length).
    pub echoed: Option<(u32, u16)>,
}

/// `[...END] name(args) = result [ERRNO (note)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Syscall {
    /// `...0.2`: the call blocks and returns at this time (same base as the start time).
    pub end: Option<Nanos>,
    /// The call's name: `socket`, `bind`, `read` ...
    pub name: String,
    /// Where the name starts (for errors about the call).
    pub name_pos: Pos,
    /// The arguments as written.
    pub args: Vec<Expr>,
    /// The expected return value.
    pub result: Expr,
    /// The expected errno name, as in `= -1 EAGAIN` (the `(note)` after it is dropped).
    pub errno: Option<String>,
}

/// An argument or result expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `...`: anything.
    Ellipsis,
    /// A decimal or `0x` hexadecimal integer.
    Int(i64),
    /// A name: a symbolic constant such as `SOCK_STREAM` or `O_NONBLOCK`.
    Word(String),
    /// A `"string"` (escapes kept as written).
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
