"""netlab's external stack protocol, version 1, for stacks and packet-level peers written in Python.

netlab runs a host's transport layer in a child process and talks to it over stdin/stdout with the
length-prefixed binary messages of docs/stack-protocol.md. This module (standard library only) has:

* the codec: ``frame``/``read_message`` for the framing, one class per message with ``encode()``,
  and ``decode_request``/``decode_answer`` for both directions;
* ``Stack``, a base class that runs the conversation: subclass it and override the hooks
  (``on_hello``, ``on_datagram``, ``on_call``, ``on_timeout``, ``on_step``, ``next_wake``);
  send with ``send_datagram``, report readiness with ``set_readiness`` (EVENTs are sent only when a
  socket's readiness changes, as section 6 asks) and states with ``report_state``;
* IPv4/ICMP helpers (``Ipv4``, ``checksum``) for packet-level peers;
* ``PingResponder``, a small example: a host that answers ICMP echo requests and resets every TCP
  segment (a host with no open ports). Run it with ``python3 netlab_stack.py``.

The determinism contract (section 8) applies to whatever you build on it: time is the step's
``now`` (nanoseconds), randomness comes from ``random.Random(hello.seed)``; never read a clock.
"""

from __future__ import annotations

import ipaddress
import struct
import sys
from dataclasses import dataclass
from typing import BinaryIO, Optional, Union

VERSION = 1
"""The protocol version this module speaks."""

MAX_LENGTH = 16 * 1024 * 1024
"""The largest `length` field a message may have (type + body)."""

NO_WAKE = 0xFFFF_FFFF_FFFF_FFFF
"""WAKE's value for "no timer"."""


class ProtocolError(Exception):
    """A message that is malformed or out of place (section 9: a protocol violation)."""


# ------------------------------------------------------------------------------------------ framing


def frame(msg_type: int, body: bytes = b"") -> bytes:
    """One message: u32 length (of type + body), u8 type, body."""
    if len(body) + 1 > MAX_LENGTH:
        raise ProtocolError(f"message of {len(body) + 1} bytes is longer than {MAX_LENGTH}")
    return struct.pack(">IB", len(body) + 1, msg_type) + body


def _read_exact(stream: BinaryIO, n: int) -> Optional[bytes]:
    """n bytes, None at end of stream before the first byte; ProtocolError if it ends inside."""
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            if not data:
                return None
            raise ProtocolError(f"end of stream inside a message ({len(data)} of {n} bytes)")
        data += chunk
    return data


def read_message(stream: BinaryIO) -> Optional[tuple[int, bytes]]:
    """The next (type, body) from `stream`, or None at end of stream at a message boundary."""
    head = _read_exact(stream, 4)
    if head is None:
        return None
    (length,) = struct.unpack(">I", head)
    if length < 1 or length > MAX_LENGTH:
        raise ProtocolError(f"message length {length} outside 1..{MAX_LENGTH}")
    rest = _read_exact(stream, length)
    if rest is None:
        raise ProtocolError("end of stream after a message length")
    return rest[0], rest[1:]


def split_messages(data: bytes) -> list[tuple[int, bytes]]:
    """All (type, body) pairs of a byte string holding whole messages."""
    out, i = [], 0
    while i < len(data):
        if i + 4 > len(data):
            raise ProtocolError("a partial length at the end")
        (length,) = struct.unpack_from(">I", data, i)
        if length < 1 or i + 4 + length > len(data):
            raise ProtocolError(f"message length {length} does not fit")
        out.append((data[i + 4], data[i + 5 : i + 4 + length]))
        i += 4 + length
    return out


# ----------------------------------------------------------------------------------- body fields


class Reader:
    """Reads the fields of one message body; ``finish()`` checks nothing is left over."""

    def __init__(self, body: bytes, what: str):
        self.body, self.pos, self.what = body, 0, what

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.body):
            raise ProtocolError(f"{self.what}: body too short ({len(self.body)} bytes)")
        out = self.body[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack(">Q", self.take(8))[0]

    def addr(self) -> "Addr":
        raw = self.take(6)
        return Addr(str(ipaddress.IPv4Address(raw[:4])), struct.unpack(">H", raw[4:])[0])

    def str(self) -> str:
        raw = self.take(self.u16())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError(f"{self.what}: a string that is not UTF-8") from e

    def socket(self) -> int:
        s = self.u32()
        if s == 0:
            raise ProtocolError(f"{self.what}: socket id 0")
        return s

    def config(self) -> "TcpConfig":
        return TcpConfig.decode(self.take(TcpConfig.SIZE))

    def optional_config(self) -> Optional["TcpConfig"]:
        tag = self.u8()
        if tag not in (0, 1):
            raise ProtocolError(f"{self.what}: config? tag {tag}")
        return self.config() if tag == 1 else None

    def rest(self) -> bytes:
        out = self.body[self.pos :]
        self.pos = len(self.body)
        return out

    def finish(self) -> None:
        if self.pos != len(self.body):
            raise ProtocolError(f"{self.what}: {len(self.body) - self.pos} bytes too many")


def _str(s: str) -> bytes:
    raw = s.encode("utf-8")
    return struct.pack(">H", len(raw)) + raw


@dataclass(frozen=True)
class Addr:
    """An IPv4 socket address (`addr`: 4 address bytes, u16 port)."""

    ip: str
    port: int

    def encode(self) -> bytes:
        return ipaddress.IPv4Address(self.ip).packed + struct.pack(">H", self.port)

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class TcpConfig:
    """netlab's TCP tunables (`config`, 72 bytes); times in nanoseconds."""

    send_buffer: int
    recv_buffer: int
    mss: int
    nagle: bool
    delayed_ack: bool
    sack: bool
    window_scaling: bool
    timestamps: bool
    congestion_control: int  # 0 NewReno, 1 CUBIC
    delayed_ack_timeout: int
    rto_min: int
    rto_max: int
    rto_initial: int
    max_retransmissions: int
    max_syn_retransmissions: int
    msl: int
    keepalive: int
    initial_window_segments: int

    SIZE = 72
    _FORMAT = ">IIHBBQQQQIIQQI"

    def encode(self) -> bytes:
        flags = sum(bit << i for i, bit in enumerate(self._flag_bits()))
        return struct.pack(
            self._FORMAT,
            self.send_buffer,
            self.recv_buffer,
            self.mss,
            flags,
            self.congestion_control,
            self.delayed_ack_timeout,
            self.rto_min,
            self.rto_max,
            self.rto_initial,
            self.max_retransmissions,
            self.max_syn_retransmissions,
            self.msl,
            self.keepalive,
            self.initial_window_segments,
        )

    def _flag_bits(self) -> list[bool]:
        return [self.nagle, self.delayed_ack, self.sack, self.window_scaling, self.timestamps]

    @classmethod
    def decode(cls, raw: bytes) -> "TcpConfig":
        f = struct.unpack(cls._FORMAT, raw)
        flags = f[3]
        if flags & 0xE0:
            raise ProtocolError(f"config: flag bits 5-7 set ({flags:#04x})")
        if f[4] > 1:
            raise ProtocolError(f"config: congestion control {f[4]}")
        return cls(
            f[0], f[1], f[2], *(bool(flags >> i & 1) for i in range(5)), f[4], *f[5:]
        )


# --------------------------------------------------------------------- messages: netlab -> process

HELLO, TIME, DATAGRAM, CALL, TIMEOUT, END, TRANSMIT = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07


@dataclass
class Hello:
    """HELLO: the protocol version, the host's seed, MTU, name, addresses (ip, prefix) and defaults."""

    version: int
    seed: int
    mtu: int
    host: str
    addrs: list[tuple[str, int]]
    defaults: TcpConfig

    def encode(self) -> bytes:
        body = struct.pack(">HQH", self.version, self.seed, self.mtu) + _str(self.host)
        body += bytes([len(self.addrs)])
        for ip, prefix in self.addrs:
            body += ipaddress.IPv4Address(ip).packed + bytes([prefix])
        return frame(HELLO, body + self.defaults.encode())


@dataclass
class Time:
    """TIME: the step's time, nanoseconds since the run started."""

    now: int

    def encode(self) -> bytes:
        return frame(TIME, struct.pack(">Q", self.now))


@dataclass
class Datagram:
    """DATAGRAM (either direction): a whole IPv4 datagram, header included."""

    data: bytes
    to_netlab: bool = False

    def encode(self) -> bytes:
        return frame(0x83 if self.to_netlab else DATAGRAM, self.data)


@dataclass
class Timeout:
    """TIMEOUT: run the timers due at the step's time."""

    def encode(self) -> bytes:
        return frame(TIMEOUT)


@dataclass
class Transmit:
    """TRANSMIT: hand over the datagrams held back (only to a stack with ``deferred_transmission``)."""

    def encode(self) -> bytes:
        return frame(TRANSMIT)


@dataclass
class End:
    """END: the step's inputs are over; answer now."""

    def encode(self) -> bytes:
        return frame(END)


# Socket calls (section 5): CALL's op and arguments.
LISTEN, ACCEPT, CONNECT, SEND, RECV, SHUTDOWN_WRITE, CLOSE, ABORT, SEND_SPACE = range(1, 10)
OP_NAMES = {
    LISTEN: "listen",
    ACCEPT: "accept",
    CONNECT: "connect",
    SEND: "send",
    RECV: "recv",
    SHUTDOWN_WRITE: "shutdown_write",
    CLOSE: "close",
    ABORT: "abort",
    SEND_SPACE: "send_space",
}


@dataclass
class Call:
    """CALL: a socket call. Which fields are set depends on `op` (see section 5)."""

    call_id: int
    op: int
    socket: int = 0  # accept (the listener), send, recv, shutdown_write, close, abort, send_space
    local: Optional[Addr] = None  # listen, connect
    remote: Optional[Addr] = None  # connect
    backlog: int = 0  # listen
    config: Optional[TcpConfig] = None  # listen, connect (None: HELLO's defaults)
    data: bytes = b""  # send
    max: int = 0  # recv

    @property
    def name(self) -> str:
        return OP_NAMES.get(self.op, f"op {self.op}")

    def encode(self) -> bytes:
        body = struct.pack(">IB", self.call_id, self.op)
        cfg = b"\x00" if self.config is None else b"\x01" + self.config.encode()
        if self.op == LISTEN:
            body += self.local.encode() + struct.pack(">I", self.backlog) + cfg
        elif self.op == CONNECT:
            body += self.local.encode() + self.remote.encode() + cfg
        elif self.op == SEND:
            body += struct.pack(">I", self.socket) + self.data
        elif self.op == RECV:
            body += struct.pack(">II", self.socket, self.max)
        else:
            body += struct.pack(">I", self.socket)
        return frame(CALL, body)

    @classmethod
    def decode(cls, r: Reader) -> "Call":
        call_id, op = r.u32(), r.u8()
        c = cls(call_id, op)
        if op == LISTEN:
            c.local, c.backlog, c.config = r.addr(), r.u32(), r.optional_config()
        elif op == CONNECT:
            c.local, c.remote, c.config = r.addr(), r.addr(), r.optional_config()
        elif op == SEND:
            c.socket, c.data = r.socket(), r.rest()
        elif op == RECV:
            c.socket, c.max = r.socket(), r.u32()
            if c.max < 1:
                raise ProtocolError("CALL recv: max 0")
        elif op in (ACCEPT, SHUTDOWN_WRITE, CLOSE, ABORT, SEND_SPACE):
            c.socket = r.socket()
        else:
            raise ProtocolError(f"CALL: unknown op {op}")
        return c


Request = Union[Hello, Time, Datagram, Call, Timeout, Transmit, End]


def decode_request(msg_type: int, body: bytes) -> Request:
    """A message from netlab to the process."""
    names = {
        HELLO: "HELLO",
        TIME: "TIME",
        DATAGRAM: "DATAGRAM",
        CALL: "CALL",
        TIMEOUT: "TIMEOUT",
        END: "END",
        TRANSMIT: "TRANSMIT",
    }
    if msg_type not in names:
        raise ProtocolError(f"unknown message type {msg_type:#04x} from netlab")
    r = Reader(body, names[msg_type])
    if msg_type == HELLO:
        version, seed, mtu, host = r.u16(), r.u64(), r.u16(), r.str()
        addrs = []
        for _ in range(r.u8()):
            ip = str(ipaddress.IPv4Address(r.take(4)))
            addrs.append((ip, r.u8()))
        msg: Request = Hello(version, seed, mtu, host, addrs, r.config())
    elif msg_type == TIME:
        msg = Time(r.u64())
    elif msg_type == DATAGRAM:
        msg = Datagram(r.rest())
    elif msg_type == CALL:
        msg = Call.decode(r)
    elif msg_type == TIMEOUT:
        msg = Timeout()
    elif msg_type == TRANSMIT:
        msg = Transmit()
    else:
        msg = End()
    r.finish()
    return msg


# --------------------------------------------------------------------- messages: process -> netlab

READY, RESULT, EVENT, STATE, WAKE, DONE, FAIL = 0x81, 0x84, 0x85, 0x86, 0x87, 0x88, 0x8F

# RESULT statuses and error codes (section 1).
OK, WOULD_BLOCK, ERROR = 0, 1, 2
REFUSED, RESET, TIMED_OUT, NOT_CONNECTED, ADDR_IN_USE, INVALID_SOCKET, CLOSING, INVALID_ARGUMENT = range(1, 9)

# EVENT readiness flags (section 6).
READABLE, WRITABLE, CONNECTED, ACCEPTABLE, FREED = 1, 2, 4, 8, 16

# STATE values (RFC 9293 section 3.3.2 order).
STATES = [
    "CLOSED",
    "LISTEN",
    "SYN-SENT",
    "SYN-RECEIVED",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "CLOSE-WAIT",
    "CLOSING",
    "LAST-ACK",
    "TIME-WAIT",
]


@dataclass
class Ready:
    """READY: the version, whether STATE reports come, whether datagrams wait for TRANSMIT, and a
    name for reports."""

    version: int
    reports_states: bool
    name: str
    deferred_transmission: bool = False

    def encode(self) -> bytes:
        flags = int(self.reports_states) | int(self.deferred_transmission) << 1
        return frame(READY, struct.pack(">HB", self.version, flags) + _str(self.name))


@dataclass
class Result:
    """RESULT: status OK with `socket` (listen/accept/connect), `count` (send, send_space) or `data` (recv);
    WOULD_BLOCK; or ERROR with `error`."""

    call_id: int
    status: int = OK
    socket: Optional[int] = None
    count: Optional[int] = None
    data: Optional[bytes] = None
    error: int = 0

    def encode(self) -> bytes:
        body = struct.pack(">IB", self.call_id, self.status)
        if self.status == ERROR:
            body += bytes([self.error])
        elif self.status == OK:
            if self.socket is not None:
                body += struct.pack(">I", self.socket)
            elif self.count is not None:
                body += struct.pack(">I", self.count)
            elif self.data is not None:
                body += self.data
        return frame(RESULT, body)


@dataclass
class Event:
    """EVENT: a socket's complete current readiness and its error (0 = none)."""

    socket: int
    flags: int
    error: int = 0

    def encode(self) -> bytes:
        return frame(EVENT, struct.pack(">IBB", self.socket, self.flags, self.error))


@dataclass
class State:
    """STATE: a connection or listener entered `state` (an index of STATES)."""

    socket: int
    state: int
    local: Addr
    remote: Addr

    def encode(self) -> bytes:
        body = struct.pack(">IB", self.socket, self.state) + self.local.encode() + self.remote.encode()
        return frame(STATE, body)


@dataclass
class Wake:
    """WAKE: when the process wants the next TIMEOUT (NO_WAKE: never)."""

    at: int

    def encode(self) -> bytes:
        return frame(WAKE, struct.pack(">Q", self.at))


@dataclass
class Done:
    """DONE: the answer is complete."""

    def encode(self) -> bytes:
        return frame(DONE)


@dataclass
class Fail:
    """FAIL: the process gives up; netlab reports `why` and stops the run."""

    why: str

    def encode(self) -> bytes:
        return frame(FAIL, _str(self.why))


Answer = Union[Ready, Datagram, Result, Event, State, Wake, Done, Fail]


def decode_answer(msg_type: int, body: bytes, calls: Optional[dict[int, int]] = None) -> Answer:
    """A message from the process to netlab. A RESULT's payload depends on its call's op: pass
    `calls` (call id -> op) to decode it; without it the payload stays in `data`."""
    r = Reader(body, f"message {msg_type:#04x}")
    if msg_type == READY:
        version, flags, name = r.u16(), r.u8(), r.str()
        if flags & 0xFC:
            raise ProtocolError(f"READY: flag bits 2-7 set ({flags:#04x})")
        msg: Answer = Ready(version, bool(flags & 1), name, bool(flags & 2))
    elif msg_type == 0x83:
        msg = Datagram(r.rest(), to_netlab=True)
    elif msg_type == RESULT:
        msg = _decode_result(r, calls or {})
    elif msg_type == EVENT:
        msg = Event(r.socket(), r.u8(), r.u8())
    elif msg_type == STATE:
        sock, state = r.socket(), r.u8()
        if state >= len(STATES):
            raise ProtocolError(f"STATE: state {state}")
        msg = State(sock, state, r.addr(), r.addr())
    elif msg_type == WAKE:
        msg = Wake(r.u64())
    elif msg_type == DONE:
        msg = Done()
    elif msg_type == FAIL:
        msg = Fail(r.str())
    else:
        raise ProtocolError(f"unknown message type {msg_type:#04x} from the process")
    r.finish()
    return msg


def _decode_result(r: Reader, calls: dict[int, int]) -> Result:
    res = Result(r.u32(), r.u8())
    if res.status == ERROR:
        res.error = r.u8()
    elif res.status == OK:
        op = calls.get(res.call_id)
        if op in (LISTEN, ACCEPT, CONNECT):
            res.socket = r.socket()
        elif op in (SEND, SEND_SPACE):
            res.count = r.u32()
        elif op == RECV or op is None:
            res.data = r.rest()
    elif res.status != WOULD_BLOCK:
        raise ProtocolError(f"RESULT: status {res.status}")
    return res


# --------------------------------------------------------------------------------- the base class


class SocketError(Exception):
    """Raise from ``on_call`` to answer the call with an error code (REFUSED, RESET, ...)."""

    def __init__(self, code: int, text: str = ""):
        super().__init__(text or f"socket error {code}")
        self.code = code


class WouldBlock(Exception):
    """Raise from ``on_call`` (accept, recv) when nothing is waiting."""


class Stack:
    """A stack behind the protocol. Override the hooks; call ``run()`` (reads stdin, writes stdout).

    Hooks are called with the step's time `now` (ns). What they send with ``send_datagram``,
    ``set_readiness`` and ``report_state`` goes into the step's answer, followed by WAKE
    (``next_wake()``) and DONE.
    """

    name = "python"
    """The name netlab shows in reports (READY)."""
    reports_states = False
    """True if this stack calls ``report_state`` (READY flag bit 0)."""
    deferred_transmission = False
    """True: datagrams wait for netlab's TRANSMIT input (READY flag bit 1); the simple choice is False."""

    def __init__(self) -> None:
        self.hello: Optional[Hello] = None
        self.now = 0
        self._answer: list[bytes] = []
        self._held: list[bytes] = []
        self._readiness: dict[int, tuple[int, int]] = {}
        self._reported: dict[int, tuple[int, int]] = {}

    # ---- hooks
    def on_hello(self, hello: Hello) -> None:
        """The host's seed, MTU, name, addresses and TCP defaults, before anything else."""

    def on_datagram(self, now: int, datagram: bytes) -> None:
        """A whole IPv4 datagram for this host arrived."""

    def on_call(self, now: int, call: Call) -> Result:
        """A socket call; return its Result, or raise SocketError / WouldBlock."""
        raise SocketError(INVALID_ARGUMENT, f"{type(self).__name__} has no sockets")

    def on_timeout(self, now: int) -> None:
        """The time asked for by the last WAKE has come (or later): run the timers due."""

    def on_step(self, now: int) -> None:
        """The step's inputs are done; a last chance to add to the answer."""

    def next_wake(self) -> Optional[int]:
        """When the next TIMEOUT is wanted (ns), or None."""
        return None

    # ---- what a stack sends
    def send_datagram(self, datagram: bytes) -> None:
        """Sends a whole IPv4 datagram (header with a correct checksum, at most the MTU); with
        ``deferred_transmission`` it waits for the next TRANSMIT."""
        msg = Datagram(datagram, to_netlab=True).encode()
        (self._held if self.deferred_transmission else self._answer).append(msg)

    def set_readiness(self, socket: int, flags: int, error: int = 0) -> None:
        """A socket's current readiness; an EVENT goes out at the end of the step if it changed."""
        self._readiness[socket] = (flags, error)

    def report_state(self, socket: int, state: int, local: Addr, remote: Addr) -> None:
        """A connection or listener entered `state` (only if ``reports_states``)."""
        self._answer.append(State(socket, state, local, remote).encode())

    # ---- the conversation
    def run(self, stdin: Optional[BinaryIO] = None, stdout: Optional[BinaryIO] = None) -> int:
        """Speaks the protocol until netlab closes stdin; returns the exit status."""
        stdin = stdin or sys.stdin.buffer
        stdout = stdout or sys.stdout.buffer
        try:
            if not self._handshake(stdin, stdout):
                return 1
            while self._step(stdin, stdout):
                pass
            return 0
        except Exception as e:  # noqa: BLE001: every failure is reported to netlab as FAIL
            stdout.write(Fail(f"{type(e).__name__}: {e}").encode())
            stdout.flush()
            return 1

    def _handshake(self, stdin: BinaryIO, stdout: BinaryIO) -> bool:
        msg = read_message(stdin)
        if msg is None:
            return False
        hello = decode_request(*msg)
        if not isinstance(hello, Hello):
            raise ProtocolError(f"expected HELLO, got {type(hello).__name__}")
        if hello.version != VERSION:
            stdout.write(Fail(f"unsupported protocol version {hello.version}").encode())
            stdout.flush()
            return False
        self.hello = hello
        self.on_hello(hello)
        stdout.write(Ready(VERSION, self.reports_states, self.name, self.deferred_transmission).encode())
        stdout.flush()
        return True

    def _step(self, stdin: BinaryIO, stdout: BinaryIO) -> bool:
        """One step: TIME, inputs, END, then the answer. False at end of input."""
        msg = read_message(stdin)
        if msg is None:
            return False
        first = decode_request(*msg)
        if not isinstance(first, Time):
            raise ProtocolError(f"expected TIME, got {type(first).__name__}")
        if first.now < self.now:
            raise ProtocolError(f"time went backwards: {first.now} < {self.now}")
        self.now = first.now
        while True:
            msg = read_message(stdin)
            if msg is None:
                raise ProtocolError("end of input inside a step")
            inp = decode_request(*msg)
            if isinstance(inp, End):
                break
            self._input(inp)
        self.on_step(self.now)
        self._flush_answer(stdout)
        return True

    def _input(self, inp: Request) -> None:
        if isinstance(inp, Datagram):
            self.on_datagram(self.now, inp.data)
        elif isinstance(inp, Call):
            self._answer.append(self._call(inp).encode())
        elif isinstance(inp, Timeout):
            self.on_timeout(self.now)
        elif isinstance(inp, Transmit):
            self._answer.extend(self._held)
            self._held = []
        else:
            raise ProtocolError(f"{type(inp).__name__} inside a step")

    def _call(self, call: Call) -> Result:
        try:
            res = self.on_call(self.now, call)
        except SocketError as e:
            return Result(call.call_id, ERROR, error=e.code)
        except WouldBlock:
            return Result(call.call_id, WOULD_BLOCK)
        res.call_id = call.call_id
        return res

    def _flush_answer(self, stdout: BinaryIO) -> None:
        for sock in sorted(self._readiness):
            now = self._readiness[sock]
            if self._reported.get(sock, (0, 0)) != now:
                self._reported[sock] = now
                self._answer.append(Event(sock, *now).encode())
        self._readiness.clear()
        wake = self.next_wake()
        self._answer.append(Wake(NO_WAKE if wake is None else wake).encode())
        self._answer.append(Done().encode())
        stdout.write(b"".join(self._answer))
        stdout.flush()
        self._answer = []


# ---------------------------------------------------------------------------------- IPv4 helpers


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of `data`."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass
class Ipv4:
    """An IPv4 datagram without options: the fields a packet-level peer needs."""

    src: str
    dst: str
    protocol: int
    payload: bytes
    ttl: int = 64
    ident: int = 0
    dont_frag: bool = True
    tos: int = 0

    ICMP, TCP, UDP = 1, 6, 17

    @classmethod
    def parse(cls, datagram: bytes) -> "Ipv4":
        if len(datagram) < 20 or datagram[0] >> 4 != 4:
            raise ValueError("not an IPv4 datagram")
        ihl = (datagram[0] & 0x0F) * 4
        total = struct.unpack_from(">H", datagram, 2)[0]
        if ihl < 20 or total < ihl or total > len(datagram):
            raise ValueError("bad IPv4 lengths")
        ident, frag = struct.unpack_from(">HH", datagram, 4)
        return cls(
            src=str(ipaddress.IPv4Address(datagram[12:16])),
            dst=str(ipaddress.IPv4Address(datagram[16:20])),
            protocol=datagram[9],
            payload=datagram[ihl:total],
            ttl=datagram[8],
            ident=ident,
            dont_frag=bool(frag & 0x4000),
            tos=datagram[1],
        )

    def emit(self) -> bytes:
        header = struct.pack(
            ">BBHHHBBH4s4s",
            0x45,
            self.tos,
            20 + len(self.payload),
            self.ident,
            0x4000 if self.dont_frag else 0,
            self.ttl,
            self.protocol,
            0,
            ipaddress.IPv4Address(self.src).packed,
            ipaddress.IPv4Address(self.dst).packed,
        )
        header = header[:10] + struct.pack(">H", checksum(header)) + header[12:]
        return header + self.payload

    def pseudo_header(self, length: int) -> bytes:
        """The TCP/UDP checksum's pseudo-header for a segment of `length` bytes (RFC 9293 3.1)."""
        return (
            ipaddress.IPv4Address(self.src).packed
            + ipaddress.IPv4Address(self.dst).packed
            + struct.pack(">BBH", 0, self.protocol, length)
        )


# ---------------------------------------------------------------------------------- the example


class PingResponder(Stack):
    """A packet-level peer: answers ICMP echo requests (RFC 792) and resets every TCP segment that
    is not itself a reset, as a host with no open ports does (RFC 9293 section 3.10.7.1). It has no
    sockets: every socket call fails with "invalid argument"."""

    name = "python-ping-responder"

    def __init__(self) -> None:
        super().__init__()
        self.answered = 0
        self.resets = 0
        self._ident = 0

    def on_datagram(self, now: int, datagram: bytes) -> None:
        try:
            ip = Ipv4.parse(datagram)
        except ValueError:
            return
        if ip.protocol == Ipv4.ICMP:
            self._echo(ip)
        elif ip.protocol == Ipv4.TCP:
            self._reset(ip)

    def _reply(self, ip: Ipv4, protocol: int, payload: bytes) -> None:
        self._ident = (self._ident + 1) & 0xFFFF
        self.send_datagram(Ipv4(ip.dst, ip.src, protocol, payload, ident=self._ident).emit())

    def _echo(self, ip: Ipv4) -> None:
        icmp = ip.payload
        if len(icmp) < 8 or icmp[0] != 8 or icmp[1] != 0 or checksum(icmp) != 0:
            return
        reply = b"\x00\x00\x00\x00" + icmp[4:]
        reply = reply[:2] + struct.pack(">H", checksum(reply)) + reply[4:]
        self.answered += 1
        self._reply(ip, Ipv4.ICMP, reply)

    def _reset(self, ip: Ipv4) -> None:
        seg = ip.payload
        if len(seg) < 20 or checksum(ip.pseudo_header(len(seg)) + seg) != 0:
            return
        sport, dport, seq, ack, off, flags = struct.unpack_from(">HHIIBB", seg)
        if flags & 0x04:  # never answer a RST
            return
        data_len = len(seg) - (off >> 4) * 4
        if flags & 0x10:  # <SEQ=SEG.ACK><CTL=RST>
            rst = (ack, 0, 0x04)
        else:  # <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
            length = data_len + (1 if flags & 0x02 else 0) + (1 if flags & 0x01 else 0)
            rst = (0, (seq + length) & 0xFFFF_FFFF, 0x14)
        out = struct.pack(">HHIIBBHHH", dport, sport, rst[0], rst[1], 5 << 4, rst[2], 0, 0, 0)
        reply = Ipv4(ip.dst, ip.src, Ipv4.TCP, out)
        out = out[:16] + struct.pack(">H", checksum(reply.pseudo_header(len(out)) + out)) + out[18:]
        self.resets += 1
        self._reply(ip, Ipv4.TCP, out)


if __name__ == "__main__":
    sys.exit(PingResponder().run())
